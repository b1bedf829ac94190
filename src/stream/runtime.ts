/**
 * The runtime around the engine: `runJob(spec, bus, options)` runs a declared job against the bus with its state
 * in one SQLite file (state-store.ts), exactly once downstream.
 *
 *   poll a batch ─► engine.processBatch ─► engine.advance ─► engine.checkpoint
 *     ─► ONE transaction: state, timers, input offsets, partition times + watermark, outputs and dead letters
 *        into the outbox (partition and per-partition sequence assigned) and the acknowledged outbox rows deleted
 *     ─► forward the new outbox chunks (in order per partition; the next batch is processed meanwhile) — on Kafka
 *        by the forwarding thread when the caller gives one (forward-thread.ts), so the two overlap on two cores
 *
 *   With a forwarding thread the job hands its state file over to it after loading (ForwardThread.adopt): the
 *   chunks get their ids and bytes here, then the thread writes each commit and sends its chunks, in commit order,
 *   while this thread processes the next batch. A commit it cannot write fails that batch and every later one
 *   (JOB_STATE), and the job stops; what the file holds is the last commit written whole.
 *
 * - Inputs start at the offsets in the state file (inputs.ts), never at the group's committed offset, which is
 *   only mirrored (best effort) for `rtwh groups`.
 * - At start, and after a send failed, the outbox chunks not known to be acknowledged are forwarded after reading
 *   the tail of their partitions (outbox.ts lastSeqsOnBus): what the bus holds already is not sent again.
 * - Kafka: each output (and dead-letter) topic's max.message.bytes is read once, when the job starts using it. A
 *   commit with a record over it is written with its chunks held (not sent), what was committed before it is sent,
 *   and the job stops with MESSAGE_TOO_LARGE; a restart refuses it again before sending it, until the limit is
 *   raised (limits.ts says why it must never reach the broker). A dead letter over it is cut to fit.
 * - A quiet stream: every poll (200 ms) ends with engine.advance(), so the idle watermark closes windows and fires
 *   timers; what they emit is committed and forwarded like any batch.
 * - `untilIdle`: once every input partition is processed to its end and the outbox is empty, drain() fires every
 *   timer (watermark +∞), that is committed and forwarded, and the job returns. The stored watermark stays the last
 *   finite one, so a later run goes on in event time rather than treating every record as late. (Entries with a
 *   TTL did expire at +∞, as they would at the end of any bounded run.)
 * - A bus or server that is away is waited for (status 'waiting'); a job logic that throws stops the job with
 *   JOB_FAILED naming the record, and nothing of that batch is committed.
 */
import { isUtf8 } from 'node:buffer';
import { deadLetter, dlqTopic } from '../bus/dead-letter';
import { firstInvalidUtf8 } from '../formats/validate';
import type { Admin, Bus, BusRecord, Consumer, Producer, TopicSpec } from '../bus/types';
import { q, RtwhError, rtwhError, stackOverflow } from '../errors';
import { Engine, resolveOptions, type PartsCheckpoint } from './engine';
import { ForwardThread, type RemoteStore } from './forward-thread';
import { InputPositions, topicBounds, type Bounds } from './inputs';
import { findOversized, fitDeadLetter, tooLargeError, type DeadLetterRecord, type Oversized, DLQ_TRUNCATED_HEADER } from './limits';
import { lastSeqsOnBus, OutputRouter, sendChunks, type Routable, type TailTarget } from './outbox';
import { patience, transient } from './retry';
import { offsetKey, seqKey, StateStore, type CommitBatch, type OutboxChunk } from './state-store';
import type { InputRecord, JobContext, JobLogic, JobResult, JobSpec, JobStatus, RunOptions } from './types';

/** `dwd log` → `dwd_log` (state file and group names). */
export function jobSlug(spec: Pick<JobSpec, 'name'>): string {
  return spec.name.trim().replace(/\s+/g, '_');
}

/** The job's consumer group unless RunOptions.group says otherwise: `rtwh-dwd_log`. */
export function jobGroup(spec: Pick<JobSpec, 'name'>): string {
  return `rtwh-${jobSlug(spec)}`;
}

