/**
 * The stream engine: a job's logic with its keyed state, timers and watermark — and no I/O. The runtime
 * (runtime.ts) feeds it batches from the bus and persists what `checkpoint()` returns; tests feed it arrays
 * (`runInMemory`). Both therefore run a job with the same semantics:
 *
 * - State: reads see writes at once; `checkpoint()` returns the entries changed since the last one.
 *   TTL is event time: an entry written at watermark W with ttl T is gone once the watermark passes W + T
 *   (event time at write = the record's observed time when there is one, else the watermark).
 * - Watermark: per input partition, the max observed event time; the watermark is the minimum over active
 *   partitions of (max − out-of-orderness). A partition that sent nothing for `idleTimeoutMs` (wall clock) stops
 *   holding it back — unless it is known to have records unread (busy(): the runtime's view of the end offsets);
 *   restored partitions count from the restore. When EVERY partition is idle, event time keeps flowing with the wall clock from the last
 *   record (so a session timeout or a window still closes when the stream goes quiet). `drain()` (the end of a
 *   bounded run) moves it to +Infinity. It never goes backwards.
 * - Timers fire in time order once the watermark reaches them; a timer may register more.
 * - Late records (event time below the watermark when observed) are counted as `late`; the job decides what
 *   to do with them.
 */
import { ExactDecimal } from '../output/result';
import { HeadTail, type DimReader, type InputRecord, type JobContext, type JobLogic, type JobSpec, type Json, type KeyedState, type Timers } from './types';

/** An output as the engine hands it to the runtime: JSON text, the string given, or a HeadTail. */
export interface Output {
  output: string;
  key: string | null;
  value: string | HeadTail;
  /** Record timestamp (ms). */
  ts: number;
  /** The input record being processed when it was emitted (none from a timer): outputs that follow their input's partitions go to its partition. */
  from?: InputRecord;
}

/** An output as text (runInMemory). */
export interface Emitted extends Output {
  /** Serialised value (JSON text, or the string given). */
  value: string;
}

/** A checkpoint whose outputs are as emitted. */
export type PartsCheckpoint = Omit<Checkpoint, 'outputs'> & { outputs: Output[] };

export interface DeadLettered {
  record: InputRecord;
  reason: string;
}

export interface StateChange {
  namespace: string;
  key: string;
  /** JSON text; null = deleted. */
  value: string | null;
  /** Event time after which the entry is gone; null = no TTL. */
  expires: number | null;
}

export interface TimerEntry {
  name: string;
  key: string;
  time: number;
}

/** What happened since the last checkpoint, for the runtime to persist in one transaction. */
export interface Checkpoint {
  state: StateChange[];
  timersAdded: TimerEntry[];
  timersRemoved: TimerEntry[];
  outputs: Emitted[];
  deadLetters: DeadLettered[];
  /** Max observed event time per input partition (`topic:partition`). */
  partitionTimes: Record<string, number>;
  watermark: number;
}

export interface EngineOptions {
  outOfOrdernessMs?: number;
  idleTimeoutMs?: number;
  dims?: DimReader;
  /** Wall clock (ms), for idleness. */
  now?: () => number;
  /** Where the job's warnings go (ctx.warn); without it they are kept in `warnings`. */
  log?: (message: string) => void;
}

interface Entry {
  value: unknown;
  expires: number | null;
}

const SEP = '\u0000';

/** JSON text in which bigints and exact decimals are numbers with every digit (JSON.stringify alone cannot). */
export function toJsonText(v: unknown): string {
  const text = JSON.stringify(v, exactNumbers);
  return text.includes(RAW_MARK) ? text.replace(RAW_RE, '$1') : text;
}
const RAW_PREFIX = '\u0001raw:';
/** How JSON.stringify writes RAW_PREFIX inside a string. */
const RAW_MARK = '\\u0001raw:';
const RAW_RE = /"\\u0001raw:(-?\d+(?:\.\d+)?)"/g;
function exactNumbers(this: unknown, k: string, x: unknown): unknown {
  // `this[k]` is the value before its toJSON ran: an ExactDecimal's toJSON would make it a string.
  const orig = (this as Record<string, unknown>)[k];
  if (orig instanceof ExactDecimal) return RAW_PREFIX + orig.text;
  if (typeof x === 'bigint') return RAW_PREFIX + x.toString();
  return x;
}

