/**
 * The dim job against the real thing: MariaDB (source + table_process) → `rtwh cdc` → Kafka → `rtwh run dim` →
 * dim store. Every dim table is compared with its MySQL source table directly (the projection on sink_columns,
 * values as MySQL prints them). Covers the full standard config on a mock day, live config changes (insert,
 * column update, delete, hostile rows), two jobs at once, and kill -9 at random points under writes and config
 * changes. RTWH_DIM_KILLS sets how many kills (default 6).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bus } from '../../src/bus/types';
import { DimLookup } from '../../src/dim/lookup';
import { openDimStore } from '../../src/dim/store';
import type { DimRow, DimStore } from '../../src/dim/types';
import { initConfig } from '../../src/dim/config-source';
import { parseMysqlUrl, sqlLiteral, type MysqlConn } from '../../src/store/mysql';
import { cli, tempDir } from '../helpers/cli';
import { admin, cdcCaughtUp as caughtUp, dropKafkaTopics, kafkaBus, kafkaTopic, startCdc, TEST_KAFKA, TEST_MYSQL, unique, urlFor, waitFor, type RunningCdc } from '../collect/cdc/helpers';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');
const KILLS = Number(process.env.RTWH_DIM_KILLS ?? 6);
const DB = unique('dim_e2e');
const CFG = `${DB}_cfg`;
const CLIENT = unique('dimcdc');
let a: MysqlConn;
let kafka: Bus;
let cdc: RunningCdc;
let topic: string;
let dir: string;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\``);
  kafka = await kafkaBus();
  topic = kafkaTopic('dim_ods');
  dir = tempDir('rtwh-dim-e2e-');
  cdc = startCdc({ bus: kafka, database: DB, topic, partitions: 3, clientId: CLIENT });
  await cdc.started;
  const mock = await cli(['mock', 'db', '--mysql', urlFor(DB), '--date', '2025-01-14', '--seed', '5', '--init'], { cwd: dir });
  expect(mock.code).toBe(0);
  // Each test can run alone (-t); the first one also loads the rows through `--init-config`.
  await initConfig(parseMysqlUrl(TEST_MYSQL), { database: CFG });
}, 120_000);

afterAll(async () => {
  await cdc?.stop().catch(() => undefined);
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`; DROP DATABASE IF EXISTS \`${CFG}\`; DELETE FROM maxwell.bootstrap WHERE client_id = ${sqlLiteral(CLIENT)}`);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
});


const cdcCaughtUp = () => caughtUp(a, cdc);

const common = (store: string, extra: string[] = []) => ['run', 'dim', '--mysql', urlFor(DB), '--bus', TEST_KAFKA, '--topic', topic, '--config-database', CFG, '--database', DB, '--dim-store', store, ...extra];

/** The source table projected on the rule's columns, every value as MySQL prints it. */
async function sourceRows(table: string, columns: string[], pk: string): Promise<[string, DimRow][]> {
  const sel = columns.map((c) => `CAST(\`${c}\` AS CHAR) AS \`${c}\``).join(', ');
  const rows = await a.query<DimRow[]>(`SELECT ${sel} FROM \`${DB}\`.\`${table}\``);
  return rows.map((r): [string, DimRow] => [r[pk]!, { ...r }]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

async function dimRows(store: DimStore, table: string, pk: string): Promise<[string, DimRow][]> {
  const rows = await store.scan(table);
  return rows.map((r): [string, DimRow] => [r[pk]!, r]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

interface Rule {
  source_table: string;
  sink_table: string;
  sink_columns: string;
  sink_pk: string | null;
}

async function currentRules(): Promise<Rule[]> {
  return a.query<Rule[]>(`SELECT source_table, sink_table, sink_columns, sink_pk FROM \`${CFG}\`.table_process`);
}

/** Every configured dim table equals its source's projection. */
async function expectDimEqualsSource(storeUrl: string, only?: string[]): Promise<number> {
  const store = await openDimStore(storeUrl, { cwd: dir });
  let total = 0;
  try {
    for (const r of await currentRules()) {
      if (only && !only.includes(r.source_table)) continue;
      const pk = r.sink_pk || 'id';
      const cols = r.sink_columns.split(',').map((c) => c.trim());
      const want = await sourceRows(r.source_table, cols, pk);
      const got = await dimRows(store, r.sink_table, pk);
      expect({ table: r.sink_table, rows: got }).toEqual({ table: r.sink_table, rows: want });
      total += want.length;
    }
  } finally {
    await store.close();
  }
  return total;
}

function spawnDim(args: string[], log: string): Bun.Subprocess {
  const fd = openSync(log, 'a');
  try {
    return Bun.spawn([process.execPath, MAIN, ...args], { cwd: dir, stdin: 'ignore', stdout: fd, stderr: fd, env: { ...process.env, NO_COLOR: '1' } });
  } finally {
    closeSync(fd);
  }
}

describe('run dim: MariaDB + cdc + Kafka', () => {
  const store1 = () => `sqlite:${join(dir, 'dim1.db')}`;

  test('the standard config on a mock day: every dim table equals its MySQL source', async () => {
    await cdcCaughtUp();
    const run = await cli([...common(store1(), ['--init-config', '--until-idle'])], { cwd: dir });
    expect(run.stderr).toContain('the standard rows are there already');
    expect(run.code).toBe(0);
    const rows = await expectDimEqualsSource(store1());
    expect(rows).toBeGreaterThan(1500);
  }, 120_000);

  test('the same day into a MariaDB dim store', async () => {
    await cdcCaughtUp();
    const storeUrl = urlFor(`${DB}_dim`);
    try {
      const run = await cli(common(storeUrl, ['--group', 'mysql-store', '--until-idle']), { cwd: dir });
      expect(run.code).toBe(0);
      expect(run.stderr).not.toContain('rtwh-root');
      expect(await expectDimEqualsSource(storeUrl)).toBeGreaterThan(1500);
    } finally {
      await a.query(`DROP DATABASE IF EXISTS \`${DB}_dim\``);
    }
  }, 120_000);

  test('live config: insert, column update, delete and hostile rows, without a restart', async () => {
    const log = join(dir, 'live.log');
    const job = spawnDim(common(store1(), ['--group', 'live', '--http', '0']), log);
    const store = await openDimStore(store1(), { cwd: dir });
    try {
      await waitFor('the job to follow the config', () => readFileSync(log, 'utf8').includes(': following'), 30_000);
      // A new rule: the table is created and routing starts.
      await a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('order_status_log', 'dim_order_status_log', 'id,order_id,order_status', 'id')`);
      await waitFor('dim_order_status_log to be created', () => readFileSync(log, 'utf8').includes('created dim_order_status_log'), 30_000);
      await a.query(`INSERT INTO \`${DB}\`.order_status_log (id, order_id, order_status, operate_time) VALUES (900001, 1, '1002', '2025-01-14 12:00:00')`);
      await waitFor('the new row to be routed', async () => (await store.get('dim_order_status_log', '900001'))?.order_status === '1002', 30_000);

      // New columns: the table gains them and keeps its rows. A lookup client (as later jobs use) caches the
      // old row first; the job's update must invalidate it.
      const lookup = await DimLookup.open(store, { refreshMs: 50 });
      expect((await lookup.get('dim_base_trademark', '1'))?.tm_name).toBeTruthy();
      expect((await lookup.get('dim_base_trademark', '1'))?.logo_url).toBeUndefined();
      const before = (await store.scan('dim_base_trademark')).length;
      await a.query(`UPDATE \`${CFG}\`.table_process SET sink_columns = 'id,tm_name,logo_url' WHERE source_table = 'base_trademark'`);
      await waitFor('logo_url to be added', () => readFileSync(log, 'utf8').includes('dim_base_trademark: added column logo_url'), 30_000);
      await a.query(`UPDATE \`${DB}\`.base_trademark SET logo_url = 'https://logo/1.png' WHERE id = 1`);
      await waitFor('logo_url to be routed', async () => (await store.get('dim_base_trademark', '1'))?.logo_url === 'https://logo/1.png', 30_000);
      expect((await store.scan('dim_base_trademark')).length).toBe(before);
      await waitFor('the cached row to be invalidated', async () => (await lookup.get('dim_base_trademark', '1'))?.logo_url === 'https://logo/1.png', 10_000);
      expect(lookup.stats().hits).toBeGreaterThan(0);
      expect(lookup.stats().invalidations).toBeGreaterThan(0);
      await lookup.close();
      expect((await store.get('dim_base_trademark', '2'))?.tm_name).toBeTruthy();

      // Hostile rows are rejected; the others go on.
      await a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('x', 'x; drop table y', 'id', 'id')`);
      const longList = Array.from({ length: 500 }, (_, i) => `c${i}_abcdefgh`).join(',');
      await a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('y', 'dim_y', '${'z'.repeat(5000)}', 'id'), ('z', 'dim_z', ${sqlLiteral(longList)}, 'id')`);
      await waitFor('the hostile row to be rejected', () => readFileSync(log, 'utf8').includes('"x" rejected'), 30_000);
      await waitFor('the long name to be rejected', () => readFileSync(log, 'utf8').includes('"y" rejected'), 30_000);

      // A deleted rule stops routing (the table is kept).
      await a.query(`DELETE FROM \`${CFG}\`.table_process WHERE source_table = 'base_trademark'`);
      await waitFor('routing to stop', () => readFileSync(log, 'utf8').includes('stopped routing base_trademark'), 30_000);
      await a.query(`UPDATE \`${DB}\`.base_trademark SET tm_name = 'renamed after delete' WHERE id = 2`);
      await a.query(`INSERT INTO \`${DB}\`.order_status_log (id, order_id, order_status, operate_time) VALUES (900002, 1, '1004', '2025-01-14 12:00:01')`);
      await waitFor('the sentinel to be routed', async () => (await store.get('dim_order_status_log', '900002')) !== undefined, 30_000);
      expect((await store.get('dim_base_trademark', '2'))?.tm_name).not.toBe('renamed after delete');
      // /metrics (bound to 127.0.0.1, port chosen by the system with --http 0).
      const url = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(readFileSync(log, 'utf8'))?.[1];
      expect(url).toBeDefined();
      // The status reaches /metrics once a second.
      const rejected = /rtwh_dim_rejected_rules_total\{[^}]*\} [2-9]/;
      await waitFor('the status to reach /metrics', async () => rejected.test(await (await fetch(`${url}/metrics`)).text()), 10_000);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/rtwh_dim_records_total\{group="live",topic="[^"]+"\} [1-9]\d*/);
      expect(metrics).toContain('table="dim_order_status_log"');
      expect(metrics).toContain('rtwh_dim_up{');
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(job.exitCode).toBeNull();
      job.kill('SIGTERM');
      expect(await job.exited).toBe(0);
      expect(readFileSync(log, 'utf8')).toContain('routed');
    } finally {
      // Put the config back for the tests that follow, whatever happened.
      await a.query(`INSERT IGNORE INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('base_trademark', 'dim_base_trademark', 'id,tm_name,logo_url', 'id')`);
      await a.query(`DELETE FROM \`${CFG}\`.table_process WHERE source_table IN ('x', 'y', 'z')`);
      if (job.exitCode === null) job.kill('SIGKILL');
      await store.close();
    }
  }, 180_000);

  test('kill -9 at random points under writes and config changes: the dim tables still equal their sources', async () => {
    const storeUrl = `sqlite:${join(dir, 'dim-k9.db')}`;
    const log = join(dir, 'k9.log');
    let stop = false;
    let seq = 0;
    // Writes while the job is killed again and again: inserts, updates and deletes of users and provinces.
    const writer = (async () => {
      while (!stop) {
        seq++;
        const id = 800000 + (seq % 300);
        await a.query(`INSERT INTO \`${DB}\`.user_info (id, login_name, name, user_level, birthday, gender, create_time, operate_time, status) VALUES (${id}, 'k9_${id}', 'n${seq}', '1', '1990-01-01', 'F', '2025-01-14 10:00:00', NULL, '1') ON DUPLICATE KEY UPDATE name = VALUES(name), operate_time = '2025-01-14 11:00:00', user_level = '${seq % 5}'`);
        if (seq % 7 === 0) await a.query(`DELETE FROM \`${DB}\`.user_info WHERE id = ${800000 + ((seq * 13) % 300)}`);
        if (seq % 11 === 0) await a.query(`UPDATE \`${DB}\`.base_province SET area_code = '${seq}' WHERE id = ${1 + (seq % 34)}`);
        if (seq % 20 === 0) await Bun.sleep(5);
      }
    })();
    try {
      for (let k = 0; k < KILLS; k++) {
        const job = spawnDim(common(storeUrl, ['--group', 'k9', '--bootstrap', CLIENT, '--batch', String(50 + Math.floor(Math.random() * 500))]), log);
        // A config change while the store already holds the narrower table: the job (this one, or the next after
        // the kill) adds the column and asks cdc for a snapshot, so the rows already there get their values.
        if (k === Math.min(2, KILLS - 1)) await a.query(`UPDATE \`${CFG}\`.table_process SET sink_columns = 'id,login_name,name,user_level,birthday,gender,create_time,operate_time,status' WHERE source_table = 'user_info'`);
        await Bun.sleep(700 + Math.random() * 2500);
        job.kill('SIGKILL');
        await job.exited;
      }
    } finally {
      stop = true;
      await writer;
    }
    expect(seq).toBeGreaterThan(300);
    // The last run may itself ask for a snapshot (a kill came between the config change and the request):
    // a second drained run then routes it.
    let last = '';
    for (let i = 0; i < 2; i++) {
      await cdcCaughtUp();
      const run = await cli(common(storeUrl, ['--group', 'k9', '--bootstrap', CLIENT, '--until-idle']), { cwd: dir });
      expect(run.code).toBe(0);
      last += run.stderr;
    }
    await expectDimEqualsSource(storeUrl);
    const k9 = readFileSync(log, 'utf8');
    expect(k9).not.toContain('Error');
    // Most runs got as far as routing before their kill (a slow start under load may be killed earlier).
    expect(k9.match(/dim: routing/g)?.length ?? 0).toBeGreaterThanOrEqual(Math.ceil(KILLS / 2));
    expect(`${k9}${last}`).toContain('requested a snapshot of user_info');
  }, 240_000);

  test('two dim jobs at once in one group share the partitions and the store', async () => {
    await cdcCaughtUp();
    const storeUrl = `sqlite:${join(dir, 'dim-two.db')}`;
    const logA = join(dir, 'two-a.log');
    const logB = join(dir, 'two-b.log');
    const jobA = spawnDim(common(storeUrl, ['--group', 'two', '--until-idle']), logA);
    const jobB = spawnDim(common(storeUrl, ['--group', 'two', '--until-idle']), logB);
    const codes = { a: await jobA.exited, b: await jobB.exited };
    // Seen failing once under heavy load: on a failure, say what the jobs printed.
    if (codes.a !== 0 || codes.b !== 0) console.error(`job A:\n${readFileSync(logA, 'utf8')}\njob B:\n${readFileSync(logB, 'utf8')}`);
    expect(codes).toEqual({ a: 0, b: 0 });
    await expectDimEqualsSource(storeUrl);
    // Both created nothing twice: the store's DDL is idempotent, and neither failed on the other's tables.
    expect(`${readFileSync(logA, 'utf8')}${readFileSync(logB, 'utf8')}`).not.toMatch(/already exists|Error/);
  }, 180_000);
});