/** The producer header value of an output: `<job>/<output>`; dead letters use `<job>/dlq`. */
export function producerName(spec: Pick<JobSpec, 'name'>, output: string): string {
  return `${spec.name}/${output}`;
}

export interface JobTopics {
  /** Logical input name → topic. */
  inputs: Map<string, string>;
  /** Logical output name → topic. */
  outputs: Map<string, string>;
}

/** Topic names of the inputs and outputs, from fixed names or the options naming them. */
export function resolveTopics(spec: JobSpec, options: Readonly<Record<string, string>>): JobTopics {
  const pick = (kind: string, x: { name: string; topic?: string; topicOption?: string }): string => {
    const t = x.topicOption !== undefined ? options[x.topicOption] : x.topic;
    if (t === undefined || t === '') {
      throw rtwhError('INTERNAL', `job ${q(spec.name)}: ${kind} ${q(x.name)} has no topic${x.topicOption ? ` (option --${x.topicOption} is not declared)` : ''}`);
    }
    return t;
  };
  return {
    inputs: new Map(spec.inputs.map((i) => [i.name, pick('input', i)])),
    outputs: new Map(spec.outputs.map((x) => [x.name, pick('output', x)])),
  };
}

/** An input record that keeps the original bytes (dead letters carry them unchanged). */
interface BusInput extends InputRecord {
  raw: Buffer | null;
  /** The value's bytes are not UTF-8: where the first bad one is (its text has U+FFFD in their place). */
  badUtf8?: number;
}

function jobFailure(spec: JobSpec, where: string, e: unknown, details: Record<string, unknown>): RtwhError {
  const msg = e instanceof Error ? e.message : String(e);
  return rtwhError('JOB_FAILED', `job ${q(spec.name)} failed on ${where}: ${msg}`, { cause: e, details: { job: spec.name, ...details } });
}

/** The job's logic with every call wrapped so a throw names the job and the record (or timer) it was at. */
function guarded(spec: JobSpec): JobSpec {
  return {
    ...spec,
    create(options) {
      const l = spec.create(options);
      const w: JobLogic = {
        process(r: InputRecord, ctx: JobContext) {
          // Text is what every job reads; bytes that are not UTF-8 would reach it as U+FFFD, the original lost.
          const bad = (r as BusInput).badUtf8;
          if (bad !== undefined) {
            ctx.deadLetter(`invalid UTF-8: byte ${bad} of ${(r as BusInput).raw!.length} is not valid UTF-8`);
            return;
          }
          try {
            l.process(r, ctx);
          } catch (e) {
            // A record nested so deeply that walking it overflows the stack fails the same way on every restart: it
            // is a dead letter, not a bug to stop for (what the logic did with it before the overflow stays).
            if (stackOverflow(e)) {
              ctx.deadLetter(`nested too deeply to process (${Buffer.byteLength(r.value ?? '').toLocaleString('en-US')} bytes; the stack overflowed walking it)`);
              return;
            }
            throw jobFailure(spec, `${r.topic} partition ${r.partition} offset ${r.offset}`, e, { topic: r.topic, partition: r.partition, offset: r.offset });
          }
        },
      };
      if (l.prepare) {
        const prepare = l.prepare.bind(l);
        w.prepare = async (records, ctx) => {
          try {
            await prepare(records, ctx);
          } catch (e) {
            if (transient(e)) throw e;
            const f = records[0]!;
            throw jobFailure(spec, `the batch of ${records.length} records from ${f.topic} partition ${f.partition} offset ${f.offset} (prepare)`, e, { topic: f.topic, partition: f.partition, offset: f.offset });
          }
        };
      }
      if (l.onTimer) {
        const onTimer = l.onTimer.bind(l);
        w.onTimer = (name, key, time, ctx) => {
          try {
            onTimer(name, key, time, ctx);
          } catch (e) {
            throw jobFailure(spec, `timer ${q(name)} of key ${q(key)} at ${time}`, e, { timer: name, key, time });
          }
        };
      }
      return w;
    },
  };
}

