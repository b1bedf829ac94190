/**
 * Golden days for the trade windows: `rtwh mock db --init` writes one seeded day (and a busier next one) onto an embedded bus, `dwd trade`
 * turns it into facts (runInMemory, dims folded from the same topic by the dim routing rules), and the five trade
 * window jobs run over those facts. Every window row must equal an independent computation in DuckDB SQL over
 * the same facts and dims (windows, Beijing time, dedupe, distinct counts, exact decimal sums and name lookups
 * all written as SQL).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import { standardRules } from '../../src/dim/config';
import { route } from '../../src/dim/route';
import { dwdTradeJob } from '../../src/dwd/trade';
import {
  dwsTradeOrderWindowJob,
  dwsTradePaymentSucWindowJob,
  dwsTradeProvinceOrderWindowJob,
  dwsTradeSkuOrderWindowJob,
  dwsTradeTrademarkCategoryUserRefundWindowJob,
} from '../../src/dws/trade';
import { dwsTable } from '../../src/dws/tables';
import { decodeChanges, parseExact } from '../../src/formats/validated-change';
import { ExactDecimal } from '../../src/output/result';
import { runInMemory, type Emitted } from '../../src/stream/engine';
import type { DimReader, InputRecord, JobSpec } from '../../src/stream/types';
import { openDuckDB, type DuckStore } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';
import { readAll } from '../helpers/bus';
import { applyDimWrites, dimReaderOf, type DimTables } from '../helpers/dims';

const DIM_TABLES = ['dim_sku_info', 'dim_spu_info', 'dim_base_trademark', 'dim_base_category3', 'dim_base_category2', 'dim_base_category1', 'dim_base_province', 'dim_base_dic'];


type Tables = DimTables;

/** The dim tables as `run dim` would hold them: the topic's changes through the standard routing rules. */
function foldDims(records: readonly InputRecord[]): Tables {
  const rules = new Map(standardRules().map((r) => [r.sourceTable, r]));
  const tables: Tables = new Map();
  for (const r of records) {
    const d = decodeChanges(r.value, { key: r.key });
    if (!d.ok) continue;
    for (const c of d.changes) {
      const res = route(c, 'gmall', rules);
      if (res.kind === 'writes') applyDimWrites(tables, res.writes);
    }
  }
  return tables;
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof ExactDecimal) return v.text;
  if (typeof v === 'object') throw new Error(`unexpected value ${JSON.stringify(v)}`);
  return String(v);
}

const lit = (v: unknown): string => {
  const t = text(v);
  return t === null ? 'NULL' : `'${t.replace(/'/g, "''")}'`;
};

/** A row as `key` + every column's text, in the table's column order. */
function canonical(key: string | null, row: Record<string, unknown>, columns: readonly string[]): string {
  return JSON.stringify([key, ...columns.map((c) => text(row[c]))]);
}

// ------------------------------------------------------------------------------------------------ SQL

/** Window start (ms) and its columns, from `ts` (ms): tumbling windows of WINDOW_MS, epoch aligned, shown in Beijing time (UTC+8). */
const WS = 'ts - ts % getvariable(\'window_ms\')';
const HEAD = (ws: string) => `
  strftime(epoch_ms(${ws} + 28800000), '%Y-%m-%d %H:%M:%S') stt,
  strftime(epoch_ms(${ws} + getvariable('window_ms') + 28800000), '%Y-%m-%d %H:%M:%S') edt,
  strftime(epoch_ms(${ws} + 28800000), '%Y-%m-%d') cur_date`;
const SKU_NAMES = `
  left join dim_sku_info s on s.id = f.sku_id
  left join dim_spu_info p on p.id = s.spu_id
  left join dim_base_trademark tm on tm.id = s.tm_id
  left join dim_base_category3 c3 on c3.id = s.category3_id
  left join dim_base_category2 c2 on c2.id = c3.category2_id
  left join dim_base_category1 c1 on c1.id = c2.category1_id`;
/** First day of each user and the windows of their first fact per Beijing day. */
const UU = (table: string, uu: string, nu: string) => `
  with d as (select user_id, ts, (ts + 28800000) // 86400000 as day from ${table} where user_id is not null),
  firsts as (select user_id, day, min(ts) ts from d group by user_id, day),
  f as (select *, day = min(day) over (partition by user_id) is_new, ${WS} ws from firsts)
  select ${HEAD('ws')}, count(*) ${uu}, count(*) filter (where is_new) ${nu} from f group by ws`;

