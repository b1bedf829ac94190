/**
 * --sku-count: the catalog --init creates (the 35 SKUs of gmall, then variants of them), the days after it
 * drawing from all of them, the default unchanged, and the count kept by the data (state file, MySQL).
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtwhError } from '../../../src/errors';
import { txnEvents, type ChangeTxn, type Row } from '../../../src/formats/change';
import { maxwellJson } from '../../../src/formats/maxwell';
import { baseData } from '../../../src/mock/db/base';
import { BASE_SKU_COUNT, MAX_SKU_COUNT, skuCatalog, SKUS } from '../../../src/mock/db/catalog';
import { collectDay } from '../../../src/mock/db/day';
import { DEFAULT_OPTIONS, mockDbOptions, parseMockDbOptions, type MockDbOptions } from '../../../src/mock/db/options';
import { primaryKeyOf } from '../../../src/mock/db/schema';
import { readStateFile, stateSkuCount, writeStateFile, type MockState } from '../../../src/mock/db/state';
import { busStatePath, runMockDb } from '../../../src/mock/db/run';
import { openBus } from '../../../src/bus/index';
import { rtwhErrorOf } from '../../helpers/errors';

const DATE = '2025-01-14';

function tables(txns: readonly ChangeTxn[]): Map<string, Row[]> {
  const by = new Map<string, Row[]>();
  for (const t of txns) for (const c of t.changes) by.set(c.table, [...(by.get(c.table) ?? []), c.data]);
  return by;
}

function bytes(txns: readonly ChangeTxn[]): string {
  return txns.flatMap((t) => txnEvents(t, 'gmall', primaryKeyOf).map((e) => maxwellJson(e))).join('\n');
}

/** --init with `over`, then `days` days after it; every transaction, base data first. */
function run(seed: number, over: Partial<MockDbOptions>, days: string[], state?: (s: MockState) => MockState) {
  const options = mockDbOptions(over);
  const base = baseData(seed, DATE, options);
  let st = state ? state(base.state) : base.state;
  const txns: ChangeTxn[] = [...base.txns];
  for (const date of days) {
    const d = collectDay({ date, seed, options, state: st });
    txns.push(...d.txns);
    st = d.state;
  }
  return { base, txns, state: st };
}

const usage = (f: () => unknown): RtwhError => rtwhErrorOf(f, 'USAGE');

