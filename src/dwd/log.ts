/**
 * `rtwh run dwd log`: ods_log → the traffic fact topics (gmall's DwdTrafficBaseLogSplit, DwdTrafficUniqueVisitorDetail
 * and DwdTrafficUserJumpDetail, as one job). Pure logic over records: no I/O (see src/stream/types.ts).
 *
 * Per good line (a JSON object with common{mid} and epoch-ms ts, a start log or a page log):
 *
 * 1. is_new correction, keyed by mid, state `first_visit` = the Beijing date (UTC+08:00) of the first visit:
 *      is_new "1": state empty → state = today;  state ≠ today → is_new becomes "0"
 *      is_new anything else: state empty → state = yesterday (an old visitor seen for the first time)
 *    No TTL: the state is what makes the correction survive restarts.
 * 2. err: a line with `err` goes to the err topic whole (after the correction); then `err` is dropped and the
 *    line is split like any other (gmall 2022 DwdTrafficBaseLogSplit: err first, `jsonObj.remove("err")`, then
 *    start or page).
 * 3. start lines → start topic as they are (minus err).
 *    page lines → page topic without displays/actions (and err);
 *      each display → {common, page, display, ts}   (record time = the page's ts)
 *      each action  → {common, page, action}        (the action keeps its own ts, which is the record time)
 *    Nested, as gmall 2022/2023 write them: copying the fields flat would let page.item/item_type overwrite
 *    the display's own item/item_type.
 * 4. unique visitor: the first page record of a mid per Beijing day (state `uv` = that day, TTL one day of
 *    event time). A page of an EARLIER day than the state (a late record across midnight) is not emitted
 *    (counted `uv_earlier_day`): emitting it would make the next page of the later day a second "first".
 * 5. user jump: gmall 2022's CEP pattern, per mid in event-time order:
 *      begin(first: last_page_id null).next(second: last_page_id null).within(10 s)
 *    emits `first` both when it matches (a session start strictly followed by another session start within
 *    10 s) and when it times out (no page at all within 10 s); a session start followed within 10 s by any
 *    other page is not a jump. Like Flink's CepOperator: pages are buffered in keyed state until the watermark
 *    passes them, then replayed in ts order; a partial match times out once the watermark reaches start + 10 s
 *    (a timer, so it also closes when the stream goes idle); a page at or below the watermark is late, skipped
 *    by the pattern and counted `user_jump_late` (it still goes to the page topic).
 *
 * Every output is keyed by mid; values are JSON text. Unchanged records are forwarded as the bytes they came in;
 * displays and actions share their page's `{"common":…,"page":…,` (a HeadTail: encoded once per page).
 */
import { validateAppLog } from '../formats/applog';
import { resolveOptions } from '../stream/engine';
import { HeadTail, type InputRecord, type JobContext, type JobLogic, type JobOption, type JobSpec } from '../stream/types';
import { topicNameProblem } from '../bus/topic-name';

export const DWD_LOG_JOB = 'dwd log';

/** Logical output names (ctx.emit) → the option naming the topic. */
export const DWD_LOG_OUTPUTS = {
  start: 'start-topic',
  page: 'page-topic',
  display: 'display-topic',
  action: 'action-topic',
  err: 'err-topic',
  unique_visitor: 'unique-visitor-topic',
  user_jump: 'user-jump-topic',
} as const;

export type DwdLogOutput = keyof typeof DWD_LOG_OUTPUTS;
export type TopicStyle = '2022' | '2023';

/** The five split topics: 2022-08 gmall names, or the 2023 `_log` names (gmall2023 Constant.TOPIC_DWD_TRAFFIC_*). */
export const SPLIT_TOPICS: Readonly<Record<TopicStyle, Readonly<Record<'start' | 'page' | 'display' | 'action' | 'err', string>>>> = {
  '2022': { start: 'dwd_traffic_start', page: 'dwd_traffic_page', display: 'dwd_traffic_display', action: 'dwd_traffic_action', err: 'dwd_traffic_err' },
  '2023': {
    start: 'dwd_traffic_start_log',
    page: 'dwd_traffic_page_log',
    display: 'dwd_traffic_display_log',
    action: 'dwd_traffic_action_log',
    err: 'dwd_traffic_err_log',
  },
};

