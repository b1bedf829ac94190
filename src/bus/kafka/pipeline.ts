/**
 * The send path of the Kafka producer: Produce requests straight to the partition leaders over kafkajs's cluster
 * (its metadata, connections and InitProducerId request), with up to MAX_IN_FLIGHT requests outstanding at once.
 *
 * Why not kafkajs's producer.send: its idempotent producer holds a per-broker lock around each Produce request, so
 * one request is in flight per broker and throughput is one batch per round trip. Kafka itself allows up to five
 * unacknowledged batches per partition for an idempotent producer (max.in.flight.requests.per.connection <= 5): the
 * broker keeps the metadata of the last five batches of each producer per partition to recognise a resend.
 *
 * Rules, as the Java client keeps them:
 * - Sequence numbers are assigned in submit order (SequenceLedger.assign, when a batch first goes out under the
 *   current producer id), never in the order requests happen to be answered.
 * - The broker writes a batch only after the one before it in sequence; a later one arriving first is refused
 *   (OUT_OF_ORDER_SEQUENCE_NUMBER) and nothing is written out of order.
 * - When a request fails, nothing more is sent; once every request in flight has answered, the batches not
 *   written are sent again, in order, with their ORIGINAL sequence numbers (a resend of one the broker did write is
 *   answered as a success and not written twice). Transient failures (connection lost, timeout, leader moved, ...)
 *   are retried this way RETRY.retries times; OUT_OF_ORDER_SEQUENCE_NUMBER once (a resend after an earlier failure).
 * - The broker forgot this producer id (UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH, repeated out-of-order): a new
 *   producer id and the unwritten batches renumbered — only when none may already be in the log.
 * - Otherwise the pipeline gives up: the first unsettled submission is rejected with the failure, the later ones
 *   with "not sent" (NotSent; any that were written on another partition resolve), and further submissions are
 *   refused until resume(). If a batch's fate is unknown the next submission starts under a new producer id (so a
 *   later batch can never be taken for its duplicate), else the ledger rewinds to the last written batch.
 * - Until the broker has written a batch of a partition under the current producer id it keeps no sequence for it
 *   and writes a batch with any number: so the first batch of a producer id per partition is alone in flight there.
 * - Submissions settle in submit order.
 */
import type { Kafka } from 'kafkajs';
import { createErrorFromCode, errorCodes } from 'kafkajs/src/protocol/error.js';
import { RtwhError, q } from '../../errors.ts';
import { kafkaFailure, RETRY, type KafkaContext } from './client.ts';
import { type PreparedBatch, SequenceLedger } from './produce-request.ts';

/** Produce requests outstanding per producer (so also per broker and per partition); Kafka's limit for idempotence is 5. */
export const MAX_IN_FLIGHT = 5;

/** What the broker needs to produce; the Produce request itself is encoded by produce-request.ts. */
interface KjsBroker {
  produce(a: {
    topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence: number; messages: PreparedBatch[] }> }>;
    acks: number;
    timeout: number;
    compression: number;
    producerId?: unknown;
    producerEpoch?: number;
  }): Promise<unknown>;
  initProducerId(a: { transactionalId?: string; transactionTimeout: number }): Promise<{ producerId: unknown; producerEpoch: number }>;
  connectionPool?: { pool?: Array<{ socket?: { destroy(error?: Error): void } | null }> };
}

interface KjsPartitionMetadata {
  partitionId: number;
  leader: number;
}

/** The part of kafkajs 2.2.4's Cluster (src/cluster/index.js) used here. */
interface KjsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): KjsPartitionMetadata[];
  findBroker(a: { nodeId: number }): Promise<KjsBroker>;
  findControllerBroker(): Promise<KjsBroker>;
  removeBroker(a: { host: string; port: number }): void;
  brokerPool?: { brokers?: Record<string, KjsBroker> };
}

type CreateCluster = (o: { metadataMaxAge?: number; allowAutoTopicCreation: boolean; maxInFlightRequests: number | null }) => KjsCluster;

