/**
 * App logs (ods_log): the JSON lines the gmall mock-log generator writes, one object per line.
 *
 * Two shapes exist in the wild and both are accepted here:
 *   2022  common{ar: area code "110000", ba, ch, is_new, md, mid, os, uid?, vc}; page.source_type;
 *         displays{display_type, item, item_type, order, pos_id}
 *   2023  common also has sid (session uuid) and ar is a province id ("1".."34"); page.refer_id /
 *         from_pos_id / from_pos_seq; displays{item, item_type, pos_id, pos_seq}
 * Every line is either a start log (start{…}) or a page log (page{…} with optional displays[] and actions[]);
 * either may carry err{error_code, msg}. `ts` is epoch milliseconds.
 *
 * validateAppLog is what `tail` (without --etl), `ship log`'s dead-letter reasons and `run dwd` use to decide
 * whether a record is dirty: it returns reasons that name the field, never throws. `tail --etl` applies the seed's
 * looser ETL rule instead (appLogEtlReasons) and shows validateAppLog's findings as warnings.
 */

import { isObj, kind, type Obj } from './validate-check';

export type AppLogFormat = '2022' | '2023';

export interface AppCommon {
  /** 2022: area code like "110000"; 2023: province id like "7". */
  ar?: string;
  ba?: string;
  ch?: string;
  is_new?: string;
  md?: string;
  mid: string;
  os?: string;
  /** 2023 only: the session id. */
  sid?: string;
  /** Absent while the visitor is logged out. */
  uid?: string | null;
  vc?: string;
}

export interface AppStart {
  entry: string;
  loading_time: number;
  open_ad_id: number;
  open_ad_ms: number;
  open_ad_skip_ms: number;
}

export interface AppPage {
  during_time: number;
  item?: string;
  item_type?: string;
  last_page_id?: string;
  page_id: string;
  /** 2022: how the visitor reached a goods page (query | promotion | recommend | activity). */
  source_type?: string;
  /** 2023: the display position the visitor clicked to get here. */
  from_pos_id?: number;
  from_pos_seq?: number;
  /** 2023: the referrer of the first page of a session. */
  refer_id?: string;
}

export interface AppDisplay {
  display_type?: string;
  item: string;
  item_type: string;
  order?: number;
  pos_id?: number;
  pos_seq?: number;
}

export interface AppAction {
  action_id: string;
  item?: string;
  item_type?: string;
  ts: number;
}

export interface AppErr {
  error_code: number;
  msg: string;
}

export interface AppLog {
  actions?: AppAction[];
  common: AppCommon;
  displays?: AppDisplay[];
  err?: AppErr;
  page?: AppPage;
  start?: AppStart;
  ts: number;
}

/** The page ids of the generators (2023 says `order` where 2022 says `trade`). */
export const PAGE_IDS = [
  'home', 'category', 'discovery', 'top_n', 'favor', 'search', 'good_list', 'good_detail', 'good_spec', 'comment',
  'comment_done', 'comment_list', 'cart', 'trade', 'order', 'payment', 'payment_done', 'orders_all', 'orders_unpaid',
  'orders_undelivered', 'orders_unreceipted', 'orders_wait_comment', 'mine', 'activity', 'login', 'register',
] as const;

/** `favor_canel` is the generator's own spelling; downstream SQL matches on it. */
export const ACTION_IDS = [
  'favor_add', 'favor_canel', 'cart_add', 'cart_remove', 'cart_add_num', 'cart_minus_num', 'trade_add_address', 'get_coupon',
] as const;

export const ITEM_TYPES = ['sku_id', 'keyword', 'sku_ids', 'activity_id', 'coupon_id'] as const;
export const DISPLAY_TYPES = ['query', 'promotion', 'recommend', 'activity'] as const;
export const START_ENTRIES = ['install', 'icon', 'notice'] as const;

/** Epoch ms between 2001-09-09 and 2286-11-20: catches seconds (10 digits) and microseconds (16 digits). */
const MIN_MS = 1e12;
const MAX_MS = 1e13;


class Checker {
  readonly reasons: string[] = [];

  fail(path: string, expected: string, got: unknown): void {
    this.reasons.push(`${path}: expected ${expected}, got ${got === undefined ? 'nothing' : kind(got)}`);
  }

  /** A required (or, with optional, present-only) non-empty string. */
  str(o: Obj, key: string, path: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || v.length === 0) this.fail(`${path}.${key}`, 'a non-empty string', v);
  }

  /** A whole number ≥ 0 (durations, ids, positions). */
  int(o: Obj, key: string, path: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(`${path}.${key}`, 'a whole number >= 0', v);
  }

  ms(o: Obj, key: string, path: string): void {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, 'epoch milliseconds (a whole number)', v);
    else if (v < MIN_MS || v >= MAX_MS) this.fail(path, 'epoch milliseconds (13 digits)', v);
  }

  oneOf(o: Obj, key: string, path: string, values: readonly string[], optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || !values.includes(v)) this.fail(`${path}.${key}`, `one of ${values.join(', ')}`, v);
  }
}

/**
 * Reasons why `obj` is not a usable app log; an empty array means it is fine.
 * Unknown extra keys are allowed (the generators added fields over the years); wrong types and missing
 * required fields are not. Each reason starts with the field path, e.g. `common.mid: expected a non-empty string, got nothing`.
 */
