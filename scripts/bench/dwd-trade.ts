/**
 * `dwd trade` job throughput, pure logic: one generated business day (base data + the day, `--scale`× the default
 * volume) as the Maxwell records `mock db --init --to ods_db` writes, run through the job with the in-memory
 * engine (runInMemory: batches, watermark, timers, checkpoints — no bus, no state file) and an in-memory
 * dim_base_dic. Prints records/s (input records, best of --runs; the machine is shared) and the facts per topic.
 *
 *   bun scripts/bench/dwd-trade.ts [--scale 10] [--runs 3] [--batch 5000] [--seed 3] [--date 2025-01-14]
 */
import { parseArgs } from 'node:util';
import { formatCount } from '../../src/cli/progress';
import { dwdTradeJob } from '../../src/dwd/trade';
import { txnEvents, type ChangeEvent, type ChangeTxn } from '../../src/formats/change';
import { maxwellJson, maxwellKey } from '../../src/formats/maxwell';
import { baseData } from '../../src/mock/db/base';
import { BASE_DIC } from '../../src/mock/db/catalog';
import { generateDay } from '../../src/mock/db/day';
import { bootstrapEvents } from '../../src/mock/db/maxwell-sink';
import { parseMockDbOptions } from '../../src/mock/db/options';
import { primaryKeyOf } from '../../src/mock/db/schema';
import { Rng } from '../../src/mock/random';
import { runInMemory } from '../../src/stream/engine';
import type { DimReader, InputRecord } from '../../src/stream/types';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '3' },
    date: { type: 'string', default: '2025-01-14' },
  },
});
const scale = Number(args.scale);
const seed = Number(args.seed);
const date = args.date!;

const t0 = performance.now();
const options = parseMockDbOptions({ scale: String(scale) });
const base = baseData(seed, date, options);
const uuidRng = new Rng(`${seed}:maxwell-uuid`);
const records: InputRecord[] = [];
const push = (txns: Iterable<ChangeTxn>, events: (txn: ChangeTxn) => ChangeEvent[]) => {
  for (const txn of txns) {
    for (const ev of events(txn)) {
      records.push({ input: 'ods_db', topic: 'ods_db', partition: 0, offset: records.length, timestamp: ev.ts, key: maxwellKey(ev, { uuid: () => uuidRng.uuid() }), value: maxwellJson(ev) });
    }
  }
};
// the base data as the bootstrap `mock db --init --to` publishes (the job skips its rows), then the day
push(base.txns, (t) => bootstrapEvents(t, 'gmall', primaryKeyOf));
push(generateDay({ date, seed, options, state: base.state }), (t) => txnEvents(t, 'gmall', primaryKeyOf));
console.log(`generated ${formatCount(records.length)} Maxwell records (scale ${scale}, seed ${seed}, ${date}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const dic = new Map(BASE_DIC.map(([code, name]) => [code, { dic_code: code, dic_name: name }]));
const dims: DimReader = {
  get: async (_t, id) => dic.get(id),
  getMany: async (_t, ids) => new Map(ids.flatMap((id) => (dic.has(id) ? [[id, dic.get(id)!] as const] : []))),
};

let best = Infinity;
let facts: Record<string, number> = {};
for (let i = 0; i < Number(args.runs); i++) {
  const s = performance.now();
  const r = await runInMemory(dwdTradeJob, records, { dims, batch: Number(args.batch) });
  const sec = (performance.now() - s) / 1000;
  best = Math.min(best, sec);
  facts = {};
  for (const o of r.outputs) facts[o.output] = (facts[o.output] ?? 0) + 1;
  console.log(`run ${i + 1}: ${sec.toFixed(2)} s, ${formatCount(Math.round(records.length / sec))} records/s, ${formatCount(r.outputs.length)} facts, dead letters ${r.deadLetters.length}, counters ${JSON.stringify(r.counters)}`);
}
console.log(`dwd trade (pure job): best ${formatCount(Math.round(records.length / best))} records/s over ${formatCount(records.length)} records`);
console.log(Object.entries(facts).map(([k, v]) => `${k} ${formatCount(v)}`).join(', '));
