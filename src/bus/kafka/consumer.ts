/**
 * The pull adapter: the bus Consumer is poll-based, kafkajs is push-based (consumer.run → eachBatch).
 *
 * How it fits together:
 * - kafkajs runs with autoCommit off and eachBatchAutoResolve off. Each eachBatch call parks its batch in
 *   `parked` and awaits until poll() has handed every record out — or until no more than one poll's worth
 *   (maxPollRecords) of the parked records is left: then the batches are released (the eachBatch calls end, their
 *   last offsets resolved in kafkajs) and their records left stay buffered here. kafkajs does not fetch again until
 *   every batch of the last fetch is settled, so the buffer is bounded by one fetch response (maxBytes) plus
 *   maxPollRecords — polling IS the back-pressure — and the next fetch overlaps the caller's work on the last
 *   polls of this one (without the release, a caller that polls as it works waited for every fetch). Batches of
 *   several partitions can be parked at once (partitionsConsumedConcurrently), so one poll can return records of
 *   many partitions.
 * - As records are handed out, their offsets are resolved in kafkajs (its fetch position; not for released
 *   batches, resolved already) and remembered in `positions` (what commit() with no argument commits: the next
 *   offset to read, Kafka's convention). kafkajs commits nothing itself (autoCommit off).
 * - kafkajs only heartbeats between batches; a parked batch would starve the group session. A timer heartbeats
 *   while batches are parked (like the Java client's heartbeat thread), unless nobody polled for
 *   MAX_POLL_INTERVAL_MS (the Java client's max.poll.interval.ms: a stuck caller loses its partitions).
 *   A heartbeat error (rebalance, fenced member, lost broker) ends every parked batch with that error: their
 *   not-yet-polled records are dropped, and kafkajs rejoins or refetches from the resolved offsets.
 * - On every group join (GROUP_JOIN) the assignment is replaced. Revoked partitions lose their buffered records
 *   and their positions; partitions this member keeps are seeked to our position (kafkajs would restart them
 *   at the committed offset), so this member never sees a record twice: their released records are dropped
 *   too (read again from that position).
 * - seek() to an offset the buffer holds records from goes back to them (rewind); else it drops the buffered
 *   records of that partition and hands the offset to kafkajs (applied on its next fetch); seeks of partitions
 *   not assigned yet wait for the join that assigns them. A seek past the log end is reset by
 *   kafkajs to startFrom (it also commits that reset for the group); onBatch follows it.
 * - Without a group the reader joins a throwaway group (EPHEMERAL_GROUP_PREFIX + uuid), never commits, and
 *   deletes the group on close.
 * - Fetch responses are decoded by fetch-decoder.ts (same messages as kafkajs's decoder, in one pass, numeric
 *   offsets and string headers alongside), which is most of what a poll costs.
 */