export const UNIQUE_VISITOR_TOPIC = 'dwd_traffic_unique_visitor_detail';
export const USER_JUMP_TOPIC = 'dwd_traffic_user_jump_detail';

/** The user-jump window (gmall 2022: `.within(Time.seconds(10))`). */
export const USER_JUMP_WINDOW_MS = 10_000;
const DAY_MS = 86_400_000;
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** State namespaces. */
export const NS = { firstVisit: 'first_visit', uv: 'uv', jump: 'jump' } as const;
const JUMP_TIMER = 'jump';

const OPTIONS: JobOption[] = [
  { name: 'input-topic', description: 'the app log topic to read', default: 'ods_log', check: topicNameProblem },
  {
    name: 'topic-style',
    description: 'default names of the five split topics: 2022 (dwd_traffic_page …) or 2023 (dwd_traffic_page_log …)',
    default: '2022',
    check: (v) => (v === '2022' || v === '2023' ? undefined : 'expected 2022 or 2023'),
  },
  { name: 'start-topic', description: 'start logs', default: SPLIT_TOPICS['2022'].start, check: topicNameProblem },
  { name: 'page-topic', description: 'page logs without displays and actions', default: SPLIT_TOPICS['2022'].page, check: topicNameProblem },
  { name: 'display-topic', description: 'one record per display: {common, page, display, ts}', default: SPLIT_TOPICS['2022'].display, check: topicNameProblem },
  { name: 'action-topic', description: 'one record per action: {common, page, action} (the action keeps its ts)', default: SPLIT_TOPICS['2022'].action, check: topicNameProblem },
  { name: 'err-topic', description: 'lines carrying err, whole', default: SPLIT_TOPICS['2022'].err, check: topicNameProblem },
  { name: 'unique-visitor-topic', description: 'the first page of a mid per (Beijing) day', default: UNIQUE_VISITOR_TOPIC, check: topicNameProblem },
  { name: 'user-jump-topic', description: 'session starts followed by no page within 10 s, or by another session start', default: USER_JUMP_TOPIC, check: topicNameProblem },
];

/**
 * The job's options with `--topic-style` applied: a split-topic option that was not given takes the style's name.
 * (The generic resolveOptions only knows fixed defaults; the runtime/CLI should call this for `dwd log`.)
 */
/** `--topic-style 2023` names the split topics the 2023 way unless they are given one by one. */
function styledTopics(given: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const style = given['topic-style'] ?? '2022';
  const styled: Record<string, string> = {};
  if (style === '2022' || style === '2023') {
    for (const [out, name] of Object.entries(SPLIT_TOPICS[style])) styled[`${out}-topic`] = name;
  }
  return styled;
}

/** The job's options with the declared defaults and the topic style applied (what the runtime resolves). */
export function resolveDwdLogOptions(given: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  return resolveOptions(dwdLogJob, given);
}

export const dwdLogJob: JobSpec = {
  name: DWD_LOG_JOB,
  description: 'ods_log → start/page/display/action/err topics, unique visitors and user jumps (is_new corrected by mid)',
  inputs: [{ name: 'ods_log', topicOption: 'input-topic' }],
  // each output partition takes one ods_log partition's records in their order (see JobOutput.partitionsLike)
  outputs: (Object.keys(DWD_LOG_OUTPUTS) as DwdLogOutput[]).map((name) => ({ name, topicOption: DWD_LOG_OUTPUTS[name], partitionsLike: 'ods_log' })),
  options: OPTIONS,
  derivedOptions: styledTopics,
  outOfOrdernessMs: 3000,
  create: () => new DwdLogLogic(),
};

/** One buffered page of the user-jump pattern: [ts, the page record if it is a session start, else null]. */
type JumpEvent = [number, string | null];

