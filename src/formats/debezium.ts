/**
 * Debezium's change-event JSON, the way Flink CDC's JsonDebeziumDeserializationSchema emits it (Debezium 1.9.8,
 * JsonConverter with schemas.enable=false), so a Flink job written for Flink CDC reads ours unchanged:
 *
 *   {"before":null,"after":{"id":1,"name":"北京"},"source":{"version":"1.9.8.Final","connector":"mysql",
 *    "name":"mysql_binlog_source","ts_ms":1736821234000,"snapshot":"false","db":"gmall","sequence":null,
 *    "table":"base_province","server_id":1,"gtid":null,"file":"mysql-bin.000003","pos":1234,"row":0,
 *    "thread":null,"query":null},"op":"c","ts_ms":1736821234567,"transaction":null}
 *
 * - op c (insert), u (update: `before` is the full row before), d (delete: `after` null), r (snapshot row);
 * - `ts_ms` is processing time, `source.ts_ms` the binlog time (both ms);
 * - values in Debezium's MySQL encodings (time.precision.mode adaptive_time_microseconds, decimal and
 *   bigint-unsigned handling "precise" as Flink CDC sets them): DATE → days since the epoch, TIME → µs,
 *   DATETIME(0–3) → epoch ms and DATETIME(4–6) → epoch µs (the wall clock read as UTC), TIMESTAMP → ISO-8601
 *   "…Z", DECIMAL and BIGINT UNSIGNED → base64 of the unscaled two's-complement big-endian integer, BIT(1) →
 *   boolean, BIT(n) → base64 bytes (little-endian), JSON → its text as a string, SET → "a,b", BLOB → base64.
 *
 * The record key is Debezium's key struct without schema: {"id":1} (null for a table without primary key).
 *
 * With `schemas` (JsonConverter schemas.enable=true) key and value are `{"schema":…,"payload":…}`: the payload is
 * the record above, the schema Debezium's Envelope (the table's Value struct for before/after, the Source struct,
 * op, ts_ms, transaction) with each column's Kafka Connect type and logical name (Decimal with its scale,
 * io.debezium.time.Timestamp …), and the source column type, length and scale as Debezium's
 * column.propagate.source.type adds them, so a reader can decode every value of any table exactly.
 */
import { ExactDecimal, FloatValue, RawJson, type ChangeEvent, type ChangeValue, type ColumnInfo, type Row } from './change.ts';
import { javaFloatText } from './maxwell.ts';

export interface DebeziumEncodeOptions {
  /** source.name: the logical server name (Flink CDC's default "mysql_binlog_source"). */
  serverName?: string;
  /** source.version (Flink CDC 2.x/3.x pin Debezium 1.9.8.Final). */
  version?: string;
  /** Processing time for the top-level ts_ms (default Date.now). */
  now?: () => number;
  /** Wrap key and value in Kafka Connect's `{"schema","payload"}` envelope (JsonConverter schemas.enable=true). */
  schemas?: boolean;
}

export interface DebeziumRecord {
  key: string | null;
  value: string;
}

export const DEBEZIUM_DEFAULTS = { serverName: 'mysql_binlog_source', version: '1.9.8.Final' } as const;

