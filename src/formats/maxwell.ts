/**
 * Maxwell's JSON, written the way Maxwell writes it (zendesk/maxwell RowMap.toJSON / RowIdentity.toKeyJson),
 * so a consumer written for real Maxwell output reads ours unchanged:
 *
 *   {"database":"gmall","table":"order_info","type":"update","ts":1736821234,"xid":8812,"commit":true,
 *    "data":{"id":35,…,"order_status":"1002",…},"old":{"order_status":"1001","operate_time":null}}
 *
 * - field order database, table, type, ts, xid, xoffset | commit, data, old;
 * - `ts` in SECONDS (the event's ms / 1000, floored), `xid` per transaction, `commit:true` only on the last row
 *   of a transaction and `xoffset` (its position) on the others;
 * - `data` holds every column (nulls written), `old` only the columns an update changed, and is left out
 *   when empty;
 * - DECIMAL is a JSON number with its digits as stored (1299.00 stays 1299.00, never a rounded double).
 *
 * The Kafka key is Maxwell's default "hash" form: {"database":"gmall","table":"order_info","pk.id":35}; a table
 * without a primary key gets `"_uuid"` instead. The partition follows producer_partition_by:
 * abs(javaStringHashCode(partition string) % numPartitions).
 */
import { ExactDecimal, FloatValue, RawJson, type ChangeEvent, type ChangeValue, type ColumnInfo, type Row } from './change.ts';

export type MaxwellPartitionBy = 'database' | 'table' | 'primary_key';

export interface MaxwellEncodeOptions {
  /** output_xoffset (Maxwell's code default: on). */
  xoffset?: boolean;
  /** output_commit_info: xid, xoffset and commit (default on). */
  commitInfo?: boolean;
  /** The `_uuid` of a key for a table without a primary key; Maxwell draws a random one (crypto.randomUUID). */
  uuid?: () => string;
}

export interface MaxwellRecord {
  key: string;
  value: string;
}

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** One value as Maxwell's Jackson generator writes it. */
export function maxwellValue(v: ChangeValue): string {
  if (typeof v === 'string') return jsonString(v);
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`cannot encode ${v} as JSON`);
      return String(v);
    case 'bigint':
      return v.toString();
    default:
      if (v instanceof ExactDecimal) return javaBigDecimalText(v.text);
      // BLOB, BINARY, VARBINARY (and strings in a binary charset): base64, as Maxwell's StringColumnDef does.
      if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
      // A JSON column's document goes in as JSON (Maxwell's RawJSONString), never as a quoted string.
      if (v instanceof RawJson) return v.text;
      if (v instanceof FloatValue) return javaFloatText(v);
      // SET: a JSON array of its members.
      if (Array.isArray(v)) return `[${v.map((m: string) => jsonString(m)).join(',')}]`;
      throw new RangeError(`cannot encode ${String(v)} as a Maxwell value`);
  }
}

/**
 * A DECIMAL as Jackson writes a java.math.BigDecimal (BigDecimal.toString): plain digits unless the adjusted
 * exponent is below -6, then scientific ("0E-30" for a zero DECIMAL(65,30)). Every digit is kept either way.
 */
export function javaBigDecimalText(text: string): string {
  // Guard the raw splice: only plain digits may go into the JSON unquoted.
  if (!DECIMAL_RE.test(text)) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
  const neg = text.startsWith('-');
  const body = neg ? text.slice(1) : text;
  const dot = body.indexOf('.');
  const scale = dot < 0 ? 0 : body.length - dot - 1;
  if (scale <= 6) return text; // adjusted exponent >= -scale >= -6: always plain
  const digits = (dot < 0 ? body : body.slice(0, dot) + body.slice(dot + 1)).replace(/^0+(?=\d)/, '');
  const adjusted = digits.length - 1 - scale;
  if (adjusted >= -6) return text;
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${neg && digits !== '0' ? '-' : ''}${mantissa}E${adjusted}`;
}

/**
 * FLOAT and DOUBLE as Java prints them (Float.toString / Double.toString, which Jackson uses): the shortest digits
 * that read back to the same float32/float64, at least one digit after the point, scientific below 1e-3 and from
 * 1e7 ("1.0E7").
 */
export function javaFloatText(f: FloatValue): string {
  let v = f.value;
  if (!Number.isFinite(v)) throw new RangeError(`cannot encode ${v} as JSON`);
  if (f.single) {
    // The shortest decimal that rounds to the same float32 (the value zongji hands over is already widened).
    for (let p = 1; p <= 9; p++) {
      const c = Number(v.toPrecision(p));
      if (Math.fround(c) === Math.fround(v)) {
        v = c;
        break;
      }
    }
  }
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(v);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [m, e] = v.toExponential().split('e') as [string, string];
  return `${m.includes('.') ? m : `${m}.0`}E${e.startsWith('+') ? e.slice(1) : e}`;
}

/**
 * Row values repeat (product names, status codes, the day's timestamps): each distinct short string is
 * JSON-quoted once. Measured: about a tenth of the encoding time of a mock day.
 */
const jsonStrings = new Map<string, string>();
function jsonString(s: string): string {
  let j = jsonStrings.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (s.length <= 256) {
      if (jsonStrings.size >= 100_000) jsonStrings.clear();
      jsonStrings.set(s, j);
    }
  }
  return j;
}

/** Column names repeat in every record: their quoted form is computed once per name. */
const quotedNames = new Map<string, string>();
function quoted(name: string): string {
  let s = quotedNames.get(name);
  if (s === undefined) {
    s = JSON.stringify(name);
    if (quotedNames.size < 10_000) quotedNames.set(name, s);
  }
  return s;
}

/**
 * For rows whose keys are exactly a table's columns in order (what a binlog reader hands over), the `{"name":` /
 * `,"name":` pieces are built once per column list instead of looked up per value.
 */
const columnPrefixes = new WeakMap<readonly ColumnInfo[], string[]>();
function prefixesOf(cols: readonly ColumnInfo[]): string[] {
  let p = columnPrefixes.get(cols);
  if (!p) columnPrefixes.set(cols, (p = cols.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`)));
  return p;
}

