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
import { isAscii, isUtf8 } from 'node:buffer';
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
 * `fast: false` forces the general path (tests compare the two). `onUntyped`: see decodeChanges.
 */
export function routeRecord(
  value: Uint8Array | null,
  key: Uint8Array | null,
  database: string,
  rules: ReadonlyMap<string, TableProcess>,
  opts: { fast?: boolean; onUntyped?: (database: string, table: string) => void } = {},
): RecordRoute[] {
  if (opts.fast !== false && value !== null) {
    const r = fastRoute(value, database, rules);
    if (r !== undefined) return r;
  }
  const decoded = decodeChanges(value, {
    key: key === null ? null : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8'),
    ...(opts.onUntyped ? { onUntyped: opts.onUntyped } : {}),
  });
  if (!decoded.ok) return [{ kind: 'invalid', reason: decoded.reasons.length > 0 ? `${decoded.problem}: ${decoded.reasons.join('; ')}` : decoded.problem }];
  if (decoded.changes.length === 0) return [{ kind: 'control' }];
  return decoded.changes.map((c) => route(c, database, rules));
}

// ---------------------------------------------------------------------------------------------------------------
// The scanner. It reads the record as Latin-1 text (one character per byte: positions are byte offsets, and every
// JSON structure character is ASCII) and hashes names as it passes them, so it compares numbers, not strings, to
// find a field or a sink column, and makes strings only for the values a rule keeps.

const enum V {
  /** A string without escapes or bytes above 0x7F: its Latin-1 text is its text. */
  Ascii,
  /** A string without escapes with UTF-8 sequences: decoded from the bytes. */
  Utf8,
  /** A string without escapes that may have UTF-8 sequences (the record has some): looked at when kept. */
  Plain,
  /** A string with escapes: JSON.parse of its bytes. */
  Escaped,
  /** A number whose source text is its dim text. */
  Num,
  True,
  False,
  Null,
}

/** The scanner gives up: the record takes the general path. */
const GIVE_UP = -1;
/** A slot no member filled. */
const MISSING = -1;

function hashOf(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  return h;
}

/** Names and field values the scanner knows, by hash. */
const H_DATABASE = hashOf('database');
const H_TABLE = hashOf('table');
const H_TYPE = hashOf('type');
const H_TS = hashOf('ts');
const H_XID = hashOf('xid');
const H_XOFFSET = hashOf('xoffset');
const H_COMMIT = hashOf('commit');
const H_DATA = hashOf('data');
const H_OLD = hashOf('old');
const H_PROTO = hashOf('__proto__');

const enum T {
  Insert,
  BootstrapInsert,
  Update,
  Delete,
  BootstrapStart,
  BootstrapComplete,
}
const TYPES: readonly [string, T][] = [
  ['insert', T.Insert],
  ['bootstrap-insert', T.BootstrapInsert],
  ['update', T.Update],
  ['delete', T.Delete],
  ['bootstrap-start', T.BootstrapStart],
  ['bootstrap-complete', T.BootstrapComplete],
];
const TYPE_HASHES = TYPES.map(([t]) => hashOf(t));

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

/** Epoch seconds of 2001-09-09 .. 2286-11-20 (10 digits), what validate-maxwell accepts for a row's ts. */
const MIN_S = 1e9;
const MAX_S = 1e10;

/** What a rule needs from `data`: its distinct sink columns (and key), each a slot. */
interface Plan {
  sinkColumns: readonly string[];
  pk: string;
  names: string[];
  hashes: Int32Array;
  /** sinkColumns[j] → slot. */
  colSlot: Int32Array;
  pkSlot: number;
  /** The slot's name is a member of Object.prototype (route.ts would not read it as missing). */
  inherited: boolean[];
}

const PROTO: object = {};
const plans = new WeakMap<TableProcess, Plan>();

/** The plan is still the rule's: a rule object changed in place (config.ts never does) gets a new plan. */
function current(plan: Plan, rule: TableProcess): boolean {
  return plan.sinkColumns === rule.sinkColumns && plan.pk === rule.sinkPk && plan.colSlot.length === rule.sinkColumns.length;
}

function planOf(rule: TableProcess): Plan {
  const had = plans.get(rule);
  if (had && current(had, rule)) return had;
  const names: string[] = [];
  const slot = (c: string) => {
    let k = names.indexOf(c);
    if (k < 0) k = names.push(c) - 1;
    return k;
  };
  const colSlot = Int32Array.from(rule.sinkColumns.map(slot));
  const pkSlot = slot(rule.sinkPk);
  const plan: Plan = { sinkColumns: rule.sinkColumns, pk: rule.sinkPk, names, hashes: Int32Array.from(names.map(hashOf)), colSlot, pkSlot, inherited: names.map((n) => n in PROTO) };
  plans.set(rule, plan);
  return plan;
}

