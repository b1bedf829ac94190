/**
 * The six traffic/user DWS windows (gmall 2022 DwsTraffic*, DwsUser*, DwsTradeCartAddUuWindow), each a JobSpec
 * on window.ts: pure logic, tumbling event-time windows emitted once to the topic named like the table.
 *
 * | job (`rtwh run dws …`)     | input                    | table / metrics                                                  |
 * |----------------------------|--------------------------|------------------------------------------------------------------|
 * | traffic_source_keyword     | dwd_traffic_page         | dws_traffic_source_keyword_page_view_window: pages with last_page_id in (search, home) and item_type keyword; the keyword split into words (Intl.Segmenter zh, isWordLike); source 'search'; keyword_count |
 * | traffic_vc_ch_ar_is_new    | dwd_traffic_page         | dws_traffic_vc_ch_ar_is_new_page_view_window by vc, ch, ar, is_new: uv_ct (first page of a mid per Beijing day), sv_ct (last_page_id null), pv_ct, dur_sum (during_time) |
 * | traffic_home_detail        | dwd_traffic_page         | dws_traffic_home_detail_page_view_window: a mid's first home / good_detail page per day |
 * | user_login                 | dwd_traffic_page         | dws_user_user_login_window: pages with uid and last_page_id null or 'login'; uu_ct = a uid's first login per day; back_ct = those whose previous login day is ≥ 8 days before |
 * | user_register              | dwd_user_register        | dws_user_user_register_window: register_ct                       |
 * | trade_cart_add_uu          | dwd_trade_cart_add       | dws_trade_cart_add_uu_window: a user's first cart add per day    |
 *
 * Per-key day state (uv, home/detail, login, cart add) holds the Beijing day number of the last counted event;
 * an event counts when the state is absent or an earlier day. An event of an EARLIER day than the state (late
 * across midnight) is not counted (`earlier_day`): counting it would make the next event of the later day a second
 * "first". Event time is `ts` (ms) of the record; a record without a usable one goes to the dead-letter topic.
 */
import { isObj, kind, type Obj } from '../formats/validate-check';
import type { InputRecord, JobContext, JobSpec, Json } from '../stream/types';
import { emptyPageFields, fieldsOf, scanPage, type PageFields } from './page-scan';
import { beijingDay, DAY_MS, dwsJob, shownValue, TumblingWindow, WindowLogic, type DwsInput } from './window';

export const TRAFFIC_TABLES = {
  keyword: 'dws_traffic_source_keyword_page_view_window',
  vcChArIsNew: 'dws_traffic_vc_ch_ar_is_new_page_view_window',
  homeDetail: 'dws_traffic_home_detail_page_view_window',
  login: 'dws_user_user_login_window',
  register: 'dws_user_user_register_window',
  cartAdd: 'dws_trade_cart_add_uu_window',
} as const;

const PAGE_INPUT: DwsInput = { name: 'page', option: 'page-topic', topic: 'dwd_traffic_page', description: 'page logs ({common, page, ts}) from `run dwd log`' };
const REGISTER_INPUT: DwsInput = { name: 'register', option: 'register-topic', topic: 'dwd_user_register', description: 'registrations from `run dwd trade`' };
const CART_ADD_INPUT: DwsInput = { name: 'cart_add', option: 'cart-add-topic', topic: 'dwd_trade_cart_add', description: 'cart adds from `run dwd trade`' };

/** The one PageFields pageLog fills (read by the caller before the next record). */
const PAGE_FIELDS = emptyPageFields();

/**
 * Reads a page record's fields (scanPage for the plain layout, else JSON.parse; see page-scan.ts); dead-letters
 * it (and returns undefined) when it has no common/page objects or ms ts. The answer is valid until the next call.
 */
