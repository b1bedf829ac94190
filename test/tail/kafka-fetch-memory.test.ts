/**
 * The Kafka fetch source's response memory (src/tail/kafka-fetch.ts): a response's memory goes back to the pool
 * only once every record decoded from it is released, also when a poll's records were all dropped by the plan
 * (past the end) while earlier polls' records are still out. No broker: responses are pushed as a fetch would.
 */
import { describe, expect, test } from 'bun:test';
import type { EnvelopeRecord } from '../../src/tail/envelope';
import { KafkaFetchSource } from '../../src/tail/kafka-fetch';

/** The internals this test drives and looks at. */
interface Internals {
  push(records: EnvelopeRecord[], mem: SharedArrayBuffer | null): void;
  free: SharedArrayBuffer[];
}

const recs = (mem: SharedArrayBuffer, from: number, n: number): EnvelopeRecord[] =>
  Array.from({ length: n }, (_, i) => ({ topic: 't', partition: 0, offset: from + i, timestamp: 1, key: null, headers: {}, value: Buffer.from(mem, i, 1) }));

describe('kafka fetch source memory', () => {
  test('records dropped by the plan do not free a response whose records are still out; all is freed once released', async () => {
    // Partition 0 ends at offset 1500: a second response past it is dropped whole.
    const src = new KafkaFetchSource(['127.0.0.1:9'], { topic: 't', follow: false }, [{ partition: 0, start: 0, end: 1500, untilTimestamp: null }], 'test', async () => new Map());
    const inner = src as unknown as Internals;
    const a = new SharedArrayBuffer(1 << 20);
    const b = new SharedArrayBuffer(1 << 20);
    inner.push(recs(a, 0, 1500), a);
    const p1 = await src.poll(1000, 0);
    const p2 = await src.poll(1000, 0);
    inner.push(recs(b, 1500, 1500), b);
    const p3 = await src.poll(1000, 0);
    const p4 = await src.poll(1000, 0);
    expect([p1.length, p2.length, p3.length, p4.length]).toEqual([1000, 500, 0, 0]);
    // p1 and p2 are still being printed: their response must not be reused.
    expect(inner.free.includes(a)).toBe(false);
    src.release();
    expect(inner.free.includes(a)).toBe(false);
    src.release();
    expect(inner.free.includes(a)).toBe(true);
    expect(inner.free.includes(b)).toBe(true);
    await src.close();
  });
});
