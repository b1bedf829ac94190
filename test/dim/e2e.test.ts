/**
 * The dim job against the real thing: MariaDB (source + table_process) → `rtwh cdc` → Kafka → `rtwh run dim` →
 * dim store. Every dim table is compared with its MySQL source table directly (the projection on sink_columns,
 * values as MySQL prints them). Covers the full standard config on a mock day, live config changes (insert,
 * column update, delete, hostile rows), two jobs at once with a live config insert (SQLite and MariaDB dim
 * stores), and kill -9 at random points under source writes and live config changes (insert, update, delete).
 * RTWH_DIM_KILLS sets how many kills (default 7, at least 4: the first anywhere, three after a config change each,
 * the rest after routing started).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
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
const KILLS = Math.max(4, Number(process.env.RTWH_DIM_KILLS ?? 7));
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
  // Kept forever: the records carry the mock day's timestamps (2025), which the broker's default retention (7 days,
  // counted from record timestamps) deletes at its next check, minutes into the run — the later tests read the
  // topic from the start.
  const ad = await kafka.admin();
  await ad.createTopic({ name: topic, partitions: 3, config: { 'retention.ms': '-1' } });
  await ad.close();
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
    let widened = false;
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

      // Hostile rows are rejected; the others go on. The table --init-config made holds at most 2,000 characters
      // of sink_columns (the seed's varchar(2000)): MariaDB itself refuses longer lists there. A table made by
      // hand may be wider; the job rejects such rows itself.
      await a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('x', 'x; drop table y', 'id', 'id')`);
      const longList = Array.from({ length: 500 }, (_, i) => `c${i}_abcdefgh`).join(',');
      expect(longList.length).toBe(6889);
      await expect(a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('z', 'dim_z', ${sqlLiteral(longList)}, 'id')`)).rejects.toThrow('Data too long');
      await a.query(`ALTER TABLE \`${CFG}\`.table_process MODIFY sink_columns TEXT NOT NULL`);
      widened = true;
      await a.query(`INSERT INTO \`${CFG}\`.table_process (source_table, sink_table, sink_columns, sink_pk) VALUES ('y', 'dim_y', '${'z'.repeat(5000)}', 'id'), ('z', 'dim_z', ${sqlLiteral(longList)}, 'id')`);
      await waitFor('the hostile row to be rejected', () => readFileSync(log, 'utf8').includes('"x" rejected'), 30_000);
      await waitFor('the long lists to be rejected', () => readFileSync(log, 'utf8').includes('"z" rejected'), 30_000);
      const said = readFileSync(log, 'utf8');
      expect(said).toContain('table_process row "x" rejected: sink_table "x; drop table y" is not a valid name: expected ^[A-Za-z_][A-Za-z0-9_]{0,63}$');
      expect(said).toContain(`table_process row "y" rejected: sink_columns is 5,000 characters long ("${'z'.repeat(40)}…"): at most 2,000, the width of table_process.sink_columns (varchar(2000)); the other rules go on`);
      expect(said).toContain('table_process row "z" rejected: sink_columns is 6,889 characters long ("c0_abcdefgh,c1_abcdefgh,c2_abcdefgh,c3_a…"): at most 2,000, the width of table_process.sink_columns (varchar(2000)); the other rules go on');
      expect(said).not.toMatch(/created dim_[yz]\b/);

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
      const rejected = /rtwh_dim_rejected_rules_total\{[^}]*\} [3-9]/;
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
      if (widened) await a.query(`ALTER TABLE \`${CFG}\`.table_process MODIFY sink_columns VARCHAR(2000) NOT NULL`);
      if (job.exitCode === null) job.kill('SIGKILL');
      await store.close();
    }
  }, 180_000);

  test('kill -9 at random points under writes and live config changes: the dim tables still equal their sources', async () => {
    const storeUrl = `sqlite:${join(dir, 'dim-k9.db')}`;
    const log = join(dir, 'k9.log');
    const T = `\`${CFG}\`.table_process`;
    const [trademark] = await a.query<Rule[]>(`SELECT source_table, sink_table, sink_columns, sink_pk FROM ${T} WHERE source_table = 'base_trademark'`);
    expect(trademark).toBeDefined();
    let stop = false;
    let seq = 0;
    // Source writes all along, while jobs are killed again and again: inserts, updates and deletes of users,
    // favorites (the table a rule is added for) and trademarks (whose rule is deleted), updates of provinces.
    const writer = (async () => {
      while (!stop) {
        seq++;
        const id = 800000 + (seq % 300);
        await a.query(`INSERT INTO \`${DB}\`.user_info (id, login_name, name, user_level, birthday, gender, create_time, operate_time, status) VALUES (${id}, 'k9_${id}', 'n${seq}', '1', '1990-01-01', 'F', '2025-01-14 10:00:00', NULL, '1') ON DUPLICATE KEY UPDATE name = VALUES(name), operate_time = '2025-01-14 11:00:00', user_level = '${seq % 5}'`);
        if (seq % 7 === 0) await a.query(`DELETE FROM \`${DB}\`.user_info WHERE id = ${800000 + ((seq * 13) % 300)}`);
        if (seq % 11 === 0) await a.query(`UPDATE \`${DB}\`.base_province SET area_code = '${seq}' WHERE id = ${1 + (seq % 34)}`);
        if (seq % 3 === 0) {
          const fid = 700000 + (seq % 120);
          await a.query(`INSERT INTO \`${DB}\`.favor_info (id, user_id, sku_id, spu_id, is_cancel, create_time) VALUES (${fid}, ${seq}, 1, 1, '0', '2025-01-14 10:00:00') ON DUPLICATE KEY UPDATE is_cancel = IF(is_cancel = '0', '1', '0'), user_id = ${seq}`);
        }
        if (seq % 13 === 0) await a.query(`DELETE FROM \`${DB}\`.favor_info WHERE id = ${700000 + ((seq * 7) % 120)}`);
        if (seq % 17 === 0) await a.query(`UPDATE \`${DB}\`.base_trademark SET tm_name = 'k9 ${seq}' WHERE id = ${1 + (seq % 10)}`);
        if (seq % 20 === 0) await Bun.sleep(5);
      }
    })();
    const t0 = performance.now();
    const args = (extra: string[]) => common(storeUrl, ['--group', 'k9', '--bootstrap', CLIENT, '--drop-on-delete', ...extra]);
    // Each config change is made while a job runs and follows the config (never before the first start), and that
    // job is killed only after it applied it: the change is applied live, and the kill lands after it.
    const changes: Record<number, { sql: string; applied: RegExp }> = {
      1: {
        sql: `INSERT INTO ${T} (source_table, sink_table, sink_columns, sink_pk) VALUES ('favor_info', 'dim_favor_info', 'id,user_id,sku_id,is_cancel', 'id')`,
        applied: /created dim_favor_info for favor_info/,
      },
      2: { sql: `UPDATE ${T} SET sink_columns = 'id,login_name,name,user_level,birthday,gender,create_time,operate_time,status' WHERE source_table = 'user_info'`, applied: /dim_user_info: added columns? / },
      3: { sql: `DELETE FROM ${T} WHERE source_table = 'base_trademark'`, applied: /stopped routing base_trademark \(its table_process row was deleted\); dropped dim_base_trademark/ },
    };
    try {
      try {
        for (let k = 0; k < KILLS; k++) {
          const from = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
          const said = () => readFileSync(log, 'utf8').slice(from);
          const job = spawnDim(args(['--batch', String(50 + Math.floor(Math.random() * 500))]), log);
          try {
            if (k === 0) {
              // Anywhere, start-up included.
              await Bun.sleep(300 + Math.random() * 2500);
            } else {
              // After routing started: the job has loaded the config, follows it and reads the input.
              await waitFor(`run ${k} to follow the config`, () => said().includes(`config ${CFG}.table_process: following`), 30_000);
              const change = changes[k];
              if (change) {
                await a.query(change.sql);
                await waitFor(`run ${k} to apply ${change.sql.slice(0, 40)}…`, () => change.applied.test(said()), 30_000);
              }
              await Bun.sleep(200 + Math.random() * 1500);
            }
          } finally {
            job.kill('SIGKILL');
            await job.exited;
          }
        }
      } finally {
        stop = true;
        await writer;
      }
      expect(seq).toBeGreaterThan(300);
      // The last run may itself ask for a snapshot (a kill came between a config change and the request): a second
      // drained run then routes it.
      let last = '';
      for (let i = 0; i < 2; i++) {
        await cdcCaughtUp();
        const run = await cli(args(['--until-idle']), { cwd: dir });
        expect(run.code).toBe(0);
        last += run.stderr;
      }
      await expectDimEqualsSource(storeUrl);
      const k9 = readFileSync(log, 'utf8');
      expect(k9).not.toContain('Error');
      expect(`${k9}${last}`).toContain('requested a snapshot of favor_info (a new rule)');
      expect(`${k9}${last}`).toContain('requested a snapshot of user_info');
      const store = await openDimStore(storeUrl, { cwd: dir });
      try {
        const tables = await store.tables();
        expect(tables.has('dim_base_trademark')).toBe(false);
        expect((await store.scan('dim_favor_info')).length).toBeGreaterThan(10);
        expect(tables.get('dim_user_info')).toContain('status');
      } finally {
        await store.close();
      }
      console.log(`kill -9 test: ${KILLS} kills, ${seq} source writes, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await a.query(`DELETE FROM ${T} WHERE source_table = 'favor_info'`);
      await a.query(`INSERT IGNORE INTO ${T} (source_table, sink_table, sink_columns, sink_pk) VALUES (${sqlLiteral(trademark!.source_table)}, ${sqlLiteral(trademark!.sink_table)}, ${sqlLiteral(trademark!.sink_columns)}, ${sqlLiteral(trademark!.sink_pk)})`);
    }
  }, 300_000);

  /** Every partition of the topic routed to its end by `group` (the offsets stored in the dim store). */
  async function drainedFor(storeUrl: string, group: string): Promise<boolean> {
    const ad = await kafka.admin();
    const store = await openDimStore(storeUrl, { cwd: dir });
    try {
      const info = await ad.describeTopic(topic);
      const stored = await store.offsets(group);
      return info.partitions.every((p) => (stored.get(`${topic}:${p.partition}`) ?? p.startOffset) >= p.endOffset);
    } finally {
      await store.close();
      await ad.close();
    }
  }

  const twoStores: [string, () => string, () => Promise<void>][] = [
    ['a SQLite dim store', () => `sqlite:${join(dir, 'dim-two.db')}`, async () => {}],
    ['a MariaDB dim store', () => urlFor(`${DB}_dim2`), async () => void (await a.query(`DROP DATABASE IF EXISTS \`${DB}_dim2\``))],
  ];
  for (const [name, storeOf, cleanup] of twoStores) {
    test(`two dim jobs at once in one group, ${name}: they share the partitions; a config row inserted while both run is created once and routed`, async () => {
      await cdcCaughtUp();
      const storeUrl = storeOf();
      const T = `\`${CFG}\`.table_process`;
      const tag = name.includes('SQLite') ? 'sqlite' : 'mysql';
      const base = tag === 'sqlite' ? 990000 : 991000;
      const logA = join(dir, `two-${tag}-a.log`);
      const logB = join(dir, `two-${tag}-b.log`);
      const said = () => `${readFileSync(logA, 'utf8')}${readFileSync(logB, 'utf8')}`;
      const args = common(storeUrl, ['--group', `two-${tag}`, '--bootstrap', CLIENT, '--http', '0']);
      const jobA = spawnDim(args, logA);
      const jobB = spawnDim(args, logB);
      try {
        await waitFor('both jobs to follow the config', () => readFileSync(logA, 'utf8').includes(': following') && readFileSync(logB, 'utf8').includes(': following'), 60_000);
        await a.query(`INSERT INTO ${T} (source_table, sink_table, sink_columns, sink_pk) VALUES ('comment_info', 'dim_comment_info', 'id,user_id,sku_id,appraise', 'id')`);
        // Both apply it: exactly one creates the table, the other finds it there.
        await waitFor('both jobs to apply the new rule', () => {
          const x = said();
          return (x.match(/created dim_comment_info for comment_info|routing comment_info → dim_comment_info \(table already there\)/g) ?? []).length >= 2;
        }, 60_000);
        expect(said().match(/created dim_comment_info/g)).toHaveLength(1);
        // New rows of the table, and its old ones from the snapshots both jobs asked for.
        await a.query(`INSERT INTO \`${DB}\`.comment_info (id, user_id, sku_id, appraise, create_time) VALUES (${base + 1}, 1, 1, '1201', '2025-01-14 12:00:00'), (${base + 2}, 2, 2, '1202', '2025-01-14 12:00:01')`);
        // Both route: changes of many tables (spread over the partitions) until each job has routed some. The
        // first job may have routed the whole day before the second joined the group.
        const metricsOf = (l: string) => /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(readFileSync(l, 'utf8'))?.[1];
        const routedBy = async (l: string): Promise<number> => {
          const url = metricsOf(l);
          if (!url) return 0;
          const m = /rtwh_dim_records_total\{[^}]*\} (\d+)/.exec(await (await fetch(`${url}/metrics`)).text());
          return Number(m?.[1] ?? 0);
        };
        let round = 0;
        await waitFor('both jobs to route records', async () => {
          round++;
          await a.query(
            [
              `UPDATE \`${DB}\`.base_province SET area_code = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_region SET region_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_trademark SET tm_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_category1 SET name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_category2 SET name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_category3 SET name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.sku_info SET sku_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.spu_info SET spu_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.user_info SET name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.activity_info SET activity_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.coupon_info SET coupon_name = 'two${round}' WHERE id = 1`,
              `UPDATE \`${DB}\`.base_dic SET dic_name = 'two${round}' WHERE dic_code = '1001'`,
            ].join('; '),
          );
          await Bun.sleep(500);
          return (await routedBy(logA)) > 0 && (await routedBy(logB)) > 0;
        }, 60_000);
        await cdcCaughtUp();
        const want = await sourceRows('comment_info', ['id', 'user_id', 'sku_id', 'appraise'], 'id');
        expect(want.length).toBeGreaterThan(2);
        await waitFor('dim_comment_info to equal its source', async () => {
          const store = await openDimStore(storeUrl, { cwd: dir });
          try {
            return JSON.stringify(await dimRows(store, 'dim_comment_info', 'id')) === JSON.stringify(want);
          } catch {
            return false;
          } finally {
            await store.close();
          }
        }, 60_000);
        await cdcCaughtUp();
        await waitFor('the jobs to route everything', () => drainedFor(storeUrl, `two-${tag}`), 60_000);
        expect({ a: jobA.exitCode, b: jobB.exitCode }).toEqual({ a: null, b: null });
        jobA.kill('SIGTERM');
        jobB.kill('SIGTERM');
        const codes = { a: await jobA.exited, b: await jobB.exited };
        if (codes.a !== 0 || codes.b !== 0) console.error(`job A:\n${readFileSync(logA, 'utf8')}\njob B:\n${readFileSync(logB, 'utf8')}`);
        expect(codes).toEqual({ a: 0, b: 0 });
        await expectDimEqualsSource(storeUrl);
        // Both routed (each had partitions of its own), and neither failed on the other's tables.
        for (const l of [logA, logB]) expect(readFileSync(l, 'utf8')).toMatch(/routed [1-9][\d,]* records/);
        expect(said()).not.toMatch(/already exists|Error/);
      } finally {
        if (jobA.exitCode === null) jobA.kill('SIGKILL');
        if (jobB.exitCode === null) jobB.kill('SIGKILL');
        await a.query(`DELETE FROM ${T} WHERE source_table = 'comment_info'`);
        await cleanup();
      }
    }, 180_000);
  }
});
