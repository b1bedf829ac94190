/**
 * `rtwh run dim` through the real command, spawned as a user runs it (`bun cmd/main.ts run dim …`): --init-config
 * on a config database that does not exist yet, the 2023 config table end to end, --config-file CSV and JSON
 * (with a bad row rejected and the others routed), --drop-on-delete across a restart, and --cache validated at
 * the start. The input is a mock day on a sqlite bus; the config server is the real MariaDB (RTWH_TEST_MYSQL).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDimStore } from '../../src/dim/store';
import type { DimStore } from '../../src/dim/types';
import type { MysqlConn } from '../../src/store/mysql';
import { cli, tempDir } from '../helpers/cli';
import { admin, TEST_MYSQL, unique, urlFor } from '../collect/cdc/helpers';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');
let dir: string;
let busUrl: string;
let a: MysqlConn;
const dbs: string[] = [];

beforeAll(async () => {
  dir = tempDir('rtwh-run-dim-cli-');
  busUrl = `sqlite:${join(dir, 'bus.db')}`;
  const mock = await cli(['mock', 'db', '--to', 'ods_db', '--bus', busUrl, '--date', '2025-01-14', '--seed', '3', '--init'], { cwd: dir });
  expect(mock.code).toBe(0);
  a = await admin();
}, 120_000);

afterAll(async () => {
  for (const db of dbs) await a.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
  await a.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `rtwh …` in its own process, in `cwd`. */
