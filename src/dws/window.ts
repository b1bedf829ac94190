/**
 * The shared pieces of every DWS job (the summary layer): tumbling event-time windows over a JobSpec.
 *
 * - `windowStart(ts, size)` / `windowEnd`: epoch-aligned tumbling windows [stt, edt) (as Flink's
 *   TumblingEventTimeWindows with offset 0; 5 s and 10 s windows are the same in Beijing time).
 * - `beijingTime(ms)` 'YYYY-MM-DD HH:mm:ss' and `beijingDate(ms)` 'YYYY-MM-DD' in UTC+08:00.
 * - `TumblingWindow<A>`: a keyed per-window accumulator kept in the job's keyed state (one state entry per open
 *   window: groupKey → [keyValues, acc], stored as one JSON string; accumulators must be plain JSON), with ONE
 *   event-time timer per window end. When the watermark reaches
 *   the end the window is emitted once, one record per group, to the output named like the table:
 *     key   = `stt|edt|<key values joined by |>` (`stt|edt` for a window without key columns)
 *     value = { stt, edt, cur_date, ...row(keys, acc) }   (cur_date = the Beijing date of stt)
 *   and its state is deleted. A record whose window has already been emitted (end ≤ watermark) is not added:
 *   it is counted as `window_late` (and `window_late_<name>`), never silently dropped. `--until-idle` drains
 *   the engine (watermark +∞), so every open window is emitted at the end. State and timers are committed with
 *   the input offsets, so open windows survive a crash.
 * - `windowOption` / `parseWindow`: the `--window 10s` job option (ms, s, m).
 * - `dwsJob(def)`: a DWS JobSpec (input topic options, --window, output = the table name as topic).
 *
 * Usage in a job (see src/dws/traffic.ts): a class extending WindowLogic (its onTimer fires the window)
 *   constructor() { super(); this.win = new TumblingWindow<[number]>({ name: 'reg', output: TABLE, sizeMs, row: (_k, a) => ({ register_ct: a[0] }) }); }
 *   process(r, ctx) { …; this.win.add(ctx, ts, [], () => [0], (a) => { a[0]++; return a; }); }
 * A job on a hot path (traffic_vc_ch_ar_is_new) calls `win.beginBatch()` from prepare() and updates the group
 * `win.group(ctx, ts, gk, keys, init)` hands out: the window's state entry is then read and put once per batch,
 * not per record (the engine checkpoints between batches only).
 */
import { ExactDecimal } from '../output/result';
import type { InputRecord, JobContext, JobLogic, JobOption, JobSpec, Json } from '../stream/types';
import { topicNameProblem } from '../bus/topic-name';

export const BEIJING_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW = '10s';

/** Start (ms) of the tumbling window of `size` ms that holds `ts`. */
export function windowStart(ts: number, sizeMs: number): number {
  return ts - (((ts % sizeMs) + sizeMs) % sizeMs);
}

/** End (exclusive, ms) of the tumbling window that holds `ts`. */
export function windowEnd(ts: number, sizeMs: number): number {
  return windowStart(ts, sizeMs) + sizeMs;
}

