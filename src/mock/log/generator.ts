/**
 * The app-log generator: one business day of sessions (app starts), each a start log followed by the page
 * logs of a weighted page path, as the gmall mock-log generator's JSON lines (keys in its alphabetical order).
 *
 * Time: the business date is a Beijing-time day (Asia/Shanghai, a fixed UTC+08:00 — China has no DST), the
 * same reading `mock db` gives its local datetimes. Session starts spread over the day by HOUR_WEIGHTS; the
 * first page shows after the start's loading_time, each next page when the previous one's during_time is
 * over, actions fall inside their page, and every record of every session lies inside the day.
 *
 * Order: lines come out sorted by ts across all sessions, as a live appender writes them. Sessions are open
 * state machines in a min-heap keyed by the ts of their next line; a line is generated only when it is the
 * earliest. (Concatenating whole sessions instead would put most records minutes behind the watermark of
 * an event-time job downstream.)
 *
 * Determinism: one seeded Rng stream for the sessions, one for the start times; the merge order depends only
 * on those, so the same options give the same bytes whatever the chunk sizes.
 */
import { Rng } from '../random';
import {
  ACTIVITY_DISPLAY_PAGES, ANDROID_CHANNELS, ANDROID_VERSIONS_2022, ANDROID_VERSIONS_2023, APP_VERSIONS, AREAS_2022,
  ERROR_MESSAGES, HOUR_WEIGHTS, IOS_CHANNEL, IOS_VERSIONS, MODELS_2022, MODELS_2023, PAGE_RENAMES_2023, PATHS,
  PROVINCE_IDS_2023, RANGES, RATES, SKU_DISPLAY_PAGES, SKU_DISPLAY_TYPES, SKU_IDS_PAGES, SKU_PAGES, START_ENTRIES,
  type Weighted,
} from './catalog';
import { frag, LogChunk } from './chunk';
import type { MockLogOptions } from './options';

/** Beijing time: the business day starts at 00:00 UTC+08:00. */
export const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Epoch ms of 00:00 Beijing time on `date` (YYYY-MM-DD). */
export function dayStartMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) - BEIJING_OFFSET_MS;
}

/** The longest line the generator can write, plus the longest keyword: the room fill() keeps free. */
const MAX_FIXED_LINE = 8192;

/**
 * Uniform integer in [0, n). Multiply-shift on one 32-bit draw instead of Rng.int's checks and rejection
 * loop: it is on the hot path (~40 draws per line). Exact for n ≤ 2^21 (the product stays below 2^53);
 * the bias is at most n / 2^32, far below anything a test or a chart could see. Larger n uses Rng.int.
 */
function below(rng: Rng, n: number): number {
  return n <= 0x200000 ? Math.floor((rng.u32() * n) / 4294967296) : rng.int(0, n - 1);
}

function between(rng: Rng, min: number, max: number): number {
  return min + below(rng, max - min + 1);
}

function chance(rng: Rng, percent: number): boolean {
  return below(rng, 10000) < Math.round(percent * 100);
}

/** Largest total weight a Table turns into a lookup array. */
const MAX_LUT = 1 << 16;

/** A weighted choice with its cumulative weights computed once. */
class Table<T> {
  readonly items: readonly T[];
  private readonly cum: Int32Array;
  private readonly total: number;
  /** Draw → item index, for small totals (the same choice as the scan over `cum`). */
  private readonly lut: Uint8Array | undefined;

  constructor(weighted: Weighted<T>) {
    this.items = weighted.map(([v]) => v);
    let t = 0;
    this.cum = Int32Array.from(weighted, ([, w]) => (t += w));
    this.total = t;
    if (t <= 0) throw new RangeError('a weighted table needs a positive total weight');
    // The catalog's weights add up to a few hundred: the item of every draw in one lookup instead of a scan.
    if (t <= MAX_LUT && this.items.length <= 256) {
      const lut = new Uint8Array(t);
      for (let i = 0, r = 0; r < t; r++) {
        while (r >= this.cum[i]!) i++;
        lut[r] = i;
      }
      this.lut = lut;
    }
  }