/** A binary min-heap of timers by time (ties: insertion order). */
class TimerHeap {
  private items: { t: TimerEntry; seq: number }[] = [];
  private seq = 0;
  get size(): number {
    return this.items.length;
  }
  push(t: TimerEntry): void {
    const a = this.items;
    a.push({ t, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  peek(): TimerEntry | undefined {
    return this.items[0]?.t;
  }
  pop(): TimerEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top?.t;
  }
  private less(x: { t: TimerEntry; seq: number }, y: { t: TimerEntry; seq: number }): boolean {
    return x.t.time < y.t.time || (x.t.time === y.t.time && x.seq < y.seq);
  }
}

export class Engine {
  readonly logic: JobLogic;
  readonly options: Readonly<Record<string, string>>;
  private readonly ooo: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly dims: DimReader | undefined;

  private readonly entries = new Map<string, Entry>();
  /** Entries with a TTL by expiry time (name unused, key = entry id); stale items are skipped when popped. */
  private readonly expiries = new TimerHeap();
  private readonly dirty = new Set<string>();
  /** Live timers by id; the heap may hold cancelled ones (skipped when popped). */
  private readonly timers = new Map<string, TimerEntry>();
  private readonly heap = new TimerHeap();
  private timersAdded = new Map<string, TimerEntry>();
  private timersRemoved = new Map<string, TimerEntry>();

  private readonly partTime = new Map<string, number>();
  private readonly partSeen = new Map<string, number>();
  private lastRecordWall = 0;
  private wm = -Infinity;
  private draining = false;

  private outputs: Output[] = [];
  private dead: DeadLettered[] = [];
  readonly counters: Record<string, number> = {};
  readonly emittedCount: Record<string, number> = {};

  private current: InputRecord | undefined;
  /** `topic:partition` of `current`. */
  private currentPart: string | undefined;
  /** Max observed event time of `currentPart` while processBatch runs (written to partTime at the end of its run). */
  private partMax = -Infinity;
  private currentTime: number | undefined;
  /** While a timer fires: its time. State is then judged as of that time, not the (later) watermark. */
  private firing: number | undefined;
  private readonly ctx: JobContext;
  private readonly log: (message: string) => void;
  /** The job's warnings, when no log was given (in-memory runs). */
  readonly warnings: string[] = [];

  constructor(
    readonly spec: JobSpec,
    options: Readonly<Record<string, string>>,
    o: EngineOptions = {},
  ) {
    this.options = options;
    this.ooo = o.outOfOrdernessMs ?? spec.outOfOrdernessMs ?? 3000;
    this.idleMs = o.idleTimeoutMs ?? spec.idleTimeoutMs ?? 5000;
    this.now = o.now ?? Date.now;
    this.dims = o.dims;
    this.log = o.log ?? ((m) => void this.warnings.push(m));
    this.logic = spec.create(options);
    this.ctx = this.makeContext();
  }

  get watermark(): number {
    return this.wm;
  }

  get stateSize(): number {
    return this.entries.size;
  }

  get timerCount(): number {
    return this.timers.size;
  }

  /** Loads persisted state, timers and partition times (at start, before any batch). */
  restore(state: Iterable<StateChange>, timers: Iterable<TimerEntry>, partitionTimes: Record<string, number>, watermark: number): void {
    // Values come back as plain JSON: a job that keeps exact decimals or big integers in state stores them as text.
    for (const s of state) {
      if (s.value === null) continue;
      const id = s.namespace + SEP + s.key;
      this.entries.set(id, { value: JSON.parse(s.value), expires: s.expires });
      if (s.expires !== null) this.expiries.push({ name: '', key: id, time: s.expires });
    }
    for (const t of timers) {
      const id = timerId(t);
      if (!this.timers.has(id)) {
        this.timers.set(id, t);
        this.heap.push(t);
      }
    }
    // Idleness counts from now: the time the job was stopped is not event time that passed. A restored partition
    // holds the watermark back like any other until it counts as idle — counted as seen long ago, every one of them
    // was idle at once, and the first partition to deliver after a restart ran event time ahead of the others and
    // made their records late (a kill -9 test of run dws lost a page view that way).
    const wall = this.now();
    for (const [k, v] of Object.entries(partitionTimes)) {
      this.partTime.set(k, v);
      this.partSeen.set(k, wall);
    }
    this.wm = watermark;
    this.lastRecordWall = wall;
  }

  /**
   * Input partitions the job reads (`topic:partition`). One that has not sent a record yet holds the watermark
   * back (until it counts as idle), so the first partition to deliver cannot run event time ahead of the others
   * and make their records late.
   */
  hold(partitions: Iterable<string>): void {
    const wall = this.now();
    for (const p of partitions) {
      if (this.partTime.has(p)) continue;
      this.partTime.set(p, -Infinity);
      this.partSeen.set(p, wall);
    }
  }

  /**
   * The input partitions the job holds now, from its consumer's assignment: each is held (hold), and a partition the
   * job knows — restored with its state, or read before — but does not hold now is not idle either. Its records are
   * there, just not here: after a kill -9 the group gives the restarted job its partitions only once the dead
   * member's session has ended (10 s on the SQLite bus). Counted as idle during that wait, the restored partitions
   * let event time run on with the wall clock, and the records read after it came late and were dropped (an audit's
   * immediate restart of run dwd log lost 460 of 4,571 user jumps).
   */
  assigned(partitions: Iterable<string>): void {
    const held = new Set(partitions);
    this.hold(held);
    const wall = this.now();
    for (const p of this.partTime.keys()) if (!held.has(p)) this.partSeen.set(p, wall);
  }

  /**
   * Partitions known to have records not read yet: not idle now, whenever they last delivered. Idleness (a
   * partition that sent nothing for idleTimeoutMs stops holding the watermark back) is meant for partitions with
   * nothing to send; one merely not read for a while — the job catching up after a restart, other partitions served
   * first — would otherwise let event time run past its records and make them late.
   */
  busy(partitions: Iterable<string>): void {
    const wall = this.now();
    for (const p of partitions) if (this.partTime.has(p)) this.partSeen.set(p, wall);
  }

  /** Runs a batch through the job (prepare, then process each record). */
  async processBatch(records: readonly InputRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.logic.prepare) await this.logic.prepare(records, this.ctx);
    const wall = this.now();
    let topic: string | undefined;
    let partition = -1;
    let p = '';
    try {
      for (const r of records) {
        this.current = r;
        this.currentTime = undefined;
        // Batches come in runs of one partition: its `topic:partition` key is made, and its observed time looked up
        // and stored, once per run.
        if (r.partition !== partition || r.topic !== topic) {
          if (p !== '') this.partTime.set(p, this.partMax);
          topic = r.topic;
          partition = r.partition;
          p = `${topic}:${partition}`;
          this.partSeen.set(p, wall);
          this.partMax = this.partTime.get(p) ?? -Infinity;
        }
        this.currentPart = p;
        this.logic.process(r, this.ctx);
      }
    } finally {
      if (p !== '') this.partTime.set(p, this.partMax);
      this.current = undefined;
      this.currentPart = undefined;
      this.currentTime = undefined;
    }
    this.lastRecordWall = wall;
  }

  /**
   * Moves the watermark (never backwards) and fires the timers it reached; expired state is dropped.
   * Call after each batch and from an idle timer.
   */
  advance(): void {
    const next = this.draining ? Infinity : this.computeWatermark();
    if (next > this.wm) this.wm = next;
    this.fireTimers();
    this.expireState();
  }

  /** End of a bounded run: event time goes to +Infinity, every timer fires. */
  drain(): void {
    this.draining = true;
    this.advance();
  }

  /** Everything changed since the last checkpoint, outputs as text; the engine forgets it (the caller persists it). */
  checkpoint(): Checkpoint {
    const cp = this.checkpointParts();
    return { ...cp, outputs: cp.outputs.map(asText) };
  }

  /** checkpoint() with outputs as they were emitted (HeadTail kept): what the runtime stores. */
  checkpointParts(): PartsCheckpoint {
    const state: StateChange[] = [];
    for (const id of this.dirty) {
      const i = id.indexOf(SEP);
      const e = this.entries.get(id);
      state.push({ namespace: id.slice(0, i), key: id.slice(i + 1), value: e ? toJsonText(e.value) : null, expires: e ? e.expires : null });
    }
    this.dirty.clear();
    const cp: PartsCheckpoint = {
      state,
      timersAdded: [...this.timersAdded.values()],
      timersRemoved: [...this.timersRemoved.values()],
      outputs: this.outputs,
      deadLetters: this.dead,
      // with the partitions held that have not delivered yet (-Infinity): restored, they hold the watermark back
      // until they deliver, as they did before — left out, a restart let the others run event time past them
      partitionTimes: Object.fromEntries([...this.partTime].filter(([, t]) => Number.isFinite(t) || t === -Infinity)),
      watermark: this.wm,
    };
    this.timersAdded = new Map();
    this.timersRemoved = new Map();
    this.outputs = [];
    this.dead = [];
    return cp;
  }

  private computeWatermark(): number {
    const wall = this.now();
    let min = Infinity;
    let max = -Infinity;
    let active = 0;
    for (const [p, t] of this.partTime) {
      if (t > max) max = t;
      const seen = this.partSeen.get(p) ?? 0;
      if (wall - seen >= this.idleMs) continue;
      active++;
      if (t < min) min = t;
    }
    if (max === -Infinity) return this.wm;
    if (active > 0) return min === -Infinity ? this.wm : min - this.ooo;
    // Everything is idle: event time flows with the wall clock since the last record (after the idle timeout).
    return max - this.ooo + Math.max(0, wall - this.lastRecordWall - this.idleMs);
  }

  private fireTimers(): void {
    for (;;) {
      const t = this.heap.peek();
      if (!t || t.time > this.wm) return;
      this.heap.pop();
      const id = timerId(t);
      if (this.timers.get(id) !== t) continue; // cancelled (or replaced)
      this.timers.delete(id);
      if (this.timersAdded.has(id)) this.timersAdded.delete(id);
      else this.timersRemoved.set(id, t);
      this.firing = t.time;
      try {
        this.logic.onTimer?.(t.name, t.key, t.time, this.ctx);
      } finally {
        this.firing = undefined;
      }
    }
  }

  /** Drops entries whose TTL the watermark passed: a heap by expiry, so only expired entries are visited. */
  private expireState(): void {
    for (;;) {
      const top = this.expiries.peek();
      if (!top || top.time > this.wm) return;
      this.expiries.pop();
      const e = this.entries.get(top.key);
      // A stale heap item: the entry was rewritten (another expiry) or deleted since.
      if (!e || e.expires !== top.time) continue;
      this.entries.delete(top.key);
      this.dirty.add(top.key);
    }
  }

  private eventNow(): number {
    return this.currentTime ?? this.firing ?? this.wm;
  }

  /** Event time state expiry is judged at: a firing timer's time, else the watermark. */
  private horizon(): number {
    return this.firing ?? this.wm;
  }

  private makeContext(): JobContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const eng = this;
    const state: KeyedState = {
      get<T>(ns: string, key: string): T | undefined {
        const e = eng.entries.get(ns + SEP + key);
        if (!e) return undefined;
        if (e.expires !== null && e.expires <= eng.horizon()) return undefined;
        return e.value as T;
      },
      put(ns, key, value, ttlMs) {
        const base = eng.eventNow();
        const expires = ttlMs === undefined || !Number.isFinite(base) ? null : base + ttlMs;
        const id = ns + SEP + key;
        eng.entries.set(id, { value, expires });
        eng.dirty.add(id);
        if (expires !== null) eng.expiries.push({ name: '', key: id, time: expires });
      },
      delete(ns, key) {
        const id = ns + SEP + key;
        if (eng.entries.delete(id)) eng.dirty.add(id);
      },
      scan<T>(ns: string, prefix: string): [string, T][] {
        const head = ns + SEP + prefix;
        const out: [string, T][] = [];
        for (const [id, e] of eng.entries) {
          if (!id.startsWith(head)) continue;
          if (e.expires !== null && e.expires <= eng.horizon()) continue;
          out.push([id.slice(ns.length + 1), e.value as T]);
        }
        return out;
      },
    };
    const timers: Timers = {
      register(name, key, time) {
        const t: TimerEntry = { name, key, time };
        const id = timerId(t);
        if (eng.timers.has(id)) return;
        eng.timers.set(id, t);
        eng.heap.push(t);
        if (eng.timersRemoved.has(id)) eng.timersRemoved.delete(id);
        else eng.timersAdded.set(id, t);
      },
      cancel(name, key, time) {
        const id = timerId({ name, key, time });
        const t = eng.timers.get(id);
        if (!t) return;
        eng.timers.delete(id);
        if (eng.timersAdded.has(id)) eng.timersAdded.delete(id);
        else eng.timersRemoved.set(id, t);
      },
    };
    return {
      emit(output, key, value, ts) {
        const text = typeof value === 'string' || value instanceof HeadTail ? value : toJsonText(value);
        const out: Output = { output, key, value: text, ts: ts ?? (Number.isFinite(eng.eventNow()) ? eng.eventNow() : eng.now()) };
        if (eng.current) out.from = eng.current;
        eng.outputs.push(out);
        eng.emittedCount[output] = (eng.emittedCount[output] ?? 0) + 1;
      },
      observe(t) {
        if (!Number.isFinite(t)) return;
        eng.currentTime = t;
        const r = eng.current;
        if (!r) return;
        if (t < eng.wm) eng.counters.late = (eng.counters.late ?? 0) + 1;
        if (eng.currentPart !== undefined) {
          if (t > eng.partMax) eng.partMax = t;
          return;
        }
        const p = `${r.topic}:${r.partition}`;
        if (t > (eng.partTime.get(p) ?? -Infinity)) eng.partTime.set(p, t);
      },
      deadLetter(reason) {
        const r = eng.current;
        if (!r) return;
        // one dead letter per record: the first reason given for it
        if (eng.dead[eng.dead.length - 1]?.record === r) return;
        eng.dead.push({ record: r, reason });
      },
      count(counter, n = 1) {
        eng.counters[counter] = (eng.counters[counter] ?? 0) + n;
      },
      warn(message) {
        eng.log(message);
      },
      state,
      timers,
      get watermark() {
        return eng.wm;
      },
      options: eng.options,
      dims: eng.dims,
    };
  }
}

