/**
 * tail's direct reader of Kafka partitions (no consumer group, nothing committed): the plan comes from the bus's
 * admin (start/end offsets, offsets for a timestamp), records from Fetch requests to each partition's leader
 * (kafka-wire.ts). The next fetch is on the wire while the last one is decoded; at most HIGH_WATER records wait
 * in memory, beyond that no fetch is sent until tail has printed them (back-pressure from stdout).
 *
 * A leader change (or a broker restart) makes the reader look the leaders up again and go on from the offsets it
 * has, up to LEADER_RETRIES times in a row; an offset that retention deleted restarts at the first stored one.
 */
import { q, RtwhError } from '../errors.ts';
import { selectPartition, type TopicReadOptions } from './bus-source.ts';
import type { EnvelopeRecord } from './envelope.ts';
import {
  AbortedTracker, decodeBatches, EARLIEST, fetch, fetchLeaders, fetchRequest, KafkaConnection, KafkaErrorCode, KafkaPartitionError, LATEST, listOffsets,
  loadCodecs, needsCodecs, newFrame, nextOffsetAfter, type FetchedPartition, type TopicLeaders,
} from './kafka-wire.ts';
import { resolvePlans, type PartitionBounds, type PartitionPlan } from './offsets.ts';
import { PlanTracker, type TailSource } from './source.ts';

const HIGH_WATER = 50_000;
// Responses land in shared memory of their own size (kafka-wire.ts); 4 MB per partition keeps round trips few
// (one fetch is in flight per broker) without holding much: a response is ~8k gmall rows.
const MAX_BYTES = 16 * 1024 * 1024;
const PARTITION_MAX_BYTES = 4 * 1024 * 1024;
const MAX_WAIT_MS = 500;
const LEADER_RETRIES = 20;
/** Responses at least this big are assembled in recycled memory (rounded up to a multiple of it). */
const POOLED_FRAME = 1 << 20;
/** Recycled response memory kept for reuse. */
const FREE_FRAMES = 8;
const LEADER_ERRORS = new Set<number>([
  KafkaErrorCode.notLeader, KafkaErrorCode.leaderNotAvailable, KafkaErrorCode.unknownTopicOrPartition, KafkaErrorCode.fencedLeaderEpoch, KafkaErrorCode.unknownLeaderEpoch,
]);

class LeaderMoved extends Error {}

/** Exported for tests (test/tail/kafka-fetch-memory.test.ts); callers use openKafkaFetchSource. */
export class KafkaFetchSource implements TailSource {
  readonly name: string;
  idleEnd = false;
  private readonly tracker: PlanTracker;
  private readonly offsets = new Map<number, number>();
  private readonly stoppedAtTime = new Set<number>();
  private readonly aborted = new Map<number, AbortedTracker>();
  private readonly queue: EnvelopeRecord[][] = [];
  private queued = 0;
  private recordWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private readonly conns = new Map<string, KafkaConnection>();
  private failure: unknown = null;
  private finished = false;
  private closed = false;
  private lastProgress = Date.now();
  /**
   * Response memory is recycled once every record decoded from it was released (run.ts, after printing): fresh
   * memory costs a page fault per 4 KB on first write, ~1 GB of it per million gmall rows. `segments` holds per
   * queued response its memory and how many of its records are still out, in queue order; `handed` per poll result
   * not yet released how many queued records it took.
   */
  private readonly free: SharedArrayBuffer[] = [];
  private readonly segments: { mem: SharedArrayBuffer | null; left: number }[] = [];
  private readonly handed: number[] = [];
  private readonly alloc = (size: number): Buffer => {
    if (size < POOLED_FRAME) return newFrame(size);
    for (let i = 0; i < this.free.length; i++) {
      const m = this.free[i]!;
      if (m.byteLength >= size) {
        this.free.splice(i, 1);
        return Buffer.from(m, 0, size);
      }
    }
    return Buffer.from(new SharedArrayBuffer(Math.ceil(size / POOLED_FRAME) * POOLED_FRAME), 0, size);
  };

  constructor(
    private readonly brokers: string[],
    private readonly opts: TopicReadOptions,
    readonly plans: readonly PartitionPlan[],
    private readonly clientId: string,
    private readonly refreshBounds: () => Promise<Map<number, { startOffset: number; endOffset: number }>>,
  ) {
    this.name = opts.topic;
    this.tracker = new PlanTracker(plans);
    for (const p of plans) {
      this.offsets.set(p.partition, p.start);
      this.aborted.set(p.partition, new AbortedTracker());
    }
  }

