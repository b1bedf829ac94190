/** --to TOPIC on the embedded sqlite bus: the same lines as the file, keyed by mid, stamped with the produce time (ts stays in the line). */
import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../../src/bus/index';
import type { AppLog } from '../../../src/formats/applog';
import { mockLogOptions } from '../../../src/mock/log/options';
import { runMockLog } from '../../../src/mock/log/run';
import { tempDir } from '../../helpers/cli';
import { DATE, generate, lines } from './helpers';

test('produces every line, in order, with key = mid and timestamp = the time it was produced', async () => {
  const bus = await openBus(`sqlite:${join(tempDir(), 'bus.db')}`);
  try {
    const producer = await bus.producer();
    const t0 = Date.now();
    const opts = mockLogOptions({ date: DATE, seed: '7', startupCount: '1500' }, undefined);
    // A batch size that does not divide the line count, so the last batch is a partial one.
    const r = await runMockLog(opts, { kind: 'topic', producer, topic: 'ods_log', batchLines: 997 });
    await producer.close();
    const t1 = Date.now();

    const expected = lines(await generate({ startupCount: '1500' }));
    expect(r.lines).toBe(expected.length);
    expect(r.bytes).toBe(expected.reduce((a, l) => a + Buffer.byteLength(l), 0));

    const consumer = await bus.consumer({ topics: ['ods_log'], maxPollRecords: 5000 });
    const got: string[] = [];
    while (got.length < expected.length) {
      const recs = await consumer.poll({ timeoutMs: 2000 });
      if (recs.length === 0) break;
      for (const rec of recs) {
        const value = rec.value!.toString('utf8');
        const log = JSON.parse(value) as AppLog;
        expect(rec.key!.toString()).toBe(log.common.mid);
        // Produce time, not the mock day's ts (2025): those would be past the topic's retention when written.
        expect(rec.timestamp).toBeGreaterThanOrEqual(t0);
        expect(rec.timestamp).toBeLessThanOrEqual(t1);
        expect(log.ts).toBeLessThan(t0);
        got.push(value);
      }
    }
    await consumer.close();
    expect(got).toEqual(expected);
  } finally {
    await bus.close();
  }
});
