/**
 * One record value (bytes off a topic, or a line of a file) → its format and whether it is valid, with one
 * reason. This is the check `rtwh tail` prints and the jobs' dead-letter reasons reuse:
 *
 *   null value · empty value · invalid UTF-8 · invalid JSON · unknown format · invalid <format>
 *
 * The parsed object is only used to look at the record: numbers in it may be rounded doubles. Whoever prints or
 * forwards the record uses `text` (the original characters), and decodeChanges (validated-change.ts) for exact values.
 */
import { isUtf8 } from 'node:buffer';
import { detectFormat, validateAs, type RecordFormat } from './detect.ts';
import { isObj, kind, type Obj } from './validate-check.ts';

export type RecordProblem = 'null value' | 'empty value' | 'invalid UTF-8' | 'invalid JSON' | 'unknown format' | `invalid ${RecordFormat}`;

export type CheckedRecord =
  | { ok: true; format: RecordFormat; text: string; obj: Obj }
  | {
      ok: false;
      problem: RecordProblem;
      /** Every reason, each naming the field (for `invalid <format>`), or what the parser said. */
      reasons: string[];
      format?: RecordFormat;
      /** The value as text when it was UTF-8; `json` says whether that text is valid JSON. */
      text?: string;
      json: boolean;
      obj?: unknown;
    };

/** The one-line reason: `invalid maxwell: ts: looks like ms (13 digits, …)`, at most `max` field reasons. */
export function reasonText(r: Extract<CheckedRecord, { ok: false }>, max = 3): string {
  const more = r.reasons.length > max ? ` (+${r.reasons.length - max} more)` : '';
  return r.reasons.length === 0 ? r.problem : `${r.problem}: ${r.reasons.slice(0, max).join('; ')}${more}`;
}

/** Offset of the first byte that breaks UTF-8 (only called once isUtf8 said no). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const x = b[i]!;
    const n = x < 0x80 ? 0 : x >= 0xc2 && x <= 0xdf ? 1 : x >= 0xe0 && x <= 0xef ? 2 : x >= 0xf0 && x <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const y = b[i + k];
      if (y === undefined || (y & 0xc0) !== 0x80) return i;
    }
    // Overlongs, surrogates and code points above U+10FFFF.
    const y1 = b[i + 1] ?? 0;
    if ((x === 0xe0 && y1 < 0xa0) || (x === 0xed && y1 > 0x9f) || (x === 0xf0 && y1 < 0x90) || (x === 0xf4 && y1 > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/** Parses JSON, turning every parser failure (SyntaxError, or RangeError on extreme nesting) into a reason. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const msg = e instanceof Error ? `${e.name === 'SyntaxError' ? '' : `${e.name}: `}${e.message}` : String(e);
    return { ok: false, reason: msg.replace(/^JSON Parse error: /, '') };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of UTF-8 bytes, or the offset of the first byte that breaks UTF-8. One pass that decodes and checks
 * (fatal): measured faster than isUtf8 followed by toString.
 */
export function utf8TextOrBadByte(value: Uint8Array): string | number {
  try {
    return strictUtf8.decode(value);
  } catch {
    const at = firstInvalidUtf8(value);
    if (at >= 0) return at;
    // Valid after all: a runtime whose TextDecoder refuses views of shared memory (the Kafka reader's buffers).
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
}

/** Checks one record value. Never throws: every failure is a result with a reason. */
export function checkRecord(value: Uint8Array | string | null | undefined): CheckedRecord {
  if (value === null || value === undefined) return { ok: false, problem: 'null value', reasons: ['the record has no value (a tombstone)'], json: false };
  if (value.length === 0) return { ok: false, problem: 'empty value', reasons: [], json: false, text: '' };
  const text = typeof value === 'string' ? value : utf8TextOrBadByte(value);
  if (typeof text === 'number') return { ok: false, problem: 'invalid UTF-8', reasons: [`byte ${text} of ${value.length} is not valid UTF-8`], json: false };
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, problem: 'invalid JSON', reasons: [parsed.reason], json: false, text };
  const obj = parsed.value;
  const format = detectFormat(obj);
  if (format === undefined) {
    const what = isObj(obj) ? `an object with keys ${Object.keys(obj).slice(0, 6).join(', ') || '(none)'}` : kind(obj);
    return { ok: false, problem: 'unknown format', reasons: [`not Maxwell, Debezium, Canal or an app log: ${what}`], json: true, text, obj };
  }
  const reasons = validateAs(format, obj);
  if (reasons.length > 0) return { ok: false, problem: `invalid ${format}`, reasons, format, json: true, text, obj };
  return { ok: true, format, text, obj: obj as Obj };
}

/** A valid record checked by checkValidFast: strings inside `obj` are its UTF-8 bytes read as Latin-1. */
export interface Latin1Record {
  format: RecordFormat;
  obj: Obj;
}

/**
 * The hot path of checkRecord for bulk reads: the bytes are checked for UTF-8 (SIMD) and parsed as Latin-1 text,
 * which JavaScript keeps in 8-bit strings and parses faster than the UTF-16 strings UTF-8 decoding makes of
 * non-ASCII data (measured ~30 % on gmall rows with Chinese names). The JSON structure is the same either way:
 * bytes above 0x7F only occur inside strings. So the shape, the types and every ASCII value are checked exactly;
 * non-ASCII strings read as mojibake (see utf8FromLatin1). Returns undefined for anything that is not a valid
 * record, for the caller to check again with checkRecord, whose reasons show the real text.
 */
export function checkValidFast(value: Uint8Array | null | undefined): Latin1Record | undefined {
  if (value === null || value === undefined || value.length === 0 || !isUtf8(value)) return undefined;
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  let obj: unknown;
  try {
    obj = JSON.parse(b.toString('latin1'));
  } catch {
    return undefined;
  }
  const format = detectFormat(obj);
  if (format === undefined || validateAs(format, obj).length > 0) return undefined;
  return { format, obj: obj as Obj };
}

const HIGH = /[\u0080-\u00ff]/;

/** A string of a Latin1Record as the UTF-8 text it was. */
export function utf8FromLatin1(s: string): string {
  return HIGH.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** A UTF-8 text as it reads inside a Latin1Record (to compare with its strings). */
export function latin1FromUtf8(s: string): string {
  return HIGH.test(s) || /[^\u0000-\u007f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}
