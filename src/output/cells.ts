/** How one cell reads as text (box, markdown, csv) and as JSON, shared by all renderers. */
import { ExactDecimal, type ResultColumn } from './result.ts';

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function bytesText(b: Uint8Array): string {
  // DuckDB's BLOB text form: printable ASCII as is, everything else \xNN.
  let s = '';
  for (const byte of b) s += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return s;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

/** A value nested in a LIST/STRUCT/MAP, written the way DuckDB prints it: strings in single quotes. */
function nestedText(v: unknown): string {
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  return cellText(v);
}

/** Text of a cell for humans and CSV. NULL is the caller's business (box shows `NULL`, CSV an empty field). */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return numberText(v);
    case 'bigint':
    case 'boolean':
      return String(v);
  }
  if (v instanceof ExactDecimal) return v.text;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof Uint8Array) return bytesText(v);
  if (Array.isArray(v)) return `[${v.map(nestedText).join(', ')}]`;
  if (isPlainObject(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${nestedText(k)}: ${nestedText(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/**
 * JSON text of a cell. BIGINT/HUGEINT and DECIMAL are written as bare digits, so no JSON reader that keeps
 * big numbers (jq, Python, Java) loses precision; NaN/±Infinity, which JSON cannot express, become strings.
 */
export function jsonText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v));
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof ExactDecimal) return JSON_NUMBER.test(v.text) ? v.text : JSON.stringify(v.text);
  if (v instanceof Date) return JSON.stringify(cellText(v));
  if (v instanceof Uint8Array) return JSON.stringify(bytesText(v));
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(String(v));
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC|BIGNUM|VARINT|INT\d+|UINT\d+|FLOAT\d+|SERIAL|BIGSERIAL)\b/i;

function isNumericValue(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof ExactDecimal;
}

/** Numeric columns are right-aligned. The SQL type decides; without one, the values do. */
export function isNumericColumn(column: ResultColumn, rows: readonly (readonly unknown[])[], index: number): boolean {
  if (column.type.trim() !== '') return NUMERIC_TYPE.test(column.type.trim());
  let seen = false;
  for (const row of rows) {
    const v = row[index];
    if (v === null || v === undefined) continue;
    if (!isNumericValue(v)) return false;
    seen = true;
  }
  return seen;
}

/**
 * Object keys for JSON rows: a repeated column name gets `:1`, `:2`… (the convention of
 * @duckdb/node-api's deduplicatedColumnNames), so no value is silently overwritten.
 */
export function uniqueNames(columns: readonly ResultColumn[]): string[] {
  const used = new Set<string>();
  const out: string[] = [];
  for (const c of columns) {
    let name = c.name;
    for (let k = 1; used.has(name); k++) name = `${c.name}:${k}`;
    used.add(name);
    out.push(name);
  }
  return out;
}

/** Terminal columns a string takes: CJK and emoji count 2, combining marks 0 (Bun's East Asian Width tables). */
export function displayWidth(s: string): number {
  return Bun.stringWidth(s);
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cuts `s` to at most `width` terminal columns, ending in `…` when cut; never splits a wide character. */
export function truncateToWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(s)) {
    const w = displayWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Pads to `width` terminal columns. */
export function pad(s: string, width: number, align: 'left' | 'right' | 'center'): string {
  const gap = Math.max(0, width - displayWidth(s));
  if (align === 'right') return ' '.repeat(gap) + s;
  if (align === 'left') return s + ' '.repeat(gap);
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

/** Control characters shown as escapes, so a value can neither break the table nor send terminal codes. */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
