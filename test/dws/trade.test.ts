/** The five trade window jobs of `rtwh run dws` as pure logic (runInMemory, in-memory dims). */
import { describe, expect, test } from 'bun:test';
import {
  decimalAdd,
  DWS_TRADE_JOBS,
  dwsTradeOrderWindowJob,
  dwsTradePaymentSucWindowJob,
  dwsTradeProvinceOrderWindowJob,
  dwsTradeSkuOrderWindowJob,
  dwsTradeTrademarkCategoryUserRefundWindowJob,
} from '../../src/dws/trade';
import { dwsTable } from '../../src/dws/tables';
import { ExactDecimal } from '../../src/output/result';
import { parseExact } from '../../src/formats/validated-change';
import { Engine, resolveOptions, runInMemory, toJsonText, type Emitted } from '../../src/stream/engine';
import type { DimReader, InputRecord, JobSpec } from '../../src/stream/types';

// ------------------------------------------------------------------------------------------------ helpers

/** 2025-01-14 00:00:00 Beijing time. */
const T = Date.UTC(2025, 0, 13, 16, 0, 0);
const S = 1000;
const DAY = 86_400_000;
const D = (s: string) => new ExactDecimal(s);

function recs(spec: JobSpec, facts: Record<string, unknown>[], partition = 0): InputRecord[] {
  const input = spec.inputs[0]!;
  return facts.map((f, i) => ({ input: input.name, topic: input.name, partition, offset: i, timestamp: 0, key: null, value: toJsonText(f) }));
}

type Row = Record<string, unknown>;

/** The emitted rows of a job's table, checked to have exactly the table's columns (in order). */
function rows(spec: JobSpec, outputs: Emitted[]): (Row & { '@key': string | null })[] {
  const table = dwsTable(spec.outputs[0]!.name)!;
  return outputs
    .filter((o) => o.output === table.name)
    .map((o) => {
      const v = parseExact(o.value) as Row;
      expect(Object.keys(v)).toEqual(table.columns.map((c) => c.name));
      return { '@key': o.key, ...v };
    });
}

/** Decimals and big integers as text, for comparing rows. */
function plain(r: Row): Row {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof ExactDecimal ? `dec:${v.text}` : v]));
}

type Tables = Record<string, Record<string, Record<string, string | null>>>;

/** A Map-backed DimReader that counts the ids asked per table. */
function dimReader(tables: Tables): DimReader & { asked: Record<string, number> } {
  const asked: Record<string, number> = {};
  const r = {
    asked,
    async get(table: string, id: string) {
      return (await r.getMany(table, [id])).get(id);
    },
    async getMany(table: string, ids: readonly string[]) {
      const out = new Map<string, Record<string, string | null>>();
      for (const id of ids) {
        asked[`${table}:${id}`] = (asked[`${table}:${id}`] ?? 0) + 1;
        const row = tables[table]?.[id];
        if (row) out.set(id, row);
      }
      return out;
    },
  };
  return r;
}

const DIMS: Tables = {
  dim_sku_info: {
    '1': { id: '1', spu_id: '10', sku_name: 'phone 8G', tm_id: '100', category3_id: '1000' },
    '2': { id: '2', spu_id: '10', sku_name: 'phone 16G', tm_id: '100', category3_id: '1000' },
    // trademark 999 is not in the dims
    '3': { id: '3', spu_id: '11', sku_name: 'lipstick', tm_id: '999', category3_id: '1001' },
  },
  dim_spu_info: { '10': { id: '10', spu_name: 'phone' }, '11': { id: '11', spu_name: 'lipstick spu' } },
  dim_base_trademark: { '100': { id: '100', tm_name: 'Xiaomi' } },
  dim_base_category3: { '1000': { id: '1000', name: 'mobiles', category2_id: '200' }, '1001': { id: '1001', name: 'lips', category2_id: '201' } },
  dim_base_category2: { '200': { id: '200', name: 'phones', category1_id: '30' }, '201': { id: '201', name: 'makeup', category1_id: '31' } },
  dim_base_category1: { '30': { id: '30', name: 'electronics' }, '31': { id: '31', name: 'beauty' } },
  dim_base_province: { '1': { id: '1', name: '北京' }, '2': { id: '2', name: '上海' } },
};

const FAST = { 'dim-retries': '2', 'dim-retry-ms': '1' };

