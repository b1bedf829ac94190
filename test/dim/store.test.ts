/**
 * The DimStore contract, run against the embedded SQLite store and the real MariaDB (RTWH_TEST_MYSQL, a
 * database of its own, dropped at the end); then what only one of them has (another process reading the
 * SQLite file, reconnects and waiting on MySQL) and openDimStore's URL handling.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RtwhError } from '../../src/errors';
import { openDimStore, parseDimStoreUrl } from '../../src/dim/store';
import { MysqlDimStore, type MysqlDimStoreOptions } from '../../src/dim/store-mysql';
import { SqliteDimStore } from '../../src/dim/store-sqlite';
import { ALL_ROWS, type DimRow, type DimStore, type DimWrite, type TableProcess } from '../../src/dim/types';
import { adminConn, dropDb, TEST_MYSQL, urlFor } from '../mock/db/mysql-env';
import type { MysqlConn } from '../../src/store/mysql';

const dir = mkdtempSync(join(tmpdir(), 'rtwh-dimstore-test-'));
const mysqlDb = `rtwh_dimtest_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
let admin: MysqlConn;

beforeAll(async () => {
  admin = await adminConn();
});
afterAll(async () => {
  await dropDb(admin, mysqlDb);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

function rule(sinkTable: string, sinkColumns: string[], sinkPk = 'id'): TableProcess {
  return { sourceTable: sinkTable.replace(/^dim_/, ''), sinkTable, sinkColumns, sinkPk, sinkExtend: null };
}

function up(table: string, id: string, row: DimRow, pk = 'id'): DimWrite {
  return { op: 'upsert', table, pk, id, row: { [pk]: id, ...row } };
}

function del(table: string, id: string, pk = 'id'): DimWrite {
  return { op: 'delete', table, pk, id };
}

async function rejection(p: Promise<unknown>): Promise<RtwhError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RtwhError);
    return e as RtwhError;
  }
  throw new Error('expected a rejection');
}

interface Backend {
  name: string;
  /** A new instance over the same store (another "process" as far as the store can tell). */
  open(opts?: MysqlDimStoreOptions & { keepEntries?: number }): Promise<DimStore>;
}

const sqlitePath = join(dir, 'dim.db');
const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async (o = {}) => new SqliteDimStore(sqlitePath, o.keepEntries === undefined ? {} : { feed: { keepEntries: o.keepEntries, pruneEveryMs: 0 } }),
  },
  {
    name: 'mysql',
    open: async (o = {}) => {
      const { keepEntries, ...rest } = o;
      return MysqlDimStore.open(urlFor(mysqlDb), keepEntries === undefined ? rest : { ...rest, feed: { keepEntries, pruneEveryMs: 0 } });
    },
  },
];

