/**
 * The record envelope `rtwh tail` prints, a stable contract (like rpk's JSON):
 *
 *   {"topic":"ods_db","partition":0,"offset":17,"timestamp":1736821234000,"key":"…","headers":{},"value":{…}}
 *
 * `value` is the record's JSON when it is JSON, else a string (invalid UTF-8 shown with U+FFFD), null for a
 * tombstone. The JSON is spliced in as its original text, never parsed into doubles and printed again, so big
 * integers and decimals come out with every digit. `--meta-only` leaves `value` out. For records read from a file
 * (--input), topic is the file name, partition 0, offset the line number from 0, timestamp null.
 */
import type { Headers } from '../bus/types.ts';
import { utf8Write } from '../formats/utf8.ts';
import { INSERT_TOKEN, retyped } from './retype.ts';

export interface EnvelopeRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  key: Buffer | null;
  headers: Headers;
  value: Buffer | null;
}

/** What the value is, as found by the checker: JSON text, other text, or no value. */
export interface ValueView {
  /** The value as text (UTF-8 decoded; replacement characters when it was not UTF-8). */
  text: string | null;
  /** `text` is valid JSON and can be spliced in as is. */
  json: boolean;
  /** Whether the JSON has line breaks, when the caller knows (else the bytes are searched). */
  breaks?: boolean;
  /** --etl's edit of a bootstrap-insert (retype.ts): the bytes [start, end) of the value read `"insert"` instead. */
  retype?: [start: number, end: number];
}

const topicHeads = new Map<string, string>();

function head(topic: string): string {
  let h = topicHeads.get(topic);
  if (h === undefined) {
    h = `{"topic":${JSON.stringify(topic)},"partition":`;
    if (topicHeads.size < 1000) topicHeads.set(topic, h);
  }
  return h;
}

function keyJson(key: Buffer | null): string {
  return key === null ? 'null' : JSON.stringify(key.toString('utf8'));
}

const NEWLINE = /[\r\n]/g;

/** The value as JSON text on one line: raw text when JSON (line breaks between tokens become spaces), else a string. */
export function valueJson(v: ValueView): string {
  if (v.text === null) return 'null';
  if (!v.json) return JSON.stringify(v.text);
  // A raw line break can only sit between tokens in valid JSON (strings escape theirs), so a space is equivalent.
  return v.text.indexOf('\n') < 0 && v.text.indexOf('\r') < 0 ? v.text.trim() : v.text.replace(NEWLINE, ' ').trim();
}

/**
 * Output assembled as bytes: the value goes from the fetched bytes to stdout untouched (no decode/encode round
 * trip, which cost more than parsing at 500k records/s). A new buffer after each take(): the last one may still be
 * queued in stdout.
 */
export class ByteOut {
  private buf: Buffer;
  private len = 0;

  /** `sizeHint`: the bytes this batch will most likely take (growing means copying). */
  constructor(sizeHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(sizeHint);
  }

  get length(): number {
    return this.len;
  }

  /** Room for n more bytes (the buffer may move: take raw() after). */
  reserve(n: number): void {
    this.ensure(n);
  }

  /** The buffer itself, for writers that fill it directly and then seek() to their end. */
  raw(): Buffer {
    return this.buf;
  }

