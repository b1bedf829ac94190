/**
 * Decoding Maxwell, Debezium and Canal JSON into one row-change shape for the jobs (dim, dwd), after the record
 * passed validation. Values are EXACT: the JSON is parsed with the source text of every number, so
 * 9007199254740993 stays a bigint and DECIMAL 123456789012345678901234.123456789 an ExactDecimal, never a double.
 *
 *   Maxwell   insert/update/delete/bootstrap-insert → one change; ts seconds ×1000; old as written
 *   Debezium  op c/r → insert, u → update, d → delete (data = before); ts = source.ts_ms (binlog), else ts_ms;
 *             old = the before-values of the columns that changed (Maxwell's meaning), when before is there
 *   Canal     one change per data row; old[i] as written; ts = es (binlog ms); values stay Canal's strings
 *
 * Records that are not row changes (DDL, bootstrap-start/complete, truncate) decode to no change.
 * Debezium values are turned into what Maxwell gives for the same row (debezium-decode.ts: DECIMAL base64 →
 * ExactDecimal, DATE days → "2025-01-14", DATETIME epoch ms → "2025-01-14 10:00:00", …), typed by the record's
 * schema when it has one, else by the gmall catalog; a table neither types passes as it came (`onUntyped` is told,
 * for the caller to warn once). A value that does not decode makes the record `invalid debezium`.
 */
import { ExactDecimal, type ChangeType } from './change.ts';
import { catalogDecoder, decodeRow, schemaDecoder, type RowDecoder } from './debezium-decode.ts';
import type { RecordFormat } from './detect.ts';
import { isObj, type Obj } from './validate-check.ts';
import { isDebeziumWrapper } from './validate-debezium.ts';
import { checkRecord, type RecordProblem } from './validate.ts';

export type DecodedValue = string | number | bigint | ExactDecimal | boolean | null | DecodedValue[] | { [key: string]: DecodedValue };
export type DecodedRow = Record<string, DecodedValue>;

export type ChangeFormat = Exclude<RecordFormat, 'applog'>;

export interface DecodedChange {
  format: ChangeFormat;
  database: string;
  table: string;
  type: ChangeType;
  /** A snapshot row (Maxwell bootstrap-insert, Debezium op r): counts as an insert. */
  snapshot: boolean;
  /** Event time (binlog time), ms since the epoch. */
  ts: number;
  /** The row after the change; the deleted row for a delete. */
  data: DecodedRow;
  /** Update: previous values of the columns that changed. */
  old?: DecodedRow;
  xid?: number;
  commit?: boolean;
  /** Primary-key columns when the record (or its key) says; empty when unknown. */
  primaryKey: readonly string[];
}

export type DecodeResult =
  | { ok: true; format: ChangeFormat; changes: DecodedChange[] }
  | { ok: false; problem: RecordProblem | 'not a change'; reasons: string[] };

const DECIMAL_TEXT = /^-?\d+\.\d+$/;

/**
 * Text where JSON.parse might not keep a number exactly: a number (it follows ':', ',' or '[') with a fraction or
 * an exponent, or with 16+ digits (2^53 has 16). Text inside strings rarely looks like that ("a@163.com" does
 * not); when it does, it only costs the slow parse.
 */
