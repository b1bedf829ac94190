/**
 * Bus Producer over a kafkajs producer.
 *
 * Partitioning is Kafka's default (murmur2 of the key, the Java client's algorithm, src/bus/partitioner.ts) for keyed
 * records, so a key lands on the same partition whichever client wrote it — and the same one the sqlite bus picks.
 * Records without key and partition go, per send() call, all to one partition chosen round-robin (the Java client's
 * "sticky" idea): one batch per call instead of one per record.
 *
 * Fast path (see produce-request.ts for the profile behind it): send() groups its records per partition itself and
 * writes each group as a ready record batch (a PreparedBatch); kafkajs receives ONE message per partition, so its
 * per-record work (quadratic grouping, BigInt murmur2, per-record encoders) disappears. kafkajs still does metadata,
 * connections, retries, the idempotent producer id and the per-broker request lock; our Produce encoder puts the
 * batches on the wire and our SequenceLedger numbers them.
 *
 * In flight: kafkajs's idempotent producer holds a per-broker lock around each Produce request, so there is one
 * request in flight per broker whatever maxInFlightRequests says. send() calls therefore queue here, in call order;
 * calls made while a request is in flight go out together in the next request (COALESCE_BYTES), so a caller that
 * does not await each send before the next (or several callers) fill requests instead of waiting on each other.
 *
 * Guarantees:
 * - acks=all and an idempotent producer by default (acks 'leader' = 1, not idempotent).
 * - Order: records of the send() calls of one producer reach each partition in call order, and within a call in
 *   their order (a partition's records beyond MAX_BATCH_BYTES go in consecutive requests, each awaited).
 * - Each call gets its own results; when a coalesced request fails because of some records (too large, no such
 *   partition), the calls it held are sent again one by one, so only the call with those records fails.
 * - A batch whose fate is unknown after kafkajs gave up (no answer) retires the producer id before the next send, so
 *   a later batch can never be taken for its duplicate.
 * - Every failure reaches the caller as an RtwhError (client.ts kafkaFailure).
 */
import { CompressionTypes, type Kafka, type PartitionerArgs, type Producer as KafkaJsProducer } from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import { murmur2, toPositive } from '../partitioner.ts';
import type { Compression, ProduceMessage, ProduceResult, Producer, ProducerOptions } from '../types.ts';
import { checkTopicName, kafkaFailure, RETRY, type KafkaContext } from './client.ts';
import { installProduceEncoder, isPreparedBatch, PreparedBatch, SequenceLedger } from './produce-request.ts';
import { encodeRecords, type RecordInput } from './record-batch.ts';

const CODECS: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/**
 * Uncompressed record bytes per batch. Kafka's default max.message.bytes is 1 MiB + 12 per batch; a single record
 * bigger than this still goes (alone), for topics that allow it.
 */
export const MAX_BATCH_BYTES = 1_000_000;

/** Broker answers that mean "this producer id's sequence state is gone" (topic recreated, producer state expired). */
const FENCED_SEQUENCE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

/** A topic's partitions as kafkajs's metadata last showed them. */
interface Layout {
  count: number;
  ids: Set<number>;
  /** Partitions with a leader, ascending. */
  live: number[];
}

/** Thrown by our partitioner inside kafkajs's send: the grouping was made for other metadata (or this was a probe). */
class Regroup extends Error {
  constructor(readonly topic: string) {
    // kafkajs logs this at error level (when its log is on) before handing it back: say it is expected.
    super(`rtwh: reading the partitions of topic ${q(topic)} again (expected, not a failure)`);
  }
}

const PROBE = Symbol('rtwh.kafka.probe');

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

