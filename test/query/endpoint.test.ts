/**
 * `rtwh query` while a real `rtwh run dws` (no --until-idle) holds the warehouse: the answers come from the job
 * over its 127.0.0.1 endpoint and equal the answers read from the file after the job stops.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeCell, encodeCell, endpointFile, lockHolder, type EndpointInfo } from '../../src/query/endpoint';
import { ExactDecimal, type Cell } from '../../src/output/result';
import { cli, tempDir } from '../helpers/cli';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');
const DATE = '2025-01-14';

/** Queries whose output must be the same through the job and from the file: presets and SQL, every format. */
const QUERIES: string[][] = [
  ['--preset', 'gmv', '--date', DATE],
  ['--preset', 'gmv_by_province', '--date', DATE, '--top', '5', '-f', 'json'],
  ['--preset', 'gmv_by_trademark', '--date', DATE, '-f', 'csv'],
  ['--preset', 'traffic_hourly', '--date', DATE, '-f', 'markdown'],
  ['--preset', 'user_counts', '--date', DATE, '-f', 'jsonl'],
  ['--preset', 'channel_top', '--date', DATE, '--top', '3'],
  ['select sum(order_amount) as gmv, count(*) as n, max(stt) as last from dws_trade_sku_order_window', '-f', 'json'],
  ['select 12345678901234.57::DECIMAL(16,2) as d, 170141183460469231731687303715884105727::HUGEINT as h, 9007199254740993::BIGINT as b, \'nan\'::DOUBLE as x, [1.5::DECIMAL(4,1)] as l, {\'k\': 2::BIGINT} as s', '-f', 'jsonl'],
  ['select province_name, order_amount from dws_trade_province_order_window order by all limit 5'],
];

