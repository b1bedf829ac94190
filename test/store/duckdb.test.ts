import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtwhError } from '../../src/errors.ts';
import { ExactDecimal } from '../../src/output/result.ts';
import { nonRead, openDuckDB, type DuckStore } from '../../src/store/duckdb.ts';

const isWriteStatement = async (sql: string) => (await nonRead(sql)) !== undefined;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtwh-duckdb-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function withMemory<T>(fn: (db: DuckStore) => Promise<T>): Promise<T> {
  const db = await openDuckDB(':memory:');
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

describe('query', () => {
  test('select 42: column names, SQL types and rows', async () => {
    const r = await withMemory((db) => db.query('select 42 as answer, \'hi\' as greeting'));
    expect(r.columns).toEqual([
      { name: 'answer', type: 'INTEGER' },
      { name: 'greeting', type: 'VARCHAR' },
    ]);
    expect(r.rows).toEqual([[42, 'hi']]);
  });

  test('several statements: the last one is the result', async () => {
    const r = await withMemory((db) => db.query('create table t(a int); insert into t values (1), (2); select sum(a) as s from t'));
    expect(r.rows).toEqual([[3n]]);
  });

  test('BIGINT and HUGEINT stay exact as bigint', async () => {
    const r = await withMemory((db) =>
      db.query('select 9007199254740993::bigint as b, 170141183460469231731687303715884105727::hugeint as h, (-9223372036854775808)::bigint as m'),
    );
    expect(r.rows[0]).toEqual([9007199254740993n, 170141183460469231731687303715884105727n, -9223372036854775808n]);
  });

  test('DECIMAL stays exact as ExactDecimal text, scale kept', async () => {
    const r = await withMemory((db) =>
      db.query('select 123456789012345678.123456789::decimal(38,9) as d, 0.5::decimal(3,2) as half, -0.01::decimal(5,2) as neg'),
    );
    expect(r.columns.map((c) => c.type)).toEqual(['DECIMAL(38,9)', 'DECIMAL(3,2)', 'DECIMAL(5,2)']);
    const [d, half, neg] = r.rows[0] ?? [];
    expect(d).toBeInstanceOf(ExactDecimal);
    expect(String(d)).toBe('123456789012345678.123456789');
    expect(String(half)).toBe('0.50');
    expect(String(neg)).toBe('-0.01');
  });

  test('sum over DECIMAL money does not drift', async () => {
    const r = await withMemory((db) =>
      db.query("select sum(x) as total from (select '0.10'::decimal(18,2) as x from range(1000000))"),
    );
    expect(String(r.rows[0]?.[0])).toBe('100000.00');
  });

  test('NULL, booleans, dates, nested types, FLOAT printed as typed', async () => {
    const r = await withMemory((db) =>
      db.query(
        "select null::int as n, true as ok, date '2024-01-02' as d, timestamp '2024-01-02 03:04:05.5' as ts, [1, 2] as l, {'a': 1, 'b': 'x'} as st, map {'k': 2.5::decimal(4,1)} as m, 0.1::float as f, [0.1::float] as fl",
      ),
    );
    const [n, ok, d, ts, l, st, m, f, fl] = r.rows[0] ?? [];
    expect(n).toBeNull();
    expect(ok).toBe(true);
    expect(d).toBe('2024-01-02');
    expect(ts).toBe('2024-01-02 03:04:05.5');
    expect(l).toEqual([1, 2]);
    expect(st).toEqual({ a: 1, b: 'x' });
    expect(m).toEqual({ k: new ExactDecimal('2.5') });
    expect(f).toBe(0.1);
    expect(fl).toEqual([0.1]);
  });

  test('a bad query is QUERY_FAILED with DuckDB\'s message', async () => {
    const e = await withMemory((db) => db.query('select * from no_such_table')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RtwhError);
    expect((e as RtwhError).code).toBe('QUERY_FAILED');
    expect((e as RtwhError).message).toContain('no_such_table');
  });

  test('close is idempotent and a closed store refuses queries', async () => {
    const db = await openDuckDB(':memory:');
    db.close();
    db.close();
    expect(db.query('select 1')).rejects.toThrow('after close');
  });
});

describe('files', () => {
  test('a file database keeps its data across opens', async () => {
    const path = join(dir, 'keep.duckdb');
    const w = await openDuckDB(path);
    await w.query("create table dws_x(k varchar, v bigint); insert into dws_x values ('a', 9007199254740993)");
    w.close();
    const r = await openDuckDB(path, { readOnly: true });
    try {
      expect((await r.query('select * from dws_x')).rows).toEqual([['a', 9007199254740993n]]);
    } finally {
      r.close();
    }
  });

  test('read-only open: reads work, DuckDB itself refuses writes', async () => {
    const path = join(dir, 'ro.duckdb');
    const w = await openDuckDB(path);
    await w.query('create table t(a int); insert into t values (1)');
    w.close();
    const db = await openDuckDB(path, { readOnly: true });
    try {
      expect(db.readOnly).toBe(true);
      expect((await db.query('select count(*) as c from t')).rows).toEqual([[1n]]);
      const e = await db.query('insert into t values (2)').catch((x: unknown) => x);
      expect((e as RtwhError).code).toBe('QUERY_FAILED');
      expect((e as RtwhError).message).toContain('read-only');
      expect(await db.nonRead('insert into t values (2)')).toBeDefined();
    } finally {
      db.close();
    }
  });

  test('read-only open of a missing file is DUCKDB_OPEN and creates nothing', async () => {
    const path = join(dir, 'missing.duckdb');
    const e = await openDuckDB(path, { readOnly: true }).catch((x: unknown) => x);
    expect((e as RtwhError).code).toBe('DUCKDB_OPEN');
    expect(await Bun.file(path).exists()).toBe(false);
  });

  test(':memory: cannot be read-only', async () => {
    const e = await openDuckDB(':memory:', { readOnly: true }).catch((x: unknown) => x);
    expect((e as RtwhError).code).toBe('DUCKDB_OPEN');
  });
});

describe('isWriteStatement', () => {
  const writes = [
    'insert into t values (1)',
    'INSERT INTO missing_table VALUES (1)',
    'update t set a = 2',
    'delete from t',
    'truncate t',
    'merge into t using (select 1 as a) s on t.a = s.a when matched then delete',
    'create table u(x int)',
    'create temp table u(x int)',
    'create view v as select 1',
    'create macro f(x) as x + 1',
    'create or replace table u as select 1',
    'drop table t',
    'alter table t add column b int',
    "copy t to '/tmp/rtwh-never.csv'",
    "copy t from '/tmp/rtwh-never-there.csv'",
    "export database '/tmp/rtwh-never-export'",
    "attach ':memory:' as other",
    'install httpfs',
    'load json',
    'vacuum',
    'analyze',
    'checkpoint',
    'force checkpoint',
    'explain analyze insert into t values (3)',
    'with x as (select 1 as a) insert into t select * from x',
    'prepare p as update t set a = 1',
    'execute p',
    'select 1; drop table t',
    "select ';' as semicolon; delete from t",
    '/* a comment; with a semicolon */ delete from t',
    // not writes, but not plain reads either: refused without --allow-write (a SET or a transaction would reach a
    // running job's connection through its endpoint; an unlisted PIVOT first creates a type)
    'pivot t on a',
    "pragma table_info('t')",
    'set threads = 2',
    'reset threads',
    'begin; select 1; commit',
    'prepare q as select 1',
  ];
  const reads = [
    'select 1',
    'SELECT * FROM t WHERE a > 0',
    'from t',
    'values (1), (2)',
    'table t',
    '(select 1) union all (select 2)',
    'with x as (select 1 as a) select * from x',
    'show tables',
    'describe t',
    'summarize t',
    'call pragma_version()',
    'explain select * from t',
    "select 'insert into t values (1)' as \"delete\"",
    'select update_time, created_by from t',
    '-- only a comment',
    'select 1; -- trailing comment',
  ];

  test.each(writes)('write: %s', async (sql) => {
    const db = await openDuckDB(':memory:');
    try {
      await db.query('create table t(a int)');
      expect(await db.nonRead(sql)).toBeDefined();
    } finally {
      db.close();
    }
  });

  test.each(reads)('read: %s', async (sql) => {
    const db = await openDuckDB(':memory:');
    try {
      await db.query('create table t(a int)');
      expect(await db.nonRead(sql)).toBeUndefined();
    } finally {
      db.close();
    }
  });

  test('standalone isWriteStatement: no store needed, unknown tables fall back to keywords', async () => {
    expect(await isWriteStatement('select * from dws_trade_order_window')).toBe(false);
    expect(await isWriteStatement('insert into dws_trade_order_window values (1)')).toBe(true);
    expect(await isWriteStatement('delete from dws_trade_order_window')).toBe(true);
    expect(await isWriteStatement('create table x(a int)')).toBe(true);
    expect(await isWriteStatement('select 42 as answer')).toBe(false);
  });

  test('classifying executes nothing', async () => {
    const db = await openDuckDB(':memory:');
    try {
      await db.query('create table t(a int)');
      await db.nonRead('insert into t values (1); drop table t');
      expect((await db.query('select count(*) from t')).rows).toEqual([[0n]]);
    } finally {
      db.close();
    }
  });
});
