/**
 * tail's single-pass judge of the common record: a Maxwell row record (insert, update, delete, bootstrap-insert)
 * read straight from its bytes. It checks the JSON syntax and every rule validate-maxwell.ts applies to such a
 * record, and says what the judge needs: the table, the type, whether the text has line breaks. No text is made
 * (the table's name only when it changes), nothing is parsed into objects.
 *
 * It answers only when the general path (checkRecord → detectFormat → validateMaxwell → odsEtl) would say the
 * same: a valid record, and with an ETL database a record that the ETL keeps. Anything else — a field it does not
 * know, a number it would have to convert (`ts` with a fraction or an exponent), a duplicate field, escapes in a
 * name, deep nesting, a rejected record — is GIVE_UP, and the general path judges it with its reasons.
 * test/tail/scan-maxwell.test.ts compares the two over generated and mutated records.
 *
 * Why: JSON.parse of every value (plus the text it needs) was most of tail's CPU time; this reads each byte once.
 */
// MIN_S/MAX_S: the 10-digit epoch seconds validate-maxwell accepts as a row's ts.
import { MAX_S, MIN_S } from '../formats/validate-check';
import { MAXWELL_ROW_TYPES } from '../formats/validate-maxwell';

/** The scanner does not answer: judge the record on the general path. */
export const GIVE_UP = 0;
/** A valid Maxwell row record (kept by the ETL when one was asked for). */
export const VALID = 1;

/** Maxwell row types the scanner knows (validate-maxwell's row types), indexes of `MaxwellScanner.type`. */
export const SCAN_TYPES = MAXWELL_ROW_TYPES;
const T_UPDATE = 1;
const T_DELETE = 2;

const F_DATABASE = 1;
const F_TABLE = 2;
const F_TYPE = 4;
const F_TS = 8;
const F_XID = 16;
const F_XOFFSET = 32;
const F_COMMIT = 64;
const F_DATA = 128;
const F_OLD = 256;
const F_POSITION = 512;
const F_GTID = 1024;
const F_SERVER_ID = 2048;
const F_THREAD_ID = 4096;
const F_SCHEMA_ID = 8192;
const F_PUSH_TS = 16384;
const F_COMMENT = 32768;
const F_PK_COLUMNS = 65536;
const REQUIRED = F_DATABASE | F_TABLE | F_TYPE | F_TS | F_DATA;

/** Nesting the scanner follows inside data/old (JSON columns); deeper records take the general path. */
const MAX_DEPTH = 32;

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Field names by their length (the scanner compares the bytes of the one candidate of that length and first letter). */
const FIELDS: [string, number][] = [
  ['database', F_DATABASE],
  ['table', F_TABLE],
  ['type', F_TYPE],
  ['ts', F_TS],
  ['xid', F_XID],
  ['xoffset', F_XOFFSET],
  ['commit', F_COMMIT],
  ['data', F_DATA],
  ['old', F_OLD],
  ['position', F_POSITION],
  ['gtid', F_GTID],
  ['server_id', F_SERVER_ID],
  ['thread_id', F_THREAD_ID],
  ['schema_id', F_SCHEMA_ID],
  ['push_ts', F_PUSH_TS],
  ['comment', F_COMMENT],
  ['primary_key_columns', F_PK_COLUMNS],
];
/** (length, first byte, second byte) → index into FIELD_NAMES/FIELD_FLAGS + 1; the names differ in those three. */
const FIELD_SLOT = new Map<number, number>();
const FIELD_NAMES: Uint8Array[] = [];
const FIELD_FLAGS: number[] = [];
for (const [name, flag] of FIELDS) {
  const k = fieldKey(name.length, name.charCodeAt(0), name.charCodeAt(1));
  if (FIELD_SLOT.has(k)) throw new Error(`scan-maxwell: two fields share the key of ${name}`);
  FIELD_SLOT.set(k, FIELD_NAMES.length);
  FIELD_NAMES.push(ascii(name));
  FIELD_FLAGS.push(flag);
}
function fieldKey(len: number, c0: number, c1: number): number {
  return (len << 16) | (c0 << 8) | c1;
}

const TYPE_NAMES = SCAN_TYPES.map(ascii);
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

/** Result of the last str(): the content had an escape. */
let escaped = false;
/** A raw line break was seen between tokens (strings cannot hold one). */
let breaks = false;
/** Member names of data and old (start and end of each, as pairs), and whether one had an escape. */
let dataKeys: Int32Array<ArrayBuffer> = new Int32Array(256);
let dataN = 0;
let oldKeys: Int32Array<ArrayBuffer> = new Int32Array(64);
let oldN = 0;
let keysEscaped = false;