  pick(rng: Rng): T {
    const r = below(rng, this.total);
    const lut = this.lut;
    if (lut !== undefined) return this.items[lut[r]!]!;
    const cum = this.cum;
    let i = 0;
    while (r >= cum[i]!) i++;
    return this.items[i]!;
  }
}

const enum Kind {
  Other,
  Sku,
  SkuIds,
  Keyword,
}

/** A page id with its fragments encoded once. */
interface PageSpec {
  readonly id: string;
  readonly kind: Kind;
  readonly activities: boolean;
  readonly skuDisplays: boolean;
  /** `,"page_id":"home"` */
  readonly idFrag: Uint8Array;
  /** `,"last_page_id":"home"` for the page after this one */
  readonly lastFrag: Uint8Array;
}

/** A phone model with its common fragments: `Xiaomi","ch":"` and `","md":"Xiaomi 9","mid":"mid_`. */
interface ModelSpec {
  readonly ios: boolean;
  readonly ba: Uint8Array;
  readonly md: Uint8Array;
}

/** What a session's common object is built from (see AppLogGenerator.common). */
interface CommonHead {
  readonly area: Uint8Array;
  readonly model: ModelSpec;
  readonly ch: Uint8Array;
  readonly isNew: number;
  readonly midNo: number;
  readonly os: Uint8Array;
  readonly sid: Uint8Array;
  readonly uid: number;
  readonly vc: Uint8Array;
}

/** A common variant the session never writes. */
const NONE = new Uint8Array(0);

/** One session between its lines. */
interface Session {
  readonly seq: number;
  readonly midNo: number;
  /** `mid_<midNo>`, made when a bus producer first needs it as the record key. */
  mid: string | undefined;
  /** `{…common…},` encoded once, with the uid and without it (logged out); NONE where never written. */
  readonly commonIn: Uint8Array;
  readonly commonOut: Uint8Array;
  readonly path: readonly PageSpec[];
  /** Next line: 0 = the start log, k = path[k - 1]. */
  k: number;
  nextTs: number;
  loggedIn: boolean;
  lastSku: number;
  /** SKUs the last page displayed: (sku, pos_id, pos_seq) triples, `shownN` of them. */
  readonly shown: Int32Array;
  shownN: number;
  /** The SKUs of this session's checkout, "3,17,9", once drawn. */
  checkout: Uint8Array | undefined;
}

const MAX_SHOWN = 2 * RANGES.maxDisplayCount;
/** display() type code of an activity banner (after the three SKU display types). */
const ACTIVITY = 4;

const F = {
  common: frag('"common":'),
  actionsOpen: frag('"actions":['),
  actionsClose: frag('],"common":'),
  displaysOpen: frag('"displays":['),
  displaysClose: frag('],'),
  errOpen: frag('"err":{"error_code":'),
  errMsg: frag(',"msg":'),
  errClose: frag('},'),
  loading: frag('","loading_time":'),
  adId: frag(',"open_ad_id":'),
  adMs: frag(',"open_ad_ms":'),
  skipMs: frag(',"open_ad_skip_ms":'),
  startClose: frag('},"ts":'),
  pageOpen: frag('"page":{"during_time":'),
  fromPos: frag(',"from_pos_id":'),
  fromSeq: frag(',"from_pos_seq":'),
  item: frag(',"item":"'),
  itemSku: frag('","item_type":"sku_id"'),
  itemSkuIds: frag('","item_type":"sku_ids"'),
  refer: frag(',"refer_id":"'),
  pageClose: frag('},"ts":'),
  actFavor: frag('{"action_id":"favor_add","item":"'),
  actCart: frag('{"action_id":"cart_add","item":"'),
  actCartAddNum: frag('{"action_id":"cart_add_num","item":"'),
  actCartMinusNum: frag('{"action_id":"cart_minus_num","item":"'),
  actCartRemove: frag('{"action_id":"cart_remove","item":"'),
  actFavorCancel: frag('{"action_id":"favor_canel","item":"'),
  actCoupon: frag('{"action_id":"get_coupon","item":"'),
  actSkuTs: frag('","item_type":"sku_id","ts":'),
  actCouponTs: frag('","item_type":"coupon_id","ts":'),
  actAddress: frag('{"action_id":"trade_add_address","ts":'),
  sid: frag(',"sid":"'),
  uid: frag(',"uid":"'),
  dispActivity: frag('{"display_type":"activity","item":"'),
  dispActivityOrder: frag('","item_type":"activity_id","order":'),
  dispSkuOrder: frag('","item_type":"sku_id","order":'),
  dispPos: frag(',"pos_id":'),
  disp23: frag('{"item":"'),
  disp23Pos: frag('","item_type":"sku_id","pos_id":'),
  disp23Seq: frag(',"pos_seq":'),
} as const;

