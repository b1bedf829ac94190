/**
 * Stream runtime throughput: a trivial pass-through job (each input record emitted unchanged, same key) from an input
 * topic to an output topic, timed from start to drained (--until-idle), so it measures the runtime's own cost per
 * record: poll, engine, one state-file transaction per batch with the outbox, forwarding with the seq headers.
 * The input (~450-byte JSON values like ods_log lines, keyed over 1,000 keys, 4 partitions) is written first.
 *
 *   sqlite   embedded bus
 *   kafka    Kafka bus (the DWD target: ≥ 150,000 records/s)
 *
 * Best of --runs (the machine is shared). Kafka needs `scripts/stack.sh up`.
 *
 *   bun scripts/bench/stream.ts [--records 500000] [--runs 2] [--modes sqlite,kafka] [--batch 5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { Bus, ProduceMessage } from '../../src/bus/types';
import { formatCount } from '../../src/cli/progress';
import { ForwardThread } from '../../src/stream/forward-thread';
import { runJob } from '../../src/stream/runtime';
import type { JobSpec } from '../../src/stream/types';

const { values: args } = parseArgs({
  options: {
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    records: { type: 'string', default: '500000' },
    runs: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'sqlite,kafka' },
    batch: { type: 'string', default: '5000' },
  },
});
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const BATCH = Number(args.batch);
const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-stream-'));

const passThrough: JobSpec = {
  name: 'bench pass',
  description: 'every input record to the output, unchanged',
  inputs: [{ name: 'in', topicOption: 'in' }],
  outputs: [{ name: 'out', topicOption: 'out', partitions: 4 }],
  options: [
    { name: 'in', description: 'input topic', default: 'bench_in' },
    { name: 'out', description: 'output topic', default: 'bench_out' },
  ],
  create: () => ({
    process(r, ctx) {
      ctx.emit('out', r.key, r.value ?? '', r.timestamp);
    },
  }),
};

function value(i: number): string {
  const ts = 1_736_812_800_000 + i;
  return JSON.stringify({
    common: { ar: '110000', ba: 'Xiaomi', ch: 'xiaomi', is_new: '0', md: 'Xiaomi 10 Pro ', mid: `mid_${i % 1000}`, os: 'Android 11.0', sid: `s_${i % 5000}`, uid: String(i % 800), vc: 'v2.1.134' },
    page: { during_time: 12_345, item: String(i % 35), item_type: 'sku_id', last_page_id: 'home', page_id: 'good_detail' },
    ts,
  });
}

async function fill(bus: Bus, topic: string): Promise<void> {
  const admin = await bus.admin();
  await admin.createTopic({ name: topic, partitions: 4 });
  await admin.close();
  const p = await bus.producer();
  const step = 10_000;
  for (let i = 0; i < RECORDS; i += step) {
    const msgs: ProduceMessage[] = [];
    for (let j = i; j < Math.min(RECORDS, i + step); j++) msgs.push({ key: `mid_${j % 1000}`, value: value(j), timestamp: 1_736_812_800_000 + j });
    await p.send(topic, msgs);
  }
  await p.close();
}

async function once(mode: string, run: number): Promise<number> {
  const url = mode === 'kafka' ? args.kafka : `sqlite:${join(dir, `bus-${run}.db`)}`;
  const bus = await openBus(url);
  const id = `bench_stream_${Date.now().toString(36)}_${run}`;
  const topics = { in: `${id}_in`, out: `${id}_out` };
  try {
    await fill(bus, topics.in);
    // Kafka: outputs forwarded by a worker thread, as `rtwh run` does (src/stream/forward-thread.ts).
    const forwarder = mode === 'kafka' ? await ForwardThread.start({ url, cwd: process.cwd() }) : undefined;
    const r = await runJob(passThrough, bus, {
      options: topics,
      statePath: join(dir, `${id}.db`),
      startFrom: 'earliest',
      untilIdle: true,
      batchRecords: BATCH,
      group: `${id}_group`,
      log: () => undefined,
      ...(forwarder ? { forwarder } : {}),
    }).finally(() => forwarder?.close());
    if (r.status.records !== RECORDS || r.status.emitted.out !== RECORDS) throw new Error(`${mode}: processed ${r.status.records}, emitted ${r.status.emitted.out} of ${RECORDS}`);
    return RECORDS / r.seconds;
  } finally {
    if (mode === 'kafka') {
      const admin = await bus.admin();
      for (const t of Object.values(topics)) await admin.deleteTopic(t).catch(() => undefined);
      await admin.close();
    }
    await bus.close();
  }
}

try {
  for (const mode of args.modes.split(',')) {
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) rates.push(await once(mode, run));
    const best = Math.max(...rates);
    console.log(`${mode.padEnd(7)} pass-through ${formatCount(RECORDS)} records, batch ${BATCH}: best ${formatCount(best)} records/s (runs: ${rates.map((r) => formatCount(r)).join(', ')}; load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
