/**
 * tail --etl throughput: records/s validated by `rtwh tail TOPIC --etl` from Kafka, next to Debian's kcat reading
 * the same topic in the same run (`kcat -C -e -o beginning`), as a ratio. Target: ≥ 0.5 of kcat.
 *
 *   bun scripts/bench/tail.ts [--records 500000] [--partitions 1] [--runs 3] [--kafka kafka://127.0.0.1:9092]
 *                             [--bin PATH | --source] [--topic EXISTING]
 *
 * Needs the dev stack (`scripts/stack.sh up`) and kcat (`apt-get install -y kcat`; installed here when missing).
 * Records are Maxwell order_detail inserts of ~470 bytes made by the Maxwell encoder; both readers write to
 * /dev/null and are timed as whole commands (start-up included), best of --runs, alternating. CPU seconds are
 * printed too: wall time depends on what else the machine runs (rtwh is CPU-bound, kcat mostly waits).
 * rtwh is what users run: the compiled binary, built from this checkout first (`bun scripts/build.ts`, ~4 s, into a
 * temporary file). `--bin PATH` measures another build; `--source` runs `bun cmd/main.ts` instead (the same code,
 * plus ~0.25 s of transpiling at every start — ~15 % of a run here).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { benchBinary } from './binary';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { ProduceMessage } from '../../src/bus/types';
import { dec, type ChangeEvent } from '../../src/formats/change';
import { maxwellJson, maxwellKey } from '../../src/formats/maxwell';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '500000' },
    partitions: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    bin: { type: 'string' },
    source: { type: 'boolean', default: false },
    topic: { type: 'string' },
  },
});
const N = Number(args.records);
const REPO = resolve(import.meta.dir, '../..');
const BROKERS = args.kafka.replace(/^kafka:\/\//, '');
const RTWH = args.source ? [process.execPath, join(REPO, 'cmd/main.ts')] : [args.bin ? resolve(args.bin) : benchBinary()];

function ensureKcat(): void {
  if (Bun.which('kcat')) return;
  console.error('kcat is missing: apt-get install -y kcat');
  const r = Bun.spawnSync(['bash', '-c', 'apt-get install -y kcat || (apt-get update && apt-get install -y kcat)'], { stdout: 'inherit', stderr: 'inherit' });
  if (r.exitCode !== 0 || !Bun.which('kcat')) throw new Error('could not install kcat (apt-get install -y kcat)');
}

/** A Maxwell order_detail insert like mock db writes, ~450 bytes. */
function record(i: number): { key: string; value: string } {
  const ev: ChangeEvent = {
    database: 'gmall',
    table: 'order_detail',
    type: 'insert',
    ts: 1736812800_000 + i * 37,
    xid: 100_000 + Math.floor(i / 4),
    xoffset: i % 4,
    commit: i % 4 === 3,
    primaryKey: ['id'],
    data: {
      id: 1_000_000 + i,
      order_id: 500_000 + Math.floor(i / 4),
      sku_id: (i % 35) + 1,
      sku_name: '小米12S Ultra 骁龙8+旗舰处理器 徕卡光学镜头 2K超视感屏 12GB+256GB 5G手机',
      img_url: null,
      order_price: dec(599900 + (i % 997)),
      sku_num: (i % 3) + 1,
      create_time: '2025-01-14 10:20:34',
      source_type: '2401',
      source_id: null,
      split_total_amount: dec(1199800 + (i % 997)),
      split_activity_amount: dec(0),
      split_coupon_amount: dec(3000),
    },
  };
  return { key: maxwellKey(ev), value: maxwellJson(ev) };
}

