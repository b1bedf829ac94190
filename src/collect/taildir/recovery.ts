/**
 * Exactly-once across kill -9: "read your own writes".
 *
 * Every record the shipper produces (good line or dead letter) carries one header, `rtwh.src` =
 * `<shipper id>:<inode>:<end position of the line>`. Positions are saved after the bus acknowledged, so the
 * position file can lag the bus by what was acknowledged since the last save (a crash right after an ack), but
 * it never runs ahead. On start, the shipper reads its target topics from the checkpoint offsets in the ship
 * state file up to their current end, and keeps, per inode, the highest end position found in each topic.
 * Lines below those marks are already on the bus: they are passed over once, then shipping continues.
 *
 * Why this is exact: one shipper per position file (lock), sends are sequential and each is acknowledged
 * before the next starts, and both buses keep a producer's records in order within a partition (the Kafka
 * producer is idempotent with one request in flight, so its retries neither duplicate nor reorder). So the
 * records of one file form, in each topic, a gap-free prefix of its lines after the saved position, and "the
 * highest end position" describes that prefix completely — also when a send was cut half-way.
 */
import { RtwhError } from '../../errors';
import type { Bus, PartitionInfo } from '../../bus/types';

export const SOURCE_HEADER = 'rtwh.src';

export function sourceTag(shipper: string, inode: string, end: number): string {
  return `${shipper}:${inode}:${end}`;
}

/** inode → highest end position found on the bus. */
export type Covered = Map<string, number>;

export interface RecoveryResult {
  /** Per topic. */
  covered: Map<string, Covered>;
  /** Records of ours found after the checkpoint (for the log line). */
  found: number;
  /** Records read in all. */
  scanned: number;
}

/** Partition → end offset; {} for a topic that does not exist (yet). */
export async function endOffsets(bus: Bus, topic: string): Promise<Record<string, number>> {
  const admin = await bus.admin();
  try {
    const info = await admin.describeTopic(topic);
    return Object.fromEntries(info.partitions.map((p) => [String(p.partition), p.endOffset]));
  } catch (e) {
    if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') return {};
    throw e;
  } finally {
    await admin.close();
  }
}

interface Range {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

export async function readOwnWrites(
  bus: Bus,
  shipper: string,
  checkpoints: Record<string, Record<string, number>>,
  opts: { idleGiveUpMs?: number; log?: (m: string) => void } = {},
): Promise<RecoveryResult> {
  const covered = new Map<string, Covered>();
  let found = 0;
  let scanned = 0;
  const prefix = `${shipper}:`;
  for (const [topic, cp] of Object.entries(checkpoints)) {
    const cov: Covered = new Map();
    covered.set(topic, cov);
    const { parts, ranges } = await rangesToRead(bus, topic, cp);
    if (ranges.length === 0) continue;
    const consumer = await bus.consumer({ topics: [topic], maxPollRecords: 5000, clientId: 'rtwh-ship-recovery' });
    try {
      const todo = new Map<number, Range>(ranges.map((r) => [r.partition, r]));
      for (const p of parts) {
        const r = todo.get(p.partition);
        // Partitions with nothing to read are parked at their end so they deliver nothing.
        await consumer.seek({ topic, partition: p.partition, offset: r ? r.from : p.endOffset });
      }
      const idleGiveUpMs = opts.idleGiveUpMs ?? 10_000;
      let idleSince = Date.now();
      while (todo.size > 0) {
        const recs = await consumer.poll({ timeoutMs: 500, maxRecords: 5000 });
        if (recs.length === 0) {
          if (Date.now() - idleSince > idleGiveUpMs) {
            // Offsets a reader never gets (transaction markers of another producer) end the range early.
            opts.log?.(`recovery: ${topic} partition(s) ${[...todo.keys()].join(',')} delivered nothing for ${idleGiveUpMs} ms before their end offset; taking what was read`);
            break;
          }
          continue;
        }
        idleSince = Date.now();
        for (const r of recs) {
          const range = todo.get(r.partition);
          if (!range || r.offset < range.from) continue;
          scanned++;
          const tag = r.headers[SOURCE_HEADER];
          if (tag !== undefined && tag.startsWith(prefix)) {
            const [, inode, endText] = tag.split(':');
            const end = Number(endText);
            if (inode && Number.isSafeInteger(end)) {
              found++;
              if ((cov.get(inode) ?? -1) < end) cov.set(inode, end);
            }
          }
          if (r.offset + 1 >= range.to) todo.delete(r.partition);
        }
      }
    } finally {
      await consumer.close();
    }
  }
  return { covered, found, scanned };
}

async function describe(bus: Bus, topic: string): Promise<PartitionInfo[]> {
  const admin = await bus.admin();
  try {
    return (await admin.describeTopic(topic)).partitions;
  } finally {
    await admin.close();
  }
}

/** What lies after the checkpoint, per partition. A partition whose end fell below its checkpoint was recreated. */
async function rangesToRead(bus: Bus, topic: string, cp: Record<string, number>): Promise<{ parts: PartitionInfo[]; ranges: Range[] }> {
  let parts: PartitionInfo[];
  try {
    parts = await describe(bus, topic);
  } catch (e) {
    if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') return { parts: [], ranges: [] };
    throw e;
  }
  const ranges: Range[] = [];
  for (const p of parts) {
    const saved = cp[String(p.partition)];
    const from = saved === undefined || saved > p.endOffset ? p.startOffset : Math.max(saved, p.startOffset);
    if (p.endOffset > from) ranges.push({ topic, partition: p.partition, from, to: p.endOffset });
  }
  return { parts, ranges };
}