/** The record value, or null for records Debezium has no counterpart for (bootstrap start/complete markers). */
export function debeziumJson(ev: ChangeEvent, opts: DebeziumEncodeOptions = {}): string | null {
  if (ev.bootstrap === 'start' || ev.bootstrap === 'complete') return null;
  const cols = columnIndex(ev.columns);
  let before = 'null';
  let after = 'null';
  let op: string;
  if (ev.bootstrap === 'insert') {
    op = 'r';
    after = rowJson(ev.data, cols);
  } else if (ev.type === 'insert') {
    op = 'c';
    after = rowJson(ev.data, cols);
  } else if (ev.type === 'update') {
    op = 'u';
    before = rowJson(beforeImage(ev.data, ev.old), cols);
    after = rowJson(ev.data, cols);
  } else {
    op = 'd';
    before = rowJson(ev.data, cols);
  }
  const src = ev.source;
  const snapshot = src?.snapshot ?? (ev.bootstrap === 'insert' ? 'true' : 'false');
  const source =
    `{"version":${JSON.stringify(opts.version ?? DEBEZIUM_DEFAULTS.version)},"connector":"mysql",` +
    `"name":${JSON.stringify(opts.serverName ?? DEBEZIUM_DEFAULTS.serverName)},"ts_ms":${Math.floor(ev.ts)},` +
    `"snapshot":"${snapshot}","db":${JSON.stringify(ev.database)},"sequence":null,"table":${JSON.stringify(ev.table)},` +
    `"server_id":${src?.serverId ?? 0},"gtid":${src?.gtid == null ? 'null' : JSON.stringify(src.gtid)},` +
    `"file":${JSON.stringify(src?.file ?? '')},"pos":${src?.pos ?? 0},"row":${src?.row ?? 0},` +
    `"thread":${src?.thread ?? 'null'},"query":null}`;
  const now = (opts.now ?? Date.now)();
  const payload = `{"before":${before},"after":${after},"source":${source},"op":"${op}","ts_ms":${Math.floor(now)},"transaction":null}`;
  return opts.schemas ? `{"schema":${envelopeSchema(ev, opts)},"payload":${payload}}` : payload;
}