for (const b of backends) {
  describe(`DimStore contract: ${b.name}`, () => {
    let s: DimStore;
    beforeAll(async () => {
      s = await b.open();
    });
    afterAll(async () => {
      await s.close();
    });

    test('ensureTable creates the table once; tables() lists it with its columns, key first', async () => {
      const r = rule('dim_base_province', ['id', 'name', 'region_id', 'area_code']);
      expect(await s.ensureTable(r)).toEqual({ created: true, added: [] });
      expect(await s.ensureTable(r)).toEqual({ created: false, added: [] });
      expect((await s.tables()).get('dim_base_province')).toEqual(['id', 'name', 'region_id', 'area_code']);
      // The key need not come first in the config; a rule without it in sink_columns still gets it.
      expect(await s.ensureTable(rule('dim_base_dic', ['dic_name', 'dic_code'], 'dic_code'))).toEqual({ created: true, added: [] });
      expect((await s.tables()).get('dim_base_dic')).toEqual(['dic_code', 'dic_name']);
      expect([...(await s.tables()).keys()].some((t) => t.startsWith('_rtwh_'))).toBe(false);
    });

    test('new columns are added, existing rows keep their values; nothing is ever dropped', async () => {
      await s.ensureTable(rule('dim_sku', ['id', 'sku_name', 'price']));
      await s.apply([up('dim_sku', '1', { sku_name: 'phone', price: '999.00' }), up('dim_sku', '2', { sku_name: 'case', price: '9.90' })], []);
      expect(await s.ensureTable(rule('dim_sku', ['id', 'sku_name', 'price', 'tm_id', 'weight']))).toEqual({ created: false, added: ['tm_id', 'weight'] });
      expect(await s.get('dim_sku', '1')).toEqual({ id: '1', sku_name: 'phone', price: '999.00', tm_id: null, weight: null });
      // A rule that lost a column: the column stays, with its data.
      expect(await s.ensureTable(rule('dim_sku', ['id', 'sku_name']))).toEqual({ created: false, added: [] });
      expect((await s.tables()).get('dim_sku')).toEqual(['id', 'sku_name', 'price', 'tm_id', 'weight']);
      await s.apply([up('dim_sku', '1', { sku_name: 'phone 2', tm_id: '7' })], []);
      expect(await s.get('dim_sku', '1')).toEqual({ id: '1', sku_name: 'phone 2', price: '999.00', tm_id: '7', weight: null });
    });

    test('two store instances ensure the same tables at the same time: one creates, the other finds, columns added once', async () => {
      const other = await b.open();
      try {
        const names = Array.from({ length: 6 }, (_, i) => `dim_race_${i}`);
        const results = await Promise.all(names.flatMap((n) => [s.ensureTable(rule(n, ['id', 'a'])), other.ensureTable(rule(n, ['id', 'a']))]));
        for (let i = 0; i < names.length; i++) expect([results[2 * i]!.created, results[2 * i + 1]!.created].sort()).toEqual([false, true]);
        const grown = await Promise.all(names.flatMap((n) => [s.ensureTable(rule(n, ['id', 'a', 'b', 'c'])), other.ensureTable(rule(n, ['id', 'a', 'b', 'c']))]));
        for (let i = 0; i < names.length; i++) expect([...grown[2 * i]!.added, ...grown[2 * i + 1]!.added].sort()).toEqual(['b', 'c']);
        for (const n of names) expect((await s.tables()).get(n)).toEqual(['id', 'a', 'b', 'c']);
      } finally {
        await other.close();
      }
    });

    test('a table keyed differently than the rule is refused, not rebuilt', async () => {
      await s.ensureTable(rule('dim_keyed', ['id', 'code']));
      const e = await rejection(s.ensureTable(rule('dim_keyed', ['id', 'code'], 'code')));
      expect(e.code).toBe('DIM_SCHEMA');
      expect(e.message).toBe('dim table "dim_keyed" is keyed by "id"; the rule keys it by "code"');
      expect(e.hint).toContain("key column cannot change");
    });

    test('managedTables: who created each table (the owner given to the ensureTable that created it), never changed by a later ensureTable', async () => {
      const other = await b.open();
      try {
        expect((await s.ensureTable(rule('dim_owned_a', ['id', 'v']), { owner: 'grp-a' })).created).toBe(true);
        // Another group ensuring the same table (adding a column) does not become its creator.
        expect((await other.ensureTable(rule('dim_owned_a', ['id', 'v', 'w']), { owner: 'grp-b' })).added).toEqual(['w']);
        await other.ensureTable(rule('dim_owned_b', ['id']), { owner: 'grp-b' });
        await s.ensureTable(rule('dim_owned_none', ['id']));
        const mine = (await s.managedTables()).filter((m) => m.table.startsWith('dim_owned_'));
        expect(mine).toEqual([
          { table: 'dim_owned_a', pk: 'id', createdBy: 'grp-a' },
          { table: 'dim_owned_b', pk: 'id', createdBy: 'grp-b' },
          { table: 'dim_owned_none', pk: 'id', createdBy: null },
        ]);
        // Dropped and created again: the new creator is recorded.
        expect(await s.dropTable('dim_owned_a')).toBe(true);
        expect((await s.managedTables()).some((m) => m.table === 'dim_owned_a')).toBe(false);
        await other.ensureTable(rule('dim_owned_a', ['id']), { owner: 'grp-b' });
        expect((await s.managedTables()).find((m) => m.table === 'dim_owned_a')?.createdBy).toBe('grp-b');
      } finally {
        await other.close();
      }
    });

    test('two jobs creating one table at once: one CREATE makes it, and its job is the recorded creator', async () => {
      const other = await b.open();
      try {
        for (let i = 0; i < 25; i++) {
          const t = `dim_creator_race_${i}`;
          const [a, o] = await Promise.all([s.ensureTable(rule(t, ['id', 'v']), { owner: 'grp-a' }), other.ensureTable(rule(t, ['id', 'v']), { owner: 'grp-b' })]);
          expect([a.created, o.created].filter(Boolean).length).toBe(1);
          const creator = (await s.managedTables()).find((m) => m.table === t)?.createdBy;
          expect(creator).toBe(a.created ? 'grp-a' : 'grp-b');
        }
      } finally {
        await other.close();
      }
    });

    test('a reserved sink table name is refused with a hint that says so (not the name pattern)', async () => {
      for (const [t, prefix] of [['sqlite_x', 'sqlite_'], ['_rtwh_x', '_rtwh_'], ['SQLite_x', 'sqlite_']]) {
        const e = await rejection(s.ensureTable(rule(t!, ['id'])));
        expect(e.code).toBe('INVALID_NAME');
        expect(e.message).toBe(`invalid dim table name "${t}": names starting with _rtwh_ or sqlite_ are reserved (it starts with ${prefix})`);
        expect(e.hint).toBe('Pick a sink_table that does not start with _rtwh_ or sqlite_ (fix the table_process row).');
      }
    });

    test('upsert, partial update, delete, get and getMany', async () => {
      const t = 'dim_user_info';
      await s.ensureTable(rule(t, ['id', 'login_name', 'name', 'user_level']));
      await s.apply(
        [
          up(t, '1', { login_name: 'ann', name: 'Ann', user_level: '1' }),
          up(t, '2', { login_name: 'bob', name: 'Bob', user_level: '2' }),
          up(t, '3', { login_name: 'cy', name: 'Cy', user_level: '3' }),
        ],
        [],
      );
      expect(await s.get(t, '2')).toEqual({ id: '2', login_name: 'bob', name: 'Bob', user_level: '2' });
      expect(await s.get(t, '4')).toBeUndefined();
      // Only the given columns change.
      await s.apply([up(t, '2', { user_level: '5' })], []);
      expect(await s.get(t, '2')).toEqual({ id: '2', login_name: 'bob', name: 'Bob', user_level: '5' });
      // In order within a batch: delete then re-insert, insert then update.
      await s.apply([del(t, '1'), up(t, '1', { login_name: 'ann2' }), up(t, '9', { name: 'Nine' }), up(t, '9', { user_level: '9' }), del(t, '3')], []);
      expect(await s.get(t, '1')).toEqual({ id: '1', login_name: 'ann2', name: null, user_level: null });
      expect(await s.get(t, '9')).toEqual({ id: '9', login_name: null, name: 'Nine', user_level: '9' });
      expect(await s.get(t, '3')).toBeUndefined();
      const many = await s.getMany(t, ['9', '3', '2', '2', 'nope']);
      expect([...many.keys()].sort()).toEqual(['2', '9']);
      expect(many.get('2')?.user_level).toBe('5');
      expect((await s.getMany(t, [])).size).toBe(0);
      expect((await s.scan(t)).map((r) => r.id)).toEqual(['1', '2', '9']);
      // Deleting a row that is not there is not an error.
      await s.apply([del(t, 'ghost')], []);
    });

    test('getMany over many ids (several statements)', async () => {
      const t = 'dim_many';
      await s.ensureTable(rule(t, ['id', 'v']));
      const writes = Array.from({ length: 2345 }, (_, i) => up(t, `k${i}`, { v: String(i * 2) }));
      await s.apply(writes, []);
      const ids = Array.from({ length: 2400 }, (_, i) => `k${i}`);
      const got = await s.getMany(t, ids);
      expect(got.size).toBe(2345);
      expect(got.get('k2344')?.v).toBe('4688');
      expect((await s.scan(t)).length).toBe(2345);
    });

    test('apply stores rows and offsets together; a failing write rolls back both', async () => {
      const t = 'dim_atomic';
      await s.ensureTable(rule(t, ['id', 'v']));
      await s.apply([up(t, '1', { v: 'a' })], [{ group: 'g1', topic: 'ods_db', partition: 0, offset: 10 }, { group: 'g1', topic: 'ods_db', partition: 1, offset: 7 }]);
      expect(await s.offsets('g1')).toEqual(new Map([['ods_db:0', 10], ['ods_db:1', 7]]));
      expect(await s.offsets('other')).toEqual(new Map());
      const e = await rejection(s.apply([up(t, '1', { v: 'b' }), up(t, '2', { v: 'c' }), up(t, '3', { v: 'x', no_such_column: 'y' })], [{ group: 'g1', topic: 'ods_db', partition: 0, offset: 13 }]));
      expect(e.code).toBe('DIM_SCHEMA');
      expect(e.message).toContain('no_such_column');
      expect(await s.get(t, '1')).toEqual({ id: '1', v: 'a' });
      expect(await s.get(t, '2')).toBeUndefined();
      expect(await s.offsets('g1')).toEqual(new Map([['ods_db:0', 10], ['ods_db:1', 7]]));
      // A table never ensured is refused before anything is written.
      const e2 = await rejection(s.apply([up(t, '5', { v: 'z' }), up('dim_never_made', '1', { v: 'a' })], [{ group: 'g1', topic: 'ods_db', partition: 0, offset: 99 }]));
      expect(e2.code).toBe('DIM_SCHEMA');
      expect(await s.get(t, '5')).toBeUndefined();
      expect((await s.offsets('g1')).get('ods_db:0')).toBe(10);
      // The store is usable after a failure; offsets alone can be stored.
      await s.apply([], [{ group: 'g1', topic: 'ods_db', partition: 0, offset: 11 }]);
      expect((await s.offsets('g1')).get('ods_db:0')).toBe(11);
    });

    test('fencing: an apply that expects another stored offset changes nothing (a job that lost its partition)', async () => {
      const t = 'dim_fenced';
      await s.ensureTable(rule(t, ['id', 'v']));
      await s.apply([up(t, '1', { v: 'a' })], [{ group: 'gf', topic: 'ods_db', partition: 0, offset: 10, expected: null }]);
      await s.apply([up(t, '1', { v: 'b' })], [{ group: 'gf', topic: 'ods_db', partition: 0, offset: 20, expected: 10 }]);
      // A second job read 10 too, and is now late with older rows.
      const e = await rejection(s.apply([up(t, '1', { v: 'stale' }), up(t, '2', { v: 'x' })], [{ group: 'gf', topic: 'ods_db', partition: 0, offset: 15, expected: 10 }]));
      expect(e.code).toBe('DIM_OFFSET_FENCED');
      expect(e.message).toContain('ods_db:0');
      expect(await s.get(t, '1')).toEqual({ id: '1', v: 'b' });
      expect(await s.get(t, '2')).toBeUndefined();
      expect((await s.offsets('gf')).get('ods_db:0')).toBe(20);
      const e2 = await rejection(s.apply([], [{ group: 'gf', topic: 'ods_db', partition: 1, offset: 3, expected: 2 }]));
      expect(e2.code).toBe('DIM_OFFSET_FENCED');
    });

    test('invalidation feed: updates and deletes of existing rows, not inserts; dropTable forgets the table', async () => {
      const t = 'dim_feed';
      await s.ensureTable(rule(t, ['id', 'v']));
      const start = await s.latestSeq();
      await s.apply([up(t, '1', { v: 'a' }), up(t, '2', { v: 'b' }), up(t, '3', { v: 'c' })], []);
      expect(await s.invalidationsSince(start)).toEqual([]);
      expect(await s.latestSeq()).toBe(start);
      await s.apply([up(t, '2', { v: 'B' }), del(t, '3'), up(t, '4', { v: 'd' })], []);
      const feed = await s.invalidationsSince(start);
      expect(feed.map((f) => [f.table, f.id])).toEqual([
        [t, '2'],
        [t, '3'],
      ]);
      expect(feed[1]!.seq).toBeGreaterThan(feed[0]!.seq);
      expect(await s.latestSeq()).toBe(feed[1]!.seq);
      expect(await s.invalidationsSince(feed[0]!.seq)).toEqual([feed[1]!]);
      expect(await s.invalidationsSince(start, 1)).toEqual([feed[0]!]);
      expect(await s.dropTable(t)).toBe(true);
      expect(await s.dropTable(t)).toBe(false);
      const after = await s.invalidationsSince(feed[1]!.seq);
      expect(after.map((f) => [f.table, f.id])).toEqual([[t, ALL_ROWS]]);
      expect((await s.tables()).has(t)).toBe(false);
      expect(await s.get(t, '1')).toBeUndefined();
      expect((await rejection(s.scan(t))).code).toBe('DIM_TABLE_NOT_FOUND');
    });

    test('the feed is pruned to its bound and the floor says how far', async () => {
      const t = 'dim_prune';
      const small = await b.open({ keepEntries: 3 });
      try {
        await small.ensureTable(rule(t, ['id', 'v']));
        await small.apply([up(t, 'x', { v: '0' })], []);
        const start = await small.latestSeq();
        for (let i = 1; i <= 6; i++) await small.apply([up(t, 'x', { v: String(i) })], []);
        const latest = await small.latestSeq();
        expect(latest).toBe(start + 6);
        const floor = await small.invalidationFloor();
        expect(floor).toBeGreaterThanOrEqual(latest - 3 - 1);
        expect(floor).toBeLessThan(latest);
        const left = await small.invalidationsSince(0);
        expect(left.length).toBeLessThanOrEqual(4);
        expect(left[0]!.seq).toBe(floor + 1);
        expect(left.at(-1)!.seq).toBe(latest);
        expect(await s.invalidationFloor()).toBe(floor);
      } finally {
        await small.close();
      }
    });

    test('hostile names are refused with a clear message before any SQL runs', async () => {
      const e1 = await rejection(s.ensureTable(rule('x; drop table y', ['id'])));
      expect(e1.code).toBe('INVALID_NAME');
      expect(e1.message).toBe('invalid dim table name "x; drop table y"');
      expect(e1.hint).toContain('^[A-Za-z_][A-Za-z0-9_]{0,63}$');
      const long = Array.from({ length: 700 }, (_, i) => `c${i}`).join(',');
      const e2 = await rejection(s.ensureTable(rule('dim_ok', ['id', long])));
      expect(e2.code).toBe('INVALID_NAME');
      expect(e2.message).toContain('characters)');
      expect(e2.message.length).toBeLessThan(200);
      expect((await rejection(s.ensureTable(rule('dim_ok', ['id', 'a"b'])))).code).toBe('INVALID_NAME');
      expect((await rejection(s.ensureTable(rule('dim_ok', ['id'], 'id`; --')))).code).toBe('INVALID_NAME');
      expect((await rejection(s.ensureTable(rule('_rtwh_offsets', ['id'])))).message).toContain('reserved');
      expect((await rejection(s.ensureTable(rule('sqlite_master', ['id'])))).message).toContain('reserved');
      expect((await rejection(s.ensureTable(rule('a'.repeat(65), ['id'])))).code).toBe('INVALID_NAME');
      expect((await rejection(s.ensureTable(rule('dim_dup', ['id', 'Name', 'name'])))).code).toBe('DIM_SCHEMA');
      expect((await rejection(s.apply([up('t`x', '1', { v: '1' })], []))).code).toBe('INVALID_NAME');
      expect((await rejection(s.apply([up('dim_user_info', '1', { 'v; drop': '1' })], []))).code).toBe('INVALID_NAME');
      expect((await rejection(s.get('dim_user_info"', '1'))).code).toBe('INVALID_NAME');
      expect((await rejection(s.dropTable('dim_user_info; --'))).code).toBe('INVALID_NAME');
      // Names that are SQL keywords are fine: they are quoted.
      expect((await s.ensureTable(rule('select', ['order', 'group', 'from'], 'order'))).created).toBe(true);
      await s.apply([up('select', 'o1', { group: 'g', from: 'f' }, 'order')], []);
      expect(await s.get('select', 'o1')).toEqual({ order: 'o1', group: 'g', from: 'f' });
    });

    test("values round-trip exactly: quotes, backslashes, unicode, NULL, 'NULL', empty, long", async () => {
      const t = 'dim_values';
      await s.ensureTable(rule(t, ['id', 'v']));
      const values: (string | null)[] = [
        "it's",
        'say "hi"',
        'back\\slash \\N \\0',
        'tab\tnew\nline\rcr',
        '`tick`; DROP TABLE x; --',
        '中文 名字',
        'emoji 😀 4-byte 𝄞',
        '',
        'NULL',
        null,
        'x'.repeat(100_000),
        '  trailing  ',
      ];
      const ids = values.map((_, i) => `id'${i}"\\😀`);
      await s.apply(values.map((v, i) => up(t, ids[i]!, { v })), []);
      const got = await s.getMany(t, ids);
      for (let i = 0; i < values.length; i++) {
        expect(got.get(ids[i]!)).toEqual({ id: ids[i]!, v: values[i]! });
        expect(await s.get(t, ids[i]!)).toEqual({ id: ids[i]!, v: values[i]! });
      }
    });

    test('another instance sees the writes while the writer is open', async () => {
      const t = 'dim_shared';
      await s.ensureTable(rule(t, ['id', 'v']));
      const reader = await b.open();
      try {
        expect(await reader.get(t, '1')).toBeUndefined();
        await s.apply([up(t, '1', { v: 'one' })], []);
        expect(await reader.get(t, '1')).toEqual({ id: '1', v: 'one' });
        const seq = await reader.latestSeq();
        await s.apply([up(t, '1', { v: 'uno' })], []);
        expect(await reader.get(t, '1')).toEqual({ id: '1', v: 'uno' });
        expect((await reader.invalidationsSince(seq)).map((f) => f.id)).toEqual(['1']);
        expect((await reader.tables()).get(t)).toEqual(['id', 'v']);
      } finally {
        await reader.close();
      }
    });
  });
}

