/**
 * The small stream runtime's contract: what a job declares, and what the runtime hands a job while it runs.
 *
 * A job is pure logic over records: it never opens a connection. The runtime (src/stream/runtime.ts) owns the
 * consume loop, the job's state file, event time, timers, dead letters, the outbox and the commit:
 *
 *   poll a batch ─► job.process(record, ctx) for each ─► advance the watermark ─► fire due timers (job.onTimer)
 *     ─► ONE SQLite transaction in the job's state file: dirty keyed state + timers + input offsets + outputs
 *        (the outbox) ─► forward the outbox to the bus, in order per output partition ─► mark forwarded
 *
 * Exactly-once downstream without bus transactions: each forwarded record carries headers naming the job output
 * and its sequence number in that partition; after a crash the runtime reads the tail of each output partition
 * to learn the last sequence the bus holds and forwards only what follows. State and offsets are in the same
 * transaction as the outputs, so a crash at any point neither loses nor repeats a record downstream.
 *
 * One process runs a job at a time (a lock on the state file); the job reads every partition of its inputs.
 */
import type { ForwardThread } from './forward-thread';

/** A JSON value as jobs produce them (bigint and exact decimals are serialised by the runtime's JSON writer). */
export type Json = string | number | boolean | null | bigint | { toJSON(): unknown } | Json[] | { [k: string]: Json };

/** One declared option of a job: becomes a `--flag` of `rtwh run <job>` and a line of `rtwh run --list`. */
export interface JobOption {
  /** Flag name without dashes, e.g. 'page-topic'. */
  name: string;
  description: string;
  default: string;
  /** Checks a value; returns a message naming what was expected, or undefined when fine. */
  check?: (value: string) => string | undefined;
}

/** An input of a job: a topic (its name may come from an option). */
export interface JobInput {
  /** Logical name used in code, e.g. 'ods_log'. */
  name: string;
  /** The option that names its topic (declared in `options`), or a fixed topic. */
  topicOption?: string;
  topic?: string;
}

/** An output of a job: a topic, keyed records. */
export interface JobOutput {
  /** Logical name used in ctx.emit, e.g. 'page'. */
  name: string;
  topicOption?: string;
  topic?: string;
  /** Partitions if the runtime has to create the topic (default 1, or the bus default). */
  partitions?: number;
  /**
   * The logical name of an input whose partitions this output follows: created with as many partitions as that
   * input's topic has, and what a record of that input's partition p causes goes to partition p (mod the output's
   * count). Each output partition then holds the records of one input partition in their order, so event time in it
   * goes back no more than in the input; mixing the input partitions into one output partition interleaves whole
   * batches of each, and a consumer with a small out-of-orderness (a DWS window) sees the later batches as late.
   * Outputs emitted by timers are routed by key, as other outputs are.
   */
  partitionsLike?: string;
}

/** A record as a job sees it. */
export interface InputRecord {
  /** Logical input name. */
  input: string;
  topic: string;
  partition: number;
  offset: number;
  /** Bus timestamp, ms. */
  timestamp: number;
  key: string | null;
  /** The value as UTF-8 text (null for a tombstone). */
  value: string | null;
}

/**
 * Keyed state, namespaced. Values are JSON-serialisable. Reads see the job's own writes immediately; the runtime
 * persists dirty entries with the batch's commit. A TTL (ms of EVENT time after the write) drops an entry once
 * the watermark passes write time + ttl.
 */
export interface KeyedState {
  get<T = unknown>(namespace: string, key: string): T | undefined;
  put(namespace: string, key: string, value: unknown, ttlMs?: number): void;
  delete(namespace: string, key: string): void;
  /** Every entry of a namespace whose key starts with `prefix` (for joins keyed by `<id>|…`). */
  scan<T = unknown>(namespace: string, prefix: string): [string, T][];
}

/** Event-time timers: onTimer(name, key, time) is called once the watermark reaches `time`. */
export interface Timers {
  /** Registering the same (name, key, time) twice registers it once. */
  register(name: string, key: string, time: number): void;
  cancel(name: string, key: string, time: number): void;
}

/**
 * An output value given as `head` + `tail` where records emitted one after another share the very same head (a
 * page's common and page ahead of each of its displays): the state file turns the head into bytes once per run of
 * records sharing it and copies those bytes, instead of building and encoding the whole text per record.
 */
export class HeadTail {
  constructor(
    readonly head: string,
    readonly tail: string,
  ) {}

  toString(): string {
    return this.head + this.tail;
  }
}

