/**
 * A faster row decoder for zongji's rows events. zongji reads every value through one generic function
 * (readMysqlValue) and builds strings with a padding helper per date part and decimal group; profiling cdc showed
 * that as ~60 % of its CPU. This decoder compiles, per table map, one small reader per column for the common
 * types and produces the change model's values directly (ExactDecimal, bigint, FloatValue, string[] …).
 *
 * It is installed by replacing `_fetchOneRow` on zongji's RowsEvent/UpdateRows prototypes (they are not exported,
 * so they are taken from the first rows event seen). Any table with a column this decoder does not handle
 * (MySQL's binary JSON, geometry, MariaDB compressed columns and UUID/INET types, the pre-5.6 temporal formats,
 * charsets other than utf8/utf8mb4/binary) keeps zongji's own reader, so nothing is decoded differently: the two
 * paths give identical records (test/collect/cdc/types.test.ts runs both).
 */
import { ExactDecimal, FloatValue, type ChangeValue } from '../../formats/change';
import { enumMembers } from './schema';

/** mysql2 packet parser as zongji wraps it (lib/reader.js). */
interface ParserLike {
  _buffer: Buffer;
  _offset: number;
}

interface ColumnLike {
  name: string;
  charset: string | null;
  type: number;
  metadata?: Record<string, unknown>;
}

interface ColumnSchemaLike {
  COLUMN_TYPE: string;
  UNSIGNED?: boolean;
  ENUM_VALUES?: string[];
  SET_VALUES?: string[];
}

interface TableMapLike {
  columns?: ColumnLike[];
  columnSchemas: ColumnSchemaLike[];
}

interface RowsEventLike {
  tableMap: Record<number, TableMapLike>;
  tableId: number;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
}

type Cursor = { off: number };
type Reader = (buf: Buffer, c: Cursor) => ChangeValue;

interface Compiled {
  names: string[];
  readers: Reader[];
  /** For row images with every column present (binlog_row_image=FULL): the row in one object literal. */
  full: ((buf: Buffer, c: Cursor, nullStart: number) => Record<string, ChangeValue>) | null;
}

const T = {
  TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, LONGLONG: 8, INT24: 9, DATE: 10, YEAR: 13, VARCHAR: 15, BIT: 16,
  TIMESTAMP2: 17, DATETIME2: 18, TIME2: 19, NEWDECIMAL: 246, ENUM: 247, SET: 248, TINY_BLOB: 249, MEDIUM_BLOB: 250,
  LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254,
} as const;

const UTF8 = new Set(['utf8', 'utf8mb3', 'utf8mb4']);
const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const P2 = ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09'];

/**
 * Values repeat from row to row (the day's timestamps, prices, status codes): readers keep the values they made,
 * keyed by their bytes read as a number, and hand the same (immutable) value out again. That spares building the
 * text from pieces (a rope, flattened again when it is written) and the allocations. Bounded per column.
 */
const CACHE_MAX = 4096;

function cached<V>(cache: Map<number, V>, key: number, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, v);
  }
  return v;
}

function pad2(n: number): string {
  return n < 10 ? P2[n]! : String(n);
}

function pad4(n: number): string {
  return n >= 1000 ? String(n) : String(n).padStart(4, '0');
}

function fraction(buf: Buffer, c: Cursor, fsp: number): string {
  if (fsp === 0) return '';
  const bytes = (fsp + 1) >> 1;
  let v = buf.readIntBE(c.off, bytes);
  c.off += bytes;
  if (fsp % 2 !== 0) v /= 10;
  if (v < 0) v = -v;
  return `.${String(v).padStart(fsp, '0')}`;
}

