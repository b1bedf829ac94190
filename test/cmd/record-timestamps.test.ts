/**
 * What rtwh's producers stamp on the REAL Kafka of scripts/stack.sh (RTWH_TEST_KAFKA, RTWH_TEST_MYSQL): the
 * record timestamp is the wall-clock moment the record was handed to the bus (CreateTime = now, as Maxwell,
 * Flume's Kafka sink and kafka-console-producer do); the business (mock) time stays in the value's `ts`.
 *
 * Why it matters: a mock day's records stamped with their business time (2025-01-14) are older than the broker's
 * retention (7 days) when written; with time-based segment rolling (segment.ms counts from the first record's
 * timestamp) each append rolls a segment that is at once eligible for deletion, and the topic empties within
 * minutes of the run.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus, BusRecord } from '../../src/bus/types';
import type { MysqlConn } from '../../src/store/mysql';
import { cli, tempDir } from '../helpers/cli';
import { admin, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, startCdc, TEST_KAFKA, unique } from '../collect/cdc/helpers';

const DATE = '2025-01-14';
const DAY_START = Date.parse(`${DATE}T00:00:00+08:00`);
const DAY_END = DAY_START + 86_400_000;

let kafka: Bus;
beforeAll(async () => {
  kafka = await kafkaBus();
});
afterAll(async () => {
  await dropKafkaTopics(kafka);
  await kafka.close();
});

/** Every record's Kafka timestamp lies within [from, to] (wall clock); shows the first one that does not. */
function expectProducedWithin(records: BusRecord[], from: number, to: number): void {
  expect(records.length).toBeGreaterThan(0);
  const outside = records.filter((r) => r.timestamp < from || r.timestamp > to);
  expect(
    outside.length === 0 ? 'all within' : `${outside.length} of ${records.length} outside, e.g. ${new Date(outside[0]!.timestamp).toISOString()}`,
    `[${new Date(from).toISOString()}, ${new Date(to).toISOString()}]`,
  ).toBe('all within');
}

