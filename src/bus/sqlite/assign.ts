/**
 * Who should own which partition, computed the same way by every member from the same table rows, so
 * the members agree without talking to each other. Kafka's RoundRobinAssignor: partitions sorted by
 * (topic, partition), members sorted by id, dealt out in turn, skipping members not subscribed to the topic.
 */

export interface GroupMember {
  id: string;
  topics: readonly string[];
}

export interface AssignablePartition {
  topic: string;
  part: number;
}

export function tpKey(topic: string, part: number): string {
  return `${topic}\u0000${part}`;
}

/** Map from tpKey to the member id that should own it; partitions nobody subscribes to are absent. */
export function assignRoundRobin(members: readonly GroupMember[], partitions: readonly AssignablePartition[]): Map<string, string> {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const subs = sorted.map((m) => new Set(m.topics));
  const tps = [...partitions].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.part - b.part));
  const out = new Map<string, string>();
  let cursor = 0;
  for (const tp of tps) {
    for (let tried = 0; tried < sorted.length; tried++) {
      const i = (cursor + tried) % sorted.length;
      if (subs[i]!.has(tp.topic)) {
        out.set(tpKey(tp.topic, tp.part), sorted[i]!.id);
        cursor = i + 1;
        break;
      }
    }
  }
  return out;
}
