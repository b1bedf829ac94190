/**
 * `mock db` against the real MariaDB of scripts/stack.sh and the embedded bus: schema and base data, one day
 * checked by SQL, determinism across databases (and between exact and fast writes), and `--to` giving the
 * same changes as Maxwell records. Each run uses its own databases and drops them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBus } from '../../../src/bus/index';
import type { BusRecord } from '../../../src/bus/types';
import { BASE_DIC } from '../../../src/mock/db/catalog';
import { maxwellPartition } from '../../../src/formats/maxwell';
import { mockDbOptions } from '../../../src/mock/db/options';
import { DayThread } from '../../../src/mock/db/day-thread';
import { busStatePath, runMockDb } from '../../../src/mock/db/run';
import { primaryKeyOf, TABLES, UPDATED_IN_PLACE } from '../../../src/mock/db/schema';
import { connectMysql, type MysqlConn } from '../../../src/store/mysql';
import { cli } from '../../helpers/cli';
import { adminConn, dropDb, uniqueDb, urlFor } from './mysql-env';
import { FLOWS } from './stream-checks';

const DATE = '2025-01-14';
const SEED = 7;
const dbs = { a: uniqueDb(), b: uniqueDb(), fast: uniqueDb(), cli: uniqueDb(), init: uniqueDb() };
const dirs: string[] = [];
let admin: MysqlConn;
let a: MysqlConn;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rtwh-mockdb-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  admin = await adminConn();
  const r = await runMockDb({ dates: [DATE], seed: SEED, options: mockDbOptions(), init: true, target: { kind: 'mysql', url: urlFor(dbs.a) } });
  expect(r.rows).toBeGreaterThan(2000);
  a = await connectMysql(urlFor(dbs.a), { multipleStatements: true });
}, 120_000);

afterAll(async () => {
  await a?.close();
  for (const db of Object.values(dbs)) await dropDb(admin, db);
  await admin?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function count(conn: MysqlConn, sql: string): Promise<number> {
  const rows = await conn.query<{ n: number | string }[]>(sql);
  return Number(rows[0]!.n);
}

async function checksums(db: string): Promise<Record<string, string>> {
  const rows = await admin.query<{ Table: string; Checksum: string | number | null }[]>(
    `CHECKSUM TABLE ${TABLES.map((t) => `\`${db}\`.\`${t.name}\``).join(', ')}`,
  );
  return Object.fromEntries(rows.map((r) => [r.Table.slice(db.length + 1), String(r.Checksum)]));
}

describe('mock db --init into MariaDB', () => {
  test('creates every gmall table as utf8mb4, the updated ones ROW_FORMAT=REDUNDANT', async () => {
    const tables = await a.query<{ TABLE_NAME: string; TABLE_COLLATION: string; ROW_FORMAT: string }[]>(
      `SELECT TABLE_NAME, TABLE_COLLATION, ROW_FORMAT FROM information_schema.TABLES WHERE TABLE_SCHEMA='${dbs.a}' AND TABLE_TYPE='BASE TABLE'`,
    );
    expect(tables.map((t) => t.TABLE_NAME).sort()).toEqual(TABLES.map((t) => t.name).sort());
    expect(tables.every((t) => t.TABLE_COLLATION.startsWith('utf8mb4'))).toBe(true);
    expect(tables.filter((t) => t.ROW_FORMAT === 'Redundant').map((t) => t.TABLE_NAME).sort()).toEqual([...UPDATED_IN_PLACE].sort());
    const cs = await a.query<{ c: string }[]>(
      `SELECT DISTINCT CHARACTER_SET_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='${dbs.a}' AND CHARACTER_SET_NAME IS NOT NULL`,
    );
    expect(cs.map((r) => r.c)).toEqual(['utf8mb4']);
    expect(await count(a, 'SELECT COUNT(*) n FROM base_category_view')).toBeGreaterThan(100);
  });

  test('loads the base data', async () => {
    expect(await count(a, 'SELECT COUNT(*) n FROM base_province')).toBe(34);
    expect(await count(a, 'SELECT COUNT(*) n FROM base_region')).toBe(7);
    expect(await count(a, 'SELECT COUNT(*) n FROM base_dic')).toBe(BASE_DIC.length);
    expect(await count(a, 'SELECT COUNT(*) n FROM sku_info WHERE price > 0')).toBe(35);
    expect(await count(a, 'SELECT COUNT(*) n FROM spu_info')).toBe(12);
    expect(await count(a, 'SELECT COUNT(*) n FROM activity_rule')).toBe(6);
    expect(await count(a, 'SELECT COUNT(*) n FROM coupon_range')).toBe(3);
    expect(await count(a, `SELECT COUNT(*) n FROM user_info WHERE create_time < '${DATE}'`)).toBe(1000);
    const [p] = await a.query<{ name: string }[]>('SELECT name FROM base_province WHERE id = 26');
    expect(p!.name).toBe('广东');
  });
});

describe('one generated day, checked by SQL', () => {
  test('every reference resolves', async () => {
    const orphans: Record<string, string> = {
      'order_detail → order_info': 'SELECT COUNT(*) n FROM order_detail d LEFT JOIN order_info o ON d.order_id = o.id WHERE o.id IS NULL',
      'order_detail → sku_info': 'SELECT COUNT(*) n FROM order_detail d LEFT JOIN sku_info s ON d.sku_id = s.id WHERE s.id IS NULL',
      'payment_info → order_info': 'SELECT COUNT(*) n FROM payment_info p LEFT JOIN order_info o ON p.order_id = o.id WHERE o.id IS NULL',
      'order_detail_activity → order_detail': 'SELECT COUNT(*) n FROM order_detail_activity x LEFT JOIN order_detail d ON x.order_detail_id = d.id AND x.order_id = d.order_id WHERE d.id IS NULL',
      'order_detail_activity → activity_rule': 'SELECT COUNT(*) n FROM order_detail_activity x LEFT JOIN activity_rule r ON x.activity_rule_id = r.id AND x.activity_id = r.activity_id WHERE r.id IS NULL',
      'order_detail_coupon → coupon_use': 'SELECT COUNT(*) n FROM order_detail_coupon x LEFT JOIN coupon_use c ON x.coupon_use_id = c.id AND x.coupon_id = c.coupon_id WHERE c.id IS NULL',
      // a cancelled order gives its coupon back (order_id cleared); every other order keeps it
      'order_detail_coupon → coupon_use.order_id': "SELECT COUNT(*) n FROM order_detail_coupon x JOIN coupon_use c ON x.coupon_use_id = c.id JOIN order_info o ON x.order_id = o.id WHERE o.order_status <> '1003' AND NOT (c.order_id <=> x.order_id)",
      'coupon_use → order_info': 'SELECT COUNT(*) n FROM coupon_use c LEFT JOIN order_info o ON c.order_id = o.id WHERE c.order_id IS NOT NULL AND o.id IS NULL',
      'order_refund_info → order_detail': 'SELECT COUNT(*) n FROM order_refund_info r LEFT JOIN order_detail d ON r.order_id = d.order_id AND r.sku_id = d.sku_id WHERE d.id IS NULL',
      'refund_payment → order_refund_info': 'SELECT COUNT(*) n FROM refund_payment p LEFT JOIN order_refund_info r ON p.order_id = r.order_id AND p.sku_id = r.sku_id WHERE r.id IS NULL',
      'comment_info → order_detail': 'SELECT COUNT(*) n FROM comment_info c LEFT JOIN order_detail d ON c.order_id = d.order_id AND c.sku_id = d.sku_id WHERE d.id IS NULL',
      'order_info → user_info': 'SELECT COUNT(*) n FROM order_info o LEFT JOIN user_info u ON o.user_id = u.id WHERE u.id IS NULL',
      'order_info → base_province': 'SELECT COUNT(*) n FROM order_info o LEFT JOIN base_province p ON o.province_id = p.id WHERE p.id IS NULL',
      'cart_info → user_info': 'SELECT COUNT(*) n FROM cart_info c LEFT JOIN user_info u ON CAST(c.user_id AS UNSIGNED) = u.id WHERE u.id IS NULL',
      'favor_info → sku_info': 'SELECT COUNT(*) n FROM favor_info f LEFT JOIN sku_info s ON f.sku_id = s.id AND f.spu_id = s.spu_id WHERE s.id IS NULL',
      'order_status_log → order_info': 'SELECT COUNT(*) n FROM order_status_log l LEFT JOIN order_info o ON l.order_id = o.id WHERE o.id IS NULL',
    };
    const found: Record<string, number> = {};
    for (const [name, sql] of Object.entries(orphans)) found[name] = await count(a, sql);
    expect(found).toEqual(Object.fromEntries(Object.keys(orphans).map((k) => [k, 0])));
    expect(await count(a, 'SELECT COUNT(*) n FROM order_info o WHERE NOT EXISTS (SELECT 1 FROM order_detail d WHERE d.order_id = o.id)')).toBe(0);
  });

  test('amounts add up', async () => {
    const bad = await count(a, `SELECT COUNT(*) n FROM order_info o JOIN (
        SELECT order_id, SUM(order_price * sku_num) orig, SUM(split_total_amount) tot, SUM(split_activity_amount) act, SUM(split_coupon_amount) cou
        FROM order_detail GROUP BY order_id) d ON d.order_id = o.id
      WHERE d.orig <> o.original_total_amount OR d.act <> o.activity_reduce_amount OR d.cou <> o.coupon_reduce_amount
         OR d.tot <> o.original_total_amount - o.activity_reduce_amount - o.coupon_reduce_amount
         OR o.total_amount <> o.original_total_amount - o.activity_reduce_amount - o.coupon_reduce_amount + o.feight_fee`);
    expect(bad).toBe(0);
    expect(await count(a, 'SELECT COUNT(*) n FROM payment_info p JOIN order_info o ON p.order_id = o.id WHERE p.total_amount <> o.total_amount')).toBe(0);
  });

  test('statuses follow the flows, and the status log tells each order\'s story', async () => {
    const logs = await a.query<{ order_id: number; order_status: string }[]>('SELECT order_id, order_status FROM order_status_log ORDER BY id');
    const orders = await a.query<{ id: number; order_status: string }[]>('SELECT id, order_status FROM order_info');
    const path = new Map<number, string[]>();
    for (const l of logs) path.set(l.order_id, [...(path.get(l.order_id) ?? []), l.order_status]);
    const flow = FLOWS.order_info!;
    for (const o of orders) {
      const p = path.get(o.id) ?? [];
      expect(p[0], `order ${o.id}`).toBe(flow.first);
      for (let i = 1; i < p.length; i++) expect(flow.moves, `order ${o.id}: ${p.join(' → ')}`).toContain(`${p[i - 1]}>${p[i]}`);
      expect(p[p.length - 1], `order ${o.id}`).toBe(o.order_status);
    }
    const statuses = new Set(orders.map((o) => o.order_status));
    for (const s of ['1001', '1002', '1003', '1004', '1005', '1006']) expect(statuses.has(s) || s === '1001' || s === '1005', s).toBe(true);
    // payments, coupons and refunds agree with the orders
    expect(await count(a, "SELECT COUNT(*) n FROM payment_info p JOIN order_info o ON p.order_id = o.id WHERE p.payment_status = '1602' AND o.order_status IN ('1001', '1003')")).toBe(0);
    expect(await count(a, "SELECT COUNT(*) n FROM order_info o LEFT JOIN payment_info p ON p.order_id = o.id AND p.payment_status = '1602' WHERE o.order_status IN ('1002','1004','1005','1006') AND p.id IS NULL")).toBe(0);
    expect(await count(a, "SELECT COUNT(*) n FROM coupon_use c JOIN order_info o ON c.order_id = o.id WHERE c.coupon_status = '1403' AND o.order_status IN ('1001','1003')")).toBe(0);
    expect(await count(a, "SELECT COUNT(*) n FROM order_refund_info r JOIN order_info o ON r.order_id = o.id WHERE (r.refund_status = '0705') <> (o.order_status = '1006')")).toBe(0);
    expect(await count(a, "SELECT COUNT(*) n FROM refund_payment p JOIN order_refund_info r ON p.order_id = r.order_id WHERE (p.refund_status = '1602') <> (r.refund_status = '0705')")).toBe(0);
    expect(await count(a, "SELECT COUNT(*) n FROM comment_info c JOIN order_info o ON c.order_id = o.id WHERE o.order_status <> '1004'")).toBe(0);
  });

  test('every create/operate time of the day falls on the date', async () => {
    const cols: Record<string, string[]> = {
      order_info: ['create_time', 'operate_time'], order_detail: ['create_time'], payment_info: ['create_time', 'callback_time'],
      cart_info: ['create_time', 'operate_time', 'order_time'], coupon_use: ['get_time', 'using_time', 'used_time'],
      favor_info: ['create_time', 'cancel_time'], comment_info: ['create_time'], order_refund_info: ['create_time'],
      refund_payment: ['create_time', 'callback_time'], order_status_log: ['operate_time'],
    };
    for (const [t, cs] of Object.entries(cols)) {
      for (const c of cs) expect(await count(a, `SELECT COUNT(*) n FROM ${t} WHERE ${c} IS NOT NULL AND DATE(${c}) <> '${DATE}'`), `${t}.${c}`).toBe(0);
    }
    expect(await count(a, `SELECT COUNT(*) n FROM user_info WHERE operate_time IS NOT NULL AND DATE(operate_time) <> '${DATE}'`)).toBe(0);
    expect(await count(a, `SELECT COUNT(*) n FROM user_info WHERE DATE(create_time) = '${DATE}'`)).toBe(100);
  });
});

describe('determinism', () => {
  test('the same seed gives identical databases, whether written exactly or --fast (groups built in a worker thread or inline)', async () => {
    const exact = await runMockDb({ dates: [DATE], seed: SEED, options: mockDbOptions(), init: true, target: { kind: 'mysql', url: urlFor(dbs.b) } });
    const ca = await checksums(dbs.a);
    expect(Object.keys(ca).length).toBe(TABLES.length);
    expect(await checksums(dbs.b)).toEqual(ca);
    for (const worker of [true, false]) {
      const fast = await runMockDb({ dates: [DATE], seed: SEED, options: mockDbOptions(), init: true, target: { kind: 'mysql', url: urlFor(dbs.fast), fast: true, batchRows: 700, worker } });
      expect(await checksums(dbs.fast)).toEqual(ca);
      expect(fast.rows).toBe(exact.rows);
      expect(fast.perTable).toEqual(exact.perTable);
    }
  }, 120_000);

  test('the generating thread starts when run from source', async () => {
    const thread = await DayThread.start();
    expect(thread).toBeDefined();
    thread?.close();
  });

  test('mock init: back-dated days then the current day, ids continuing, same as day-by-day runs', async () => {
    const options = mockDbOptions({ initUsers: 200, userCount: 20, favorCount: 20, couponUserCount: 20 });
    await runMockDb({ dates: ['2025-01-12', '2025-01-13', DATE], seed: 3, options, init: true, target: { kind: 'mysql', url: urlFor(dbs.init), fast: true } });
    const c = await connectMysql(urlFor(dbs.init));
    try {
      const days = await c.query<{ d: string; n: number }[]>("SELECT DATE_FORMAT(create_time, '%Y-%m-%d') d, COUNT(*) n FROM user_info WHERE create_time >= '2025-01-12' GROUP BY d ORDER BY d");
      expect(days.map((x) => [x.d, Number(x.n)])).toEqual([['2025-01-12', 20], ['2025-01-13', 20], [DATE, 20]]);
      // order ids grow with time across the days
      const bad = await count(c, 'SELECT COUNT(*) n FROM order_info a JOIN order_info b ON a.id < b.id AND a.create_time > b.create_time');
      expect(bad).toBe(0);
    } finally {
      await c.close();
    }
    // The same three days as three runs (the state read back from the database each time) give the same tables.
    const step = uniqueDb();
    try {
      await runMockDb({ dates: ['2025-01-12'], seed: 3, options, init: true, target: { kind: 'mysql', url: urlFor(step), fast: true } });
      await runMockDb({ dates: ['2025-01-13'], seed: 3, options, init: false, target: { kind: 'mysql', url: urlFor(step) } });
      await runMockDb({ dates: [DATE], seed: 3, options, init: false, target: { kind: 'mysql', url: urlFor(step), fast: true } });
      expect(await checksums(step)).toEqual(await checksums(dbs.init));
    } finally {
      await dropDb(admin, step);
    }
    // Two days in one run from a state read back once (the users read light; each day reads whole the rows it
    // changes, the second day after the first one is written), inline and in the generating thread.
    for (const worker of [false, true]) {
      const two = uniqueDb();
      try {
        await runMockDb({ dates: ['2025-01-12'], seed: 3, options, init: true, target: { kind: 'mysql', url: urlFor(two), fast: true } });
        await runMockDb({ dates: ['2025-01-13', DATE], seed: 3, options, init: false, target: { kind: 'mysql', url: urlFor(two), fast: true, worker } });
        expect(await checksums(two)).toEqual(await checksums(dbs.init));
      } finally {
        await dropDb(admin, two);
      }
    }
  }, 120_000);
});

describe('the binlog', () => {
  test('carries each business transaction at its mock time (SET TIMESTAMP), in time order', async () => {
    const db = uniqueDb();
    try {
      const options = mockDbOptions({ initUsers: 50, userCount: 10, favorCount: 5, couponUserCount: 5, cartUserRate: 20 });
      await runMockDb({ dates: ['2025-01-13'], seed: 4, options, init: true, target: { kind: 'mysql', url: urlFor(db), fast: true } });
      const [status] = await admin.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
      await runMockDb({ dates: [DATE], seed: 4, options, init: false, target: { kind: 'mysql', url: urlFor(db) } });
      const t = new URL(urlFor(db));
      const proc = Bun.spawnSync(
        ['mariadb-binlog', '--read-from-remote-server', `-h${t.hostname}`, `-P${t.port}`, `-u${decodeURIComponent(t.username)}`,
          `--start-position=${status!.Position}`, '--to-last-log', status!.File, '--base64-output=decode-rows', '-v'],
        // the password travels in the environment, not on the command line
        { env: { ...process.env, TZ: 'UTC', MYSQL_PWD: decodeURIComponent(t.password) } },
      );
      expect(proc.exitCode, proc.stderr.toString()).toBe(0);
      let table = '';
      let time = 0;
      let inUserInsert = false;
      const times: number[] = [];
      let checked = 0;
      for (const line of proc.stdout.toString().split('\n')) {
        const h = /^#(\d\d)(\d\d)(\d\d) +(\d+):(\d\d):(\d\d) server id/.exec(line);
        if (h) time = Date.UTC(2000 + Number(h[1]), Number(h[2]) - 1, Number(h[3]), Number(h[4]), Number(h[5]), Number(h[6]));
        const tm = /Table_map: `([^`]+)`\.`([^`]+)`/.exec(line);
        if (tm) table = tm[1] === db ? tm[2]! : '';
        if (table && /(Write|Update)_rows/.test(line)) times.push(time);
        if (line.startsWith('### INSERT INTO ')) inUserInsert = line === `### INSERT INTO \`${db}\`.\`user_info\``;
        const created = /^###   @12='(.+)'$/.exec(line);
        if (inUserInsert && created) {
          // binlog time (UTC) + 8 h = the Beijing wall clock of create_time
          expect(new Date(time + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19)).toBe(created[1]!);
          checked++;
        }
      }
      expect(checked).toBe(10);
      expect(times.length).toBeGreaterThan(50);
      expect(times).toEqual([...times].sort((x, y) => x - y));
      const start = Date.parse(`${DATE}T00:00:00+08:00`);
      expect(times.every((x) => x >= start && x < start + 86_400_000)).toBe(true);
    } finally {
      await dropDb(admin, db);
    }
  }, 60_000);
});

describe('--to: the same changes as Maxwell records on the bus', () => {
  test('valid Maxwell JSON in time order, partitioned by table, ending in the same rows as MySQL', async () => {
    const dir = tempDir();
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      const statePath = busStatePath(join(dir, '.rtwh'), bus.displayUrl, 'ods_db');
      const t0 = Date.now();
      const r = await runMockDb({
        dates: [DATE], seed: SEED, options: mockDbOptions(), init: true,
        target: { kind: 'bus', bus, topic: 'ods_db', database: 'gmall', partitions: 3, statePath },
      });
      const t1 = Date.now();
      const consumer = await bus.consumer({ topics: ['ods_db'], maxPollRecords: 100_000 });
      const records: BusRecord[] = [];
      for (;;) {
        const got = await consumer.poll({ timeoutMs: 200 });
        if (got.length === 0) break;
        records.push(...got);
      }
      await consumer.close();
      // the rows, and a bootstrap-start and -complete for each of the 17 base tables
      expect(r.records).toBe(r.rows + 2 * 17);
      expect(records.length).toBe(r.records!);

      const lastTs = new Map<number, number>();
      const final = new Map<string, Record<string, unknown>>();
      let commits = 0;
      let bootstrapRows = 0;
      for (const rec of records) {
        const text = rec.value!.toString();
        const m = JSON.parse(text) as { database: string; table: string; type: string; ts: number; xid: number; xoffset?: number; commit?: boolean; data: Record<string, unknown>; old?: Record<string, unknown> };
        const marker = m.type === 'bootstrap-start' || m.type === 'bootstrap-complete';
        if (m.type.startsWith('bootstrap-')) {
          // The base data, as cdc's bootstrap sends the rows MySQL holds when it starts: outside any transaction.
          expect(Object.keys(m)).toEqual(['database', 'table', 'type', 'ts', 'data']);
          if (!marker) bootstrapRows++;
        } else {
          expect(Object.keys(m).filter((k) => !['xoffset', 'commit', 'old'].includes(k))).toEqual(['database', 'table', 'type', 'ts', 'xid', 'data']);
          expect(m.commit === true || typeof m.xoffset === 'number').toBe(true);
        }
        if (m.commit) commits++;
        expect(m.ts).toBeGreaterThanOrEqual(lastTs.get(rec.partition) ?? 0);
        lastTs.set(rec.partition, m.ts);
        // Produced now (CreateTime), the business time in ts: a 2025 timestamp would be past the topic's retention.
        expect(rec.timestamp).toBeGreaterThanOrEqual(t0);
        expect(rec.timestamp).toBeLessThanOrEqual(t1);
        const key = JSON.parse(rec.key!.toString()) as Record<string, unknown>;
        const pk = primaryKeyOf(m.table);
        expect(key.database).toBe('gmall');
        // bootstrap-start/-complete name the key column without a value, as Maxwell's
        if (pk.length > 0) expect(key['pk.id']).toBe(marker ? null : m.data.id);
        else expect(typeof key._uuid).toBe('string');
        expect(rec.partition).toBe(maxwellPartition({ database: 'gmall', table: m.table, type: 'insert', ts: 0, primaryKey: pk, data: {} }, 3));
        if (m.type === 'update') expect(Object.keys(m.old ?? {}).length).toBeGreaterThan(0);
        if (pk.length > 0 && !marker) final.set(`${m.table}:${String(m.data.id)}`, m.data);
      }
      expect(bootstrapRows).toBe(r.baseRows);
      expect(commits).toBeGreaterThan(1000);
      expect(new Set(records.map((x) => x.partition)).size).toBeGreaterThan(1);

      // The records end where the MySQL database written from the same seed ended.
      for (const t of ['order_info', 'order_detail', 'payment_info', 'coupon_use', 'cart_info', 'user_info', 'order_refund_info', 'comment_info']) {
        const rows = await a.query<Record<string, unknown>[]>(`SELECT * FROM ${t}`);
        expect([...final.keys()].filter((k) => k.startsWith(`${t}:`)).length, t).toBe(rows.length);
        for (const row of rows) {
          const m = final.get(`${t}:${String(row.id)}`)!;
          for (const [k, v] of Object.entries(row)) {
            const got = m[k];
            if (v === null) expect(got, `${t}.${k}`).toBeNull();
            else if (typeof got === 'number') expect(got, `${t}.${k}`).toBe(Number(v));
            else expect(got, `${t}.${k}`).toBe(v);
          }
        }
      }
    } finally {
      await bus.close();
    }
  }, 120_000);
});

describe('the commands', () => {
  test('mock db --init --json into MySQL, then the next day from the database', async () => {
    const url = urlFor(dbs.cli);
    const first = await cli(['mock', 'db', '--date', DATE, '--init', '--seed', '5', '--mysql', url, '--json', '--scale', '0.2']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.stdout) as { rows: number; tables: Record<string, number>; seed: number; dates: string[] };
    expect(doc.seed).toBe(5);
    expect(doc.tables.base_province).toBe(34);
    const next = await cli(['mock', 'db', '--date', '2025-01-15', '--mysql', url, '--seed', '5', '--fast']);
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/^wrote [\d,]+ rows into gmall_t_\w+ on [\d.]+:\d+ for 2025-01-15 \(.*user_info.*; seed 5\) in [\d.]+ m?s \([\d,]+ rows\/s\)\n$/);
  }, 60_000);

  test('mock init --to and mock db --to continue ids through the state file', async () => {
    const dir = tempDir();
    const env = { RTWH_BUS: `sqlite:${join(dir, 'bus.db')}` };
    const init = await cli(['mock', 'init', '--days', '1', '--until', DATE, '--to', 'ods_db', '--seed', '9', '--scale', '0.2'], { env, cwd: dir });
    expect(init.code).toBe(0);
    expect(init.stderr).toContain('for 2 days 2025-01-13 … 2025-01-14');
    const next = await cli(['mock', 'db', '--date', '2025-01-15', '--to', 'ods_db', '--seed', '9', '--scale', '0.2', '--json'], { env, cwd: dir });
    expect(next.code).toBe(0);
    const bus = await openBus(env.RTWH_BUS);
    try {
      const c = await bus.consumer({ topics: ['ods_db'], maxPollRecords: 100_000 });
      const ids: [string, number][] = [];
      for (;;) {
        const got = await c.poll({ timeoutMs: 200 });
        if (got.length === 0) break;
        for (const r of got) {
          const m = JSON.parse(r.value!.toString()) as { table: string; type: string; data: { id: number; create_time: string } };
          if (m.table === 'order_info' && m.type === 'insert') ids.push([m.data.create_time, m.data.id]);
        }
      }
      await c.close();
      expect(ids.some(([t]) => t.startsWith('2025-01-15'))).toBe(true);
      const sorted = ids.map(([, id]) => id);
      expect(new Set(sorted).size).toBe(sorted.length);
      expect(sorted).toEqual([...sorted].sort((x, y) => x - y));
    } finally {
      await bus.close();
    }
  }, 60_000);

  test('bad values name the flag and the fix', async () => {
    const badDate = await cli(['mock', 'db', '--date', '2025-1-15', '--mysql', urlFor(dbs.cli)]);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('invalid --date "2025-1-15": expected YYYY-MM-DD (did you mean 2025-01-15?)');
    const badKnob = await cli(['mock', 'db', '--date', DATE, '--payment-rate', '170', '--mysql', urlFor(dbs.cli)]);
    expect(badKnob.code).toBe(2);
    expect(badKnob.stderr).toContain('invalid --payment-rate "170"');
    const noDb = await cli(['mock', 'db', '--date', DATE]);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('no business database');
    const badDays = await cli(['mock', 'init', '--days', 'x', '--until', DATE, '--to', 'ods_db']);
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toContain('invalid --days "x"');
  });

  test('an unreachable MySQL exits 4 naming host:port, never the password', async () => {
    const r = await cli(['mock', 'db', '--date', DATE, '--mysql', 'mysql://root:hunter2@127.0.0.1:1/gmall']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('cannot reach MySQL at 127.0.0.1:1');
    expect(r.stderr).not.toContain('hunter2');
  });

  test('a day without --init on an empty database says to run --init', async () => {
    const db = uniqueDb();
    await admin.query(`CREATE DATABASE \`${db}\``);
    try {
      const r = await cli(['mock', 'db', '--date', DATE, '--mysql', urlFor(db)]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('--init');
    } finally {
      await dropDb(admin, db);
    }
  });
});