export function pageLog(r: InputRecord, ctx: JobContext): PageFields | undefined {
  const f = PAGE_FIELDS;
  if (r.value !== null && scanPage(r.value, f)) {
    ctx.observe(f.ts);
    return f;
  }
  let v: unknown;
  try {
    v = r.value === null ? null : JSON.parse(r.value);
  } catch {
    ctx.deadLetter('(record): not JSON');
    return undefined;
  }
  if (!isObj(v)) return dead(ctx, '(record): not a JSON object');
  if (!isObj(v.common)) return dead(ctx, 'common: expected an object');
  if (!isObj(v.page)) return dead(ctx, 'page: expected an object');
  const ts = v.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return dead(ctx, `ts: expected epoch milliseconds, got ${kind(ts)}`);
  ctx.observe(ts);
  return fieldsOf(f, v.common, v.page, ts);
}

const DONE: Promise<void> = Promise.resolve();

/** Parses a flat DWD fact (trade/user topics) with ts in ms. */
function fact(r: InputRecord, ctx: JobContext): (Obj & { ts: number }) | undefined {
  let v: unknown;
  try {
    v = r.value === null ? null : JSON.parse(r.value);
  } catch {
    ctx.deadLetter('(record): not JSON');
    return undefined;
  }
  if (!isObj(v)) return dead(ctx, '(record): not a JSON object');
  const ts = v.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return dead(ctx, `ts: expected epoch milliseconds, got ${kind(ts)}`);
  ctx.observe(ts);
  return v as Obj & { ts: number };
}

function dead(ctx: JobContext, reason: string): undefined {
  ctx.deadLetter(reason);
  return undefined;
}

/** A key value as text (ids may come as numbers), or null when absent/empty. */
function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * "First of its kind per Beijing day" for a key, in keyed state `ns` (value: the day number; TTL one day of event
 * time beyond the day, unless `keep`). True when this event is the first of its day.
 */
function firstOfDay(ctx: JobContext, ns: string, key: string, ts: number, keep = false): boolean {
  const day = beijingDay(ts);
  const last = ctx.state.get<number>(ns, key);
  if (last === undefined || last < day) {
    if (keep) ctx.state.put(ns, key, day);
    else ctx.state.put(ns, key, day, DAY_MS);
    return true;
  }
  if (last > day) ctx.count('earlier_day');
  return false;
}

/**
 * firstOfDay (with its TTL) for one namespace, keeping a copy of what this process wrote there: key → the ts of
 * the write. The state value is beijingDay(ts) and its expiry ts + DAY_MS (the engine's TTL arithmetic), so the
 * copy answers as keyed state does without building the state id and looking it up for every record; a key this
 * process has not written (state restored after a restart) is read from keyed state. The only writer of the
 * namespace: the answers are firstOfDay's. `sweep` (per batch) drops copies whose state entry has expired.
 */
class FirstOfDay {
  private readonly wrote = new Map<string, number>();
  private sweepAt = -Infinity;
  constructor(readonly ns: string) {}

  test(ctx: JobContext, key: string, ts: number): boolean {
    const day = beijingDay(ts);
    const w = this.wrote.get(key);
    let last: number | undefined;
    if (w === undefined) last = ctx.state.get<number>(this.ns, key);
    else if (w + DAY_MS > ctx.watermark) last = beijingDay(w);
    if (last === undefined || last < day) {
      ctx.state.put(this.ns, key, day, DAY_MS);
      this.wrote.set(key, ts);
      return true;
    }
    if (last > day) ctx.count('earlier_day');
    return false;
  }

  /** Forgets the writes whose state entry has expired (at most once per hour of event time). */
  sweep(watermark: number): void {
    if (!Number.isFinite(watermark) || watermark < this.sweepAt) return;
    for (const [k, w] of this.wrote) if (w + DAY_MS <= watermark) this.wrote.delete(k);
    this.sweepAt = watermark + 3_600_000;
  }
}

const inc = (a: number[], i: number, n = 1): number[] => {
  a[i]! += n;
  return a;
};

// --- traffic_source_keyword -----------------------------------------------------------------------------------

let segmenter: Intl.Segmenter | undefined;

/**
 * Words kept whole whatever the segmenter's dictionary says: the brand names of gmall's base_trademark (and a few
 * more shoppers search for), which ICU's Chinese dictionary splits (华为 → 华 | 为, 欧莱雅 → 欧 | 莱 | 雅, 索芙特 →
 * 索 | 芙 | 特). gmall's IK analyzer keeps them. Longest first, so a longer name wins where two start at one place.
 */
