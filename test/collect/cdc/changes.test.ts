/**
 * Insert, update and delete round trips through MariaDB's binlog and a real Kafka topic, compared with the exact
 * text Maxwell writes; transactions (xid, xoffset, commit), keys, partitioning, filters, mock dates, and the same
 * changes as Debezium records.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus } from '../../../src/bus/types';
import { javaStringHashCode } from '../../../src/formats/maxwell';
import type { MysqlConn } from '../../../src/store/mysql';
import { admin, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, sqliteBus, startCdc, unique, values, withoutTxnFields } from './helpers';

const DB = unique('cdc_chg');
let a: MysqlConn;
let kafka: Bus;
let sqlite: Bus;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`;
    CREATE TABLE \`${DB}\`.order_info (id bigint NOT NULL AUTO_INCREMENT, user_id bigint, order_status varchar(20), total_amount decimal(16,2),
      create_time datetime, operate_time datetime, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE \`${DB}\`.order_detail (id bigint NOT NULL AUTO_INCREMENT, order_id bigint, sku_name varchar(200), sku_num int, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE \`${DB}\`.base_dic (dic_code varchar(10) NOT NULL, dic_name varchar(100)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE \`${DB}\`.skipped (id int PRIMARY KEY, v int);`);
  kafka = await kafkaBus();
  sqlite = await sqliteBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
  await sqlite.close();
});

describe('maxwell round trip on Kafka', () => {
  test('insert, update, delete: the exact records, keys and partitions', async () => {
    const topic = kafkaTopic('cdc_chg_mx');
    const cdc = startCdc({ bus: kafka, database: DB, topic, partitions: 3, filter: `exclude: *.*, include: ${DB}.*, exclude: ${DB}.skipped` });
    await cdc.started;
    await a.query(`INSERT INTO \`${DB}\`.order_info VALUES (35, 7, '1001', 1299.00, '2025-01-14 10:00:00', NULL);
      UPDATE \`${DB}\`.order_info SET order_status = '1002', operate_time = '2025-01-14 10:05:00' WHERE id = 35;
      INSERT INTO \`${DB}\`.skipped VALUES (1, 1);
      BEGIN;
        INSERT INTO \`${DB}\`.order_detail (id, order_id, sku_name, sku_num) VALUES (1, 35, '小米', 1), (2, 35, '华为', 2);
        UPDATE \`${DB}\`.order_info SET total_amount = 1399.50 WHERE id = 35;
      COMMIT;
      INSERT INTO \`${DB}\`.base_dic VALUES ('1001', '未支付');
      DELETE FROM \`${DB}\`.order_info WHERE id = 35;`);
    const recs = await readTopic(kafka, topic, 7);
    await cdc.stop();
    expect(recs.length).toBe(7);
    const info = recs.filter((r) => JSON.parse(r.value!.toString()).table === 'order_info').map((r) => withoutTxnFields(r.value!.toString()));
    expect(info).toEqual([
      `{"database":"${DB}","table":"order_info","type":"insert","ts":0,"data":{"id":35,"user_id":7,"order_status":"1001","total_amount":1299.00,"create_time":"2025-01-14 10:00:00","operate_time":null}}`,
      `{"database":"${DB}","table":"order_info","type":"update","ts":0,"data":{"id":35,"user_id":7,"order_status":"1002","total_amount":1299.00,"create_time":"2025-01-14 10:00:00","operate_time":"2025-01-14 10:05:00"},"old":{"order_status":"1001","operate_time":null}}`,
      `{"database":"${DB}","table":"order_info","type":"update","ts":0,"data":{"id":35,"user_id":7,"order_status":"1002","total_amount":1399.50,"create_time":"2025-01-14 10:00:00","operate_time":"2025-01-14 10:05:00"},"old":{"total_amount":1299.00}}`,
      `{"database":"${DB}","table":"order_info","type":"delete","ts":0,"data":{"id":35,"user_id":7,"order_status":"1002","total_amount":1399.50,"create_time":"2025-01-14 10:00:00","operate_time":"2025-01-14 10:05:00"}}`,
    ]);
    // The three-row transaction: one xid, xoffset 0 and 1, commit on the last row.
    const txn = values(recs).filter((v) => v.table === 'order_detail' || (v.type === 'update' && (v.old as Record<string, unknown>).total_amount !== undefined));
    expect(new Set(txn.map((v) => v.xid)).size).toBe(1);
    const detail = values(recs).filter((v) => v.table === 'order_detail');
    expect(detail.map((v) => [v.xoffset, v.commit])).toEqual([[0, undefined], [1, undefined]]);
    expect(txn.find((v) => v.table === 'order_info')!.commit).toBe(true);
    expect(Object.keys(detail[0]!)).toEqual(['database', 'table', 'type', 'ts', 'xid', 'xoffset', 'data']);
    // Single-statement transactions: commit:true and no xoffset.
    for (const v of values(recs).filter((x) => x.table !== 'order_detail' && x.old === undefined)) expect(v.commit).toBe(true);
    // Every ts is the binlog time in seconds.
    for (const v of values(recs)) expect(Math.abs((v.ts as number) - Date.now() / 1000)).toBeLessThan(120);
    // Keys: Maxwell's hash form; a table without a primary key gets a _uuid.
    for (const r of recs) {
      const v = JSON.parse(r.value!.toString()) as Record<string, unknown>;
      const key = JSON.parse(r.key!.toString()) as Record<string, unknown>;
      expect(key.database).toBe(DB);
      expect(key.table).toBe(v.table);
      if (v.table === 'base_dic') expect(String(key._uuid)).toMatch(/^[0-9a-f-]{36}$/);
      else expect(key['pk.id']).toBe((v.data as Record<string, unknown>).id);
      // producer_partition_by=table: abs(String.hashCode(table) % partitions)
      expect(r.partition).toBe(Math.abs(javaStringHashCode(String(v.table)) % 3));
    }
    // The excluded table never reaches the topic.
    expect(values(recs).some((v) => v.table === 'skipped')).toBe(false);
  }, 90_000);

  test('partition by primary key and by database', async () => {
    for (const by of ['primary_key', 'database'] as const) {
      const topic = kafkaTopic(`cdc_chg_${by}`);
      const cdc = startCdc({ bus: kafka, database: DB, topic, partitions: 4, partitionBy: by });
      await cdc.started;
      await a.query(`INSERT INTO \`${DB}\`.order_detail (order_id, sku_name, sku_num) VALUES (1, 'a', 1), (1, 'b', 1), (1, 'c', 1), (1, 'd', 1)`);
      const recs = await readTopic(kafka, topic, 4);
      await cdc.stop();
      expect(recs.length).toBe(4);
      for (const r of recs) {
        const v = JSON.parse(r.value!.toString()) as { data: { id: number } };
        const s = by === 'primary_key' ? String(v.data.id) : DB;
        expect(r.partition).toBe(Math.abs(javaStringHashCode(s) % 4));
      }
    }
  }, 90_000);
});

describe('filters', () => {
  test("Maxwell's rules: last match wins, regexes, column values", async () => {
    const topic = unique('cdc_flt');
    const cdc = startCdc({
      bus: sqlite,
      database: DB,
      topic,
      filter: `exclude: *.*, include: ${DB}./^order_/, exclude: ${DB}.order_detail.sku_name=skip, include: ${DB}.skipped.v=42`,
    });
    await cdc.started;
    await a.query(`INSERT INTO \`${DB}\`.order_detail (order_id, sku_name, sku_num) VALUES (9, 'keep', 1), (9, 'skip', 1);
      INSERT INTO \`${DB}\`.base_dic VALUES ('x', 'not included');
      INSERT INTO \`${DB}\`.skipped VALUES (100, 1), (101, 42);
      INSERT INTO \`${DB}\`.order_info (user_id, order_status) VALUES (1, '1001');`);
    const recs = values(await readTopic(sqlite, topic, 3));
    await cdc.stop();
    expect(recs.map((v) => v.table).sort()).toEqual(['order_detail', 'order_info', 'skipped']);
    expect((recs.find((v) => v.table === 'order_detail')!.data as Record<string, unknown>).sku_name).toBe('keep');
    expect((recs.find((v) => v.table === 'skipped')!.data as Record<string, unknown>).v).toBe(42);
  }, 60_000);
});

describe('mock date', () => {
  test("ts after the mock day keeps its time of day and takes the mock date (Maxwell's mock_date); earlier ts stay", async () => {
    const topic = unique('cdc_mock');
    const cdc = startCdc({ bus: sqlite, database: DB, topic, mockDate: '2025-01-14' });
    await cdc.started;
    const t0 = Date.now();
    await a.query(`SET TIMESTAMP = UNIX_TIMESTAMP('2031-06-30 23:59:58'); INSERT INTO \`${DB}\`.order_detail (order_id, sku_name, sku_num) VALUES (5, 'm', 1);
      SET TIMESTAMP = UNIX_TIMESTAMP('2025-01-10 01:00:00'); INSERT INTO \`${DB}\`.order_detail (order_id, sku_name, sku_num) VALUES (6, 'm', 1); SET TIMESTAMP = DEFAULT;`);
    const [rec, back] = await readTopic(sqlite, topic, 2);
    const t1 = Date.now();
    await cdc.stop();
    const v = JSON.parse(rec!.value!.toString()) as { ts: number };
    // 2031-06-30 23:59:58 UTC is 07:59:58 on 07-01 in Beijing; the day becomes 2025-01-14, the time stays.
    expect(v.ts).toBe(Date.parse('2025-01-14T07:59:58+08:00') / 1000);
    // The record timestamp is the time cdc produced it (CreateTime, as Maxwell's), not the business time: a mock
    // day's records stamped 2025 would be older than the topic's retention the moment they are written.
    for (const r of [rec!, back!]) {
      expect(r.timestamp).toBeGreaterThanOrEqual(t0);
      expect(r.timestamp).toBeLessThanOrEqual(t1);
    }
    // A time before the mock day is a business time already (rtwh mock db's back-dated days): kept.
    expect((JSON.parse(back!.value!.toString()) as { ts: number }).ts).toBe(Date.parse('2025-01-10T01:00:00Z') / 1000);
  }, 60_000);
});

describe('debezium round trip', () => {
  test('c, u (full before image), d with binlog coordinates', async () => {
    const topic = kafkaTopic('cdc_chg_dbz');
    const cdc = startCdc({ bus: kafka, database: DB, topic, format: 'debezium' });
    await cdc.started;
    await a.query(`INSERT INTO \`${DB}\`.order_info VALUES (77, 1, '1001', 10.00, '2025-01-14 10:00:00', NULL);
      UPDATE \`${DB}\`.order_info SET order_status = '1002' WHERE id = 77;
      DELETE FROM \`${DB}\`.order_info WHERE id = 77;`);
    const recs = values(await readTopic(kafka, topic, 3));
    await cdc.stop();
    expect(recs.map((v) => v.op)).toEqual(['c', 'u', 'd']);
    const row = { id: 77, user_id: 1, order_status: '1001', total_amount: 'A+g=', create_time: Date.parse('2025-01-14T10:00:00Z'), operate_time: null };
    expect(recs[0]!.after).toEqual(row);
    expect(recs[1]!.before).toEqual(row);
    expect(recs[1]!.after).toEqual({ ...row, order_status: '1002' });
    expect(recs[2]!.before).toEqual({ ...row, order_status: '1002' });
    expect(recs[2]!.after).toBeNull();
    for (const v of recs) {
      const s = v.source as Record<string, unknown>;
      expect(s.version).toBe('1.9.8.Final');
      expect(s.name).toBe('mysql_binlog_source');
      expect(s.row).toBe(0);
      expect(Math.abs((s.ts_ms as number) - Date.now())).toBeLessThan(120_000);
      expect(v.transaction).toBeNull();
    }
  }, 60_000);
});