/**
 * A kafkajs Cluster made by the client's own factory (so it has the client's brokers, retry, logger and socket
 * settings). kafkajs keeps the factory under a private symbol; its version is pinned (package.json).
 */
function newCluster(client: Kafka, maxInFlightRequests: number): KjsCluster {
  const key = Object.getOwnPropertySymbols(client).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key === undefined ? undefined : (client as unknown as Record<symbol, unknown>)[key];
  if (typeof create !== 'function') throw new Error('internal: kafkajs has no cluster factory (kafkajs other than 2.2.x?)');
  return (create as CreateCluster)({ metadataMaxAge: 300_000, allowAutoTopicCreation: true, maxInFlightRequests });
}

/** A topic's partitions as the metadata shows them. */
export interface Layout {
  count: number;
  ids: Set<number>;
  /** Partitions with a leader, ascending. */
  live: number[];
}

const CODES = new Map(errorCodes.map((e) => [e.code, e]));
const OUT_OF_ORDER = 45;
/** The broker no longer knows this producer id / epoch. */
const FENCED = new Set([59 /* UNKNOWN_PRODUCER_ID */, 47 /* INVALID_PRODUCER_EPOCH */, 90 /* PRODUCER_FENCED */]);
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);

/** Rejection of a submission that was not (completely) sent because an earlier one failed. */
export function notSent(topic: string, cause: unknown): RtwhError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RtwhError('BUS_ERROR', `produce to ${q(topic)}: not sent, an earlier send failed (${why})`, { cause, details: { topic, notSent: true } });
}

export function isNotSent(e: unknown): boolean {
  return e instanceof RtwhError && (e.details as { notSent?: unknown } | undefined)?.notSent === true;
}

interface Entry {
  topic: string;
  batches: PreparedBatch[];
  resolve(): void;
  reject(e: unknown): void;
  answered: boolean;
  /** What the last attempt threw (request level: no connection, no metadata, ...), if anything. */
  error: unknown;
}

type Verdict = 'transient' | 'out-of-order' | 'fenced' | 'fatal';

