/** Test fixtures for the dwd trade job: a base_dic DimReader and a generated day as the Maxwell records `mock db --to` produces. */
import { txnEvents, type ChangeEvent, type ChangeTxn } from '../../src/formats/change';
import { maxwellJson, maxwellKey } from '../../src/formats/maxwell';
import { baseData } from '../../src/mock/db/base';
import { BASE_DIC } from '../../src/mock/db/catalog';
import { generateDay } from '../../src/mock/db/day';
import { bootstrapEvents } from '../../src/mock/db/maxwell-sink';
import { mockDbOptions, parseMockDbOptions } from '../../src/mock/db/options';
import { primaryKeyOf } from '../../src/mock/db/schema';
import { Rng } from '../../src/mock/random';
import type { DimReader, InputRecord } from '../../src/stream/types';

/** dim_base_dic as the dim store serves it (dic_code, dic_name), from the mock base data; counts lookups. */
export function dicReader(rows: readonly (readonly [string, string, string | null])[] = BASE_DIC): DimReader & { lookups: number } {
  const m = new Map(rows.map(([code, name]) => [code, { dic_code: code, dic_name: name }]));
  const r = {
    lookups: 0,
    async get(table: string, id: string) {
      r.lookups++;
      return table === 'dim_base_dic' ? m.get(id) : undefined;
    },
    async getMany(table: string, ids: readonly string[]) {
      r.lookups += ids.length;
      const out = new Map<string, Record<string, string | null>>();
      if (table !== 'dim_base_dic') return out;
      for (const id of ids) {
        const row = m.get(id);
        if (row) out.set(id, row);
      }
      return out;
    },
  };
  return r;
}

export interface GeneratedDay {
  /** The base data of --init: one transaction per table, published as a Maxwell bootstrap of it. */
  base: ChangeTxn[];
  /** The day's transactions, in commit order. */
  txns: ChangeTxn[];
  /** The same as Maxwell records, `partitions` partitions by table like `mock db --to` (producer_partition_by=table). */
  records: InputRecord[];
}

/**
 * One seeded day exactly as `rtwh mock db --init --to ods_db` writes it (produceMaxwell: the base data as
 * bootstrapEvents, then the day as txnEvents → maxwellJson, maxwellKey, uuid keys from the seed drawn afresh for
 * each, as each is its own produceMaxwell), without a bus.
 */
export function generatedDay(opts: { seed: number; date: string; scale?: number; database?: string; partitions?: number }): GeneratedDay {
  const options = opts.scale && opts.scale !== 1 ? parseMockDbOptions({ scale: String(opts.scale) }) : mockDbOptions();
  const database = opts.database ?? 'gmall';
  const base = baseData(opts.seed, opts.date, options);
  const txns = [...generateDay({ date: opts.date, seed: opts.seed, options, state: base.state })];
  const parts = opts.partitions ?? 1;
  const offsets = new Array<number>(parts).fill(0);
  const records: InputRecord[] = [];
  const tables = new Map<string, number>();
  const publish = (events: Iterable<ChangeEvent>) => {
    const uuidRng = new Rng(`${opts.seed}:maxwell-uuid`);
    const enc = { uuid: () => uuidRng.uuid() };
    for (const ev of events) {
      let p = tables.get(ev.table);
      if (p === undefined) tables.set(ev.table, (p = tables.size % parts));
      records.push({ input: 'ods_db', topic: 'ods_db', partition: p, offset: offsets[p]!++, timestamp: ev.ts, key: maxwellKey(ev, enc), value: maxwellJson(ev) });
    }
  };
  publish(base.txns.flatMap((t) => bootstrapEvents(t, database, primaryKeyOf)));
  publish(txns.flatMap((t) => txnEvents(t, database, primaryKeyOf)));
  return { base: base.txns, txns, records };
}