function intReader(type: number, unsigned: boolean): Reader {
  switch (type) {
    case T.TINY:
      return unsigned ? (b, c) => b[c.off++]! : (b, c) => b.readInt8(c.off++);
    case T.SHORT:
      return unsigned ? (b, c) => ((c.off += 2), b.readUInt16LE(c.off - 2)) : (b, c) => ((c.off += 2), b.readInt16LE(c.off - 2));
    case T.INT24:
      return unsigned ? (b, c) => ((c.off += 3), b.readUIntLE(c.off - 3, 3)) : (b, c) => ((c.off += 3), b.readIntLE(c.off - 3, 3));
    case T.LONG:
      return unsigned ? (b, c) => ((c.off += 4), b.readUInt32LE(c.off - 4)) : (b, c) => ((c.off += 4), b.readInt32LE(c.off - 4));
    default:
      return (b, c) => {
        const lo = b.readUInt32LE(c.off);
        const hi = unsigned ? b.readUInt32LE(c.off + 4) : b.readInt32LE(c.off + 4);
        c.off += 8;
        // Within ±2^53 a number; beyond it exact as a bigint.
        if (hi < 0x200000 && hi >= -0x200000) return hi * 0x100000000 + lo;
        return (BigInt(hi) << 32n) | BigInt(lo);
      };
  }
}

/** A big-endian group of a binary DECIMAL: bits flipped for negatives, the sign bit flipped on the value's first byte. */
function beGroup(b: Buffer, p: number, n: number, mask: number, first: boolean): number {
  let v = (b[p]! ^ mask ^ (first ? 0x80 : 0));
  for (let i = 1; i < n; i++) v = v * 256 + (b[p + i]! ^ mask);
  return v;
}

/** `v` in `width` digits with leading zeros; widths up to 4 (a DECIMAL's short last group: DECIMAL(16,2) has 2) from a table. */
const PADDED: string[][] = [];
function padDigits(v: number, width: number): string {
  if (width > 4) return String(v).padStart(width, '0');
  let t = PADDED[width];
  if (!t) PADDED[width] = t = Array.from({ length: 10 ** width }, (_, i) => String(i).padStart(width, '0'));
  return t[v] ?? String(v).padStart(width, '0');
}

function decimalReader(precision: number, scale: number): Reader {
  const intg = precision - scale;
  const intg0 = Math.floor(intg / 9);
  const intg0x = intg - intg0 * 9;
  const frac0 = Math.floor(scale / 9);
  const frac0x = scale - frac0 * 9;
  const lead = DIG2BYTES[intg0x]!;
  const tail = DIG2BYTES[frac0x]!;
  const size = intg0 * 4 + lead + frac0 * 4 + tail;
  const cache = new Map<number, ExactDecimal>();
  const decode = (b: Buffer, p: number): ExactDecimal => {
    const positive = (b[p]! & 0x80) !== 0;
    const mask = positive ? 0 : 0xff;
    let first = true;
    let int = '';
    if (lead > 0) {
      int = String(beGroup(b, p, lead, mask, true));
      p += lead;
      first = false;
    }
    for (let i = 0; i < intg0; i++) {
      const g = String(beGroup(b, p, 4, mask, first));
      p += 4;
      first = false;
      // Leading zero groups add nothing; later groups keep their nine digits.
      int = int === '' || int === '0' ? g : int + g.padStart(9, '0');
    }
    if (int === '') int = '0';
    let s = positive ? int : `-${int}`;
    if (scale > 0) {
      s += '.';
      for (let i = 0; i < frac0; i++) {
        s += String(beGroup(b, p, 4, mask, first)).padStart(9, '0');
        p += 4;
        first = false;
      }
      if (tail > 0) s += padDigits(beGroup(b, p, tail, mask, first), frac0x);
    }
    return new ExactDecimal(s);
  };
  return (b, c) => {
    const p = c.off;
    c.off += size;
    // The bytes as a number (sign bit flipped: small positive amounts give small keys) while it stays exact.
    let key = b[p]! ^ 0x80;
    let i = 1;
    for (; i < size && key < 0x200000000000; i++) key = key * 256 + b[p + i]!;
    if (i < size) return decode(b, p);
    return cached(cache, key, () => decode(b, p));
  };
}

function datetime2Reader(fsp: number): Reader {
  const cache = new Map<number, string>();
  const text = (packed: number): string => {
    const intpart = packed - 0x8000000000;
    const ymd = Math.floor(intpart / 0x20000);
    const hms = intpart - ymd * 0x20000;
    const ym = Math.floor(ymd / 32);
    const year = Math.floor(ym / 13);
    return `${pad4(year)}-${pad2(ym % 13)}-${pad2(ymd % 32)} ${pad2(hms >> 12)}:${pad2((hms >> 6) & 63)}:${pad2(hms & 63)}`;
  };
  return (b, c) => {
    const packed = b[c.off]! * 0x100000000 + b.readUInt32BE(c.off + 1);
    c.off += 5;
    const t = cached(cache, packed, () => text(packed));
    return fsp === 0 ? t : t + fraction(b, c, fsp);
  };
}