describe('SQLite only', () => {
  test('another process reads the file while this one writes, and writes to it too', async () => {
    const path = join(dir, 'shared.db');
    const writer = new SqliteDimStore(path);
    const script = join(dir, 'reader.ts');
    const storeModule = resolve(import.meta.dir, '../../src/dim/store-sqlite.ts');
    writeFileSync(
      script,
      `import { SqliteDimStore } from ${JSON.stringify(storeModule)};
const s = new SqliteDimStore(process.argv[2]);
const n = (await s.scan('dim_proc')).length;
const row = await s.get('dim_proc', 'k1999');
await s.ensureTable({ sourceTable: 'p', sinkTable: 'dim_proc', sinkColumns: ['id', 'v', 'w'], sinkPk: 'id', sinkExtend: null });
await s.apply([{ op: 'upsert', table: 'dim_proc', pk: 'id', id: 'from-child', row: { v: 'c', w: 'w' } }], [{ group: 'child', topic: 't', partition: 0, offset: 5 }]);
console.log(JSON.stringify({ n, row }));
await s.close();
`,
    );
    try {
      await writer.ensureTable(rule('dim_proc', ['id', 'v']));
      await writer.apply(Array.from({ length: 2000 }, (_, i) => up('dim_proc', `k${i}`, { v: String(i) })), []);
      const child = Bun.spawn([process.execPath, script, path], { stdout: 'pipe', stderr: 'pipe' });
      // Keep writing while the child reads.
      for (let i = 0; i < 20; i++) await writer.apply([up('dim_proc', `more${i}`, { v: 'm' })], []);
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      expect(err).toBe('');
      expect(code).toBe(0);
      const r = JSON.parse(out) as { n: number; row: DimRow };
      expect(r.n).toBeGreaterThanOrEqual(2000);
      expect(r.row).toEqual({ id: 'k1999', v: '1999' });
      expect(await writer.get('dim_proc', 'from-child')).toEqual({ id: 'from-child', v: 'c', w: 'w' });
      expect(await writer.offsets('child')).toEqual(new Map([['t:0', 5]]));
    } finally {
      await writer.close();
    }
  });

  test('two processes ensure the same tables at once', async () => {
    const path = join(dir, 'race.db');
    const script = join(dir, 'race.ts');
    const storeModule = resolve(import.meta.dir, '../../src/dim/store-sqlite.ts');
    writeFileSync(
      script,
      `import { SqliteDimStore } from ${JSON.stringify(storeModule)};
const s = new SqliteDimStore(process.argv[2]);
const out = [];
for (let i = 0; i < 30; i++) out.push(await s.ensureTable({ sourceTable: 't', sinkTable: 'dim_r' + i, sinkColumns: ['id', 'a', 'b' + (i % 3)], sinkPk: 'id', sinkExtend: null }));
console.log(JSON.stringify(out));
await s.close();
`,
    );
    const kids = [0, 1].map(() => Bun.spawn([process.execPath, script, path], { stdout: 'pipe', stderr: 'pipe' }));
    const outs = await Promise.all(kids.map(async (k) => ({ out: await new Response(k.stdout).text(), err: await new Response(k.stderr).text(), code: await k.exited })));
    for (const o of outs) expect({ err: o.err, code: o.code }).toEqual({ err: '', code: 0 });
    const [a, b] = outs.map((o) => JSON.parse(o.out) as { created: boolean }[]);
    for (let i = 0; i < 30; i++) expect([a![i]!.created, b![i]!.created].sort()).toEqual([false, true]);
    const s = new SqliteDimStore(path);
    expect((await s.tables()).size).toBe(30);
    await s.close();
  });

  test('a file written before created_by existed gets the column; its tables have no known creator', async () => {
    const path = join(dir, 'old-layout.db');
    const { Database } = await import('bun:sqlite');
    const old = new Database(path, { create: true });
    old.run('CREATE TABLE _rtwh_dim_tables (tbl TEXT PRIMARY KEY NOT NULL, pk TEXT NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID');
    old.run('CREATE TABLE dim_old (id TEXT NOT NULL PRIMARY KEY, v TEXT) WITHOUT ROWID');
    old.run("INSERT INTO _rtwh_dim_tables VALUES ('dim_old', 'id', 1)");
    old.close();
    const s = new SqliteDimStore(path);
    try {
      expect(await s.managedTables()).toEqual([{ table: 'dim_old', pk: 'id', createdBy: null }]);
      await s.ensureTable(rule('dim_new', ['id']), { owner: 'g' });
      expect((await s.managedTables()).map((m) => m.createdBy)).toEqual(['g', null]);
    } finally {
      await s.close();
    }
    // Opened again: the column is there once.
    const again = new SqliteDimStore(path);
    expect((await again.managedTables()).length).toBe(2);
    await again.close();
  });

  test('a file that cannot be created is a clear error', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    let e: unknown;
    try {
      new SqliteDimStore(join(blocker, 'dim.db'));
    } catch (x) {
      e = x;
    }
    expect((e as RtwhError).code).toBe('DIM_STORE_UNAVAILABLE');
    expect((e as RtwhError).message).toContain('not-a-dir');
  });
});

