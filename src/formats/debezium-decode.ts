/**
 * Debezium's value encodings → the values the Maxwell path gives for the same row, so a job reads the same
 * business data the same way whichever format ods_db holds (debezium.ts writes these encodings):
 *
 *   DECIMAL(p,s) base64 of the unscaled integer → ExactDecimal("1299.00") (scale 0: a number, bigint past 2^53)
 *   BIGINT UNSIGNED base64 → number | bigint · DATE days → "2025-01-14" · TIME µs → "10:20:30[.ffffff]"
 *   DATETIME epoch ms / µs (the wall clock as UTC) → "2025-01-14 10:20:30[.fff…]" · TIMESTAMP "…Z" → the UTC text
 *   BIT(1) true/false → 1/0 · BIT(n) base64 little-endian → number · SET "a,b" → ["a","b"] · JSON text → the document
 *
 * Which columns need which decoding comes from the record's schema when it has one (Kafka Connect JsonConverter
 * with schemas.enable=true: `rtwh cdc --format debezium --debezium-schemas`), field by field by the schema's
 * logical name (org.apache.kafka.connect.data.Decimal and its scale, io.debezium.time.*, io.debezium.data.*).
 * Without one (Flink CDC's default) the types come from the gmall catalog (src/mock/db/schema.ts) by table name;
 * a table not in it is passed on as it came, and the caller says so once per table.
 *
 * Every decoder is built once: per table for the catalog, per record for a schema (the schema travels with each
 * record, and building its decoders is a pass over its fields, small next to parsing the record).
 */
import { ExactDecimal, type ColumnInfo } from './change';
import { javaBigDecimalText } from './maxwell';
import { isObj, kind, type Obj } from './validate-check';
import { parseExact, type DecodedRow, type DecodedValue } from './validated-change';
import { tableColumns } from '../mock/db/schema';

/** What a decoder returns for a value it cannot read: the record is a dead letter. */
const BAD = Symbol('bad');

interface ValueDecoder {
  /** What the value should have been, for the reason: `DECIMAL(16,2) as base64 of its unscaled integer`. */
  readonly expected: string;
  decode(v: DecodedValue): DecodedValue | typeof BAD;
}

/** Column name → its decoder; a column without one passes as it came. */
export type RowDecoder = ReadonlyMap<string, ValueDecoder>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from accepts anything, skipping what is not base64); undefined when it is not. */
function base64Bytes(v: DecodedValue): Buffer | undefined {
  if (typeof v !== 'string' || !BASE64.test(v)) return undefined;
  return Buffer.from(v, 'base64');
}

/** Java's BigInteger(byte[]): big-endian two's complement. */
function signedBigEndian(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return b.length > 0 && b[0]! >= 0x80 ? n - (1n << BigInt(8 * b.length)) : n;
}

/** An integer as the Maxwell path has it: a number when safe, else a bigint (parseExact's rule). */
function integer(n: bigint): number | bigint {
  return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
}

/**
 * A decimal's text as the Maxwell path decodes it: Maxwell writes BigDecimal.toString as a JSON number and
 * parseExact keeps plain fractions as ExactDecimal, integers as numbers, and reads the scientific form ("0E-30",
 * which BigDecimal gives for tiny values of a large scale) as a double.
 */
function maxwellDecimal(unscaled: bigint, scale: number): DecodedValue {
  if (scale <= 0) return integer(scale === 0 ? unscaled : unscaled * 10n ** BigInt(-scale));
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  const java = javaBigDecimalText(text);
  return java === text ? new ExactDecimal(text) : Number(java);
}

function decimal(scale: number, what: string): ValueDecoder {
  return {
    expected: `${what} as base64 of its unscaled integer`,
    decode(v) {
      const b = base64Bytes(v);
      if (b === undefined || b.length === 0) return BAD;
      return maxwellDecimal(signedBigEndian(b), scale);
    },
  };
}

