/**
 * The MySQL-protocol DWS sink against the real MariaDB of the dev stack (RTWH_TEST_MYSQL): a run into MariaDB
 * equals the DuckDB run over the same topics, digit for digit; kill -9 during the load and a restart give the
 * tables of one clean run. And the DDL of each dialect as text (no Doris/StarRocks server here).
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';
import { ddlScript, mysqlDdl, olapDdl } from '../../src/dws/ddl';
import { prepareSession, replaceStatements } from '../../src/dws/mysql-sink';
import { DWS_TABLES, dwsTable, type DwsTable } from '../../src/dws/tables';
import { PRESET_NAMES } from '../../src/query/presets';
import { connectMysql } from '../../src/store/mysql';
import { openDuckDB } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';
import { adminConn, dropDb, TEST_MYSQL, uniqueDb, urlFor } from '../mock/db/mysql-env';

const created: string[] = [];
afterAll(async () => {
  const c = await adminConn();
  try {
    for (const db of created) await dropDb(c, db);
  } finally {
    await c.close();
  }
});
function freshDb(): string {
  const db = uniqueDb('rtwh_dws_t');
  created.push(db);
  return db;
}

/** Every row of `tables` as text lines (types normalised by the databases' own text casts), sorted. */
async function dumpMysql(url: string, tables: readonly DwsTable[]): Promise<string[]> {
  const c = await connectMysql(url);
  try {
    const out: string[] = [];
    for (const t of tables) {
      const rows = await c.query<Record<string, unknown>[]>(`SELECT ${t.columns.map((x) => `CAST(\`${x.name}\` AS CHAR) AS \`${x.name}\``).join(', ')} FROM \`${t.name}\``);
      out.push(...rows.map((r) => `${t.name}\t${JSON.stringify(t.columns.map((x) => r[x.name] ?? null))}`));
    }
    return out.sort();
  } finally {
    await c.close();
  }
}

async function dumpDuck(path: string, tables: readonly DwsTable[]): Promise<string[]> {
  const db = await openDuckDB(path, { readOnly: true });
  try {
    const out: string[] = [];
    for (const t of tables) {
      const text = (x: DwsTable['columns'][number]) => (x.type === 'TIMESTAMP' ? `strftime(${x.name}, '%Y-%m-%d %H:%M:%S')` : `CAST(${x.name} AS VARCHAR)`);
      const r = await db.query(`select ${t.columns.map(text).join(', ')} from ${t.name}`);
      out.push(...r.rows.map((row) => `${t.name}\t${JSON.stringify(row)}`));
    }
    return out.sort();
  } finally {
    db.close();
  }
}

