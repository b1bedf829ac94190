/**
 * Bus Admin over the kafkajs admin client.
 *
 * kafkajs retries UNKNOWN_TOPIC_OR_PARTITION with backoff (it assumes metadata is stale), so asking about a topic
 * that does not exist takes seconds and ends in a vague error. We look the name up in one metadata call first and
 * answer TOPIC_NOT_FOUND at once.
 */
import { AssignerProtocol, ConfigResourceTypes, type Admin as KafkaJsAdmin, type Kafka } from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import type { Admin, EnsuredTopic, GroupPartitionLag, PartitionInfo, TopicInfo, TopicSpec } from '../types.ts';
import { EPHEMERAL_GROUP_PREFIX } from './consumer.ts';
import { kafkaFailure, LEADER_WAIT_MS, tpKey, withLeaders, type KafkaContext } from './client.ts';
import { checkTopicName } from '../topic-name.ts';

/** DescribeConfigs config_source 1 = DYNAMIC_TOPIC_CONFIG: what was set on the topic itself. */
const TOPIC_CONFIG_SOURCE = 1;

export class KafkaAdmin implements Admin {
  private closed = false;

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly admin: KafkaJsAdmin,
  ) {}

  static async open(ctx: KafkaContext, client: Kafka): Promise<KafkaAdmin> {
    const admin = client.admin();
    try {
      await admin.connect();
    } catch (e) {
      throw kafkaFailure(e, ctx.brokers, { action: 'connect admin' });
    }
    return new KafkaAdmin(ctx, admin);
  }

  private fail(e: unknown, action: string, extra: { topic?: string; group?: string } = {}): RtwhError {
    return kafkaFailure(e, this.ctx.brokers, { action, ...extra });
  }

  /** Partition ids of every topic, internal ones (__consumer_offsets…) left out. */
  private async topicPartitions(): Promise<Map<string, number[]>> {
    try {
      const { topics } = await this.admin.fetchTopicMetadata();
      const out = new Map<string, number[]>();
      for (const t of topics) {
        if (t.name.startsWith('__')) continue;
        out.set(t.name, t.partitions.map((p) => p.partitionId).sort((a, b) => a - b));
      }
      return out;
    } catch (e) {
      throw this.fail(e, 'list topics');
    }
  }

  private async requireTopic(name: string): Promise<void> {
    checkTopicName(name);
    const all = await this.topicPartitions();
    if (!all.has(name)) throw new RtwhError('TOPIC_NOT_FOUND', `topic ${q(name)} does not exist`, { details: { topic: name } });
  }

  private async partitionInfo(topic: string): Promise<PartitionInfo[]> {
    try {
      const offsets = await withLeaders(this.admin, topic, () => this.admin.fetchTopicOffsets(topic));
      return offsets
        .map((o) => ({ partition: o.partition, startOffset: Number(o.low), endOffset: Number(o.high) }))
        .sort((a, b) => a.partition - b.partition);
    } catch (e) {
      throw this.fail(e, `read offsets of ${q(topic)}`, { topic });
    }
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.ensureOpen('listTopics');
    const names = [...(await this.topicPartitions()).keys()].sort();
    return Promise.all(names.map(async (name) => ({ name, partitions: await this.partitionInfo(name) })));
  }

  async describeTopic(name: string): Promise<TopicInfo> {
    this.ensureOpen('describeTopic');
    await this.requireTopic(name);
    const partitions = await this.partitionInfo(name);
    let config: Record<string, string> = {};
    try {
      const res = await this.admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name }],
        includeSynonyms: false,
      });
      for (const r of res.resources) {
        for (const c of r.configEntries) {
          if ((c as { configSource?: number }).configSource === TOPIC_CONFIG_SOURCE) config[c.configName] = c.configValue;
        }
      }
    } catch (e) {
      throw this.fail(e, `describe ${q(name)}`, { topic: name });
    }
    return { name, partitions, config };
  }

  /**
   * The values Kafka applies to a topic for the named configs: the topic's own setting, else the broker's (e.g.
   * max.message.bytes falls back to message.max.bytes). describeTopic() gives only the topic's own settings. Not part
   * of the Bus interface: cdc looks for it (src/collect/cdc/run.ts).
   */
  async effectiveTopicConfig(name: string, names: readonly string[]): Promise<Record<string, string>> {
    this.ensureOpen('effectiveTopicConfig');
    await this.requireTopic(name);
    const out: Record<string, string> = {};
    try {
      const res = await this.admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: [...names] }], includeSynonyms: false });
      for (const r of res.resources) for (const c of r.configEntries) out[c.configName] = c.configValue;
    } catch (e) {
      throw this.fail(e, `describe ${q(name)}`, { topic: name });
    }
    return out;
  }

  async createTopic(spec: TopicSpec): Promise<boolean> {
    this.ensureOpen('createTopic');
    checkTopicName(spec.name);
    const action = `create topic ${q(spec.name)}`;
    const created = await this.create([spec], action, spec.name);
    if (created) await this.leaders([spec.name], action, spec.name);
    return created;
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<Map<string, EnsuredTopic>> {
    this.ensureOpen('ensureTopics');
    for (const s of specs) checkTopicName(s.name);
    const known = await this.topicPartitions();
    const out = new Map<string, EnsuredTopic>();
    const missing: TopicSpec[] = [];
    for (const s of specs) {
      const parts = known.get(s.name);
      if (parts) out.set(s.name, { partitions: parts.length, created: false });
      else if (!missing.some((m) => m.name === s.name)) missing.push(s);
    }
    if (missing.length === 0) return out;
    const one = missing.length === 1 ? missing[0]!.name : undefined;
    const action = `create topic${one ? '' : 's'} ${missing.map((s) => q(s.name)).join(', ')}`;
    // false when any of them existed by then (another client made it meanwhile): which ones is not told, so none is
    // said to be created here
    const created = await this.create(missing, action, one);
    const counts = await this.leaders(missing.map((s) => s.name), action, one);
    for (const s of missing) out.set(s.name, { partitions: counts.get(s.name)!, created });
    return out;
  }

  /** One CreateTopics request: true when it created every topic, false when any of them existed already. */
  private async create(specs: readonly TopicSpec[], action: string, topic?: string): Promise<boolean> {
    try {
      return await this.admin.createTopics({
        // kafkajs would wait for leaders polling every 100 ms, most of a new topic's ~150 ms: leaders() polls faster
        waitForLeaders: false,
        topics: specs.map((spec) => ({
          topic: spec.name,
          // -1 = the broker's num.partitions / default.replication.factor (CreateTopics v4+, which Kafka 4 requires anyway).
          numPartitions: spec.partitions ?? -1,
          replicationFactor: spec.replicationFactor ?? -1,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (e) {
      throw this.fail(e, action, topic !== undefined ? { topic } : {});
    }
  }

  /**
   * Waits until the metadata gives every partition of `names` a leader (asked every 20 ms, up to LEADER_WAIT_MS);
   * their partition counts. Reads right after may still meet a broker that has not taken the lead yet: those wait
   * it out themselves (withLeaders), as the producer does.
   */
  private async leaders(names: readonly string[], action: string, topic?: string): Promise<Map<string, number>> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      let problem: unknown;
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [...names] });
        const led = new Map(topics.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)).map((t) => [t.name, t.partitions.length]));
        if (names.every((n) => led.has(n))) return led;
        problem = new Error(`no leader yet for ${names.filter((n) => !led.has(n)).map(q).join(', ')} after ${LEADER_WAIT_MS / 1000} s`);
      } catch (e) {
        problem = e;
      }
      if (Date.now() >= deadline) throw this.fail(problem, action, topic !== undefined ? { topic } : {});
      await Bun.sleep(20);
    }
  }

  async deleteTopic(name: string): Promise<void> {
    this.ensureOpen('deleteTopic');
    await this.requireTopic(name);
    try {
      await this.admin.deleteTopics({ topics: [name], timeout: 10_000 });
    } catch (e) {
      throw this.fail(e, `delete topic ${q(name)}`, { topic: name });
    }
  }

  async offsetsForTimestamp(topic: string, timestampMs: number): Promise<{ partition: number; offset: number }[]> {
    this.ensureOpen('offsetsForTimestamp');
    await this.requireTopic(topic);
    try {
      // kafkajs already maps "no record at or after ts" (-1) to the partition's end offset.
      const res = await withLeaders(this.admin, topic, () => this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs));
      return res.map((r) => ({ partition: r.partition, offset: Number(r.offset) })).sort((a, b) => a.partition - b.partition);
    } catch (e) {
      throw this.fail(e, `look up offsets by time in ${q(topic)}`, { topic });
    }
  }

  async listGroups(): Promise<string[]> {
    this.ensureOpen('listGroups');
    try {
      const { groups } = await this.admin.listGroups();
      // Ephemeral readers (tail) join a throwaway group; it is not a group a user made.
      return groups
        .map((g) => g.groupId)
        .filter((g) => !g.startsWith(EPHEMERAL_GROUP_PREFIX))
        .sort();
    } catch (e) {
      throw this.fail(e, 'list consumer groups');
    }
  }

  async groupLag(group: string): Promise<GroupPartitionLag[]> {
    this.ensureOpen('groupLag');
    const topics = await this.topicPartitions();
    let owners: Map<string, string>;
    let live: boolean;
    try {
      const { groups } = await this.admin.describeGroups([group]);
      const g = groups.find((x) => x.groupId === group);
      live = g !== undefined && g.state !== 'Dead';
      owners = new Map();
      for (const m of g?.members ?? []) {
        const decoded = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        for (const [topic, parts] of Object.entries(decoded?.assignment ?? {})) {
          for (const p of parts) owners.set(tpKey(topic, p), m.memberId);
        }
      }
    } catch (e) {
      throw this.fail(e, `describe group ${q(group)}`, { group });
    }

    let committed: { topic: string; partitions: { partition: number; offset: string }[] }[];
    try {
      // OffsetFetch with an explicit topic list: kafkajs sends an empty list, not "all topics", when none is given.
      committed = topics.size ? await this.admin.fetchOffsets({ groupId: group, topics: [...topics.keys()] }) : [];
    } catch (e) {
      throw this.fail(e, `read committed offsets of ${q(group)}`, { group });
    }

    // A topic belongs to the group when it committed on any of its partitions or a member owns one; then every
    // partition of it is shown (null = never committed there), like kafka-consumer-groups.sh --describe.
    const rows: { topic: string; partition: number; current: number | null }[] = [];
    for (const t of committed) {
      const ours = t.partitions.some((p) => Number(p.offset) >= 0 || owners.has(tpKey(t.topic, p.partition)));
      if (!ours) continue;
      for (const p of t.partitions) {
        const off = Number(p.offset);
        rows.push({ topic: t.topic, partition: p.partition, current: off >= 0 ? off : null });
      }
    }
    if (rows.length === 0 && !live) {
      throw new RtwhError('GROUP_NOT_FOUND', `consumer group ${q(group)} does not exist (no members, no committed offsets)`, {
        details: { group },
      });
    }

    const byTopic = new Map<string, PartitionInfo[]>();
    for (const topic of new Set(rows.map((r) => r.topic))) byTopic.set(topic, await this.partitionInfo(topic));
    return rows
      .map((r) => {
        const info = byTopic.get(r.topic)?.find((p) => p.partition === r.partition);
        const end = info?.endOffset ?? 0;
        const from = r.current ?? info?.startOffset ?? 0;
        return {
          group,
          topic: r.topic,
          partition: r.partition,
          currentOffset: r.current,
          logEndOffset: end,
          lag: Math.max(0, end - from),
          memberId: owners.get(tpKey(r.topic, r.partition)) ?? null,
        };
      })
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.admin.disconnect().catch(() => {});
  }

  /** kafkajs would reconnect a disconnected admin (and keep the process alive) or fail with "write after end". */
  private ensureOpen(op: string): void {
    if (this.closed) throw new RtwhError('BUS_ERROR', `${op}: the admin is closed`, { hint: 'Create a new admin with bus.admin().' });
  }
}