function inChain<T>(e: unknown, pick: (x: unknown) => x is T): T | undefined {
  let x: unknown = e;
  for (let i = 0; i < 10 && x && typeof x === 'object'; i++) {
    if (pick(x)) return x;
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

export class KafkaProducer implements Producer {
  private readonly acks: number;
  private readonly compression: CompressionTypes;
  private readonly layouts = new Map<string, Layout>();
  private readonly roundRobin = new Map<string, number>();
  private readonly ledger = new SequenceLedger();
  private producer: KafkaJsProducer;
  /** Set when a batch may or may not have been written: the next send starts under a new producer id. */
  private retire = false;
  /** send() calls not yet started, in call order; pump() works them off one group at a time. */
  private readonly queue: Job[] = [];
  private pumping = false;
  private closed = false;
  private keyBuf = Buffer.allocUnsafe(256);

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly client: Kafka,
    opts: ProducerOptions,
  ) {
    installProduceEncoder();
    this.acks = (opts.acks ?? 'all') === 'all' ? -1 : 1;
    this.compression = CODECS[opts.compression ?? 'none'];
    this.producer = this.create();
  }

  static async open(ctx: KafkaContext, client: Kafka, opts: ProducerOptions = {}): Promise<KafkaProducer> {
    const p = new KafkaProducer(ctx, client, opts);
    try {
      await p.producer.connect();
    } catch (e) {
      throw kafkaFailure(e, ctx.brokers, { action: 'connect producer' });
    }
    return p;
  }

  private create(): KafkaJsProducer {
    const idempotent = this.acks === -1;
    return this.client.producer({
      // Idempotence makes kafkajs's own retries safe (no duplicate on a lost ack); kafkajs requires acks=all for it
      // and serialises requests per broker (its broker lock: one request in flight) so sequences stay in order.
      idempotent,
      maxInFlightRequests: idempotent ? 1 : undefined,
      allowAutoTopicCreation: true,
      retry: RETRY,
      createPartitioner: () => (args) => this.partition(args),
    });
  }

  /** kafkajs asks once per PreparedBatch (one per partition per request): confirm the grouping still holds. */
  private partition({ topic, partitionMetadata, message }: PartitionerArgs): number {
    const ids = new Set<number>();
    const live: number[] = [];
    for (const m of partitionMetadata) {
      ids.add(m.partitionId);
      if (m.leader >= 0) live.push(m.partitionId);
    }
    live.sort((a, b) => a - b);
    this.layouts.set(topic, { count: partitionMetadata.length, ids, live });
    if (isPreparedBatch(message) && message.partitionCount === partitionMetadata.length && ids.has(message.partition)) {
      return message.partition;
    }
    // A probe, or records grouped for a partition count that has changed since.
    throw new Regroup(topic);
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
      if (!this.pumping) void this.pump();
    });
  }

  /** Runs the queued sends in call order, one group (one or more consecutive sends to one topic) at a time. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) await this.runGroup(this.takeGroup());
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The first queued send, and the sends queued right behind it for the same topic, up to COALESCE_BYTES: sends made
   * while a request was in flight go out together in the next one (one batch per partition) instead of one by one.
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

  private async runGroup(group: Job[]): Promise<void> {
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
    const placed: Placement = { partition: new Int32Array(n).fill(-1), offset: new Float64Array(n) };
    let failure: unknown = null;
    try {
      await this.sendNow(topic, messages, sizes, starts, placed);
    } catch (e) {
      failure = e;
    }
    const retry: number[] = [];
    group.forEach((job, k) => {
      const from = starts[k]!;
      const to = from + job.messages.length;
      let written = 0;
      for (let i = from; i < to; i++) if (placed.partition[i]! >= 0) written++;
      if (written === job.messages.length) job.resolve(ranges(topic, placed, from, to));
      else if (written === 0 && group.length > 1 && isAboutRecords(failure)) retry.push(k);
      else job.reject(failure ?? new RtwhError('BUS_ERROR', `produce to ${q(topic)}: records left unsent`));
    });
    // A coalesced request failed because of some records: send each affected call alone, so that only the call
    // with the offending records sees the error.
    for (const k of retry) {
      const job = group[k]!;
      const own: Placement = { partition: new Int32Array(job.messages.length).fill(-1), offset: new Float64Array(job.messages.length) };
      try {
        await this.sendNow(topic, job.messages, job.sizes, [0], own);
        job.resolve(ranges(topic, own, 0, job.messages.length));
      } catch (e) {
        job.reject(e);
      }
    }
  }

  /**
   * Sends `messages` (the calls starting at `starts`), filling in where each record went. Throws an RtwhError; the
   * records already written are those with a partition in `placed`.
   */
  private async sendNow(topic: string, messages: ProduceMessage[], sizes: Int32Array, starts: number[], placed: Placement): Promise<void> {
    if (this.closed) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`);
    if (this.retire) await this.renew(topic);
    let layout = this.layouts.get(topic) ?? (await this.probe(topic));
    for (let regroups = 0; ; regroups++) {
      const todo: number[] = [];
      for (let i = 0; i < messages.length; i++) if (placed.partition[i]! < 0) todo.push(i);
      if (todo.length === 0) return;
      if (!this.partitionsExist(messages, todo, layout)) {
        layout = await this.probe(topic);
        this.checkPartitions(topic, messages, todo, layout);
      }
      const rounds = await this.prepare(topic, messages, sizes, todo, starts, layout);
      let regroup = false;
      for (const round of rounds) {
        let failure: unknown = null;
        try {
          await this.dispatch(topic, round.map((r) => r.batch));
        } catch (e) {
          if (inChain(e, (x): x is Regroup => x instanceof Regroup) && regroups < 3) {
            layout = this.layouts.get(topic) ?? layout;
            regroup = true;
            break;
          }
          failure = e instanceof RtwhError ? e : kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
        }
        // The broker answers per partition: when it refused one, the others of the request may still be written.
        for (const { batch, indices } of round) {
          if (batch.writtenAt === null) continue;
          const base = batch.writtenAt;
          indices.forEach((i, k) => {
            placed.partition[i] = batch.partition;
            placed.offset[i] = base + k;
          });
        }
        if (failure) throw failure;
        const lost = round.find((r) => r.batch.writtenAt === null);
        if (lost) this.retire = true; // kafkajs returned without the broker's word on it: may or may not be written
        if (lost) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: no answer for partition ${lost.batch.partition}`);
      }
      if (!regroup) return;
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
   * The records of `todo`, grouped per partition (in order), written as batches of at most MAX_BATCH_BYTES.
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
          if (end > start && bytes + size > MAX_BATCH_BYTES) break;
          bytes += size;
          const timestamp = m.timestamp ?? now;
          if (timestamp < first) first = timestamp;
          if (timestamp > max) max = timestamp;
          records.push({ key: m.key, value: m.value, headers: m.headers, timestamp });
          end++;
        }
        let encoded;
        try {
          encoded = await encodeRecords(records, this.compression, first, max);
        } catch (e) {
          throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: cannot write the record batch: ${(e as Error).message}`, { cause: e });
        }
        const batch = new PreparedBatch(topic, partition, encoded, this.ledger, layout.count);
        (rounds[round] ??= []).push({ batch, indices: indices.slice(start, end) });
        start = end;
      }
    }
    return rounds;
  }

  /** One kafkajs send of one batch per partition; the FENCED retry; failures as RtwhError. Results: batch.writtenAt. */
  private async dispatch(topic: string, batches: PreparedBatch[]): Promise<void> {
    try {
      await this.sendOnce(topic, batches);
    } catch (e) {
      if (inChain(e, (x): x is Regroup => x instanceof Regroup)) throw e;
      if (batches.some((b) => b.outcomeUnknown)) this.retire = true;
      const types = collectTypes(e);
      if (!types.some((t) => FENCED_SEQUENCE.has(t))) throw kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
      // The broker forgot this producer id (e.g. the topic was deleted and recreated). The batch was refused, so
      // a new producer id and one resend is safe; kafkajs itself cannot bump the epoch.
      // Only the partitions the broker did not write: it answers each partition of a request on its own.
      await this.renew(topic);
      const refused = batches.filter((b) => b.writtenAt === null);
      try {
        if (refused.length > 0) await this.sendOnce(topic, refused);
        return;
      } catch (e2) {
        if (inChain(e2, (x): x is Regroup => x instanceof Regroup)) throw e2;
        if (batches.some((b) => b.outcomeUnknown)) this.retire = true;
        throw kafkaFailure(e2, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
      }
    }
  }

  private sendOnce(topic: string, batches: PreparedBatch[]) {
    return this.producer.send({ topic, messages: batches, acks: this.acks, compression: this.compression });
  }

  /** A new kafkajs producer: a new producer id, so sequence numbers start over. */
  private async renew(topic: string): Promise<void> {
    await this.producer.disconnect().catch(() => {});
    this.producer = this.create();
    this.retire = false;
    try {
      await this.producer.connect();
    } catch (e) {
      this.retire = true;
      throw kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
    }
  }

  /** Learns a topic's partitions through kafkajs's own metadata path (auto-creating it, like a first send). */
  private async probe(topic: string): Promise<Layout> {
    try {
      await this.producer.send({ topic, messages: [{ value: null, [PROBE]: true } as never], acks: this.acks });
    } catch (e) {
      if (!inChain(e, (x): x is Regroup => x instanceof Regroup)) {
        throw kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
      }
    }
    const layout = this.layouts.get(topic);
    if (!layout) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: no partition metadata`);
    return layout;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect().catch(() => {});
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

function collectTypes(e: unknown): string[] {
  const out: string[] = [];
  let x: unknown = e;
  for (let i = 0; i < 10 && x && typeof x === 'object'; i++) {
    const t = (x as { type?: unknown }).type;
    if (typeof t === 'string') out.push(t);
    x = (x as { cause?: unknown }).cause;
  }
  return out;
}