function retriable(e: unknown): boolean {
  for (let x: unknown = e, i = 0; i < 10 && x && typeof x === 'object'; i++, x = (x as { cause?: unknown }).cause) {
    const name = (x as { name?: unknown }).name;
    if (typeof name === 'string' && CONNECTION_ERRORS.has(name)) return true;
    if ((x as { retriable?: unknown }).retriable === true) return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function toBigInt(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' || typeof x === 'string') return BigInt(x);
  const v = (x as { value?: unknown } | null)?.value;
  if (typeof v === 'bigint') return v;
  throw new Error(`internal: producer id ${String(x)}`);
}

export interface PipeOptions {
  acks: number;
  compression: number;
  /** Requests outstanding at once; 1 unless idempotent (without sequence numbers a retry could reorder). */
  maxInFlight: number;
}

export class ProducePipe {
  readonly ledger = new SequenceLedger();
  private readonly idempotent: boolean;
  private readonly max: number;
  /** Submitted and not yet settled, in submit order; entries[0, next) went out in the current pass. */
  private entries: Entry[] = [];
  private next = 0;
  private outstanding = 0;
  /** A request failed: nothing more goes out until recover() decided. */
  private holding = false;
  private recovering = false;
  private renewing = false;
  /** Transient retries since the head last settled; producer-id renewals likewise. */
  private attempts = 0;
  private renewals = 0;
  /** Set when a batch may or may not have been written: the next batch goes out under a new producer id. */
  private retire = false;
  /** Set when the pipeline gave up: submissions are refused (NotSent) until resume(). */
  private refused: unknown = null;
  private closed = false;

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly cluster: KjsCluster,
    private readonly o: PipeOptions,
  ) {
    this.idempotent = o.acks === -1;
    this.max = this.idempotent ? Math.max(1, Math.min(MAX_IN_FLIGHT, o.maxInFlight)) : 1;
  }

  static async open(ctx: KafkaContext, client: Kafka, o: PipeOptions): Promise<ProducePipe> {
    const pipe = new ProducePipe(ctx, newCluster(client, MAX_IN_FLIGHT), o);
    try {
      await pipe.cluster.connect();
      if (pipe.idempotent) await pipe.newProducerId();
    } catch (e) {
      await pipe.cluster.disconnect().catch(() => {});
      throw kafkaFailure(e, ctx.brokers, { action: 'connect producer' });
    }
    return pipe;
  }

  /** A topic's partitions (auto-creating it, as a first send would); `fresh` reads the metadata again first. */
  async layout(topic: string, fresh = false): Promise<Layout> {
    let last: unknown;
    for (let attempt = 0; attempt <= RETRY.retries! + 3; attempt++) {
      if (this.closed) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`);
      try {
        if (!this.cluster.isConnected()) await this.cluster.connect();
        await this.cluster.addMultipleTargetTopics([topic]);
        if (fresh || attempt > 0) await this.cluster.refreshMetadata();
        else await this.cluster.refreshMetadataIfNecessary();
        const meta = this.cluster.findTopicPartitionMetadata(topic);
        if (meta.length > 0) {
          const ids = new Set(meta.map((m) => m.partitionId));
          const live = meta.filter((m) => m.leader >= 0).map((m) => m.partitionId).sort((a, b) => a - b);
          return { count: meta.length, ids, live };
        }
        last = new RtwhError('BUS_ERROR', `produce to ${q(topic)}: no partition metadata`);
      } catch (e) {
        last = e;
        if (!retriable(e)) break;
      }
      await sleep(this.backoff(attempt));
    }
    throw kafkaFailure(last, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
  }

  /**
   * Sends `batches` (one topic, at most one per partition) as the next request(s). Resolves once the broker wrote
   * every one of them (each batch's writtenAt); rejects with the failure, or NotSent.
   */
  submit(topic: string, batches: PreparedBatch[]): Promise<void> {
    if (this.refused !== null) return Promise.reject(notSent(topic, this.refused));
    if (this.closed) return Promise.reject(new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`));
    return new Promise<void>((resolve, reject) => {
      this.entries.push({ topic, batches, resolve, reject, answered: false, error: null });
      this.pump();
    });
  }

  /** Refuse submissions (NotSent) until resume(): the caller failed before submitting and later sends must not pass. */
  refuse(cause: unknown): void {
    this.refused ??= cause;
  }

  resume(): void {
    this.refused = null;
  }

  /** Requests outstanding right now (for tests and metrics). */
  get inFlight(): number {
    return this.outstanding;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.cluster.disconnect().catch(() => {});
  }

  /**
   * Test hook: drop every connection to the brokers, whatever is in flight, as a connection reset does (the socket
   * fails with ECONNRESET). A bare destroy() would only emit 'close', which kafkajs does not listen to: its requests
   * in flight would wait for the request timeout instead — a silent network loss, not what this simulates.
   */
  dropConnections(): void {
    for (const broker of Object.values(this.cluster.brokerPool?.brokers ?? {})) {
      for (const c of broker.connectionPool?.pool ?? []) c.socket?.destroy(Object.assign(new Error('connection reset (dropped by the test hook)'), { code: 'ECONNRESET' }));
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(RETRY.maxRetryTime!, RETRY.initialRetryTime! * RETRY.multiplier! ** attempt);
    return Math.round(base * (1 + (Math.random() * 2 - 1) * RETRY.factor!));
  }

  /**
   * A new producer id. A broker that has just started answers "coordinator loading" (or "not available") until
   * its transaction state is loaded: those are retried with backoff for up to 30 s, like the Java client does.
   */
  private async newProducerId(): Promise<void> {
    const deadline = Date.now() + 30_000;
    let delay = 100;
    for (;;) {
      try {
        await this.cluster.refreshMetadataIfNecessary();
        const broker = await this.cluster.findControllerBroker();
        const r = await broker.initProducerId({ transactionTimeout: 60_000 });
        this.ledger.reset(toBigInt(r.producerId), r.producerEpoch);
        this.retire = false;
        return;
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || Date.now() + delay > deadline || this.closed) throw e;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private pump(): void {
    if (this.holding || this.recovering || this.renewing || this.next >= this.entries.length) return;
    if (this.retire && this.idempotent) {
      this.renewing = true;
      this.newProducerId().then(
        () => {
          this.renewing = false;
          this.pump();
        },
        (e: unknown) => {
          this.renewing = false;
          this.giveUp(e);
        },
      );
      return;
    }
    while (this.next < this.entries.length && this.outstanding < this.max) {
      const e = this.entries[this.next]!;
      if (this.mustWait(e)) return;
      this.next++;
      this.fire(e);
    }
  }

  /**
   * A batch for a partition the broker has not written anything of this producer id to yet waits until the batch
   * out before it there is written: the broker would take the later one first if the earlier one failed
   * (SequenceLedger.confirmed). Only the first batches of a producer id per partition ever wait.
   */
  private mustWait(e: Entry): boolean {
    for (const b of e.batches) {
      if (b.state === 'written' || this.ledger.confirmed(b.topic, b.partition)) continue;
      for (let i = 0; i < this.next; i++) {
        for (const x of this.entries[i]!.batches) if (x.partition === b.partition && x.topic === b.topic && x.state !== 'written') return true;
      }
    }
    return false;
  }

  private fire(e: Entry): void {
    this.outstanding++;
    e.answered = false;
    e.error = null;
    for (const b of e.batches) if (b.state !== 'written' && b.generation !== this.ledger.generation) this.ledger.assign(b);
    void this.request(e).then(() => {
      this.outstanding--;
      e.answered = true;
      this.onAnswered(e);
    });
  }

  /** One attempt of an entry: a Produce request per leader of its unwritten batches. Never throws. */
  private async request(e: Entry): Promise<void> {
    const todo = e.batches.filter((b) => b.state !== 'written');
    try {
      const byLeader = new Map<number, PreparedBatch[]>();
      const meta = this.cluster.findTopicPartitionMetadata(e.topic);
      for (const b of todo) {
        const leader = meta.find((m) => m.partitionId === b.partition)?.leader ?? -1;
        if (leader < 0) throw Object.assign(new Error(`no leader for partition ${b.partition} of ${q(e.topic)}`), { retriable: true });
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push(b);
      }
      const sends: Array<Promise<unknown>> = [];
      for (const [nodeId, list] of byLeader) {
        const broker = await this.cluster.findBroker({ nodeId });
        sends.push(
          broker.produce({
            topicData: [{ topic: e.topic, partitions: list.map((b) => ({ partition: b.partition, firstSequence: b.sequence, messages: [b] })) }],
            acks: this.o.acks,
            timeout: 30_000,
            compression: this.o.compression,
          }),
        );
      }
      const results = await Promise.allSettled(sends);
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        e.error ??= r.reason;
        const x = r.reason as { name?: string; host?: string; port?: number };
        if (x?.name === 'KafkaJSConnectionClosedError' && x.host !== undefined && x.port !== undefined) this.cluster.removeBroker({ host: x.host, port: x.port });
      }
    } catch (err) {
      e.error ??= err;
    }
    // Encoded into a request and no answer for it: it may or may not be in the log.
    for (const b of todo) if (b.state === 'sent') b.uncertain = true;
  }

  private onAnswered(e: Entry): void {
    if (e.batches.some((b) => b.state !== 'written')) this.holding = true;
    while (this.entries.length > 0) {
      const head = this.entries[0]!;
      if (!head.answered || head.batches.some((b) => b.state !== 'written')) break;
      this.entries.shift();
      this.next--;
      this.attempts = 0;
      this.renewals = 0;
      head.resolve();
    }
    if (!this.holding) this.pump();
    else if (this.outstanding === 0 && !this.recovering) void this.recover();
  }

  /** Every request has answered and at least one batch was not written: retry in order, renew, or give up. */
  private async recover(): Promise<void> {
    this.recovering = true;
    try {
      if (this.entries.length === 0) return this.restart();
      const uncertain = this.entries.some((e) => e.batches.some((b) => b.outcomeUnknown));
      if (this.closed) return this.giveUp(new RtwhError('BUS_ERROR', `produce to ${q(this.entries[0]!.topic)}: the producer is closed`));
      const worst = this.worstVerdict();
      if (worst === 'transient' || (worst === 'out-of-order' && this.attempts === 0)) {
        if (this.attempts < RETRY.retries!) {
          await sleep(this.backoff(this.attempts++));
          await this.refresh();
          return this.restart();
        }
      } else if ((worst === 'fenced' || worst === 'out-of-order') && !uncertain && this.renewals === 0 && this.idempotent) {
        this.renewals++;
        try {
          await this.newProducerId();
        } catch (err) {
          return this.giveUp(err);
        }
        return this.restart();
      }
      this.giveUp(this.headError());
    } finally {
      this.recovering = false;
      if (!this.holding) this.pump();
    }
  }

  /**
   * What to do, from what the first batch not written of each partition says. A batch refused for good decides only
   * once every submission before it is written: when the head submission failed transiently (a partition of a topic
   * made a moment ago has no leader yet, say) and a later one was refused (a record too large), giving up would fail
   * the head with an error that is not its own — so the head is retried first, and the refusal reported when its
   * submission is the head. A fatal batch in the head decides at once.
   */
  private worstVerdict(): Verdict {
    const seen = new Set<string>();
    const verdicts: Verdict[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const own: Verdict[] = [];
      for (const b of e.batches) {
        if (b.state === 'written') continue;
        const tp = `${b.topic}\u0000${b.partition}`;
        if (seen.has(tp)) continue;
        seen.add(tp);
        own.push(this.verdict(e, b));
      }
      if (own.includes('fatal')) {
        if (i === 0) return 'fatal';
        break;
      }
      verdicts.push(...own);
    }
    return verdicts.includes('fenced') ? 'fenced' : verdicts.includes('out-of-order') ? 'out-of-order' : 'transient';
  }

  private verdict(e: Entry, b: PreparedBatch): Verdict {
    if (b.state === 'refused') {
      if (b.errorCode === OUT_OF_ORDER) return 'out-of-order';
      if (FENCED.has(b.errorCode)) return 'fenced';
      return CODES.get(b.errorCode)?.retriable ? 'transient' : 'fatal';
    }
    // Sent without an answer, or not sent because of its request (no connection, no metadata) or an earlier failure.
    if (b.state === 'sent' || b.uncertain) return 'transient';
    return e.error === null || retriable(e.error) ? 'transient' : 'fatal';
  }

  /** The failure to report for the first unsettled submission. */
  private headError(): unknown {
    const e = this.entries[0]!;
    const b = e.batches.find((x) => x.state === 'refused' && x.errorCode !== OUT_OF_ORDER) ?? e.batches.find((x) => x.state === 'refused');
    if (b) return createErrorFromCode(b.errorCode);
    if (e.error !== null) return e.error;
    const other = this.entries.find((x) => x.error !== null);
    return other?.error ?? new RtwhError('BUS_ERROR', `produce to ${q(e.topic)}: no answer from the broker`);
  }

  private async refresh(): Promise<void> {
    try {
      if (!this.cluster.isConnected()) await this.cluster.connect();
      await this.cluster.refreshMetadata();
    } catch {
      // The next attempt finds out again.
    }
  }

  /** Send every unsettled submission again, in order, with the numbers they have (unless the ledger moved on). */
  private restart(): void {
    for (const e of this.entries) e.answered = false;
    this.next = 0;
    this.holding = false;
  }

  private giveUp(cause: unknown): void {
    const entries = this.entries;
    this.entries = [];
    this.next = 0;
    this.holding = false;
    this.attempts = 0;
    this.renewals = 0;
    if (entries.length === 0) return;
    if (entries.some((e) => e.batches.some((b) => b.outcomeUnknown))) this.retire = true;
    else this.ledger.rewind();
    const topic = entries[0]!.topic;
    const failure = kafkaFailure(cause, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
    this.refused = failure;
    entries[0]!.reject(failure);
    for (const e of entries.slice(1)) {
      if (e.batches.every((b) => b.state === 'written')) e.resolve();
      else e.reject(notSent(e.topic, failure));
    }
  }
}
