/**
 * `mock db --to`: the base data of --init goes onto the topic as Maxwell's bootstrap sends rows that were in the
 * tables before capture started (bootstrap-start, a bootstrap-insert per row in primary-key order,
 * bootstrap-complete; no xid/commit; ts = the bootstrap time), and only the generated days as binlog changes
 * (insert/update with xid and commit). Published as plain inserts, the base data read as the first day's business:
 * 1,000 back-dated users counted as registrations of that day.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../../src/bus/index';
import type { BusRecord } from '../../../src/bus/types';
import { decodeChanges } from '../../../src/formats/validated-change';
import { maxwellJson, maxwellKey } from '../../../src/formats/maxwell';
import { validateMaxwell } from '../../../src/formats/validate-maxwell';
import { baseData } from '../../../src/mock/db/base';
import { bootstrapEvents } from '../../../src/mock/db/maxwell-sink';
import { DEFAULT_OPTIONS } from '../../../src/mock/db/options';
import { busStatePath, runMockDb } from '../../../src/mock/db/run';
import { primaryKeyOf } from '../../../src/mock/db/schema';
import { cli, tempDir } from '../../helpers/cli';

const DATE = '2025-01-14';
/** 00:00:00 of DATE in Beijing time, in Maxwell's seconds. */
const DAY_START_S = Date.parse(`${DATE}T00:00:00+08:00`) / 1000;

interface Maxwell {
  database: string;
  table: string;
  type: string;
  ts: number;
  xid?: number;
  xoffset?: number;
  commit?: boolean;
  data: Record<string, unknown>;
  old?: Record<string, unknown>;
}

async function readAll(busUrl: string, topic: string): Promise<BusRecord[]> {
  const bus = await openBus(busUrl);
  try {
    const c = await bus.consumer({ topics: [topic], startFrom: 'earliest', maxPollRecords: 100_000 });
    const out: BusRecord[] = [];
    for (;;) {
      const got = await c.poll({ timeoutMs: 200 });
      if (got.length === 0) break;
      out.push(...got);
    }
    await c.close();
    return out;
  } finally {
    await bus.close();
  }
}

const value = (r: BusRecord): Maxwell => JSON.parse(r.value!.toString()) as Maxwell;

/**
 * The records' runs of one table's bootstrap: [table, rows] per bootstrap-start … bootstrap-complete, checking that
 * nothing else comes between; returns the runs and the index of the first record after the last run.
 */
function bootstrapRuns(values: Maxwell[]): { runs: [string, number][]; end: number } {
  const runs: [string, number][] = [];
  let i = 0;
  while (i < values.length && values[i]!.type === 'bootstrap-start') {
    const table = values[i]!.table;
    let n = 0;
    i++;
    while (values[i]?.type === 'bootstrap-insert' && values[i]!.table === table) {
      n++;
      i++;
    }
    expect({ at: i, type: values[i]?.type, table: values[i]?.table }).toEqual({ at: i, type: 'bootstrap-complete', table });
    i++;
    runs.push([table, n]);
  }
  return { runs, end: i };
}

