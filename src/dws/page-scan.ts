/**
 * The fields of a page record (`{"common":{…},"page":{…},"ts":N}`, dwd_traffic_page) that the traffic windows
 * read, without JSON.parse building the whole record each time (it was about half of the window job's JS time).
 *
 * scanPage takes the text apart as `{"common":` C `,"page":` P `,"ts":` N `}` — C up to the first `},"page":{`:
 *  - C, the common object, is the same text for every page of a mid: it is parsed with JSON.parse once and kept
 *    (a bounded cache keyed by the text);
 *  - P, the page object, is read by a scanner that takes only a flat object without whitespace whose values are
 *    strings without backslash or control character, `null`, or integers of at most 15 digits without a leading
 *    zero (a repeated key keeps its last value, as JSON.parse does);
 *  - N, ts, an integer of the same form, and `}` ends the text.
 * When all three are valid JSON, the whole text is JSON with exactly those three members, and (JSON's grammar
 * being unambiguous) JSON.parse would read the same values. Anything else — other layouts, whitespace, escapes,
 * fractions, exponents, nested values, other top-level keys — answers false, and the caller takes the JSON.parse
 * path (the same values, the same dead letters). test/dws/page-scan.test.ts checks the two paths against each
 * other over generated and mutated records.
 */

import { isObj, type Obj } from '../formats/validate-check';

/** What the traffic windows read of a page record; undefined where the record has no such field. */
export interface PageFields {
  mid: unknown;
  vc: unknown;
  ch: unknown;
  ar: unknown;
  isNew: unknown;
  uid: unknown;
  pageId: unknown;
  lastPageId: unknown;
  duringTime: unknown;
  item: unknown;
  itemType: unknown;
  ts: number;
}

export function emptyPageFields(): PageFields {
  return {
    mid: undefined,
    vc: undefined,
    ch: undefined,
    ar: undefined,
    isNew: undefined,
    uid: undefined,
    pageId: undefined,
    lastPageId: undefined,
    duringTime: undefined,
    item: undefined,
    itemType: undefined,
    ts: 0,
  };
}


/** Fills `f` from parsed common/page objects and ts (the JSON.parse path). */
export function fieldsOf(f: PageFields, common: Obj, page: Obj, ts: number): PageFields {
  f.mid = common.mid;
  f.vc = common.vc;
  f.ch = common.ch;
  f.ar = common.ar;
  f.isNew = common.is_new;
  f.uid = common.uid;
  f.pageId = page.page_id;
  f.lastPageId = page.last_page_id;
  f.duringTime = page.during_time;
  f.item = page.item;
  f.itemType = page.item_type;
  f.ts = ts;
  return f;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN = 0x7b;
const CLOSE = 0x7d;

const HEAD = '{"common":{';
const PAGE = '},"page":{';
const TS = ',"ts":';

/** Common object text → the parsed object (or null: not a JSON object). */
const commons = new Map<string, Obj | null>();
const COMMONS_MAX = 100_000;

function common(text: string): Obj | null {
  let c = commons.get(text);
  if (c !== undefined) return c;
  try {
    const v: unknown = JSON.parse(text);
    c = isObj(v) ? v : null;
  } catch {
    c = null;
  }
  if (commons.size >= COMMONS_MAX) commons.clear();
  commons.set(text, c);
  return c;
}

/** The end of the integer at i (an index past its last digit), or -1 when there is none of the plain form. */
function integerEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === MINUS) i++;
  const start = i;
  let d = s.charCodeAt(i);
  if (!(d >= ZERO && d <= NINE)) return -1;
  i++;
  if (d !== ZERO) {
    for (;;) {
      d = s.charCodeAt(i);
      if (!(d >= ZERO && d <= NINE)) break;
      i++;
    }
    if (i - start > 15) return -1;
  } else d = s.charCodeAt(i);
  // A fraction, an exponent or a leading zero ("01"): JSON.parse's business.
  if (d === 0x2e || d === 0x65 || d === 0x45 || (d >= ZERO && d <= NINE)) return -1;
  return i;
}

/** The value of the plain integer text s[a, b) (at most 15 digits: exact). */
function integer(s: string, a: number, b: number): number {
  const neg = s.charCodeAt(a) === MINUS;
  let n = 0;
  for (let i = neg ? a + 1 : a; i < b; i++) n = n * 10 + (s.charCodeAt(i) - ZERO);
  return neg ? -n : n;
}

/**
 * Fills `f` from the record text when it has the plain layout (see the file comment) and answers true; false
 * (with `f` in any state) when JSON.parse should read it.
 */
export function scanPage(s: string, f: PageFields): boolean {
  if (!s.startsWith(HEAD)) return false;
  const e = s.indexOf(PAGE, HEAD.length);
  if (e < 0) return false;
  const c = common(s.slice(HEAD.length - 1, e + 1));
  if (c === null) return false;
  f.mid = c.mid;
  f.vc = c.vc;
  f.ch = c.ch;
  f.ar = c.ar;
  f.isNew = c.is_new;
  f.uid = c.uid;
  f.pageId = f.lastPageId = f.duringTime = f.item = f.itemType = undefined;
  let i = e + PAGE.length;
  if (s.charCodeAt(i) === CLOSE) i++;
  else {
    for (;;) {
      // key
      if (s.charCodeAt(i) !== QUOTE) return false;
      const ks = ++i;
      for (;;) {
        const ch = s.charCodeAt(i);
        if (ch === QUOTE) break;
        if (!(ch >= 0x20) || ch === BACKSLASH) return false;
        i++;
      }
      const kl = i - ks;
      if (s.charCodeAt(++i) !== COLON) return false;
      // value
      let v: unknown;
      const ch = s.charCodeAt(++i);
      if (ch === QUOTE) {
        const vs = ++i;
        for (;;) {
          const x = s.charCodeAt(i);
          if (x === QUOTE) break;
          if (!(x >= 0x20) || x === BACKSLASH) return false;
          i++;
        }
        v = s.slice(vs, i);
        i++;
      } else if (ch === 0x6e) {
        if (s.charCodeAt(i + 1) !== 0x75 || s.charCodeAt(i + 2) !== 0x6c || s.charCodeAt(i + 3) !== 0x6c) return false;
        v = null;
        i += 4;
      } else {
        const ne = integerEnd(s, i);
        if (ne < 0) return false;
        v = integer(s, i, ne);
        i = ne;
      }
      switch (kl) {
        case 4:
          if (s.startsWith('item', ks)) f.item = v;
          break;
        case 7:
          if (s.startsWith('page_id', ks)) f.pageId = v;
          break;
        case 9:
          if (s.startsWith('item_type', ks)) f.itemType = v;
          break;
        case 11:
          if (s.startsWith('during_time', ks)) f.duringTime = v;
          break;
        case 12:
          if (s.startsWith('last_page_id', ks)) f.lastPageId = v;
          break;
      }
      const sep = s.charCodeAt(i++);
      if (sep === CLOSE) break;
      if (sep !== COMMA) return false;
    }
  }
  if (!s.startsWith(TS, i)) return false;
  i += TS.length;
  const te = integerEnd(s, i);
  if (te < 0 || te !== s.length - 1 || s.charCodeAt(te) !== CLOSE) return false;
  f.ts = integer(s, i, te);
  return true;
}