const EMPTY = Buffer.alloc(0);
const CONTROL_CHAR = /[\u0000-\u001f]/;

class Scanner {
  s = '';
  p = 0;
  /** Hash of the content of the last string scanned. */
  h = 0;
  buf: Buffer = EMPTY;
  /** The record has no backslash and no control character: a string ends at the next quote. */
  plain = false;
  /** The record is ASCII. */
  ascii = false;
  lastRule: TableProcess | undefined;
  lastPlan: Plan | undefined;
  /** The slots of the current plan: value start, end and kind of the last member of that name. */
  slotStart = new Int32Array(16);
  slotEnd = new Int32Array(16);
  slotKind = new Int32Array(16);
  /** Names of data and old members (start, length, hash), for "old names only data columns". */
  dataN = 0;
  dataKey = new Int32Array(64);
  dataLen = new Int32Array(64);
  dataHash = new Int32Array(64);
  oldN = 0;
  oldKey = new Int32Array(16);
  oldLen = new Int32Array(16);
  oldHash = new Int32Array(16);
  /** The key column's value in old (start, end, kind; kind MISSING when old has none). */
  oldPkStart = 0;
  oldPkEnd = 0;
  oldPkKind = MISSING;
  lastTable = '';

  ws(): void {
    const s = this.s;
    const n = s.length;
    let p = this.p;
    // Bounds checked: charCodeAt past the end (NaN) makes JSC leave its fast path for good (measured 4x).
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.p = p;
  }

  /**
   * A string at p (the opening quote): its kind, p after the closing quote, `h` the hash of its content; or
   * GIVE_UP. Raw control characters are refused and escapes checked, so JSON.parse of it cannot fail.
   */
  str(): number {
    const s = this.s;
    let p = this.p;
    if (s.charCodeAt(p) !== 0x22) return GIVE_UP;
    p++;
    let kind = V.Ascii;
    let h = 0;
    const n = s.length;
    for (;;) {
      if (p >= n) return GIVE_UP;
      let c = s.charCodeAt(p++);
      if (c === 0x22) break;
      if (c < 0x20) return GIVE_UP;
      h = (Math.imul(h, 31) + c) | 0;
      if (c === 0x5c) {
        kind = V.Escaped;
        c = s.charCodeAt(p++);
        if (c === 0x75) {
          for (let i = 0; i < 4; i++) if (!isHex(s.charCodeAt(p++))) return GIVE_UP;
        } else if (!(c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)) return GIVE_UP;
      } else if (c > 0x7f && kind === V.Ascii) kind = V.Utf8;
    }
    this.p = p;
    this.h = h;
    return kind;
  }

  /** A string value at p (the opening quote): str() without the hash. */
  strValue(): number {
    const s = this.s;
    if (this.plain) {
      // Nothing to check inside: the native search for the closing quote is the whole scan (most bytes are here).
      const q = s.indexOf('"', this.p + 1);
      if (q < 0) return GIVE_UP;
      this.p = q + 1;
      return this.ascii ? V.Ascii : V.Plain;
    }
    const n = s.length;
    let p = this.p + 1;
    let kind = V.Ascii;
    for (;;) {
      if (p >= n) return GIVE_UP;
      let c = s.charCodeAt(p++);
      if (c === 0x22) break;
      if (c === 0x5c) {
        kind = V.Escaped;
        c = s.charCodeAt(p++);
        if (c === 0x75) {
          for (let i = 0; i < 4; i++) if (!isHex(s.charCodeAt(p++))) return GIVE_UP;
        } else if (!(c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)) return GIVE_UP;
      } else if (c < 0x20) return GIVE_UP;
      else if (c > 0x7f && kind === V.Ascii) kind = V.Utf8;
    }
    this.p = p;
    return kind;
  }

  /** The text at [a, a + word.length) is `word`. */
  is(a: number, word: string): boolean {
    const s = this.s;
    for (let i = 0; i < word.length; i++) if (s.charCodeAt(a + i) !== word.charCodeAt(i)) return false;
    return true;
  }

  /** A JSON number without exponent at p; p after it, or GIVE_UP (`-0` too: its dim text is "0"). */
  num(): number {
    const s = this.s;
    const a = this.p;
    let p = a;
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
    this.p = p;
    return V.Num;
  }

