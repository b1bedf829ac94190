/**
 * --sku-count against the real MariaDB of scripts/stack.sh and through the commands: the SKUs --init creates
 * are the ones later days read back (MAX(id) of sku_info, or the state file of --to) and draw from; a later
 * --sku-count that differs is refused before anything is written.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtwhError } from '../../../src/errors';
import { mockDbOptions } from '../../../src/mock/db/options';
import { runMockDb } from '../../../src/mock/db/run';
import { connectMysql, type MysqlConn } from '../../../src/store/mysql';
import { cli } from '../../helpers/cli';
import { adminConn, dropDb, uniqueDb, urlFor } from './mysql-env';

const DATE = '2025-01-14';
const db = uniqueDb();
const dirs: string[] = [];
let admin: MysqlConn;
let conn: MysqlConn;

beforeAll(async () => {
  admin = await adminConn();
  await runMockDb({ dates: [DATE], seed: 4, options: mockDbOptions({ skuCount: 50, scale: 2 }), init: true, skuCountGiven: true, target: { kind: 'mysql', url: urlFor(db) } });
  // the next days without --sku-count: exact, then --fast with the generating thread
  await runMockDb({ dates: ['2025-01-15'], seed: 4, options: mockDbOptions({ scale: 2 }), init: false, target: { kind: 'mysql', url: urlFor(db) } });
  await runMockDb({ dates: ['2025-01-16'], seed: 4, options: mockDbOptions({ scale: 2 }), init: false, target: { kind: 'mysql', url: urlFor(db), fast: true, worker: true } });
  conn = await connectMysql(urlFor(db));
}, 120_000);

afterAll(async () => {
  await conn?.close();
  await dropDb(admin, db);
  await admin?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function one(sql: string): Promise<number> {
  const rows = await conn.query<{ n: number | string | null }[]>(sql);
  return Number(rows[0]!.n);
}

describe('mock db --init --sku-count 50 into MariaDB, then days without it', () => {
  test('50 sku_info and financial_sku_cost rows, each SKU with its SPU, brand and category3', async () => {
    expect(await one('SELECT COUNT(*) n FROM sku_info')).toBe(50);
    expect(await one('SELECT COUNT(DISTINCT sku_name) n FROM sku_info')).toBe(50);
    expect(await one('SELECT COUNT(*) n FROM financial_sku_cost f JOIN sku_info s ON s.id = f.sku_id')).toBe(50);
    expect(await one(
      `SELECT COUNT(*) n FROM sku_info s JOIN spu_info p ON p.id = s.spu_id AND p.tm_id = s.tm_id AND p.category3_id = s.category3_id
       JOIN base_trademark t ON t.id = s.tm_id JOIN base_category3 c ON c.id = s.category3_id`,
    )).toBe(50);
  });

  test('every day draws from all 50: favorites, carts and order details above 35, each an existing SKU at its price', async () => {
    for (const table of ['favor_info', 'cart_info', 'order_detail', 'comment_info']) {
      expect(await one(`SELECT COUNT(*) n FROM ${table} x LEFT JOIN sku_info s ON s.id = x.sku_id WHERE s.id IS NULL`), table).toBe(0);
    }
    for (const day of ['2025-01-14', '2025-01-15', '2025-01-16']) {
      expect(await one(`SELECT COUNT(*) n FROM cart_info WHERE sku_id > 35 AND DATE(create_time) = '${day}'`), day).toBeGreaterThan(0);
      expect(await one(`SELECT COUNT(*) n FROM order_detail WHERE sku_id > 35 AND DATE(create_time) = '${day}'`), day).toBeGreaterThan(0);
    }
    expect(await one('SELECT COUNT(*) n FROM favor_info WHERE sku_id > 35')).toBeGreaterThan(0);
    expect(await one('SELECT COUNT(*) n FROM order_detail d JOIN sku_info s ON s.id = d.sku_id WHERE d.sku_name <> s.sku_name OR d.order_price <> s.price')).toBe(0);
  });

  test('a later run given another --sku-count is refused before it writes; the same count is fine', async () => {
    const orders = await one('SELECT COUNT(*) n FROM order_info');
    let err: unknown;
    try {
      await runMockDb({ dates: ['2025-01-17'], seed: 4, options: mockDbOptions({ skuCount: 60 }), init: false, skuCountGiven: true, target: { kind: 'mysql', url: urlFor(db) } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RtwhError);
    expect((err as RtwhError).code).toBe('USAGE');
    expect((err as RtwhError).message).toMatch(/^--sku-count 60 does not match the 50 SKUs of gmall_t_\w+ on [\d.]+:\d+: the SKU count is set by --init$/);
    expect((err as RtwhError).hint).toContain('--init --sku-count 60');
    expect(await one('SELECT COUNT(*) n FROM order_info')).toBe(orders);
    await runMockDb({ dates: ['2025-01-17'], seed: 4, options: mockDbOptions({ skuCount: 50 }), init: false, skuCountGiven: true, target: { kind: 'mysql', url: urlFor(db) } });
    expect(await one('SELECT COUNT(*) n FROM order_info')).toBeGreaterThan(orders);
  }, 60_000);
});

describe('the commands', () => {
  test('a bad --sku-count names the value, what was expected and why', async () => {
    for (const v of ['10', 'abc']) {
      const r = await cli(['mock', 'db', '--date', DATE, '--init', '--sku-count', v, '--mysql', urlFor(db)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid --sku-count "${v}": expected a whole number from 35 to 100000`);
      expect(r.stderr).toContain('activities');
    }
  });

  test('--help tells what --sku-count does and that mock log takes the same number', async () => {
    const r = await cli(['mock', 'db', '--help']);
    expect(r.stdout).toContain('--sku-count <n>');
    expect(r.stdout).toContain('--max-sku-id');
    const log = await cli(['mock', 'log', '--help']);
    expect(log.stdout).toContain('--max-sku-id');
  });

  test('--to: the state file keeps the SKU count; a later day given another one exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtwh-skucount-'));
    dirs.push(dir);
    const env = { RTWH_BUS: `sqlite:${join(dir, 'bus.db')}` };
    const init = await cli(['mock', 'db', '--date', DATE, '--init', '--sku-count', '40', '--to', 'ods_db', '--seed', '3', '--scale', '0.2', '--json'], { env, cwd: dir });
    expect(init.code).toBe(0);
    expect((JSON.parse(init.stdout) as { tables: Record<string, number> }).tables.sku_info).toBe(40);
    const other = await cli(['mock', 'db', '--date', '2025-01-15', '--sku-count', '35', '--to', 'ods_db', '--seed', '3'], { env, cwd: dir });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('--sku-count 35 does not match the 40 SKUs of the state of topic ods_db');
    const same = await cli(['mock', 'db', '--date', '2025-01-15', '--sku-count', '40', '--to', 'ods_db', '--seed', '3', '--scale', '0.2'], { env, cwd: dir });
    expect(same.code).toBe(0);
    const next = await cli(['mock', 'db', '--date', '2025-01-16', '--to', 'ods_db', '--seed', '3', '--scale', '0.2'], { env, cwd: dir });
    expect(next.code).toBe(0);
  }, 60_000);
});
