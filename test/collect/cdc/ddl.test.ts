/**
 * Schema changes in the middle of the stream: rows keep decoding with the right columns (also when read again
 * after a restart, across the ALTER), and --output-ddl writes Maxwell's DDL records.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus } from '../../../src/bus/types';
import { classifyDdl, normalizeSql, parseCreateTable } from '../../../src/collect/cdc/ddl';
import type { MysqlConn } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';
import { admin, readTopic, sqliteBus, startCdc, unique, values } from './helpers';

const DB = unique('cdc_ddl');
let a: MysqlConn;
let bus: Bus;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY, name varchar(20), price decimal(10,2)) DEFAULT CHARSET=utf8mb4;`);
  bus = await sqliteBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`; DROP DATABASE IF EXISTS \`${DB}_new\`;`);
  await a.close();
  await bus.close();
});

describe('DDL mid-stream', () => {
  test('ALTER TABLE ADD COLUMN: rows before and after decode with their columns; DDL records like Maxwell output_ddl', async () => {
    const topic = unique('cdc_ddl');
    const cdc = startCdc({ bus, database: DB, topic, outputDdl: true, filter: `exclude: *.*, include: /^${DB}/.*` });
    await cdc.started;
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (1, 'a', 1.50);
      ALTER TABLE \`${DB}\`.t ADD COLUMN qty int NOT NULL DEFAULT 7 AFTER name;
      INSERT INTO \`${DB}\`.t VALUES (2, 'b', 3, 2.00);
      UPDATE \`${DB}\`.t SET qty = 4 WHERE id = 1;
      CREATE TABLE \`${DB}\`.u (k varchar(10) PRIMARY KEY, at datetime(3), e enum('x','y')) DEFAULT CHARSET=utf8mb4;
      INSERT INTO \`${DB}\`.u VALUES ('k1', '2025-01-14 00:00:00.125', 'y');
      DROP TABLE \`${DB}\`.u;
      CREATE DATABASE \`${DB}_new\` CHARACTER SET utf8mb4;
      DROP DATABASE \`${DB}_new\`;`);
    const recs = values(await readTopic(bus, topic, 9));
    await cdc.stop();
    expect(recs.map((v) => v.type)).toEqual(['insert', 'table-alter', 'insert', 'update', 'table-create', 'insert', 'table-drop', 'database-create', 'database-drop']);
    expect(recs[0]!.data).toEqual({ id: 1, name: 'a', price: 1.5 });
    expect(recs[2]!.data).toEqual({ id: 2, name: 'b', qty: 3, price: 2 });
    expect(recs[3]!.data).toEqual({ id: 1, name: 'a', qty: 4, price: 1.5 });
    expect(recs[3]!.old).toEqual({ qty: 7 });
    const alter = recs[1]!;
    expect(Object.keys(alter)).toEqual(['type', 'database', 'table', 'old', 'def', 'ts', 'sql']);
    expect(alter.sql).toBe(`ALTER TABLE \`${DB}\`.t ADD COLUMN qty int NOT NULL DEFAULT 7 AFTER name`);
    expect(alter.old).toEqual({
      database: DB, charset: 'utf8mb4', table: 't', 'primary-key': ['id'],
      columns: [{ type: 'int', name: 'id', signed: true }, { type: 'varchar', name: 'name', charset: 'utf8mb4' }, { type: 'decimal', name: 'price' }],
    });
    expect((alter.def as { columns: { name: string }[] }).columns.map((c) => c.name)).toEqual(['id', 'name', 'qty', 'price']);
    // DDL records carry ms, rows seconds.
    expect(Math.abs((alter.ts as number) - Date.now())).toBeLessThan(120_000);
    expect(recs[4]).toMatchObject({
      type: 'table-create', database: DB, table: 'u',
      def: { columns: [{ type: 'varchar', name: 'k', charset: 'utf8mb4' }, { type: 'datetime', name: 'at', 'column-length': 3 }, { type: 'enum', name: 'e', 'enum-values': ['x', 'y'] }], 'primary-key': ['k'] },
    });
    expect(recs[5]!.data).toEqual({ k: 'k1', at: '2025-01-14 00:00:00.125', e: 'y' });
    expect(recs[6]).toMatchObject({ type: 'table-drop', database: DB, table: 'u' });
    expect(recs[7]).toMatchObject({ type: 'database-create', database: `${DB}_new`, charset: 'utf8mb4' });
    expect(recs[8]).toMatchObject({ type: 'database-drop', database: `${DB}_new` });
  }, 60_000);

  test('read again after a restart across ALTERs, every row keeps the columns it was written with', async () => {
    const state = tempDir('rtwh-cdc-ddl-');
    const clientId = unique('ddl');
    const topic = unique('cdc_ddl_replay');
    const first = startCdc({ bus, database: DB, topic, stateDir: state, clientId });
    await first.started;
    await first.stop();
    // While cdc is down: rows, then the table changes shape twice, then more rows.
    await a.query(`DELETE FROM \`${DB}\`.t;
      INSERT INTO \`${DB}\`.t (id, name, qty, price) VALUES (10, 'before', 1, 9.99);
      ALTER TABLE \`${DB}\`.t DROP COLUMN name;
      INSERT INTO \`${DB}\`.t (id, qty, price) VALUES (11, 2, 8.88);
      ALTER TABLE \`${DB}\`.t ADD COLUMN note varchar(10) FIRST;
      INSERT INTO \`${DB}\`.t (id, qty, price, note) VALUES (12, 3, 7.77, 'n');`);
    const second = startCdc({ bus, database: DB, topic, stateDir: state, clientId });
    await second.started;
    const recs = values(await readTopic(bus, topic));
    await second.stop();
    const inserts = recs.filter((v) => v.type === 'insert').map((v) => v.data);
    expect(inserts).toEqual([
      { id: 10, name: 'before', qty: 1, price: 9.99 },
      { id: 11, qty: 2, price: 8.88 },
      { note: 'n', id: 12, qty: 3, price: 7.77 },
    ]);
  }, 60_000);
});

describe('classifying DDL', () => {
  test('tables and databases named by the statement', () => {
    expect(classifyDdl('ALTER TABLE t ADD COLUMN x int', 'db')).toEqual({ kind: 'table-alter', targets: [{ database: 'db', table: 't' }] });
    expect(classifyDdl('alter online ignore table `a b`.`c``d` add x int', 'db')).toEqual({ kind: 'table-alter', targets: [{ database: 'a b', table: 'c`d' }] });
    expect(classifyDdl('ALTER TABLE t RENAME TO other.u', 'db')).toEqual({ kind: 'table-alter', targets: [{ database: 'db', table: 't', to: { database: 'other', table: 'u' } }] });
    expect(classifyDdl('ALTER TABLE t RENAME COLUMN a TO b', 'db')).toEqual({ kind: 'table-alter', targets: [{ database: 'db', table: 't' }] });
    expect(classifyDdl('CREATE TABLE IF NOT EXISTS x.y (id int)', 'db')).toEqual({ kind: 'table-create', targets: [{ database: 'x', table: 'y' }] });
    expect(classifyDdl('CREATE TEMPORARY TABLE tmp (id int)', 'db')).toBeNull();
    expect(classifyDdl('DROP TABLE IF EXISTS `a`, b.c /* generated by server */', 'db')).toEqual({
      kind: 'table-drop', targets: [{ database: 'db', table: 'a' }, { database: 'b', table: 'c' }],
    });
    expect(classifyDdl('RENAME TABLE a TO b, x.c TO x.d', 'db')).toEqual({
      kind: 'table-rename', targets: [{ database: 'db', table: 'a', to: { database: 'db', table: 'b' } }, { database: 'x', table: 'c', to: { database: 'x', table: 'd' } }],
    });
    expect(classifyDdl('TRUNCATE TABLE t', 'db')?.kind).toBe('table-truncate');
    expect(classifyDdl('CREATE DATABASE IF NOT EXISTS `shop`', '')).toEqual({ kind: 'database-create', targets: [{ database: 'shop' }] });
    expect(classifyDdl('CREATE SCHEMA shop', '')?.kind).toBe('database-create');
    expect(classifyDdl('ALTER DATABASE CHARACTER SET utf8mb4', 'cur')).toEqual({ kind: 'database-alter', targets: [{ database: 'cur' }] });
    expect(classifyDdl('DROP DATABASE shop', '')).toEqual({ kind: 'database-drop', targets: [{ database: 'shop' }] });
    expect(classifyDdl('CREATE UNIQUE INDEX ix ON t (a)', 'db')).toEqual({ kind: 'table-alter', targets: [{ database: 'db', table: 't' }] });
    expect(classifyDdl('GRANT SELECT ON *.* TO x', 'db')).toBeNull();
    expect(classifyDdl('CREATE VIEW v AS SELECT 1', 'db')).toBeNull();
  });

  test('comments go, executable comments stay', () => {
    expect(normalizeSql('/* hi */ CREATE /*!50001 TABLE */ t -- trailing\n (id int)')).toBe('CREATE TABLE t (id int)');
    expect(classifyDdl('# note\nDROP TABLE t', 'db')?.kind).toBe('table-drop');
  });
});

