/**
 * The outbox's two halves around the commit:
 *
 * - Routing (before the commit): each output record gets its partition (the one it names — an output that follows
 *   its input's partitions; else murmur2 of the key with the topic's partition count, as the bus does —
 *   src/bus/partitioner.ts; keyless records round-robin over the partitions with a counter kept in the state file, so
 *   the choice is deterministic) and the next sequence number of that partition; records of one batch become one
 *   chunk per partition.
 * - Forwarding (after the commit): each record goes to its partition with the headers `rtwh.producer` =
 *   `<job>/<output>` and `rtwh.seq` (OUT_HEADER). Before forwarding chunks whose fate is unknown (after a crash,
 *   or after a failed send), `lastSeqsOnBus` reads the tail of each of their partitions to learn the last
 *   sequence the bus holds; what is at or below it is dropped, the rest is sent. Records of one producer reach a
 *   partition in sequence order (one writer per state file, sends in order), so the last one of ours in a
 *   partition carries the highest sequence it holds.
 */
import { partitionForKey, toPositive } from '../bus/partitioner';
import type { Admin, Bus, Headers, ProduceMessage, Producer } from '../bus/types';
import { RtwhError } from '../errors';
import { HeadTail, OUT_HEADER } from './types';
import { binaryChunkMessages, seqKey, type OutboxChunk, type OutRecord } from './state-store';

/** An output record before routing. */
export interface Routable extends OutRecord {
  topic: string;
  /** The partition it must go to (mod the topic's partition count), instead of one by its key. */
  partition?: number;
}

interface TopicRoute {
  topic: string;
  partitions: number;
  /** Partition per key (keys repeat: mids, ids); cleared when large. */
  keys: Map<string, number>;
}

export class OutputRouter {
  /** Last assigned seq per `topic\0partition`; round-robin counters at partition -1. */
  readonly seqs: Map<string, number>;
  private readonly topics = new Map<string, TopicRoute>();

  constructor(seqs: Map<string, number>) {
    this.seqs = seqs;
  }

  setPartitions(topic: string, n: number): void {
    this.topics.set(topic, { topic, partitions: n, keys: new Map() });
  }