function timestamp2Reader(fsp: number): Reader {
  return (b, c) => {
    const secs = b.readUInt32BE(c.off);
    c.off += 4;
    const frac = fraction(b, c, fsp);
    if (secs === 0 && (frac === '' || /^\.0+$/.test(frac))) return `0000-00-00 00:00:00${frac}`;
    // TIMESTAMP in UTC, as Maxwell writes it.
    const iso = new Date(secs * 1000).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
  };
}

function time2Reader(fsp: number): Reader {
  // Mirrors zongji's TIME2 decoding exactly (including how it treats negative times), so both paths agree.
  return (b, c) => {
    let raw = b.readIntBE(c.off, 3);
    c.off += 3;
    let fracValue = 0;
    let frac = '';
    if (fsp > 0) {
      const bytes = (fsp + 1) >> 1;
      fracValue = b.readIntBE(c.off, bytes);
      c.off += bytes;
      if (fsp % 2 !== 0) fracValue /= 10;
      if (fracValue < 0) fracValue = -fracValue;
      frac = `.${String(fracValue).padStart(fsp, '0')}`;
    }
    const negative = (raw & (1 << 23)) === 0;
    if (negative) raw ^= (1 << 24) - 1;
    const hour = (raw >> 12) & 0x3ff;
    const minute = (raw >> 6) & 63;
    let second = raw & 63;
    if (negative && (fsp === 0 || fracValue === 0)) second++;
    return `${negative ? '-' : ''}${hour > 99 ? String(hour).padStart(3, '0') : pad2(hour)}:${pad2(minute)}:${pad2(second)}${frac}`;
  };
}

const dateTexts = new Map<number, string>();
const dateReader: Reader = (b, c) => {
  const v = b[c.off]! | (b[c.off + 1]! << 8) | (b[c.off + 2]! << 16);
  c.off += 3;
  return cached(dateTexts, v, () => `${pad4(v >> 9)}-${pad2((v >> 5) & 15)}-${pad2(v & 31)}`);
};

function stringReader(prefix: number, text: boolean, padTo: number): Reader {
  // Short ASCII texts (codes, statuses, flags) by their bytes: no native call, no new string.
  const short = new Map<number, string>();
  return (b, c) => {
    const n = prefix === 1 ? b[c.off]! : b.readUIntLE(c.off, prefix);
    const start = c.off + prefix;
    c.off = start + n;
    if (text) {
      if (n <= 6) {
        let key = n;
        for (let i = 0; i < n; i++) {
          const x = b[start + i]!;
          if (x >= 0x80) return b.toString('utf8', start, start + n);
          key = key * 256 + x;
        }
        return cached(short, key, () => b.toString('latin1', start, start + n));
      }
      return b.toString('utf8', start, start + n);
    }
    if (padTo > n) {
      // BINARY(n): the row image strips the trailing zero bytes; the value is n bytes.
      const out = Buffer.alloc(padTo);
      b.copy(out, 0, start, start + n);
      return out;
    }
    return b.subarray(start, start + n);
  };
}

function enumReader(size: number, members: readonly string[]): Reader {
  return (b, c) => {
    const raw = b.readUIntLE(c.off, size);
    c.off += size;
    return members[raw - 1] ?? '';
  };
}

function setReader(size: number, members: readonly string[]): Reader {
  return (b, c) => {
    let bits = 0n;
    for (let i = 0; i < size; i++) bits |= BigInt(b[c.off + i]!) << BigInt(8 * i);
    c.off += size;
    const out: string[] = [];
    for (let i = 0; bits > 0n; i++, bits >>= 1n) if (bits & 1n) out.push(members[i] ?? '');
    return out;
  };
}

function bitReader(bits: number): Reader {
  const size = (bits + 7) >> 3;
  return (b, c) => {
    let n = 0n;
    for (let i = 0; i < size; i++) n = (n << 8n) | BigInt(b[c.off + i]!);
    c.off += size;
    return n <= 9007199254740991n ? Number(n) : n;
  };
}