function timerId(t: TimerEntry): string {
  return `${t.name}${SEP}${t.key}${SEP}${t.time}`;
}

/** Applies declared defaults to given option values; unknown names and failed checks throw a RangeError. */
export function resolveOptions(spec: JobSpec, given: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const known = new Set(spec.options.map((o) => o.name));
  for (const k of Object.keys(given)) if (given[k] !== undefined && !known.has(k)) throw new RangeError(`${spec.name}: unknown option --${k}`);
  const derived = spec.derivedOptions?.(given) ?? {};
  for (const o of spec.options) {
    const v = given[o.name] ?? derived[o.name] ?? o.default;
    const problem = o.check?.(v);
    if (problem) throw new RangeError(`invalid --${o.name} ${JSON.stringify(v)}: ${problem}`);
    out[o.name] = v;
  }
  return out;
}

export interface InMemoryResult {
  outputs: Emitted[];
  deadLetters: DeadLettered[];
  counters: Record<string, number>;
  /** What the job warned about (ctx.warn). */
  warnings: string[];
  engine: Engine;
}

/**
 * Runs a job over records in memory, in batches of `batch` (default: all at once), advancing the watermark after
 * each batch and draining at the end — what the runtime does with `--until-idle`, minus the bus and the state file.
 * For unit tests and golden tests of pure job logic.
 */