function columnsRowJson(row: Row, cols: readonly ColumnInfo[]): string | undefined {
  const prefixes = prefixesOf(cols);
  if (prefixes.length === 0) return undefined;
  let s = '';
  let i = 0;
  for (const k in row) {
    // A row that is not exactly the column list (a mock row, a filtered image) takes the general path.
    if (i >= cols.length || cols[i]!.name !== k) return undefined;
    s += prefixes[i] + maxwellValue(row[k]!);
    i++;
  }
  return i === cols.length ? `${s}}` : undefined;
}

function rowJson(row: Row): string {
  let s = '{';
  let first = true;
  for (const k in row) {
    s += `${first ? '' : ','}${quoted(k)}:${maxwellValue(row[k]!)}`;
    first = false;
  }
  return `${s}}`;
}

/** The record value: Maxwell's JSON text of one row change. */
export function maxwellJson(ev: ChangeEvent, opts: MaxwellEncodeOptions = {}): string {
  let s = maxwellJsonHead(ev);
  // Bootstrap rows belong to no transaction: Maxwell writes neither xid nor commit on them.
  if (opts.commitInfo !== false && ev.bootstrap === undefined) {
    if (ev.xid !== undefined) s += `,"xid":${ev.xid}`;
    if (opts.xoffset !== false && ev.xoffset !== undefined && !ev.commit) s += `,"xoffset":${ev.xoffset}`;
    if (ev.commit) s += ',"commit":true';
  }
  return s + maxwellJsonBody(ev);
}

/**
 * The part of the value before the transaction fields: `{"database":…,"table":…,"type":…,"ts":…`. A binlog reader
 * learns a transaction's xid (and which row is its last) only at the commit, so it encodes rows in two halves and
 * joins them with the transaction fields then.
 */
export function maxwellJsonHead(ev: ChangeEvent): string {
  const type = ev.bootstrap === undefined ? ev.type : `bootstrap-${ev.bootstrap}`;
  return `{"database":${quoted(ev.database)},"table":${quoted(ev.table)},"type":"${type}","ts":${Math.floor(ev.ts / 1000)}`;
}

/** The part after the transaction fields: `,"data":{…}` and `,"old":{…}` when a column changed, and the closing brace. */
export function maxwellJsonBody(ev: ChangeEvent): string {
  let s = `,"data":${(ev.columns && columnsRowJson(ev.data, ev.columns)) ?? rowJson(ev.data)}`;
  if (ev.old) {
    for (const _ in ev.old) {
      s += `,"old":${rowJson(ev.old)}`;
      break;
    }
  }
  return `${s}}`;
}

/** The transaction fields between head and body: xid, then xoffset on all rows but the last, commit on the last. */
export function maxwellTxnFields(xid: number | bigint | string | undefined, xoffset: number, last: boolean, opts: MaxwellEncodeOptions = {}): string {
  if (opts.commitInfo === false) return '';
  let s = xid === undefined ? '' : `,"xid":${xid}`;
  if (last) s += ',"commit":true';
  else if (opts.xoffset !== false) s += `,"xoffset":${xoffset}`;
  return s;
}

/** The record key in Maxwell's default "hash" format. */
export function maxwellKey(ev: ChangeEvent, opts: MaxwellEncodeOptions = {}): string {
  let s = keyHead(ev.database, ev.table);
  if (ev.primaryKey.length === 0) {
    s += `,"_uuid":${JSON.stringify((opts.uuid ?? (() => crypto.randomUUID()))())}`;
  } else {
    for (const pk of ev.primaryKey) s += `${pkField(pk)}${maxwellValue(ev.data[pk] ?? null)}`;
  }
  return `${s}}`;
}

/** `{"database":"gmall","table":"order_info"`, once per table. */
const keyHeads = new Map<string, string>();
function keyHead(database: string, table: string): string {
  const k = `${database}\u0000${table}`;
  let h = keyHeads.get(k);
  if (h === undefined) {
    h = `{"database":${quoted(database)},"table":${quoted(table)}`;
    if (keyHeads.size < 100_000) keyHeads.set(k, h);
  }
  return h;
}