/** One reader per column, or null when a column needs zongji's own decoding. */
function compile(tm: TableMapLike): Compiled | null {
  const cols = tm.columns;
  if (!cols) return null;
  const names: string[] = [];
  const readers: Reader[] = [];
  for (let i = 0; i < cols.length; i++) {
    const col = cols[i]!;
    const schema = tm.columnSchemas[i];
    if (!schema) return null;
    const md = col.metadata ?? {};
    const ct = schema.COLUMN_TYPE.toLowerCase();
    const unsigned = schema.UNSIGNED ?? /unsigned/.test(ct);
    let r: Reader;
    switch (col.type) {
      case T.TINY:
      case T.SHORT:
      case T.INT24:
      case T.LONG:
      case T.LONGLONG:
        r = intReader(col.type, unsigned);
        break;
      case T.FLOAT:
        r = (b, c) => ((c.off += 4), new FloatValue(b.readFloatLE(c.off - 4), true));
        break;
      case T.DOUBLE:
        r = (b, c) => ((c.off += 8), new FloatValue(b.readDoubleLE(c.off - 8), false));
        break;
      case T.NEWDECIMAL:
        r = decimalReader(Number(md.precision), Number(md.decimals));
        break;
      case T.DATE:
        r = dateReader;
        break;
      case T.DATETIME2:
        r = datetime2Reader(Number(md.decimals ?? 0));
        break;
      case T.TIMESTAMP2:
        r = timestamp2Reader(Number(md.decimals ?? 0));
        break;
      case T.TIME2:
        r = time2Reader(Number(md.decimals ?? 0));
        break;
      case T.YEAR:
        r = (b, c) => {
          const y = b[c.off++]!;
          return y === 0 ? 0 : y + 1900;
        };
        break;
      case T.BIT:
        r = bitReader(Number(md.bits ?? 1));
        break;
      case T.ENUM:
        r = enumReader(Number(md.size), schema.ENUM_VALUES ?? enumMembers(ct));
        break;
      case T.SET:
        r = setReader(Number(md.size), schema.SET_VALUES ?? enumMembers(ct));
        break;
      case T.VARCHAR:
      case T.VAR_STRING:
      case T.STRING: {
        if (/^(uuid|inet4|inet6|vector)/.test(ct) || /compressed/.test(ct)) return null;
        const binary = col.charset === null;
        if (!binary && !UTF8.has(col.charset!)) return null;
        const prefix = Number(md.max_length) > 255 ? 2 : 1;
        const width = binary && ct.startsWith('binary(') ? Number(/^binary\((\d+)\)/.exec(ct)?.[1] ?? 0) : 0;
        r = stringReader(prefix, !binary, width);
        break;
      }
      case T.TINY_BLOB:
      case T.MEDIUM_BLOB:
      case T.LONG_BLOB:
      case T.BLOB: {
        if (/compressed/.test(ct)) return null;
        const binary = col.charset === null;
        if (!binary && !UTF8.has(col.charset!)) return null;
        r = stringReader(Number(md.length_size), !binary, 0);
        break;
      }
      default:
        // JSON (binary), GEOMETRY, classic temporals, compressed columns: zongji's reader.
        return null;
    }
    names.push(col.name);
    readers.push(r);
  }
  return { names, readers, full: fullRowReader(names, readers) };
}

/**
 * A reader of a row with every column present, generated per table: one object literal with the columns in order
 * (its properties are evaluated left to right, so the cursor moves column by column), a null-bitmap test and a
 * reader call per column. Against the generic loop (readRow) the object gets its shape at once instead of a
 * keyed store per column, and each call site sees one reader only. Null when a name cannot be a literal key.
 */
function fullRowReader(names: readonly string[], readers: readonly Reader[]): Compiled['full'] {
  if (names.length === 0 || names.length > 1000 || names.includes('__proto__')) return null;
  const fields = names.map((n, i) => `${JSON.stringify(n)}: (b[ns + ${i >> 3}] & ${1 << (i & 7)}) ? null : r[${i}](b, c)`);
  try {
    const make = new Function('r', `return function (b, c, ns) { return { ${fields.join(', ')} }; };`) as (r: readonly Reader[]) => Compiled['full'];
    return make(readers);
  } catch {
    return null;
  }
}

