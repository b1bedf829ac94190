/**
 * tail over the Bus interface: works on both buses, and is the path for `--group` (a consumer group that commits).
 * The plan comes from the topic's current start/end offsets (admin), the read position from seeks.
 *
 * Without a group the consumer is the bus's ephemeral reader (every partition, never commits). With a group and no
 * -o, the read resumes at the group's committed offsets (its start when none), like any member of that group.
 */
import { q, rtwhError, RtwhError } from '../errors.ts';
import type { Admin, Bus, Consumer } from '../bus/types.ts';
import type { EnvelopeRecord } from './envelope.ts';
import { resolvePlans, type OffsetSpec, type PartitionBounds, type PartitionPlan } from './offsets.ts';
import { PlanTracker, type TailSource } from './source.ts';

export interface TopicReadOptions {
  topic: string;
  /** Only this partition. */
  partition?: number;
  /** Undefined: from the start (or the group's committed offsets with a group). */
  spec?: OffsetSpec;
  follow: boolean;
  group?: string;
  /** Without -f, a read that sees nothing for this long before its end offsets ends anyway (transaction markers). */
  idleEndMs?: number;
}

/** The bounds of `partition` only (all when undefined); USAGE naming the value when the topic has no such partition. */
export function selectPartition(all: PartitionBounds[], topic: string, partition?: number): PartitionBounds[] {
  if (partition === undefined) return all;
  const one = all.filter((p) => p.partition === partition);
  if (one.length === 0) {
    throw rtwhError('USAGE', `invalid --partition ${q(partition)}: topic ${q(topic)} has partitions 0 to ${all.length - 1}`);
  }
  return one;
}

/** Current bounds of the topic's partitions (TOPIC_NOT_FOUND when it does not exist, USAGE for a wrong --partition). */
export async function topicBounds(admin: Admin, topic: string, partition?: number): Promise<PartitionBounds[]> {
  const info = await admin.describeTopic(topic);
  const all = info.partitions.map((p) => ({ partition: p.partition, startOffset: p.startOffset, endOffset: p.endOffset }));
  return selectPartition(all, topic, partition);
}

const FROM_START: OffsetSpec = { text: 'start', from: { kind: 'start' }, until: { kind: 'none' } };

/** The plans of a read: from -o, or from the group's committed offsets, or from the start. */
export async function planRead(admin: Admin, opts: TopicReadOptions): Promise<PartitionPlan[]> {
  const bounds = await topicBounds(admin, opts.topic, opts.partition);
  const forTime = async (ms: number) => new Map((await admin.offsetsForTimestamp(opts.topic, ms)).map((o) => [o.partition, o.offset]));
  const plans = await resolvePlans(opts.spec ?? FROM_START, bounds, opts.follow, forTime);
  if (opts.spec !== undefined || opts.group === undefined) return plans;
  let committed = new Map<number, number | null>();
  try {
    committed = new Map((await admin.groupLag(opts.group)).filter((l) => l.topic === opts.topic).map((l) => [l.partition, l.currentOffset]));
  } catch (e) {
    if (!(e instanceof RtwhError && e.code === 'GROUP_NOT_FOUND')) throw e;
  }
  return plans.map((p) => {
    const c = committed.get(p.partition);
    if (c === null || c === undefined) return p;
    const start = p.end === null ? c : Math.min(c, p.end);
    return { ...p, start };
  });
}

class BusSource implements TailSource {
  readonly name: string;
  readonly plans: readonly PartitionPlan[];
  idleEnd = false;
  private readonly tracker: PlanTracker;
  private idleSince: number | null = null;

  constructor(
    private readonly consumer: Consumer,
    private readonly opts: TopicReadOptions,
    plans: PartitionPlan[],
  ) {
    this.name = opts.topic;
    this.plans = plans;
    this.tracker = new PlanTracker(plans);
  }

  async poll(maxRecords: number, timeoutMs: number): Promise<EnvelopeRecord[]> {
    const recs = await this.consumer.poll({ maxRecords, timeoutMs });
    const out: EnvelopeRecord[] = [];
    for (const r of recs) if (this.tracker.accept(r.partition, r.offset, r.timestamp)) out.push(r);
    if (recs.length > 0) this.idleSince = null;
    else if (!this.opts.follow && !this.tracker.done()) {
      const now = Date.now();
      this.idleSince ??= now;
      if (now - this.idleSince >= (this.opts.idleEndMs ?? 3000)) this.idleEnd = true;
    }
    return out;
  }

  done(): boolean {
    return this.idleEnd || this.tracker.done();
  }

  async commit(next: ReadonlyMap<number, number>): Promise<void> {
    if (this.consumer.group === undefined || next.size === 0) return;
    await this.consumer.commit([...next].map(([partition, offset]) => ({ topic: this.opts.topic, partition, offset })));
  }

  async close(): Promise<void> {
    await this.consumer.close();
  }
}

/** Opens a read of one topic over the bus, positioned at the plan's start offsets. */
export async function openBusSource(bus: Bus, opts: TopicReadOptions): Promise<TailSource> {
  const admin = await bus.admin();
  let plans: PartitionPlan[];
  try {
    plans = await planRead(admin, opts);
  } finally {
    await admin.close();
  }
  const consumer = await bus.consumer({
    topics: [opts.topic],
    ...(opts.group === undefined ? {} : { group: opts.group }),
    startFrom: 'earliest',
    maxPollRecords: 5000,
    clientId: 'rtwh-tail',
  });
  try {
    for (const p of plans) await consumer.seek({ topic: opts.topic, partition: p.partition, offset: p.start });
    if (opts.partition !== undefined) {
      // The reader is given every partition; park the others at their end so they fetch (almost) nothing.
      const admin2 = await bus.admin();
      try {
        const all = await topicBounds(admin2, opts.topic);
        for (const b of all) if (b.partition !== opts.partition) await consumer.seek({ topic: opts.topic, partition: b.partition, offset: b.endOffset });
      } finally {
        await admin2.close();
      }
    }
  } catch (e) {
    await consumer.close().catch(() => {});
    throw e;
  }
  return new BusSource(consumer, opts, plans);
}