  seek(len: number): void {
    this.len = len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  text(s: string): void {
    this.ensure(s.length * 3);
    this.len += utf8Write(this.buf, s, this.len);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    if (b.length < 24) {
      // set() costs more than a short loop for the constant pieces of an envelope.
      const buf = this.buf;
      let o = this.len;
      for (let i = 0; i < b.length; i++) buf[o++] = b[i]!;
      this.len = o;
      return;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.len);
    this.buf = Buffer.allocUnsafe(1 << 16);
    this.len = 0;
    return out;
  }
}

function hasLineBreak(b: Buffer): boolean {
  return b.indexOf(0x0a) >= 0 || b.indexOf(0x0d) >= 0;
}

const CLOSE = new Uint8Array([0x7d, 0x0a]);
const VALUE_KEY = Buffer.from(',"value":');
const TIMESTAMP_KEY = Buffer.from(',"timestamp":');
const KEY_KEY = Buffer.from(',"key":');
const NULL = Buffer.from('null');
const NO_HEADERS = Buffer.from(',"headers":{}');

const prefixes = new Map<string, Buffer[]>();

/** `{"topic":"ods_db","partition":3,"offset":` as bytes, made once per topic and partition. */
function prefix(topic: string, partition: number): Buffer {
  let list = prefixes.get(topic);
  if (list === undefined) {
    list = [];
    if (prefixes.size < 1000) prefixes.set(topic, list);
  }
  let b = partition >= 0 && partition < 10_000 ? list[partition] : undefined;
  if (b === undefined) {
    b = Buffer.from(`${head(topic)}${partition},"offset":`, 'utf8');
    if (partition >= 0 && partition < 10_000) list[partition] = b;
  }
  return b;
}

function copyInto(buf: Buffer, o: number, b: Uint8Array): number {
  // For the short constant pieces a loop beats set() per call.
  for (let i = 0; i < b.length; i++) buf[o++] = b[i]!;
  return o;
}

function digitsInto(buf: Buffer, o: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let e = o + digits;
  const end = e;
  do {
    const q = Math.floor(n / 10);
    buf[--e] = 0x30 + (n - q * 10);
    n = q;
  } while (n > 0);
  return end;
}

/**
 * Appends one envelope line (with its newline) to `out`. A JSON value (valid UTF-8, checked) is copied as bytes;
 * the rest is written straight into the buffer (this runs once per record: 500k times a second).
 */
export function appendEnvelope(out: ByteOut, r: EnvelopeRecord, v: ValueView, metaOnly: boolean): void {
  const key = r.key;
  const value = r.value;
  const head = prefix(r.topic, r.partition);
  out.reserve(head.length + ROOM + (key === null ? 4 : key.length * 2 + 2) + (value === null ? 4 : value.length));
  let buf = out.raw();
  let o = copyInto(buf, out.length, head);
  o = Number.isSafeInteger(r.offset) && r.offset >= 0 ? digitsInto(buf, o, r.offset) : o + buf.write(String(r.offset), o, 'latin1');
  o = copyInto(buf, o, TIMESTAMP_KEY);
  const ts = r.timestamp;
  if (ts === null) o = copyInto(buf, o, NULL);
  else if (ts === lastTs) {
    // Records of a batch mostly share their timestamp: its digits are copied, not computed again.
    for (let i = 0; i < lastTsLen; i++) buf[o++] = lastTsDigits[i]!;
  } else if (Number.isSafeInteger(ts) && ts >= 0) {
    const e = digitsInto(buf, o, ts);
    // A safe integer has at most 16 digits: they always fit.
    lastTsLen = e - o;
    for (let i = 0; i < lastTsLen; i++) lastTsDigits[i] = buf[o + i]!;
    lastTs = ts;
    o = e;
  } else o += buf.write(String(ts), o, 'latin1');
  o = copyInto(buf, o, KEY_KEY);
  if (key === null) o = copyInto(buf, o, NULL);
  else {
    // Printable ASCII is escaped byte by byte in one pass (record keys are often JSON: Maxwell's {"database":…});
    // anything else goes through JSON.stringify.
    const start = o;
    buf[o++] = 0x22;
    let plain = true;
    for (let i = 0; i < key.length; i++) {
      const x = key[i]!;
      if (x < 0x20 || x >= 0x7f) {
        plain = false;
        break;
      }
      if (x === 0x22 || x === 0x5c) buf[o++] = 0x5c;
      buf[o++] = x;
    }
    if (plain) buf[o++] = 0x22;
    else {
      out.seek(start);
      out.text(keyJson(key));
      o = out.length;
      // text() may have moved the buffer: room for the rest again.
      out.reserve(ROOM + (value === null ? 4 : value.length));
      buf = out.raw();
    }
  }
  let empty = true;
  for (const _ in r.headers) {
    empty = false;
    break;
  }
  if (!empty) {
    out.seek(o);
    out.text(`,"headers":${JSON.stringify(r.headers)}`);
    out.reserve(16 + (value === null ? 4 : value.length));
    return appendValue(out, value, v, metaOnly);
  }
  // The common case written straight into the reserved room (the constant pieces and numbers fit in ROOM).
  o = copyInto(buf, o, NO_HEADERS);
  if (metaOnly) {
    out.seek(copyInto(buf, o, CLOSE));
    return;
  }
  o = copyInto(buf, o, VALUE_KEY);
  if (value === null) o = copyInto(buf, o, NULL);
  else if (v.json && !(v.breaks ?? hasLineBreak(value))) {
    const rt = v.retype;
    if (rt === undefined) {
      buf.set(value, o);
      o += value.length;
    } else {
      // The edited value in three pieces, straight into the room reserved for the value (it only gets shorter).
      o += value.copy(buf, o, 0, rt[0]);
      o = copyInto(buf, o, INSERT_TOKEN);
      o += value.copy(buf, o, rt[1]);
    }
  } else {
    out.seek(o);
    out.text(valueJson({ text: v.text ?? textOf(value, v), json: v.json }));
    out.bytes(CLOSE);
    return;
  }
  out.seek(copyInto(buf, o, CLOSE));
}

/** The value as text, with --etl's edit when it has one. */
function textOf(value: Buffer, v: ValueView): string {
  return (v.retype === undefined ? value : retyped(value, v.retype[0], v.retype[1])).toString('utf8');
}

function appendValue(out: ByteOut, value: Buffer | null, v: ValueView, metaOnly: boolean): void {
  if (!metaOnly) {
    out.bytes(VALUE_KEY);
    if (value === null) out.bytes(NULL);
    else if (v.json && v.retype === undefined && !(v.breaks ?? hasLineBreak(value))) out.bytes(value);
    else out.text(valueJson({ text: v.text ?? textOf(value, v), json: v.json }));
  }
  out.bytes(CLOSE);
}

/** Room reserved for an envelope's constant pieces and numbers (besides its head, key and value). */
const ROOM = 128;

/** The last timestamp written and its digits (NaN: none yet; equal to no timestamp, -1 included). */
let lastTs = Number.NaN;
const lastTsDigits = new Uint8Array(20);
let lastTsLen = 0;

/** One envelope pretty-printed (2-space indent); the value is re-indented with every number kept as written. */
export function envelopePretty(r: EnvelopeRecord, v: ValueView, metaOnly: boolean): string {
  const env: Record<string, unknown> = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    headers: r.headers,
  };
  if (metaOnly) return JSON.stringify(env, null, 2);
  const marker = '\u0000value\u0000';
  env.value = marker;
  const text = JSON.stringify(env, null, 2);
  let value: string;
  if (v.text !== null && v.json) {
    try {
      value = JSON.stringify(rawNumbers(v.text), null, 2).replace(/\n/g, '\n  ');
    } catch {
      // Nesting too deep to re-indent: the one-line form is still exact.
      value = valueJson(v);
    }
  } else value = valueJson(v);
  return text.replace(JSON.stringify(marker), () => value);
}

/** Parsed JSON whose numbers print back as their original text (JSON.rawJSON). */
function rawNumbers(text: string): unknown {
  const raw = (JSON as unknown as { rawJSON?: (s: string) => unknown }).rawJSON;
  if (!raw) throw new Error('JSON.rawJSON is not available');
  return JSON.parse(text, function keep(_k: string, v: unknown, ctx?: { source?: string }): unknown {
    return typeof v === 'number' && ctx?.source !== undefined ? raw(ctx.source) : v;
  } as (this: unknown, key: string, value: unknown) => unknown);
}