const COMMA = 44;
const QUOTE = 34;
const OPEN = 123; // {
const CLOSE = 125; // }

/** Action kinds, in the order the generator decides them. */
const enum Act {
  Favor,
  Cart,
  Coupon,
  CartAddNum,
  CartMinusNum,
  CartRemove,
  Address,
  FavorCancel,
}

export class AppLogGenerator {
  readonly dayStart: number;
  /** Sessions in the day. */
  readonly sessions: number;
  private readonly rng: Rng;
  private readonly starts: Int32Array;
  private nextStart = 0;
  private readonly heap: Session[] = [];
  private readonly is2023: boolean;
  private readonly maxLine: number;

  private readonly paths: Table<readonly PageSpec[]>;
  /** The paths that go through `login`. */
  private readonly loginPaths: ReadonlySet<readonly PageSpec[]>;
  // Common fields as the fragments between their values (see open()).
  private readonly areas: Table<Uint8Array>;
  private readonly models: Table<ModelSpec>;
  private readonly channels = new Table(ANDROID_CHANNELS.map(([c, w]) => [frag(`${c}","is_new":"`), w] as const));
  private readonly iosChannel = frag(`${IOS_CHANNEL}","is_new":"`);
  private readonly iosVersions = new Table(IOS_VERSIONS.map(([v, w]) => [frag(`","os":"${v}"`), w] as const));
  private readonly androidVersions: Table<Uint8Array>;
  private readonly appVersions = new Table(APP_VERSIONS.map(([v, w]) => [frag(`,"vc":"${v}"},`), w] as const));
  private readonly scratch = new LogChunk(4096);
  /** Whole display objects by their values, built on first use (see displays()). */
  private readonly displayCache: (Uint8Array | undefined)[] = [];
  private readonly cacheDisplays: boolean;
  /** `"start":{"entry":"icon` per entry */
  private readonly entries: Table<Uint8Array>;
  /** `{"display_type":"query","item":"` per display type */
  private readonly skuDisplayOpen: Uint8Array[];
  /** 1 + index into skuDisplayOpen */
  private readonly skuDisplayTypes: Table<number>;
  /** `,"source_type":"query"` per source type */
  private readonly sourceTypes: Table<Uint8Array>;
  /** `,"item":"图书","item_type":"keyword"` per keyword */
  private readonly keywords: Uint8Array[];
  /** the msg values, JSON-quoted */
  private readonly errMsgs: Uint8Array[];

  // Scratch for one page's actions (at most 3).
  private readonly actKind = new Int32Array(4);
  private readonly actItem = new Int32Array(4);

