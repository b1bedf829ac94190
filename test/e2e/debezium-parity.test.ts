/**
 * The same business data gives the same warehouse whichever format ods_db holds: one seeded mock day published as
 * Maxwell records (what `rtwh mock db --to` writes) and as Debezium records of the same changes (what
 * `rtwh cdc --format debezium` writes for them: the columns of the gmall schema, binlog times), without and with
 * schemas. `run dwd trade` gives the same facts, the five `run dws` trade window jobs the same window rows, and
 * `run dim`'s routing the same dim rows.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { standardRules } from '../../src/dim/config';
import { routeRecord } from '../../src/dim/decode';
import { dwdTradeJob } from '../../src/dwd/trade';
import {
  dwsTradeOrderWindowJob,
  dwsTradePaymentSucWindowJob,
  dwsTradeProvinceOrderWindowJob,
  dwsTradeSkuOrderWindowJob,
  dwsTradeTrademarkCategoryUserRefundWindowJob,
} from '../../src/dws/trade';
import { txnEvents } from '../../src/formats/change';
import { encodeDebezium } from '../../src/formats/debezium';
import { bootstrapEvents } from '../../src/mock/db/maxwell-sink';
import { primaryKeyOf, tableColumns } from '../../src/mock/db/schema';
import { runInMemory, type Emitted } from '../../src/stream/engine';
import type { InputRecord } from '../../src/stream/types';
import { generatedDay } from '../dwd/trade-fixture';
import { applyDimWrites, dimReaderOf, type DimTables } from '../helpers/dims';

type Tables = DimTables;
type Ods = 'maxwell' | 'debezium' | 'debezium with schemas';

/** The dim tables `run dim` builds from the topic (routeRecord: its fast path for Maxwell, the general one else). */
function foldDims(records: readonly InputRecord[]): Tables {
  const rules = new Map(standardRules().map((r) => [r.sourceTable, r]));
  const tables: Tables = new Map();
  for (const r of records) {
    for (const res of routeRecord(r.value === null ? null : Buffer.from(r.value), r.key === null ? null : Buffer.from(r.key), 'gmall', rules)) {
      expect(res.kind === 'invalid' || res.kind === 'bad' ? res : 'ok').toBe('ok');
      if (res.kind === 'writes') applyDimWrites(tables, res.writes);
    }
  }
  return tables;
}

const canon = (out: readonly Emitted[]) => out.map((o) => `${o.output}\t${o.key}\t${o.value}`).sort();
const dimRows = (t: Tables) => [...t].sort(([a], [b]) => a.localeCompare(b)).map(([name, rows]) => [name, [...rows].sort(([a], [b]) => a.localeCompare(b))]);

const WINDOW_JOBS = [
  [dwsTradeSkuOrderWindowJob, 'dwd_trade_order_detail'],
  [dwsTradeProvinceOrderWindowJob, 'dwd_trade_order_detail'],
  [dwsTradeOrderWindowJob, 'dwd_trade_order_detail'],
  [dwsTradePaymentSucWindowJob, 'dwd_trade_order_pay_suc_detail'],
  [dwsTradeTrademarkCategoryUserRefundWindowJob, 'dwd_trade_order_refund'],
] as const;

describe('one mock day on ods_db as Maxwell and as Debezium: the same dim rows, dwd facts and dws windows', () => {
  const ods = new Map<Ods, InputRecord[]>();
  const dims = new Map<Ods, Tables>();
  const facts = new Map<Ods, Emitted[]>();
  const windows = new Map<Ods, string[]>();
  const warnings = new Map<Ods, string[]>();

  beforeAll(async () => {
    const day = generatedDay({ seed: 3, date: '2025-01-14' });
    ods.set('maxwell', day.records);
    for (const [name, schemas] of [['debezium', false], ['debezium with schemas', true]] as const) {
      const records: InputRecord[] = [];
      let i = 0;
      // the events of the Maxwell records, in their order: the base data's bootstraps, then the day
      const events = [...day.base.flatMap((t) => bootstrapEvents(t, 'gmall', primaryKeyOf)), ...day.txns.flatMap((t) => txnEvents(t, 'gmall', primaryKeyOf))];
      for (const ev of events) {
        // as cdc reads them: the table's columns from the binlog, processing time a little after the commit;
        // a bootstrap's rows are snapshot rows (op r), its start/complete markers have no Debezium counterpart
        const r = encodeDebezium({ ...ev, columns: tableColumns(ev.table)! }, { schemas, now: () => ev.ts + 250 });
        const at = day.records[i++]!;
        if (r) records.push({ ...at, key: r.key, value: r.value });
      }
      expect(i).toBe(day.records.length);
      expect(records.length).toBe(day.records.length - 2 * day.base.length);
      ods.set(name, records);
    }
    for (const [name, records] of ods) {
      const tables = foldDims(records);
      dims.set(name, tables);
      const dwd = await runInMemory(dwdTradeJob, records, { dims: dimReaderOf(tables), batch: 5000 });
      expect(dwd.deadLetters).toEqual([]);
      facts.set(name, dwd.outputs);
      warnings.set(name, dwd.warnings);
      const rows: string[] = [];
      for (const [job, topic] of WINDOW_JOBS) {
        const input = dwd.outputs.filter((o) => o.output === topic).map((o, k) => ({ input: job.inputs[0]!.name, topic, partition: 0, offset: k, timestamp: o.ts, key: o.key, value: o.value }));
        const r = await runInMemory(job, input, { dims: dimReaderOf(tables), batch: 1000, options: { window: '10s', ...(job.needsDims ? { 'dim-retry-ms': '0' } : {}) } });
        expect(r.deadLetters).toEqual([]);
        rows.push(...canon(r.outputs));
      }
      windows.set(name, rows.sort());
    }
  }, 120_000);

  test('the day is a real one: dim rows, facts of every kind, window rows with amounts', () => {
    expect(ods.get('debezium')![0]!.value).toStartWith('{"before":null,"after":');
    expect(ods.get('debezium with schemas')![0]!.value).toStartWith('{"schema":{"type":"struct"');
    const m = facts.get('maxwell')!;
    expect(dims.get('maxwell')!.get('dim_sku_info')!.size).toBeGreaterThan(10);
    expect(new Set(m.map((o) => o.output)).size).toBeGreaterThanOrEqual(8);
    expect(windows.get('maxwell')!.filter((r) => r.includes('"order_amount":') && !r.includes('"order_amount":0,')).length).toBeGreaterThan(50);
  });

  for (const name of ['debezium', 'debezium with schemas'] as const) {
    test(`${name}: run dim's rows equal Maxwell's (sku weight a decimal, dates as texts)`, () => {
      expect(dimRows(dims.get(name)!)).toEqual(dimRows(dims.get('maxwell')!));
      const sku = [...dims.get(name)!.get('dim_sku_info')!.values()][0]!;
      expect(sku.weight).toMatch(/^-?\d+\.\d{2}$/);
      expect(sku.create_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    });

    test(`${name}: run dwd trade's facts equal Maxwell's, record for record`, () => {
      expect(canon(facts.get(name)!)).toEqual(canon(facts.get('maxwell')!));
      expect(warnings.get(name)).toEqual([]);
    });

    test(`${name}: the dws trade windows equal Maxwell's, row for row`, () => {
      expect(windows.get(name)).toEqual(windows.get('maxwell')!);
    });
  }
});
