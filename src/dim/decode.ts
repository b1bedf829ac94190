/**
 * One ods_db record → what the dim job does with it: writes (route.ts), a skip, a control record, or a dead letter.
 *
 * Two paths with ONE result. The general path validates the record (validate.ts), decodes it exactly
 * (validated-change.ts) and routes the change (route.ts). In front of it, a single-pass scanner reads the common
 * case — a Maxwell row record (insert, update, delete, bootstrap-*) of flat values, without escapes in its names
 * — straight from the record's bytes: it checks the JSON syntax and the Maxwell fields the validator checks, and
 * builds the dim texts of the rule's columns only. Anything it does not fully understand (a DDL record, an
 * exponent, a nested value, an unknown field, an invalid record, …) is handed to the general path, so a record
 * takes the fast path only when both would give the same result; test/dim/decode.test.ts compares the two.
 *
 * Why: decoding was the largest cost of `rtwh run dim` (UTF-8 to UTF-16 text, a full JSON.parse, the exact-number
 * scan and the key's JSON, for every record); the scanner works on the bytes read as Latin-1 (one byte per
 * character, so positions are byte offsets) and makes a string only for the values a rule keeps.
 */
import { isUtf8 } from 'node:buffer';
import { decodeChanges } from '../formats/validated-change';
import { route, type RouteResult } from './route';
import type { DimRow, DimWrite, TableProcess } from './types';

export type RecordRoute =
  | RouteResult
  /** Not a row change: bootstrap-start/-complete, DDL. */
  | { kind: 'control' }
  /** Not a valid change record: for the dead-letter topic. */
  | { kind: 'invalid'; reason: string };

/**
 * Routes one record value (`key` is the record key, used by the general path for Debezium/Maxwell key columns).
 * `fast: false` forces the general path (tests compare the two).
 */