/** What process/onTimer may do. */
export interface JobContext {
  /**
   * Emits a record to an output (value: object → JSON, string or HeadTail as is). `ts` (ms) is the record's event
   * time (in-memory runs and tests see it); on the bus the record is stamped with its commit's wall-clock time, as
   * Kafka's retention needs (runtime.ts).
   */
  emit(output: string, key: string | null, value: Json | string | HeadTail, ts?: number): void;
  /** Reports the record's event time (ms); the runtime derives the watermark from these. */
  observe(eventTimeMs: number): void;
  /** Sends the record being processed to the dead-letter topic with this reason; processing goes on. */
  deadLetter(reason: string): void;
  /** Counts something for the status line and /metrics (e.g. 'late', 'join_dropped'). */
  count(counter: string, n?: number): void;
  /** Logs a warning about the input (the job's log; stderr for `rtwh run`). Say it once, not per record. */
  warn(message: string): void;
  readonly state: KeyedState;
  readonly timers: Timers;
  /** Current watermark (ms; -Infinity before any event; +Infinity while draining at the end with --until-idle). */
  readonly watermark: number;
  /** Options as given (declared defaults applied). */
  readonly options: Readonly<Record<string, string>>;
  /** Dimension lookups (the dim store's cached client), when the job declared `needsDims`. */
  readonly dims: DimReader | undefined;
}

/** The part of the dim lookup client jobs use (src/dim/lookup.ts DimLookup satisfies it). */
export interface DimReader {
  get(table: string, id: string): Promise<Record<string, string | null> | undefined>;
  getMany(table: string, ids: readonly string[]): Promise<Map<string, Record<string, string | null>>>;
}

/** The logic of a running job. */
export interface JobLogic {
  /**
   * Optional: called with the whole batch before process(), to prefetch what process() will need (dim rows).
   * The only async step; process() and onTimer() are synchronous.
   */
  prepare?(records: readonly InputRecord[], ctx: JobContext): Promise<void>;
  process(record: InputRecord, ctx: JobContext): void;
  onTimer?(name: string, key: string, time: number, ctx: JobContext): void;
}

/** A declared job: everything `rtwh run --list`, `rtwh run <job> --help` and the runtime need. */
export interface JobSpec {
  /** e.g. 'dwd log' → `rtwh run dwd log`; also names its state file and consumer group (spaces → '_'). */
  name: string;
  description: string;
  inputs: JobInput[];
  outputs: JobOutput[];
  options: JobOption[];
  /** Max out-of-orderness for the watermark (ms; default 3000). */
  outOfOrdernessMs?: number;
  /** An input partition with no record for this long (wall clock) and none known unread stops holding the watermark back (default 5000). */
  idleTimeoutMs?: number;
  /** The job reads dims through ctx.dims. */
  needsDims?: boolean;
  /**
   * Optional: option values that depend on other options (e.g. a topic style choosing the topic names), applied
   * to the values given before the declared defaults: returns values for options NOT given.
   */
  derivedOptions?(given: Readonly<Record<string, string | undefined>>): Record<string, string>;
  create(options: Readonly<Record<string, string>>): JobLogic;
}

/** Where and how a job runs (from the CLI). */
export interface RunOptions {
  /** Option values by name (defaults applied by the caller or the runtime). */
  options: Record<string, string>;
  /** The job's state file (SQLite); default `<state_dir>/jobs/<job>.db`. */
  statePath: string;
  /** Dead-letter topic for every input (default `<input topic>_dlq`). */
  dlq?: (inputTopic: string) => string;
  /** Consumer group (only mirrors the stored offsets for `rtwh groups`); default `rtwh-<job>` (spaces → '_'). */
  group?: string;
  /** Where to start an input partition the state file has no offset for. */
  startFrom: 'earliest' | 'latest';
  untilIdle: boolean;
  /** Records per poll / commit (default 5000). */
  batchRecords?: number;
  signal?: AbortSignal;
  log: (message: string) => void;
  onStatus?: (s: JobStatus) => void;
  statusIntervalMs?: number;
  dims?: DimReader;
  /**
   * Kafka: the thread that turns committed outputs into produce requests (forward-thread.ts; one for all the jobs
   * of a process). Without it the job's own thread does that too.
   */
  forwarder?: ForwardThread;
  /** How far the watermark stays behind the newest event time (default: the spec's, else 3000 ms). */
  outOfOrdernessMs?: number;
}

export interface JobStatus {
  job: string;
  state: 'starting' | 'running' | 'waiting' | 'draining' | 'stopping' | 'stopped';
  waitingFor?: string;
  /** Input records processed (after the stored offsets). */
  records: number;
  recordsPerSecond: number;
  /** Records emitted per output name. */
  emitted: Record<string, number>;
  deadLetters: number;
  /** Job counters (ctx.count), e.g. late, join_dropped. */
  counters: Record<string, number>;
  watermark: number;
  /** Records in the inputs not processed yet; null until known. */
  lag: number | null;
  /** Outputs committed but not yet on the bus. */
  outboxPending: number;
  stateEntries: number;
  timersPending: number;
  startedAt: number;
}

export interface JobResult {
  status: JobStatus;
  seconds: number;
}

/** Headers the runtime puts on every output record (exactly-once recovery reads them back). */
export const OUT_HEADER = {
  /** `<job>/<output>` */
  producer: 'rtwh.producer',
  /** Sequence number of the record in its output partition, from 1. */
  seq: 'rtwh.seq',
} as const;
