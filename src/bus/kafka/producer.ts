/**
 * Bus Producer for Kafka.
 *
 * Partitioning is Kafka's default (murmur2 of the key, the Java client's algorithm, src/bus/partitioner.ts) for keyed
 * records, so a key lands on the same partition whichever client wrote it — and the same one the sqlite bus picks.
 * Records without key and partition go, per send() call, all to one partition chosen round-robin (the Java client's
 * "sticky" idea): one batch per call instead of one per record.
 *
 * Fast path (see produce-request.ts for the profile behind it): send() groups its records per partition itself and
 * writes each group as a ready record batch (a PreparedBatch); pipeline.ts sends them as Produce requests over
 * kafkajs's cluster (metadata, connections, producer id) with several requests in flight.
 *
 * In flight: up to GROUPS_IN_FLIGHT groups of send() calls are worked on at once — one being encoded while the
 * requests of the ones before it are on the wire (at most pipeline.ts's MAX_IN_FLIGHT requests). Calls queued while
 * that many are in flight go out together (COALESCE_BYTES), one batch per partition.
 *
 * Guarantees:
 * - acks=all and an idempotent producer by default (acks 'leader' = 1, not idempotent, one request at a time).
 * - Order: records of the send() calls of one producer reach each partition in call order, and within a call in
 *   their order; batches are numbered in that order and a batch refused by the broker is never overtaken by a later
 *   one (the broker refuses a sequence gap; pipeline.ts resends in order).
 * - Results settle in call order. When a call fails because of the bus (unreachable, refusing after the retries),
 *   the calls already in flight behind it fail too (NotSent, "not sent, an earlier send failed") unless the broker
 *   had written all of their records; calls made after that are sent normally. A caller that retries the failed
 *   calls in order therefore never finds a later call's records ahead of an earlier one's.
 * - When a call fails because of its own records (too large, no such partition), it fails alone: the calls in flight
 *   behind it are sent again in order, and the calls coalesced with it are sent again one by one — unless the
 *   producer was made fail-stop (stopOnFirstFailure, for cdc): then they fail too, whatever the reason.
 * - A batch whose fate is unknown after the retries retires the producer id before the next send, so a later batch
 *   can never be taken for its duplicate.
 * - Every failure reaches the caller as an RtwhError (client.ts kafkaFailure).
 */
import { CompressionTypes, type Kafka } from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import { murmur2, toPositive } from '../partitioner.ts';
import type { Compression, ProduceMessage, ProduceResult, Producer, ProducerOptions } from '../types.ts';
import { kafkaFailure, type KafkaContext } from './client.ts';
import { checkTopicName } from '../topic-name.ts';
import { isNotSent, type Layout, ProducePipe } from './pipeline.ts';
import { installProduceEncoder, PreparedBatch } from './produce-request.ts';
import { BATCH_HEADER_BYTES, encodeRecords, type RecordInput } from './record-batch.ts';

/** kafkajs codec per compression setting (also what cdc measures a record's batch with). */
export const CODECS: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/**
 * Uncompressed record bytes per batch. Kafka's default max.message.bytes is 1 MiB + 12 per batch; a single record
 * bigger than this still goes (alone), for topics that allow it. A topic told to take less (limitTopic) gets
 * smaller batches.
 */
export const MAX_BATCH_BYTES = 1_000_000;

/** Groups of send() calls worked on at once (encoding one while the requests of the others are on the wire). */
const GROUPS_IN_FLIGHT = 4;

/**
 * Consecutive queued send() calls to one topic go out together up to this many (approximate) record bytes. Their
 * records keep call order; each call still gets its own results.
 */
const COALESCE_BYTES = 4 * 1024 * 1024;

/** One send() call waiting its turn. */
interface Job {
  topic: string;
  messages: ProduceMessage[];
  /** approxSize() of each record, and their sum. */
  sizes: Int32Array;
  bytes: number;
  resolve(r: ProduceResult[]): void;
  reject(e: unknown): void;
}

/** Where each record of a send went: partition -1 = not written (yet). */
interface Placement {
  partition: Int32Array;
  offset: Float64Array;
}

