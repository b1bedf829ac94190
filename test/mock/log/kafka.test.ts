/**
 * --to TOPIC against the REAL Kafka of scripts/stack.sh (RTWH_TEST_KAFKA, from `source .stack/env`).
 * No broker = this fails with the connection error; it never skips.
 */
import { afterAll, expect, test } from 'bun:test';
import { openBus } from '../../../src/bus/index';
import type { AppLog } from '../../../src/formats/applog';
import { cli } from '../../helpers/cli';
import { generate, lines } from './helpers';

const KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const topic = `mock-log-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

afterAll(async () => {
  await cli(['topics', 'delete', topic, '--execute', '--bus', KAFKA]);
});

test('rtwh mock log --to TOPIC produces the same lines to Kafka, each device on one partition in order', async () => {
  const bus = await openBus(KAFKA);
  try {
    const admin = await bus.admin();
    await admin.createTopic({ name: topic, partitions: 3 });
    await admin.close();

    const t0 = Date.now();
    const r = await cli(['mock', 'log', '--date', '2025-01-14', '--seed', '7', '--startup-count', '800', '--to', topic, '--bus', KAFKA]);
    expect(r.stderr).toMatch(new RegExp(`^wrote [\\d,]+ lines to ${topic} on kafka://.* \\(.* seed 7\\) in `));
    expect(r.code).toBe(0);
    const t1 = Date.now();

    const expected = lines(await generate({ startupCount: '800' }));
    const consumer = await bus.consumer({ topics: [topic], maxPollRecords: 5000 });
    const byPartition = new Map<number, string[]>();
    let n = 0;
    const deadline = Date.now() + 60_000;
    while (n < expected.length && Date.now() < deadline) {
      for (const rec of await consumer.poll({ timeoutMs: 1000 })) {
        const value = rec.value!.toString('utf8');
        expect(rec.key!.toString()).toBe((JSON.parse(value) as AppLog).common.mid);
        // The time it was produced (CreateTime = now); the business time is the line's ts.
        expect(rec.timestamp).toBeGreaterThanOrEqual(t0);
        expect(rec.timestamp).toBeLessThanOrEqual(t1);
        const list = byPartition.get(rec.partition) ?? [];
        list.push(value);
        byPartition.set(rec.partition, list);
        n++;
      }
    }
    await consumer.close();
    expect(n).toBe(expected.length);
    expect(byPartition.size).toBe(3);
    // Each partition holds a subsequence of the file's order.
    const position = new Map(expected.map((l, i) => [l, i]));
    for (const list of byPartition.values()) {
      const idx = list.map((l) => position.get(l)!);
      expect(idx.every((x, i) => x !== undefined && (i === 0 || x > idx[i - 1]!))).toBe(true);
    }
  } finally {
    await bus.close();
  }
}, 120_000);