describe('bootstrapEvents: a table as Maxwell bootstraps it', () => {
  const base = baseData(1, DATE, DEFAULT_OPTIONS);
  const txnOf = (table: string) => base.txns.find((t) => t.changes[0]!.table === table)!;

  test('start, one insert per row ordered by primary key, complete; all at the bootstrap time, no transaction fields', () => {
    // financial_sku_cost's id is a varchar: MySQL's ORDER BY puts '10' before '2'
    const evs = bootstrapEvents(txnOf('financial_sku_cost'), 'gmall', primaryKeyOf);
    expect(evs.map((e) => e.bootstrap)).toEqual(['start', ...Array<'insert'>(35).fill('insert'), 'complete']);
    expect(evs.slice(1, 5).map((e) => e.data.id)).toEqual(['1', '10', '11', '12']);
    const json = evs.map((e) => JSON.parse(maxwellJson(e)) as Maxwell);
    expect(json[0]).toEqual({ database: 'gmall', table: 'financial_sku_cost', type: 'bootstrap-start', ts: DAY_START_S, data: {} });
    expect(json.at(-1)).toEqual({ database: 'gmall', table: 'financial_sku_cost', type: 'bootstrap-complete', ts: DAY_START_S, data: {} });
    for (const j of json) {
      expect(Object.keys(j)).toEqual(['database', 'table', 'type', 'ts', 'data']);
      expect(validateMaxwell(j)).toEqual([]);
    }
    // an integer key by its value; the markers' key names the primary key without a value, as Maxwell's
    const skus = bootstrapEvents(txnOf('sku_info'), 'gmall', primaryKeyOf);
    expect(skus.slice(1, -1).map((e) => e.data.id)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(maxwellKey(skus[0]!)).toBe('{"database":"gmall","table":"sku_info","pk.id":null}');
    expect(maxwellKey(skus[1]!)).toBe('{"database":"gmall","table":"sku_info","pk.id":1}');
  });

  test('a table without a primary key keeps its rows in insert order', () => {
    const txn = txnOf('base_province');
    const evs = bootstrapEvents(txn, 'gmall', primaryKeyOf);
    expect(evs.slice(1, -1).map((e) => e.data)).toEqual(txn.changes.map((c) => c.data));
  });

  test('anything but the inserts of one table is refused', () => {
    const mixed = { xid: 1, ts: 0, changes: [...txnOf('sku_info').changes.slice(0, 1), ...txnOf('spu_info').changes.slice(0, 1)] };
    expect(() => bootstrapEvents(mixed, 'gmall', primaryKeyOf)).toThrow(RangeError);
  });
});

describe('mock db --init --to: base data as bootstraps, the day as changes', () => {
  test('every base table bootstrapped, then only the day\'s inserts and updates; 100 registrations, not 1,100', async () => {
    const dir = tempDir();
    const env = { RTWH_BUS: `sqlite:${join(dir, 'bus.db')}` };
    const r = await cli(['mock', 'db', '--init', '--to', 'ods_db', '--date', DATE, '--seed', '4', '--json'], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { rows: number; records: number; base_rows: number };
    const base = baseData(4, DATE, DEFAULT_OPTIONS);
    const records = await readAll(env.RTWH_BUS, 'ods_db');
    // the rows, and a bootstrap-start and -complete per base table
    expect(doc.records).toBe(doc.rows + 2 * base.txns.length);
    expect(records.length).toBe(doc.records);
    const values = records.map(value);
    for (const v of values) expect(validateMaxwell(v)).toEqual([]);

    const { runs, end } = bootstrapRuns(values);
    expect(runs).toEqual(base.txns.map((t) => [t.changes[0]!.table, t.changes.length]));
    expect(runs.reduce((n, [, k]) => n + k, 0)).toBe(doc.base_rows);
    for (const v of values.slice(0, end)) {
      expect(v.ts).toBe(DAY_START_S);
      expect([v.xid, v.xoffset, v.commit]).toEqual([undefined, undefined, undefined]);
    }
    // decoded as snapshot rows (what run dwd skips and run dim upserts)
    const snap = records.slice(0, end).flatMap((x) => {
      const d = decodeChanges(x.value!.toString(), { key: x.key?.toString() ?? null });
      return d.ok ? d.changes : [];
    });
    expect(snap.length).toBe(doc.base_rows);
    expect(snap.every((c) => c.snapshot && c.type === 'insert')).toBe(true);

    // the day: binlog changes in transactions, on the day, no bootstrap among them
    const day = values.slice(end);
    expect(day.length).toBe(doc.rows - doc.base_rows);
    expect(new Set(day.map((v) => v.type))).toEqual(new Set(['insert', 'update']));
    for (const v of day) {
      expect(typeof v.xid).toBe('number');
      expect(v.commit === true || typeof v.xoffset === 'number').toBe(true);
      expect(v.ts).toBeGreaterThanOrEqual(DAY_START_S);
      expect(v.ts).toBeLessThan(DAY_START_S + 86_400);
    }
    const registrations = day.filter((v) => v.table === 'user_info' && v.type === 'insert');
    expect(registrations.length).toBe(DEFAULT_OPTIONS.userCount);
    expect(registrations.every((v) => String(v.data.create_time).startsWith(DATE))).toBe(true);
    // every plain user_info insert on the topic is a registration of the day
    expect(values.filter((v) => v.table === 'user_info' && v.type === 'insert').length).toBe(100);
  }, 60_000);

  test('the summary says how the base data went out and how many records there are', async () => {
    const dir = tempDir();
    const env = { RTWH_BUS: `sqlite:${join(dir, 'bus.db')}` };
    const r = await cli(['mock', 'db', '--init', '--to', 'ods_db', '--date', DATE, '--seed', '1'], { env, cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote 3,203 rows into topic ods_db on sqlite:.* for 2025-01-14 \(user_info 1,300, .*; seed 1; base data as Maxwell bootstraps of 17 tables, 3,237 records in all\) in /);
    // without --init nothing is bootstrapped: rows and records are the same
    const next = await cli(['mock', 'db', '--to', 'ods_db', '--date', '2025-01-15', '--seed', '1', '--json'], { env, cwd: dir });
    expect(next.code).toBe(0);
    const doc = JSON.parse(next.stdout) as { rows: number; records: number; base_rows: number };
    expect(doc.records).toBe(doc.rows);
    expect(doc.base_rows).toBe(0);
  }, 60_000);

  test('--init again bootstraps the same base rows again, records for records (dim upserts them to the same rows)', async () => {
    const dir = tempDir();
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    const statePath = busStatePath(join(dir, '.rtwh'), bus.displayUrl, 'ods_db');
    const target = { kind: 'bus' as const, bus, topic: 'ods_db', database: 'gmall', statePath };
    const first = await runMockDb({ dates: [DATE], seed: 6, options: DEFAULT_OPTIONS, init: true, target });
    const second = await runMockDb({ dates: [DATE], seed: 6, options: DEFAULT_OPTIONS, init: true, target });
    await bus.close();
    const records = await readAll(`sqlite:${join(dir, 'bus.db')}`, 'ods_db');
    expect(second.records).toBe(first.records!);
    expect(records.length).toBe(2 * first.records!);
    const text = (x: BusRecord) => [x.key!.toString(), x.value!.toString()];
    const one = records.slice(0, first.records!);
    const two = records.slice(first.records!);
    const { runs, end } = bootstrapRuns(two.map(value));
    expect(runs.length).toBe(17);
    expect(two.slice(0, end).map(text)).toEqual(one.slice(0, end).map(text));
    expect(two.slice(end).some((x) => value(x).type.startsWith('bootstrap'))).toBe(false);
  }, 60_000);

  test('mock init --days 2 --to: one bootstrap, stamped the first day, then three days of changes', async () => {
    const dir = tempDir();
    const env = { RTWH_BUS: `sqlite:${join(dir, 'bus.db')}` };
    const r = await cli(['mock', 'init', '--days', '2', '--until', '2025-01-16', '--to', 'ods_db', '--seed', '6', '--json'], { env, cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { records: number };
    const values = (await readAll(env.RTWH_BUS, 'ods_db')).map(value);
    expect(values.length).toBe(doc.records);
    const { runs, end } = bootstrapRuns(values);
    expect(runs.length).toBe(17);
    for (const v of values.slice(0, end)) expect(v.ts).toBe(DAY_START_S);
    const later = values.slice(end);
    expect(later.some((v) => v.type.startsWith('bootstrap'))).toBe(false);
    const registrations = later.filter((v) => v.table === 'user_info' && v.type === 'insert');
    expect(registrations.length).toBe(3 * DEFAULT_OPTIONS.userCount);
    const byDay = new Map<string, number>();
    for (const v of registrations) byDay.set(String(v.data.create_time).slice(0, 10), (byDay.get(String(v.data.create_time).slice(0, 10)) ?? 0) + 1);
    expect([...byDay]).toEqual([[DATE, 100], ['2025-01-15', 100], ['2025-01-16', 100]]);
  }, 60_000);
});