const KEEP_WHOLE: readonly string[] = ['华为', '长粒香', '金沙河', '索芙特', '欧莱雅', '香奈儿', '卡姿兰', '海天', '联想', '荣耀', '魅族', '一加'].sort(
  (a, b) => b.length - a.length,
);

/**
 * The words of a search keyword: the KEEP_WHOLE words where they occur, the text around them split by
 * Intl.Segmenter ('zh', word granularity, word-like segments only).
 */
export function splitKeyword(keyword: string): string[] {
  segmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  const out: string[] = [];
  const segment = (text: string): void => {
    if (text === '') return;
    for (const s of segmenter!.segment(text)) if (s.isWordLike) out.push(s.segment);
  };
  let from = 0;
  for (let i = 0; i < keyword.length; ) {
    const w = KEEP_WHOLE.find((k) => keyword.startsWith(k, i));
    if (w === undefined) {
      i++;
      continue;
    }
    segment(keyword.slice(from, i));
    out.push(w);
    i += w.length;
    from = i;
  }
  segment(keyword.slice(from));
  return out;
}

class KeywordLogic extends WindowLogic<number> {
  /** Keyword → its words (keywords repeat a lot; segmenting is the costly part). */
  private readonly words = new Map<string, string[]>();
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<number>({ name: 'keyword', output: TRAFFIC_TABLES.keyword, sizeMs, row: (k, n) => ({ source: k[0]!, keyword: k[1]!, keyword_count: n }) });
  }
  process(r: InputRecord, ctx: JobContext): void {
    const p = pageLog(r, ctx);
    if (!p) return;
    const last = p.lastPageId;
    if ((last !== 'search' && last !== 'home') || p.itemType !== 'keyword') return;
    const item = p.item;
    if (typeof item !== 'string' || item === '') return;
    let words = this.words.get(item);
    if (words === undefined) {
      words = splitKeyword(item);
      if (this.words.size >= 100_000) this.words.clear();
      this.words.set(item, words);
    }
    for (const w of words) this.win.add(ctx, p.ts, ['search', w], () => 0, (n) => n + 1);
  }
}

export const dwsTrafficSourceKeywordJob: JobSpec = dwsJob({
  short: 'traffic_source_keyword',
  table: TRAFFIC_TABLES.keyword,
  description: 'search keywords (pages after search/home with item_type keyword) split into words, counted per window',
  inputs: [PAGE_INPUT],
  create: (_o, sizeMs) => new KeywordLogic(sizeMs),
});

// --- traffic_vc_ch_ar_is_new ----------------------------------------------------------------------------------

/**
 * The most time on one page a record may claim: a day. dur_sum is a BIGINT summed over a window; one value of 1e20
 * (or a negative one) made the sink refuse the whole batch on every restart, and nothing loaded.
 */
const MAX_DURING_MS = 86_400_000;

/** page.during_time in ms: 0 when absent (gmall sums what is there), undefined when it is not a whole number in range. */
function durationMs(v: unknown): number | undefined {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_DURING_MS ? n : undefined;
}

/** [uv_ct, sv_ct, pv_ct, dur_sum] */
type PageAcc = number[];
const newPageAcc = (): PageAcc => [0, 0, 0, 0];

/** A mid's last group: its key values and the group key made of them (see VcChArIsNewLogic.groupKey). */
interface MidGroup {
  vc: string | null;
  ch: string | null;
  ar: string | null;
  isNew: string | null;
  gk: string;
}

