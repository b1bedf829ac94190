/**
 * Where a job reads its inputs from: the offsets stored in its own state (never the bus group's committed offset,
 * which only mirrors them for `rtwh groups`).
 *
 * When the consumer is assigned a partition, the partition is seeked to the stored next offset (or, without one,
 * to its start or end as `startFrom` says); records of it that the same poll returned are dropped (the seek applies
 * from the next poll). A stored offset outside the partition (topic recreated, records expired) is reported and
 * replaced by startFrom's. Then `accept` passes each record once, in order, and advances the next offset.
 *
 * The same scheme as the dim job (src/dim/job.ts, which keeps its offsets in the dim store); it can use this.
 */
import type { Admin, BusRecord, Consumer } from '../bus/types';
import { RtwhError } from '../errors';
import { offsetKey } from './state-store';

export interface PartitionBounds {
  start: number;
  end: number;
}

/** `topic:partition` → bounds; a topic that does not exist has no entries. */
export type Bounds = Map<string, PartitionBounds>;

/** Start and end offsets of every partition of `topics`; a missing topic is skipped (listed in `missing`). */
export async function topicBounds(admin: Admin, topics: readonly string[]): Promise<{ bounds: Bounds; missing: string[] }> {
  const bounds: Bounds = new Map();
  const missing: string[] = [];
  for (const topic of topics) {
    try {
      const info = await admin.describeTopic(topic);
      for (const p of info.partitions) bounds.set(offsetKey(topic, p.partition), { start: p.startOffset, end: p.endOffset });
    } catch (e) {
      if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') missing.push(topic);
      else throw e;
    }
  }
  return { bounds, missing };
}

export class InputPositions {
  /** Partition (`topic:partition`) → next offset to process, for the partitions assigned now. */
  readonly next = new Map<string, number>();
  /** Partitions whose position changed since the last `takeChanged()`. */
  private changed = new Set<string>();

  constructor(
    private readonly startFrom: 'earliest' | 'latest',
    private readonly log: (m: string) => void,
  ) {}

  /**
   * Seeks newly assigned partitions to their stored offsets; forgets revoked ones. Returns the keys of the newly
   * assigned partitions (their records in this poll must be dropped).
   */
  async sync(consumer: Consumer, stored: ReadonlyMap<string, number>, bounds: () => Promise<Bounds>): Promise<Set<string>> {
    const assigned = consumer.assignment();
    const fresh = new Set<string>();
    const keys = new Set(assigned.map((tp) => offsetKey(tp.topic, tp.partition)));
    for (const k of [...this.next.keys()]) if (!keys.has(k)) this.next.delete(k);
    const unsynced = assigned.filter((tp) => !this.next.has(offsetKey(tp.topic, tp.partition)));
    if (unsynced.length === 0) return fresh;
    const b = await bounds();
    for (const tp of unsynced) {
      const k = offsetKey(tp.topic, tp.partition);
      const pb = b.get(k);
      const from = pb ? (this.startFrom === 'earliest' ? pb.start : pb.end) : 0;
      let at = stored.get(k);
      if (at !== undefined && pb && (at > pb.end || at < pb.start)) {
        this.log(`the stored offset ${at} of ${k} is outside the topic (${pb.start}…${pb.end}; recreated or expired?): starting at ${this.startFrom} (${from})`);
        at = from;
      }
      if (at === undefined) this.changed.add(k); // keeps a --from latest start across a restart
      at ??= from;
      await consumer.seek({ ...tp, offset: at });
      this.next.set(k, at);
      fresh.add(k);
    }
    return fresh;
  }

  /** Whether `r` is to be processed now (once, in order); advances the partition's next offset. */
  accept(r: BusRecord, fresh: ReadonlySet<string>): boolean {
    const k = offsetKey(r.topic, r.partition);
    const at = this.next.get(k);
    if (at === undefined || r.offset < at || (fresh.size > 0 && fresh.has(k))) return false;
    this.next.set(k, r.offset + 1);
    this.changed.add(k);
    return true;
  }

  /**
   * `accept` for a run of records of one partition, `recs[from, to)` (`key`: its offsetKey): hands each record to
   * process now to `take`, in order. The same decisions as `accept` record by record, with one lookup of the
   * partition's next offset and one update per run instead of a key string and two map operations per record.
   */
  acceptRun(recs: readonly BusRecord[], from: number, to: number, key: string, fresh: ReadonlySet<string>, take: (r: BusRecord) => void): void {
    let at = this.next.get(key);
    if (at === undefined || (fresh.size > 0 && fresh.has(key))) return;
    const before = at;
    for (let i = from; i < to; i++) {
      const r = recs[i]!;
      if (r.offset < at) continue;
      at = r.offset + 1;
      take(r);
    }
    if (at !== before) {
      this.next.set(key, at);
      this.changed.add(key);
    }
  }

  /** Partitions whose next offset changed since the last call, with it. */
  takeChanged(): { topic: string; partition: number; next: number }[] {
    const out: { topic: string; partition: number; next: number }[] = [];
    for (const k of this.changed) {
      const n = this.next.get(k);
      if (n === undefined) continue;
      const i = k.lastIndexOf(':');
      out.push({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), next: n });
    }
    this.changed = new Set();
    return out;
  }

  /** Assigned partitions (`topic:partition`) whose next offset is below `bounds`' end: records known to be unread. */
  behind(bounds: Bounds, consumer: Consumer): string[] {
    const out: string[] = [];
    for (const tp of consumer.assignment()) {
      const k = offsetKey(tp.topic, tp.partition);
      const n = this.next.get(k);
      const b = bounds.get(k);
      if (n !== undefined && b && n < b.end) out.push(k);
    }
    return out;
  }

  /** Records not processed yet in the assigned partitions (null when a partition's position is unknown). */
  lag(bounds: Bounds, consumer: Consumer): number | null {
    let total = 0;
    for (const tp of consumer.assignment()) {
      const k = offsetKey(tp.topic, tp.partition);
      const n = this.next.get(k);
      const b = bounds.get(k);
      if (n === undefined || !b) return null;
      total += Math.max(0, b.end - n);
    }
    return total;
  }

  /**
   * Every partition of the inputs is assigned to this consumer and processed up to its end (a job reads all
   * partitions of its inputs; a missing topic has nothing to read).
   */
  drained(bounds: Bounds, consumer: Consumer): boolean {
    const assigned = new Set(consumer.assignment().map((tp) => offsetKey(tp.topic, tp.partition)));
    for (const [k, b] of bounds) {
      if (!assigned.has(k)) {
        if (b.end > b.start) return false;
        continue;
      }
      const n = this.next.get(k);
      if (n === undefined || n < b.end) return false;
    }
    return true;
  }
}