  /** A whole number >= 0 as JSON writes it (digits only, at most 15); -1 otherwise. */
  whole(): number {
    const s = this.s;
    const a = this.p;
    let p = a;
    let n = 0;
    let c = s.charCodeAt(p);
    if (c === 0x30) c = s.charCodeAt(++p);
    else {
      while (c >= 0x30 && c <= 0x39) {
        n = n * 10 + (c - 0x30);
        c = s.charCodeAt(++p);
      }
    }
    if (p === a || p - a > 15 || c === 0x2e || c === 0x65 || c === 0x45 || (c >= 0x30 && c <= 0x39)) return -1;
    this.p = p;
    return n;
  }

  literal(word: string, kind: V): number {
    if (!this.is(this.p, word)) return GIVE_UP;
    this.p += word.length;
    return kind;
  }

  /** A flat value (string, number, true, false, null) at p; nested documents give up. */
  value(): number {
    const c = this.s.charCodeAt(this.p);
    if (c === 0x22) return this.strValue();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.num();
    if (c === 0x74) return this.literal('true', V.True);
    if (c === 0x66) return this.literal('false', V.False);
    if (c === 0x6e) return this.literal('null', V.Null);
    return GIVE_UP;
  }

  /** A member name at p (ASCII, no escapes, not __proto__): its start; `h` its hash, p at its closing quote + 1. */
  name(): number {
    const a = this.p + 1;
    if (this.str() !== V.Ascii) return GIVE_UP;
    if (this.h === H_PROTO && this.p - a - 1 === 9 && this.is(a, '__proto__')) return GIVE_UP;
    return a;
  }

  /** ws, then `:` and ws. */
  colon(): boolean {
    this.ws();
    if (this.s.charCodeAt(this.p) !== 0x3a) return false;
    this.p++;
    this.ws();
    return true;
  }

  /** After a member: `,` (true, more follow) or `}` (false, p after it); undefined to give up. */
  next(): boolean | undefined {
    this.ws();
    const c = this.s.charCodeAt(this.p++);
    if (c === 0x2c) {
      this.ws();
      return true;
    }
    return c === 0x7d ? false : undefined;
  }

  /** `data` at p: every member's name, and the values of the plan's columns in their slots. */
  data(plan: Plan | undefined): boolean {
    this.dataN = 0;
    if (plan) {
      const n = plan.names.length;
      if (n > this.slotKind.length) {
        this.slotStart = new Int32Array(n);
        this.slotEnd = new Int32Array(n);
        this.slotKind = new Int32Array(n);
      }
      this.slotKind.fill(MISSING, 0, n);
    }
    if (this.s.charCodeAt(this.p) !== 0x7b) return false;
    this.p++;
    this.ws();
    if (this.s.charCodeAt(this.p) === 0x7d) {
      this.p++;
      return true;
    }
    for (;;) {
      const a = this.name();
      if (a < 0) return false;
      const h = this.h;
      const len = this.p - a - 1;
      const i = this.dataN++;
      if (i === this.dataKey.length) this.growData();
      this.dataKey[i] = a;
      this.dataLen[i] = len;
      this.dataHash[i] = h;
      if (!this.colon()) return false;
      const vs = this.p;
      const kind = this.value();
      if (kind === GIVE_UP) return false;
      if (plan) {
        const hashes = plan.hashes;
        for (let k = 0; k < hashes.length; k++) {
          if (hashes[k] === h && plan.names[k]!.length === len && this.is(a, plan.names[k]!)) {
            this.slotStart[k] = vs;
            this.slotEnd[k] = this.p;
            this.slotKind[k] = kind;
            break;
          }
        }
      }
      const more = this.next();
      if (more === undefined) return false;
      if (!more) return true;
    }
  }

  /** `old` at p: member names, and the key column's value. */
  old(pk: string | undefined, pkHash: number): boolean {
    this.oldN = 0;
    this.oldPkKind = MISSING;
    if (this.s.charCodeAt(this.p) !== 0x7b) return false;
    this.p++;
    this.ws();
    if (this.s.charCodeAt(this.p) === 0x7d) {
      this.p++;
      return true;
    }
    for (;;) {
      const a = this.name();
      if (a < 0) return false;
      const h = this.h;
      const len = this.p - a - 1;
      const i = this.oldN++;
      if (i === this.oldKey.length) this.growOld();
      this.oldKey[i] = a;
      this.oldLen[i] = len;
      this.oldHash[i] = h;
      if (!this.colon()) return false;
      const vs = this.p;
      const kind = this.value();
      if (kind === GIVE_UP) return false;
      if (pk !== undefined && h === pkHash && len === pk.length && this.is(a, pk)) {
        this.oldPkStart = vs;
        this.oldPkEnd = this.p;
        this.oldPkKind = kind;
      }
      const more = this.next();
      if (more === undefined) return false;
      if (!more) return true;
    }
  }

