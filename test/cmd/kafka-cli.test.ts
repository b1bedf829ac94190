/**
 * `rtwh topics` and `rtwh groups` against the REAL Kafka broker of scripts/stack.sh (RTWH_TEST_KAFKA).
 * No broker = these fail with the connection error, never skip.
 */
import { afterAll, expect, test } from 'bun:test';
import { openBus } from '../../src/bus/index';
import { cli } from '../helpers/cli';

const KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const topic = `cli-topic-${suffix}`;
const group = `cli-group-${suffix}`;
const bus = ['--bus', KAFKA];

afterAll(async () => {
  await cli(['topics', 'delete', topic, '--execute', ...bus]);
});

test('topics create / list / describe / delete on Kafka', async () => {
  const created = await cli(['topics', 'create', topic, '-p', '3', ...bus]);
  expect(created.stderr).toBe(`created topic ${topic} with 3 partitions\n`);
  expect(created.code).toBe(0);
  expect((await cli(['topics', 'create', topic, ...bus])).code).toBe(7);

  const list = JSON.parse((await cli(['topics', '-f', 'json', ...bus])).stdout) as { NAME: string; PARTITIONS: number }[];
  expect(list.find((t) => t.NAME === topic)).toMatchObject({ NAME: topic, PARTITIONS: 3, RECORDS: 0 });

  const desc = await cli(['topics', 'describe', topic, '-f', 'csv', ...bus]);
  expect(desc.stdout.trim().split('\n')).toEqual(['PARTITION,START-OFFSET,END-OFFSET,RECORDS', '0,0,0,0', '1,0,0,0', '2,0,0,0']);
  const missing = await cli(['topics', 'describe', `${topic}-nope`, '--json', ...bus]);
  expect(missing.code).toBe(6);
  expect(JSON.parse(missing.stderr).error.code).toBe('TOPIC_NOT_FOUND');
}, 60_000);

test('groups describe shows CURRENT-OFFSET, LOG-END-OFFSET and LAG from Kafka', async () => {
  const b = await openBus(KAFKA);
  const producer = await b.producer();
  await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ value: `{"n":${i}}`, partition: 1 })));
  await producer.close();
  const consumer = await b.consumer({ group, topics: [topic] });
  let got = 0;
  const deadline = Date.now() + 30_000;
  while (got < 10 && Date.now() < deadline) got += (await consumer.poll({ timeoutMs: 500 })).length;
  expect(got).toBe(10);
  await consumer.commit([{ topic, partition: 1, offset: 7 }]);
  await consumer.close();
  await b.close();

  const r = await cli(['groups', 'describe', group, '-f', 'json', ...bus]);
  expect(r.code).toBe(0);
  const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
  expect(rows.find((x) => x.PARTITION === 1)).toMatchObject({ TOPIC: topic, 'CURRENT-OFFSET': 7, 'LOG-END-OFFSET': 10, LAG: 3 });
  const list = JSON.parse((await cli(['groups', '-f', 'json', ...bus])).stdout) as { GROUP: string; LAG: number }[];
  expect(list.find((g) => g.GROUP === group)?.LAG).toBe(3);
}, 60_000);

test('an unreachable broker is a clear BUS_UNAVAILABLE error, fast', async () => {
  const t0 = Date.now();
  const r = await cli(['topics', '--json', '--bus', 'kafka://127.0.0.1:1']);
  expect(r.code).toBe(4);
  expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'BUS_UNAVAILABLE' });
  expect(JSON.parse(r.stderr).error.message).toContain('127.0.0.1:1');
  expect(Date.now() - t0).toBeLessThan(20_000);
}, 30_000);
