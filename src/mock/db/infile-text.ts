/**
 * LOAD DATA LOCAL text of generated rows, written straight into bytes: the same text as joining
 * `infileField` (src/store/mysql.ts) of each value with tabs and ending each line with \n, then encoding it
 * as UTF-8, without the string concatenation and the encoding pass (building a day's text as strings was a
 * quarter of the client's time in --fast mode).
 *
 * Strings are escaped and UTF-8 encoded in one pass over their characters (most are short, and many are
 * Chinese: calling TextEncoder per value costs more than the loop).
 */
import { ExactDecimal, type Row } from '../../formats/change';
import { infileField } from '../../store/mysql';

/** A growing byte buffer. */
export class InfileText {
  private buf: Uint8Array;
  private len = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.len;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Rows whose values are in `columns`' order (the table's), one line each. */
  addRows(rows: readonly Row[], columns: readonly string[]): void {
    const n = columns.length;
    for (const row of rows) {
      for (let i = 0; i < n; i++) {
        if (i > 0) this.byte(9);
        this.value(row[columns[i]!]);
      }
      this.byte(10);
    }
  }

  private byte(c: number): void {
    if (this.len === this.buf.length) this.room(1);
    this.buf[this.len++] = c;
  }

  private value(v: Row[string] | undefined): void {
    if (typeof v === 'string') return this.text(v);
    if (v === null || v === undefined) {
      this.room(2);
      this.buf[this.len++] = 92; // \N
      this.buf[this.len++] = 78;
      return;
    }
    if (typeof v === 'number' && Number.isSafeInteger(v)) return this.ascii(String(v));
    if (v instanceof ExactDecimal && DECIMAL_RE.test(v.text)) return this.ascii(v.text);
    // anything rarer (a bigint, a float, bytes; or a value MySQL cannot take, which infileField refuses)
    return this.text(infileField(v));
  }

  /** Text known to be plain ASCII with nothing to escape. */
  private ascii(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.len;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.len = p;
  }

  /** A string value, escaped as infileField does (NUL, tab, newline, carriage return, backslash), as UTF-8. */
  private text(s: string): void {
    const n = s.length;
    // at most 3 bytes per UTF-16 unit (an escape takes 2, a surrogate pair 4 for two units)
    this.room(3 * n);
    const b = this.buf;
    let p = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c > 13 && c !== 92) b[p++] = c;
        else {
          const e = ESCAPED[c];
          if (e === undefined) b[p++] = c;
          else {
            b[p++] = 92;
            b[p++] = e;
          }
        }
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
        b[p++] = 0xf0 | (cp >> 18);
        b[p++] = 0x80 | ((cp >> 12) & 0x3f);
        b[p++] = 0x80 | ((cp >> 6) & 0x3f);
        b[p++] = 0x80 | (cp & 0x3f);
      } else {
        // a lone surrogate becomes U+FFFD, as Buffer.from and TextEncoder write it
        const u = c >= 0xd800 && c < 0xe000 ? 0xfffd : c;
        b[p++] = 0xe0 | (u >> 12);
        b[p++] = 0x80 | ((u >> 6) & 0x3f);
        b[p++] = 0x80 | (u & 0x3f);
      }
    }
    this.len = p;
  }

  /** The bytes so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** The letter after the backslash for the ASCII codes LOAD DATA text escapes (as infileField does). */
const ESCAPED: (number | undefined)[] = [];
ESCAPED[0] = 0x30; // \0
ESCAPED[9] = 0x74; // \t
ESCAPED[10] = 0x6e; // \n
ESCAPED[13] = 0x72; // \r
ESCAPED[92] = 92; // \\