  growData(): void {
    const n = this.dataKey.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.dataKey = grow(this.dataKey);
    this.dataLen = grow(this.dataLen);
    this.dataHash = grow(this.dataHash);
  }

  growOld(): void {
    const n = this.oldKey.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.oldKey = grow(this.oldKey);
    this.oldLen = grow(this.oldLen);
    this.oldHash = grow(this.oldHash);
  }

  /** Every old member names a data member (validate-maxwell's rule). */
  oldWithinData(): boolean {
    const s = this.s;
    outer: for (let i = 0; i < this.oldN; i++) {
      const h = this.oldHash[i]!;
      const len = this.oldLen[i]!;
      const a = this.oldKey[i]!;
      for (let j = 0; j < this.dataN; j++) {
        if (this.dataHash[j] !== h || this.dataLen[j] !== len) continue;
        const b = this.dataKey[j]!;
        let k = 0;
        while (k < len && s.charCodeAt(a + k) === s.charCodeAt(b + k)) k++;
        if (k === len) continue outer;
      }
      return false;
    }
    return true;
  }

  /** A value at [a, b) of `kind` as dim text (null for JSON null). */
  text(a: number, b: number, kind: number): string | null {
    switch (kind) {
      case V.Ascii:
        return this.s.slice(a + 1, b - 1);
      case V.Plain: {
        const s = this.s;
        for (let i = a + 1; i < b - 1; i++) if (s.charCodeAt(i) > 0x7f) return this.buf.toString('utf8', a + 1, b - 1);
        return s.slice(a + 1, b - 1);
      }
      case V.Utf8:
        return this.buf.toString('utf8', a + 1, b - 1);
      case V.Escaped:
        return JSON.parse(this.buf.toString('utf8', a, b)) as string;
      case V.Num:
        return this.s.slice(a, b);
      case V.True:
        return 'true';
      case V.False:
        return 'false';
      default:
        return null;
    }
  }

  slotText(k: number): string | null {
    return this.text(this.slotStart[k]!, this.slotEnd[k]!, this.slotKind[k]!);
  }