import { randomUUID } from 'node:crypto';
import type {
  Admin as KafkaJsAdmin,
  Consumer as KafkaJsConsumer,
  EachBatchPayload,
  IMemberAssignment,
  Kafka,
  KafkaMessage,
} from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import type {
  BusRecord,
  Consumer,
  ConsumerOptions,
  Headers,
  PollOptions,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.ts';
import { checkPollTimeout, checkRecordCount } from '../options.ts';
import { kafkaFailure, tpKey, withLeaders, type KafkaContext } from './client.ts';
import { checkTopicName } from '../topic-name.ts';
import { FAST_OFFSET, FAST_TIMESTAMP, installFetchDecoder, type FastMessage } from './fetch-decoder.ts';

export const EPHEMERAL_GROUP_PREFIX = 'rtwh-ephemeral-';

/** Same as the Java client's max.poll.interval.ms default. */
const MAX_POLL_INTERVAL_MS = 300_000;
/** A fetch returns at least one record batch even when it is bigger (KIP-74); these only bound the usual case. */
const MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
const MAX_BYTES = 32 * 1024 * 1024;
/**
 * Idle fetch long-poll (the broker answers at once when there are records). Short, because close() waits for the
 * fetch in flight: at 500 ms that was most of what closing an idle consumer took (the end of every --until-idle
 * run). An idle consumer sends ~10 empty fetches a second.
 */
const FETCH_MAX_WAIT_MS = 100;
const PARTITIONS_IN_FLIGHT = 16;

interface ParkedBatch {
  key: string;
  topic: string;
  partition: number;
  records: BusRecord[];
  /** Index of the next record to hand out. */
  next: number;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /**
   * True once release() ended the eachBatch call early: kafkajs has the batch's last offset resolved (and fetches
   * what follows), and the records not handed out yet are only in this buffer.
   */
  released: boolean;
  /** Ends the eachBatch call, the batch resolved up to its end, and keeps the batch here for its records left. */
  release(): void;
  /** Drops the batch (records left and all) and ends the eachBatch call if it is still running: without error
   *  after a drain/seek/revoke, with the error to make kafkajs react. */
  settle(err?: unknown): void;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed later, or never when the consumer closes first
  return { promise, resolve, reject };
}

function toRecord(topic: string, partition: number, m: KafkaMessage): BusRecord {
  const fast = m as unknown as Partial<FastMessage>;
  const offset = fast[FAST_OFFSET];
  if (offset !== undefined) {
    // Decoded by fetch-decoder.ts: numbers and string headers already.
    return { topic, partition, offset, timestamp: fast[FAST_TIMESTAMP]!, key: m.key ?? null, value: m.value ?? null, headers: fast.headers! };
  }
  const headers: Headers = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      if (v === undefined) continue;
      // Kafka allows a header key more than once; like Headers.lastHeader in Java, the last one wins.
      const one = Array.isArray(v) ? v[v.length - 1] : v;
      if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
    }
  }
  return {
    topic,
    partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    key: m.key ?? null,
    value: m.value ?? null,
    headers,
  };
}

function isUnreachable(e: unknown): boolean {
  return kafkaFailure(e, [], { action: '' }).code === 'BUS_UNAVAILABLE';
}