const MAYBE_INEXACT = /[:,[]\s*-?\d+[.eE]|[:,[]\s*-?\d{16}/;

interface SourceContext {
  source?: string;
}

/**
 * JSON.parse keeping numbers exact: safe integers → number, larger integers → bigint, plain decimals →
 * ExactDecimal, exponent forms → number. Throws like JSON.parse (RangeError when nesting is extreme).
 */
export function parseExact(text: string): unknown {
  return JSON.parse(text, function exact(_key: string, v: unknown, ctx?: SourceContext): unknown {
    if (typeof v !== 'number' || ctx?.source === undefined) return v;
    const src = ctx.source;
    if (Number.isSafeInteger(v) && !src.includes('.') && !/[eE]/.test(src)) return v;
    if (/^-?\d+$/.test(src)) return BigInt(src);
    if (DECIMAL_TEXT.test(src)) return new ExactDecimal(src);
    return v;
  } as (this: unknown, key: string, value: unknown) => unknown);
}

function row(v: unknown): DecodedRow {
  return isObj(v) ? (v as DecodedRow) : {};
}

/** Equality of two exact values as their JSON text (decimals by digits, objects by content). */
function same(a: DecodedValue | undefined, b: DecodedValue | undefined): boolean {
  if (a === b) return true;
  if (a instanceof ExactDecimal && b instanceof ExactDecimal) return a.text === b.text;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    return JSON.stringify(a, exactReplacer) === JSON.stringify(b, exactReplacer);
  }
  return false;
}

function exactReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Primary-key column names from a Maxwell hash key ({"database","table","pk.id":1}) or a Debezium key ({"id":1}). */
export function keyColumns(key: string | null | undefined): string[] {
  if (!key) return [];
  let k: unknown;
  try {
    k = JSON.parse(key);
  } catch {
    return [];
  }
  if (!isObj(k)) return [];
  if ('database' in k && 'table' in k) return Object.keys(k).filter((c) => c.startsWith('pk.')).map((c) => c.slice(3));
  const payload = 'payload' in k && 'schema' in k ? k.payload : k;
  return isObj(payload) ? Object.keys(payload) : [];
}

export interface DecodeOptions {
  key?: string | null;
  onUntyped?: (database: string, table: string) => void;
}

/**
 * The `onUntyped` of a job: `warn` once per table (not per record) that its Debezium records carry no schema and
 * rtwh has no column types for it, with the cdc option that fixes it.
 */
export function warnUntypedOnce(warn: (message: string) => void): (database: string, table: string) => void {
  const seen = new Set<string>();
  return (database, table) => {
    const t = `${database}.${table}`;
    if (seen.has(t)) return;
    seen.add(t);
    warn(
      `${t}: Debezium records without a schema, and rtwh has no column types for this table: its values are read as ` +
        'Debezium encodes them (DECIMAL as base64, DATETIME as epoch ms, DATE as days, …). Write them with ' +
        '`rtwh cdc --format debezium --debezium-schemas` (or Kafka Connect with value.converter.schemas.enable=true) ' +
        'so every value is decoded by its schema',
    );
  };
}

/**
 * Validates one record value and decodes its row changes, exactly. `key` (the record key) supplies the
 * primary-key columns when the value does not name them. `onUntyped` is called for each change of a Debezium
 * record that has no schema and whose table the gmall catalog does not know: its values stay Debezium's.
 */
export function decodeChanges(value: Uint8Array | string | null | undefined, opts: DecodeOptions = {}): DecodeResult {
  const checked = checkRecord(value);
  if (!checked.ok) return { ok: false, problem: checked.problem, reasons: checked.reasons };
  if (checked.format === 'applog') return { ok: false, problem: 'not a change', reasons: ['an app log, not a row change'] };
  let obj: Obj;
  try {
    // The validator's plain parse is already exact unless a number has a fraction, an exponent or 16+ digits;
    // only then parse again keeping each number's source text (several times slower).
    obj = MAYBE_INEXACT.test(checked.text) ? (parseExact(checked.text) as Obj) : checked.obj;
  } catch (e) {
    return { ok: false, problem: 'invalid JSON', reasons: [e instanceof Error ? e.message : String(e)] };
  }
  const fromKey = keyColumns(opts.key);
  switch (checked.format) {
    case 'maxwell':
      return { ok: true, format: 'maxwell', changes: maxwellChanges(obj, fromKey) };
    case 'debezium': {
      const reasons: string[] = [];
      const changes = debeziumChanges(obj, fromKey, reasons, opts.onUntyped);
      return reasons.length > 0 ? { ok: false, problem: 'invalid debezium', reasons } : { ok: true, format: 'debezium', changes };
    }
    case 'canal':
      return { ok: true, format: 'canal', changes: canalChanges(obj) };
  }
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

function maxwellChanges(o: Obj, fromKey: string[]): DecodedChange[] {
  const t = o.type as string;
  const type: ChangeType | undefined = t === 'bootstrap-insert' ? 'insert' : t === 'insert' || t === 'update' || t === 'delete' ? t : undefined;
  if (!type) return [];
  const pk = Array.isArray(o.primary_key_columns) ? (o.primary_key_columns as string[]) : fromKey;
  const c: DecodedChange = {
    format: 'maxwell',
    database: o.database as string,
    table: o.table as string,
    type,
    snapshot: t === 'bootstrap-insert',
    ts: num(o.ts) * 1000,
    data: row(o.data),
    primaryKey: pk,
  };
  if (isObj(o.old)) c.old = o.old as DecodedRow;
  if (o.xid !== undefined) c.xid = num(o.xid);
  if (o.commit === true) c.commit = true;
  return [c];
}

function debeziumChanges(o: Obj, fromKey: string[], reasons: string[], onUntyped: DecodeOptions['onUntyped']): DecodedChange[] {
  const wrapped = isDebeziumWrapper(o);
  const p = (wrapped ? o.payload : o) as Obj;
  const op = p.op as string;
  const type: ChangeType | undefined = op === 'c' || op === 'r' ? 'insert' : op === 'u' ? 'update' : op === 'd' ? 'delete' : undefined;
  if (!type) return [];
  const source = p.source as Obj;
  const sourceTs = num(source.ts_ms);
  const before = isObj(p.before) ? (p.before as DecodedRow) : undefined;
  const after = isObj(p.after) ? (p.after as DecodedRow) : undefined;
  // The values' types: the record's own schema, else the gmall catalog by table name.
  let decoder = wrapped && isObj(o.schema) ? schemaDecoder(o.schema) : undefined;
  if (decoder === undefined) {
    decoder = catalogDecoder(source.table as string);
    if (decoder === undefined) onUntyped?.(source.db as string, source.table as string);
  }
  if (decoder !== undefined && decoder.size > 0) {
    const at = wrapped ? 'payload.' : '';
    if (before) decodeRow(before, decoder, `${at}before`, reasons);
    if (after) decodeRow(after, decoder, `${at}after`, reasons);
    if (reasons.length > 0) return [];
  }
  const c: DecodedChange = {
    format: 'debezium',
    database: source.db as string,
    table: source.table as string,
    type,
    snapshot: op === 'r',
    ts: sourceTs > 0 ? sourceTs : num(p.ts_ms),
    data: (type === 'delete' ? before : after) ?? {},
    primaryKey: fromKey,
  };
  if (type === 'update' && before && after) {
    const old: DecodedRow = {};
    for (const k of Object.keys(after)) if (!same(before[k], after[k])) old[k] = before[k] ?? null;
    c.old = old;
  }
  return [c];
}

function canalChanges(o: Obj): DecodedChange[] {
  const t = o.type as string;
  const type: ChangeType | undefined = t === 'INSERT' ? 'insert' : t === 'UPDATE' ? 'update' : t === 'DELETE' ? 'delete' : undefined;
  if (!type || o.isDdl === true || !Array.isArray(o.data)) return [];
  const old = Array.isArray(o.old) ? o.old : [];
  const pk = Array.isArray(o.pkNames) ? (o.pkNames as string[]) : [];
  return (o.data as unknown[]).map((d, i) => {
    const c: DecodedChange = {
      format: 'canal',
      database: o.database as string,
      table: o.table as string,
      type,
      snapshot: false,
      ts: num(o.es),
      data: row(d),
      primaryKey: pk,
    };
    if (type === 'update' && isObj(old[i])) c.old = old[i] as DecodedRow;
    return c;
  });
}
