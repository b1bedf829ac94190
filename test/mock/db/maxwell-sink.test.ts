/**
 * `mock db --to`: the base data of --init goes onto the topic as Maxwell's bootstrap sends rows that were in the
 * tables before capture started (bootstrap-start, a bootstrap-insert per row in primary-key order,
 * bootstrap-complete; no xid/commit; ts = the bootstrap time), and only the generated days as binlog changes
 * (insert/update with xid and commit). Published as plain inserts, the base data read as the first day's business:
 * 1,000 back-dated users counted as registrations of that day.
 */
import { describe, expect, test } from 'bun:test';
import { maxwellJson, maxwellKey } from '../../../src/formats/maxwell';
import { validateMaxwell } from '../../../src/formats/validate-maxwell';
import { baseData } from '../../../src/mock/db/base';
import { bootstrapEvents } from '../../../src/mock/db/maxwell-sink';
import { DEFAULT_OPTIONS } from '../../../src/mock/db/options';
import { primaryKeyOf } from '../../../src/mock/db/schema';

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
