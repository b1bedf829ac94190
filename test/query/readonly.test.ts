/**
 * The read-only rule of `rtwh query` (src/store/duckdb.ts nonRead, src/query/run.ts writeRefused): only plain reads
 * run without --allow-write. Session changes (SET, PRAGMA, transactions) and functions that change something from
 * inside a SELECT (checkpoint(), nextval()) are refused, naming the statement, its kind and the flag; classifying
 * runs nothing. Through a running dws job: test/query/endpoint.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { catalog, RtwhError } from '../../src/errors';
import { bindPreset, PRESETS } from '../../src/query/presets';
import { writeRefused } from '../../src/query/run';
import { nonRead, openDuckDB, type DuckStore } from '../../src/store/duckdb';
import { DWS_TABLES, duckdbDdl } from '../../src/dws/tables';
import { cli, tempDir } from '../helpers/cli';

let db: DuckStore;
beforeAll(async () => {
  db = await openDuckDB(':memory:');
  await db.query('create table t(a int); insert into t values (1); create sequence s');
});
afterAll(() => db.close());

const READS = [
  'select 1',
  'SELECT * FROM t WHERE a > 0',
  'from t',
  'values (1), (2)',
  'table t',
  '(select 1) union all (select 2)',
  'with x as (select 1 as a) select * from x',
  'show tables',
  'show t',
  'describe t',
  'desc t',
  'summarize t',
  'pivot t on a in (1, 2)',
  'explain select * from t',
  'explain analyze select * from t',
  'explain (format json) select 1',
  'call pragma_version()',
  "select * from pragma_table_info('t')",
  "select 'insert into t values (1); set threads = 1' as \"delete\"",
  'select update_time, created_by from (select 1 as update_time, 2 as created_by)',
  '-- only a comment',
  'select 1; -- trailing comment',
  'select 1; select 2',
  "select * from read_csv('/nonexistent/x.csv')",
];

/** [sql, the kind the error names, a piece of its reason (or undefined)] */
const REFUSED: [string, string, string | undefined][] = [
  ['SET threads=1', 'SET', undefined],
  ['set variable x = 1', 'SET', undefined],
  ['reset threads', 'SET (RESET)', undefined],
  ['use memory', 'SET (USE)', undefined],
  ['PRAGMA force_checkpoint', 'PRAGMA', undefined],
  ["pragma table_info('t')", 'PRAGMA', undefined],
  ['pragma enable_profiling', 'PRAGMA', undefined],
  ['BEGIN', 'TRANSACTION (BEGIN)', undefined],
  ['begin transaction; select 1; commit', 'TRANSACTION (BEGIN)', undefined],
  ['commit', 'TRANSACTION (COMMIT)', undefined],
  ['rollback', 'TRANSACTION (ROLLBACK)', undefined],
  ['checkpoint', 'CALL (CHECKPOINT)', undefined],
  ['force checkpoint', 'CALL (FORCE)', undefined],
  ['select * from checkpoint()', 'SELECT', 'checkpoint()'],
  ['select * from force_checkpoint()', 'SELECT', 'force_checkpoint()'],
  ['call checkpoint()', 'CALL', 'checkpoint()'],
  ["select nextval('s')", 'SELECT', 'nextval()'],
  ["select \"NEXTVAL\"('s')", 'SELECT', 'nextval()'],
  ["select a from t where a < (select nextval('s'))", 'SELECT', 'nextval()'],
  ["with x as (select nextval('s') as n) select * from x", 'SELECT', 'nextval()'],
  ['select setseed(0.5)', 'SELECT', 'setseed()'],
  ["select * from query('select 1')", 'SELECT', 'query()'],
  ['call enable_logging()', 'CALL', 'enable_logging()'],
  ['select * from truncate_duckdb_logs()', 'SELECT', 'truncate_duckdb_logs()'],
  ['select 1; set threads = 1', 'SET', undefined],
  ['insert into t values (2)', 'INSERT', undefined],
  ['INSERT INTO missing_table VALUES (1)', 'INSERT', undefined],
  ['with x as (select 1 as a) insert into missing_table select * from x', 'INSERT (WITH)', undefined],
  ['update t set a = 2', 'UPDATE', undefined],
  ['delete from t', 'DELETE', undefined],
  ['truncate t', 'DELETE (TRUNCATE)', undefined],
  ['create table u(x int)', 'CREATE', undefined],
  ['create temp table u(x int)', 'CREATE', undefined],
  ['drop table t', 'DROP', undefined],
  ['alter table t add column b int', 'ALTER', undefined],
  ["copy t to '/tmp/rtwh-never.csv'", 'COPY', undefined],
  ["attach ':memory:' as other", 'ATTACH', undefined],
  ['detach other', 'DETACH', undefined],
  ['install httpfs', 'LOAD (INSTALL)', undefined],
  ['load json', 'LOAD', undefined],
  ['vacuum', 'VACUUM', undefined],
  ['analyze', 'VACUUM (ANALYZE)', undefined],
  ['prepare p as select 1', 'PREPARE', undefined],
  ['execute p', 'EXECUTE', undefined],
  ['explain analyze insert into t values (3)', 'EXPLAIN of INSERT', undefined],
  ["explain analyze select nextval('s')", 'EXPLAIN of SELECT', 'nextval()'],
  ['pivot t on a', 'PIVOT', 'IN list'],
  ['/* a comment; with a semicolon */ delete from t', 'DELETE', undefined],
];