/** A TCP relay in front of MariaDB that the test can take down and bring back, as if the server went away. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly host: string, private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client);
      this.sockets.add(upstream);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      upstream.connect(this.target, this.host, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((res) => this.server!.listen(this.port, '127.0.0.1', () => res()));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
    this.server = undefined;
  }
}

/** A relay started in front of the test server, and the URL of this file's database through it. */
async function relayed(): Promise<{ relay: Relay; via: URL }> {
  const u = new URL(TEST_MYSQL);
  const relay = new Relay(u.hostname, Number(u.port || 3306));
  await relay.start();
  const via = new URL(urlFor(mysqlDb));
  via.port = String(relay.port);
  return { relay, via };
}

describe('MySQL only', () => {
  const killAll = async (db: string): Promise<number> => {
    const ids = await admin.query<{ ID: number }[]>(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '${db}' AND ID <> CONNECTION_ID()`);
    for (const { ID } of ids) await admin.query(`KILL CONNECTION ${ID}`).catch(() => {});
    return ids.length;
  };

  test('the description and every error hide the password', async () => {
    const s = await MysqlDimStore.open(urlFor(mysqlDb));
    try {
      const pass = decodeURIComponent(new URL(TEST_MYSQL).password);
      expect(pass.length).toBeGreaterThan(0);
      expect(s.description).not.toContain(pass);
      expect(s.description).toContain('****');
    } finally {
      await s.close();
    }
    const bad = new URL(urlFor(mysqlDb));
    bad.password = 'Wr0ng-secret';
    const e = await rejection(MysqlDimStore.open(bad.toString()));
    expect(e.code).toBe('MYSQL_ACCESS_DENIED');
    expect(e.message).toContain('access denied');
    expect(JSON.stringify(e.toJSON())).not.toContain('Wr0ng-secret');
    const noDb = await rejection(MysqlDimStore.open('mysql://root:Wr0ng-secret@127.0.0.1:3307'));
    expect(noDb.code).toBe('DIM_STORE_URL');
    expect(noDb.message).not.toContain('Wr0ng-secret');
  });

  test('a connection killed by the server is reopened and the apply repeated: no row lost', async () => {
    const s = await MysqlDimStore.open(urlFor(mysqlDb));
    try {
      const t = 'dim_killed';
      await s.ensureTable(rule(t, ['id', 'v']));
      let offset = 0;
      for (let batch = 0; batch < 12; batch++) {
        // Between batches (idle connection, like wait_timeout) and during one (a batch in flight).
        if (batch % 3 === 0) expect(await killAll(mysqlDb)).toBeGreaterThan(0);
        const writes = Array.from({ length: 500 }, (_, i) => up(t, String(batch * 500 + i), { v: `b${batch}` }));
        offset += writes.length;
        const p = s.apply(writes, [{ group: 'kill', topic: 'ods_db', partition: 0, offset }]);
        if (batch % 3 === 1) await killAll(mysqlDb);
        await p;
      }
      const rows = await s.scan(t);
      expect(rows.length).toBe(6000);
      expect(await s.offsets('kill')).toEqual(new Map([['ods_db:0', 6000]]));
      expect(await s.get(t, '5999')).toEqual({ id: '5999', v: 'b11' });
      // Reads reconnect too.
      await killAll(mysqlDb);
      expect(await s.get(t, '0')).toEqual({ id: '0', v: 'b0' });
    } finally {
      await s.close();
    }
  });

  test('while the server cannot be reached, apply waits (onWaiting says why) and completes when it is back', async () => {
    const { relay, via } = await relayed();
    const password = new URL(TEST_MYSQL).password;
    const waits: string[] = [];
    const s = await MysqlDimStore.open(via.toString(), { onWaiting: (r) => waits.push(r), maxBackoffMs: 200, connectTimeoutMs: 1000 });
    try {
      const t = 'dim_down';
      await s.ensureTable(rule(t, ['id', 'v']));
      await s.apply([up(t, 'before', { v: '1' })], []);
      await relay.stop();
      let done = false;
      const p = s.apply([up(t, 'during', { v: '2' })], [{ group: 'down', topic: 'ods_db', partition: 0, offset: 2 }]).then(() => {
        done = true;
      });
      await Bun.sleep(1500);
      expect(done).toBe(false);
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]).toContain('cannot reach MySQL');
      expect(waits.join('\n')).not.toContain(password);
      await relay.start();
      await p;
      expect(done).toBe(true);
      const direct = await MysqlDimStore.open(urlFor(mysqlDb));
      try {
        expect(await direct.get(t, 'during')).toEqual({ id: 'during', v: '2' });
        expect(await direct.offsets('down')).toEqual(new Map([['ods_db:0', 2]]));
      } finally {
        await direct.close();
      }
    } finally {
      await s.close();
      await relay.stop();
    }
  });

  test('a wait ends with INTERRUPTED when the store is closed or the signal aborts', async () => {
    const { relay, via } = await relayed();
    const s = await MysqlDimStore.open(via.toString(), { maxBackoffMs: 100, connectTimeoutMs: 1000 });
    await s.ensureTable(rule('dim_closing', ['id', 'v']));
    await relay.stop();
    const pending = s.apply([up('dim_closing', '1', { v: 'x' })], []);
    await Bun.sleep(300);
    const closing = s.close();
    expect((await rejection(pending)).code).toBe('INTERRUPTED');
    await closing;
    // open() on a server that is not there waits too, until aborted.
    const ac = new AbortController();
    const opening = MysqlDimStore.open(via.toString(), { signal: ac.signal, maxBackoffMs: 100, connectTimeoutMs: 1000 });
    await Bun.sleep(300);
    ac.abort();
    expect((await rejection(opening)).code).toBe('INTERRUPTED');
  });

  test('once the job is stopping (the signal), the batch being finished still commits; only a wait for the server ends', async () => {
    // Before: every store call after the signal failed at once with INTERRUPTED, so a SIGTERM that came while a
    // batch was between its read and its write made the job exit 130 instead of committing it.
    const { relay, via } = await relayed();
    const ac = new AbortController();
    const s = await MysqlDimStore.open(via.toString(), { signal: ac.signal, maxBackoffMs: 100, connectTimeoutMs: 1000 });
    try {
      await s.ensureTable(rule('dim_stopping', ['id', 'v']));
      ac.abort();
      await s.apply([up('dim_stopping', '1', { v: 'kept' })], [{ group: 'stopping', topic: 'ods_db', partition: 0, offset: 7 }]);
      expect(await s.get('dim_stopping', '1')).toEqual({ id: '1', v: 'kept' });
      await relay.stop();
      const t0 = Date.now();
      expect((await rejection(s.apply([up('dim_stopping', '2', { v: 'x' })], []))).code).toBe('INTERRUPTED');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await s.close();
      await relay.stop();
    }
    const direct = await MysqlDimStore.open(urlFor(mysqlDb));
    try {
      expect(await direct.offsets('stopping')).toEqual(new Map([['ods_db:0', 7]]));
    } finally {
      await direct.close();
    }
  });

  test('MySQL 8 DDL path (no ADD COLUMN IF NOT EXISTS): concurrent adds tolerate ER_DUP_FIELDNAME', async () => {
    const a = await MysqlDimStore.open(urlFor(mysqlDb), { flavor: 'mysql' });
    const b = await MysqlDimStore.open(urlFor(mysqlDb), { flavor: 'mysql' });
    try {
      const t = 'dim_mysql8';
      await a.ensureTable(rule(t, ['id', 'v']));
      await a.apply([up(t, '1', { v: 'kept' })], []);
      const [ra, rb] = await Promise.all([a.ensureTable(rule(t, ['id', 'v', 'x', 'y'])), b.ensureTable(rule(t, ['id', 'v', 'x', 'y']))]);
      expect([...ra.added, ...rb.added].sort()).toEqual(['x', 'y']);
      expect(await b.get(t, '1')).toEqual({ id: '1', v: 'kept', x: null, y: null });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('the database is created when missing, with utf8mb4 and exact ids', async () => {
    const db = `${mysqlDb}_new`;
    const s = await MysqlDimStore.open(urlFor(db));
    try {
      await s.ensureTable(rule('dim_case', ['id', 'v']));
      await s.apply([up('dim_case', 'a', { v: 'lower' }), up('dim_case', 'A', { v: 'upper' })], []);
      expect((await s.get('dim_case', 'A'))?.v).toBe('upper');
      expect((await s.getMany('dim_case', ['a', 'A'])).size).toBe(2);
      const [cs] = await admin.query<{ c: string }[]>(`SELECT CCSA.CHARACTER_SET_NAME AS c FROM information_schema.TABLES T JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY CCSA ON CCSA.COLLATION_NAME = T.TABLE_COLLATION WHERE T.TABLE_SCHEMA = '${db}' AND T.TABLE_NAME = 'dim_case'`);
      expect(cs?.c).toBe('utf8mb4');
    } finally {
      await s.close();
      await dropDb(admin, db);
    }
  });

  test('a definition the server refuses (400 MEDIUMTEXT columns: row size too large) is DIM_SCHEMA, and nothing is left registered', async () => {
    const s = await MysqlDimStore.open(urlFor(mysqlDb));
    try {
      const cols = ['id', ...Array.from({ length: 400 }, (_, i) => `c${i}`)];
      const e = await rejection(s.ensureTable(rule('dim_too_wide', cols), { owner: 'g' }));
      expect(e.code).toBe('DIM_SCHEMA');
      expect(e.message).toContain('refuses the definition of dim table "dim_too_wide"');
      expect(e.message).toContain('Row size too large');
      expect((await s.managedTables()).some((m) => m.table === 'dim_too_wide')).toBe(false);
      const [n] = await admin.query<{ n: number }[]>(`SELECT COUNT(*) AS n FROM \`${mysqlDb}\`._rtwh_dim_tables WHERE tbl = 'dim_too_wide'`);
      expect(Number(n!.n)).toBe(0);
    } finally {
      await s.close();
    }
  });

  test('a store written before created_by existed gets the column; its tables have no known creator', async () => {
    const db = `${mysqlDb}_old`;
    try {
      await admin.query(`CREATE DATABASE \`${db}\`; CREATE TABLE \`${db}\`._rtwh_dim_tables (tbl VARCHAR(64) NOT NULL PRIMARY KEY, pk VARCHAR(64) NOT NULL, created_ms BIGINT NOT NULL); CREATE TABLE \`${db}\`.dim_old (id VARCHAR(191) NOT NULL PRIMARY KEY, v MEDIUMTEXT NULL); INSERT INTO \`${db}\`._rtwh_dim_tables VALUES ('dim_old', 'id', 1)`);
      const s = await MysqlDimStore.open(urlFor(db));
      try {
        expect(await s.managedTables()).toEqual([{ table: 'dim_old', pk: 'id', createdBy: null }]);
        await s.ensureTable(rule('dim_new', ['id']), { owner: 'g' });
        expect((await s.managedTables()).map((m) => m.createdBy)).toEqual(['g', null]);
      } finally {
        await s.close();
      }
    } finally {
      await dropDb(admin, db);
    }
  });
});