export function validateAppLog(obj: unknown): string[] {
  const c = new Checker();
  if (!isObj(obj)) {
    c.fail('(record)', 'a JSON object', obj);
    return c.reasons;
  }

  const common = obj.common;
  if (!isObj(common)) c.fail('common', 'an object', common);
  else {
    c.str(common, 'mid', 'common');
    for (const k of ['ar', 'ba', 'ch', 'md', 'os', 'vc', 'sid']) c.str(common, k, 'common', true);
    c.oneOf(common, 'is_new', 'common', ['0', '1'], true);
    // Logged-out visitors have no uid; some pipelines write it as null instead of leaving it out.
    if (common.uid !== undefined && common.uid !== null) c.str(common, 'uid', 'common');
  }

  c.ms(obj, 'ts', 'ts');

  const hasStart = obj.start !== undefined;
  const hasPage = obj.page !== undefined;
  if (hasStart && hasPage) c.reasons.push('start, page: a record is either a start log or a page log, not both');
  if (!hasStart && !hasPage) c.reasons.push('start, page: expected one of them, got neither');

  if (hasStart) {
    const s = obj.start;
    if (!isObj(s)) c.fail('start', 'an object', s);
    else {
      c.str(s, 'entry', 'start');
      for (const k of ['loading_time', 'open_ad_id', 'open_ad_ms', 'open_ad_skip_ms']) c.int(s, k, 'start');
    }
    if (obj.displays !== undefined) c.reasons.push('displays: only page logs carry displays');
    if (obj.actions !== undefined) c.reasons.push('actions: only page logs carry actions');
  }

  if (hasPage) {
    const p = obj.page;
    if (!isObj(p)) c.fail('page', 'an object', p);
    else {
      c.str(p, 'page_id', 'page');
      c.int(p, 'during_time', 'page');
      for (const k of ['item', 'item_type', 'last_page_id', 'source_type', 'refer_id']) c.str(p, k, 'page', true);
      c.int(p, 'from_pos_id', 'page', true);
      c.int(p, 'from_pos_seq', 'page', true);
      if ((p.item === undefined) !== (p.item_type === undefined)) {
        c.reasons.push(`page.item, page.item_type: expected both or neither, got only ${p.item === undefined ? 'item_type' : 'item'}`);
      }
    }
    checkList(c, obj.displays, 'displays', (d, path) => {
      c.str(d, 'item', path);
      c.str(d, 'item_type', path);
      c.str(d, 'display_type', path, true);
      for (const k of ['order', 'pos_id', 'pos_seq']) c.int(d, k, path, true);
    });
    checkList(c, obj.actions, 'actions', (a, path) => {
      c.str(a, 'action_id', path);
      c.str(a, 'item', path, true);
      c.str(a, 'item_type', path, true);
      c.ms(a, 'ts', `${path}.ts`);
    });
  }

  if (obj.err !== undefined) {
    const e = obj.err;
    if (!isObj(e)) c.fail('err', 'an object', e);
    else {
      c.int(e, 'error_code', 'err');
      c.str(e, 'msg', 'err');
    }
  }
  return c.reasons;
}

/**
 * Why the ODS ETL of ods_log drops a value: the seed's rule keeps every JSON object with an object `common` and a
 * numeric `ts`, nothing more (`rtwh tail --etl` on ods_log). Empty = kept. What validateAppLog finds beyond that
 * (no start or page, a page without during_time, ts in seconds…) is not the ETL's business: tail reports it as a
 * warning on a kept record, and the jobs that need a field check it (run dwd dead-letters what it cannot use).
 */
export function appLogEtlReasons(obj: unknown): string[] {
  const c = new Checker();
  if (!isObj(obj)) {
    c.fail('(record)', 'a JSON object', obj);
    return c.reasons;
  }
  if (!isObj(obj.common)) c.fail('common', 'an object', obj.common);
  if (typeof obj.ts !== 'number' || !Number.isFinite(obj.ts)) c.fail('ts', 'a number', obj.ts);
  return c.reasons;
}

/** What kind of app log a record is, for counting: start, page, or other (neither: only the ETL keeps those). */
export function appLogType(obj: Record<string, unknown>): 'start' | 'page' | 'other' {
  return obj.start !== undefined ? 'start' : obj.page !== undefined ? 'page' : 'other';
}

function checkList(c: Checker, v: unknown, name: string, each: (o: Obj, path: string) => void): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) {
    c.fail(name, 'an array', v);
    return;
  }
  v.forEach((item, i) => {
    const path = `${name}[${i}]`;
    if (!isObj(item)) c.fail(path, 'an object', item);
    else each(item, path);
  });
}

export type ParsedAppLog = { ok: true; log: AppLog } | { ok: false; reasons: string[] };

/** One line of an app log file (or one ods_log value) → the record, or why it is dirty. */
export function parseAppLog(line: string): ParsedAppLog {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return { ok: false, reasons: [`(record): not JSON (${e instanceof Error ? e.message : String(e)})`] };
  }
  const reasons = validateAppLog(obj);
  return reasons.length === 0 ? { ok: true, log: obj as AppLog } : { ok: false, reasons };
}