class VcChArIsNewLogic extends WindowLogic<PageAcc> {
  private readonly uv = new FirstOfDay('uv');
  /** mid → its last group (a mid keeps its version, channel, area and is_new for a while). */
  private readonly midGroups = new Map<string, MidGroup>();
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<PageAcc>({
      name: 'vc_ch_ar_is_new',
      output: TRAFFIC_TABLES.vcChArIsNew,
      sizeMs,
      row: (k, a) => ({ vc: k[0]!, ch: k[1]!, ar: k[2]!, is_new: k[3]!, uv_ct: a[0]!, sv_ct: a[1]!, pv_ct: a[2]!, dur_sum: a[3]! }),
    });
  }
  prepare(_records: readonly InputRecord[], ctx: JobContext): Promise<void> {
    this.win.beginBatch();
    this.uv.sweep(ctx.watermark);
    return DONE;
  }
  process(r: InputRecord, ctx: JobContext): void {
    const p = pageLog(r, ctx);
    if (!p) return;
    const ts = p.ts;
    const mid = text(p.mid);
    if (mid === null) {
      ctx.deadLetter('common.mid: expected a non-empty id');
      return;
    }
    const uv = this.uv.test(ctx, mid, ts) ? 1 : 0;
    const last = p.lastPageId;
    const sv = last === null || last === undefined ? 1 : 0;
    const dur = durationMs(p.duringTime);
    if (dur === undefined) {
      ctx.deadLetter(`page.during_time: expected a whole number of ms from 0 to ${MAX_DURING_MS}, got ${shownValue(p.duringTime)}`);
      return;
    }
    const vc = text(p.vc);
    const ch = text(p.ch);
    const ar = text(p.ar);
    const isNew = text(p.isNew);
    const g = this.win.group(ctx, ts, this.groupKey(mid, vc, ch, ar, isNew), () => [vc, ch, ar, isNew], newPageAcc);
    if (g === undefined) return;
    const a = g[1];
    a[0]! += uv;
    a[1]! += sv;
    a[2]! += 1;
    a[3]! += dur;
  }

  /**
   * The group key as TumblingWindow.add makes it (keys joined by '|', null as ''), the string made for the mid's
   * last record when its values are the same: a string the windows' maps have hashed already, not a new one to
   * join, flatten and hash per record.
   */
  private groupKey(mid: string, vc: string | null, ch: string | null, ar: string | null, isNew: string | null): string {
    const m = this.midGroups.get(mid);
    if (m !== undefined && m.vc === vc && m.ch === ch && m.ar === ar && m.isNew === isNew) return m.gk;
    const gk = `${vc ?? ''}|${ch ?? ''}|${ar ?? ''}|${isNew ?? ''}`;
    if (m !== undefined) {
      m.vc = vc;
      m.ch = ch;
      m.ar = ar;
      m.isNew = isNew;
      m.gk = gk;
    } else {
      if (this.midGroups.size >= 200_000) this.midGroups.clear();
      this.midGroups.set(mid, { vc, ch, ar, isNew, gk });
    }
    return gk;
  }
}

export const dwsTrafficVcChArIsNewJob: JobSpec = dwsJob({
  short: 'traffic_vc_ch_ar_is_new',
  table: TRAFFIC_TABLES.vcChArIsNew,
  description: 'page views by version, channel, area and is_new: uv (mid per day), sessions, pages, time on page',
  inputs: [PAGE_INPUT],
  create: (_o, sizeMs) => new VcChArIsNewLogic(sizeMs),
});

// --- traffic_home_detail --------------------------------------------------------------------------------------

class HomeDetailLogic extends WindowLogic<number[]> {
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<number[]>({ name: 'home_detail', output: TRAFFIC_TABLES.homeDetail, sizeMs, row: (_k, a) => ({ home_uv_ct: a[0]!, good_detail_uv_ct: a[1]! }) });
  }
  process(r: InputRecord, ctx: JobContext): void {
    const p = pageLog(r, ctx);
    if (!p) return;
    const page = p.pageId;
    if (page !== 'home' && page !== 'good_detail') return;
    const mid = text(p.mid);
    if (mid === null) {
      ctx.deadLetter('common.mid: expected a non-empty id');
      return;
    }
    const i = page === 'home' ? 0 : 1;
    if (!firstOfDay(ctx, page === 'home' ? 'home' : 'detail', mid, p.ts)) return;
    this.win.add(ctx, p.ts, [], () => [0, 0], (a) => inc(a, i));
  }
}

export const dwsTrafficHomeDetailJob: JobSpec = dwsJob({
  short: 'traffic_home_detail',
  table: TRAFFIC_TABLES.homeDetail,
  description: 'unique visitors of the home page and of good_detail pages (a mid counted once per day each)',
  inputs: [PAGE_INPUT],
  create: (_o, sizeMs) => new HomeDetailLogic(sizeMs),
});