  knows(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** The partition count routed to, once known. */
  partitionsOf(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions;
  }

  /**
   * Chunks of `records` per (topic, partition) in first-appearance order, with their sequence numbers; returns the
   * counters changed (to store with the chunks). Nothing changes here until `accept` (the commit may fail).
   */
  route(records: readonly Routable[]): { chunks: OutboxChunk[]; seqs: Map<string, number> } {
    interface Work {
      t: TopicRoute;
      /** Last seq per partition (starting from the committed ones). */
      seq: number[];
      rr: number;
      chunk: (OutboxChunk | undefined)[];
    }
    const work = new Map<string, Work>();
    const chunks: OutboxChunk[] = [];
    let w: Work | undefined;
    for (const r of records) {
      if (w === undefined || w.t.topic !== r.topic) {
        w = work.get(r.topic);
        if (!w) {
          const t = this.topics.get(r.topic);
          if (!t) throw new Error(`output topic ${r.topic} was not prepared`);
          const seq: number[] = [];
          for (let p = 0; p < t.partitions; p++) seq.push(this.seqs.get(seqKey(t.topic, p)) ?? 0);
          w = { t, seq, rr: this.seqs.get(seqKey(t.topic, -1)) ?? 0, chunk: new Array<OutboxChunk | undefined>(t.partitions) };
          work.set(r.topic, w);
        }
      }
      const t = w.t;
      let p: number;
      if (r.partition !== undefined) p = r.partition % t.partitions;
      else if (r.key === null) p = toPositive(w.rr++) % t.partitions;
      else if (t.partitions === 1) p = 0;
      else {
        const c = t.keys.get(r.key);
        if (c === undefined) {
          if (t.keys.size >= 200_000) t.keys.clear();
          p = partitionForKey(r.key, t.partitions);
          t.keys.set(r.key, p);
        } else p = c;
      }
      const seq = ++w.seq[p]!;
      let chunk = w.chunk[p];
      if (!chunk) {
        chunk = { id: 0, topic: t.topic, partition: p, firstSeq: seq, records: [] };
        w.chunk[p] = chunk;
        chunks.push(chunk);
      }
      chunk.records.push(r);
    }
    const seqs = new Map<string, number>();
    for (const x of work.values()) {
      for (const c of x.chunk) if (c) seqs.set(seqKey(c.topic, c.partition), x.seq[c.partition]!);
      if (x.rr !== (this.seqs.get(seqKey(x.t.topic, -1)) ?? 0)) seqs.set(seqKey(x.t.topic, -1), x.rr);
    }
    return { chunks, seqs };
  }

  /** The routed batch was committed: its counters are the current ones. */
  accept(seqs: ReadonlyMap<string, number>): void {
    for (const [k, v] of seqs) this.seqs.set(k, v);
  }
}

/** The messages of `chunk` with sequence above `after`: from its stored bytes when it has them (committed here). */
export function chunkMessages(chunk: OutboxChunk, after = 0): ProduceMessage[] {
  const start = Math.max(0, after - chunk.firstSeq + 1);
  if (chunk.stored) return binaryChunkMessages(chunk.stored.bytes, chunk.stored.producers, chunk.firstSeq, chunk.partition, start);
  const out: ProduceMessage[] = [];
  for (let i = start; i < chunk.records.length; i++) {
    const r = chunk.records[i]!;
    let headers: Headers;
    if (r.headers) {
      headers = { ...r.headers };
      headers[OUT_HEADER.producer] = r.producer;
      headers[OUT_HEADER.seq] = String(chunk.firstSeq + i);
    } else {
      // The usual case (outputs; dead letters carry headers): one object of a fixed shape.
      headers = { [OUT_HEADER.producer]: r.producer, [OUT_HEADER.seq]: String(chunk.firstSeq + i) };
    }
    // Chunks read back from the state file carry bytes or text; a HeadTail only one not committed yet.
    const value = r.value instanceof HeadTail ? r.value.toString() : r.value;
    out.push({ key: r.key, value, partition: chunk.partition, timestamp: r.ts, headers });
  }
  return out;
}

/** Sends chunks (one send per topic, records in chunk order); resolves when the bus acknowledged all. */
export async function sendChunks(producer: Producer, chunks: readonly OutboxChunk[], after?: ReadonlyMap<string, number>): Promise<number> {
  const byTopic = new Map<string, ProduceMessage[]>();
  let n = 0;
  for (const c of chunks) {
    const msgs = chunkMessages(c, after?.get(seqKey(c.topic, c.partition)) ?? 0);
    if (msgs.length === 0) continue;
    n += msgs.length;
    const list = byTopic.get(c.topic);
    if (list) for (const m of msgs) list.push(m);
    else byTopic.set(c.topic, msgs);
  }
  await Promise.all([...byTopic].map(([t, msgs]) => producer.send(t, msgs)));
  return n;
}

export interface TailTarget {
  topic: string;
  partition: number;
  /** Producer header values that are ours in this partition. */
  producers: ReadonlySet<string>;
  /** Records of ours that may be there (sizes the first window read). */
  expected: number;
}

export interface TailOptions {
  /** Records read back at most per partition before giving up (default 1,000,000). */
  maxScan?: number;
  /** A partition that delivers nothing for this long before its end ends the read (default 5000 ms). */
  idleGiveUpMs?: number;
  log?: (m: string) => void;
}

/**
 * The highest sequence of ours in each target partition (0 when none is found), reading back from the end: a
 * window first, then windows four times larger until a record of ours is found, the partition's start is
 * reached, or maxScan records were read.
 */
export async function lastSeqsOnBus(bus: Bus, admin: Admin, targets: readonly TailTarget[], o: TailOptions = {}): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (targets.length === 0) return result;
  const maxScan = o.maxScan ?? 1_000_000;
  const idleGiveUpMs = o.idleGiveUpMs ?? 5000;
  const topics = [...new Set(targets.map((t) => t.topic))];
  const bounds = new Map<string, { start: number; end: number }>();
  for (const topic of topics) {
    try {
      const info = await admin.describeTopic(topic);
      for (const p of info.partitions) bounds.set(seqKey(topic, p.partition), { start: p.startOffset, end: p.endOffset });
    } catch (e) {
      if (!(e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND')) throw e;
    }
  }
  interface Scan {
    t: TailTarget;
    from: number;
    to: number;
    window: number;
    start: number;
    scanned: number;
    found: number | null;
    /** Highest offset read in the current range. */
    seen: number;
  }
  const scans: Scan[] = [];
  for (const t of targets) {
    const k = seqKey(t.topic, t.partition);
    const b = bounds.get(k);
    if (!b || b.end <= b.start) {
      result.set(k, 0);
      continue;
    }
    const window = Math.min(b.end - b.start, t.expected + 512);
    scans.push({ t, from: b.end - window, to: b.end, window, start: b.start, scanned: 0, found: null, seen: b.end - window - 1 });
  }
  if (scans.length === 0) return result;
  const consumer = await bus.consumer({ topics: [...new Set(scans.map((s) => s.t.topic))], maxPollRecords: 5000, clientId: 'rtwh-job-recovery' });
  try {
    // Partitions that are not read are parked at their end.
    for (const [k, b] of bounds) {
      const i = k.indexOf('\u0000');
      const topic = k.slice(0, i);
      const partition = Number(k.slice(i + 1));
      if (!scans.some((s) => s.t.topic === topic && s.t.partition === partition)) await consumer.seek({ topic, partition, offset: b.end });
    }
    let active = scans;
    while (active.length > 0) {
      const byKey = new Map(active.map((s) => [seqKey(s.t.topic, s.t.partition), s]));
      for (const s of active) await consumer.seek({ topic: s.t.topic, partition: s.t.partition, offset: s.from });
      let idleSince = Date.now();
      let open = active.length;
      while (open > 0) {
        const recs = await consumer.poll({ timeoutMs: 200, maxRecords: 5000 });
        if (recs.length === 0) {
          if (Date.now() - idleSince > idleGiveUpMs) {
            o.log?.(`recovery: ${[...byKey.keys()].map((k) => k.replace('\u0000', ':')).join(', ')} delivered nothing for ${idleGiveUpMs} ms before the end of the range; taking what was read`);
            break;
          }
          continue;
        }
        idleSince = Date.now();
        for (const r of recs) {
          const s = byKey.get(seqKey(r.topic, r.partition));
          if (!s || r.offset < s.from || r.offset >= s.to || r.offset <= s.seen) continue;
          s.seen = r.offset;
          s.scanned++;
          const producer = r.headers[OUT_HEADER.producer];
          if (producer !== undefined && s.t.producers.has(producer)) {
            const seq = Number(r.headers[OUT_HEADER.seq]);
            if (Number.isSafeInteger(seq) && seq > (s.found ?? 0)) s.found = seq;
          }
          if (r.offset >= s.to - 1) open--;
        }
      }
      const more: Scan[] = [];
      for (const s of active) {
        if (s.found !== null || s.from <= s.start || s.scanned >= maxScan) {
          if (s.found === null && s.from > s.start) o.log?.(`recovery: no record of ours in the last ${s.scanned} records of ${s.t.topic}:${s.t.partition}; taking none as sent`);
          result.set(seqKey(s.t.topic, s.t.partition), s.found ?? 0);
          continue;
        }
        s.window *= 4;
        s.to = s.from;
        s.from = Math.max(s.start, s.to - s.window);
        s.seen = s.from - 1;
        more.push(s);
      }
      active = more;
    }
  } finally {
    await consumer.close().catch(() => undefined);
  }
  return result;
}
