/**
 * `rtwh run dwd` against the real thing: MariaDB → `rtwh cdc` → Kafka ods_db, `mock log` → `ship log` → Kafka
 * ods_log, `run dim` for the dictionary names, then `run dwd log` and `run dwd trade` to the end of the data.
 * Every DWD topic must hold exactly the records the same job gives in memory over the same input (the in-memory
 * path is checked against SQL by the golden tests), once each — also after kill -9 of the job at random points.
 * RTWH_DWD_KILLS sets how many kills (default 5).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bus, BusRecord } from '../../src/bus/types';
import { DimLookup } from '../../src/dim/lookup';
import { openDimStore } from '../../src/dim/store';
import { dwdLogJob } from '../../src/dwd/log';
import { dwdTradeJob } from '../../src/dwd/trade';
import { runInMemory } from '../../src/stream/engine';
import type { InputRecord, JobSpec } from '../../src/stream/types';
import { cli, tempDir } from '../helpers/cli';
import { admin, cdcCaughtUp as caughtUp, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, startCdc, TEST_KAFKA, unique, urlFor, waitFor, type RunningCdc } from '../collect/cdc/helpers';
import type { MysqlConn } from '../../src/store/mysql';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');
const KILLS = Number(process.env.RTWH_DWD_KILLS ?? 5);
const DB = unique('dwd_e2e');
let a: MysqlConn;
let kafka: Bus;
let cdc: RunningCdc;
let dir: string;
const odsDb = kafkaTopic('dwd_ods_db');
const odsLog = kafkaTopic('dwd_ods_log');
const prefix = `${unique('t')}_`;

/** Every output topic of a job under this run's prefix, as the flags that name them. */
function topicFlags(spec: JobSpec, run: string): { flags: string[]; topics: Map<string, string> } {
  const flags: string[] = [];
  const topics = new Map<string, string>();
  for (const out of spec.outputs) {
    const opt = spec.options.find((o) => o.name === out.topicOption)!;
    const topic = kafkaTopic(`${prefix}${run}_${opt.default}`);
    flags.push(`--${opt.name}`, topic);
    topics.set(out.name, topic);
  }
  return { flags, topics };
}

function spawnCli(args: string[], log: string): Bun.Subprocess {
  const fd = openSync(log, 'a');
  try {
    return Bun.spawn([process.execPath, MAIN, ...args], { cwd: dir, stdin: 'ignore', stdout: fd, stderr: fd, env: { ...process.env, NO_COLOR: '1' } });
  } finally {
    closeSync(fd);
  }
}


const cdcCaughtUp = () => caughtUp(a, cdc);

/** Every record of a topic up to its end offsets now (a quiet period is not proof of the end under load). */
async function readAll(topic: string): Promise<BusRecord[]> {
  const ad = await kafka.admin();
  const info = await ad.describeTopic(topic);
  await ad.close();
  const want = info.partitions.reduce((n, p) => n + p.endOffset - p.startOffset, 0);
  if (want === 0) return [];
  const recs = await readTopic(kafka, topic, want, 60_000);
  expect(recs.length).toBe(want);
  return recs;
}

function asInput(input: string, r: BusRecord): InputRecord {
  return { input, topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null };
}

/** (key, value) of each record, sorted: a multiset, so duplicates show. */
function canon(records: { key: string | null; value: string }[]): string[] {
  return records.map((r) => `${r.key ?? ''}\t${r.value}`).sort();
}

const storeUrl = () => `sqlite:${join(dir, 'dim.db')}`;

/** What the job gives in memory over the same input: per output name, the canonical records. */
async function expected(spec: JobSpec, input: string, topic: string, options: Record<string, string>): Promise<Map<string, string[]>> {
  const records = (await readAll(topic)).map((r) => asInput(input, r));
  const store = await openDimStore(storeUrl(), { cwd: dir });
  const dims = await DimLookup.open(store);
  try {
    const r = await runInMemory(spec, records, { options, batch: 5000, ...(spec.needsDims ? { dims } : {}) });
    const by = new Map<string, { key: string | null; value: string }[]>();
    for (const o of r.outputs) by.set(o.output, [...(by.get(o.output) ?? []), { key: o.key, value: o.value }]);
    return new Map([...by].map(([k, v]) => [k, canon(v)]));
  } finally {
    await dims.close();
    await store.close();
  }
}

async function actual(topics: Map<string, string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [name, topic] of topics) {
    const recs = await readAll(topic);
    out.set(name, canon(recs.map((r) => ({ key: r.key?.toString() ?? null, value: r.value!.toString() }))));
  }
  return out;
}