/** `,"pk.id":`, once per column name. */
const pkFields = new Map<string, string>();
function pkField(pk: string): string {
  let f = pkFields.get(pk);
  if (f === undefined) {
    f = `,${JSON.stringify(`pk.${pk.toLowerCase()}`)}:`;
    if (pkFields.size < 100_000) pkFields.set(pk, f);
  }
  return f;
}

/** Key and value of the topic record for one change. */
export function encodeMaxwell(ev: ChangeEvent, opts: MaxwellEncodeOptions = {}): MaxwellRecord {
  return { key: maxwellKey(ev, opts), value: maxwellJson(ev, opts) };
}

/** Java's String.hashCode (UTF-16 code units, wrapping 32-bit arithmetic). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The string Maxwell hashes for producer_partition_by (RowMap / RowIdentity.toConcatString). */
export function maxwellPartitionString(ev: ChangeEvent, by: MaxwellPartitionBy): string {
  if (by === 'database') return ev.database;
  if (by === 'table') return ev.table;
  if (ev.primaryKey.length === 0) return ev.database + ev.table;
  let s = '';
  for (const pk of ev.primaryKey) {
    const v = ev.data[pk];
    if (v !== null && v !== undefined) s += v instanceof ExactDecimal ? v.text : String(v);
  }
  return s === '' ? 'None' : s;
}

/** Maxwell's partition: abs(hashCode % n), Java's remainder keeping the dividend's sign as JS's does. */
export function maxwellPartition(ev: ChangeEvent, numPartitions: number, by: MaxwellPartitionBy = 'table'): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  if (by !== 'primary_key') return Math.abs(nameHash(by === 'table' ? ev.table : ev.database) % numPartitions);
  return Math.abs(javaStringHashCode(maxwellPartitionString(ev, by)) % numPartitions);
}

/** Table and database names repeat in every record: their hash codes are computed once. */
const nameHashes = new Map<string, number>();
function nameHash(name: string): number {
  let h = nameHashes.get(name);
  if (h === undefined) {
    h = javaStringHashCode(name);
    if (nameHashes.size < 100_000) nameHashes.set(name, h);
  }
  return h;
}

/** A column in a Maxwell DDL record's table definition (ColumnDefSerializer). */
export interface MaxwellColumnDef {
  type: string;
  name: string;
  charset?: string;
  signed?: boolean;
  'enum-values'?: readonly string[];
  'column-length'?: number;
}

/** A table definition as Maxwell's DDL records carry it (`def`, `old`). */
export interface MaxwellTableDef {
  database: string;
  charset: string;
  table: string;
  columns: MaxwellColumnDef[];
  'primary-key': string[];
}

export type MaxwellDdlType = 'database-create' | 'database-alter' | 'database-drop' | 'table-create' | 'table-alter' | 'table-drop';

/** One schema change, as Maxwell writes it with output_ddl. */
export interface MaxwellDdl {
  type: MaxwellDdlType;
  database: string;
  /** Table changes only. */
  table?: string;
  /** database-create / database-alter: the database's character set. */
  charset?: string;
  /** table-alter: the definition before. */
  old?: MaxwellTableDef;
  /** table-create / table-alter: the definition after. */
  def?: MaxwellTableDef;
  /** ms since the epoch (DDL records, unlike rows, carry milliseconds). */
  ts: number;
  sql: string;
  /** "file:offset" of the statement (output_binlog_position). */
  position?: string;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const INT_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);
const TEMPORAL_WITH_FSP = new Set(['datetime', 'timestamp', 'time']);

/** A column's entry in a Maxwell table definition: type, name, then what its kind carries (charset, signed, …). */
export function maxwellColumnDef(c: ColumnInfo): MaxwellColumnDef {
  const d: MaxwellColumnDef = { type: c.type, name: c.name };
  if (TEXT_TYPES.has(c.type)) d.charset = c.charset ?? 'utf8mb4';
  else if (BINARY_TYPES.has(c.type)) d.charset = 'binary';
  else if (INT_TYPES.has(c.type)) d.signed = !c.unsigned;
  else if (c.type === 'enum' || c.type === 'set') d['enum-values'] = c.enumValues ?? [];
  else if (TEMPORAL_WITH_FSP.has(c.type)) d['column-length'] = c.fsp ?? 0;
  return d;
}

/** The record value of a DDL change: type, database, table, old, def (or charset), ts, sql, position. */
export function maxwellDdlJson(ddl: MaxwellDdl): string {
  const o: Record<string, unknown> = { type: ddl.type, database: ddl.database };
  if (ddl.table !== undefined) o.table = ddl.table;
  if (ddl.charset !== undefined) o.charset = ddl.charset;
  if (ddl.old !== undefined) o.old = ddl.old;
  if (ddl.def !== undefined) o.def = ddl.def;
  o.ts = ddl.ts;
  o.sql = ddl.sql;
  if (ddl.position !== undefined) o.position = ddl.position;
  return JSON.stringify(o);
}