/**
 * Batches whose commit and forwarding may be out while the next one is processed (each holds its outputs' bytes,
 * a few MB for a busy job). Four rather than two let the job's thread ride out a slow acknowledgement (dwd log on
 * Kafka: ~5% more records/s, measured in alternating runs).
 */
const MAX_FLIGHTS = 4;

interface Flight {
  upTo: number;
  p: Promise<unknown>;
}

export async function runJob(spec: JobSpec, bus: Bus, o: RunOptions): Promise<JobResult> {
  const t0 = performance.now();
  const batchSize = o.batchRecords ?? 5000;
  let options: Record<string, string>;
  try {
    options = resolveOptions(spec, o.options);
  } catch (e) {
    throw rtwhError('USAGE', (e as Error).message);
  }
  const topics = resolveTopics(spec, options);
  const inputTopics = [...new Set(topics.inputs.values())];
  const inputOf = new Map<string, string>();
  for (const [name, t] of topics.inputs) if (!inputOf.has(t)) inputOf.set(t, name);
  const dlqOf = o.dlq ?? dlqTopic;
  const group = o.group ?? jobGroup(spec);
  const busWhat = `bus ${bus.displayUrl}`;
  const dlqProducer = producerName(spec, 'dlq');

  const status: JobStatus = {
    job: spec.name,
    state: 'starting',
    records: 0,
    recordsPerSecond: 0,
    emitted: Object.fromEntries(spec.outputs.map((x) => [x.name, 0])),
    deadLetters: 0,
    counters: {},
    watermark: -Infinity,
    lag: null,
    outboxPending: 0,
    stateEntries: 0,
    timersPending: 0,
    startedAt: Date.now(),
  };
  let phase: JobStatus['state'] = 'starting';
  const setPhase = (s: JobStatus['state']) => {
    phase = s;
    if (status.state !== 'waiting') status.state = s;
  };
  let aborted = o.signal?.aborted ?? false;
  const onAbort = () => (aborted = true);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const patiently = patience({
    log: o.log,
    ...(o.signal ? { signal: o.signal } : {}),
    onWaiting(what) {
      if (what === undefined) {
        status.state = phase;
        delete status.waitingFor;
      } else {
        status.state = 'waiting';
        status.waitingFor = what;
      }
    },
  });

  const store = StateStore.open(o.statePath, spec.name, bus.displayUrl);
  let consumer: Consumer | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let reporting = false;
  let lastStatusAt = performance.now();
  let lastRecords = 0;
  let failed = false;
  let remote: RemoteStore | undefined;

  try {
    const loaded = store.load();
    const engine = new Engine(guarded(spec), options, { log: o.log, ...(o.dims ? { dims: o.dims } : {}), ...(o.outOfOrdernessMs !== undefined ? { outOfOrdernessMs: o.outOfOrdernessMs } : {}) });
    engine.restore(loaded.state, loaded.timers, loaded.partitionTimes, loaded.watermark ?? -Infinity);
    const router = new OutputRouter(loaded.seqs);
    const stored = loaded.offsets;
    const inputs = new InputPositions(o.startFrom, o.log);
    let pending: OutboxChunk[] = loaded.outbox;
    let ackedUpTo = 0;
    let deletedUpTo = 0;
    let storedWatermark = loaded.watermark ?? -Infinity;
    const flights: Flight[] = [];
    let mirroring = false;

    /** The inputs' offsets as last asked (every status report): which partitions are known to have records unread. */
    let lastBounds: Bounds | undefined;
    const bounds = async (): Promise<Bounds> => {
      const b = (await topicBounds(admin!, inputTopics)).bounds;
      lastBounds = b;
      return b;
    };

    /** The engine's figures, now (also on the final status, even while a periodic report is still out). */
    const snapshot = () => {
      status.counters = { ...engine.counters };
      status.watermark = engine.watermark;
      status.stateEntries = engine.stateSize;
      status.timersPending = engine.timerCount;
      status.outboxPending = pending.reduce((a, c) => a + c.records.length, 0);
    };
    const report = async () => {
      snapshot();
      if (reporting) return;
      reporting = true;
      try {
        const now = performance.now();
        status.recordsPerSecond = ((status.records - lastRecords) * 1000) / Math.max(now - lastStatusAt, 1);
        lastRecords = status.records;
        lastStatusAt = now;
        if (admin && consumer) status.lag = await bounds().then((b) => inputs.lag(b, consumer!), () => null);
        o.onStatus?.({ ...status, emitted: { ...status.emitted }, counters: { ...status.counters } });
      } finally {
        reporting = false;
      }
    };
    statusTimer = setInterval(() => void report().catch(() => undefined), o.statusIntervalMs ?? 1000);

    admin = await patiently(busWhat, () => bus.admin());
    producer = await patiently(busWhat, () => bus.producer());

    /** Kafka: the max.message.bytes of the topics written to (limits.ts), read once per topic. */
    const limits = new Map<string, number>();
    const limitsRead = new Set<string>();
    const servers = bus.displayUrl.replace(/^kafka:\/\//, '');
    /** Reads the limits of `names` not read yet; throws BUS_UNAVAILABLE (wait and call again), logs other failures. */
    const learnLimits = async (names: readonly string[]) => {
      const effective = admin?.effectiveTopicConfig?.bind(admin);
      if (!effective) return;
      const fresh = [...new Set(names)].filter((t) => !limitsRead.has(t));
      const learnt: string[] = [];
      await Promise.all(
        fresh.map(async (topic) => {
          let limit = NaN;
          try {
            limit = Number((await effective(topic, ['max.message.bytes']))['max.message.bytes']);
          } catch (e) {
            if (!(e instanceof RtwhError) || e.code === 'BUS_UNAVAILABLE') throw e;
            o.log(`cannot read the max.message.bytes of topic ${topic} (${e.message}); its records are not checked against it`);
          }
          limitsRead.add(topic);
          if (!Number.isFinite(limit) || limit <= 0) return;
          limits.set(topic, limit);
          producer?.limitTopic?.(topic, limit);
          o.forwarder?.limitTopic(topic, limit);
          learnt.push(`${topic} ${limit.toLocaleString('en-US')} bytes`);
        }),
      );
      if (learnt.length > 0) o.log(`topic limits (max.message.bytes): ${learnt.join(', ')}; a larger record stops the job before it is sent`);
    };

    /** Makes sure the topics exist (created together when missing; see Admin.ensureTopics) and routes to them. */
    const ensureTopics = async (specs: TopicSpec[]) => {
      const wanted = specs.filter((t) => !router.knows(t.name));
      if (wanted.length === 0) return;
      const ensured = await patiently(busWhat, () => admin!.ensureTopics(wanted));
      for (const [topic, t] of ensured) {
        if (t.created) o.log(`created topic ${topic} with ${t.partitions} partition${t.partitions === 1 ? '' : 's'}`);
        router.setPartitions(topic, t.partitions);
      }
      await patiently(busWhat, () => learnLimits([...ensured.keys()]));
    };
    // Outputs that follow an input's partitions are made with as many as its topic has (when it exists yet).
    const inputPartitions = new Map<string, number>();
    for (const x of spec.outputs) {
      const input = x.partitionsLike;
      if (input === undefined || inputPartitions.has(input)) continue;
      const topic = topics.inputs.get(input);
      if (topic === undefined) throw rtwhError('INTERNAL', `job ${q(spec.name)}: output ${q(x.name)} follows the partitions of ${q(input)}, which is not one of its inputs`);
      const n = (await patiently(busWhat, () => topicBounds(admin!, [topic]))).bounds.size;
      if (n > 0) inputPartitions.set(input, n);
    }
    // All in one go: a new Kafka topic takes ~150 ms to create and lead, several in one request hardly more.
    await ensureTopics(
      spec.outputs.map((x) => ({ name: topics.outputs.get(x.name)!, partitions: (x.partitionsLike !== undefined ? inputPartitions.get(x.partitionsLike) : undefined) ?? x.partitions ?? 1 })),
    );
    for (const x of spec.outputs) {
      const n = x.partitionsLike !== undefined ? inputPartitions.get(x.partitionsLike) : undefined;
      const topic = topics.outputs.get(x.name)!;
      const has = router.partitionsOf(topic);
      if (n !== undefined && has !== undefined && has < n) {
        o.log(
          `warning: ${topic} has ${has} partition${has === 1 ? '' : 's'} for the ${n} of ${topics.inputs.get(x.partitionsLike!)}: records of several input partitions share one, ` +
            `so event time in it goes back and a consumer with a small out-of-orderness (run dws) counts them late. Create it with ${n} partitions ` +
            `(\`rtwh topics create ${topic} -p ${n}\`) before the job's first run`,
        );
      }
    }

    /** Producer header values of ours per output topic. */
    const oursIn = (topic: string, chunks: readonly OutboxChunk[]): Set<string> => {
      const s = new Set<string>([dlqProducer]);
      for (const [name, t] of topics.outputs) if (t === topic) s.add(producerName(spec, name));
      for (const c of chunks) if (c.topic === topic) for (const r of c.records) s.add(r.producer);
      return s;
    };

    /** Forwards `chunks` whose fate is unknown: only what the bus does not hold yet (read from its tails). */
    const recoverSend = async (chunks: readonly OutboxChunk[]): Promise<void> => {
      // Topics of an outbox left by the last run may not be in use yet (dead letters), and none is sent past a record
      // its topic does not take: the chunks before it are, then the job stops.
      await learnLimits(chunks.map((c) => c.topic));
      const over = findOversized(chunks, limits);
      if (over) {
        if (over.index > 0) await recoverSend(chunks.slice(0, over.index));
        throw tooLargeError(spec.name, over.record, servers);
      }
      const targets = new Map<string, TailTarget>();
      for (const c of chunks) {
        const k = seqKey(c.topic, c.partition);
        const t = targets.get(k);
        if (t) (t as { expected: number }).expected += c.records.length;
        else targets.set(k, { topic: c.topic, partition: c.partition, producers: oursIn(c.topic, chunks), expected: c.records.length });
      }
      const last = await lastSeqsOnBus(bus, admin!, [...targets.values()], { log: o.log });
      const total = chunks.reduce((a, c) => a + c.records.length, 0);
      const sent = await sendChunks(producer!, chunks, last);
      o.log(`outbox: ${total} committed record${total === 1 ? '' : 's'} whose delivery was unknown: ${total - sent} already on the bus, ${sent} sent now`);
    };

    const dropAcked = (upTo: number) => {
      ackedUpTo = Math.max(ackedUpTo, upTo);
      let i = 0;
      while (i < pending.length && pending[i]!.id <= upTo) i++;
      if (i > 0) {
        // on the bus: their bytes in the chunk arena may be written again
        store.releaseChunks(pending.slice(0, i));
        pending = pending.slice(i);
      }
    };

    /** Waits until at most `max` forwards are in flight; a failed one makes every unacknowledged chunk go through recovery. */
    const settle = async (max: number) => {
      while (flights.length > max) {
        const f = flights[0]!;
        const err = await f.p;
        if (err === null) {
          flights.shift();
          dropAcked(f.upTo);
          continue;
        }
        // Every answer first: a state file that could not be written (its commits run in the forwarding thread) stops
        // the job even behind a failed send, whose recovery would otherwise send outputs that were never committed.
        const errs: unknown[] = [err];
        for (const g of flights) errs.push(await g.p);
        flights.length = 0;
        const fatal = errs.find((x) => x !== null && !transient(x));
        if (fatal !== undefined) throw fatal;
        o.log(`forwarding failed (${(err as Error).message}); re-reading the output tails before sending again`);
        const chunks = pending;
        await patiently(busWhat, () => recoverSend(chunks));
        if (chunks.length) dropAcked(chunks[chunks.length - 1]!.id);
      }
    };

    // Kafka's producer keeps the call order of concurrent sends per partition, so batches are pipelined there. The
    // sqlite producer does not promise that (a send may yield before it writes), so each send waits for the one
    // before; a send behind a failed one is not made (the recovery sends it, in order).
    const pipelined = bus.kind === 'kafka';
    // Kafka: the chunks are turned into requests in the forwarding thread when the caller started one.
    const forwarder = pipelined ? o.forwarder : undefined;
    const launch = (chunks: OutboxChunk[]) => {
      if (chunks.length === 0) return;
      const viaThread = forwarder !== undefined && ForwardThread.canTake(chunks);
      const send = () =>
        (viaThread ? forwarder.send(chunks) : sendChunks(producer!, chunks)).then(
          () => null,
          (e: unknown) => e,
        );
      const before = flights[flights.length - 1];
      const p = pipelined || !before ? send() : before.p.then((err) => (err === null ? send() : err));
      flights.push({ upTo: chunks[chunks.length - 1]!.id, p });
    };

    const mirror = (offsets: { topic: string; partition: number; next: number }[]) => {
      if (offsets.length === 0 || mirroring || !consumer) return;
      mirroring = true;
      consumer
        .commit(offsets.map((x) => ({ topic: x.topic, partition: x.partition, offset: x.next })))
        .catch(() => undefined)
        .finally(() => (mirroring = false));
    };

    /** Topic and producer header value per output name (looked up once per output record). */
    interface OutputTarget {
      output: string;
      topic: string;
      producer: string;
      /** The logical input whose partitions it follows, if it does. */
      follows: string | undefined;
    }
    const followsOf = new Map(spec.outputs.map((x) => [x.name, x.partitionsLike]));
    const outputTargets = new Map<string, OutputTarget>(
      [...topics.outputs].map(([output, topic]) => [output, { output, topic, producer: producerName(spec, output), follows: followsOf.get(output) }]),
    );

    /** Commits what the engine did since the last checkpoint (and the input positions); then forwards it. */
    const commit = async (cp: PartsCheckpoint) => {
      const routable: Routable[] = [];
      const emitted = new Map<string, number>();
      const now = Date.now();
      let last: OutputTarget | undefined;
      let lastCount = 0;
      for (const e of cp.outputs) {
        let target = last;
        if (target === undefined || target.output !== e.output) {
          if (last !== undefined) emitted.set(last.output, (emitted.get(last.output) ?? 0) + lastCount);
          lastCount = 0;
          target = last = outputTargets.get(e.output);
        }
        lastCount++;
        if (target === undefined) throw rtwhError('JOB_FAILED', `job ${q(spec.name)} emitted to ${q(e.output)}, which is not one of its outputs (${spec.outputs.map((x) => x.name).join(', ')})`, { details: { job: spec.name, output: e.output } });
        // Stamped with the commit's wall-clock time, not the event time: Kafka's retention and time-based segment
        // rolling go by record timestamps, so outputs of a replayed or mock day (event times weeks back) were
        // deleted minutes after they were written. Maxwell and Flume stamp the send time too.
        const r: Routable = { topic: target.topic, producer: target.producer, key: e.key, value: e.value, ts: now, headers: null };
        if (target.follows !== undefined && e.from !== undefined && e.from.input === target.follows) r.partition = e.from.partition;
        routable.push(r);
      }
      if (last !== undefined) emitted.set(last.output, (emitted.get(last.output) ?? 0) + lastCount);
      for (const d of cp.deadLetters) {
        const r = d.record as BusInput;
        const m = deadLetter(r.raw ?? r.value ?? '', d.reason, spec.name, { topic: r.topic, partition: r.partition, offset: r.offset }, r.key);
        const topic = dlqOf(r.topic);
        await ensureTopics([{ name: topic }]);
        let dead: DeadLetterRecord = { key: r.key, value: m.value as string | Buffer, headers: m.headers ?? null };
        const limit = limits.get(topic);
        const fit = limit === undefined ? undefined : fitDeadLetter(dead, dlqProducer, limit);
        if (fit) {
          dead = fit.record;
          const n = (x: number) => x.toLocaleString('en-US');
          o.log(
            `dead letter of ${r.topic} partition ${r.partition} offset ${r.offset}: ${n(fit.originalBytes)} bytes cut to ${n(Buffer.byteLength(dead.value))} to fit topic ${topic} ` +
              `(max.message.bytes ${n(limit!)}); header ${DLQ_TRUNCATED_HEADER} holds its size`,
          );
        }
        routable.push({ topic, producer: dlqProducer, key: dead.key, value: dead.value, ts: now, headers: dead.headers });
      }
      const { chunks, seqs } = router.route(routable);
      // A record over its topic's limit: the batch is committed with its chunks held (in the outbox, not sent), what
      // was committed before is sent, and the job stops (limits.ts). The chunks' bytes measure their records.
      let over: Oversized | undefined;
      if (limits.size > 0 && chunks.length > 0) {
        store.prepareChunks(chunks);
        over = findOversized(chunks, limits)?.record;
      }
      const offsets = inputs.takeChanged();
      const wm = Number.isFinite(cp.watermark) ? cp.watermark : storedWatermark;
      const nothing = chunks.length === 0 && cp.state.length === 0 && cp.timersAdded.length === 0 && cp.timersRemoved.length === 0 && offsets.length === 0 && wm === storedWatermark && ackedUpTo <= deletedUpTo;
      if (nothing) return;
      const deleteUpTo = ackedUpTo > deletedUpTo ? ackedUpTo : 0;
      const batch: CommitBatch = {
        state: cp.state,
        timersAdded: cp.timersAdded,
        timersRemoved: cp.timersRemoved,
        offsets,
        partitionTimes: cp.partitionTimes,
        watermark: Number.isFinite(wm) ? wm : null,
        chunks,
        seqs,
        deleteUpTo,
      };
      // With the file handed to the forwarding thread, the commit and then its chunks' sending happen there: a
      // flight like any send (the chunks get their ids here, in commit order).
      if (remote) {
        const p = remote.commit(batch, over !== undefined).then(
          () => null,
          (e: unknown) => e,
        );
        // Held chunks are not acknowledged by this flight.
        flights.push({ upTo: chunks.length > 0 && !over ? chunks[chunks.length - 1]!.id : 0, p });
      } else store.commit(batch);
      if (deleteUpTo) deletedUpTo = deleteUpTo;
      storedWatermark = wm;
      router.accept(seqs);
      for (const x of offsets) stored.set(offsetKey(x.topic, x.partition), x.next);
      for (const [output, n] of emitted) status.emitted[output] = (status.emitted[output] ?? 0) + n;
      status.deadLetters += cp.deadLetters.length;
      for (const c of chunks) pending.push(c);
      if (over) {
        await settle(0);
        throw tooLargeError(spec.name, over, servers);
      }
      if (!remote) launch(chunks);
      mirror(offsets);
    };

    // The outbox left by the last run: forward what the bus does not hold yet.
    if (pending.length > 0) {
      const chunks = pending;
      await patiently(busWhat, () => recoverSend(chunks));
      dropAcked(chunks[chunks.length - 1]!.id);
    }

    // Kafka with a forwarding thread: the thread writes the state file from here on (forward-thread.ts).
    if (forwarder) remote = await forwarder.adopt(store, spec.name, bus.displayUrl);

    consumer = await patiently(busWhat, () => bus.consumer({ group, topics: inputTopics, startFrom: o.startFrom, maxPollRecords: batchSize, clientId: `rtwh-${jobSlug(spec)}` }));
    setPhase('running');
    o.log(`running: ${inputTopics.join(', ')} → ${[...new Set(topics.outputs.values())].join(', ')} (group ${group}, state ${o.statePath}${loaded.offsets.size ? `, ${loaded.offsets.size} stored offset${loaded.offsets.size === 1 ? '' : 's'}` : ''})`);

    // The next poll is asked for before the batch is processed (its fetch overlaps the work), but only after the
    // partition sync, so a seek never races a poll: records from before a seek are dropped as `fresh` ones.
    let prefetched: Promise<BusRecord[]> | undefined;
    const poll = () => consumer!.poll({ timeoutMs: 200, maxRecords: batchSize });
    while (!aborted) {
      const recs = await patiently(busWhat, () => {
        const p = prefetched ?? poll();
        prefetched = undefined;
        return p;
      });
      const fresh = await patiently(busWhat, () => inputs.sync(consumer!, stored, bounds));
      engine.assigned(consumer.assignment().map((tp) => `${tp.topic}:${tp.partition}`));
      // Idleness is for partitions with nothing to read: one with records not read yet (a restart, a backlog, a
      // poll that served other partitions) is not idle however long it has not delivered.
      if (lastBounds) engine.busy(inputs.behind(lastBounds, consumer));
      if (recs.length > 0 && fresh.size === 0) {
        prefetched = poll();
        prefetched.catch(() => undefined); // seen when awaited; unobserved if the loop ends first
      }
      const batch: BusInput[] = [];
      let input = '';
      const take = (r: BusRecord) => batch.push(toInput(r, input));
      // Polls return runs of records of one partition: its key and input name are looked up once per run.
      for (let i = 0; i < recs.length; ) {
        const { topic, partition } = recs[i]!;
        let end = i + 1;
        while (end < recs.length && recs[end]!.partition === partition && recs[end]!.topic === topic) end++;
        input = inputOf.get(topic) ?? topic;
        inputs.acceptRun(recs, i, end, offsetKey(topic, partition), fresh, take);
        i = end;
      }
      if (batch.length > 0) {
        await patiently('the job\'s lookups', () => engine.processBatch(batch));
        status.records += batch.length;
      }
      engine.advance();
      await commit(engine.checkpointParts());
      await settle(batch.length > 0 ? MAX_FLIGHTS : 0);
      // Drained is decided by the inputs' end offsets, so the first empty poll asks (each further one asks again: an
      // admin request per 200 ms poll, only while idle) — and so does a batch that reaches the ends last read, for
      // the next poll would only wait out its timeout on a drained input.
      const idle = batch.length === 0 && recs.length === 0 && fresh.size === 0;
      const caughtUp = o.untilIdle && batch.length > 0 && fresh.size === 0 && lastBounds !== undefined && inputs.drained(lastBounds, consumer);
      if (o.untilIdle && (idle || caughtUp)) {
        if (pending.length === 0 || caughtUp) {
          const b = await patiently(busWhat, bounds);
          if (inputs.drained(b, consumer)) {
            setPhase('draining');
            engine.drain();
            await commit(engine.checkpointParts());
            break;
          }
        }
      }
    }
    setPhase('stopping');
    await settle(0);
    if (ackedUpTo > deletedUpTo) {
      const last: CommitBatch = { state: [], timersAdded: [], timersRemoved: [], offsets: [], partitionTimes: {}, watermark: null, chunks: [], seqs: new Map(), deleteUpTo: ackedUpTo };
      if (remote) await remote.commit(last);
      else store.commit(last);
      deletedUpTo = ackedUpTo;
    }
    await report().catch(() => undefined);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (statusTimer) clearInterval(statusTimer);
    o.signal?.removeEventListener('abort', onAbort);
    await consumer?.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    // The thread closes the file after the commits handed to it (they are written in order).
    if (remote) await remote.close().catch(() => undefined);
    store.close();
    status.state = 'stopped';
    delete status.waitingFor;
    if (!failed) o.onStatus?.({ ...status, emitted: { ...status.emitted }, counters: { ...status.counters } });
  }
  return { status: { ...status, emitted: { ...status.emitted }, counters: { ...status.counters } }, seconds: (performance.now() - t0) / 1000 };
}

function toInput(r: BusRecord, input: string): BusInput {
  const x: BusInput = {
    input,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    raw: r.value,
  };
  if (r.value !== null && !isUtf8(r.value)) x.badUtf8 = firstInvalidUtf8(r.value);
  return x;
}