async function produce(topic: string): Promise<number> {
  const bus = await openBus(args.kafka);
  try {
    const admin = await bus.admin();
    await admin.createTopic({ name: topic, partitions: Number(args.partitions) });
    await admin.close();
    const p = await bus.producer();
    const t0 = performance.now();
    let bytes = 0;
    for (let sent = 0; sent < N; sent += 5000) {
      const msgs: ProduceMessage[] = [];
      for (let i = sent; i < Math.min(N, sent + 5000); i++) {
        const r = record(i);
        bytes += Buffer.byteLength(r.value);
        msgs.push(r);
      }
      await p.send(topic, msgs);
    }
    await p.close();
    console.error(`produced ${N.toLocaleString('en-US')} records (${Math.round(bytes / N)} bytes each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return bytes;
  } finally {
    await bus.close();
  }
}

interface Timed {
  seconds: number;
  /** user + system CPU seconds: what the command costs whatever else the machine does. */
  cpu: number;
  records: number;
}

async function timed(cmd: string[], count: (stderr: string) => number): Promise<Timed> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: Bun.file('/dev/null'), stderr: 'pipe', stdin: 'ignore' });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`);
  const usage = p.resourceUsage();
  const cpu = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN;
  return { seconds, cpu, records: count(stderr) };
}

async function main(): Promise<void> {
  ensureKcat();
  if (!existsSync(RTWH.at(-1)!)) throw new Error(`missing ${RTWH.at(-1)}`);
  console.error(`rtwh: ${args.source ? 'from source' : RTWH[0]}`);
  const topic = args.topic ?? `bench_tail_${Date.now().toString(36)}`;
  if (!args.topic) await produce(topic);
  const kcat = ['kcat', '-C', '-e', '-o', 'beginning', '-b', BROKERS, '-t', topic];
  const rtwh = [...RTWH, 'tail', topic, '--etl', '--bus', args.kafka];
  // kcat says "Reached end of topic T [p] at offset N" per partition; rtwh's summary says "read N records".
  const kcatCount = (err: string) => [...err.matchAll(/at offset (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const rtwhCount = (err: string) => Number(/read ([\d,]+) records/.exec(err)?.[1]?.replace(/,/g, '') ?? NaN);
  let bestK: Timed | null = null;
  let bestR: Timed | null = null;
  const cpuR: number[] = [];
  for (let i = 0; i < Number(args.runs); i++) {
    const k = await timed(kcat, kcatCount);
    const r = await timed(rtwh, rtwhCount);
    console.error(
      `run ${i + 1}: kcat ${k.seconds.toFixed(2)} s (cpu ${k.cpu.toFixed(2)} s, ${k.records.toLocaleString('en-US')} records) · ` +
        `rtwh tail --etl ${r.seconds.toFixed(2)} s (cpu ${r.cpu.toFixed(2)} s, ${r.records.toLocaleString('en-US')} records)`,
    );
    if (r.records !== k.records) throw new Error(`rtwh read ${r.records} records, kcat ${k.records}`);
    if (!bestK || k.seconds < bestK.seconds) bestK = k;
    if (!bestR || r.seconds < bestR.seconds) bestR = r;
    cpuR.push((r.cpu / r.records) * 1e6);
  }
  const rate = (t: Timed) => t.records / t.seconds;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
  console.log(`${'reader (best of runs)'.padEnd(44)}${'records/s'.padStart(12)}${'cpu s'.padStart(8)}`);
  console.log(`${`kcat -C -e -o beginning (${topic})`.padEnd(44)}${fmt(rate(bestK!))}${bestK!.cpu.toFixed(2).padStart(8)}`);
  console.log(`${'rtwh tail --etl'.padEnd(44)}${fmt(rate(bestR!))}${bestR!.cpu.toFixed(2).padStart(8)}`);
  console.log(`${'ratio rtwh ÷ kcat (target ≥ 0.50)'.padEnd(44)}${(rate(bestR!) / rate(bestK!)).toFixed(2).padStart(12)}`);
  // Process CPU per record is steadier than wall time on a shared machine (start-up included).
  const sorted = cpuR.sort((a, b) => a - b);
  console.log(`${'rtwh cpu µs/record (median of runs)'.padEnd(44)}${sorted[Math.floor(sorted.length / 2)]!.toFixed(2).padStart(12)}`);
}

await main();
process.exit(0);