  /** The routes of the record in `s`, or undefined to take the general path. */
  scan(database: string, rules: ReadonlyMap<string, TableProcess>): RecordRoute[] | undefined {
    let seen = 0;
    let dbOk = database === '*';
    let rule: TableProcess | undefined;
    let plan: Plan | undefined;
    let type = -1;
    const s = this.s;
    this.ws();
    if (s.charCodeAt(this.p) !== 0x7b) return undefined;
    this.p++;
    this.ws();
    for (;;) {
      const a = this.name();
      if (a < 0) return undefined;
      const h = this.h;
      const len = this.p - a - 1;
      if (!this.colon()) return undefined;
      let f: number;
      if (h === H_DATABASE && len === 8 && this.is(a, 'database')) {
        f = F.Database;
        const v = this.p + 1;
        if (this.str() !== V.Ascii || this.p - v < 2) return undefined;
        if (!dbOk) dbOk = this.p - v - 1 === database.length && this.is(v, database);
      } else if (h === H_TABLE && len === 5 && this.is(a, 'table')) {
        f = F.Table;
        const v = this.p + 1;
        if (this.str() !== V.Ascii || this.p - v < 2) return undefined;
        const n = this.p - v - 1;
        const last = this.lastTable;
        const table = n === last.length && this.is(v, last) ? last : (this.lastTable = s.slice(v, v + n));
        rule = rules.get(table);
        if (rule === undefined) plan = undefined;
        else if (rule === this.lastRule && current(this.lastPlan!, rule)) plan = this.lastPlan;
        else {
          plan = this.lastPlan = planOf(rule);
          this.lastRule = rule;
        }
      } else if (h === H_TYPE && len === 4 && this.is(a, 'type')) {
        f = F.Type;
        const v = this.p + 1;
        if (this.str() !== V.Ascii) return undefined;
        const n = this.p - v - 1;
        for (let i = 0; i < TYPES.length; i++) {
          if (TYPE_HASHES[i] === this.h && TYPES[i]![0].length === n && this.is(v, TYPES[i]![0])) {
            type = TYPES[i]![1];
            break;
          }
        }
        if (type < 0) return undefined;
      } else if (h === H_TS && len === 2 && this.is(a, 'ts')) {
        f = F.Ts;
        const ts = this.whole();
        if (ts < MIN_S || ts >= MAX_S) return undefined;
      } else if (h === H_XID && len === 3 && this.is(a, 'xid')) {
        f = F.Xid;
        if (this.whole() < 0) return undefined;
      } else if (h === H_XOFFSET && len === 7 && this.is(a, 'xoffset')) {
        f = F.Xoffset;
        if (this.whole() < 0) return undefined;
      } else if (h === H_COMMIT && len === 6 && this.is(a, 'commit')) {
        f = F.Commit;
        if (this.literal('true', V.True) === GIVE_UP) return undefined;
      } else if (h === H_DATA && len === 4 && this.is(a, 'data')) {
        f = F.Data;
        // The rule picks the slots: a record naming its table after its data is left to the general path.
        if ((seen & F.Table) === 0 || !this.data(plan)) return undefined;
      } else if (h === H_OLD && len === 3 && this.is(a, 'old')) {
        f = F.Old;
        if ((seen & F.Table) === 0 || !this.old(plan?.pk, plan ? plan.hashes[plan.pkSlot]! : 0)) return undefined;
      } else return undefined;
      // A duplicate field: JSON.parse keeps the last; the general path says what that means.
      if (seen & f) return undefined;
      seen |= f;
      const more = this.next();
      if (more === undefined) return undefined;
      if (!more) break;
    }
    this.ws();
    if (this.p !== s.length) return undefined;
    if ((seen & REQUIRED) !== REQUIRED) return undefined;
    if ((seen & (F.Commit | F.Xoffset)) === (F.Commit | F.Xoffset)) return undefined;

    const hasOld = (seen & F.Old) !== 0;
    if (type === T.BootstrapStart || type === T.BootstrapComplete) {
      if (this.dataN > 0 || hasOld) return undefined;
      return CONTROL;
    }
    if (hasOld && (type !== T.Update || !this.oldWithinData())) return undefined;

    // route.ts, on the scanned members.
    if (!dbOk) return OTHER_DATABASE;
    if (!rule || !plan) return UNCONFIGURED;
    if (this.dataN === 0) return EMPTY_ROW;
    const pk = plan.pk;
    if (this.slotKind[plan.pkSlot] === MISSING) return undefined;
    const id = this.slotText(plan.pkSlot);
    if (id === null) return undefined;
    const sinkTable = rule.sinkTable;
    if (type === T.Delete) return [{ kind: 'writes', writes: [{ op: 'delete', table: sinkTable, pk, id }] }];
    const row: DimRow = {};
    const cols = plan.sinkColumns;
    for (let j = 0; j < cols.length; j++) {
      const k = plan.colSlot[j]!;
      if (this.slotKind[k] !== MISSING) row[cols[j]!] = this.slotText(k);
      // route.ts reads data[c]: a name Object.prototype has (toString, constructor) would not read as missing.
      else if (plan.inherited[k]) return undefined;
      else row[cols[j]!] = null;
    }
    const writes: DimWrite[] = [];
    if (hasOld) {
      if (this.oldPkKind === MISSING) {
        if (plan.inherited[plan.pkSlot]) return undefined;
      } else {
        const before = this.text(this.oldPkStart, this.oldPkEnd, this.oldPkKind);
        if (before !== null && before !== id) writes.push({ op: 'delete', table: sinkTable, pk, id: before });
      }
    }
    writes.push({ op: 'upsert', table: sinkTable, pk, id, row });
    return [{ kind: 'writes', writes }];
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const scanner = new Scanner();

/** The fast path: the routes of a common Maxwell record, or undefined for the general path. */
export function fastRoute(value: Uint8Array, database: string, rules: ReadonlyMap<string, TableProcess>): RecordRoute[] | undefined {
  if (value.length === 0) return undefined;
  try {
    if (!isUtf8(value)) return undefined;
  } catch {
    return undefined; // a view isUtf8 refuses (shared memory): the general path decodes it
  }
  const sc = scanner;
  sc.buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const s = (sc.s = sc.buf.toString('latin1'));
  sc.plain = s.indexOf('\\') < 0 && !CONTROL_CHAR.test(s);
  sc.ascii = isAscii(sc.buf);
  sc.p = 0;
  try {
    return sc.scan(database, rules);
  } finally {
    sc.s = '';
    sc.buf = EMPTY;
  }
}

const CONTROL: RecordRoute[] = [{ kind: 'control' }];
const OTHER_DATABASE: RecordRoute[] = [{ kind: 'other-database' }];
const UNCONFIGURED: RecordRoute[] = [{ kind: 'unconfigured' }];
const EMPTY_ROW: RecordRoute[] = [{ kind: 'empty' }];
