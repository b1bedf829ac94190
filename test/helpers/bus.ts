/** Reading topics back in tests. */
import { expect } from 'bun:test';
import type { Bus, BusRecord } from '../../src/bus/types';
import { RtwhError } from '../../src/errors';

/**
 * Every record of a topic up to its end offsets now (a missing topic has none), in partition then offset
 * order; fails the test when they do not all arrive within `waitMs`.
 */
export async function readAll(bus: Bus, topic: string, waitMs = 60_000): Promise<BusRecord[]> {
  const admin = await bus.admin();
  let want = 0;
  /** End offset of each partition now: what is written after (a job still running) is not read. */
  const ends = new Map<number, number>();
  try {
    const info = await admin.describeTopic(topic);
    want = info.partitions.reduce((a, p) => a + p.endOffset - p.startOffset, 0);
    for (const p of info.partitions) ends.set(p.partition, p.endOffset);
  } catch (e) {
    if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') return [];
    throw e;
  } finally {
    await admin.close();
  }
  if (want === 0) return [];
  const c = await bus.consumer({ topics: [topic], maxPollRecords: 10_000 });
  const out: BusRecord[] = [];
  try {
    const deadline = Date.now() + waitMs;
    while (out.length < want && Date.now() < deadline) {
      for (const r of await c.poll({ timeoutMs: 200 })) if (r.offset < (ends.get(r.partition) ?? 0)) out.push(r);
    }
  } finally {
    await c.close();
  }
  expect({ topic, read: out.length }).toEqual({ topic, read: want });
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
