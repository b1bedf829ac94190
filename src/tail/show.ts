/**
 * A rejected record as it is shown after its reason on stderr: one line, safe for a terminal, every byte
 * accounted for.
 *
 *   JSON            its text, line breaks between tokens as spaces (numbers exactly as written)
 *   other text      a JSON string literal: "not json at all"
 *   invalid UTF-8   the same, with each byte that breaks UTF-8 as \xNN: "{\xff}"
 *
 * C0/C1 controls, DEL and U+2028/2029 only ever appear escaped (inside JSON strings \uXXXX means the same), so a
 * record can neither break the line nor send terminal codes. Whole unless `max` is given (a terminal): then cut
 * at `max` characters with a note of the record's size.
 */
import { formatCount } from '../cli/progress.ts';
import { firstInvalidUtf8 } from '../formats/validate.ts';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A JSON string literal's inside, for text that is not JSON. */
function quotedInside(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** The bytes as a quoted string, valid UTF-8 as text and every other byte as \xNN. */
function bytesLiteral(b: Buffer): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const rest = b.subarray(i);
    const bad = firstInvalidUtf8(rest);
    const good = bad < 0 ? rest.length : bad;
    if (good > 0) out += quotedInside(rest.subarray(0, good).toString('utf8'));
    if (bad < 0) break;
    out += `\\x${rest[bad]!.toString(16).padStart(2, '0')}`;
    i += bad + 1;
  }
  return `"${out}"`;
}

/**
 * The record's value on one line. `json`: the judge found it to be UTF-8 JSON (else it is checked here for UTF-8).
 * `max`: at most this many characters, then `… (N bytes in all)`; null = whole.
 */
export function recordLine(value: Buffer, json: boolean, max: number | null): string {
  // For a terminal, a long record is shown from its first bytes only (a 50 MB record is not copied and escaped
  // whole to show 200 characters). 3 × max + 3 bytes give more than `max` characters (a character takes at most 3
  // bytes per UTF-16 unit, escapes only add) before the end, where a cut through a character spoils up to 12
  // characters — unless runs of whitespace collapsed: then, rarely, the whole record is shown as before.
  const valid = json || firstInvalidUtf8(value) < 0;
  const render = (b: Buffer): string => {
    // Raw tabs and line breaks in valid JSON can only sit between tokens: spaces there mean the same.
    if (json) return escapeUnsafe(b.toString('utf8').replace(/[\t\r\n]+/g, ' ').trim());
    if (valid) return escapeUnsafe(`"${quotedInside(b.toString('utf8'))}"`);
    return escapeUnsafe(bytesLiteral(b));
  };
  const head = max !== null && value.length > 3 * max + 3 ? value.subarray(0, 3 * max + 3) : value;
  let text = render(head);
  if (head !== value && text.length <= max! + 12) text = render(value);
  if (max === null || text.length <= max) return text;
  let cut = Math.max(1, max);
  // Never half a surrogate pair.
  const c = text.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return `${text.slice(0, cut)}… (${formatCount(value.length)} bytes in all)`;
}