describe('CREATE TABLE of a table that is gone', () => {
  test('columns, types (Maxwell unalias), primary key and charset from the statement', () => {
    const t = parseCreateTable(`CREATE TABLE IF NOT EXISTS x.y (
      \`id\` bigint unsigned NOT NULL AUTO_INCREMENT COMMENT 'a, (b)',
      name varchar(20) CHARACTER SET latin1 DEFAULT 'x,y',
      amount numeric(16,2), ok bool, at datetime(6), e enum('a','b''c'), flags bit(3),
      PRIMARY KEY (\`id\`), KEY ix (name(5))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    expect(t).toEqual({
      charset: 'utf8mb4',
      primaryKey: ['id'],
      columns: [
        { name: 'id', type: 'bigint', unsigned: true },
        { name: 'name', type: 'varchar', charset: 'latin1' },
        { name: 'amount', type: 'decimal', precision: 16, scale: 2 },
        { name: 'ok', type: 'tinyint', unsigned: false },
        { name: 'at', type: 'datetime', fsp: 6 },
        { name: 'e', type: 'enum', enumValues: ['a', "b'c"] },
        { name: 'flags', type: 'bit', bits: 3 },
      ],
    });
    expect(parseCreateTable('CREATE TABLE a LIKE b')).toBeNull();
  });
});