export async function runInMemory(
  spec: JobSpec,
  records: readonly InputRecord[],
  opts: { options?: Record<string, string>; batch?: number; dims?: DimReader; drain?: boolean } = {},
): Promise<InMemoryResult> {
  const engine = new Engine(spec, resolveOptions(spec, opts.options), { ...(opts.dims ? { dims: opts.dims } : {}), now: () => 0 });
  const outputs: Emitted[] = [];
  const deadLetters: DeadLettered[] = [];
  engine.hold(new Set(records.map((r) => `${r.topic}:${r.partition}`)));
  const size = opts.batch ?? (records.length || 1);
  for (let i = 0; i < records.length; i += size) {
    await engine.processBatch(records.slice(i, i + size));
    engine.advance();
    const cp = engine.checkpoint();
    outputs.push(...cp.outputs);
    deadLetters.push(...cp.deadLetters);
  }
  if (opts.drain !== false) {
    engine.drain();
    const cp = engine.checkpoint();
    outputs.push(...cp.outputs);
    deadLetters.push(...cp.deadLetters);
  }
  return { outputs, deadLetters, counters: engine.counters, warnings: engine.warnings, engine };
}

/** An output as text, without the input record it came from (the runtime's routing is the only use of that). */
function asText(o: Output): Emitted {
  const { from: _from, ...rest } = o;
  return { ...rest, value: typeof o.value === 'string' ? o.value : o.value.toString() };
}

/** Records for runInMemory from values (one input, one partition, offsets from 0). */
export function inputRecords(input: string, topic: string, values: readonly (string | null)[], keyOf: (v: string | null, i: number) => string | null = () => null): InputRecord[] {
  return values.map((value, i) => ({ input, topic, partition: 0, offset: i, timestamp: 0, key: keyOf(value, i), value }));
}