  constructor(private readonly opts: MockLogOptions) {
    this.is2023 = opts.format === '2023';
    this.dayStart = dayStartMs(opts.date);
    this.sessions = opts.startupCount;
    const root = new Rng(opts.seed);
    const startRng = root.fork('starts');
    this.rng = root.fork('sessions');

    const specs = new Map<string, PageSpec>();
    const spec = (raw: string): PageSpec => {
      const id = this.is2023 ? (PAGE_RENAMES_2023[raw] ?? raw) : raw;
      let s = specs.get(id);
      if (!s) {
        const kind = SKU_PAGES.has(raw) ? Kind.Sku : SKU_IDS_PAGES.has(raw) ? Kind.SkuIds : raw === 'good_list' ? Kind.Keyword : Kind.Other;
        s = {
          id,
          kind,
          activities: !this.is2023 && ACTIVITY_DISPLAY_PAGES.has(raw),
          skuDisplays: SKU_DISPLAY_PAGES.has(raw),
          idFrag: frag(`,"page_id":${JSON.stringify(id)}`),
          lastFrag: frag(`,"last_page_id":${JSON.stringify(id)}`),
        };
        specs.set(id, s);
      }
      return s;
    };
    this.paths = new Table(PATHS.map(([path, w]) => [path.map(spec), w] as const));
    this.loginPaths = new Set(this.paths.items.filter((p) => p.some((page) => page.id === 'login')));
    const areas = this.is2023 ? PROVINCE_IDS_2023.map((id) => [id, 1] as const) : AREAS_2022;
    this.areas = new Table(areas.map(([a, w]) => [frag(`{"ar":"${a}","ba":"`), w] as const));
    this.models = new Table(
      (this.is2023 ? MODELS_2023 : MODELS_2022).map(([md, w]) => {
        const ba = md.slice(0, md.indexOf(' '));
        return [{ ios: ba === 'iPhone', ba: frag(`${ba}","ch":"`), md: frag(`","md":"${md}","mid":"mid_`) }, w] as const;
      }),
    );
    this.androidVersions = new Table((this.is2023 ? ANDROID_VERSIONS_2023 : ANDROID_VERSIONS_2022).map(([v, w]) => [frag(`","os":"${v}"`), w] as const));
    // Bounded so a huge --max-sku-id cannot turn the cache into a memory hog (it then writes piece by piece).
    this.cacheDisplays = opts.maxSkuId <= 2000;
    // Filled up front so the array stays dense (sparse writes would turn it into a slow dictionary).
    if (this.cacheDisplays) this.displayCache = new Array<Uint8Array | undefined>((ACTIVITY + 1) * 11 * 13 * (opts.maxSkuId + 1)).fill(undefined);
    this.entries = new Table(START_ENTRIES.map(([e, w]) => [frag(`"start":{"entry":"${e}`), w] as const));
    this.skuDisplayOpen = SKU_DISPLAY_TYPES.map(([t]) => frag(`{"display_type":"${t}","item":"`));
    this.skuDisplayTypes = new Table(SKU_DISPLAY_TYPES.map(([, w], i) => [i + 1, w] as const));
    const [query, promotion, recommend, activity] = opts.sourceTypeRate;
    this.sourceTypes = new Table(
      ([['query', query], ['promotion', promotion], ['recommend', recommend], ['activity', activity]] as const).map(
        ([t, w]) => [frag(`,"source_type":"${t}"`), w] as const,
      ),
    );
    this.keywords = opts.keywords.map((k) => frag(`,"item":${JSON.stringify(k)},"item_type":"keyword"`));
    this.errMsgs = ERROR_MESSAGES.map((m) => frag(JSON.stringify(m)));
    this.maxLine = MAX_FIXED_LINE + Math.max(...this.keywords.map((k) => k.length));

    // Every session must end inside the day: starts stop early by the longest a session can last.
    const longestPath = Math.max(...PATHS.map(([p]) => p.length));
    const lastStart = DAY_MS - 1 - (RANGES.loadingTime[1] + longestPath * opts.pageDuringTimeMs);
    const hours = new Table(HOUR_WEIGHTS.map((w, h) => [h, w] as const));
    this.starts = new Int32Array(opts.startupCount);
    for (let i = 0; i < this.starts.length; i++) {
      let t: number;
      do t = hours.pick(startRng) * HOUR_MS + below(startRng, HOUR_MS);
      while (t > lastStart);
      this.starts[i] = t;
    }
    this.starts.sort();
  }

  get done(): boolean {
    return this.nextStart >= this.starts.length && this.heap.length === 0;
  }