describe('nonRead: only plain reads pass', () => {
  test.each(READS)('read: %s', async (sql) => {
    expect(await db.nonRead(sql)).toBeUndefined();
  });

  test.each(REFUSED)('refused: %s → %s', async (sql, kind, reason) => {
    const found = await db.nonRead(sql);
    expect(found?.kind).toBe(kind);
    if (reason === undefined) expect(found?.reason).toBeUndefined();
    else expect(found?.reason).toContain(reason);
  });

  test('classifying runs nothing: no sequence advanced, no setting changed, no row written, no transaction open', async () => {
    const threads = (await db.query("select current_setting('threads') as t")).rows;
    for (const [sql] of REFUSED) await db.nonRead(sql);
    expect((await db.query("select current_setting('threads') as t")).rows).toEqual(threads);
    // nextval never ran in this session: currval has nothing to say yet.
    await expect(db.query("select currval('s')")).rejects.toThrow('not yet defined');
    expect((await db.query('select count(*) as n, max(a) as m from t')).rows).toEqual([[1n, 1]]);
    expect((await db.query("select count(*) from duckdb_tables() where table_name = 'u'")).rows).toEqual([[0n]]);
    // No transaction was left open by 'BEGIN': a COMMIT now would fail.
    await expect(db.query('commit')).rejects.toThrow(/no transaction/i);
  });

  test('a syntax error is QUERY_FAILED, not a refusal', async () => {
    const e = await db.nonRead('selec 1').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RtwhError);
    expect((e as RtwhError).code).toBe('QUERY_FAILED');
  });

  test('every ADS preset is a plain read (the endpoint checks them like any SQL)', async () => {
    const w = await openDuckDB(':memory:');
    try {
      for (const t of DWS_TABLES) await w.query(duckdbDdl(t));
      for (const p of PRESETS) {
        const { sql } = bindPreset(p.name, { date: '2025-01-14', top: p.top ? 3 : undefined });
        expect({ preset: p.name, nonRead: await w.nonRead(sql) }).toEqual({ preset: p.name, nonRead: undefined });
      }
    } finally {
      w.close();
    }
  });

  test('standalone nonRead (SQL for another database, tables unknown): the parse tree decides', async () => {
    expect(await nonRead('select * from dws_trade_order_window')).toBeUndefined();
    expect(await nonRead('show tables')).toBeUndefined();
    expect((await nonRead('insert into dws_trade_order_window values (1)'))?.kind).toBe('INSERT');
    expect((await nonRead('SET GLOBAL max_connections = 1'))?.kind).toBe('SET');
    expect((await nonRead("select nextval('seq_from_elsewhere')"))?.reason).toContain('nextval()');
  });
});

