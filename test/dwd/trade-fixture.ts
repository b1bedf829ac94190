/** Test fixtures for the dwd trade job: a base_dic DimReader and a generated day as the Maxwell records `mock db --to` produces. */
import { txnEvents, type ChangeTxn } from '../../src/formats/change';
import { maxwellJson, maxwellKey } from '../../src/formats/maxwell';
import { baseData } from '../../src/mock/db/base';
import { BASE_DIC } from '../../src/mock/db/catalog';
import { generateDay } from '../../src/mock/db/day';
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
  /** Base data (when init) and the day, in commit order. */
  txns: ChangeTxn[];
  /** The same as Maxwell records, `partitions` partitions by table like `mock db --to` (producer_partition_by=table). */
  records: InputRecord[];
}

/**
 * One seeded day exactly as `rtwh mock db --init --to ods_db` writes it (produceMaxwell: txnEvents → maxwellJson,
 * maxwellKey, uuid keys from the seed), without a bus.
 */
export function generatedDay(opts: { seed: number; date: string; scale?: number; database?: string; partitions?: number }): GeneratedDay {
  const options = opts.scale && opts.scale !== 1 ? parseMockDbOptions({ scale: String(opts.scale) }) : mockDbOptions();
  const base = baseData(opts.seed, opts.date, options);
  const txns: ChangeTxn[] = [...base.txns];
  for (const t of generateDay({ date: opts.date, seed: opts.seed, options, state: base.state })) txns.push(t);
  const uuidRng = new Rng(`${opts.seed}:maxwell-uuid`);
  const enc = { uuid: () => uuidRng.uuid() };
  const parts = opts.partitions ?? 1;
  const offsets = new Array<number>(parts).fill(0);
  const records: InputRecord[] = [];
  const tables = new Map<string, number>();
  for (const txn of txns) {
    for (const ev of txnEvents(txn, opts.database ?? 'gmall', primaryKeyOf)) {
      let p = tables.get(ev.table);
      if (p === undefined) tables.set(ev.table, (p = tables.size % parts));
      records.push({ input: 'ods_db', topic: 'ods_db', partition: p, offset: offsets[p]!++, timestamp: ev.ts, key: maxwellKey(ev, enc), value: maxwellJson(ev) });
    }
  }
  return { txns, records };
}