/** A whole number of a JSON value (parseExact gives bigint past 2^53). */
function whole(v: DecodedValue): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  return typeof v === 'bigint' ? v : undefined;
}

const pad2 = (n: number | bigint) => String(n).padStart(2, '0');

/** "YYYY-MM-DD" of a day count since 1970-01-01 (proleptic Gregorian, as Debezium's LocalDate). */
function dayText(days: number): string {
  const d = new Date(days * 86_400_000);
  const y = d.getUTCFullYear();
  const year = y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/**
 * `digits` fraction digits of `frac` (the fraction in units of 10^-`of`): fsp known → exactly fsp digits (what
 * Maxwell prints for a DATETIME(fsp)); unknown → the digits that are not trailing zeros.
 */
function fraction(frac: bigint, of: number, fsp: number | undefined): string {
  const all = frac.toString().padStart(of, '0');
  if (fsp === undefined) {
    const t = all.replace(/0+$/, '');
    return t ? `.${t}` : '';
  }
  return fsp === 0 ? '' : `.${all.padEnd(fsp, '0').slice(0, fsp)}`;
}

/** DATETIME text of a count of 10^-`of` s since the epoch, the wall clock read as UTC (Debezium's Timestamp family). */
function epochText(n: bigint, of: number, fsp: number | undefined): string | typeof BAD {
  const unit = 10n ** BigInt(of);
  let secs = n / unit;
  let frac = n % unit;
  if (frac < 0n) {
    frac += unit;
    secs -= 1n;
  }
  const ms = Number(secs) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return BAD;
  const d = new Date(ms);
  const days = Math.floor(ms / 86_400_000);
  return `${dayText(days)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${fraction(frac, of, fsp)}`;
}

function timestamp(of: number, fsp: number | undefined, what: string): ValueDecoder {
  return {
    expected: what,
    decode(v) {
      const n = whole(v);
      return n === undefined ? BAD : epochText(n, of, fsp);
    },
  };
}

/** TIME text of a count of 10^-`of` s (MySQL TIME spans -838:59:59 … 838:59:59). */
function time(of: number, fsp: number | undefined, what: string): ValueDecoder {
  return {
    expected: what,
    decode(v) {
      let n = whole(v);
      if (n === undefined) return BAD;
      const neg = n < 0n;
      if (neg) n = -n;
      const unit = 10n ** BigInt(of);
      const s = n / unit;
      const frac = n % unit;
      // Without the column's fsp: a fraction is shown with all the digits the unit has (TIME(6) for MicroTime).
      const f = fsp !== undefined ? fraction(frac, of, fsp) : frac === 0n ? '' : fraction(frac, of, of > 6 ? undefined : of);
      return `${neg ? '-' : ''}${pad2(s / 3600n)}:${pad2((s / 60n) % 60n)}:${pad2(s % 60n)}${f}`;
    },
  };
}

const ISO_UTC = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** TIMESTAMP: Debezium's ZonedTimestamp in UTC → the UTC text Maxwell writes. */
function zoned(fsp: number | undefined): ValueDecoder {
  return {
    expected: 'an ISO-8601 UTC timestamp ("…Z")',
    decode(v) {
      const m = typeof v === 'string' ? ISO_UTC.exec(v) : null;
      if (!m) return BAD;
      const frac = m[7] ?? '';
      return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}${fsp === undefined ? (frac ? `.${frac}` : '') : fraction(BigInt(frac || '0'), frac.length, fsp)}`;
    },
  };
}

const DATE: ValueDecoder = {
  expected: 'days since 1970-01-01 (a whole number)',
  decode(v) {
    return typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) < 1e8 ? dayText(v) : BAD;
  },
};

/** BIT(1) (and BOOLEAN): Maxwell writes the number. */
const BOOLEAN: ValueDecoder = {
  expected: 'true or false',
  decode(v) {
    return v === true ? 1 : v === false ? 0 : BAD;
  },
};

/** BIT(n), n > 1: io.debezium.data.Bits, little-endian bytes → the number Maxwell writes. */
function bits(n: number | undefined): ValueDecoder {
  return {
    expected: `BIT${n === undefined ? '' : `(${n})`} as base64 of its little-endian bytes`,
    decode(v) {
      const b = base64Bytes(v);
      if (b === undefined) return BAD;
      let x = 0n;
      for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
      return integer(x);
    },
  };
}

const SET: ValueDecoder = {
  expected: 'a SET as its members joined by ","',
  decode(v) {
    return typeof v !== 'string' ? BAD : v === '' ? [] : v.split(',');
  },
};

/** A JSON column: the document, as Maxwell embeds it (a text that is not JSON stays text, as cdc keeps it). */
const JSON_DOC: ValueDecoder = {
  expected: 'a JSON document as a string',
  decode(v) {
    if (typeof v !== 'string') return BAD;
    try {
      return parseExact(v) as DecodedValue;
    } catch {
      return v;
    }
  },
};

function literal(expected: string, ok: (v: DecodedValue) => boolean): ValueDecoder {
  return { expected, decode: (v) => (ok(v) ? v : BAD) };
}

const INTEGER = literal('a whole number', (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint');
const FLOAT = literal('a number', (v) => typeof v === 'number' || v instanceof ExactDecimal || typeof v === 'bigint');
const STRING = literal('a string', (v) => typeof v === 'string');
const BYTES = literal('bytes as base64', (v) => base64Bytes(v) !== undefined);

// ------------------------------------------------------------------------------------------------ by column type

/** The decoder of a column known by its SQL type (the gmall catalog), or undefined when its value passes as is. */
export function columnDecoder(c: ColumnInfo): ValueDecoder | undefined {
  switch (c.type) {
    case 'decimal':
      return decimal(c.scale ?? 0, `DECIMAL(${c.precision ?? 10},${c.scale ?? 0})`);
    case 'bigint':
      return c.unsigned ? decimal(0, 'BIGINT UNSIGNED') : undefined;
    case 'date':
      return DATE;
    case 'datetime': {
      const fsp = c.fsp ?? 0;
      return fsp > 3 ? timestamp(6, fsp, `DATETIME(${fsp}) as epoch microseconds`) : timestamp(3, fsp, `DATETIME${fsp ? `(${fsp})` : ''} as epoch milliseconds`);
    }
    case 'timestamp':
      return zoned(c.fsp ?? 0);
    case 'time':
      return time(6, c.fsp ?? 0, 'TIME as microseconds');
    case 'bit':
      return (c.bits ?? 1) === 1 ? BOOLEAN : bits(c.bits);
    case 'set':
      return SET;
    case 'json':
      return JSON_DOC;
    default:
      return undefined;
  }
}

export function rowDecoder(columns: readonly ColumnInfo[]): RowDecoder {
  const m = new Map<string, ValueDecoder>();
  for (const c of columns) {
    const d = columnDecoder(c);
    if (d) m.set(c.name, d);
  }
  return m;
}

const catalog = new Map<string, RowDecoder | null>();

/** The decoder of a gmall table's rows (built once per table); undefined for a table not in the catalog. */
export function catalogDecoder(table: string): RowDecoder | undefined {
  let d = catalog.get(table);
  if (d === undefined) {
    const cols = tableColumns(table);
    catalog.set(table, (d = cols ? rowDecoder(cols) : null));
  }
  return d ?? undefined;
}

// ------------------------------------------------------------------------------------------------ by schema

/** Kafka Connect field schema parameters are strings; a whole number among them, or undefined. */
function param(f: Obj, name: string): number | undefined {
  const p = f.parameters;
  if (!isObj(p)) return undefined;
  const v = p[name];
  return typeof v === 'string' && /^\d{1,3}$/.test(v) ? Number(v) : undefined;
}

/**
 * The column's fractional digits when the schema says (Debezium's column.propagate.source.type, which
 * `rtwh cdc --debezium-schemas` always writes: the length of a temporal column is its fsp).
 */
function fspOf(f: Obj): number | undefined {
  const n = param(f, '__debezium.source.column.length');
  return n !== undefined && n <= 9 ? n : undefined;
}

/** The decoder of one Kafka Connect field schema, by its logical name, else its literal type. */
export function fieldDecoder(f: Obj): ValueDecoder | undefined {
  const name = typeof f.name === 'string' ? f.name : undefined;
  switch (name) {
    case 'org.apache.kafka.connect.data.Decimal': {
      const scale = param(f, 'scale') ?? 0;
      const p = param(f, 'connect.decimal.precision');
      return decimal(scale, p === undefined ? `a Decimal of scale ${scale}` : `DECIMAL(${p},${scale})`);
    }
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return DATE;
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
      return timestamp(3, fspOf(f), 'epoch milliseconds (a whole number)');
    case 'io.debezium.time.MicroTimestamp':
      return timestamp(6, fspOf(f) ?? 6, 'epoch microseconds (a whole number)');
    case 'io.debezium.time.NanoTimestamp':
      return timestamp(9, fspOf(f), 'epoch nanoseconds (a whole number)');
    case 'io.debezium.time.ZonedTimestamp':
      return zoned(fspOf(f));
    case 'io.debezium.time.MicroTime':
      return time(6, fspOf(f), 'microseconds of the day (a whole number)');
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Time':
      return time(3, fspOf(f), 'milliseconds of the day (a whole number)');
    case 'io.debezium.time.NanoTime':
      return time(9, fspOf(f), 'nanoseconds of the day (a whole number)');
    case 'io.debezium.data.Bits':
      return bits(param(f, 'length'));
    case 'io.debezium.data.EnumSet':
      return SET;
    case 'io.debezium.data.Json':
      return JSON_DOC;
    default:
      break;
  }
  switch (f.type) {
    case 'boolean':
      return BOOLEAN;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return INTEGER;
    case 'float32':
    case 'float64':
      return FLOAT;
    case 'string':
      return STRING;
    case 'bytes':
      return BYTES;
    default:
      // struct, array, map (geometry, …): passed as they came
      return undefined;
  }
}

/**
 * The row decoder of an Envelope's schema (its `after` field's struct, else `before`'s: both are the table's
 * Value schema); undefined when the schema lists no columns (the record is then read as one without schema).
 */
export function schemaDecoder(schema: Obj): RowDecoder | undefined {
  const fields = Array.isArray(schema.fields) ? (schema.fields as unknown[]) : undefined;
  const row = fields?.find((f): f is Obj => isObj(f) && (f.field === 'after' || f.field === 'before') && Array.isArray(f.fields));
  if (!row) return undefined;
  const m = new Map<string, ValueDecoder>();
  for (const f of row.fields as unknown[]) {
    if (!isObj(f) || typeof f.field !== 'string') continue;
    const d = fieldDecoder(f);
    if (d) m.set(f.field, d);
  }
  return m;
}

/**
 * Decodes a row in place (the row is the caller's freshly parsed object). A value that does not decode adds a
 * reason in the validators' style (`after.weight: expected DECIMAL(10,2) as base64 …, got string "GA=!"`).
 */
export function decodeRow(row: DecodedRow, decoder: RowDecoder, path: string, reasons: string[]): void {
  for (const k in row) {
    const d = decoder.get(k);
    if (d === undefined) continue;
    const v = row[k]!;
    if (v === null) continue;
    const out = d.decode(v);
    // an exact number is shown as written (kind would call it an object)
    if (out === BAD) reasons.push(`${path}.${k}: expected ${d.expected}, got ${v instanceof ExactDecimal ? `number ${v.text}` : kind(v)}`);
    else row[k] = out;
  }
}