describe('writeRefused: one catalog error naming the statement, its kind and the flag', () => {
  test('code, exit code, message, hint, details', async () => {
    const e = writeRefused((await db.nonRead("select 1; select nextval('s')"))!);
    expect(e.code).toBe('QUERY_WRITE_REFUSED');
    expect(e.exitCode).toBe(catalog.QUERY_WRITE_REFUSED.exit);
    expect(e.exitCode).toBe(7);
    expect(e.hint).toBe(catalog.QUERY_WRITE_REFUSED.hint);
    expect(e.message).toBe(
      `refusing "select nextval('s')", a SELECT statement (it calls nextval(), which advances a sequence): rtwh query runs only plain reads (SELECT, WITH, FROM, VALUES, TABLE, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN) unless --allow-write`,
    );
    expect(e.details).toEqual({ kind: 'SELECT', statement: "select nextval('s')", reason: 'it calls nextval(), which advances a sequence' });
    expect(writeRefused({ kind: 'INSERT', statement: 'insert\n  into t values (1)' }).message).toStartWith('refusing "insert into t values (1)", an INSERT statement:');
    expect(writeRefused({ kind: 'SET', statement: `select ${'x'.repeat(300)}` }).message).toContain(`"select ${'x'.repeat(92)}…"`);
  });
});

describe('rtwh query on a warehouse file', () => {
  let cwd: string;
  let file: string;
  beforeAll(async () => {
    cwd = tempDir('rtwh-query-readonly-');
    file = join(cwd, 'w.duckdb');
    const w = await openDuckDB(file);
    await w.query('create table t(a int); insert into t values (1); create sequence s');
    w.close();
  });

  test.each([
    ['SET threads=1', 'a SET statement'],
    ['PRAGMA force_checkpoint', 'a PRAGMA statement'],
    ['BEGIN', 'a TRANSACTION (BEGIN) statement'],
    ['select * from checkpoint()', 'it calls checkpoint()'],
    ["select nextval('s')", 'it calls nextval()'],
  ])('%s is refused (exit 7), naming the kind and --allow-write', async (sql, says) => {
    const r = await cli(['query', sql, '--duckdb', file], { cwd });
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`refusing ${JSON.stringify(sql)}`);
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain('unless --allow-write');
    expect(r.stderr).toContain(`hint: ${catalog.QUERY_WRITE_REFUSED.hint}`);
    const json = await cli(['query', sql, '--duckdb', file, '--json'], { cwd });
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'QUERY_WRITE_REFUSED', exit: 7, hint: catalog.QUERY_WRITE_REFUSED.hint });
  });

  test('--allow-write runs them', async () => {
    const r = await cli(['query', "select nextval('s') as n", '--duckdb', file, '--allow-write', '-f', 'csv'], { cwd });
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: '', stdout: 'n\n1\n' });
    expect((await cli(['query', 'SET threads=1', '--duckdb', file, '--allow-write'], { cwd })).code).toBe(0);
  });
});

describe('rtwh query --sink mysql://…: checked before anything is sent', () => {
  // Port 1 on loopback: nothing listens, so an answer other than the refusal would be a connection error.
  const sink = 'mysql://u:p@127.0.0.1:1/gmall_dws';

  test.each([
    ['SET GLOBAL max_connections = 1', 'a SET statement'],
    ['BEGIN', 'a TRANSACTION (BEGIN) statement'],
    ['delete from dws_trade_order_window', 'a DELETE statement'],
    ["select nextval('s')", 'it calls nextval()'],
  ])('%s is refused without connecting', async (sql, says) => {
    const r = await cli(['query', sql, '--sink', sink]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain('unless --allow-write');
  });

  test("SQL DuckDB's parser cannot read is refused, saying so", async () => {
    const r = await cli(['query', 'select `a` from t limit 1, 2', '--sink', sink]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("an UNKNOWN statement (DuckDB's parser, which checks that it only reads, does not read it:");
  });

  test('a plain read gets as far as connecting', async () => {
    const r = await cli(['query', 'select 1', '--sink', sink]);
    expect(r.code).toBe(4);
  });
});