/** Keyed state of the user-jump pattern for one mid (plain JSON: the runtime persists it as text). */
export interface JumpState {
  /** Pages not yet reached by the watermark, in ts order (ties: arrival order). */
  b: JumpEvent[];
  /** The pending partial match: the session start waiting for its next page. */
  p: JumpEvent | null;
  /** The time of the one timer registered for this mid, or null. */
  t: number | null;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Beijing date of an epoch-ms instant, "YYYY-MM-DD"; remembers the last day asked (lines come in ts order). */
class BeijingDates {
  private day = NaN;
  private text = '';

  dayOf(ts: number): number {
    return Math.floor((ts + BEIJING_OFFSET_MS) / DAY_MS);
  }

  dateOf(ts: number): string {
    const day = Math.floor((ts + BEIJING_OFFSET_MS) / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    }
    return this.text;
  }
}

/** A session start: no last_page_id (absent, null or empty, as gmall's `getString(...) == null` and lzc's length check). */
function isSessionStart(page: Obj): boolean {
  const last = page.last_page_id;
  return last === undefined || last === null || last === '';
}

const KEY_TEXT: Record<string, string> = {};
function keyText(k: string): string {
  return (KEY_TEXT[k] ??= `${JSON.stringify(k)}:`);
}

/**
 * Mirrors of keyed state that save the engine's namespaced lookup on the hot path. Exact by construction: a
 * first-visit date never changes once written and has no TTL; a jump state object is the very object stored in
 * the engine (every change is put back, every delete mirrored). A new logic starts empty (after a restore it
 * falls back to the state). Bounded: cleared when full, which only costs lookups.
 */
const MIRROR_MAX = 1 << 18;

class DwdLogLogic implements JobLogic {
  private readonly dates = new BeijingDates();
  private readonly yesterday = new BeijingDates();
  private readonly firstVisit = new Map<string, string>();
  private readonly jumps = new Map<string, JumpState>();