const compiledByColumns = new WeakMap<object, Compiled | null>();

function compiledFor(tm: TableMapLike | undefined): Compiled | null {
  if (!tm?.columns) return null;
  let c = compiledByColumns.get(tm.columns);
  if (c === undefined) {
    c = compile(tm);
    compiledByColumns.set(tm.columns, c);
  }
  return c;
}

const cursor: Cursor = { off: 0 };
let decoded = 0;

/** Rows decoded by this decoder so far (tests check it was in use). */
export function fastRowsDecoded(): number {
  return decoded;
}

/** Every one of n columns is in the row image. */
function allPresent(bitmap: Buffer, n: number): boolean {
  const whole = n >> 3;
  for (let i = 0; i < whole; i++) if (bitmap[i] !== 0xff) return false;
  const rest = n & 7;
  return rest === 0 || (bitmap[whole]! & ((1 << rest) - 1)) === (1 << rest) - 1;
}

function readRow(parser: ParserLike, comp: Compiled, bitmap: Buffer): Record<string, ChangeValue> {
  const buf = parser._buffer;
  const names = comp.names;
  const n = names.length;
  if (comp.full !== null && allPresent(bitmap, n)) {
    const nullStart = parser._offset;
    cursor.off = nullStart + ((n + 7) >> 3);
    const row = comp.full(buf, cursor, nullStart);
    parser._offset = cursor.off;
    decoded++;
    return row;
  }
  let present = 0;
  for (let i = 0; i < n; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) present++;
  let off = parser._offset;
  const nullStart = off;
  off += (present + 7) >> 3;
  cursor.off = off;
  const row: Record<string, ChangeValue> = {};
  for (let i = 0, nb = 0; i < n; i++) {
    if (!(bitmap[i >> 3]! & (1 << (i & 7)))) {
      row[names[i]!] = null;
      continue;
    }
    row[names[i]!] = buf[nullStart + (nb >> 3)]! & (1 << (nb & 7)) ? null : comp.readers[i]!(buf, cursor);
    nb++;
  }
  parser._offset = cursor.off;
  decoded++;
  return row;
}

let enabled = true;
const patched = new WeakSet<object>();

/** Turns the fast decoder off or on (tests compare both paths). */
export function setFastRows(on: boolean): void {
  enabled = on;
}

type Fetch = (this: RowsEventLike, p: ParserLike) => unknown;

/**
 * Installs the decoder on the prototypes behind a rows event zongji just built: RowsEvent's `_fetchOneRow`
 * (writes and deletes) from any rows event, UpdateRows' own one from an update event. Events already parsed keep
 * their rows; later rows events of supported tables are decoded here.
 */
export function installFastRows(sample: object): void {
  const proto = Object.getPrototypeOf(sample) as Record<string, unknown>;
  const own = Object.prototype.hasOwnProperty.call(proto, '_fetchOneRow');
  const base = (own ? Object.getPrototypeOf(proto) : Object.getPrototypeOf(proto)) as Record<string, unknown>;
  if (own && !patched.has(proto)) {
    patched.add(proto);
    const updFetch = proto._fetchOneRow as Fetch;
    proto._fetchOneRow = function (this: RowsEventLike, parser: ParserLike) {
      const comp = enabled ? compiledFor(this.tableMap[this.tableId]) : null;
      if (!comp) return updFetch.call(this, parser);
      const before = readRow(parser, comp, this.columns_present_bitmap);
      return { before, after: readRow(parser, comp, this.columns_present_bitmap2 ?? this.columns_present_bitmap) };
    };
  }
  if (Object.prototype.hasOwnProperty.call(base, '_fetchOneRow') && !patched.has(base)) {
    patched.add(base);
    const baseFetch = base._fetchOneRow as Fetch;
    base._fetchOneRow = function (this: RowsEventLike, parser: ParserLike) {
      const comp = enabled ? compiledFor(this.tableMap[this.tableId]) : null;
      return comp ? readRow(parser, comp, this.columns_present_bitmap) : baseFetch.call(this, parser);
    };
  }
}
