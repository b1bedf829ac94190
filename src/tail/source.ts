/**
 * Where tail's records come from: a topic on the bus (bus-source.ts; kafka-fetch.ts for Kafka without a group)
 * or a JSONL file / stdin (input.ts). A source knows its plan (offsets per partition) and says when a bounded
 * read is over; the runner (run.ts) only asks for records.
 */
import type { EnvelopeRecord } from './envelope.ts';
import type { PartitionPlan } from './offsets.ts';

export interface TailSource {
  /** For messages: `ods_db`, or the input file's name. */
  readonly name: string;
  /** The plan per partition (one pseudo-partition 0 for a file). */
  readonly plans: readonly PartitionPlan[];
  /** Records as they come; [] when none arrived within timeoutMs. Never returns records outside the plan. */
  poll(maxRecords: number, timeoutMs: number): Promise<EnvelopeRecord[]>;
  /** Every partition reached its end (never true while following without a bound). */
  done(): boolean;
  /** A bounded read that ended on an idle timeout instead of its end offsets (see summary). */
  readonly idleEnd?: boolean;
  /**
   * The records of the oldest non-empty poll result not released yet are no longer used (printed, copied): their
   * memory may be reused. Optional for a caller: what it never releases is left to the garbage collector.
   */
  release?(): void;
  /** With a consumer group: commit these next offsets (partition → next offset). */
  commit?(next: ReadonlyMap<number, number>): Promise<void>;
  close(): Promise<void>;
}

/** Common bookkeeping of plans: positions, the end test and the record filter. */
export class PlanTracker {
  readonly byPartition = new Map<number, PartitionPlan>();
  /** Next offset expected per partition. */
  readonly position = new Map<number, number>();
  private readonly finished = new Set<number>();

  constructor(readonly plans: readonly PartitionPlan[]) {
    for (const p of plans) {
      this.byPartition.set(p.partition, p);
      this.position.set(p.partition, p.start);
      if (p.end !== null && p.start >= p.end) this.finished.add(p.partition);
    }
  }

  /** Whether a record belongs to the plan; advances the position and marks its partition finished at the end. */
  accept(partition: number, offset: number, timestamp: number | null): boolean {
    const p = this.byPartition.get(partition);
    if (p === undefined || this.finished.has(partition) || offset < p.start) return false;
    if (p.end !== null && offset >= p.end) {
      this.finished.add(partition);
      return false;
    }
    if (p.untilTimestamp !== null && timestamp !== null && timestamp >= p.untilTimestamp) {
      this.finished.add(partition);
      return false;
    }
    this.position.set(partition, offset + 1);
    if (p.end !== null && offset + 1 >= p.end) this.finished.add(partition);
    return true;
  }

  /** A partition whose next offset is known to be at or past its end (e.g. from a fetch position). */
  reached(partition: number, nextOffset: number): void {
    const p = this.byPartition.get(partition);
    if (p?.end !== null && p !== undefined && nextOffset >= p.end) this.finished.add(partition);
  }

  isFinished(partition: number): boolean {
    return this.finished.has(partition);
  }

  done(): boolean {
    return this.finished.size >= this.plans.length;
  }
}