function optionsOf(flags: string[], extra: Record<string, string>): Record<string, string> {
  const o: Record<string, string> = { ...extra };
  for (let i = 0; i < flags.length; i += 2) o[flags[i]!.slice(2)] = flags[i + 1]!;
  return o;
}

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\``);
  kafka = await kafkaBus();
  const ad = await kafka.admin();
  // One partition: ods_log is keyless (as Flume writes it), so across partitions the order of a mid's lines is
  // arrival order, and the per-mid decisions that follow arrival (is_new, unique visitor) would differ between
  // two runs that interleave partitions differently. The cross-partition exactly-once cases are in
  // test/stream/runtime.test.ts.
  await ad.createTopic({ name: odsLog, partitions: 1 });
  await ad.close();
  dir = tempDir('rtwh-dwd-e2e-');
  cdc = startCdc({ bus: kafka, database: DB, topic: odsDb, partitions: 3 });
  await cdc.started;
  const mock = await cli(['mock', 'db', '--mysql', urlFor(DB), '--date', '2025-01-14', '--seed', '8', '--init'], { cwd: dir });
  expect(mock.code).toBe(0);
  const log = await cli(['mock', 'log', '--date', '2025-01-14', '--seed', '8', '--out', join(dir, 'applog')], { cwd: dir });
  expect(log.code).toBe(0);
  const ship = await cli(['ship', 'log', '--path', `${join(dir, 'applog')}/app.*`, '--topic', odsLog, '--once', '--bus', TEST_KAFKA, '--position', join(dir, 'pos.json')], { cwd: dir });
  expect(ship.code).toBe(0);
  await cdcCaughtUp();
  const dim = await cli(['run', 'dim', '--bus', TEST_KAFKA, '--topic', odsDb, '--database', DB, '--dim-store', storeUrl(), '--standard-config', '--until-idle'], { cwd: dir });
  expect(dim.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await cdc?.stop().catch(() => undefined);
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
});

describe('run dwd on Kafka + MariaDB + cdc', () => {
  test('dwd log and dwd trade: every DWD topic equals the in-memory run over the same input', async () => {
    const log = topicFlags(dwdLogJob, 'a');
    const trade = topicFlags(dwdTradeJob, 'a');
    const runLog = await cli(['run', 'dwd', 'log', '--bus', TEST_KAFKA, '--input-topic', odsLog, ...log.flags, '--state', join(dir, 'log.db'), '--until-idle'], { cwd: dir });
    expect(runLog.stderr).toContain('dwd log');
    expect(runLog.code).toBe(0);
    const runTrade = await cli(['run', 'dwd', 'trade', '--bus', TEST_KAFKA, '--input-topic', odsDb, '--database', DB, ...trade.flags, '--dim-store', storeUrl(), '--state', join(dir, 'trade.db'), '--until-idle'], { cwd: dir });
    expect(runTrade.code).toBe(0);

    const wantLog = await expected(dwdLogJob, 'ods_log', odsLog, optionsOf(log.flags, { 'input-topic': odsLog }));
    const gotLog = await actual(log.topics);
    for (const [name] of log.topics) expect({ name, records: gotLog.get(name) }).toEqual({ name, records: wantLog.get(name) ?? [] });
    expect(gotLog.get('page')!.length).toBeGreaterThan(500);

    const wantTrade = await expected(dwdTradeJob, 'ods_db', odsDb, optionsOf(trade.flags, { 'input-topic': odsDb, database: DB }));
    const gotTrade = await actual(trade.topics);
    for (const [name] of trade.topics) expect({ name, records: gotTrade.get(name) }).toEqual({ name, records: wantTrade.get(name) ?? [] });
    expect(gotTrade.get('dwd_trade_order_detail')!.length).toBeGreaterThan(20);
    // Names from the dim store made it into the facts.
    expect(gotTrade.get('dwd_trade_order_pay_suc_detail')!.some((r) => /"payment_type_name":"[^"]+"/.test(r))).toBe(true);
  }, 240_000);

  test('kill -9 of run dwd log at random points: every record once, nothing lost', async () => {
    const log = topicFlags(dwdLogJob, 'k');
    const state = join(dir, 'log-k9.db');
    const logFile = join(dir, 'dwd-k9.log');
    const args = ['run', 'dwd', 'log', '--bus', TEST_KAFKA, '--input-topic', odsLog, ...log.flags, '--state', state, '--batch', '300'];
    for (let k = 0; k < KILLS; k++) {
      const job = spawnCli(args, logFile);
      await Bun.sleep(900 + Math.random() * 1500);
      job.kill('SIGKILL');
      await job.exited;
    }
    const last = await cli([...args, '--until-idle'], { cwd: dir });
    expect(last.code).toBe(0);
    const want = await expected(dwdLogJob, 'ods_log', odsLog, optionsOf(log.flags, { 'input-topic': odsLog }));
    const got = await actual(log.topics);
    for (const [name] of log.topics) expect({ name, records: got.get(name) }).toEqual({ name, records: want.get(name) ?? [] });
    expect(readFileSync(logFile, 'utf8')).toContain('running');
  }, 240_000);
});