  /**
   * Writes lines into `out` in ts order until it holds `maxLines` lines or is nearly full; returns how many
   * it added (0 once the day is complete).
   */
  fill(out: LogChunk, maxLines: number): number {
    const heap = this.heap;
    const starts = this.starts;
    const before = out.lines;
    while (out.lines < maxLines) {
      let top = heap[0];
      if (this.nextStart < starts.length && (top === undefined || this.dayStart + starts[this.nextStart]! <= top.nextTs)) {
        this.push(this.open(this.dayStart + starts[this.nextStart]!, this.nextStart));
        this.nextStart++;
        continue;
      }
      if (top === undefined) break;
      if (out.pos + this.maxLine > out.buf.length) {
        if (out.lines > before) break;
        out.reserve(this.maxLine);
      }
      this.writeNext(top, out);
      if (top.k > top.path.length) {
        top = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = top;
          this.siftDown(0);
        }
      } else this.siftDown(0);
    }
    return out.lines - before;
  }

  private push(s: Session): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(s);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.nextTs < s.nextTs || (parent.nextTs === s.nextTs && parent.seq < s.seq)) break;
      heap[i] = parent;
      i = p;
    }
    heap[i] = s;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const s = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let child = heap[c]!;
      if (c + 1 < n) {
        const right = heap[c + 1]!;
        if (right.nextTs < child.nextTs || (right.nextTs === child.nextTs && right.seq < child.seq)) {
          c++;
          child = right;
        }
      }
      if (s.nextTs < child.nextTs || (s.nextTs === child.nextTs && s.seq < child.seq)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = s;
  }

  /** A new session at `t0`: the device, the app build, the path and whether the visitor is logged in. */
  private open(t0: number, seq: number): Session {
    const rng = this.rng;
    const o = this.opts;
    // {"ar":"…","ba":"…","ch":"…","is_new":"…","md":"…","mid":"mid_…","os":"…"[,"sid":"…"][,"uid":"…"],"vc":"…"},
    const model = this.models.pick(rng);
    const area = this.areas.pick(rng);
    const ch = model.ios ? this.iosChannel : this.channels.pick(rng);
    const isNew = chance(rng, RATES.isNew) ? 49 : 48;
    const midNo = 1 + below(rng, o.maxMid);
    const os = (model.ios ? this.iosVersions : this.androidVersions).pick(rng);
    const sc = this.scratch;
    sc.reset();
    if (this.is2023) writeUuid(sc, rng);
    const sid = sc.copy(0, sc.pos);
    const uid = 1 + below(rng, o.maxUid);
    const vc = this.appVersions.pick(rng);
    const path = this.paths.pick(rng);
    // A path through `login` starts logged out and carries the uid from the page after login on.
    const throughLogin = this.loginPaths.has(path);
    const loggedIn = !throughLogin && chance(rng, RATES.loggedInAtStart);
    // Only the variants the session will write (the draws above are the same either way).
    const head = { area, model, ch, isNew, midNo, os, sid, uid, vc };
    const commonIn = loggedIn || throughLogin ? this.common(head, true) : NONE;
    const commonOut = loggedIn ? NONE : this.common(head, false);
    return {
      seq,
      midNo,
      mid: undefined,
      commonIn,
      commonOut,
      path,
      k: 0,
      nextTs: t0,
      loggedIn,
      lastSku: 0,
      shown: new Int32Array(MAX_SHOWN * 3),
      shownN: 0,
      checkout: undefined,
    };
  }

  /** `{"ar":…,"vc":…},` of a session, with or without its uid. */
  private common(h: CommonHead, withUid: boolean): Uint8Array {
    const sc = this.scratch;
    sc.reset();
    sc.f(h.area);
    sc.f(h.model.ba);
    sc.f(h.ch);
    sc.byte(h.isNew);
    sc.f(h.model.md);
    sc.uint(h.midNo);
    sc.f(h.os);
    if (this.is2023) {
      sc.f(F.sid);
      sc.f(h.sid);
      sc.byte(QUOTE);
    }
    if (withUid) {
      sc.f(F.uid);
      sc.uint(h.uid);
      sc.byte(QUOTE);
    }
    sc.f(h.vc);
    return sc.copy(0, sc.pos);
  }

  /** Writes the session's next line and moves it on. */
  private writeNext(s: Session, out: LogChunk): void {
    const rng = this.rng;
    const t = s.nextTs;
    if (s.k === 0) {
      // {"common":{…},["err":{…},]"start":{…},"ts":…}
      const openAdMs = between(rng, RANGES.openAdMs[0], RANGES.openAdMs[1]);
      const skipMs = chance(rng, 50) ? 0 : between(rng, RANGES.openAdMs[0], openAdMs);
      const loading = between(rng, RANGES.loadingTime[0], RANGES.loadingTime[1]);
      out.byte(OPEN);
      out.f(F.common);
      out.f(s.loggedIn ? s.commonIn : s.commonOut);
      this.err(out);
      out.f(this.entries.pick(rng));
      out.f(F.loading);
      out.uint(loading);
      out.f(F.adId);
      out.uint(1 + below(rng, RANGES.openAdIdMax));
      out.f(F.adMs);
      out.uint(openAdMs);
      out.f(F.skipMs);
      out.uint(skipMs);
      out.f(F.startClose);
      out.uint(t);
      out.byte(CLOSE);
      out.endLine(out.meta ? (s.mid ??= `mid_${s.midNo}`) : '');
      s.k = 1;
      s.nextTs = t + loading;
      return;
    }

    const o = this.opts;
    const page = s.path[s.k - 1]!;
    const last = s.k >= 2 ? s.path[s.k - 2] : undefined;
    const during = between(rng, 1000, o.pageDuringTimeMs);

    // page.item: the SKU clicked on the previous page when it showed any.
    let sku = 0;
    let fromPos = -1;
    let fromSeq = 0;
    if (page.kind === Kind.Sku) {
      if (page.id !== 'good_detail' && s.lastSku > 0) sku = s.lastSku;
      else if (page.id === 'good_detail' && s.shownN > 0) {
        const j = below(rng, s.shownN) * 3;
        sku = s.shown[j]!;
        fromPos = s.shown[j + 1]!;
        fromSeq = s.shown[j + 2]!;
      } else sku = 1 + below(rng, o.maxSkuId);
    }
    s.lastSku = sku;
    const source = page.kind === Kind.Sku && !this.is2023 ? this.sourceTypes.pick(rng) : undefined;

    const nActs = this.decideActions(page.id, sku);
    out.byte(OPEN);
    if (nActs > 0) {
      out.f(F.actionsOpen);
      const step = Math.floor(during / (nActs + 1));
      for (let a = 0; a < nActs; a++) {
        if (a > 0) out.byte(COMMA);
        this.writeAction(out, this.actKind[a]!, this.actItem[a]!, t + (a + 1) * step);
      }
      out.f(F.actionsClose);
    } else out.f(F.common);
    out.f(s.loggedIn ? s.commonIn : s.commonOut);
    this.displays(page, s, out);
    this.err(out);

    out.f(F.pageOpen);
    out.uint(during);
    if (fromPos >= 0 && this.is2023) {
      out.f(F.fromPos);
      out.uint(fromPos);
      out.f(F.fromSeq);
      out.uint(fromSeq);
    }
    if (page.kind === Kind.Sku) {
      out.f(F.item);
      out.uint(sku);
      out.f(F.itemSku);
    } else if (page.kind === Kind.Keyword) {
      out.f(this.keywords[below(rng, this.keywords.length)]!);
    } else if (page.kind === Kind.SkuIds) {
      s.checkout ??= this.skuIds();
      out.f(F.item);
      out.f(s.checkout);
      out.f(F.itemSkuIds);
    }
    if (last) out.f(last.lastFrag);
    out.f(page.idFrag);
    if (source) out.f(source);
    if (this.is2023 && !last) {
      out.f(F.refer);
      out.uint(1 + below(rng, RANGES.referIdMax));
      out.byte(QUOTE);
    }
    out.f(F.pageClose);
    out.uint(t);
    out.byte(CLOSE);
    out.endLine(out.meta ? (s.mid ??= `mid_${s.midNo}`) : '');

    if (page.id === 'login') s.loggedIn = true;
    s.k++;
    s.nextTs = t + during;
  }

  /** 1..3 distinct SKUs, "5,12,9". */
  private skuIds(): Uint8Array {
    const rng = this.rng;
    const max = this.opts.maxSkuId;
    const n = 1 + below(rng, 3);
    const a = 1 + below(rng, max);
    if (n === 1) return frag(String(a));
    let b = a;
    while (b === a) b = 1 + below(rng, max);
    if (n === 2) return frag(`${a},${b}`);
    let c = a;
    while (c === a || c === b) c = 1 + below(rng, max);
    return frag(`${a},${b},${c}`);
  }

  /** `"err":{…},` with the error rate. */
  private err(out: LogChunk): void {
    const rng = this.rng;
    if (!chance(rng, this.opts.errorRate)) return;
    out.f(F.errOpen);
    out.uint(between(rng, RANGES.errorCode[0], RANGES.errorCode[1]));
    out.f(F.errMsg);
    out.f(this.errMsgs[below(rng, this.errMsgs.length)]!);
    out.f(F.errClose);
  }

  /** Draws the page's actions into the scratch arrays; returns how many. */
  private decideActions(pageId: string, sku: number): number {
    const rng = this.rng;
    const o = this.opts;
    const kind = this.actKind;
    const item = this.actItem;
    let n = 0;
    switch (pageId) {
      case 'good_detail':
        if (chance(rng, RATES.favorAdd)) (kind[n] = Act.Favor), (item[n++] = sku);
        if (chance(rng, RATES.cartAdd)) (kind[n] = Act.Cart), (item[n++] = sku);
        if (chance(rng, o.getCouponRate)) (kind[n] = Act.Coupon), (item[n++] = 1 + below(rng, o.maxCouponId));
        break;
      case 'cart':
        if (chance(rng, RATES.cartAddNum)) (kind[n] = Act.CartAddNum), (item[n++] = 1 + below(rng, o.maxSkuId));
        if (chance(rng, RATES.cartMinusNum)) (kind[n] = Act.CartMinusNum), (item[n++] = 1 + below(rng, o.maxSkuId));
        if (chance(rng, RATES.cartRemove)) (kind[n] = Act.CartRemove), (item[n++] = 1 + below(rng, o.maxSkuId));
        break;
      case 'trade':
      case 'order':
        if (chance(rng, RATES.tradeAddAddress)) (kind[n] = Act.Address), (item[n++] = 0);
        break;
      case 'favor':
        if (chance(rng, RATES.favorCancel)) for (let k = 0; k < 3; k++) (kind[n] = Act.FavorCancel), (item[n++] = 1 + below(rng, o.maxSkuId));
        break;
    }
    return n;
  }

  private writeAction(out: LogChunk, kind: number, item: number, ts: number): void {
    if (kind === Act.Address) {
      out.f(F.actAddress);
    } else {
      out.f(
        kind === Act.Favor ? F.actFavor
        : kind === Act.Cart ? F.actCart
        : kind === Act.Coupon ? F.actCoupon
        : kind === Act.CartAddNum ? F.actCartAddNum
        : kind === Act.CartMinusNum ? F.actCartMinusNum
        : kind === Act.CartRemove ? F.actCartRemove
        : F.actFavorCancel,
      );
      out.uint(item);
      out.f(kind === Act.Coupon ? F.actCouponTs : F.actSkuTs);
    }
    out.uint(ts);
    out.byte(CLOSE);
  }

  /** `"displays":[…],` for the page, remembering the SKUs shown for the next page's click. */
  private displays(page: PageSpec, s: Session, out: LogChunk): void {
    s.shownN = 0;
    if (!page.activities && !page.skuDisplays) return;
    const rng = this.rng;
    const maxSku = this.opts.maxSkuId;
    const shown = s.shown;
    let n = 0;
    out.f(F.displaysOpen);
    if (this.is2023) {
      // 2023: goods in one or two display positions, each numbered from pos_seq 0.
      const positions = 1 + below(rng, 2);
      let prevPos = 0;
      for (let p = 0; p < positions; p++) {
        let posId = 1 + below(rng, RANGES.maxPosId2023);
        if (posId === prevPos) posId = (posId % RANGES.maxPosId2023) + 1;
        prevPos = posId;
        const count = between(rng, RANGES.minDisplayCount, RANGES.maxDisplayCount);
        for (let k = 0; k < count; k++) {
          const sku = 1 + below(rng, maxSku);
          if (n > 0) out.byte(COMMA);
          this.display(out, 0, sku, posId, k);
          shown[n * 3] = sku;
          shown[n * 3 + 1] = posId;
          shown[n * 3 + 2] = k;
          n++;
        }
      }
    } else {
      let order = 0;
      if (page.activities) {
        const count = 1 + below(rng, RANGES.maxActivityCount);
        const posId = 1 + below(rng, RANGES.maxPosId2022);
        for (let k = 0; k < count; k++) {
          if (order++ > 0) out.byte(COMMA);
          this.display(out, ACTIVITY, 1 + below(rng, RANGES.maxActivityCount), posId, order);
        }
      }
      const count = between(rng, RANGES.minDisplayCount, RANGES.maxDisplayCount);
      for (let k = 0; k < count; k++) {
        const sku = 1 + below(rng, maxSku);
        const posId = 1 + below(rng, RANGES.maxPosId2022);
        if (order++ > 0) out.byte(COMMA);
        this.display(out, this.skuDisplayTypes.pick(rng), sku, posId, order);
        shown[n * 3] = sku;
        shown[n * 3 + 1] = posId;
        shown[n * 3 + 2] = order;
        n++;
      }
    }
    out.f(F.displaysClose);
    s.shownN = n;
  }

  /**
   * One display object. With few SKUs the whole object comes from a cache keyed by its values: one copy
   * instead of seven writes (a displays page has up to twelve of them).
   * `type`: 0 for 2023 (no display_type), else 1 + index in SKU_DISPLAY_TYPES, or ACTIVITY.
   * `seq`: 2022 order (1..12) or 2023 pos_seq (0..9).
   */
  private display(out: LogChunk, type: number, item: number, posId: number, seq: number): void {
    if (!this.cacheDisplays) {
      this.writeDisplay(out, type, item, posId, seq);
      return;
    }
    // type < 5, pos_id ≤ 10, seq ≤ 12: a dense index.
    const key = ((type * 11 + posId) * 13 + seq) * (this.opts.maxSkuId + 1) + item;
    let b = this.displayCache[key];
    if (b === undefined) {
      const sc = this.scratch;
      sc.reset();
      this.writeDisplay(sc, type, item, posId, seq);
      b = sc.copy(0, sc.pos);
      this.displayCache[key] = b;
    }
    out.f(b);
  }

  private writeDisplay(out: LogChunk, type: number, item: number, posId: number, seq: number): void {
    if (type === 0) {
      out.f(F.disp23);
      out.uint(item);
      out.f(F.disp23Pos);
      out.uint(posId);
      out.f(F.disp23Seq);
      out.uint(seq);
    } else {
      out.f(type === ACTIVITY ? F.dispActivity : this.skuDisplayOpen[type - 1]!);
      out.uint(item);
      out.f(type === ACTIVITY ? F.dispActivityOrder : F.dispSkuOrder);
      out.uint(seq);
      out.f(F.dispPos);
      out.uint(posId);
    }
    out.byte(CLOSE);
  }
}

const HEX = frag('0123456789abcdef');

/**
 * Writes the same text as `rng.uuid()` (same draws, same layout) straight as bytes: the 2023 shape needs one
 * per session and the string version cost more than the rest of the common object.
 */
export function writeUuid(out: LogChunk, rng: Rng): void {
  const a = rng.u32();
  const b = rng.u32();
  const c = rng.u32();
  const d = rng.u32();
  const nib = (x: number, i: number) => HEX[(x >>> (28 - 4 * i)) & 15]!;
  for (let i = 0; i < 8; i++) out.byte(nib(a, i));
  out.byte(45);
  for (let i = 0; i < 4; i++) out.byte(nib(b, i));
  out.byte(45);
  out.byte(52); // version 4
  for (let i = 5; i < 8; i++) out.byte(nib(b, i));
  out.byte(45);
  out.byte(HEX[((c >>> 28) & 3) | 8]!); // variant 10xx
  for (let i = 1; i < 4; i++) out.byte(nib(c, i));
  out.byte(45);
  for (let i = 4; i < 8; i++) out.byte(nib(c, i));
  for (let i = 0; i < 8; i++) out.byte(nib(d, i));
}