  process(r: InputRecord, ctx: JobContext): void {
    const text = r.value;
    if (text === null) {
      ctx.deadLetter('(record): expected a JSON object, got a tombstone (no value)');
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      ctx.deadLetter(`(record): not JSON (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    // The fields the job cannot do without; anything else wrong is passed on as it came (see deadReason).
    if (!isObj(obj)) return this.dead(ctx, obj);
    const common = obj.common;
    if (!isObj(common)) return this.dead(ctx, obj);
    const mid = common.mid;
    const ts = obj.ts;
    if (typeof mid !== 'string' || mid.length === 0 || typeof ts !== 'number' || !Number.isInteger(ts) || ts < 1e12 || ts >= 1e13) return this.dead(ctx, obj);
    const start = obj.start;
    const page = obj.page;
    if ((start === undefined) === (page === undefined)) return this.dead(ctx, obj);
    if (start !== undefined && !isObj(start)) return this.dead(ctx, obj);
    if (page !== undefined && (!isObj(page) || typeof page.page_id !== 'string' || page.page_id.length === 0)) return this.dead(ctx, obj);
    const displays = obj.displays;
    const actions = obj.actions;
    if ((displays !== undefined && !Array.isArray(displays)) || (actions !== undefined && !Array.isArray(actions))) return this.dead(ctx, obj);

    ctx.observe(ts);
    const fixed = this.fixIsNew(common, mid, ts, ctx);

    const err = obj.err;
    const hasErrKey = err !== undefined;
    if (hasErrKey && err !== null) ctx.emit('err', mid, fixed ? JSON.stringify(obj) : text, ts);

    if (start !== undefined) {
      ctx.emit('start', mid, fixed || hasErrKey ? this.serialise(obj, JSON.stringify(common), undefined, false) : text, ts);
      return;
    }

    const pageObj = page as Obj;
    const pageText = JSON.stringify(pageObj);
    const nd = displays === undefined ? 0 : displays.length;
    const na = actions === undefined ? 0 : actions.length;
    let commonText: string | undefined;
    if (nd + na > 0) {
      commonText = JSON.stringify(common);
      const head = `{"common":${commonText},"page":${pageText},`;
      if (nd > 0) {
        const tail = `,"ts":${ts}}`;
        for (let i = 0; i < nd; i++) {
          const d = displays![i];
          if (!isObj(d)) ctx.count('display_not_object');
          else ctx.emit('display', mid, new HeadTail(head, `"display":${JSON.stringify(d)}${tail}`), ts);
        }
      }
      for (let i = 0; i < na; i++) {
        const a = actions![i];
        if (!isObj(a)) {
          ctx.count('action_not_object');
          continue;
        }
        let ats = a.ts;
        if (typeof ats !== 'number' || !Number.isFinite(ats)) {
          ctx.count('action_without_ts');
          ats = ts;
        }
        ctx.emit('action', mid, new HeadTail(head, `"action":${JSON.stringify(a)}}`), ats as number);
      }
    }
    const pageRecord = fixed || hasErrKey || displays !== undefined || actions !== undefined ? this.serialise(obj, commonText ?? JSON.stringify(common), pageText, true) : text;
    ctx.emit('page', mid, pageRecord, ts);

    this.uniqueVisitor(mid, ts, pageRecord, ctx);
    this.userJump(mid, ts, isSessionStart(pageObj) ? pageRecord : null, ctx);
  }

  onTimer(name: string, key: string, _time: number, ctx: JobContext): void {
    if (name !== JUMP_TIMER) return;
    const s = this.jumps.get(key) ?? ctx.state.get<JumpState>(NS.jump, key);
    if (!s) return;
    s.t = null;
    const wm = ctx.watermark;
    const b = s.b;
    let i = 0;
    // Replay what the watermark has passed, in ts order (Flink CepOperator.onEventTime).
    for (; i < b.length && b[i]![0] <= wm; i++) this.step(s, b[i]!, key, ctx);
    if (i > 0) b.splice(0, i);
    // Then time moves to the watermark: a partial match that reached its window times out.
    const p = s.p;
    if (p && p[0] + USER_JUMP_WINDOW_MS <= wm) {
      ctx.emit('user_jump', key, p[1]!, p[0]);
      s.p = null;
    }
    this.save(s, key, ctx);
  }

  /** One page through the pattern, in event-time order. */
  private step(s: JumpState, e: JumpEvent, mid: string, ctx: JobContext): void {
    let p = s.p;
    if (p && e[0] - p[0] >= USER_JUMP_WINDOW_MS) {
      // within(10 s) is exclusive: Flink prunes a partial match once `ts - start >= window`.
      ctx.emit('user_jump', mid, p[1]!, p[0]);
      p = null;
    }
    const isStart = e[1] !== null;
    if (p && isStart) ctx.emit('user_jump', mid, p[1]!, p[0]); // matched: first, then strictly next another start
    // A start opens a new partial match; any other page ends the pending one (strict contiguity broken).
    s.p = isStart ? e : null;
  }

  private userJump(mid: string, ts: number, startRecord: string | null, ctx: JobContext): void {
    if (ts <= ctx.watermark) {
      ctx.count('user_jump_late');
      return;
    }
    const s = this.jumps.get(mid) ?? ctx.state.get<JumpState>(NS.jump, mid) ?? { b: [], p: null, t: null };
    const b = s.b;
    const e: JumpEvent = [ts, startRecord];
    let i = b.length;
    while (i > 0 && b[i - 1]![0] > ts) i--;
    if (i === b.length) b.push(e);
    else b.splice(i, 0, e);
    this.save(s, mid, ctx);
  }

  /** Keeps one timer at the next time something can happen for the mid, and stores (or drops) the state. */
  private save(s: JumpState, mid: string, ctx: JobContext): void {
    let next = s.b.length > 0 ? s.b[0]![0] : Infinity;
    if (s.p && s.p[0] + USER_JUMP_WINDOW_MS < next) next = s.p[0] + USER_JUMP_WINDOW_MS;
    if (next === Infinity) {
      if (s.t !== null) ctx.timers.cancel(JUMP_TIMER, mid, s.t);
      ctx.state.delete(NS.jump, mid);
      this.jumps.delete(mid);
      return;
    }
    if (s.t !== next) {
      if (s.t !== null) ctx.timers.cancel(JUMP_TIMER, mid, s.t);
      ctx.timers.register(JUMP_TIMER, mid, next);
      s.t = next;
    }
    ctx.state.put(NS.jump, mid, s);
    if (!this.jumps.has(mid)) {
      if (this.jumps.size >= MIRROR_MAX) this.jumps.clear();
      this.jumps.set(mid, s);
    }
  }

  private uniqueVisitor(mid: string, ts: number, pageRecord: string, ctx: JobContext): void {
    const today = this.dates.dateOf(ts);
    const last = ctx.state.get<string>(NS.uv, mid);
    if (last === undefined || last < today) {
      ctx.state.put(NS.uv, mid, today, DAY_MS);
      ctx.emit('unique_visitor', mid, pageRecord, ts);
    } else if (last > today) ctx.count('uv_earlier_day');
  }

  /** The is_new correction; true when it changed common.is_new. */
  private fixIsNew(common: Obj, mid: string, ts: number, ctx: JobContext): boolean {
    let first = this.firstVisit.get(mid);
    if (first === undefined) {
      first = ctx.state.get<string>(NS.firstVisit, mid);
      if (first === undefined) {
        first = common.is_new === '1' ? this.dates.dateOf(ts) : this.yesterday.dateOf(ts - DAY_MS);
        ctx.state.put(NS.firstVisit, mid, first);
        this.remember(mid, first);
        return false;
      }
      this.remember(mid, first);
    }
    if (common.is_new === '1' && first !== this.dates.dateOf(ts)) {
      common.is_new = '0';
      ctx.count('is_new_fixed');
      return true;
    }
    return false;
  }

  private remember(mid: string, first: string): void {
    if (this.firstVisit.size >= MIRROR_MAX) this.firstVisit.clear();
    this.firstVisit.set(mid, first);
  }

  /** The line as JSON without err (and, for a page, without displays/actions), keys in their order. */
  private serialise(obj: Obj, commonText: string, pageText: string | undefined, isPage: boolean): string {
    let s = '{';
    for (const k in obj) {
      if (k === 'err' || (isPage && (k === 'displays' || k === 'actions'))) continue;
      const v = k === 'common' ? commonText : k === 'page' && pageText !== undefined ? pageText : JSON.stringify(obj[k]);
      if (v === undefined) continue;
      s += s.length === 1 ? keyText(k) + v : `,${keyText(k)}${v}`;
    }
    return `${s}}`;
  }

  /** Dead letter with every reason the app-log validator finds (the fatal one among them). */
  private dead(ctx: JobContext, obj: unknown): void {
    ctx.deadLetter(deadReason(obj));
  }
}

/**
 * Why a parsed line is dead: the validator's reasons (each naming its field), the fatal ones first. Fatal =
 * what the job cannot do without: a JSON object; common with a non-empty mid (the key of every output and of
 * the state); ts in epoch ms (event time); exactly one of start/page, as objects, page.page_id (the routing);
 * displays/actions as arrays. Everything else the validator may flag (types of during_time, ar, an action's ts,
 * an err's shape, …) is passed through as it came: gmall's split forwards the fields untouched and the jobs
 * that read them check what they use (`rtwh tail --etl` shows every reason).
 */
export function deadReason(obj: unknown): string {
  const reasons = validateAppLog(obj);
  const fatal = reasons.filter((r) => FATAL.some((f) => r.startsWith(f)));
  const rest = reasons.filter((r) => !fatal.includes(r));
  const all = [...fatal, ...rest];
  return all.length > 0 ? all.join('; ') : '(record): not a usable app log';
}

const FATAL = ['(record):', 'common:', 'common.mid:', 'ts:', 'start, page:', 'start:', 'page:', 'page.page_id:', 'displays:', 'actions:'];