/** 'YYYY-MM-DD HH:mm:ss' in Beijing time (UTC+08:00). */
export function beijingTime(ms: number): string {
  const iso = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** 'YYYY-MM-DD' in Beijing time (UTC+08:00). */
export function beijingDate(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** A value as a dead-letter reason shows it: JSON text (an exact number as written), cut to 60 characters. */
export function shownValue(v: unknown): string {
  const s = v instanceof ExactDecimal ? v.text : typeof v === 'bigint' ? v.toString() : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The Beijing day number (days since 1970-01-01 in UTC+08:00) of an instant: cheap day comparisons in state. */
export function beijingDay(ms: number): number {
  return Math.floor((ms + BEIJING_OFFSET_MS) / DAY_MS);
}

/** Parses a window length: '10s', '5s', '500ms', '1m' → ms; undefined when not one. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  return n >= 1 && n <= DAY_MS && DAY_MS % n === 0 ? n : undefined;
}

/** `--window`: the tumbling window length of a DWS job. */
export const windowOption: JobOption = {
  name: 'window',
  description: 'tumbling event-time window length (e.g. 10s, 5s, 1m, 500ms; must divide a day)',
  default: DEFAULT_WINDOW,
  check: (v) => (parseWindow(v) === undefined ? 'expected a length like 10s, 5s, 1m or 500ms that divides a day' : undefined),
};

/** The window length of resolved options (throws on a bad value; resolveOptions has checked it already). */
export function windowMs(options: Readonly<Record<string, string>>): number {
  const n = parseWindow(options.window ?? DEFAULT_WINDOW);
  if (n === undefined) throw new RangeError(`invalid --window ${JSON.stringify(options.window)}`);
  return n;
}

export interface TumblingWindowSpec<A> {
  /** Names the state namespace (`win:<name>`) and the timer; unique within a job. */
  name: string;
  /** The ctx.emit output (the table's name). */
  output: string;
  sizeMs: number;
  /** The columns after stt, edt, cur_date, in table order: the key columns, then the metrics. */
  row(keys: readonly Json[], acc: A): Record<string, Json>;
}

/**
 * One window's groups: groupKey → [key values, accumulator]. In keyed state it is this object while the job runs;
 * the engine serialises it with toJSON as ONE JSON string (native JSON.stringify, not a replacer call per value:
 * the window entries are rewritten with every commit), and after a restart it comes back as that string.
 * Accumulators must therefore be plain JSON (numbers, strings, arrays, objects; decimals as text).
 */
class WindowGroups<A> {
  constructor(readonly map: Map<string, [Json[], A]> = new Map()) {}

  static from<A>(v: unknown): WindowGroups<A> {
    if (v instanceof WindowGroups) return v as WindowGroups<A>;
    return new WindowGroups<A>(new Map(JSON.parse(v as string) as [string, [Json[], A]][]));
  }

  toJSON(): string {
    return JSON.stringify([...this.map]);
  }
}

/** A row whose values are all strings, finite numbers, booleans or null serialises with plain JSON.stringify. */
function plainRow(row: Record<string, Json>): boolean {
  for (const k in row) {
    const v = row[k];
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return false;
  }
  return true;
}

/** A keyed tumbling-window accumulator over the engine's state and timers; each window is emitted once. */
export class TumblingWindow<A> {
  readonly ns: string;
  readonly timer: string;
  /** The last window end a timer was registered for (skips re-registering it for every record). */
  private lastEnd = Number.NaN;
  /**
   * With beginBatch(): the windows already put into keyed state in this batch (window end → groups). The state
   * entry IS that object, so updating it in place changes what the engine persists at the batch's checkpoint,
   * and the first record of a window in a batch is the only one that reads and re-puts the entry (marks it
   * dirty). Without beginBatch() every record reads and puts the entry.
   */
  private batch: Map<number, WindowGroups<A>> | undefined;
  /**
   * The window of the last group() call, [curStart, curEnd), and (with beginBatch, in this batch) its groups:
   * events come mostly in time order, so most fall in the window of the one before (no double modulo, no lookup).
   */
  private curStart = Number.NaN;
  private curEnd = Number.NaN;
  private curGroups: WindowGroups<A> | undefined;

  constructor(readonly spec: TumblingWindowSpec<A>) {
    this.ns = `win:${spec.name}`;
    this.timer = `win:${spec.name}`;
  }

  /**
   * Call from JobLogic.prepare (the engine calls it before each batch's records, and checkpoints only between
   * batches): from here to the next checkpoint a window's state entry needs to be put once, not per record.
   * A job that calls it must call it for every batch (that is, from prepare).
   */
  beginBatch(): void {
    if (this.batch === undefined) this.batch = new Map();
    else this.batch.clear();
    this.curGroups = undefined;
  }

  /**
   * Adds an event at `ts` (ms) to the group `keys` of its window: `update(acc)` (acc from `init()` for a new
   * group) returns the new accumulator (it may mutate and return the same object). Returns false, and counts
   * `window_late`, when that window was emitted already.
   */
  add(ctx: JobContext, ts: number, keys: readonly Json[], init: () => A, update: (acc: A) => A): boolean {
    const g = this.group(ctx, ts, keys.length === 1 ? String(keys[0]) : keys.join('|'), () => keys.slice(), init);
    if (g === undefined) return false;
    g[1] = update(g[1]);
    return true;
  }

  /**
   * The group of an event at `ts` (ms) in its window, [key values, accumulator], for the caller to update (set
   * `[1]`, or mutate the accumulator); a new group gets `keys()` and `init()`. `gk` must be what add() uses: the
   * key values joined by '|' (null as ''), the one value as text for a single key. Undefined, `window_late`
   * counted and the record dead-lettered with the reason, when that window was emitted already: the record is kept
   * (the upstream may have been down longer than the idle timeout, and the watermark ran on with the wall clock), not
   * dropped.
   */
  group(ctx: JobContext, ts: number, gk: string, keys: () => Json[], init: () => A): [Json[], A] | undefined {
    let end = this.curEnd;
    if (!(ts >= this.curStart && ts < end)) {
      const start = windowStart(ts, this.spec.sizeMs);
      end = start + this.spec.sizeMs;
      this.curStart = start;
      this.curEnd = end;
      this.curGroups = undefined;
    }
    if (end <= ctx.watermark) {
      ctx.count('window_late');
      ctx.count(`window_late_${this.spec.name}`);
      ctx.deadLetter(
        `late: event time ${beijingTime(ts)} falls in the window ${beijingTime(end - this.spec.sizeMs)} – ${beijingTime(end)} of ${this.spec.output}, ` +
          `emitted already (watermark ${Number.isFinite(ctx.watermark) ? beijingTime(ctx.watermark) : ctx.watermark})`,
      );
      return undefined;
    }
    let groups = this.curGroups;
    if (groups === undefined) {
      groups = this.groupsOf(ctx, end);
      if (this.batch !== undefined) this.curGroups = groups;
    }
    let g = groups.map.get(gk);
    if (g === undefined) {
      g = [keys(), init()];
      groups.map.set(gk, g);
    }
    return g;
  }

  /** The groups of the window ending at `end`, put into keyed state (marked to be persisted); its timer registered. */
  private groupsOf(ctx: JobContext, end: number): WindowGroups<A> {
    const cached = this.batch?.get(end);
    if (cached !== undefined) return cached;
    const sk = String(end);
    const stored = ctx.state.get<unknown>(this.ns, sk);
    const groups = stored === undefined ? new WindowGroups<A>() : WindowGroups.from<A>(stored);
    ctx.state.put(this.ns, sk, groups);
    this.batch?.set(end, groups);
    if (end !== this.lastEnd) {
      ctx.timers.register(this.timer, '', end);
      this.lastEnd = end;
    }
    return groups;
  }

  /** Call from JobLogic.onTimer: emits the window that ended at `time` when the timer is this window's. */
  fire(name: string, _key: string, time: number, ctx: JobContext): boolean {
    if (name !== this.timer) return false;
    this.batch?.delete(time);
    if (time === this.curEnd) this.curGroups = undefined;
    const sk = String(time);
    const stored = ctx.state.get<unknown>(this.ns, sk);
    if (stored !== undefined) {
      const groups = WindowGroups.from<A>(stored);
      const start = time - this.spec.sizeMs;
      const stt = beijingTime(start);
      const edt = beijingTime(time);
      const curDate = stt.slice(0, 10);
      const head = `${stt}|${edt}`;
      // Sorted by group key: the same input gives the same output order (golden tests, replays).
      for (const gk of [...groups.map.keys()].sort()) {
        const [keys, acc] = groups.map.get(gk)!;
        const row: Record<string, Json> = { stt, edt, cur_date: curDate, ...this.spec.row(keys, acc) };
        ctx.emit(this.spec.output, keys.length === 0 ? head : `${head}|${keys.join('|')}`, plainRow(row) ? JSON.stringify(row) : row, time);
      }
      ctx.state.delete(this.ns, sk);
    }
    return true;
  }
}

/** A job whose timers are all its window's: subclasses set `win` in their constructor; onTimer hands timers to it. */
export abstract class WindowLogic<A> implements JobLogic {
  protected win!: TumblingWindow<A>;
  abstract process(record: InputRecord, ctx: JobContext): void;
  onTimer(name: string, key: string, time: number, ctx: JobContext): void {
    this.win.fire(name, key, time, ctx);
  }
}


export interface DwsInput {
  /** Logical input name (InputRecord.input). */
  name: string;
  /** The option naming its topic, e.g. 'page-topic'. */
  option: string;
  /** Its default topic, e.g. 'dwd_traffic_page'. */
  topic: string;
  description: string;
}

export interface DwsJobDef {
  /** `dws <short>`: `rtwh run dws <short>`; the state file is `dws_<short>.db`. */
  short: string;
  /** The table = the output topic = the ctx.emit output name. */
  table: string;
  description: string;
  inputs: readonly DwsInput[];
  /** More options than the input topics and --window. */
  options?: readonly JobOption[];
  needsDims?: boolean;
  create(options: Readonly<Record<string, string>>, sizeMs: number): JobLogic;
}

/**
 * A DWS JobSpec: inputs named by topic options, `--window`, one output named and topic-named like the table,
 * the engine's default watermark (3 s out-of-orderness) and idle timeout.
 */
export function dwsJob(def: DwsJobDef): JobSpec {
  return {
    name: `dws ${def.short}`,
    description: def.description,
    inputs: def.inputs.map((i) => ({ name: i.name, topicOption: i.option })),
    outputs: [{ name: def.table, topic: def.table }],
    options: [...def.inputs.map((i): JobOption => ({ name: i.option, description: i.description, default: i.topic, check: topicNameProblem })), windowOption, ...(def.options ?? [])],
    ...(def.needsDims ? { needsDims: true } : {}),
    create: (options) => def.create(options, windowMs(options)),
  };
}