describe('DDL per dialect', () => {
  test('doris: the aggregate-key pattern — keys first, metrics and names REPLACE, daily dynamic partitions par<yyyyMMdd>', () => {
    expect(olapDdl(dwsTable('dws_user_user_register_window')!, 'doris')).toBe(`CREATE TABLE IF NOT EXISTS \`dws_user_user_register_window\` (
  \`stt\` DATETIME NOT NULL,
  \`edt\` DATETIME NOT NULL,
  \`cur_date\` DATE NOT NULL,
  \`register_ct\` BIGINT REPLACE NULL
)
ENGINE=OLAP
AGGREGATE KEY(\`stt\`, \`edt\`, \`cur_date\`)
PARTITION BY RANGE(\`cur_date\`) ()
DISTRIBUTED BY HASH(\`stt\`) BUCKETS 10
PROPERTIES (
  "replication_num" = "1",
  "dynamic_partition.enable" = "true",
  "dynamic_partition.time_unit" = "DAY",
  "dynamic_partition.end" = "3",
  "dynamic_partition.prefix" = "par",
  "dynamic_partition.create_history_partition" = "true",
  "dynamic_partition.history_partition_num" = "400",
  "dynamic_partition.buckets" = "10"
)`);
    const sku = olapDdl(dwsTable('dws_trade_sku_order_window')!, 'doris');
    expect(sku).toContain('AGGREGATE KEY(`stt`, `edt`, `cur_date`, `sku_id`)');
    expect(sku).toContain('`sku_id` VARCHAR(255) NULL,\n  `trademark_id` VARCHAR(1024) REPLACE NULL');
    expect(sku).toContain('`order_amount` DECIMAL(16,2) REPLACE NULL\n)');
    const refund = olapDdl(dwsTable('dws_trade_trademark_category_user_refund_window')!, 'starrocks');
    expect(refund).toContain('AGGREGATE KEY(`stt`, `edt`, `cur_date`, `trademark_id`, `category1_id`, `category2_id`, `category3_id`, `user_id`)');
    expect(refund).toContain('`trademark_name` VARCHAR(1024) REPLACE NULL');
    expect(refund).not.toContain('history_partition');
    // Every key column precedes every REPLACE column, in every table.
    for (const t of DWS_TABLES) {
      const cols = olapDdl(t, 'doris').split('\n').filter((l) => /^ {2}`/.test(l));
      const firstValue = cols.findIndex((l) => l.includes(' REPLACE '));
      expect(cols.slice(firstValue === -1 ? cols.length : firstValue).every((l) => l.includes(' REPLACE '))).toBe(true);
    }
  });

  test('mysql: the identity column is the primary key; names are validated before quoting', () => {
    const ddl = mysqlDdl(dwsTable('dws_trade_province_order_window')!);
    expect(ddl).toContain('`province_id` VARCHAR(255) NULL');
    expect(ddl).toContain('`order_amount` DECIMAL(16,2) NULL');
    expect(ddl).toContain('PRIMARY KEY (`rtwh_key`)');
    expect(ddlScript(DWS_TABLES, 'mysql').match(/CREATE TABLE/g)!.length).toBe(12);
    expect(() => mysqlDdl({ name: 'x`; drop table y', columns: [] })).toThrow(/invalid identifier/);
    expect(() => replaceStatements(dwsTable('dws_user_user_register_window')!, [{ stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', register_ct: '1; drop table x' }])).toThrow(
      /register_ct: expected a whole number/,
    );
    const [stmt] = replaceStatements(dwsTable('dws_trade_province_order_window')!, [{ stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', province_id: "1'\\", province_name: null, order_count: '2', order_amount: '12345678901234.57' }]);
    expect(stmt).toContain("'1\\'\\\\'");
    expect(stmt).toContain(', 2, 12345678901234.57, ');
  });

  test('rtwh run dws --print-ddl, --dialect; Doris is not loaded; the password is never printed', async () => {
    const doris = await cli(['run', 'dws', '--dialect', 'doris', '--print-ddl']);
    expect(doris.code).toBe(0);
    expect(doris.stdout.match(/AGGREGATE KEY\(/g)!.length).toBe(11);
    const one = await cli(['run', 'dws', 'user_register', '--dialect', 'starrocks', '--print-ddl']);
    expect(one.stdout).toBe(`${olapDdl(dwsTable('dws_user_user_register_window')!, 'starrocks')};\n`);
    const duck = await cli(['run', 'dws', 'user_register', '--print-ddl']);
    expect(duck.stdout).toContain('register_ct BIGINT');
    const load = await cli(['run', 'dws', '--sink', 'mysql://root:s3cr3t-pw@127.0.0.1:1/x', '--dialect', 'doris']);
    expect(load.code).toBe(3);
    expect(load.stderr).toContain('loading Doris is not built');
    expect(await cli(['run', 'dws', '--dialect', 'mysql'])).toMatchObject({ code: 2 });
    const bad = await cli(['run', 'dws', '--sink', 'mysql://root:s3cr3t-pw@127.0.0.1:1/x', '--until-idle'], { env: { RTWH_BUS: `sqlite:${join(tempDir(), 'b.db')}` } });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('127.0.0.1:1');
    expect(bad.stdout + bad.stderr).not.toContain('s3cr3t-pw');
    // Without --until-idle the jobs would follow their topics forever: the sink's failure stops them (AbortSignal).
    const following = await cli(['run', 'dws', '--sink', 'mysql://root:s3cr3t-pw@127.0.0.1:1/x'], { env: { RTWH_BUS: `sqlite:${join(tempDir(), 'b.db')}` } });
    expect(following.code).toBe(4);
    expect(following.stderr).toContain('cannot reach MySQL at 127.0.0.1:1');
    expect(following.stderr).toMatch(/processed 0 records/);
    const badUrl = await cli(['run', 'dws', '--sink', 'postgres://u:s3cr3t-pw@h/db']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).not.toContain('s3cr3t-pw');
  }, 60_000);
});

describe('rtwh run dws --sink mysql:// (MariaDB)', () => {
  test('a value from the data stays a value when the server runs NO_BACKSLASH_ESCAPES', async () => {
    const db = freshDb();
    const admin = await adminConn();
    try {
      await admin.query(`CREATE DATABASE \`${db}\``);
    } finally {
      await admin.close();
    }
    const c = await connectMysql(urlFor(db));
    try {
      // what a server with NO_BACKSLASH_ESCAPES in its global sql_mode gives every new session
      await c.query(`SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'`);
      await prepareSession(c);
      const t = dwsTable('dws_traffic_vc_ch_ar_is_new_page_view_window')!;
      await c.query(mysqlDdl(t));
      // an app's channel that closes its quote under NO_BACKSLASH_ESCAPES and writes @@version into ar
      const ch = "x\\', @@version, 0x30, 1, 1, 1, 6957, 0x6b) #";
      const row = { stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', vc: 'v1', ch, ar: '110000', is_new: '0', uv_ct: '1', sv_ct: '1', pv_ct: '1', dur_sum: '6957' };
      for (const s of replaceStatements(t, [row])) await c.query(s);
      const rows = await c.query<{ ch: string; ar: string; is_new: string }[]>(`SELECT ch, ar, is_new FROM \`${t.name}\``);
      expect(rows).toEqual([{ ch, ar: '110000', is_new: '0' }]);
    } finally {
      await c.close();
    }
  });

  test('loads every table equal to the DuckDB run over the same topics; a second run replaces, never doubles', async () => {
    const dir = tempDir('rtwh-dws-mysql-');
    const demo = await cli(['demo', '--dir', 'd', '--seed', '5'], { cwd: dir });
    expect(demo.code).toBe(0);
    const cwd = join(dir, 'd');
    const url = urlFor(freshDb());
    const r = await cli(['run', 'dws', '--until-idle', '--sink', url], { cwd });
    expect(r.stderr).toContain('loaded ');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain(new URL(TEST_MYSQL).password || '\u0000none');
    const duck = await dumpDuck(join(cwd, '.rtwh', 'warehouse.duckdb'), DWS_TABLES);
    expect(duck.length).toBeGreaterThan(1000);
    const maria = await dumpMysql(url, DWS_TABLES);
    expect(maria).toEqual(duck);
    // rtwh query --sink mysql://…: every preset answers exactly as over the DuckDB warehouse (same output text).
    expect(PRESET_NAMES.length).toBeGreaterThanOrEqual(11);
    for (const preset of PRESET_NAMES) {
      const fromDuck = await cli(['query', '--preset', preset, '--date', '2025-01-14', '-f', 'json'], { cwd });
      const fromMaria = await cli(['query', '--preset', preset, '--date', '2025-01-14', '-f', 'json', '--sink', url], { cwd });
      expect({ preset, code: fromMaria.code, stderr: fromMaria.stderr, stdout: fromMaria.stdout }).toEqual({ preset, code: 0, stderr: '', stdout: fromDuck.stdout });
    }
    const sqlText = 'select count(*) as n, sum(order_amount) as gmv from dws_trade_sku_order_window';
    const viaSql = await cli(['query', sqlText, '--sink', url, '-f', 'json'], { cwd });
    expect(viaSql.code).toBe(0);
    expect(viaSql.stdout).toBe((await cli(['query', sqlText, '-f', 'json'], { cwd })).stdout);
    // Writes are refused before they reach the server.
    for (const w of ['delete from dws_trade_sku_order_window', 'drop table dws_trade_sku_order_window', 'create table t (a int)']) {
      const r = await cli(['query', w, '--sink', url], { cwd });
      expect({ w, code: r.code }).toEqual({ w, code: 7 });
    }
    expect((await dumpMysql(url, DWS_TABLES)).length).toBe(duck.length);
    // Forget the offsets: every record is loaded again and replaces its own row.
    const c = await connectMysql(url);
    try {
      await c.query('DELETE FROM rtwh_sink_offsets');
    } finally {
      await c.close();
    }
    expect((await cli(['run', 'dws', '--until-idle', '--sink', url], { cwd })).code).toBe(0);
    expect(await dumpMysql(url, DWS_TABLES)).toEqual(duck);
  }, 180_000);

  test('kill -9 of the loading process at random points, then a run to the end = one clean run', async () => {
    const dir = tempDir('rtwh-dws-mysql-kill-');
    const busUrl = `sqlite:${join(dir, 'bus.db')}`;
    const tables = DWS_TABLES.slice(0, 2);
    const stt = (i: number) => {
      const s = new Date(Date.UTC(2025, 0, 14, 0, 0, 0) + Math.floor(i / 20) * 10_000).toISOString();
      return `${s.slice(0, 10)} ${s.slice(11, 19)}`;
    };
    const bus: Bus = await openBus(busUrl);
    try {
      const p = await bus.producer();
      const vc = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ stt: stt(i), edt: stt(i + 20), cur_date: stt(i).slice(0, 10), vc: `v${i % 20}`, ch: 'xiaomi', ar: i % 3 === 0 ? null : '11', is_new: '1', uv_ct: 1, sv_ct: 0, pv_ct: i % 7, dur_sum: 1000 + i }));
      // Some identities repeat with new values (a replay): the last one wins.
      const kw = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ stt: stt(i % 4000), edt: stt((i % 4000) + 20), cur_date: '2025-01-14', source: 'search', keyword: `词${i % 20}`, keyword_count: i }));
      for (const [topic, values] of [[tables[1]!.name, vc], [tables[0]!.name, kw]] as const) {
        for (let i = 0; i < values.length; i += 1000) await p.send(topic, values.slice(i, i + 1000).map((value) => ({ key: null, value })));
      }
      await p.close();
    } finally {
      await bus.close();
    }
    const child = (target: { mysql?: string; path?: string }, untilIdle: boolean) =>
      Bun.spawn([process.execPath, join(import.meta.dir, 'sink-child.ts'), JSON.stringify({ bus: busUrl, ...target, batch: 300, untilIdle })], { stdout: 'pipe', stderr: 'pipe' });
    const cleanUrl = urlFor(freshDb());
    const ok = child({ mysql: cleanUrl }, true);
    expect(await ok.exited).toBe(0);
    const clean = await dumpMysql(cleanUrl, tables);
    expect(clean.length).toBe(30_000 + 4000);
    // The same as DuckDB over the same records.
    const duckPath = join(dir, 'w.duckdb');
    expect(await child({ path: duckPath }, true).exited).toBe(0);
    expect(await dumpDuck(duckPath, tables)).toEqual(clean);

    const killedUrl = urlFor(freshDb());
    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const c = child({ mysql: killedUrl }, false);
      await Bun.sleep(300 + Math.floor(Math.random() * 900));
      c.kill('SIGKILL');
      await c.exited;
      kills++;
    }
    const last = child({ mysql: killedUrl }, true);
    expect(await last.exited).toBe(0);
    expect(kills).toBe(6);
    const loaded = Number((await new Response(last.stdout).text()).trim());
    expect(loaded).toBeLessThan(36_000); // the killed runs loaded part of it
    expect(await dumpMysql(killedUrl, tables)).toEqual(clean);
  }, 180_000);
});