describe('--sku-count', () => {
  test('the default is the 35 SKUs of gmall, not multiplied by --scale', () => {
    expect(DEFAULT_OPTIONS.skuCount).toBe(35);
    expect(BASE_SKU_COUNT).toBe(35);
    expect(parseMockDbOptions({ scale: '10' }).skuCount).toBe(35);
    expect(parseMockDbOptions({ skuCount: '50', scale: '10' }).skuCount).toBe(50);
    expect(skuCatalog(35)).toBe(SKUS);
  });

  test('a value below 35, above the most, or not a number names the value, what was expected and why', () => {
    const low = usage(() => parseMockDbOptions({ skuCount: '10' }));
    expect(low.message).toBe(`invalid --sku-count "10": expected a whole number from 35 to ${MAX_SKU_COUNT}`);
    expect(low.hint).toContain('activities');
    expect(low.hint).toContain('36..N');
    expect(usage(() => parseMockDbOptions({ skuCount: 'abc' })).message).toBe(`invalid --sku-count "abc": expected a whole number from 35 to ${MAX_SKU_COUNT}`);
    expect(usage(() => parseMockDbOptions({ skuCount: String(MAX_SKU_COUNT + 1) })).message).toContain(`--sku-count "${MAX_SKU_COUNT + 1}"`);
    expect(usage(() => parseMockDbOptions({ skuCount: '40.5' })).message).toContain('--sku-count "40.5"');
    expect(parseMockDbOptions({ skuCount: String(MAX_SKU_COUNT) }).skuCount).toBe(MAX_SKU_COUNT);
    // the other counts keep their message
    expect(usage(() => parseMockDbOptions({ userCount: '-1' })).message).toBe('invalid --user-count "-1": expected a whole number ≥ 0');
  });

  test('base data with 50: 50 sku_info and financial_sku_cost rows, valid SPU/brand/category references, unique names', () => {
    const { base } = run(3, { skuCount: 50 }, []);
    const by = tables(base.txns);
    const skus = by.get('sku_info')!;
    expect(skus.map((s) => s.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const cost = by.get('financial_sku_cost')!;
    expect(cost.map((c) => c.sku_id)).toEqual(skus.map((s) => s.id));
    expect(cost.map((c) => c.id)).toEqual(skus.map((s) => String(s.id)));
    const spus = new Map(by.get('spu_info')!.map((s) => [s.id, s]));
    const tms = new Set(by.get('base_trademark')!.map((t) => t.id));
    const c3 = new Set(by.get('base_category3')!.map((c) => c.id));
    for (const s of skus) {
      const spu = spus.get(s.spu_id);
      expect(spu, `sku ${s.id}`).toBeDefined();
      expect(s.tm_id).toBe(spu!.tm_id);
      expect(s.category3_id).toBe(spu!.category3_id);
      expect(tms.has(s.tm_id!)).toBe(true);
      expect(c3.has(s.category3_id!)).toBe(true);
      expect(String(s.price)).toMatch(/^[1-9]\d*$/);
      expect(String(s.weight)).toMatch(/^\d+\.\d\d$/);
      expect(Number(s.weight)).toBeGreaterThan(0);
      expect(s.sku_default_img).toBe(`http://img.gmall.com/sku/${String(s.id).padStart(3, '0')}.jpg`);
      expect(String(s.create_time)).toMatch(/^2021-01-\d\d 10:\d\d:00$/);
      expect(s.sku_desc).toBe(s.sku_name);
    }
    expect(new Set(skus.map((s) => s.sku_name)).size).toBe(50);
    // SKU 36 is a variant of SKU 1: the same phone, another edition, its price derived from SKU 1's
    const v = skus[35]!;
    expect(v.spu_id).toBe(1);
    expect(String(v.sku_name).startsWith(SKUS[0]!.name)).toBe(true);
    expect(v.sku_name).not.toBe(SKUS[0]!.name);
    expect(Math.abs(Number(v.price) / SKUS[0]!.price - 1)).toBeLessThan(0.5);
    // the first 35 and every other table are the default's
    const def = tables(run(3, {}, []).base.txns);
    expect(skus.slice(0, 35)).toEqual(def.get('sku_info')!);
    expect(cost.slice(0, 35)).toEqual(def.get('financial_sku_cost')!);
    for (const [table, rows] of def) if (table !== 'sku_info' && table !== 'financial_sku_cost') expect(by.get(table)).toEqual(rows);
    expect(base.state.lastIds.sku_info).toBe(50);
    expect(stateSkuCount(base.state)).toBe(50);
  });

  test('every name differs up to the most SKUs, and fits sku_name varchar(200)', () => {
    const all = skuCatalog(MAX_SKU_COUNT);
    expect(all.length).toBe(MAX_SKU_COUNT);
    expect(new Set(all.map((s) => s.name)).size).toBe(MAX_SKU_COUNT);
    expect(Math.max(...all.map((s) => s.name.length))).toBeLessThanOrEqual(200);
    expect(all.every((s) => Number.isSafeInteger(s.price) && s.price >= 1 && s.weight >= 1)).toBe(true);
    expect(skuCatalog(50)).toEqual(all.slice(0, 50));
  });

  test('days after an init with 60 draw from all 60 SKUs; every order_detail sku exists with its price', () => {
    const { txns } = run(11, { skuCount: 60, scale: 3 }, [DATE, '2025-01-15']);
    const by = tables(txns);
    const skus = new Map(by.get('sku_info')!.map((s) => [s.id, s]));
    expect(skus.size).toBe(60);
    for (const table of ['favor_info', 'cart_info', 'order_detail', 'comment_info', 'order_refund_info']) {
      const ids = (by.get(table) ?? []).map((r) => Number(r.sku_id));
      expect(ids.length, table).toBeGreaterThan(0);
      expect(ids.every((id) => skus.has(id)), table).toBe(true);
    }
    for (const table of ['favor_info', 'cart_info', 'order_detail']) {
      expect(by.get(table)!.some((r) => Number(r.sku_id) > 35), table).toBe(true);
    }
    const used = new Set(by.get('cart_info')!.map((r) => Number(r.sku_id)));
    expect(used.size).toBeGreaterThan(50);
    for (const d of by.get('order_detail')!) {
      const s = skus.get(Number(d.sku_id))!;
      expect(d.sku_name).toBe(s.sku_name);
      expect(Number(d.order_price)).toBe(Number(s.price));
      expect(d.img_url).toBe(s.sku_default_img);
    }
    for (const f of by.get('favor_info')!) expect(f.spu_id).toBe(skus.get(Number(f.sku_id))!.spu_id);
  });

  test('the same seed and options give byte-identical data with 50 SKUs; the day follows the state, not the option', () => {
    const a = run(5, { skuCount: 50 }, [DATE]);
    expect(bytes(run(5, { skuCount: 50 }, [DATE]).txns)).toBe(bytes(a.txns));
    expect(bytes(run(5, {}, [DATE]).txns)).not.toBe(bytes(a.txns));
    // a later day takes the SKUs from the state (lastIds.sku_info), whatever options.skuCount says
    const later = (skuCount: number) => bytes(collectDay({ date: '2025-01-15', seed: 5, options: mockDbOptions({ skuCount }), state: a.state }).txns);
    expect(later(35)).toBe(later(50));
  });

  test('the default day is that of a state without sku_info (state files from before --sku-count)', () => {
    const a = run(8, {}, [DATE, '2025-01-15']);
    const older = run(8, {}, [DATE, '2025-01-15'], (s) => {
      const { sku_info: _, ...lastIds } = s.lastIds;
      return { ...s, lastIds };
    });
    expect(older.state.lastIds.sku_info).toBeUndefined();
    expect(bytes(older.txns)).toBe(bytes(a.txns));
  });

  test('the state file keeps the count; an older file without sku_info reads as 35', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtwh-skucount-'));
    try {
      const path = join(dir, 'state.json');
      const { state } = run(1, { skuCount: 44, initUsers: 3 }, []);
      writeStateFile(path, state);
      expect(stateSkuCount(readStateFile(path)!)).toBe(44);
      writeFileSync(path, JSON.stringify({ version: 1, lastIds: { user_info: 3 }, xid: 30, userColumns: ['id'], users: [[1], [2], [3]] }));
      expect(stateSkuCount(readStateFile(path)!)).toBe(35);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sku_info ids beyond what rtwh generates (rows not rtwh\'s): a clear refusal before anything is built or sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtwh-skucount-foreign-'));
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      const statePath = busStatePath(dir, bus.displayUrl, 'ods_db');
      const base = baseData(1, DATE, DEFAULT_OPTIONS).state;
      writeStateFile(statePath, { ...base, lastIds: { ...base.lastIds, sku_info: 1_000_000_000 } });
      const target = { kind: 'bus' as const, bus, topic: 'ods_db', database: 'gmall', statePath };
      const e = await runMockDb({ dates: ['2025-01-15'], seed: 1, options: DEFAULT_OPTIONS, init: false, target }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(RtwhError);
      expect((e as RtwhError).code).toBe('USAGE');
      expect((e as RtwhError).message).toContain(`holds ids up to 1000000000: more than the ${MAX_SKU_COUNT} SKUs rtwh generates`);
      const admin = await bus.admin();
      try {
        expect((await admin.listTopics()).some((t) => t.name === 'ods_db' && t.partitions.some((p) => p.endOffset > 0))).toBe(false);
      } finally {
        await admin.close();
      }
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