/** A call's results: per partition, its records' offsets as ranges (one unless another producer wrote between). */
function ranges(topic: string, placed: Placement, from: number, to: number): ProduceResult[] {
  const out: ProduceResult[] = [];
  const open = new Map<number, ProduceResult>();
  for (let i = from; i < to; i++) {
    const partition = placed.partition[i]!;
    const offset = placed.offset[i]!;
    const r = open.get(partition);
    if (r && r.baseOffset + r.count === offset) {
      r.count++;
    } else {
      const fresh = { topic, partition, baseOffset: offset, count: 1 };
      out.push(fresh);
      open.set(partition, fresh);
    }
  }
  return out.sort((a, b) => a.partition - b.partition || a.baseOffset - b.baseOffset);
}

/** Failures caused by particular records (not the broker or the network): worth retrying each call on its own. */
function isAboutRecords(e: unknown): boolean {
  return e instanceof RtwhError && (e.code === 'MESSAGE_TOO_LARGE' || (e.details as { badPartition?: unknown } | undefined)?.badPartition !== undefined);
}

const utf8 = new TextEncoder();

/** One group of calls on its way: where its records went, and how its attempt ended. */
interface Flight {
  group: Job[];
  topic: string;
  messages: ProduceMessage[];
  sizes: Int32Array;
  starts: number[];
  placed: Placement;
  failure: unknown;
  /** Resolves once this group's batches were handed to the pipeline (or it failed before): the next may go. */
  submitted: Promise<void>;
  done: Promise<void>;
}

