/** Admin for the embedded bus: topics, timestamps → offsets, groups and their lag. */
import { q, rtwhError } from '../../errors.ts';
import type { Admin, EnsuredTopic, GroupPartitionLag, TopicInfo, TopicSpec } from '../types.ts';
import { MAX_PARTITIONS, checkGroupName, type SqliteStore } from './store.ts';
import { checkTopicName } from '../topic-name.ts';

export class SqliteAdmin implements Admin {
  private closed = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly onClose: (a: SqliteAdmin) => void,
  ) {}

  async listTopics(): Promise<TopicInfo[]> {
    this.ensureOpen('listTopics');
    return this.store.listTopicNames().map((name) => this.info(name));
  }

  async describeTopic(name: string): Promise<TopicInfo> {
    this.ensureOpen('describeTopic');
    checkTopicName(name);
    return this.info(name);
  }

  async createTopic(spec: TopicSpec): Promise<boolean> {
    this.ensureOpen('createTopic');
    const t = checkedSpec(spec);
    return this.store.write(() => this.store.createTopicInTx(t.name, t.partitions, t.config));
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<Map<string, EnsuredTopic>> {
    this.ensureOpen('ensureTopics');
    const checked = specs.map(checkedSpec);
    return this.store.write(() => {
      const out = new Map<string, EnsuredTopic>();
      for (const t of checked) {
        if (out.has(t.name)) continue; // named twice: the first spec counts, as on Kafka
        const created = this.store.createTopicInTx(t.name, t.partitions, t.config);
        out.set(t.name, { partitions: this.store.partitionsOf(t.name).length, created });
      }
      return out;
    });
  }

  async deleteTopic(name: string): Promise<void> {
    this.ensureOpen('deleteTopic');
    checkTopicName(name);
    const deleted = this.store.write(() => this.store.deleteTopicInTx(name));
    if (!deleted) throw notFound(name);
  }

  async offsetsForTimestamp(topic: string, timestampMs: number): Promise<{ partition: number; offset: number }[]> {
    this.ensureOpen('offsetsForTimestamp');
    checkTopicName(topic);
    if (!Number.isFinite(timestampMs)) throw rtwhError('BUS_ERROR', `timestamp ${q(timestampMs)} is not a number of ms`);
    const parts = this.store.partitionsOf(topic);
    if (parts.length === 0) throw notFound(topic);
    return parts.map((p) => ({ partition: p.part, offset: this.store.offsetForTimestamp(p, timestampMs) }));
  }

  async listGroups(): Promise<string[]> {
    this.ensureOpen('listGroups');
    const rows = this.store.stmt('SELECT name FROM groups UNION SELECT grp FROM group_offsets ORDER BY 1').values() as [string][];
    return rows.map((r) => r[0]);
  }

  /**
   * Every partition of every topic the group has committed on or live members subscribe to. A member
   * shows as the owner only while its lease is valid, so a crashed member stops showing up after its
   * session timeout.
   */
  async groupLag(group: string): Promise<GroupPartitionLag[]> {
    this.ensureOpen('groupLag');
    checkGroupName(group);
    const store = this.store;
    const now = Date.now();
    const known = store.stmt('SELECT 1 FROM groups WHERE name = ? UNION ALL SELECT 1 FROM group_offsets WHERE grp = ? LIMIT 1').get(group, group);
    if (known === null) throw rtwhError('GROUP_NOT_FOUND', `consumer group ${q(group)} does not exist`);
    const topics = new Set<string>();
    for (const [t] of store.stmt('SELECT DISTINCT topic FROM group_offsets WHERE grp = ?').values(group) as [string][]) topics.add(t);
    const live = store.stmt('SELECT topics FROM members WHERE grp = ? AND heartbeat_ms + session_timeout_ms >= ?').values(group, now) as [string][];
    for (const [json] of live) for (const t of JSON.parse(json) as string[]) topics.add(t);
    const committed = store.stmt('SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND part = ?');
    const owner = store.stmt('SELECT member_id FROM owners WHERE grp = ? AND topic = ? AND part = ? AND lease_until_ms >= ?');
    const out: GroupPartitionLag[] = [];
    for (const topic of [...topics].sort()) {
      for (const p of store.partitionsOf(topic)) {
        const c = committed.get(group, topic, p.part) as { next_offset: number } | null;
        const o = owner.get(group, topic, p.part, now) as { member_id: string } | null;
        const currentOffset = c?.next_offset ?? null;
        out.push({
          group,
          topic,
          partition: p.part,
          currentOffset,
          logEndOffset: p.nextOffset,
          lag: Math.max(0, p.nextOffset - (currentOffset ?? store.startOffset(p))),
          memberId: o?.member_id ?? null,
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }

  private ensureOpen(op: string): void {
    if (this.closed) throw rtwhError('BUS_ERROR', `${op} on a closed admin`, { hint: 'Create a new admin with bus.admin().' });
  }

  private info(name: string): TopicInfo {
    const topic = this.store.getTopic(name);
    if (topic === null) throw notFound(name);
    const partitions = this.store.partitionsOf(name).map((p) => ({ partition: p.part, startOffset: this.store.startOffset(p), endOffset: p.nextOffset }));
    return { name, partitions, config: topic.config };
  }
}

function notFound(topic: string) {
  return rtwhError('TOPIC_NOT_FOUND', `topic ${q(topic)} does not exist`, { details: { topic } });
}

/** A topic spec as the store takes it: the name checked, partitions in range (default 1), config values as text. */
function checkedSpec(spec: TopicSpec): { name: string; partitions: number; config: Record<string, string> } {
  const name = checkTopicName(spec.name);
  const partitions = spec.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw rtwhError('USAGE', `topic ${q(name)}: partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${q(partitions)}`);
  }
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.config ?? {})) config[k] = String(v);
  return { name, partitions, config };
}