/** Whitespace from p (called only when b[p] <= 0x20); the first position after it. */
function ws(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c === 0x20 || c === 0x09) p++;
    else if (c === 0x0a || c === 0x0d) {
      breaks = true;
      p++;
    } else break;
  }
  return p;
}

/**
 * A string whose opening quote is at p-1 (the caller checked it): the position after its closing quote, or -1
 * when it is not a valid JSON string. `escaped` says whether its content has an escape.
 */
function str(b: Uint8Array, p: number, end: number): number {
  let esc = false;
  for (;;) {
    if (p >= end) return -1;
    const c = b[p++]!;
    // Most bytes of a record: neither a quote, a backslash nor a control character.
    if (c > 0x22 && c !== 0x5c) continue;
    if (c === 0x22) break;
    if (c === 0x5c) {
      esc = true;
      if (p >= end) return -1;
      const e = b[p++]!;
      if (e === 0x75) {
        if (p + 4 > end || !isHex(b[p]!) || !isHex(b[p + 1]!) || !isHex(b[p + 2]!) || !isHex(b[p + 3]!)) return -1;
        p += 4;
      } else if (!(e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) return -1;
    } else if (c < 0x20) return -1;
  }
  escaped = esc;
  return p;
}

/** A number at p (full JSON grammar): the position after it, or -1. */
function num(b: Uint8Array, p: number, end: number): number {
  let c = b[p];
  if (c === 0x2d) c = b[++p];
  if (p >= end) return -1;
  if (c === 0x30) p++;
  else if (c !== undefined && c >= 0x31 && c <= 0x39) {
    p++;
    while (p < end && (c = b[p]!) >= 0x30 && c <= 0x39) p++;
  } else return -1;
  if (p < end && b[p] === 0x2e) {
    const d = ++p;
    while (p < end && (c = b[p]!) >= 0x30 && c <= 0x39) p++;
    if (p === d) return -1;
  }
  if (p < end && (b[p] === 0x65 || b[p] === 0x45)) {
    p++;
    if (p < end && (b[p] === 0x2b || b[p] === 0x2d)) p++;
    const d = p;
    while (p < end && (c = b[p]!) >= 0x30 && c <= 0x39) p++;
    if (p === d) return -1;
  }
  return p;
}

/** Value of the last whole(). */
let wholeValue = 0;

/**
 * A whole number >= 0 written as plain digits (what Number.isInteger(v) && v >= 0 accepts for certain, up to 15
 * digits): the position after it, or -1 (including forms JSON.parse would also read as whole, like `1.0`: those
 * take the general path).
 */
function whole(b: Uint8Array, p: number, end: number): number {
  const a = p;
  let n = 0;
  if (p < end && b[p] === 0x30) p++;
  else {
    while (p < end) {
      const c = b[p]!;
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + (c - 0x30);
      p++;
    }
  }
  if (p === a || p - a > 15) return -1;
  if (p < end) {
    const c = b[p]!;
    if (c === 0x2e || c === 0x65 || c === 0x45 || (c >= 0x30 && c <= 0x39)) return -1;
  }
  wholeValue = n;
  return p;
}

function literal(b: Uint8Array, p: number, end: number, word: Uint8Array): number {
  if (p + word.length > end) return -1;
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return -1;
  return p + word.length;
}

/** Any JSON value at p, nested up to MAX_DEPTH: the position after it, or -1. */
function value(b: Uint8Array, p: number, end: number, depth: number): number {
  const c = b[p];
  if (c === 0x22) return str(b, p + 1, end);
  if (c === 0x7b) return depth < MAX_DEPTH ? object(b, p, end, depth + 1, -1) : -1;
  if (c === 0x5b) return depth < MAX_DEPTH ? array(b, p, end, depth + 1) : -1;
  if (c === 0x74) return literal(b, p, end, TRUE);
  if (c === 0x66) return literal(b, p, end, FALSE);
  if (c === 0x6e) return literal(b, p, end, NULL);
  return p < end ? num(b, p, end) : -1;
}

/**
 * An object whose `{` is at p: the position after its `}`, or -1. `note` 0 notes its member names as data's,
 * 1 as old's, -1 not at all.
 */
function object(b: Uint8Array, p: number, end: number, depth: number, note: number): number {
  p++;
  if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
  if (p < end && b[p] === 0x7d) return p + 1;
  for (;;) {
    if (p >= end || b[p] !== 0x22) return -1;
    const a = p + 1;
    p = str(b, a, end);
    if (p < 0) return -1;
    if (note >= 0) noteKey(note, a, p - 1);
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    if (p >= end || b[p] !== 0x3a) return -1;
    p++;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    p = value(b, p, end, depth);
    if (p < 0) return -1;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    if (p >= end) return -1;
    const c = b[p++];
    if (c === 0x7d) return p;
    if (c !== 0x2c) return -1;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
  }
}

function noteKey(which: number, a: number, e: number): void {
  if (escaped) keysEscaped = true;
  if (which === 0) {
    const i = dataN++ * 2;
    if (i + 2 > dataKeys.length) dataKeys = grow(dataKeys);
    dataKeys[i] = a;
    dataKeys[i + 1] = e;
  } else {
    const i = oldN++ * 2;
    if (i + 2 > oldKeys.length) oldKeys = grow(oldKeys);
    oldKeys[i] = a;
    oldKeys[i + 1] = e;
  }
}

/** An array whose `[` is at p (of strings only when `strings`): the position after its `]`, or -1. */
function array(b: Uint8Array, p: number, end: number, depth: number, strings = false): number {
  p++;
  if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
  if (p < end && b[p] === 0x5d) return p + 1;
  for (;;) {
    if (strings) p = p < end && b[p] === 0x22 ? str(b, p + 1, end) : -1;
    else p = value(b, p, end, depth);
    if (p < 0) return -1;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    if (p >= end) return -1;
    const c = b[p++];
    if (c === 0x5d) return p;
    if (c !== 0x2c) return -1;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
  }
}

/** b[a, e) equals `word`. */
function bytesAre(b: Uint8Array, a: number, e: number, word: Uint8Array): boolean {
  if (e - a !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (b[a + i] !== word[i]) return false;
  return true;
}

/** The field whose name is b[a, e) (no escapes), or 0 when the scanner knows no such field. */
function field(b: Uint8Array, a: number, e: number): number {
  const n = e - a;
  if (n < 2) return 0;
  const k = FIELD_SLOT.get(fieldKey(n, b[a]!, b[a + 1]!));
  return k !== undefined && bytesAre(b, a, e, FIELD_NAMES[k]!) ? FIELD_FLAGS[k]! : 0;
}

/** Every member of old names a member of data (validate-maxwell's rule), compared as bytes without escapes. */
function oldWithinData(b: Uint8Array): boolean {
  if (keysEscaped) return false;
  outer: for (let i = 0; i < oldN * 2; i += 2) {
    const a = oldKeys[i]!;
    const len = oldKeys[i + 1]! - a;
    for (let j = 0; j < dataN * 2; j += 2) {
      const d = dataKeys[j]!;
      if (dataKeys[j + 1]! - d !== len) continue;
      let k = 0;
      while (k < len && b[a + k] === b[d + k]) k++;
      if (k === len) continue outer;
    }
    return false;
  }
  return true;
}

export class MaxwellScanner {
  /** Results of the last VALID scan: index into SCAN_TYPES, raw line breaks, the table's bytes, the type's token. */
  type = 0;
  breaks = false;
  tableStart = 0;
  tableEnd = 0;
  /** [typeStart, typeEnd): the `type` value with its quotes (the ETL rewrites `"bootstrap-insert"` there). */
  typeStart = 0;
  typeEnd = 0;

  private lastTableBytes: Uint8Array = new Uint8Array(0);
  private lastTable = '';

  /**
   * Judges `b[start, end)`; `db` (UTF-8 bytes) is the ETL database, or null for plain validation. The bytes must
   * be valid UTF-8 (the caller checked: bytes above 0x7F are only looked at as string content here).
   */
  scan(b: Uint8Array, start: number, end: number, db: Uint8Array | null): number {
    breaks = false;
    dataN = 0;
    oldN = 0;
    keysEscaped = false;
    let p = start;
    let seen = 0;
    let type = -1;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    if (p >= end || b[p] !== 0x7b) return GIVE_UP;
    p++;
    if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    for (;;) {
      if (p >= end || b[p] !== 0x22) return GIVE_UP;
      const a = p + 1;
      p = str(b, a, end);
      if (p < 0 || escaped) return GIVE_UP;
      const f = field(b, a, p - 1);
      // An unknown field may change the format detectFormat sees; a duplicate is read by JSON.parse as the last.
      if (f === 0 || (seen & f) !== 0) return GIVE_UP;
      seen |= f;
      if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
      if (p >= end || b[p] !== 0x3a) return GIVE_UP;
      p++;
      if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
      if (p >= end) return GIVE_UP;
      const c = b[p]!;
      const v = p + 1;
      switch (f) {
        case F_DATABASE:
          if (c !== 0x22 || (p = str(b, v, end)) < 0 || p - 1 === v) return GIVE_UP;
          if (db !== null && (escaped || !bytesAre(b, v, p - 1, db))) return GIVE_UP;
          break;
        case F_TABLE:
          if (c !== 0x22 || (p = str(b, v, end)) < 0 || p - 1 === v || escaped) return GIVE_UP;
          this.tableStart = v;
          this.tableEnd = p - 1;
          break;
        case F_TYPE:
          if (c !== 0x22 || (p = str(b, v, end)) < 0 || escaped) return GIVE_UP;
          for (let t = 0; t < TYPE_NAMES.length; t++) {
            if (bytesAre(b, v, p - 1, TYPE_NAMES[t]!)) {
              type = t;
              break;
            }
          }
          if (type < 0) return GIVE_UP;
          this.typeStart = v - 1;
          this.typeEnd = p;
          break;
        case F_TS:
          if ((p = whole(b, p, end)) < 0 || wholeValue < MIN_S || wholeValue >= MAX_S) return GIVE_UP;
          break;
        case F_XID:
        case F_XOFFSET:
        case F_SERVER_ID:
        case F_THREAD_ID:
        case F_SCHEMA_ID:
        case F_PUSH_TS:
          if ((p = whole(b, p, end)) < 0) return GIVE_UP;
          break;
        case F_COMMIT:
          // Maxwell writes commit only as true; false is a reason on the general path.
          if ((p = literal(b, p, end, TRUE)) < 0) return GIVE_UP;
          break;
        case F_POSITION:
          if (c !== 0x22 || (p = str(b, v, end)) < 0 || p - 1 === v) return GIVE_UP;
          break;
        case F_GTID:
          if (c === 0x6e) p = literal(b, p, end, NULL);
          else if (c !== 0x22 || (p = str(b, v, end)) < 0 || p - 1 === v) return GIVE_UP;
          if (p < 0) return GIVE_UP;
          break;
        case F_COMMENT:
          if (c !== 0x22 || (p = str(b, v, end)) < 0) return GIVE_UP;
          break;
        case F_PK_COLUMNS:
          if (c !== 0x5b || (p = array(b, p, end, 1, true)) < 0) return GIVE_UP;
          break;
        case F_DATA:
          if (c !== 0x7b || (p = object(b, p, end, 1, 0)) < 0) return GIVE_UP;
          break;
        case F_OLD:
          if (c !== 0x7b || (p = object(b, p, end, 1, 1)) < 0) return GIVE_UP;
          break;
      }
      if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
      if (p >= end) return GIVE_UP;
      const after = b[p++];
      if (after === 0x7d) break;
      if (after !== 0x2c) return GIVE_UP;
      if (p < end && b[p]! <= 0x20) p = ws(b, p, end);
    }
    if (p < end) p = ws(b, p, end);
    if (p !== end) return GIVE_UP;
    if ((seen & REQUIRED) !== REQUIRED) return GIVE_UP;
    // A row with commit:true is the last of its transaction and carries no xoffset (a reason on the general path).
    if ((seen & (F_COMMIT | F_XOFFSET)) === (F_COMMIT | F_XOFFSET)) return GIVE_UP;
    if ((seen & F_OLD) !== 0 && (type !== T_UPDATE || !oldWithinData(b))) return GIVE_UP;
    // The ETL keeps no deletes and no empty rows: the general path says so.
    if (db !== null && (type === T_DELETE || dataN === 0)) return GIVE_UP;
    this.type = type;
    this.breaks = breaks;
    return VALID;
  }

  /** The table of the last VALID scan of `b` as text (the same string as long as the name does not change). */
  table(b: Uint8Array): string {
    const a = this.tableStart;
    const n = this.tableEnd - a;
    const last = this.lastTableBytes;
    if (last.length === n) {
      let i = 0;
      while (i < n && b[a + i] === last[i]) i++;
      if (i === n) return this.lastTable;
    }
    // A copy (Buffer#slice would be a view of the record's memory).
    const copy = new Uint8Array(n);
    for (let i = 0; i < n; i++) copy[i] = b[a + i]!;
    this.lastTableBytes = copy;
    this.lastTable = Buffer.from(copy.buffer, 0, n).toString('utf8');
    return this.lastTable;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
