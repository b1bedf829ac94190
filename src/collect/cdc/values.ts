/**
 * Column values from the wire (zongji's binlog decoding, or a mysql2 result row for bootstrap; both configured alike:
 * dates and decimals as text, JSON as text, big integers as exact strings) → the change model's values:
 *
 *   DECIMAL "1299.00" → ExactDecimal · BIGINT beyond 2^53 "18446744073709551615" → bigint · FLOAT/DOUBLE → FloatValue
 *   BIT (bytes, big-endian) → number | bigint · SET "a,b" → ['a','b'] · JSON text → RawJson · YEAR 0000 → 0
 *   BLOB/BINARY bytes stay bytes · DATE/DATETIME/TIMESTAMP/TIME text stays text · absent column → null
 *
 * A converter per column is built once per table version and applied in place, so the hot path does no lookups.
 */
import { ExactDecimal, FloatValue, RawJson, type ChangeValue, type ColumnInfo, type Row } from '../../formats/change';

export type Converter = (v: unknown) => ChangeValue;

const toInt: Converter = (v) => (typeof v === 'string' ? BigInt(v) : (v as ChangeValue));
const toDecimal: Converter = (v) => (typeof v === 'string' ? new ExactDecimal(v) : typeof v === 'number' ? new ExactDecimal(String(v)) : (v as ChangeValue));
const toFloat: Converter = (v) => (typeof v === 'number' ? new FloatValue(v, true) : (v as ChangeValue));
const toDouble: Converter = (v) => (typeof v === 'number' ? new FloatValue(v, false) : (v as ChangeValue));
// zongji adds 1900 to the stored byte, so YEAR 0000 arrives as 1900, which is not a YEAR value MySQL can hold.
const toYear: Converter = (v) => (v === 1900 ? 0 : (v as ChangeValue));
const toEnum: Converter = (v) => (v === undefined ? '' : (v as ChangeValue));
const toSet: Converter = (v) => (typeof v === 'string' ? (v === '' ? [] : v.split(',')) : (v as ChangeValue));
const toJson: Converter = (v) => {
  if (typeof v === 'string') return jsonDocument(v);
  if (v instanceof Uint8Array) return jsonDocument(Buffer.from(v).toString('utf8'));
  return v === undefined || v === null ? null : new RawJson(JSON.stringify(v));
};
const toBit: Converter = (v) => {
  if (!(v instanceof Uint8Array)) return v as ChangeValue;
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
};
const toOther: Converter = (v) => {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)) return new RawJson(JSON.stringify(v));
  return v as ChangeValue;
};

/** The converter of a column, or null when the wire value already is the change value (strings, safe ints). */
export function converterFor(col: ColumnInfo): Converter | null {
  switch (col.type) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
      return null;
    case 'bigint':
      return toInt;
    case 'decimal':
      return toDecimal;
    case 'float':
      return toFloat;
    case 'double':
      return toDouble;
    case 'year':
      return toYear;
    case 'bit':
      return toBit;
    case 'enum':
      return toEnum;
    case 'set':
      return toSet;
    case 'json':
      return toJson;
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'date':
    case 'datetime':
    case 'timestamp':
    case 'time':
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return null;
    default:
      return toOther;
  }
}

/** Converts a row object in place (zongji's row objects are ours to keep) and returns it typed. */
export type RowConverter = (row: Record<string, unknown>) => Row;

export function rowConverter(columns: readonly ColumnInfo[]): RowConverter {
  const conv: [string, Converter][] = [];
  for (const c of columns) {
    const f = converterFor(c);
    if (f) conv.push([c.name, f]);
  }
  const names = columns.map((c) => c.name);
  return (row) => {
    for (let i = 0; i < conv.length; i++) {
      const [name, f] = conv[i]!;
      const v = row[name];
      if (v !== null && v !== undefined) row[name] = f(v);
    }
    // Columns missing from the image (binlog_row_image=MINIMAL) are nulls, as Maxwell writes them.
    for (let i = 0; i < names.length; i++) if (row[names[i]!] === undefined) row[names[i]!] = null;
    return row as Row;
  };
}

/** Value equality for `old`: bytes by content, decimals by digits, sets by members, floats by value. */
export function sameChangeValue(a: ChangeValue, b: ChangeValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof ExactDecimal && b instanceof ExactDecimal) return a.text === b.text;
  if (a instanceof RawJson && b instanceof RawJson) return a.text === b.text;
  if (a instanceof FloatValue && b instanceof FloatValue) return a.value === b.value || (Number.isNaN(a.value) && Number.isNaN(b.value));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return false;
}

/**
 * A JSON column's text as a document to embed: validated (MariaDB only checks json_valid on write, and a text
 * that is not JSON must never be spliced into a record unquoted) and with the whitespace between tokens removed,
 * as MySQL's binary JSON → text gives it. Invalid text stays a string.
 */
export function jsonDocument(text: string): ChangeValue {
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  return new RawJson(/[\s]/.test(text) ? compactJson(text) : text);
}

function compactJson(text: string): string {
  let out = '';
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 32 || c === 9 || c === 10 || c === 13) {
      out += text.slice(start, i);
      start = i + 1;
    }
  }
  return out + text.slice(start);
}