describe('openDimStore', () => {
  test('sqlite:PATH, a plain path and mysql:// pick the store; anything else is a clear error', async () => {
    expect(parseDimStoreUrl('sqlite:x/dim.db', '/w')).toEqual({ kind: 'sqlite', path: '/w/x/dim.db' });
    expect(parseDimStoreUrl('sqlite:/abs/dim.db', '/w')).toEqual({ kind: 'sqlite', path: '/abs/dim.db' });
    expect(parseDimStoreUrl('state/dim.db', '/w')).toEqual({ kind: 'sqlite', path: '/w/state/dim.db' });
    expect(parseDimStoreUrl('mysql://u:p@h:3306/db')).toEqual({ kind: 'mysql', url: 'mysql://u:p@h:3306/db' });
    for (const bad of ['postgres://u:s3cret@h/db', 'sqlite:', 'mysql:/h/db', '  ']) {
      let e: unknown;
      try {
        parseDimStoreUrl(bad);
      } catch (x) {
        e = x;
      }
      expect((e as RtwhError).code).toBe('DIM_STORE_URL');
      expect((e as RtwhError).message).not.toContain('s3cret');
    }
    const s = await openDimStore('sqlite:open/dim.db', { cwd: dir });
    expect(s.description).toBe(`sqlite:${join(dir, 'open', 'dim.db')}`);
    await s.close();
    const p = await openDimStore(join(dir, 'plain.db'));
    expect(p.description).toBe(`sqlite:${join(dir, 'plain.db')}`);
    await p.close();
    const m = await openDimStore(urlFor(mysqlDb));
    expect(m.description).toContain('****');
    expect(await m.tables()).toBeInstanceOf(Map);
    await m.close();
  });
});