describe('record timestamp = produce time, business time in the value', () => {
  test('mock db --to TOPIC: Maxwell ts is the mock day, the Kafka timestamp is now', async () => {
    const topic = kafkaTopic('ts_mock_db');
    const t0 = Date.now();
    const r = await cli(['mock', 'db', '--to', topic, '--bus', TEST_KAFKA, '--date', DATE, '--init', '--seed', '3', '--scale', '0.1', '--json'], { cwd: tempDir() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t1 = Date.now();
    // every row, and a bootstrap-start and -complete around each base table's rows
    const { rows, records: sent } = JSON.parse(r.stdout) as { rows: number; records: number };
    expect(sent).toBe(rows + 2 * 17);
    const records = await readTopic(kafka, topic, sent);
    expect(records.length).toBe(sent);
    expectProducedWithin(records, t0, t1);
    // The business time is untouched: every record's ts (seconds) on the mock day. The base data is a bootstrap
    // stamped with the mock moment it happens, 00:00:00 of the day (not the wall clock of the run, which would put
    // the jobs' event time past the day); the day's changes are at their own times in it.
    const values = records.map((x) => JSON.parse(x.value!.toString()) as { type: string; ts: number });
    const boot = values.filter((v) => v.type.startsWith('bootstrap-'));
    expect(boot.length).toBe(sent - rows + (JSON.parse(r.stdout) as { base_rows: number }).base_rows);
    expect(boot.every((v) => v.ts * 1000 === DAY_START)).toBe(true);
    const day = values.filter((v) => !v.type.startsWith('bootstrap-'));
    expect(day.every((v) => v.ts * 1000 >= DAY_START && v.ts * 1000 < DAY_END)).toBe(true);
    expect(new Set(day.map((v) => v.ts)).size).toBeGreaterThan(day.length / 4);
  }, 120_000);

  test('mock log --to TOPIC: the line ts is the mock day, the Kafka timestamp is now', async () => {
    const topic = kafkaTopic('ts_mock_log');
    const t0 = Date.now();
    const r = await cli(['mock', 'log', '--to', topic, '--bus', TEST_KAFKA, '--date', DATE, '--seed', '7', '--startup-count', '300'], { cwd: tempDir() });
    expect(r.code).toBe(0);
    const t1 = Date.now();
    const n = Number(/^wrote ([\d,]+) lines/.exec(r.stderr)![1]!.replaceAll(',', ''));
    const records = await readTopic(kafka, topic, n);
    expect(records.length).toBe(n);
    expectProducedWithin(records, t0, t1);
    const ts = records.map((x) => (JSON.parse(x.value!.toString()) as { ts: number }).ts);
    expect(ts.every((x) => x >= DAY_START && x < DAY_END)).toBe(true);
  }, 120_000);

  test('ship log of a mock day\'s files: the line ts is the mock day, the Kafka timestamp is now', async () => {
    const cwd = tempDir();
    const gen = await cli(['mock', 'log', '--out', 'applog', '--date', DATE, '--seed', '7', '--startup-count', '200'], { cwd });
    expect(gen.code).toBe(0);
    const topic = kafkaTopic('ts_ship');
    const dlq = kafkaTopic('ts_ship_dlq');
    const t0 = Date.now();
    const r = await cli(['ship', 'log', '--path', 'applog/app.*', '--once', '--bus', TEST_KAFKA, '--topic', topic, '--dlq', dlq, '--json'], { cwd });
    expect(r.code).toBe(0);
    const t1 = Date.now();
    const n = (JSON.parse(r.stdout) as { lines: number }).lines;
    const records = await readTopic(kafka, topic, n);
    expect(records.length).toBe(n);
    expectProducedWithin(records, t0, t1);
    const ts = records.map((x) => (JSON.parse(x.value!.toString()) as { ts: number }).ts);
    expect(ts.every((x) => x >= DAY_START && x < DAY_END)).toBe(true);
  }, 120_000);

  describe('cdc of rows written under a mock date', () => {
    const DB = unique('cdc_ts');
    let a: MysqlConn;
    beforeAll(async () => {
      a = await admin();
      await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY, v varchar(10));`);
    });
    afterAll(async () => {
      await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
      await a.close();
    });

    // In this thread (ThreadSink) and in the producer's worker thread (WorkerSink, the CLI's path).
    for (const worker of [false, true]) {
      test(`${worker ? 'worker-thread' : 'in-thread'} producer: ts keeps the mock time (--mock-date), the Kafka timestamp is now`, async () => {
        const topic = kafkaTopic(worker ? 'ts_cdc_w' : 'ts_cdc');
        const cdc = startCdc({ bus: kafka, ...(worker ? { busUrl: TEST_KAFKA } : {}), database: DB, topic, mockDate: DATE });
        await cdc.started;
        const t0 = Date.now();
        const base = worker ? 10 : 0;
        // As rtwh mock db writes: SET TIMESTAMP to the business moment, so the binlog events carry it.
        await a.query(`SET TIMESTAMP = UNIX_TIMESTAMP('2025-01-14 10:00:00'); INSERT INTO \`${DB}\`.t VALUES (${base + 1}, 'a'), (${base + 2}, 'b');
          SET TIMESTAMP = UNIX_TIMESTAMP('2025-01-14 10:00:05'); UPDATE \`${DB}\`.t SET v = 'c' WHERE id = ${base + 1};
          SET TIMESTAMP = UNIX_TIMESTAMP('2025-01-14 10:00:09'); DELETE FROM \`${DB}\`.t WHERE id = ${base + 2}; SET TIMESTAMP = DEFAULT;`);
        const records = await readTopic(kafka, topic, 4);
        const t1 = Date.now();
        await cdc.stop();
        expect(records.length).toBe(4);
        expectProducedWithin(records, t0, t1);
        // The session's time zone decides what '2025-01-14 10:00:00' is; the business time is whatever the server
        // stored, on the mock day, and the value's ts carries it (seconds).
        const ts = records.map((x) => (JSON.parse(x.value!.toString()) as { ts: number }).ts);
        const at = Number((await a.query<{ t: number }[]>(`SELECT UNIX_TIMESTAMP('2025-01-14 10:00:00') AS t`))[0]!.t);
        expect(at * 1000).toBeGreaterThanOrEqual(DAY_START);
        expect(ts).toEqual([at, at, at + 5, at + 9]);
      }, 60_000);
    }
  });
});