async function rtwh(args: string[], cwd: string): Promise<Run> {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { cwd, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1', RTWH_MYSQL: undefined, RTWH_BUS: undefined } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

function work(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

async function withStore<T>(cwd: string, fn: (s: DimStore) => Promise<T>): Promise<T> {
  const s = await openDimStore(`sqlite:${join(cwd, 'dim.db')}`);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const summary = (r: Run) => JSON.parse(r.stdout) as { records: number; rules: number; rejected_rules: number; tables: Record<string, { upserts: number; deletes: number }> };

describe('rtwh run dim (spawned)', () => {
  test('--init-config on a fresh config database: creates it and the table (sink_columns VARCHAR(2000)), loads 16 rows, routes the day', async () => {
    const cfg = unique('rtwh_dimcli_cfg');
    dbs.push(cfg);
    const cwd = work('init');
    const args = ['run', 'dim', '--mysql', TEST_MYSQL, '--config-database', cfg, '--bus', busUrl, '--dim-store', 'sqlite:dim.db', '--until-idle', '--json'];
    const r = await rtwh([...args, '--init-config'], cwd);
    expect(r.stderr).toContain(`dim: config ${cfg}.table_process: added 16 standard rows`);
    expect(r.code).toBe(0);
    expect(summary(r)).toMatchObject({ rules: 16, rejected_rules: 0 });
    const [col] = await a.query<{ t: string }[]>(`SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${cfg}' AND TABLE_NAME = 'table_process' AND COLUMN_NAME = 'sink_columns'`);
    expect(col!.t).toBe('varchar(2000)');
    const [n] = await a.query<{ n: number }[]>(`SELECT COUNT(*) AS n FROM \`${cfg}\`.table_process`);
    expect(Number(n!.n)).toBe(16);
    await withStore(cwd, async (s) => {
      expect((await s.tables()).size).toBe(16);
      expect(await s.scan('dim_base_province')).toHaveLength(34);
      expect((await s.scan('dim_user_info')).length).toBeGreaterThan(100);
    });
    // Again: the rows are there already; nothing new to route.
    const again = await rtwh([...args, '--init-config'], cwd);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the standard rows are there already');
    expect(summary(again).records).toBe(0);
  }, 120_000);

  test('--config-variant 2023: the 2023 table (sink_family, sink_row_key) is created and drives the job; the other variant is refused', async () => {
    const cfg = unique('rtwh_dimcli_2023');
    dbs.push(cfg);
    const cwd = work('v2023');
    const args = ['run', 'dim', '--mysql', TEST_MYSQL, '--config-database', cfg, '--bus', busUrl, '--dim-store', 'sqlite:dim.db', '--until-idle', '--json'];
    const r = await rtwh([...args, '--init-config', '--config-variant', '2023'], cwd);
    expect(r.stderr).toContain('added 16 standard rows');
    expect(r.code).toBe(0);
    expect(summary(r)).toMatchObject({ rules: 16, rejected_rules: 0 });
    const cols = await a.query<{ c: string }[]>(`SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${cfg}' AND TABLE_NAME = 'table_process' ORDER BY ORDINAL_POSITION`);
    expect(cols.map((c) => c.c)).toEqual(['source_table', 'sink_table', 'sink_family', 'sink_columns', 'sink_row_key']);
    await withStore(cwd, async (s) => {
      // base_dic is keyed by its sink_row_key, dic_code.
      const dic = await s.scan('dim_base_dic');
      expect(dic.length).toBeGreaterThan(10);
      expect((await s.managedTables()).find((m) => m.table === 'dim_base_dic')).toEqual({ table: 'dim_base_dic', pk: 'dic_code', createdBy: 'rtwh-dim' });
      expect(await s.scan('dim_base_province')).toHaveLength(34);
    });
    // A 2023 row edited live-style between runs: its new column is added at the next start.
    await a.query(`UPDATE \`${cfg}\`.table_process SET sink_columns = 'id,tm_name,logo_url' WHERE source_table = 'base_trademark'`);
    const next = await rtwh(args, cwd);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain('dim_base_trademark: added column logo_url');
    // --init-config asking for the 2022 columns on this table is refused, naming both.
    const wrong = await rtwh([...args, '--init-config', '--config-variant', '2022'], cwd);
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain(`${cfg}.table_process on`);
    expect(wrong.stderr).toContain('not the 2022 ones (source_table, sink_table, sink_columns, sink_pk, sink_extend)');
    const bad = await rtwh([...args, '--config-variant', '2021'], cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'2021' is invalid");
  }, 120_000);

  test('--config-file CSV and JSON: the file rules route, a bad row is rejected with its reason and line, the job goes on', async () => {
    for (const kind of ['csv', 'json'] as const) {
      const cwd = work(`file-${kind}`);
      const file = join(cwd, `table_process.${kind}`);
      if (kind === 'csv') {
        writeFileSync(
          file,
          'source_table,sink_table,sink_columns,sink_pk,sink_extend\n' +
            'base_province,dim_province,"id,name,region_id",,\n' +
            'base_trademark,dim_trademark,"id,tm_name",id," SALT_BUCKETS = 2"\n' +
            'activity_info,sqlite_activity,"id,activity_name",id,\n',
        );
      } else {
        writeFileSync(
          file,
          JSON.stringify([
            { source_table: 'base_province', sink_table: 'dim_province', sink_columns: 'id,name,region_id', sink_pk: null, sink_extend: null },
            { source_table: 'base_trademark', sink_table: 'dim_trademark', sink_columns: 'id,tm_name', sink_pk: 'id', sink_extend: ' SALT_BUCKETS = 2' },
            { source_table: 'activity_info', sink_table: 'sqlite_activity', sink_columns: 'id,activity_name', sink_pk: 'id', sink_extend: null },
          ]),
        );
      }
      const r = await rtwh(['run', 'dim', '--bus', busUrl, '--dim-store', 'sqlite:dim.db', '--config-file', `table_process.${kind}`, '--until-idle', '--json'], cwd);
      expect(r.code).toBe(0);
      const where = kind === 'csv' ? 'table_process.csv line 4' : 'table_process.json element 2';
      expect(r.stderr).toContain(`dim: table_process row "activity_info" rejected: ${where}: sink_table "sqlite_activity" starts with sqlite_, which the dim store reserves for its own tables`);
      expect(r.stderr).toContain(`dim: config table_process.${kind}: 2 rules, 1 rejected`);
      expect(r.stderr).toContain('sink_extend of dim_trademark is Phoenix-only: recorded, not applied');
      const s = summary(r);
      expect(s).toMatchObject({ rules: 2, rejected_rules: 1 });
      expect(Object.keys(s.tables).sort()).toEqual(['dim_province', 'dim_trademark']);
      await withStore(cwd, async (st) => {
        expect([...(await st.tables()).keys()].sort()).toEqual(['dim_province', 'dim_trademark']);
        expect(await st.scan('dim_province')).toHaveLength(34);
        expect(Object.keys((await st.scan('dim_province'))[0]!)).toEqual(['id', 'name', 'region_id']);
      });
    }
  }, 120_000);

  test('--drop-on-delete across a restart: a row removed from the file while the job was down has its table dropped at the next start', async () => {
    const cwd = work('drop');
    const rows = (withTrademark: boolean) =>
      JSON.stringify([
        { source_table: 'base_province', sink_table: 'dim_province', sink_columns: 'id,name', sink_pk: null, sink_extend: null },
        ...(withTrademark ? [{ source_table: 'base_trademark', sink_table: 'dim_trademark', sink_columns: 'id,tm_name', sink_pk: 'id', sink_extend: null }] : []),
      ]);
    const args = ['run', 'dim', '--bus', busUrl, '--dim-store', 'sqlite:dim.db', '--config-file', 'tp.json', '--until-idle', '--drop-on-delete'];
    writeFileSync(join(cwd, 'tp.json'), rows(true));
    expect((await rtwh(args, cwd)).code).toBe(0);
    await withStore(cwd, async (s) => expect([...(await s.tables()).keys()].sort()).toEqual(['dim_province', 'dim_trademark']));
    writeFileSync(join(cwd, 'tp.json'), rows(false));
    // Without the flag the table stays; with it, it goes.
    const keep = await rtwh(args.filter((x) => x !== '--drop-on-delete'), cwd);
    expect(keep.code).toBe(0);
    expect(keep.stderr).not.toContain('dropped');
    const drop = await rtwh(args, cwd);
    expect(drop.code).toBe(0);
    expect(drop.stderr).toContain('dim: dropped dim_trademark: no table_process row names it any more');
    await withStore(cwd, async (s) => expect([...(await s.tables()).keys()]).toEqual(['dim_province']));
  }, 120_000);

  test('--cache is checked at the start: a URL that is not redis:// is an error naming it (exit 2), before anything runs', async () => {
    const cwd = work('cache');
    for (const [url, why] of [
      ['http://nope', 'the scheme is http, not redis or rediss'],
      ['not a url', 'not a URL'],
      ['redis://127.0.0.1:6379/abc', 'the path "/abc" is not a database number like /0'],
    ] as const) {
      const r = await rtwh(['run', 'dim', '--bus', busUrl, '--dim-store', 'sqlite:dim.db', '--until-idle', '--cache', url], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid --cache "${url}": ${why}; expected redis://host:port or rediss://host:port`);
      expect(r.stderr).not.toContain('routed');
    }
  }, 60_000);

  test('a wrong password for the config database or the dim store ends the job at once (exit 4), without echoing it; waiting would not fix it', async () => {
    const cwd = work('denied');
    const wrong = new URL(TEST_MYSQL);
    wrong.password = 'Wr0ng-secret';
    wrong.pathname = '/gmall';
    for (const args of [
      ['--mysql', wrong.toString(), '--dim-store', 'sqlite:dim.db'],
      ['--standard-config', '--dim-store', wrong.toString()],
    ]) {
      // (the old code retried for ever: the test's timeout ended it)
      const r = await rtwh(['run', 'dim', '--bus', busUrl, '--until-idle', ...args], cwd);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('access denied');
      expect(r.stderr).not.toContain('retrying');
      expect(r.stderr).not.toContain('Wr0ng-secret');
    }
  }, 60_000);
});