  private fetchDone(p: PartitionPlan): boolean {
    const o = this.offsets.get(p.partition)!;
    return (p.end !== null && o >= p.end) || this.stoppedAtTime.has(p.partition);
  }

  private async connection(host: string, port: number): Promise<KafkaConnection> {
    const key = `${host}:${port}`;
    let c = this.conns.get(key);
    if (c === undefined) {
      c = await KafkaConnection.open(host, port, this.clientId);
      c.alloc = this.alloc;
      this.conns.set(key, c);
    }
    return c;
  }

  private async bootstrap(): Promise<KafkaConnection> {
    let last: unknown;
    for (const b of this.brokers) {
      const i = b.lastIndexOf(':');
      try {
        return await this.connection(b.slice(0, i), Number(b.slice(i + 1)));
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  /** Starts the fetch loops; resolves once they all ended (bounded read done, close, or failure). */
  async run(): Promise<void> {
    let retries = 0;
    try {
      for (;;) {
        const meta = await fetchLeaders(await this.bootstrap(), this.opts.topic);
        const byLeader = new Map<number, PartitionPlan[]>();
        for (const p of this.plans) {
          if (this.fetchDone(p)) continue;
          const leader = meta.leaders.get(p.partition) ?? -1;
          const list = byLeader.get(leader) ?? [];
          list.push(p);
          byLeader.set(leader, list);
        }
        if (byLeader.size === 0) break;
        try {
          if (byLeader.has(-1)) throw new LeaderMoved('a partition has no leader');
          await Promise.all(
            [...byLeader].map(async ([leader, parts]) => {
              const b = meta.brokers.get(leader);
              if (!b) throw new LeaderMoved(`leader ${leader} is not among the brokers`);
              await this.loop(await this.connection(b.host, b.port), parts);
            }),
          );
          break;
        } catch (e) {
          if (this.closed) break;
          if (!(e instanceof LeaderMoved) || ++retries > LEADER_RETRIES) throw e;
          for (const c of this.conns.values()) c.close();
          this.conns.clear();
          await Bun.sleep(500);
        }
      }
    } catch (e) {
      if (!this.closed) {
        this.failure =
          e instanceof RtwhError ? e : new RtwhError('BUS_ERROR', `reading ${q(this.opts.topic)} from Kafka failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    } finally {
      this.finished = true;
      this.wake();
    }
  }

  private request(parts: PartitionPlan[]): Buffer | null {
    const active = parts.filter((p) => !this.fetchDone(p));
    if (active.length === 0) return null;
    return fetchRequest(this.opts.topic, active.map((p) => ({ partition: p.partition, offset: this.offsets.get(p.partition)! })), MAX_WAIT_MS, MAX_BYTES, PARTITION_MAX_BYTES);
  }

  private async loop(conn: KafkaConnection, parts: PartitionPlan[]): Promise<void> {
    const first = this.request(parts);
    let pending: Promise<FetchedPartition[]> | null = first && fetch(conn, first);
    while (pending !== null && !this.closed) {
      const res = await pending;
      const byPartition = new Map(parts.map((p) => [p.partition, p]));
      const from = new Map<number, number>();
      let progress = false;
      for (const fp of res) {
        const plan = byPartition.get(fp.partition);
        if (!plan) continue;
        if (LEADER_ERRORS.has(fp.error)) throw new LeaderMoved(`Kafka error ${fp.error} on partition ${fp.partition}`);
        if (fp.error === KafkaErrorCode.offsetOutOfRange) {
          // Retention deleted what we asked for (or the log was truncated): go on from what is stored, like auto.offset.reset.
          const b = (await this.refreshBounds()).get(fp.partition);
          const cur = this.offsets.get(fp.partition)!;
          if (b) this.offsets.set(fp.partition, cur < b.startOffset ? b.startOffset : Math.min(cur, b.endOffset));
          progress = true;
          continue;
        }
        if (fp.error !== 0) throw new RtwhError('BUS_ERROR', `fetching ${this.opts.topic}[${fp.partition}] failed with Kafka error ${fp.error}`);
        const cur = this.offsets.get(fp.partition)!;
        from.set(fp.partition, cur);
        const next = nextOffsetAfter(fp.records, cur);
        if (next > cur) progress = true;
        this.offsets.set(fp.partition, next);
        this.aborted.get(fp.partition)!.add(fp.aborted);
      }
      if (progress) this.lastProgress = Date.now();
      else if (!this.opts.follow && Date.now() - this.lastProgress >= (this.opts.idleEndMs ?? 3000)) {
        // Bounded read, but the end offsets are not reached and nothing comes: an open transaction holds the
        // last stable offset back, or the tail of the log is markers only.
        this.idleEnd = true;
        for (const p of parts) this.stoppedAtTime.add(p.partition);
      }
      // Send the next fetch before decoding this one, unless enough records are waiting to be printed.
      pending = null;
      const prefetch = this.queued < HIGH_WATER ? this.request(parts) : null;
      if (prefetch) pending = fetch(conn, prefetch);
      if (res.some((fp) => needsCodecs(fp.records))) await loadCodecs();
      // The response's memory (every partition's records are views of it).
      let mem: SharedArrayBuffer | null = null;
      for (const fp of res) if (fp.records !== null && fp.records.buffer instanceof SharedArrayBuffer) mem = fp.records.buffer;
      const out: EnvelopeRecord[] = [];
      for (const fp of res) {
        const start = from.get(fp.partition);
        if (start === undefined || fp.records === null || fp.records.length === 0) continue;
        const plan = byPartition.get(fp.partition)!;
        const n0 = out.length;
        decodeBatches(this.opts.topic, fp.partition, fp.records, start, this.aborted.get(fp.partition)!, out);
        if (plan.untilTimestamp !== null) {
          for (let i = n0; i < out.length; i++) {
            const ts = out[i]!.timestamp;
            if (ts !== null && ts >= plan.untilTimestamp) {
              this.stoppedAtTime.add(fp.partition);
              break;
            }
          }
        }
      }
      if (out.length > 0) this.push(out, mem);
      else this.recycle(mem);
      if (pending === null && !this.closed) {
        while (this.queued >= HIGH_WATER && !this.closed) await new Promise<void>((r) => this.spaceWaiters.push(r));
        const next = this.request(parts);
        if (next && !this.closed) pending = fetch(conn, next);
      }
    }
  }

  private push(records: EnvelopeRecord[], mem: SharedArrayBuffer | null): void {
    this.segments.push({ mem, left: records.length });
    this.queue.push(records);
    this.queued += records.length;
    this.wake();
  }

  private wake(): void {
    const ws = this.recordWaiters;
    this.recordWaiters = [];
    for (const w of ws) w();
  }

  async poll(maxRecords: number, timeoutMs: number): Promise<EnvelopeRecord[]> {
    if (this.queued === 0 && !this.finished && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.recordWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.queued === 0 && this.failure) throw this.failure;
    const out: EnvelopeRecord[] = [];
    let took = 0;
    while (out.length < maxRecords && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const n = Math.min(maxRecords - out.length, chunk.length);
      const take = n === chunk.length ? chunk : chunk.splice(0, n);
      if (take === chunk) this.queue.shift();
      this.queued -= take.length;
      took += take.length;
      for (const r of take) if (this.tracker.accept(r.partition, r.offset, r.timestamp)) out.push(r);
    }
    // Records the plan drops are done with — but memory goes back in queue order: they count with the last result
    // still out (released after the ones before it), or at once when none is. An empty result is never released.
    if (out.length > 0) this.handed.push(took);
    else if (this.handed.length > 0) this.handed[this.handed.length - 1]! += took;
    else this.consumed(took);
    if (this.queued < HIGH_WATER) {
      const ws = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of ws) w();
    }
    return out;
  }

  release(): void {
    const n = this.handed.shift();
    if (n !== undefined) this.consumed(n);
  }

  /** `n` more queued records (in queue order) are no longer used: responses all of whose records are go back to the pool. */
  private consumed(n: number): void {
    while (n > 0 && this.segments.length > 0) {
      const s = this.segments[0]!;
      const k = Math.min(n, s.left);
      s.left -= k;
      n -= k;
      if (s.left > 0) break;
      this.segments.shift();
      this.recycle(s.mem);
    }
  }

  private recycle(mem: SharedArrayBuffer | null): void {
    if (mem !== null && mem.byteLength >= POOLED_FRAME && this.free.length < FREE_FRAMES && !this.free.includes(mem)) this.free.push(mem);
  }

  done(): boolean {
    if (this.queued > 0) return false;
    if (this.failure) return false; // the next poll throws it
    return this.finished || this.tracker.done();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    for (const w of this.spaceWaiters.splice(0)) w();
    this.wake();
  }
}

/** Connections to a cluster for planning: bootstrap, leaders, ListOffsets per leader. */
class Cluster {
  private readonly conns = new Map<string, KafkaConnection>();

  constructor(
    private readonly brokers: string[],
    private readonly clientId: string,
  ) {}

  async connection(host: string, port: number): Promise<KafkaConnection> {
    const key = `${host}:${port}`;
    let c = this.conns.get(key);
    if (c === undefined) {
      c = await KafkaConnection.open(host, port, this.clientId);
      this.conns.set(key, c);
    }
    return c;
  }

  async leaders(topic: string): Promise<TopicLeaders> {
    let last: unknown;
    for (const b of this.brokers) {
      const i = b.lastIndexOf(':');
      try {
        return await fetchLeaders(await this.connection(b.slice(0, i), Number(b.slice(i + 1))), topic);
      } catch (e) {
        if (e instanceof RtwhError && e.code !== 'BUS_UNAVAILABLE') throw e;
        last = e;
      }
    }
    throw last;
  }

  /** ListOffsets for every partition, each asked of its leader. */
  async offsets(topic: string, meta: TopicLeaders, timestamp: number): Promise<Map<number, number>> {
    const byLeader = new Map<number, number[]>();
    for (const [p, leader] of meta.leaders) byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    const out = new Map<number, number>();
    for (const [leader, parts] of byLeader) {
      const b = meta.brokers.get(leader);
      if (!b) throw new RtwhError('BUS_ERROR', `partition leader ${leader} of ${q(topic)} is not among the brokers; try again in a moment`);
      for (const [p, o] of await listOffsets(await this.connection(b.host, b.port), topic, parts, timestamp)) out.set(p, o);
    }
    return out;
  }

  async bounds(topic: string): Promise<PartitionBounds[]> {
    const meta = await this.leaders(topic);
    const [lo, hi] = await Promise.all([this.offsets(topic, meta, EARLIEST), this.offsets(topic, meta, LATEST)]);
    return [...meta.leaders.keys()].sort((a, b) => a - b).map((partition) => ({ partition, startOffset: lo.get(partition) ?? 0, endOffset: hi.get(partition) ?? 0 }));
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}

/**
 * Opens a direct read of `opts.topic` (no group) on the Kafka cluster at `brokers`. Planning speaks the protocol
 * too (Metadata, ListOffsets), so this path never loads kafkajs: start-up time counts for `tail -n 1`.
 */
export async function openKafkaFetchSource(brokers: string[], opts: TopicReadOptions, clientId = 'rtwh-tail'): Promise<TailSource> {
  if (opts.group !== undefined) throw new RtwhError('INTERNAL', 'the direct Kafka reader has no consumer group; use the bus source');
  const cluster = new Cluster(brokers, clientId);
  let plans: PartitionPlan[];
  try {
    const bounds = selectPartition(await cluster.bounds(opts.topic), opts.topic, opts.partition);
    const forTime = async (ms: number) => {
      const found = await cluster.offsets(opts.topic, await cluster.leaders(opts.topic), ms);
      // -1: no record that late; resolvePlans reads a missing partition as "the end".
      return new Map([...found].filter(([, o]) => o >= 0));
    };
    plans = await resolvePlans(opts.spec ?? { text: 'start', from: { kind: 'start' }, until: { kind: 'none' } }, bounds, opts.follow, forTime);
  } catch (e) {
    cluster.close();
    if (e instanceof KafkaPartitionError) throw new RtwhError('BUS_ERROR', `looking up offsets of ${q(opts.topic)} failed: ${e.message}; try again in a moment`, { cause: e });
    throw e;
  }
  cluster.close();
  const refresh = async () => {
    const c = new Cluster(brokers, clientId);
    try {
      return new Map((await c.bounds(opts.topic)).map((b) => [b.partition, b]));
    } finally {
      c.close();
    }
  };
  const src = new KafkaFetchSource(brokers, opts, plans, clientId, refresh);
  void src.run();
  return src;
}