// --- user_login -----------------------------------------------------------------------------------------------

/** A login counts as "back" when the previous login day is at least this many days earlier (gmall 2022: > 7). */
export const BACK_AFTER_DAYS = 8;

class UserLoginLogic extends WindowLogic<number[]> {
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<number[]>({ name: 'login', output: TRAFFIC_TABLES.login, sizeMs, row: (_k, a) => ({ back_ct: a[0]!, uu_ct: a[1]! }) });
  }
  process(r: InputRecord, ctx: JobContext): void {
    const p = pageLog(r, ctx);
    if (!p) return;
    const uid = text(p.uid);
    if (uid === null) return;
    const last = p.lastPageId;
    if (!(last === null || last === undefined || last === 'login')) return;
    const day = beijingDay(p.ts);
    // The previous login day, kept for good (no TTL: "back" looks further than a day).
    const prev = ctx.state.get<number>('login', uid);
    if (prev !== undefined && prev >= day) {
      if (prev > day) ctx.count('earlier_day');
      return;
    }
    ctx.state.put('login', uid, day);
    const back = prev !== undefined && day - prev >= BACK_AFTER_DAYS ? 1 : 0;
    this.win.add(ctx, p.ts, [], () => [0, 0], (a) => {
      a[0]! += back;
      a[1]! += 1;
      return a;
    });
  }
}

export const dwsUserLoginJob: JobSpec = dwsJob({
  short: 'user_login',
  table: TRAFFIC_TABLES.login,
  description: 'logins (pages with uid after no page or login): unique users per day, and users back after ≥ 8 days',
  inputs: [PAGE_INPUT],
  create: (_o, sizeMs) => new UserLoginLogic(sizeMs),
});

// --- user_register --------------------------------------------------------------------------------------------

class UserRegisterLogic extends WindowLogic<number> {
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<number>({ name: 'register', output: TRAFFIC_TABLES.register, sizeMs, row: (_k, n) => ({ register_ct: n }) });
  }
  process(r: InputRecord, ctx: JobContext): void {
    const f = fact(r, ctx);
    if (!f) return;
    this.win.add(ctx, f.ts, [], () => 0, (n) => n + 1);
  }
}

export const dwsUserRegisterJob: JobSpec = dwsJob({
  short: 'user_register',
  table: TRAFFIC_TABLES.register,
  description: 'registrations per window',
  inputs: [REGISTER_INPUT],
  create: (_o, sizeMs) => new UserRegisterLogic(sizeMs),
});

// --- trade_cart_add_uu ----------------------------------------------------------------------------------------

class CartAddUuLogic extends WindowLogic<number> {
  constructor(sizeMs: number) {
    super();
    this.win = new TumblingWindow<number>({ name: 'cart_add', output: TRAFFIC_TABLES.cartAdd, sizeMs, row: (_k, n) => ({ cart_add_uu_ct: n }) });
  }
  process(r: InputRecord, ctx: JobContext): void {
    const f = fact(r, ctx);
    if (!f) return;
    const user = text(f.user_id);
    if (user === null) {
      ctx.deadLetter('user_id: expected an id');
      return;
    }
    if (!firstOfDay(ctx, 'cart_add', user, f.ts)) return;
    this.win.add(ctx, f.ts, [], () => 0, (n) => n + 1);
  }
}

export const dwsTradeCartAddUuJob: JobSpec = dwsJob({
  short: 'trade_cart_add_uu',
  table: TRAFFIC_TABLES.cartAdd,
  description: 'users adding to the cart: a user counted once per day',
  inputs: [CART_ADD_INPUT],
  create: (_o, sizeMs) => new CartAddUuLogic(sizeMs),
});

/** The six traffic/user windows, in table order. */
export const DWS_TRAFFIC_JOBS: readonly JobSpec[] = [
  dwsTrafficSourceKeywordJob,
  dwsTrafficVcChArIsNewJob,
  dwsTrafficHomeDetailJob,
  dwsUserLoginJob,
  dwsUserRegisterJob,
  dwsTradeCartAddUuJob,
];