/** The record key: the primary-key columns as a JSON object, null when the table has no primary key. */
export function debeziumKey(ev: ChangeEvent, opts: DebeziumEncodeOptions = {}): string | null {
  if (ev.primaryKey.length === 0) return null;
  const cols = columnIndex(ev.columns);
  let s = '{';
  ev.primaryKey.forEach((k, i) => {
    s += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${debeziumValue(ev.data[k] ?? null, cols?.get(k))}`;
  });
  s += '}';
  if (!opts.schemas) return s;
  const fields = ev.primaryKey.map((k) => fieldSchema(cols?.get(k) ?? inferColumn(k, ev.data[k] ?? null), false));
  const name = JSON.stringify(`${opts.serverName ?? DEBEZIUM_DEFAULTS.serverName}.${ev.database}.${ev.table}.Key`);
  return `{"schema":{"type":"struct","fields":[${fields.join(',')}],"optional":false,"name":${name}},"payload":${s}}`;
}

export function encodeDebezium(ev: ChangeEvent, opts: DebeziumEncodeOptions = {}): DebeziumRecord | null {
  const value = debeziumJson(ev, opts);
  return value === null ? null : { key: debeziumKey(ev, opts), value };
}

// ------------------------------------------------------------------------------------------------ schemas

/** Kafka Connect's schema of one column, as Debezium 1.9's MySQL connector declares it (Flink CDC's settings). */
function fieldSchema(c: ColumnInfo, optional = c.nullable !== false): string {
  let type: string;
  let name: string | undefined;
  const params: [string, string][] = [];
  switch (c.type) {
    case 'tinyint':
      type = 'int16';
      break;
    case 'smallint':
      type = c.unsigned ? 'int32' : 'int16';
      break;
    case 'mediumint':
      type = 'int32';
      break;
    case 'int':
    case 'integer':
      type = c.unsigned ? 'int64' : 'int32';
      break;
    case 'bigint':
      // bigint.unsigned.handling.mode=precise: a Decimal of scale 0
      if (c.unsigned) {
        type = 'bytes';
        name = 'org.apache.kafka.connect.data.Decimal';
        params.push(['scale', '0'], ['connect.decimal.precision', '20']);
      } else type = 'int64';
      break;
    case 'float':
      type = 'float32';
      break;
    case 'double':
      type = 'float64';
      break;
    case 'decimal':
      type = 'bytes';
      name = 'org.apache.kafka.connect.data.Decimal';
      params.push(['scale', String(c.scale ?? 0)], ['connect.decimal.precision', String(c.precision ?? 10)]);
      break;
    case 'date':
      type = 'int32';
      name = 'io.debezium.time.Date';
      break;
    case 'datetime':
      type = 'int64';
      name = (c.fsp ?? 0) > 3 ? 'io.debezium.time.MicroTimestamp' : 'io.debezium.time.Timestamp';
      break;
    case 'timestamp':
      type = 'string';
      name = 'io.debezium.time.ZonedTimestamp';
      break;
    case 'time':
      type = 'int64';
      name = 'io.debezium.time.MicroTime';
      break;
    case 'year':
      type = 'int32';
      name = 'io.debezium.time.Year';
      break;
    case 'bit':
      if ((c.bits ?? 1) === 1) type = 'boolean';
      else {
        type = 'bytes';
        name = 'io.debezium.data.Bits';
        params.push(['length', String(c.bits)]);
      }
      break;
    case 'enum':
    case 'set':
      type = 'string';
      name = c.type === 'enum' ? 'io.debezium.data.Enum' : 'io.debezium.data.EnumSet';
      if (c.enumValues) params.push(['allowed', c.enumValues.join(',')]);
      break;
    case 'json':
      type = 'string';
      name = 'io.debezium.data.Json';
      break;
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      type = 'bytes';
      break;
    default:
      type = 'string';
  }
  // column.propagate.source.type: what the logical type alone does not say (a TIMESTAMP's and a TIME's fsp).
  params.push(['__debezium.source.column.type', c.type.toUpperCase() + (c.unsigned ? ' UNSIGNED' : '')]);
  const length = c.type === 'decimal' ? c.precision : c.type === 'bit' ? c.bits : c.fsp;
  if (length !== undefined) params.push(['__debezium.source.column.length', String(length)]);
  if (c.type === 'decimal') params.push(['__debezium.source.column.scale', String(c.scale ?? 0)]);
  let s = `{"type":"${type}","optional":${optional}`;
  if (name) s += `,"name":"${name}"${name.startsWith('io.debezium.') || name.endsWith('.Decimal') ? ',"version":1' : ''}`;
  s += `,"parameters":{${params.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  return `${s},"field":${JSON.stringify(c.name)}}`;
}

/** A column's type guessed from a value, for events that come without their columns (generated data). */
function inferColumn(name: string, v: ChangeValue): ColumnInfo {
  if (typeof v === 'number') return { name, type: Number.isInteger(v) ? 'bigint' : 'double' };
  if (typeof v === 'bigint') return { name, type: 'bigint' };
  if (v instanceof ExactDecimal) {
    const dot = v.text.indexOf('.');
    const scale = dot < 0 ? 0 : v.text.length - dot - 1;
    return { name, type: 'decimal', precision: 65, scale };
  }
  if (v instanceof FloatValue) return { name, type: v.single ? 'float' : 'double' };
  if (v instanceof Uint8Array) return { name, type: 'blob' };
  if (v instanceof RawJson) return { name, type: 'json' };
  if (Array.isArray(v)) return { name, type: 'set' };
  return { name, type: 'varchar' };
}

const SOURCE_SCHEMA =
  '{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},' +
  '{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},' +
  '{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},' +
  '{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"string","optional":true,"field":"table"},' +
  '{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},' +
  '{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},' +
  '{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"}';

const TRANSACTION_SCHEMA =
  '{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},' +
  '{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"field":"transaction"}';

/** Envelope schemas by column list (the same array for every row of a table version) and topic name. */
const envelopes = new WeakMap<readonly ColumnInfo[], Map<string, string>>();

function envelopeSchema(ev: ChangeEvent, opts: DebeziumEncodeOptions): string {
  const prefix = `${opts.serverName ?? DEBEZIUM_DEFAULTS.serverName}.${ev.database}.${ev.table}`;
  const cached = ev.columns ? envelopes.get(ev.columns)?.get(prefix) : undefined;
  if (cached !== undefined) return cached;
  const cols = ev.columns ?? Object.keys(ev.data).map((k) => inferColumn(k, ev.data[k] ?? null));
  const row = (field: string) =>
    `{"type":"struct","fields":[${cols.map((c) => fieldSchema(c)).join(',')}],"optional":true,"name":${JSON.stringify(`${prefix}.Value`)},"field":"${field}"}`;
  const s =
    `{"type":"struct","fields":[${row('before')},${row('after')},${SOURCE_SCHEMA},{"type":"string","optional":false,"field":"op"},` +
    `{"type":"int64","optional":true,"field":"ts_ms"},${TRANSACTION_SCHEMA}],"optional":false,"name":${JSON.stringify(`${prefix}.Envelope`)}}`;
  if (ev.columns) {
    let m = envelopes.get(ev.columns);
    if (!m) envelopes.set(ev.columns, (m = new Map()));
    m.set(prefix, s);
  }
  return s;
}

/** The row before an update: `data` with the changed columns put back (`old` holds only those). */
function beforeImage(data: Row, old: Row | undefined): Row {
  if (!old) return data;
  const b: Row = {};
  for (const k in data) b[k] = k in old ? old[k]! : data[k]!;
  return b;
}

const indexes = new WeakMap<readonly ColumnInfo[], Map<string, ColumnInfo>>();
function columnIndex(cols: readonly ColumnInfo[] | undefined): Map<string, ColumnInfo> | undefined {
  if (!cols) return undefined;
  let m = indexes.get(cols);
  if (!m) indexes.set(cols, (m = new Map(cols.map((c) => [c.name, c]))));
  return m;
}

function rowJson(row: Row, cols: Map<string, ColumnInfo> | undefined): string {
  let s = '{';
  let first = true;
  for (const k in row) {
    s += `${first ? '' : ','}${JSON.stringify(k)}:${debeziumValue(row[k]!, cols?.get(k))}`;
    first = false;
  }
  return `${s}}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const TIME_RE = /^(-)?(\d{2,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const MS_PER_DAY = 86_400_000;

/** One value in Debezium's JSON encoding for its column type (or, without column info, for its shape). */
export function debeziumValue(v: ChangeValue, col?: ColumnInfo): string {
  if (v === null) return 'null';
  const type = col?.type;
  switch (type) {
    case 'date':
      return typeof v === 'string' ? numberOrNull(epochDays(v)) : fallback(v);
    case 'datetime':
      return typeof v === 'string' ? numberOrNull((col?.fsp ?? 0) > 3 ? epochMicros(v) : epochMillis(v)) : fallback(v);
    case 'timestamp':
      return typeof v === 'string' ? isoTimestamp(v) : fallback(v);
    case 'time':
      return typeof v === 'string' ? numberOrNull(timeMicros(v)) : fallback(v);
    case 'bit':
      return bitValue(v, col?.bits ?? 1);
    case 'bigint':
      // bigint.unsigned.handling.mode=precise: a Decimal with scale 0, i.e. base64 of the integer's bytes.
      if (col?.unsigned && (typeof v === 'number' || typeof v === 'bigint')) return `"${twosComplementBase64(BigInt(v))}"`;
      return fallback(v);
    case 'set':
      return Array.isArray(v) ? JSON.stringify(v.join(',')) : fallback(v);
    default:
      return fallback(v);
  }
}

/** Encoding by value shape: what a column of no special temporal/bit type gets. */
function fallback(v: ChangeValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`cannot encode ${v} as JSON`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof ExactDecimal) return `"${decimalBase64(v.text)}"`;
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  // io.debezium.data.Json is a string holding the document.
  if (v instanceof RawJson) return JSON.stringify(v.text);
  if (v instanceof FloatValue) return javaFloatText(v);
  if (Array.isArray(v)) return JSON.stringify(v.join(','));
  throw new RangeError(`cannot encode ${String(v)} as a Debezium value`);
}

function numberOrNull(n: number | null): string {
  return n === null ? 'null' : String(n);
}

/** DATE → days since 1970-01-01; zero dates ("0000-00-00") have no such day and become null. */
export function epochDays(text: string): number | null {
  const m = DATE_RE.exec(text);
  if (!m || m[2] === '00' || m[3] === '00') return null;
  const d = new Date(0);
  // setUTCFullYear keeps years 0–99 literal (Date.UTC would map them to 1900–1999).
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Math.floor(d.getTime() / MS_PER_DAY);
}

function parseDateTime(text: string): { ms: number; micros: number } | null {
  const m = DATETIME_RE.exec(text);
  if (!m || m[2] === '00' || m[3] === '00') return null;
  const d = new Date(0);
  // setUTCFullYear keeps years 0–99 literal (Date.UTC would map them to 1900–1999).
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const frac = (m[7] ?? '').padEnd(6, '0');
  return { ms: d.getTime(), micros: Number(frac) };
}

/** DATETIME(0–3) → ms since the epoch, the wall clock read as UTC (Debezium's Timestamp). */
export function epochMillis(text: string): number | null {
  const p = parseDateTime(text);
  return p === null ? null : p.ms + Math.floor(p.micros / 1000);
}

/** DATETIME(4–6) → µs since the epoch (Debezium's MicroTimestamp). */
export function epochMicros(text: string): number | null {
  const p = parseDateTime(text);
  return p === null ? null : p.ms * 1000 + p.micros;
}

/** TIMESTAMP (given in UTC) → ISO-8601 with Z and only the fraction digits needed (Debezium 1.9 ZonedTimestamp). */
export function isoTimestamp(text: string): string {
  const m = DATETIME_RE.exec(text);
  if (!m) return 'null';
  if (m[1] === '0000') return '"1970-01-01T00:00:00Z"';
  const frac = (m[7] ?? '').replace(/0+$/, '');
  return `"${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac ? `.${frac}` : ''}Z"`;
}

/** TIME → µs (Debezium's MicroTime); MySQL TIME spans -838:59:59 … 838:59:59. */
export function timeMicros(text: string): number | null {
  const m = TIME_RE.exec(text);
  if (!m) return null;
  const us = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1_000_000 + Number((m[5] ?? '').padEnd(6, '0'));
  return m[1] ? -us : us;
}

/** BIT(1) → boolean; BIT(n) → its bytes little-endian, base64 (io.debezium.data.Bits). */
function bitValue(v: ChangeValue, bits: number): string {
  let n: bigint;
  if (typeof v === 'number' || typeof v === 'bigint') n = BigInt(v);
  else if (v instanceof Uint8Array) n = v.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  else return fallback(v);
  if (bits === 1) return n !== 0n ? 'true' : 'false';
  const bytes = Buffer.alloc(Math.ceil(bits / 8));
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return `"${bytes.toString('base64')}"`;
}

/** A DECIMAL's unscaled value (the digits without the point) as Java's BigInteger.toByteArray, base64. */
export function decimalBase64(text: string): string {
  const neg = text.startsWith('-');
  const digits = (neg ? text.slice(1) : text).replace('.', '');
  return twosComplementBase64(neg ? -BigInt(digits) : BigInt(digits));
}

/** BigInteger.toByteArray(): the shortest big-endian two's-complement bytes holding n and its sign bit. */
export function twosComplementBytes(n: bigint): Uint8Array {
  let bytes = 1;
  // Smallest width whose signed range holds n.
  while (n >= 1n << BigInt(8 * bytes - 1) || n < -(1n << BigInt(8 * bytes - 1))) bytes++;
  const out = new Uint8Array(bytes);
  let x = BigInt.asUintN(8 * bytes, n);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function twosComplementBase64(n: bigint): string {
  return Buffer.from(twosComplementBytes(n)).toString('base64');
}