export function routeRecord(
  value: Uint8Array | null,
  key: Uint8Array | null,
  database: string,
  rules: ReadonlyMap<string, TableProcess>,
  opts: { fast?: boolean } = {},
): RecordRoute[] {
  if (opts.fast !== false && value !== null) {
    const r = fastRoute(value, database, rules);
    if (r !== undefined) return r;
  }
  const decoded = decodeChanges(value, { key: key === null ? null : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8') });
  if (!decoded.ok) return [{ kind: 'invalid', reason: `${decoded.problem}: ${decoded.reasons.join('; ')}` }];
  if (decoded.changes.length === 0) return [{ kind: 'control' }];
  return decoded.changes.map((c) => route(c, database, rules));
}

// ---------------------------------------------------------------------------------------------------------------
// The scanner. Module state (one record at a time, synchronous): the text, the position, and the members of the
// `data` and `old` objects as parallel arrays reused from record to record.

const enum V {
  /** A string without escapes or bytes above 0x7F: its Latin-1 text is its text. */
  Ascii,
  /** A string without escapes with UTF-8 sequences: decoded from the bytes. */
  Utf8,
  /** A string with escapes: JSON.parse of its bytes. */
  Escaped,
  /** A number whose source text is its dim text. */
  Num,
  True,
  False,
  Null,
}

interface Members {
  n: number;
  names: string[];
  start: number[];
  end: number[];
  kind: V[];
}

const data: Members = { n: 0, names: [], start: [], end: [], kind: [] };
const old: Members = { n: 0, names: [], start: [], end: [], kind: [] };

let s = '';
let p = 0;
let buf: Buffer = Buffer.alloc(0);

/** The scanner gives up: the record takes the general path. */
const GIVE_UP = -1;

function ws(): void {
  for (;;) {
    const c = s.charCodeAt(p);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else return;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * A string starting at p (the opening quote); returns its kind and leaves p after the closing quote, or GIVE_UP.
 * Control characters are refused (JSON does not allow them raw) and escapes checked, so JSON.parse of it cannot fail.
 */
function str(): number {
  let c = s.charCodeAt(p);
  if (c !== 0x22) return GIVE_UP;
  p++;
  let kind = V.Ascii;
  for (;;) {
    c = s.charCodeAt(p++);
    if (c === 0x22) return kind;
    if (c < 0x20 || c !== c) return GIVE_UP; // NaN: past the end
    if (c === 0x5c) {
      kind = V.Escaped;
      c = s.charCodeAt(p++);
      if (c === 0x75) {
        for (let i = 0; i < 4; i++) if (!isHex(s.charCodeAt(p++))) return GIVE_UP;
      } else if (!(c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)) return GIVE_UP;
    } else if (c > 0x7f && kind === V.Ascii) kind = V.Utf8;
  }
}

/** A name (object key): a string without escapes and, for simplicity, ASCII (`__proto__` is left to JSON.parse). */
function name(): string | undefined {
  const a = p + 1;
  if (str() !== V.Ascii) return undefined;
  const k = s.slice(a, p - 1);
  return k === '__proto__' ? undefined : k;
}

/** A JSON number without exponent at p; p after it, or GIVE_UP (`-0` too: its dim text is "0"). */
function num(): number {
  const a = p;
  let c = s.charCodeAt(p);
  if (c === 0x2d) c = s.charCodeAt(++p);
  if (c === 0x30) {
    c = s.charCodeAt(++p);
    if (p - a === 2 && c !== 0x2e) return GIVE_UP;
  } else if (c >= 0x31 && c <= 0x39) {
    do c = s.charCodeAt(++p);
    while (c >= 0x30 && c <= 0x39);
  } else return GIVE_UP;
  if (c === 0x2e) {
    c = s.charCodeAt(++p);
    if (!(c >= 0x30 && c <= 0x39)) return GIVE_UP;
    do c = s.charCodeAt(++p);
    while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) return GIVE_UP;
  return V.Num;
}

function literal(word: string, kind: V): number {
  if (!s.startsWith(word, p)) return GIVE_UP;
  p += word.length;
  return kind;
}

/** A flat value (string, number, true, false, null) at p; nested documents give up. */
function value(): number {
  const c = s.charCodeAt(p);
  if (c === 0x22) return str();
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return num();
  if (c === 0x74) return literal('true', V.True);
  if (c === 0x66) return literal('false', V.False);
  if (c === 0x6e) return literal('null', V.Null);
  return GIVE_UP;
}

/** An object of flat values at p into `m`; false to give up. */
function members(m: Members): boolean {
  m.n = 0;
  if (s.charCodeAt(p) !== 0x7b) return false;
  p++;
  ws();
  if (s.charCodeAt(p) === 0x7d) {
    p++;
    return true;
  }
  for (;;) {
    const k = name();
    if (k === undefined) return false;
    ws();
    if (s.charCodeAt(p) !== 0x3a) return false;
    p++;
    ws();
    const a = p;
    const kind = value();
    if (kind === GIVE_UP) return false;
    const i = m.n++;
    m.names[i] = k;
    m.start[i] = a;
    m.end[i] = p;
    m.kind[i] = kind;
    ws();
    const c = s.charCodeAt(p++);
    if (c === 0x7d) return true;
    if (c !== 0x2c) return false;
    ws();
  }
}

/** Member i of m as dim text (null for JSON null); undefined when an escaped string does not parse. */
function text(m: Members, i: number): string | null | undefined {
  const a = m.start[i]!;
  const b = m.end[i]!;
  switch (m.kind[i]!) {
    case V.Ascii:
      return s.slice(a + 1, b - 1);
    case V.Utf8:
      return buf.toString('utf8', a + 1, b - 1);
    case V.Escaped:
      try {
        return JSON.parse(buf.toString('utf8', a, b)) as string;
      } catch {
        return undefined;
      }
    case V.Num:
      return s.slice(a, b);
    case V.True:
      return 'true';
    case V.False:
      return 'false';
    case V.Null:
      return null;
  }
}

/** Index of the LAST member named k (JSON.parse keeps the last of duplicates), or -1. */
function find(m: Members, k: string): number {
  for (let i = m.n - 1; i >= 0; i--) if (m.names[i] === k) return i;
  return -1;
}

const enum F {
  Database = 1,
  Table = 2,
  Type = 4,
  Ts = 8,
  Xid = 16,
  Xoffset = 32,
  Commit = 64,
  Data = 128,
  Old = 256,
}

const REQUIRED = F.Database | F.Table | F.Type | F.Ts | F.Data;

/** An ASCII, escape-free, non-empty string value at p, or undefined. */
function plainString(): string | undefined {
  const a = p + 1;
  if (str() !== V.Ascii || p - a < 2) return undefined;
  return s.slice(a, p - 1);
}

/** Digits only (a whole number >= 0 as JSON writes it), at most 15 of them; -1 otherwise. */
function whole(): number {
  const a = p;
  let c = s.charCodeAt(p);
  if (c === 0x30) {
    p++;
    c = s.charCodeAt(p);
  } else {
    while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++p);
  }
  if (p === a || p - a > 15 || c === 0x2e || c === 0x65 || c === 0x45 || (c >= 0x30 && c <= 0x39)) return -1;
  return Number(s.slice(a, p));
}

/** Epoch seconds of 2001-09-09 .. 2286-11-20 (10 digits), what validate-maxwell accepts for a row's ts. */
const MIN_S = 1e9;
const MAX_S = 1e10;

/** The fast path: the routes of a common Maxwell record, or undefined for the general path. */
export function fastRoute(value: Uint8Array, database: string, rules: ReadonlyMap<string, TableProcess>): RecordRoute[] | undefined {
  if (value.length === 0) return undefined;
  try {
    if (!isUtf8(value)) return undefined;
  } catch {
    return undefined; // a view isUtf8 refuses (shared memory): the general path decodes it
  }
  buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  s = buf.toString('latin1');
  p = 0;
  try {
    return scan(database, rules);
  } finally {
    s = '';
    buf = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

function scan(database: string, rules: ReadonlyMap<string, TableProcess>): RecordRoute[] | undefined {
  let seen = 0;
  let db: string | undefined;
  let table: string | undefined;
  let type: string | undefined;
  ws();
  if (s.charCodeAt(p) !== 0x7b) return undefined;
  p++;
  ws();
  for (;;) {
    const k = name();
    if (k === undefined) return undefined;
    ws();
    if (s.charCodeAt(p) !== 0x3a) return undefined;
    p++;
    ws();
    let f: number;
    switch (k) {
      case 'database':
        f = F.Database;
        if ((db = plainString()) === undefined) return undefined;
        break;
      case 'table':
        f = F.Table;
        if ((table = plainString()) === undefined) return undefined;
        break;
      case 'type':
        f = F.Type;
        if ((type = plainString()) === undefined) return undefined;
        break;
      case 'ts': {
        f = F.Ts;
        const ts = whole();
        if (ts < MIN_S || ts >= MAX_S) return undefined;
        break;
      }
      case 'xid':
        f = F.Xid;
        if (whole() < 0) return undefined;
        break;
      case 'xoffset':
        f = F.Xoffset;
        if (whole() < 0) return undefined;
        break;
      case 'commit':
        f = F.Commit;
        if (literal('true', V.True) === GIVE_UP) return undefined;
        break;
      case 'data':
        f = F.Data;
        if (!members(data)) return undefined;
        break;
      case 'old':
        f = F.Old;
        if (!members(old)) return undefined;
        break;
      default:
        return undefined;
    }
    if (seen & f) return undefined; // a duplicate field: JSON.parse keeps the last; the general path says so
    seen |= f;
    ws();
    const c = s.charCodeAt(p++);
    if (c === 0x7d) break;
    if (c !== 0x2c) return undefined;
    ws();
  }
  ws();
  if (p !== s.length) return undefined;
  if ((seen & REQUIRED) !== REQUIRED) return undefined;
  if ((seen & (F.Commit | F.Xoffset)) === (F.Commit | F.Xoffset)) return undefined;

  const hasOld = (seen & F.Old) !== 0;
  if (type === 'bootstrap-start' || type === 'bootstrap-complete') {
    if (data.n > 0 || hasOld) return undefined;
    return CONTROL;
  }
  if (type !== 'insert' && type !== 'bootstrap-insert' && type !== 'update' && type !== 'delete') return undefined;
  if (hasOld) {
    if (type !== 'update') return undefined;
    for (let i = 0; i < old.n; i++) if (find(data, old.names[i]!) < 0) return undefined;
  }

  // route.ts, on the scanned members.
  if (database !== '*' && db !== database) return OTHER_DATABASE;
  const rule = rules.get(table!);
  if (!rule) return UNCONFIGURED;
  if (data.n === 0) return EMPTY_ROW;
  const pk = rule.sinkPk;
  const at = find(data, pk);
  if (at < 0) return undefined;
  const id = text(data, at);
  if (id === null || id === undefined) return undefined;
  const sinkTable = rule.sinkTable;
  if (type === 'delete') return [{ kind: 'writes', writes: [{ op: 'delete', table: sinkTable, pk, id }] }];
  const row: DimRow = {};
  for (const c of rule.sinkColumns) {
    const i = find(data, c);
    if (i < 0) {
      // route.ts reads data[c]: a name Object.prototype has (toString, constructor) would not read as missing.
      if (c in PROTO) return undefined;
      row[c] = null;
    } else {
      const t = text(data, i);
      if (t === undefined) return undefined;
      row[c] = t;
    }
  }
  const writes: DimWrite[] = [];
  if (hasOld) {
    const j = find(old, pk);
    if (j < 0 && pk in PROTO) return undefined;
    if (j >= 0) {
      const before = text(old, j);
      if (before === undefined) return undefined;
      if (before !== null && before !== id) writes.push({ op: 'delete', table: sinkTable, pk, id: before });
    }
  }
  writes.push({ op: 'upsert', table: sinkTable, pk, id, row });
  return [{ kind: 'writes', writes }];
}

const PROTO: object = {};
const CONTROL: RecordRoute[] = [{ kind: 'control' }];
const OTHER_DATABASE: RecordRoute[] = [{ kind: 'other-database' }];
const UNCONFIGURED: RecordRoute[] = [{ kind: 'unconfigured' }];
const EMPTY_ROW: RecordRoute[] = [{ kind: 'empty' }];