/** Each table as SQL over the facts: [SQL, key columns after stt|edt]. */
const WINDOW_SQL: Record<string, [string, string[]]> = {
  dws_trade_order_window: [UU('od', 'order_unique_user_count', 'order_new_user_count'), []],
  dws_trade_payment_suc_window: [UU('pay', 'payment_suc_unique_user_count', 'payment_suc_new_user_count'), []],
  dws_trade_sku_order_window: [
    `with f as (select *, ${WS} ws from od qualify row_number() over (partition by id order by ts) = 1)
     select ${HEAD('ws')}, s.tm_id trademark_id, tm.tm_name trademark_name, c2.category1_id, c1.name category1_name,
       c3.category2_id, c2.name category2_name, s.category3_id, c3.name category3_name, f.sku_id, s.sku_name, s.spu_id, p.spu_name,
       sum(coalesce(split_original_amount, 0)) original_amount, sum(coalesce(split_activity_amount, 0)) activity_reduce_amount,
       sum(coalesce(split_coupon_amount, 0)) coupon_reduce_amount, sum(coalesce(split_total_amount, 0)) order_amount
     from f ${SKU_NAMES}
     group by all`,
    ['sku_id'],
  ],
  dws_trade_province_order_window: [
    `with f as (select *, ${WS} ws from od qualify row_number() over (partition by id order by ts) = 1)
     select ${HEAD('ws')}, f.province_id, pr.name province_name, count(distinct order_id) order_count, sum(coalesce(split_total_amount, 0)) order_amount
     from f left join dim_base_province pr on pr.id = f.province_id
     group by all`,
    ['province_id'],
  ],
  dws_trade_trademark_category_user_refund_window: [
    `with f as (select *, ${WS} ws from refund qualify row_number() over (partition by id order by ts) = 1)
     select ${HEAD('ws')}, s.tm_id trademark_id, tm.tm_name trademark_name, c2.category1_id, c1.name category1_name,
       c3.category2_id, c2.name category2_name, s.category3_id, c3.name category3_name, f.user_id, count(distinct order_id) refund_count
     from f ${SKU_NAMES}
     group by all`,
    ['trademark_id', 'category1_id', 'category2_id', 'category3_id', 'user_id'],
  ],
};

const FACT_COLUMNS: Record<string, [string, Record<string, string>]> = {
  dwd_trade_order_detail: [
    'od',
    { id: 'varchar', order_id: 'varchar', user_id: 'varchar', sku_id: 'varchar', province_id: 'varchar', split_original_amount: 'decimal(16,2)', split_activity_amount: 'decimal(16,2)', split_coupon_amount: 'decimal(16,2)', split_total_amount: 'decimal(16,2)', ts: 'bigint' },
  ],
  dwd_trade_order_pay_suc_detail: ['pay', { id: 'varchar', order_id: 'varchar', user_id: 'varchar', ts: 'bigint' }],
  dwd_trade_order_refund: ['refund', { id: 'varchar', order_id: 'varchar', user_id: 'varchar', sku_id: 'varchar', ts: 'bigint' }],
};

async function loadFacts(db: DuckStore, topic: string, facts: readonly Record<string, unknown>[]): Promise<void> {
  const [table, cols] = FACT_COLUMNS[topic]!;
  const names = Object.keys(cols);
  await db.query(`create table ${table}(${names.map((n) => `${n} ${cols[n]}`).join(', ')})`);
  const values = facts.map((f) => `(${names.map((n) => lit(f[n])).join(', ')})`);
  for (let i = 0; i < values.length; i += 2000) await db.query(`insert into ${table} values ${values.slice(i, i + 2000).join(',\n')}`);
}

async function loadDims(db: DuckStore, tables: Tables): Promise<void> {
  const rules = new Map(standardRules().map((r) => [r.sinkTable, r]));
  for (const name of DIM_TABLES) {
    const cols = rules.get(name)!.sinkColumns;
    await db.query(`create table ${name}(${cols.map((c) => `"${c}" varchar`).join(', ')})`);
    const rows = [...(tables.get(name)?.values() ?? [])].map((r) => `(${cols.map((c) => lit(r[c])).join(', ')})`);
    for (let i = 0; i < rows.length; i += 2000) await db.query(`insert into ${name} values ${rows.slice(i, i + 2000).join(',\n')}`);
  }
}

// ------------------------------------------------------------------------------------------------ the day