async function waitFor<T>(what: string, f: () => T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe('rtwh query through a running dws job', () => {
  test('typed cells survive the wire: bigints, decimals, NaN, nested values', () => {
    const cells: Cell[] = [null, true, 1.25, 'x', 2n ** 70n, new ExactDecimal('-0.10'), NaN, -Infinity, [1n, new ExactDecimal('2.50')], { a: { b: [null, 'y'] }, $: 'obj' }];
    const back = cells.map((c) => decodeCell(JSON.parse(JSON.stringify(encodeCell(c)))));
    expect(back).toEqual(cells);
    expect(back[5]).toBeInstanceOf(ExactDecimal);
    expect(lockHolder('IO Error: Could not set lock on file "/x/w.duckdb": Conflicting lock is held in /usr/bin/bun (PID 4242). See also …')).toEqual({ pid: 4242, exe: '/usr/bin/bun' });
    expect(lockHolder('IO Error: No such file')).toBeUndefined();
  });

  test('presets and SQL answered by the job equal the answers from the file after it stops; all but plain reads and wrong tokens refused; --allow-write runs on the job; 127.0.0.1 only', async () => {
    const dir = tempDir('rtwh-query-endpoint-');
    const demo = await cli(['demo', '--dir', 'd', '--seed', '3'], { cwd: dir });
    expect(demo.code).toBe(0);
    const cwd = join(dir, 'd');
    const warehouse = join(cwd, '.rtwh', 'warehouse.duckdb');
    const file = endpointFile(warehouse);
    expect(existsSync(file)).toBe(false);

    const job = Bun.spawn([process.execPath, MAIN, 'run', 'dws'], { cwd, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
    let through: { code: number; stdout: string; stderr: string }[];
    try {
      const info = await waitFor('the endpoint file', () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as EndpointInfo) : undefined));
      expect(info.pid).toBe(job.pid);
      expect(info.bind).toBe('127.0.0.1');
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // The file is held: opening it directly fails, so every answer below came through the job.
      through = [];
      for (const argv of QUERIES) through.push(await cli(['query', ...argv], { cwd }));
      for (const [i, r] of through.entries()) {
        expect({ i, code: r.code, stderr: r.stderr }).toEqual({ i, code: 0, stderr: '' });
        expect(r.stdout.length).toBeGreaterThan(0);
      }
      expect(through[0]!.stdout).toMatch(/\d+\.\d\d/);

      // A write is refused by the job (exit 7) and nothing changed.
      const write = await cli(['query', 'create table t_should_not_exist (a int)'], { cwd });
      expect(write.code).toBe(7);
      expect(write.stderr).toContain('refusing "create table t_should_not_exist (a int)", a CREATE statement');
      const del = await cli(['query', 'delete from dws_trade_sku_order_window'], { cwd });
      expect(del.code).toBe(7);

      // So is anything else but a plain read: on the job's connection a SET, PRAGMA, transaction or checkpoint()
      // would change the running sink's database. The job's settings stay as they were.
      const setting = "select current_setting('threads') as threads, current_setting('memory_limit') as mem";
      const before = await cli(['query', setting, '-f', 'csv'], { cwd });
      expect(before.code).toBe(0);
      for (const [sql, says] of [
        ['SET threads=1', 'a SET statement'],
        ["SET memory_limit='64MB'", 'a SET statement'],
        ['PRAGMA force_checkpoint', 'a PRAGMA statement'],
        ['BEGIN', 'a TRANSACTION (BEGIN) statement'],
        ['checkpoint', 'a CALL (CHECKPOINT) statement'],
        ['select * from checkpoint()', 'it calls checkpoint()'],
        ["select nextval('s')", 'it calls nextval()'],
      ] as const) {
        const r = await cli(['query', sql, '--json'], { cwd });
        expect({ sql, code: r.code }).toEqual({ sql, code: 7 });
        const e = JSON.parse(r.stderr).error as { code: string; message: string; hint: string; details: { kind: string; endpoint: string } };
        expect(e.code).toBe('QUERY_WRITE_REFUSED');
        expect(e.message).toContain(says);
        expect(e.message).toContain('unless --allow-write');
        expect(e.hint).toContain('--allow-write');
      }
      expect((await cli(['query', setting, '-f', 'csv'], { cwd })).stdout).toBe(before.stdout);

      // A wrong (or missing) token is refused, and runs nothing.
      const url = `http://127.0.0.1:${info.port}/query`;
      const bad = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer not-the-token' }, body: JSON.stringify({ sql: 'select 1' }) });
      expect(bad.status).toBe(401);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('wrong bearer token');
      expect((await fetch(url, { method: 'POST', body: JSON.stringify({ sql: 'select 1' }) })).status).toBe(401);
      const good = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${info.token}` }, body: JSON.stringify({ sql: 'select 42::BIGINT as a' }) });
      expect(await good.json()).toEqual({ columns: [{ name: 'a', type: 'BIGINT' }], rows: [[{ $: 'big', v: '42' }]] });
      // The job itself refuses (a client that skips its own check gets the same answer), and says why.
      const set = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${info.token}` }, body: JSON.stringify({ sql: 'SET threads=1' }) });
      expect(set.status).toBe(403);
      expect(((await set.json()) as { error: { code: string; details: unknown } }).error).toMatchObject({ code: 'QUERY_WRITE_REFUSED', details: { kind: 'SET', statement: 'SET threads=1' } });
      const classify = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${info.token}` }, body: JSON.stringify({ sql: 'select 1; begin', classify: true }) });
      expect(await classify.json()).toEqual({ nonRead: { kind: 'TRANSACTION (BEGIN)', statement: 'begin' } });

      // --allow-write goes through the job too: it runs on the job's connection, and the table is there later.
      const allowed = await cli(['query', '--allow-write', 'create table t_allowed as select 42 as x'], { cwd });
      expect({ code: allowed.code, stderr: allowed.stderr }).toEqual({ code: 0, stderr: '' });
      expect((await cli(['query', 'select x from t_allowed', '-f', 'csv'], { cwd })).stdout).toBe('x\n42\n');

      // Bound to 127.0.0.1 only: the same port on any other address of this machine refuses the connection.
      const others = ['127.0.0.2', ...Object.values(networkInterfaces()).flatMap((xs) => (xs ?? []).filter((x) => x.family === 'IPv4' && !x.internal).map((x) => x.address))];
      for (const host of others) {
        const r = await fetch(`http://${host}:${info.port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
          (res) => `answered ${res.status}`,
          (e: Error) => `refused: ${e.message}`,
        );
        expect(`${host}: ${r}`).toStartWith(`${host}: refused`);
      }
    } finally {
      job.kill('SIGTERM');
    }
    expect(await job.exited).toBe(0);
    // A clean exit removes the endpoint file; the same queries now read the file itself.
    expect(existsSync(file)).toBe(false);
    for (const [i, argv] of QUERIES.entries()) {
      const local = await cli(['query', ...argv], { cwd });
      expect({ argv, code: local.code, stdout: local.stdout }).toEqual({ argv, code: 0, stdout: through![i]!.stdout });
    }
    expect((await cli(['query', "select count(*) as n from duckdb_tables() where table_name = 't_should_not_exist'", '-f', 'csv'], { cwd })).stdout).toBe('n\n0\n');
    expect((await cli(['query', 'select x from t_allowed', '-f', 'csv'], { cwd })).stdout).toBe('x\n42\n');
  }, 120_000);

  test('a holder without an endpoint, and a stale endpoint file, are named clearly', async () => {
    const dir = tempDir('rtwh-query-endpoint-');
    const warehouse = join(dir, '.rtwh', 'warehouse.duckdb');
    // A process that holds the file and serves nothing (like a second tool with the file open).
    const holder = Bun.spawn(
      [process.execPath, '-e', `const { openDuckDB } = await import(${JSON.stringify(resolve(import.meta.dir, '../../src/store/duckdb.ts'))}); require('node:fs').mkdirSync(${JSON.stringify(join(dir, '.rtwh'))}, { recursive: true }); const db = await openDuckDB(${JSON.stringify(warehouse)}); await db.query('create table a (x int)'); console.log('ready'); await Bun.sleep(60000);`],
      { stdout: 'pipe', stderr: 'inherit' },
    );
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('ready');
      const none = await cli(['query', 'select 1'], { cwd: dir });
      expect(none.code).toBe(4);
      expect(none.stderr).toContain(`locked by process ${holder.pid}`);
      expect(none.stderr).toContain(`there is no "${endpointFile(warehouse)}"`);

      // A file left by a job that was killed: its process is gone.
      const gone = Bun.spawnSync([process.execPath, '-e', 'process.exit(0)']).pid;
      writeFileSync(endpointFile(warehouse), JSON.stringify({ pid: gone, bind: '127.0.0.1', port: 9, token: 'x', warehouse, started: '' }), { mode: 0o600 });
      const stale = await cli(['query', '--preset', 'gmv', '--date', DATE], { cwd: dir });
      expect(stale.code).toBe(4);
      expect(stale.stderr).toContain(`stale query endpoint file "${endpointFile(warehouse)}"`);
      expect(stale.stderr).toContain(`process ${gone}, which is gone`);
      expect(stale.stderr).toContain(`locked by process ${holder.pid}`);

      // A file naming a live process that is not the holder (this test runner) is stale too.
      writeFileSync(endpointFile(warehouse), JSON.stringify({ pid: process.pid, bind: '127.0.0.1', port: 9, token: 'x', warehouse, started: '' }), { mode: 0o600 });
      const other = await cli(['query', 'select 1'], { cwd: dir });
      expect(other.code).toBe(4);
      expect(other.stderr).toContain(`process ${process.pid}, which does not hold the warehouse`);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  }, 60_000);
});
