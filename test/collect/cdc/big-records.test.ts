/**
 * Rows over 1 MB through Kafka, whatever the broker's default: cdc creates its topic with max.message.bytes 16 MiB
 * (an 11 MB row passes although the stack's broker allows 10 MB), and on an existing topic whose limit is 1 MB
 * (max.message.bytes=1048588 set here, not the broker's default) a 4 MB row stops cdc before it — named, with its
 * size, the limit and the kafka-configs command — nothing behind it sent, the position not past it; once the limit
 * is raised a restart sends it and the rest. Both on the CLI's path (the producer in its worker thread).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka } from 'kafkajs';
import type { Bus } from '../../../src/bus/types';
import { RtwhError } from '../../../src/errors';
import { describeRecord, recordBatchBytes } from '../../../src/collect/cdc/run';
import type { MysqlConn } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';
import {
  admin, before, dropKafkaTopics, kafkaBus, kafkaTopic, masterStatus, readTopic, spawnRtwh, startCdc, storedPosition, TEST_KAFKA, unique, urlFor, values, waitFor,
} from './helpers';

const DB = unique('cdc_big');
const ONE_MB_LIMIT = 1048588; // Kafka's default max.message.bytes (1 MiB + 12), set on the topic explicitly
let a: MysqlConn;
let kafka: Bus;
const clients: string[] = [];

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.big (id int PRIMARY KEY, body longtext, bin longblob);`);
  kafka = await kafkaBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`;${clients.map((c) => ` DELETE FROM maxwell.positions WHERE client_id = '${c}';`).join('')}`);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
});

const brokers = [TEST_KAFKA.replace(/^kafka:\/\//, '')];

async function topicLimit(topic: string): Promise<string | undefined> {
  const k = new Kafka({ brokers, clientId: 'rtwh-cdc-test', logLevel: 0 }).admin();
  await k.connect();
  try {
    const r = await k.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }], includeSynonyms: false });
    return r.resources[0]?.configEntries.find((c) => c.configName === 'max.message.bytes')?.configValue;
  } finally {
    await k.disconnect();
  }
}

async function setTopicLimit(topic: string, bytes: number): Promise<void> {
  const k = new Kafka({ brokers, clientId: 'rtwh-cdc-test', logLevel: 0 }).admin();
  await k.connect();
  try {
    await k.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  } finally {
    await k.disconnect();
  }
}

async function oneMbTopic(prefix: string): Promise<string> {
  const topic = kafkaTopic(prefix);
  const ad = await kafka.admin();
  await ad.createTopic({ name: topic, partitions: 1, config: { 'max.message.bytes': String(ONE_MB_LIMIT) } });
  await ad.close();
  expect(await topicLimit(topic)).toBe(String(ONE_MB_LIMIT));
  return topic;
}

describe('the topic cdc creates', () => {
  test('has max.message.bytes 16 MiB: an 11 MB row passes although the broker allows 10 MB', async () => {
    const topic = kafkaTopic('cdc_big_new');
    const cdc = startCdc({ bus: kafka, busUrl: TEST_KAFKA, database: DB, topic });
    await cdc.started;
    expect(await topicLimit(topic)).toBe(String(16 * 1024 * 1024));
    expect(cdc.logs.join('\n')).toContain(`created topic ${topic} with 1 partition (max.message.bytes 16777216)`);
    const body = 'x'.repeat(11 * 1024 * 1024);
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (100, '${body}', NULL)`);
    const recs = await readTopic(kafka, topic, 1, 60_000);
    await cdc.stop();
    expect(recs.length).toBe(1);
    expect(recs[0]!.value!.length).toBeGreaterThan(10_485_760); // over the stack broker's message.max.bytes
    expect((values(recs)[0]!.data as { body: string }).body.length).toBe(body.length);
  }, 120_000);
});

describe('a topic limited below the producer batch size', () => {
  test('small rows go in batches under its limit (the worker\'s producer is told the limit), none refused', async () => {
    const topic = kafkaTopic('cdc_small_limit');
    const limit = 100_000;
    const ad = await kafka.admin();
    await ad.createTopic({ name: topic, partitions: 1, config: { 'max.message.bytes': String(limit) } });
    await ad.close();
    const cdc = startCdc({ bus: kafka, busUrl: TEST_KAFKA, database: DB, topic });
    await cdc.started;
    // ~1,000 rows of ~600 bytes in one transaction: ~600 KB, one producer batch without the limit
    const rows = Array.from({ length: 1000 }, (_, i) => `(${10_000 + i}, '${'y'.repeat(500)}', NULL)`).join(', ');
    await a.query(`INSERT INTO \`${DB}\`.big VALUES ${rows}`);
    const recs = await readTopic(kafka, topic, 1000, 60_000);
    await cdc.stop();
    expect(recs.length).toBe(1000);
  }, 120_000);
});

describe('a topic limited to 1 MB', () => {
  test('a 4 MB row stops the CLI before it, named, position kept; raised limit + restart sends it and the rest', async () => {
    const topic = await oneMbTopic('cdc_big_1mb');
    const dir = tempDir('rtwh-cdc-big-');
    const clientId = unique('big');
    clients.push(clientId);
    const args = ['cdc', '--mysql', urlFor(DB), '--bus', TEST_KAFKA, '--topic', topic, '--client-id', clientId, '--filter', `exclude: *.*, include: ${DB}.*`];
    let run = spawnRtwh(args, dir);
    await waitFor('cdc to start reading', () => run.output().includes('cdc: reading'), 30_000);
    expect(run.output()).toContain(`topic ${topic} takes records up to 1,048,588 bytes (max.message.bytes)`);

    await a.query(`INSERT INTO \`${DB}\`.big VALUES (1, 'small', NULL)`);
    await waitFor('row 1 on the topic', async () => (await readTopic(kafka, topic, 1, 5000)).length === 1, 30_000);
    const afterRow1 = await masterStatus(a);
    const body = 'y'.repeat(4 * 1024 * 1024);
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (2, '${body}', NULL)`);
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (3, 'after', NULL)`);

    const code = await Promise.race([run.proc.exited, Bun.sleep(60_000).then(() => 'still running')]);
    expect(code).toBe(5); // MESSAGE_TOO_LARGE: bad data
    const out = run.output();
    expect(out).toContain(`a record of ${DB}.big (primary key id=2) is 4,194,`);
    expect(out).toContain(`over the 1,048,588 bytes (max.message.bytes) topic ${topic} takes; cdc stopped before sending it`);
    expect(out).toContain('Nothing was skipped: the stored position stays at mysql-bin.');
    expect(out).toContain(
      `hint: Raise the topic's limit, then start cdc again (it resumes at this record): kafka-configs.sh --bootstrap-server ${brokers[0]} --alter --entity-type topics --entity-name ${topic} --add-config max.message.bytes=16777216`,
    );
    // Nothing behind it was sent, and the stored position is before the 4 MB row's transaction.
    expect(values(await readTopic(kafka, topic, undefined, 10_000, 1000)).map((v) => (v.data as { id: number }).id)).toEqual([1]);
    const stored = (await storedPosition(a, clientId))!;
    expect(before(stored, afterRow1)).toBe(false); // row 1's transaction is behind it
    expect(out).toContain(`the stored position stays at ${stored.file}:${stored.pos},`);

    // Started again without raising the limit: the same stop at the same record, still nothing skipped.
    run = spawnRtwh(args, dir);
    expect(await run.proc.exited).toBe(5);
    expect(run.output()).toContain(`a record of ${DB}.big (primary key id=2)`);
    expect((await readTopic(kafka, topic, undefined, 10_000, 1000)).length).toBe(1);

    await setTopicLimit(topic, 16 * 1024 * 1024);
    run = spawnRtwh(args, dir);
    const recs = await readTopic(kafka, topic, 3, 60_000);
    run.proc.kill('SIGTERM');
    expect(await run.proc.exited).toBe(0);
    const got = values(recs).map((v) => v.data as { id: number; body: string });
    expect(got.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(got[1]!.body).toBe(body);
  }, 180_000);

  test('compressed (gzip): an incompressible 4 MB row is measured compressed and stopped before it, nothing skipped', async () => {
    const topic = await oneMbTopic('cdc_big_gzip');
    const clientId = unique('bigz');
    clients.push(clientId);
    const opts = { bus: kafka, busUrl: TEST_KAFKA, database: DB, topic, producer: { compression: 'gzip' as const }, positionStore: 'mysql' as const, clientId };
    const cdc = startCdc(opts);
    await cdc.started;
    // Compressible: 2 MB of one letter is a few KB gzipped, and passes.
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (9, REPEAT('z', 2097152), NULL)`);
    const bin = randomBytes(3 * 1024 * 1024); // 4 MB of base64 in the JSON: gzip cannot bring it under 1 MB
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (10, 'zipped', 0x${bin.toString('hex')})`);
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (11, 'after', NULL)`);
    const e = (await cdc.done.then(
      () => undefined,
      (x: unknown) => x,
    )) as RtwhError;
    expect(e).toBeInstanceOf(RtwhError);
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.message).toMatch(new RegExp(`a record of ${DB}\\.big \\(primary key id=10\\) is 3,\\d{3},\\d{3} bytes gzip-compressed, over the 1,048,588 bytes`));
    expect(e.hint).toContain(`--entity-name ${topic} --add-config max.message.bytes=`);
    expect(values(await readTopic(kafka, topic, undefined, 10_000, 1000)).map((v) => (v.data as { id: number }).id)).toEqual([9]);
    const stored = (await storedPosition(a, clientId))!;
    expect(`${stored.file}:${stored.pos}`).toBe((e.details as { position: string }).position);

    // The limit raised, the same client id resumes at the refused row: both rows arrive, in order.
    await setTopicLimit(topic, 16 * 1024 * 1024);
    const again = startCdc(opts);
    const recs = await readTopic(kafka, topic, 3, 60_000);
    await again.stop();
    expect(values(recs).map((v) => (v.data as { id: number }).id)).toEqual([9, 10, 11]);
    expect((values(recs)[1]!.data as { bin: string }).bin).toBe(bin.toString('base64'));
  }, 120_000);

  test('a limit lowered while cdc runs: the broker refuses the row, cdc stops naming it', async () => {
    const topic = kafkaTopic('cdc_big_lowered');
    const cdc = startCdc({ bus: kafka, busUrl: TEST_KAFKA, database: DB, topic });
    await cdc.started;
    await setTopicLimit(topic, ONE_MB_LIMIT);
    await a.query(`INSERT INTO \`${DB}\`.big VALUES (20, REPEAT('w', 3145728), NULL)`);
    const e = (await cdc.done.then(
      () => undefined,
      (x: unknown) => x,
    )) as RtwhError;
    expect(e).toBeInstanceOf(RtwhError);
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.message).toContain(`Kafka refused a record of ${DB}.big (primary key id=20) as too large (3,146,`);
    expect(e.message).toContain(`topic ${topic} took 16,777,216 bytes (max.message.bytes) when cdc started`);
    expect((await readTopic(kafka, topic, undefined, 10_000, 1000)).length).toBe(0);
  }, 120_000);
});

describe('naming a record', () => {
  test('Maxwell key, Debezium key + source, sizes as Kafka counts them', () => {
    const maxwell = { key: '{"database":"gmall","table":"order_info","pk.id":7}', value: '{"database":"gmall","table":"order_info","type":"insert","data":{}}', partition: 0, bytes: 0 };
    expect(describeRecord(maxwell)).toBe('gmall.order_info (primary key id=7)');
    const dbz = { key: '{"id":7,"sku":"a"}', value: '{"before":null,"after":{},"source":{"db":"gmall","table":"order_detail"},"op":"c"}', partition: 0, bytes: 0 };
    expect(describeRecord(dbz)).toBe('gmall.order_detail (primary key id=7, sku="a")');
    const noPk = { key: '{"database":"gmall","table":"t","_uuid":"x"}', value: '{}', partition: 0, bytes: 0 };
    expect(describeRecord(noPk)).toBe('gmall.t (no primary key)');
    // 61 header + length varint + attributes, timestamp delta, offset delta, key (varint + 3), value (varint 2 + 200), headers
    expect(recordBatchBytes({ key: 'abc', value: 'v'.repeat(200), partition: 0, bytes: 203 })).toBe(61 + 2 + 1 + 1 + 1 + 1 + 3 + 2 + 200 + 1);
    expect(recordBatchBytes({ key: null, value: 'é', partition: 0, bytes: 1 })).toBe(61 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 1);
  });
});