/** An order detail fact as dwd trade emits it. */
function detail(id: number, order: number, ts: number, o: { user?: number; sku?: number; province?: number; total?: string; act?: string; coupon?: string; original?: string } = {}): Row {
  return {
    id,
    order_id: order,
    user_id: o.user ?? 7,
    sku_id: o.sku ?? 1,
    sku_name: 'from the fact',
    province_id: o.province ?? 1,
    activity_id: null,
    activity_rule_id: null,
    coupon_id: null,
    date_id: '2025-01-14',
    create_time: '2025-01-14 00:00:00',
    source_id: null,
    source_type_code: '2401',
    source_type_name: '用户查询',
    sku_num: 1,
    split_original_amount: D(o.original ?? o.total ?? '10.00'),
    split_activity_amount: o.act === undefined ? null : D(o.act),
    split_coupon_amount: D(o.coupon ?? '0.00'),
    split_total_amount: D(o.total ?? '10.00'),
    ts,
  };
}

const W0 = { stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14' };
const W1 = { stt: '2025-01-14 00:00:10', edt: '2025-01-14 00:00:20', cur_date: '2025-01-14' };

// ------------------------------------------------------------------------------------------------ declarations

describe('dws trade: the job declarations', () => {
  test('five jobs, each writing to the topic named like its table, with --window and an input topic option', () => {
    expect(DWS_TRADE_JOBS.map((j) => j.name)).toEqual(['dws trade_payment_suc', 'dws trade_order', 'dws trade_sku_order', 'dws trade_province_order', 'dws trade_trademark_category_user_refund']);
    for (const j of DWS_TRADE_JOBS) {
      const table = `dws_${j.name.slice(4)}_window`;
      expect(dwsTable(table)).toBeDefined();
      expect(j.outputs).toEqual([{ name: table, topic: table }]);
      expect(resolveOptions(j)).toMatchObject({ window: '10s' });
      expect(() => resolveOptions(j, { window: '7s' })).toThrow(/window/);
    }
    expect(DWS_TRADE_JOBS.map((j) => j.inputs.map((i) => resolveOptions(j)[i.topicOption!]))).toEqual([
      ['dwd_trade_order_pay_suc_detail'],
      ['dwd_trade_order_detail'],
      ['dwd_trade_order_detail'],
      ['dwd_trade_order_detail'],
      ['dwd_trade_order_refund'],
    ]);
    expect(DWS_TRADE_JOBS.map((j) => j.needsDims === true)).toEqual([false, false, true, true, true]);
  });

  test('decimalAdd is exact at any size and keeps at least two places', () => {
    expect(decimalAdd('0.1', '0.2')).toBe('0.30');
    expect(decimalAdd('12345678901234.56', '0.01')).toBe('12345678901234.57');
    expect(decimalAdd('1.005', '2')).toBe('3.005');
    expect(decimalAdd('0', '1.50', '2.75')).toBe('-1.25');
    expect(decimalAdd('-0.5', '0.25')).toBe('-0.25');
    expect(() => decimalAdd('1e3', '1')).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------------------------------------ unique users

describe('dws trade: order and payment unique users', () => {
  test('a user counts in the window of their first order of the (Beijing) day; new = first order ever', async () => {
    const facts = [
      detail(1, 1, T + 1 * S, { user: 7 }),
      detail(2, 1, T + 1 * S, { user: 7 }), // same order, same user
      detail(3, 2, T + 3 * S, { user: 8 }),
      detail(4, 3, T + 12 * S, { user: 7 }), // again that day: not counted
      detail(5, 4, T + 13 * S, { user: 9 }),
      // 07:59:59 and 08:00:01 Beijing: the same Beijing day (UTC midnight is no boundary)
      detail(6, 5, T + 8 * 3600 * S - S, { user: 10 }),
      detail(7, 6, T + 8 * 3600 * S + S, { user: 10 }),
      // the next Beijing day: user 7 again (not new), user 11 new
      detail(8, 7, T + DAY + 2 * S, { user: 7 }),
      detail(9, 8, T + DAY + 4 * S, { user: 11 }),
    ];
    const r = await runInMemory(dwsTradeOrderWindowJob, recs(dwsTradeOrderWindowJob, facts), { batch: 2 });
    expect(r.deadLetters).toEqual([]);
    const out = rows(dwsTradeOrderWindowJob, r.outputs);
    const u = (stt: string, edt: string, uu: number, nu: number) => ({ '@key': `${stt}|${edt}`, stt, edt, cur_date: stt.slice(0, 10), order_unique_user_count: uu, order_new_user_count: nu });
    expect(out).toEqual([
      u('2025-01-14 00:00:00', '2025-01-14 00:00:10', 2, 2),
      u('2025-01-14 00:00:10', '2025-01-14 00:00:20', 1, 1),
      u('2025-01-14 07:59:50', '2025-01-14 08:00:00', 1, 1),
      u('2025-01-15 00:00:00', '2025-01-15 00:00:10', 2, 1),
    ]);
  });

  test('payments: the same rules on the payment success facts; a user without id is counted, not emitted', async () => {
    const pay = (id: number, user: number | null, ts: number) => ({ id, order_id: id, user_id: user, sku_id: 1, province_id: 1, split_payment_amount: D('1.00'), callback_time: '2025-01-14 00:00:01', ts });
    const facts = [pay(1, 5, T + S), pay(2, 5, T + 2 * S), pay(3, 6, T + 11 * S), pay(4, null, T + 12 * S), pay(5, 5, T + DAY + S)];
    const r = await runInMemory(dwsTradePaymentSucWindowJob, recs(dwsTradePaymentSucWindowJob, facts));
    expect(rows(dwsTradePaymentSucWindowJob, r.outputs).map(plain)).toEqual([
      { '@key': `${W0.stt}|${W0.edt}`, ...W0, payment_suc_unique_user_count: 1, payment_suc_new_user_count: 1 },
      { '@key': `${W1.stt}|${W1.edt}`, ...W1, payment_suc_unique_user_count: 1, payment_suc_new_user_count: 1 },
      { '@key': '2025-01-15 00:00:00|2025-01-15 00:00:10', stt: '2025-01-15 00:00:00', edt: '2025-01-15 00:00:10', cur_date: '2025-01-15', payment_suc_unique_user_count: 1, payment_suc_new_user_count: 0 },
    ]);
    expect(r.counters.no_user_id).toBe(1);
  });

  test('a late fact (its window emitted already) is not counted and leaves the user state: the next fact counts', async () => {
    const facts = [detail(1, 1, T + 30 * S, { user: 1 }), detail(2, 2, T + 2 * S, { user: 2 }), detail(3, 3, T + 31 * S, { user: 2 })];
    // batches of one: the first record moves the watermark to 27 s, so the window [0, 10) is closed for the second
    const first = await runInMemory(dwsTradeOrderWindowJob, recs(dwsTradeOrderWindowJob, facts.slice(0, 1)), { batch: 1 });
    expect(rows(dwsTradeOrderWindowJob, first.outputs)).toHaveLength(1);
    const r = await runInMemory(dwsTradeOrderWindowJob, recs(dwsTradeOrderWindowJob, facts), { batch: 1 });
    expect(r.counters.window_late).toBe(1);
    const out = rows(dwsTradeOrderWindowJob, r.outputs);
    expect(out.map((x) => [x.stt, x.order_unique_user_count, x.order_new_user_count])).toEqual([['2025-01-14 00:00:30', 2, 2]]);
  });

  test('bad records go to the dead letters with a reason', async () => {
    const input = dwsTradeOrderWindowJob.inputs[0]!.name;
    const bad: InputRecord[] = ['not json', '[1,2]', '{"user_id":1}', null].map((value, i) => ({ input, topic: input, partition: 0, offset: i, timestamp: 0, key: null, value }));
    const r = await runInMemory(dwsTradeOrderWindowJob, bad);
    expect(r.deadLetters.map((d) => d.reason)).toEqual([
      '(record): expected a JSON object, got "not json"',
      '(record): expected a JSON object, got "[1,2]"',
      'ts: expected the event time in epoch milliseconds, got nothing',
      '(record): expected a JSON object, got no value',
    ]);
    expect(r.outputs).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------ sku orders

describe('dws trade: sku order window', () => {
  test('an amount that is not a number, or that DECIMAL(16,2) cannot hold, is a dead letter naming it (it stopped the sink for good)', async () => {
    const facts = [
      detail(1, 1, T + 1 * S, { total: '123456789012345678901.99', original: '1.00' }),
      detail(3, 3, T + 3 * S, { total: '99999999999999.99', original: '99999999999999.99' }),
    ];
    const input = dwsTradeSkuOrderWindowJob.inputs[0]!.name;
    const text = (id: number) =>
      JSON.stringify({ id, order_id: id, user_id: 7, sku_id: 1, province_id: 1, split_original_amount: 'lots', split_total_amount: '1.00', ts: T + 2 * S });
    const r = await runInMemory(
      dwsTradeSkuOrderWindowJob,
      [...recs(dwsTradeSkuOrderWindowJob, facts.slice(0, 1)), { input, topic: input, partition: 0, offset: 1, timestamp: 0, key: null, value: text(2) }, ...recs(dwsTradeSkuOrderWindowJob, facts.slice(1)).map((x) => ({ ...x, offset: 2 }))],
      { dims: dimReader(DIMS), options: FAST },
    );
    expect(r.deadLetters.map((d) => d.reason)).toEqual([
      'split_total_amount: expected an amount of at most 14 digits before the point, got 123456789012345678901.99',
      'split_original_amount: expected an exact decimal number, got "lots"',
    ]);
    expect(rows(dwsTradeSkuOrderWindowJob, r.outputs).map((x) => String(x.order_amount))).toEqual(['99999999999999.99']);
  });

  test('amounts per sku and window, exact (no float drift), with names sku → spu → trademark → category3 → 2 → 1', async () => {
    const facts = [
      detail(1, 1, T + 1 * S, { sku: 1, total: '0.10', original: '0.30', act: '0.15', coupon: '0.05' }),
      detail(2, 1, T + 2 * S, { sku: 1, total: '0.20', original: '0.30', act: '0.05', coupon: '0.05' }),
      detail(3, 2, T + 3 * S, { sku: 2, total: '12345678901234.56' }),
      detail(4, 3, T + 4 * S, { sku: 2, total: '0.01' }),
      detail(5, 4, T + 15 * S, { sku: 1, total: '99.99' }),
    ];
    const dims = dimReader(DIMS);
    const r = await runInMemory(dwsTradeSkuOrderWindowJob, recs(dwsTradeSkuOrderWindowJob, facts), { dims, options: FAST });
    expect(r.deadLetters).toEqual([]);
    const names = { trademark_id: '100', trademark_name: 'Xiaomi', category1_id: '30', category1_name: 'electronics', category2_id: '200', category2_name: 'phones', category3_id: '1000', category3_name: 'mobiles' };
    const out = rows(dwsTradeSkuOrderWindowJob, r.outputs).map(plain);
    expect(out).toEqual([
      {
        '@key': `${W0.stt}|${W0.edt}|1`, ...W0, ...names, sku_id: '1', sku_name: 'phone 8G', spu_id: '10', spu_name: 'phone',
        original_amount: 'dec:0.60', activity_reduce_amount: 'dec:0.20', coupon_reduce_amount: 'dec:0.10', order_amount: 'dec:0.30',
      },
      {
        '@key': `${W0.stt}|${W0.edt}|2`, ...W0, ...names, sku_id: '2', sku_name: 'phone 16G', spu_id: '10', spu_name: 'phone',
        original_amount: 'dec:12345678901234.57', activity_reduce_amount: 'dec:0.00', coupon_reduce_amount: 'dec:0.00', order_amount: 'dec:12345678901234.57',
      },
      {
        '@key': `${W1.stt}|${W1.edt}|1`, ...W1, ...names, sku_id: '1', sku_name: 'phone 8G', spu_id: '10', spu_name: 'phone',
        original_amount: 'dec:99.99', activity_reduce_amount: 'dec:0.00', coupon_reduce_amount: 'dec:0.00', order_amount: 'dec:99.99',
      },
    ]);
    // the JSON carries the digits as numbers, not strings
    expect(r.outputs[0]!.value).toContain('"order_amount":0.30');
    expect(r.outputs[1]!.value).toContain('"order_amount":12345678901234.57');
    expect(r.counters.dim_miss).toBeUndefined();
  });

  test('facts keep every digit as written: spacing, a decoy key inside a string, ids beyond 2^53, many places', async () => {
    const input = dwsTradeSkuOrderWindowJob.inputs[0]!.name;
    const texts = [
      `{"id": 1, "order_id": 1, "sku_id": 1, "sku_name": "x\\"split_total_amount\\":5", "split_original_amount": 0.10, "split_activity_amount": null, "split_coupon_amount": 0.00, "split_total_amount" : 0.10, "ts": ${T + S}}`,
      `{"id":9007199254740993,"order_id":1,"sku_id":1,"split_original_amount":0.20,"split_activity_amount":0,"split_coupon_amount":0.00,"split_total_amount":0.20,"ts":${T + 2 * S}}`,
      `{"id":9007199254740992,"order_id":1,"sku_id":1,"split_original_amount":0.001,"split_activity_amount":0,"split_coupon_amount":0.00,"split_total_amount":0.001,"ts":${T + 3 * S}}`,
    ];
    const records: InputRecord[] = texts.map((value, i) => ({ input, topic: input, partition: 0, offset: i, timestamp: 0, key: null, value }));
    const r = await runInMemory(dwsTradeSkuOrderWindowJob, records, { dims: dimReader(DIMS), options: FAST });
    expect(r.deadLetters).toEqual([]);
    // two ids that are one apart beyond 2^53 stay two details
    expect(r.counters.duplicate_order_detail).toBeUndefined();
    expect(plain(rows(dwsTradeSkuOrderWindowJob, r.outputs)[0]!)).toMatchObject({ original_amount: 'dec:0.301', order_amount: 'dec:0.301', coupon_reduce_amount: 'dec:0.00' });
  });

  test('deduplicated by order detail id: a repeat adds nothing, a revised detail adds only the difference', async () => {
    const facts = [
      detail(1, 1, T + 1 * S, { total: '10.00' }),
      detail(1, 1, T + 1 * S, { total: '10.00' }), // exact repeat
      detail(2, 1, T + 2 * S, { total: '5.00' }),
      detail(2, 1, T + 3 * S, { total: '4.50', act: '0.50' }), // revised: an activity joined late
      detail(1, 1, T + 12 * S, { total: '10.00' }), // repeat in a later window: nothing there
    ];
    const r = await runInMemory(dwsTradeSkuOrderWindowJob, recs(dwsTradeSkuOrderWindowJob, facts), { dims: dimReader(DIMS), options: FAST, batch: 2 });
    const out = rows(dwsTradeSkuOrderWindowJob, r.outputs).map(plain);
    expect(out.map((x) => [x.stt, x.order_amount, x.activity_reduce_amount, x.original_amount])).toEqual([[W0.stt, 'dec:14.50', 'dec:0.50', 'dec:14.50']]);
    expect(r.counters.duplicate_order_detail).toBe(2);
  });

  test('a dim miss: retried briefly, then null names and dim_miss — never blocks; a missing link nulls only what depends on it', async () => {
    const facts = [detail(1, 1, T + 1 * S, { sku: 404 }), detail(2, 2, T + 2 * S, { sku: 3 }), detail(3, 3, T + 3 * S, { sku: 1 })];
    const dims = dimReader(DIMS);
    const started = Date.now();
    const r = await runInMemory(dwsTradeSkuOrderWindowJob, recs(dwsTradeSkuOrderWindowJob, facts), { dims, options: FAST });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(dims.asked['dim_sku_info:404']).toBe(3); // asked, then 2 retries
    expect(dims.asked['dim_base_trademark:999']).toBe(3);
    expect(dims.asked['dim_sku_info:1']).toBe(1);
    const out = rows(dwsTradeSkuOrderWindowJob, r.outputs).map(plain);
    const bySku = new Map(out.map((x) => [x.sku_id, x]));
    expect(bySku.get('404')).toMatchObject({
      '@key': `${W0.stt}|${W0.edt}|404`, trademark_id: null, trademark_name: null, category1_id: null, category1_name: null, category2_id: null, category2_name: null,
      category3_id: null, category3_name: null, sku_name: null, spu_id: null, spu_name: null, order_amount: 'dec:10.00',
    });
    expect(bySku.get('3')).toMatchObject({
      trademark_id: '999', trademark_name: null, category3_id: '1001', category3_name: 'lips', category2_id: '201', category2_name: 'makeup', category1_id: '31', category1_name: 'beauty', spu_name: 'lipstick spu',
    });
    expect(bySku.get('1')).toMatchObject({ trademark_name: 'Xiaomi', category1_name: 'electronics' });
    expect(r.counters).toMatchObject({ dim_miss: 2, dim_miss_dim_sku_info: 1, dim_miss_dim_base_trademark: 1 });
  });

  test('an id that missed is not waited for again at once (the next batch asks once)', async () => {
    const dims = dimReader(DIMS);
    const facts = [detail(1, 1, T + 1 * S, { sku: 404 }), detail(2, 2, T + 2 * S, { sku: 404 })];
    await runInMemory(dwsTradeSkuOrderWindowJob, recs(dwsTradeSkuOrderWindowJob, facts), { dims, options: FAST, batch: 1 });
    expect(dims.asked['dim_sku_info:404']).toBe(4); // 3 in the first batch, 1 in the second
  });

  test('without a dim reader: null names and dim_miss', async () => {
    const r = await runInMemory(dwsTradeSkuOrderWindowJob, recs(dwsTradeSkuOrderWindowJob, [detail(1, 1, T + S)]), { options: FAST });
    expect(rows(dwsTradeSkuOrderWindowJob, r.outputs)[0]).toMatchObject({ sku_id: '1', sku_name: null, trademark_id: null });
    expect(r.counters.dim_miss).toBe(1);
  });

  test('checkpoint → restore in the middle of a window (state through JSON text) gives the same rows', async () => {
    const facts = [detail(1, 1, T + 1 * S, { total: '0.10' }), detail(2, 1, T + 2 * S, { total: '0.20' }), detail(1, 1, T + 3 * S, { total: '0.10' }), detail(3, 2, T + 4 * S, { total: '0.70' })];
    const records = recs(dwsTradeSkuOrderWindowJob, facts);
    const whole = await runInMemory(dwsTradeSkuOrderWindowJob, records, { dims: dimReader(DIMS), options: FAST });
    const options = resolveOptions(dwsTradeSkuOrderWindowJob, FAST);
    const first = new Engine(dwsTradeSkuOrderWindowJob, options, { dims: dimReader(DIMS), now: () => 0 });
    await first.processBatch(records.slice(0, 2));
    first.advance();
    const cp = first.checkpoint();
    expect(cp.outputs).toEqual([]);
    const second = new Engine(dwsTradeSkuOrderWindowJob, options, { dims: dimReader(DIMS), now: () => 0 });
    second.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    await second.processBatch(records.slice(2));
    second.drain();
    const out = second.checkpoint().outputs;
    expect(out.map((o) => [o.key, o.value])).toEqual(whole.outputs.map((o) => [o.key, o.value]));
    expect(out[0]!.value).toContain('"order_amount":1.00');
  });
});

// ------------------------------------------------------------------------------------------------ provinces

describe('dws trade: province order window', () => {
  test('distinct orders and the exact sum of split_total_amount per province, with the province name', async () => {
    const facts = [
      detail(1, 1, T + 1 * S, { province: 1, total: '0.10' }),
      detail(2, 1, T + 1 * S, { province: 1, total: '0.20' }), // same order
      detail(3, 2, T + 2 * S, { province: 1, total: '1.00' }),
      detail(3, 2, T + 2 * S, { province: 1, total: '1.00' }), // repeat of a detail
      detail(4, 3, T + 3 * S, { province: 2, total: '7.77' }),
      detail(5, 4, T + 4 * S, { province: 34, total: '3.00' }), // not in the dims
      detail(6, 5, T + 11 * S, { province: 1, total: '2.00' }),
    ];
    const r = await runInMemory(dwsTradeProvinceOrderWindowJob, recs(dwsTradeProvinceOrderWindowJob, facts), { dims: dimReader(DIMS), options: FAST });
    const out = rows(dwsTradeProvinceOrderWindowJob, r.outputs).map(plain);
    expect(out).toEqual([
      { '@key': `${W0.stt}|${W0.edt}|1`, ...W0, province_id: '1', province_name: '北京', order_count: 2, order_amount: 'dec:1.30' },
      { '@key': `${W0.stt}|${W0.edt}|2`, ...W0, province_id: '2', province_name: '上海', order_count: 1, order_amount: 'dec:7.77' },
      { '@key': `${W0.stt}|${W0.edt}|34`, ...W0, province_id: '34', province_name: null, order_count: 1, order_amount: 'dec:3.00' },
      { '@key': `${W1.stt}|${W1.edt}|1`, ...W1, province_id: '1', province_name: '北京', order_count: 1, order_amount: 'dec:2.00' },
    ]);
    expect(r.counters).toMatchObject({ duplicate_order_detail: 1, dim_miss: 1 });
  });

  test('a revised detail corrects the amount without counting its order again', async () => {
    const facts = [detail(1, 1, T + 1 * S, { total: '5.00' }), detail(1, 1, T + 12 * S, { total: '4.00' })];
    const r = await runInMemory(dwsTradeProvinceOrderWindowJob, recs(dwsTradeProvinceOrderWindowJob, facts), { dims: dimReader(DIMS), options: FAST });
    const out = rows(dwsTradeProvinceOrderWindowJob, r.outputs).map(plain);
    expect(out.map((x) => [x.stt, x.order_count, x.order_amount])).toEqual([
      [W0.stt, 1, 'dec:5.00'],
      [W1.stt, 0, 'dec:-1.00'],
    ]);
  });
});

// ------------------------------------------------------------------------------------------------ refunds

describe('dws trade: trademark / category / user refund window', () => {
  const refund = (id: number, order: number, user: number, sku: number, ts: number) => ({
    id, user_id: user, order_id: order, sku_id: sku, province_id: 1, date_id: '2025-01-14', create_time: '2025-01-14 00:00:01',
    refund_type_code: '1502', refund_type_name: '退货退款', refund_reason_type_code: '1301', refund_reason_type_name: '质量问题', refund_reason_txt: 'x',
    refund_num: 1, refund_amount: D('10.00'), ts,
  });

  test('distinct refunded orders per trademark, category and user; names from the dims; a repeated refund id is skipped', async () => {
    const facts = [
      refund(1, 100, 7, 1, T + 1 * S),
      refund(2, 100, 7, 2, T + 2 * S), // same order, another sku of the same trademark and category
      refund(3, 101, 7, 1, T + 3 * S),
      refund(3, 101, 7, 1, T + 3 * S), // repeat
      refund(4, 102, 8, 3, T + 4 * S),
      refund(5, 103, 7, 1, T + 14 * S),
    ];
    const r = await runInMemory(dwsTradeTrademarkCategoryUserRefundWindowJob, recs(dwsTradeTrademarkCategoryUserRefundWindowJob, facts), { dims: dimReader(DIMS), options: FAST });
    expect(r.deadLetters).toEqual([]);
    const out = rows(dwsTradeTrademarkCategoryUserRefundWindowJob, r.outputs).map(plain);
    const phones = { trademark_id: '100', trademark_name: 'Xiaomi', category1_id: '30', category1_name: 'electronics', category2_id: '200', category2_name: 'phones', category3_id: '1000', category3_name: 'mobiles' };
    const lips = { trademark_id: '999', trademark_name: null, category1_id: '31', category1_name: 'beauty', category2_id: '201', category2_name: 'makeup', category3_id: '1001', category3_name: 'lips' };
    expect(out).toEqual([
      { '@key': `${W0.stt}|${W0.edt}|100|30|200|1000|7`, ...W0, ...phones, user_id: '7', refund_count: 2 },
      { '@key': `${W0.stt}|${W0.edt}|999|31|201|1001|8`, ...W0, ...lips, user_id: '8', refund_count: 1 },
      { '@key': `${W1.stt}|${W1.edt}|100|30|200|1000|7`, ...W1, ...phones, user_id: '7', refund_count: 1 },
    ]);
    expect(r.counters).toMatchObject({ duplicate_refund: 1, dim_miss: 1, dim_miss_dim_base_trademark: 1 });
  });

  test('--window 5s: windows of five seconds', async () => {
    const facts = [refund(1, 100, 7, 1, T + 1 * S), refund(2, 101, 7, 1, T + 6 * S)];
    const r = await runInMemory(dwsTradeTrademarkCategoryUserRefundWindowJob, recs(dwsTradeTrademarkCategoryUserRefundWindowJob, facts), { dims: dimReader(DIMS), options: { ...FAST, window: '5s' } });
    expect(rows(dwsTradeTrademarkCategoryUserRefundWindowJob, r.outputs).map((x) => [x.stt, x.edt, x.refund_count])).toEqual([
      ['2025-01-14 00:00:00', '2025-01-14 00:00:05', 1],
      ['2025-01-14 00:00:05', '2025-01-14 00:00:10', 1],
    ]);
  });
});