export class KafkaConsumer implements Consumer {
  readonly group: string | undefined;
  private readonly groupId: string;
  private readonly maxPollRecords: number;
  private readonly heartbeatIntervalMs: number;
  private readonly parked: ParkedBatch[] = [];
  private assigned = new Map<string, TopicPartition>();
  private readonly positions = new Map<string, number>();
  private readonly pendingSeeks = new Map<string, number>();
  /** startFrom=latest: end offsets taken when the consumer was opened, applied at the first join. */
  private initialLatest: Map<string, number> | null = null;
  private memberId: string | null = null;
  private joins = 0;
  private joinWaiters: Deferred[] = [];
  private pollWaiters: (() => void)[] = [];
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastPollAt = Date.now();
  /** A batch was released since poll() last returned (poll lets kafkajs send its next fetch before it returns). */
  private releasedSincePoll = false;
  private failure: RtwhError | null = null;
  private closed = false;
  private admin: KafkaJsAdmin | null = null;

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly client: Kafka,
    private readonly kc: KafkaJsConsumer,
    private readonly opts: ConsumerOptions,
    groupId: string,
  ) {
    this.group = opts.group;
    this.groupId = groupId;
    this.maxPollRecords = checkRecordCount(opts.maxPollRecords, 'maxPollRecords', 500);
    this.heartbeatIntervalMs = Math.min(1000, Math.floor(ctx.sessionTimeoutMs / 3));
  }

  static async open(ctx: KafkaContext, opts: ConsumerOptions): Promise<KafkaConsumer> {
    if (opts.topics.length === 0) throw new RtwhError('USAGE', 'a consumer needs at least one topic');
    checkRecordCount(opts.maxPollRecords, 'maxPollRecords', 500);
    for (const t of opts.topics) checkTopicName(t);
    if (opts.group !== undefined && opts.group.length === 0) throw new RtwhError('USAGE', 'the consumer group name is empty');
    if (opts.group?.startsWith(EPHEMERAL_GROUP_PREFIX)) {
      throw new RtwhError('USAGE', `group names starting with ${q(EPHEMERAL_GROUP_PREFIX)} are reserved for ephemeral readers`);
    }
    const groupId = opts.group ?? `${EPHEMERAL_GROUP_PREFIX}${randomUUID()}`;
    installFetchDecoder();
    // One kafkajs client per consumer: kafkajs shares a committed-offset cache per client and group id, and two
    // members of one group in one client corrupt each other's view of it.
    const client = ctx.newClient(opts.clientId);
    const heartbeatInterval = Math.min(1000, Math.floor(ctx.sessionTimeoutMs / 3));
    const kc = client.consumer({
      groupId,
      sessionTimeout: ctx.sessionTimeoutMs,
      rebalanceTimeout: Math.max(30_000, ctx.sessionTimeoutMs),
      heartbeatInterval,
      maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
      maxBytes: MAX_BYTES,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      allowAutoTopicCreation: false,
      // Group operations see transient errors while the coordinator moves or a rebalance runs; be more patient
      // than one-shot admin calls. A consumer that still fails is restarted by kafkajs (CRASH with restart).
      retry: { retries: 6, initialRetryTime: 200, maxRetryTime: 3000, factor: 0.2, multiplier: 2 },
    });
    const c = new KafkaConsumer(ctx, client, kc, opts, groupId);
    try {
      await c.start();
    } catch (e) {
      await c.close().catch(() => {});
      throw kafkaFailure(e, ctx.brokers, {
        action: `open consumer${opts.group ? ` in group ${q(opts.group)}` : ''} on ${opts.topics.map((t) => q(t)).join(', ')}`,
        ...(opts.topics.length === 1 ? { topic: opts.topics[0] } : {}),
        ...(opts.group ? { group: opts.group } : {}),
      });
    }
    return c;
  }

  private async start(): Promise<void> {
    const { kc } = this;
    await kc.connect();
    try {
      await kc.subscribe({ topics: this.opts.topics, fromBeginning: (this.opts.startFrom ?? 'earliest') === 'earliest' });
    } catch (e) {
      // The broker does not create topics for readers; say which one is missing rather than "unknown partition".
      const missing = await this.missingTopics();
      if (missing.length > 0) {
        throw new RtwhError('TOPIC_NOT_FOUND', `topic ${missing.map((t) => q(t)).join(', ')} does not exist`, {
          cause: e,
          details: { topics: missing },
        });
      }
      throw e;
    }
    if (this.opts.startFrom === 'latest') await this.takeLatestOffsets();

    kc.on(kc.events.GROUP_JOIN, (ev) => this.onJoin(ev.payload.memberId, ev.payload.memberAssignment));
    kc.on(kc.events.CRASH, (ev) => this.onCrash(ev.payload.error, ev.payload.restart));

    const firstJoin = this.nextJoin();
    await kc.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
      eachBatch: (payload) => this.onBatch(payload),
    });
    // run() returns after the first join attempt; a failed one only shows up as a CRASH event.
    const limit = Math.max(30_000, this.ctx.sessionTimeoutMs) + 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        firstJoin,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new RtwhError('BUS_ERROR', `could not join consumer group ${q(this.groupId)} within ${limit} ms`)),
            limit,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async missingTopics(): Promise<string[]> {
    try {
      const known = new Set(await (await this.adminClient()).listTopics());
      return this.opts.topics.filter((t) => !known.has(t));
    } catch {
      return [];
    }
  }

  private async adminClient(): Promise<KafkaJsAdmin> {
    if (!this.admin) {
      const admin = this.client.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** startFrom=latest resolved now, not at kafkajs's first fetch: records sent right after open must be seen. */
  private async takeLatestOffsets(): Promise<void> {
    const admin = await this.adminClient();
    const committed = new Set<string>();
    if (this.opts.group !== undefined) {
      const res = await admin.fetchOffsets({ groupId: this.groupId, topics: this.opts.topics });
      for (const t of res) for (const p of t.partitions) if (Number(p.offset) >= 0) committed.add(tpKey(t.topic, p.partition));
    }
    const latest = new Map<string, number>();
    for (const topic of this.opts.topics) {
      for (const o of await withLeaders(admin, topic, () => admin.fetchTopicOffsets(topic))) {
        const key = tpKey(topic, o.partition);
        if (!committed.has(key)) latest.set(key, Number(o.high));
      }
    }
    this.initialLatest = latest;
  }

  private nextJoin(): Promise<void> {
    const d = deferred();
    this.joinWaiters.push(d);
    return d.promise;
  }

  private onJoin(memberId: string, assignment: IMemberAssignment): void {
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) next.set(tpKey(topic, partition), { topic, partition });
    }
    // A new member id means the broker dropped us (session expired, restart after a crash): whatever we read
    // since the last commit may have gone to another member meanwhile, so restart from the committed offsets.
    const sameMember = this.memberId === memberId;
    this.memberId = memberId;
    for (const b of [...this.parked]) if (b.released || !next.has(b.key)) b.settle();
    for (const key of [...this.positions.keys()]) if (!sameMember || !next.has(key)) this.positions.delete(key);
    this.assigned = next;

    for (const [key, tp] of next) {
      const pending = this.pendingSeeks.get(key);
      if (pending !== undefined) {
        this.pendingSeeks.delete(key);
        this.positions.set(key, pending);
      }
      const pos = this.positions.get(key) ?? this.initialLatest?.get(key);
      if (pos === undefined) continue;
      this.positions.set(key, pos);
      this.kc.seek({ topic: tp.topic, partition: tp.partition, offset: String(pos) });
    }
    this.initialLatest = null;
    this.joins++;
    const waiters = this.joinWaiters;
    this.joinWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private onCrash(error: Error, restart: boolean): void {
    for (const b of [...this.parked]) b.settle();
    if (this.closed) return;
    // Before the first join, an unreachable broker must fail open() now, not after kafkajs's restart loop.
    if (!restart || (this.joins === 0 && isUnreachable(error))) {
      this.failure = kafkaFailure(error, this.ctx.brokers, {
        action: `consume ${this.opts.topics.map((t) => q(t)).join(', ')}`,
        ...(this.opts.group ? { group: this.opts.group } : {}),
      });
      const waiters = this.joinWaiters;
      this.joinWaiters = [];
      for (const w of waiters) w.reject(this.failure);
      this.wakePollers();
    }
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (this.closed || !p.isRunning() || p.isStale()) return;
    const key = tpKey(batch.topic, batch.partition);
    if (!this.assigned.has(key)) return;
    // kafkajs fetches below our position only after the broker said it is out of range (a seek past the log end,
    // a topic created again) and kafkajs reset it to startFrom, as Kafka's auto.offset.reset does. Follow the reset:
    // keeping our position would silently skip every record below it.
    const pos = this.positions.get(key);
    // (Batch.fetchedOffset, the offset kafkajs asked for, is set by kafkajs 2.2 but missing from its typings.)
    const fetched = Number((batch as { fetchedOffset?: string }).fetchedOffset);
    if (pos !== undefined && fetched < pos) {
      this.positions.delete(key);
      for (const b of [...this.parked]) if (b.key === key) b.settle();
    }
    const records = batch.messages.map((m) => toRecord(batch.topic, batch.partition, m));
    if (records.length === 0) {
      p.resolveOffset(batch.lastOffset());
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const parked: ParkedBatch = {
        key,
        topic: batch.topic,
        partition: batch.partition,
        records,
        next: 0,
        resolveOffset: p.resolveOffset,
        heartbeat: p.heartbeat,
        released: false,
        release: () => {
          if (parked.released) return;
          parked.released = true;
          // The batch's last record: kafkajs resolves its batch's last offset for it (past trailing control records).
          p.resolveOffset(String(records[records.length - 1]!.offset));
          resolve();
        },
        settle: (err?: unknown) => {
          const i = this.parked.indexOf(parked);
          if (i < 0) return;
          this.parked.splice(i, 1);
          if (this.parked.length === 0) this.stopHeartbeats();
          if (err === undefined) resolve();
          else reject(err);
        },
      };
      this.parked.push(parked);
      this.startHeartbeats();
      this.releaseWhenLow();
      this.wakePollers();
    });
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => {
      const first = this.parked[0];
      if (!first || Date.now() - this.lastPollAt > MAX_POLL_INTERVAL_MS) return;
      first.heartbeat().catch((err: unknown) => {
        for (const b of [...this.parked]) b.settle(err);
      });
    }, this.heartbeatIntervalMs);
    this.heartbeatTimer.unref?.();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private wakePollers(): void {
    const ws = this.pollWaiters;
    this.pollWaiters = [];
    for (const w of ws) w();
  }

  private buffered(): boolean {
    return this.parked.some((b) => b.next < b.records.length);
  }

  private checkUsable(what: string): void {
    if (this.closed) throw new RtwhError('BUS_ERROR', `${what}: the consumer is closed`);
    if (this.failure) throw this.failure;
  }

  async poll(opts: PollOptions = {}): Promise<BusRecord[]> {
    this.checkUsable('poll');
    const max = checkRecordCount(opts.maxRecords, 'maxRecords', this.maxPollRecords);
    const timeoutMs = checkPollTimeout(opts.timeoutMs, 1000);
    this.lastPollAt = Date.now();
    if (!this.buffered() && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          const i = this.pollWaiters.indexOf(wake);
          if (i >= 0) this.pollWaiters.splice(i, 1);
          resolve();
        }, timeoutMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.pollWaiters.push(wake);
      });
      if (this.closed) return [];
      if (this.failure) throw this.failure;
    }
    this.lastPollAt = Date.now();
    const out = this.take(max);
    if (this.releasedSincePoll) {
      // kafkajs gets from the released eachBatch call to its next fetch request in a few dozen promise steps; one
      // turn of the event loop lets it take them all now, where the caller's work would give it one step per
      // await (the request went out two or three polls later).
      this.releasedSincePoll = false;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }

  private take(max: number): BusRecord[] {
    const out: BusRecord[] = [];
    for (const b of [...this.parked]) {
      if (out.length >= max) break;
      const n = Math.min(max - out.length, b.records.length - b.next);
      if (n <= 0) continue;
      for (let i = 0; i < n; i++) out.push(b.records[b.next + i] as BusRecord);
      b.next += n;
      const last = b.records[b.next - 1] as BusRecord;
      this.positions.set(b.key, last.offset + 1);
      if (!b.released) b.resolveOffset(String(last.offset));
      if (b.next >= b.records.length) b.settle();
    }
    this.releaseWhenLow();
    return out;
  }

  /**
   * Releases the batches kafkajs waits on while no more than one poll's worth (maxPollRecords) of released records
   * is left (see the top): at once when they arrive at an empty buffer, else once the polls have come that far.
   */
  private releaseWhenLow(): void {
    let left = 0;
    let holding = false;
    for (const b of this.parked) {
      if (b.released) left += b.records.length - b.next;
      else holding = true;
    }
    if (!holding || left > this.maxPollRecords) return;
    for (const b of this.parked) b.release();
    this.releasedSincePoll = true;
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.checkUsable('commit');
    if (this.group === undefined) {
      throw new RtwhError('USAGE', 'this reader has no consumer group, so it cannot commit offsets', {
        hint: 'Open the consumer with a group to keep its position across runs.',
      });
    }
    const explicit = offsets !== undefined;
    const list = (): TopicPartitionOffset[] =>
      explicit
        ? offsets
        : [...this.assigned].flatMap(([key, tp]) => {
            const offset = this.positions.get(key);
            return offset === undefined ? [] : [{ ...tp, offset }];
          });
    for (const o of list()) {
      if (!Number.isInteger(o.offset) || o.offset < 0) {
        throw new RtwhError('USAGE', `cannot commit offset ${o.offset} for ${o.topic}[${o.partition}]`);
      }
    }
    try {
      await this.commitNow(list());
    } catch (e) {
      const types = new Set<string>();
      for (let x: unknown = e; x && typeof x === 'object'; x = (x as { cause?: unknown }).cause) {
        const t = (x as { type?: unknown }).type;
        if (typeof t === 'string') types.add(t);
        if (types.size > 10) break;
      }
      const rebalancing = ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'].some((t) => types.has(t));
      if (!rebalancing) throw kafkaFailure(e, this.ctx.brokers, { action: `commit offsets of group ${q(this.groupId)}`, group: this.groupId });
      // The group is rebalancing: commit again once we are back in, for the partitions we still own. Offsets of
      // partitions that moved are not ours to write any more (their records will be read again: at-least-once).
      await this.waitForJoin(this.ctx.sessionTimeoutMs + 30_000);
      const still = list().filter((o) => this.assigned.has(tpKey(o.topic, o.partition)));
      try {
        await this.commitNow(still);
      } catch (e2) {
        throw kafkaFailure(e2, this.ctx.brokers, { action: `commit offsets of group ${q(this.groupId)}`, group: this.groupId });
      }
    }
  }

  private async commitNow(list: TopicPartitionOffset[]): Promise<void> {
    if (list.length === 0) return;
    await this.kc.commitOffsets(list.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
  }

  private async waitForJoin(limitMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.nextJoin(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, limitMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async seek(tp: TopicPartitionOffset): Promise<void> {
    this.checkUsable('seek');
    if (!Number.isInteger(tp.offset) || tp.offset < 0) {
      throw new RtwhError('USAGE', `cannot seek ${tp.topic}[${tp.partition}] to offset ${tp.offset}`);
    }
    const key = tpKey(tp.topic, tp.partition);
    if (!this.assigned.has(key)) {
      this.pendingSeeks.set(key, tp.offset);
      return;
    }
    if (this.rewind(key, tp.offset)) {
      this.positions.set(key, tp.offset);
      this.wakePollers();
      return;
    }
    for (const b of [...this.parked]) if (b.key === key) b.settle();
    this.positions.set(key, tp.offset);
    try {
      this.kc.seek({ topic: tp.topic, partition: tp.partition, offset: String(tp.offset) });
    } catch {
      // kafkajs is between a crash and its restart (no consumer group object): apply at the next join.
      this.pendingSeeks.set(key, tp.offset);
    }
  }

  /**
   * A seek to an offset this buffer still holds records from (handed out or not) goes back to them, without a
   * refetch: true then. The buffered batches of a partition are one run of its records (each fetch starts where
   * the batch before it ended, and whatever drops a batch drops all of the partition's), so from a batch whose
   * first record is at or before `offset` up to the last buffered record, the next poll hands out what a fetch at
   * `offset` would return; kafkajs goes on from where it is. Batches before that one are dropped. (The runtime
   * seeks every partition it is assigned to its stored offset after the first poll: that first fetch now counts.)
   */
  private rewind(key: string, offset: number): boolean {
    const mine = this.parked.filter((b) => b.key === key);
    const at = mine.findIndex((b) => b.records.length > 0 && b.records[0]!.offset <= offset && offset <= b.records[b.records.length - 1]!.offset);
    if (at < 0) return false;
    for (let k = 0; k < at; k++) mine[k]!.settle();
    const b = mine[at]!;
    let i = 0;
    while (b.records[i]!.offset < offset) i++;
    b.next = i;
    return true;
  }

  async seekToTimestamp(topic: string, timestampMs: number): Promise<void> {
    this.checkUsable('seekToTimestamp');
    let offsets: { partition: number; offset: string }[];
    try {
      const admin = await this.adminClient();
      offsets = await withLeaders(admin, topic, () => admin.fetchTopicOffsetsByTimestamp(topic, timestampMs));
    } catch (e) {
      throw kafkaFailure(e, this.ctx.brokers, { action: `look up offsets by time in ${q(topic)}`, topic });
    }
    for (const o of offsets) {
      if (this.assigned.has(tpKey(topic, o.partition))) await this.seek({ topic, partition: o.partition, offset: Number(o.offset) });
    }
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeats();
    for (const b of [...this.parked]) b.settle();
    this.wakePollers();
    await this.kc.disconnect().catch(() => {});
    if (this.group === undefined) {
      // Best effort: a throwaway group that is left behind expires on its own once empty.
      await this.adminClient()
        .then((a) => a.deleteGroups([this.groupId]))
        .catch(() => {});
    }
    await this.admin?.disconnect().catch(() => {});
  }
}