describe('dws trade: golden days (seed 3, 2025-01-14 and a busier 2025-01-15) against DuckDB SQL over the same facts', () => {
  let db: DuckStore;
  let dims: DimReader;
  const facts = new Map<string, InputRecord[]>();

  beforeAll(async () => {
    const dir = tempDir('rtwh-dws-trade-');
    const busUrl = `sqlite:${join(dir, 'bus.db')}`;
    const mock = await cli(['mock', 'db', '--to', 'ods_db', '--bus', busUrl, '--init', '--seed', '3', '--date', '2025-01-14'], { cwd: dir });
    expect(mock.code).toBe(0);
    // a second, busier day: users who ordered on the first come back (not new), windows hold several users
    const next = await cli(['mock', 'db', '--to', 'ods_db', '--bus', busUrl, '--seed', '3', '--date', '2025-01-15', '--cart-user-rate', '60', '--order-user-rate', '80'], { cwd: dir });
    expect(next.code).toBe(0);
    const bus = await openBus(busUrl);
    let ods: InputRecord[];
    try {
      ods = (await readAll(bus, 'ods_db')).map((r) => ({
        input: 'ods_db', topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp,
        key: r.key === null ? null : r.key.toString(), value: r.value === null ? null : r.value.toString(),
      }));
    } finally {
      await bus.close();
    }
    const tables = foldDims(ods);
    dims = dimReaderOf(tables);
    const dwd = await runInMemory(dwdTradeJob, ods, { dims, batch: 5000 });
    expect(dwd.deadLetters).toEqual([]);
    db = await openDuckDB(':memory:', { config: { threads: '1' } });
    await loadDims(db, tables);
    for (const topic of Object.keys(FACT_COLUMNS)) {
      const out = dwd.outputs.filter((o) => o.output === topic);
      facts.set(topic, out.map((o, i) => ({ input: topic, topic, partition: 0, offset: i, timestamp: o.ts, key: o.key, value: o.value })));
      await loadFacts(db, topic, out.map((o) => parseExact(o.value) as Record<string, unknown>));
    }
  }, 120_000);

  afterAll(() => db?.close());

  const cases: [JobSpec, string][] = [
    [dwsTradeSkuOrderWindowJob, 'dwd_trade_order_detail'],
    [dwsTradeProvinceOrderWindowJob, 'dwd_trade_order_detail'],
    [dwsTradeOrderWindowJob, 'dwd_trade_order_detail'],
    [dwsTradePaymentSucWindowJob, 'dwd_trade_order_pay_suc_detail'],
    [dwsTradeTrademarkCategoryUserRefundWindowJob, 'dwd_trade_order_refund'],
  ];
  for (const [job, topic] of cases) for (const [window, ms] of [['10s', 10_000], ['60m', 3_600_000]] as const) {
    test(`${job.name} --window ${window}: every window row equals its SQL computation`, async () => {
      const table = dwsTable(job.outputs[0]!.name)!;
      const columns = table.columns.map((c) => c.name);
      const input = facts.get(topic)!;
      expect(input.length).toBeGreaterThan(0);
      const records = input.map((r) => ({ ...r, input: job.inputs[0]!.name }));
      const r = await runInMemory(job, records, { dims, batch: 1000, options: { window, ...(job.needsDims ? { 'dim-retry-ms': '0' } : {}) } });
      expect(r.deadLetters).toEqual([]);
      expect(r.counters.window_late ?? 0).toBe(0);
      expect(r.counters.dim_miss ?? 0).toBe(0);
      const got = r.outputs.map((o: Emitted) => canonical(o.key, parseExact(o.value) as Record<string, unknown>, columns)).sort();

      const [sql, keys] = WINDOW_SQL[table.name]!;
      const res = await db.query(`set variable window_ms = ${ms}::bigint; ${sql}`);
      const names = res.columns.map((c) => c.name);
      expect([...names].sort()).toEqual([...columns].sort());
      const want = res.rows
        .map((cells) => {
          const row = Object.fromEntries(names.map((n, i) => [n, cells[i]]));
          const key = [row.stt, row.edt, ...keys.map((k) => row[k])].map((v) => text(v) ?? '').join('|');
          return canonical(key, row, columns);
        })
        .sort();
      expect(want.length).toBeGreaterThan(job === dwsTradeTrademarkCategoryUserRefundWindowJob || ms > 10_000 ? 5 : 100);
      expect(got).toEqual(want);
    }, 60_000);
  }

  test('the day exercises what the jobs decide: returning users, several users and orders per window, discounts, refunds', async () => {
    const one = async (sql: string): Promise<number> => Number((await db.query(`set variable window_ms = 3600000::bigint; select count(*) from (${sql})`)).rows[0]![0]);
    const [orderSql] = WINDOW_SQL.dws_trade_order_window!;
    const [paySql] = WINDOW_SQL.dws_trade_payment_suc_window!;
    const [provinceSql] = WINDOW_SQL.dws_trade_province_order_window!;
    const [skuSql] = WINDOW_SQL.dws_trade_sku_order_window!;
    expect(await one(`${orderSql} having count(*) filter (where is_new) < count(*) and count(*) > 1`)).toBeGreaterThan(0);
    expect(await one(`${paySql} having count(*) filter (where is_new) < count(*)`)).toBeGreaterThan(0);
    expect(await one(`select * from (${provinceSql}) where order_count > 1`)).toBeGreaterThan(0);
    expect(await one(`select * from (${skuSql}) where activity_reduce_amount > 0 and coupon_reduce_amount > 0`)).toBeGreaterThan(0);
    expect(await one('select * from refund')).toBeGreaterThan(5);
  });
});