export class KafkaProducer implements Producer {
  private stopOnFailure = false;
  private readonly roundRobin = new Map<string, number>();
  /** Record bytes per batch of topics that take less than MAX_BATCH_BYTES (limitTopic). */
  private readonly batchBytes = new Map<string, number>();
  /** send() calls not yet started, in call order. */
  private readonly queue: Job[] = [];
  /** Groups on their way, in call order; settled from the front. */
  private readonly active: Flight[] = [];
  private lastSubmitted: Promise<void> = Promise.resolve();
  /** A group failed: no new group starts until the ones in flight are settled. */
  private trouble = false;
  private settling = false;
  private closed = false;
  private keyBuf = Buffer.allocUnsafe(256);

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly pipe: ProducePipe,
    private readonly compression: CompressionTypes,
  ) {}

  static async open(ctx: KafkaContext, client: Kafka, opts: ProducerOptions = {}): Promise<KafkaProducer> {
    installProduceEncoder();
    const acks = (opts.acks ?? 'all') === 'all' ? -1 : 1;
    const compression = CODECS[opts.compression ?? 'none'];
    const pipe = await ProducePipe.open(ctx, client, { acks, compression, maxInFlight: acks === -1 ? Number.POSITIVE_INFINITY : 1 });
    return new KafkaProducer(ctx, pipe, compression);
  }

  /**
   * Makes this producer fail-stop: when a send fails, for whatever reason, every send in flight behind it that the
   * broker has not completely written fails too (NotSent), and calls coalesced with it are not sent again one by
   * one. For a caller that retries failed sends in order (cdc's writer) and must never find a later send's records
   * ahead of an earlier one's. Not part of the Bus interface: callers look for it (the sqlite producer has none).
   */
  stopOnFirstFailure(): void {
    this.stopOnFailure = true;
  }

  /**
   * The topic takes record batches of at most `maxMessageBytes` (its effective max.message.bytes): batches of many
   * records are kept under it (a record that does not fit alone still goes alone; the broker refuses it). Not part of
   * the Bus interface: callers look for it (the stream runtime; the sqlite producer has none).
   */
  limitTopic(topic: string, maxMessageBytes: number): void {
    // approxSize() bounds a record's bytes in a batch, so the records' sum plus the batch header is the batch's size.
    const cap = Math.max(1, Math.min(MAX_BATCH_BYTES, Math.floor(maxMessageBytes) - BATCH_HEADER_BYTES));
    if (cap < MAX_BATCH_BYTES) this.batchBytes.set(topic, cap);
    else this.batchBytes.delete(topic);
  }

  /** Requests outstanding right now (tests). */
  get requestsInFlight(): number {
    return this.pipe.inFlight;
  }

  /** Test hook: drop the connections to the brokers now, whatever is in flight (pipeline.ts resends in order). */
  dropConnections(): void {
    this.pipe.dropConnections();
  }

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    if (this.closed) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`);
    checkTopicName(topic);
    if (messages.length === 0) return [];
    const sizes = new Int32Array(messages.length);
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) bytes += sizes[i] = approxSize(messages[i]!);
    return new Promise<ProduceResult[]>((resolve, reject) => {
      this.queue.push({ topic, messages, sizes, bytes, resolve, reject });
      this.launch();
    });
  }

  /** Starts groups from the queue while fewer than GROUPS_IN_FLIGHT are on their way. */
  private launch(): void {
    while (!this.trouble && this.queue.length > 0 && this.active.length < GROUPS_IN_FLIGHT) {
      const f = this.flight(this.takeGroup(), this.lastSubmitted);
      this.lastSubmitted = f.submitted;
      this.active.push(f);
    }
    if (!this.settling && this.active.length > 0) void this.settleLoop();
  }

  /**
   * The first queued send, and the sends queued right behind it for the same topic, up to COALESCE_BYTES: sends made
   * while requests were in flight go out together (one batch per partition) instead of one by one.
   */
  private takeGroup(): Job[] {
    const first = this.queue.shift()!;
    const group = [first];
    let bytes = first.bytes;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.topic !== first.topic || bytes + next.bytes > COALESCE_BYTES) break;
      group.push(this.queue.shift()!);
      bytes += next.bytes;
    }
    return group;
  }

  private flight(group: Job[], prev: Promise<void>): Flight {
    const topic = group[0]!.topic;
    const messages = group.length === 1 ? group[0]!.messages : group.flatMap((j) => j.messages);
    const starts: number[] = [];
    let n = 0;
    for (const j of group) {
      starts.push(n);
      n += j.messages.length;
    }
    let sizes = group[0]!.sizes;
    if (group.length > 1) {
      sizes = new Int32Array(n);
      group.forEach((j, k) => sizes.set(j.sizes, starts[k]));
    }
    let markSubmitted!: () => void;
    const f: Flight = {
      group,
      topic,
      messages,
      sizes,
      starts,
      placed: { partition: new Int32Array(n).fill(-1), offset: new Float64Array(n) },
      failure: null,
      submitted: new Promise<void>((r) => (markSubmitted = r)),
      done: Promise.resolve(),
    };
    f.done = (async () => {
      let handedOver = false;
      try {
        await this.sendNow(f, prev, () => {
          handedOver = true;
          markSubmitted();
        });
      } catch (e) {
        f.failure = e;
        // Failed before its batches went to the pipeline: the groups behind it must not pass it either.
        if (!handedOver) this.pipe.refuse(e);
      }
      await prev;
      markSubmitted();
    })();
    return f;
  }

  /** Settles the groups in call order; after a failure, settles everything in flight before starting anew. */
  private async settleLoop(): Promise<void> {
    this.settling = true;
    try {
      while (this.active.length > 0) {
        const head = this.active[0]!;
        await head.done;
        if (head.failure !== null) this.trouble = true;
        if (!this.trouble) {
          this.active.shift();
          this.finish(head);
          this.launch();
          continue;
        }
        await Promise.all(this.active.map((f) => f.done));
        const troubled = this.active.splice(0);
        const first = troubled.find((f) => f.failure !== null)!.failure;
        for (const f of troubled) {
          this.pipe.resume();
          // Behind a call that failed for its own records, the calls refused with it are sent again, in order (that
          // call fails alone); behind a failing bus they fail too, so that a caller retrying in order keeps order.
          if (!this.stopOnFailure && f.failure !== null && isNotSent(f.failure) && isAboutRecords(first)) {
            f.failure = null;
            try {
              await this.sendNow(f, Promise.resolve(), () => {});
            } catch (e) {
              f.failure = e;
            }
          }
          if (f.failure === null) this.finish(f);
          else await this.settleFailed(f);
        }
        this.pipe.resume();
        this.trouble = false;
        this.launch();
      }
    } finally {
      this.settling = false;
    }
  }

  /** Every record of the group was written: each call gets its results. */
  private finish(f: Flight): void {
    f.group.forEach((job, k) => {
      const from = f.starts[k]!;
      job.resolve(ranges(f.topic, f.placed, from, from + job.messages.length));
    });
  }

  private async settleFailed(f: Flight): Promise<void> {
    const { group, topic, placed, failure } = f;
    const retry: number[] = [];
    group.forEach((job, k) => {
      const from = f.starts[k]!;
      const to = from + job.messages.length;
      let written = 0;
      for (let i = from; i < to; i++) if (placed.partition[i]! >= 0) written++;
      if (written === job.messages.length) job.resolve(ranges(topic, placed, from, to));
      else if (!this.stopOnFailure && written === 0 && group.length > 1 && isAboutRecords(failure)) retry.push(k);
      else job.reject(failure ?? new RtwhError('BUS_ERROR', `produce to ${q(topic)}: records left unsent`));
    });
    // A coalesced group failed because of some records: send each affected call alone, so that only the call with
    // the offending records sees the error.
    for (const k of retry) {
      const job = group[k]!;
      const own: Flight = {
        group: [job],
        topic,
        messages: job.messages,
        sizes: job.sizes,
        starts: [0],
        placed: { partition: new Int32Array(job.messages.length).fill(-1), offset: new Float64Array(job.messages.length) },
        failure: null,
        submitted: Promise.resolve(),
        done: Promise.resolve(),
      };
      this.pipe.resume();
      try {
        await this.sendNow(own, Promise.resolve(), () => {});
        job.resolve(ranges(topic, own.placed, 0, job.messages.length));
      } catch (e) {
        job.reject(e);
      }
    }
  }

  /**
   * Encodes the group's unwritten records and hands their batches to the pipeline once the group before it has
   * handed over its own (`prev`), then waits for the broker. Fills in where each record went; throws an RtwhError
   * (the records already written are those with a partition in `placed`).
   */
  private async sendNow(f: Flight, prev: Promise<void>, onSubmitted: () => void): Promise<void> {
    const { topic, messages, sizes, starts, placed } = f;
    if (this.closed) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`);
    const todo: number[] = [];
    for (let i = 0; i < messages.length; i++) if (placed.partition[i]! < 0) todo.push(i);
    if (todo.length === 0) return;
    let layout = await this.pipe.layout(topic);
    if (!this.partitionsExist(messages, todo, layout)) {
      layout = await this.pipe.layout(topic, true);
      this.checkPartitions(topic, messages, todo, layout);
    }
    const rounds = await this.prepare(topic, messages, sizes, todo, starts, layout);
    await prev;
    const waits = rounds.map((round) => this.pipe.submit(topic, round.map((r) => r.batch)));
    onSubmitted();
    const outcomes = await Promise.allSettled(waits);
    // The broker answers per partition: when it refused one, the others may still be written.
    for (const round of rounds) {
      for (const { batch, indices } of round) {
        if (batch.writtenAt === null) continue;
        const base = batch.writtenAt;
        indices.forEach((i, k) => {
          placed.partition[i] = batch.partition;
          placed.offset[i] = base + k;
        });
      }
    }
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) {
      const e = failed.reason;
      throw e instanceof RtwhError ? e : kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
    }
  }

  private partitionsExist(messages: ProduceMessage[], todo: number[], layout: Layout): boolean {
    for (const i of todo) {
      const p = messages[i]!.partition;
      if (p !== undefined && p !== null && !layout.ids.has(p)) return false;
    }
    return true;
  }

  private checkPartitions(topic: string, messages: ProduceMessage[], todo: number[], layout: Layout): void {
    for (const i of todo) {
      const p = messages[i]!.partition;
      if (p !== undefined && p !== null && !layout.ids.has(p)) {
        throw new RtwhError('BUS_ERROR', `topic ${q(topic)} has no partition ${p} (it has ${layout.count})`, {
          hint: 'Send without a partition, or create the topic with more partitions.',
          details: { topic, badPartition: p },
        });
      }
    }
  }

  /** murmur2 partition of a key, without allocating for the usual short string key. */
  private keyPartition(key: string | Buffer, count: number): number {
    let bytes: Uint8Array;
    if (typeof key !== 'string') bytes = key;
    else if (key.length * 3 <= this.keyBuf.length) bytes = this.keyBuf.subarray(0, this.keyBuf.write(key, 0, 'utf8'));
    else bytes = utf8.encode(key);
    return toPositive(murmur2(bytes)) % count;
  }

  /**
   * The records of `todo`, grouped per partition (in order), written as batches of at most MAX_BATCH_BYTES (or the
   * topic's limitTopic).
   * Round k holds the k-th batch of every partition: one request per broker per round.
   */
  private async prepare(topic: string, messages: ProduceMessage[], sizes: Int32Array, todo: number[], starts: number[], layout: Layout) {
    const groups = new Map<number, number[]>();
    let sticky = -1;
    let call = 0;
    for (const i of todo) {
      const m = messages[i]!;
      // Key-less records of one send() call share a partition; the next call gets the next one.
      while (call + 1 < starts.length && i >= starts[call + 1]!) {
        call++;
        sticky = -1;
      }
      let p: number;
      if (m.partition !== undefined && m.partition !== null) {
        p = m.partition;
      } else if (m.key !== undefined && m.key !== null) {
        p = this.keyPartition(m.key, layout.count);
      } else {
        if (sticky < 0) {
          const pool = layout.live.length > 0 ? layout.live : [...layout.ids].sort((a, b) => a - b);
          const n = (this.roundRobin.get(topic) ?? Math.floor(Math.random() * 1024)) + 1;
          this.roundRobin.set(topic, n);
          sticky = pool[n % pool.length]!;
        }
        p = sticky;
      }
      let g = groups.get(p);
      if (!g) groups.set(p, (g = []));
      g.push(i);
    }

    const now = Date.now();
    const cap = this.batchBytes.get(topic) ?? MAX_BATCH_BYTES;
    const rounds: Array<Array<{ batch: PreparedBatch; indices: number[] }>> = [];
    for (const [partition, indices] of [...groups].sort((a, b) => a[0] - b[0])) {
      let round = 0;
      for (let start = 0; start < indices.length; round++) {
        let end = start;
        let bytes = 0;
        let first = Infinity;
        let max = -Infinity;
        const records: RecordInput[] = [];
        while (end < indices.length) {
          const m = messages[indices[end]!]!;
          const size = sizes[indices[end]!]!;
          if (end > start && bytes + size > cap) break;
          bytes += size;
          const timestamp = m.timestamp ?? now;
          if (timestamp < first) first = timestamp;
          if (timestamp > max) max = timestamp;
          // A message with its timestamp is a RecordInput already (no copy per record).
          records.push(m.timestamp === undefined ? { key: m.key, value: m.value, headers: m.headers, timestamp } : (m as RecordInput));
          end++;
        }
        let encoded;
        try {
          encoded = await encodeRecords(records, this.compression, first, max);
        } catch (e) {
          throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: cannot write the record batch: ${(e as Error).message}`, { cause: e });
        }
        const batch = new PreparedBatch(topic, partition, encoded, this.pipe.ledger, layout.count);
        (rounds[round] ??= []).push({ batch, indices: indices.slice(start, end) });
        start = end;
      }
    }
    return rounds;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pipe.close();
  }
}

/** Upper bound of a record's uncompressed size in a batch (exact for bytes, UTF-8 length for strings) + framing. */
function approxSize(m: ProduceMessage): number {
  let n = 21;
  if (m.key != null) n += typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length;
  if (m.value != null) n += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
  if (m.headers) for (const k in m.headers) n += Buffer.byteLength(k) + Buffer.byteLength(m.headers[k] ?? '') + 10;
  return n;
}
