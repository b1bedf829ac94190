/**
 * Bus throughput: produce and consume msgs/s of 450-byte JSON values, for
 *   - the embedded sqlite bus (rtwh),
 *   - Kafka through kafkajs (rtwh's Kafka bus),
 *   - Kafka's own Java perf tools (ProducerPerformance / ConsumerPerformance from kafka-tools) in the same run,
 * printed with ratios against the Java tools. Needs `scripts/stack.sh up` for the Kafka rows.
 *
 *   bun scripts/bench/bus.ts [--records 200000] [--batch 1000] [--inflight 1] [--kafka kafka://127.0.0.1:9092] [--skip-kafka]
 *                            [--compression none|gzip|snappy|lz4]
 *
 * Each send() is awaited before the next (one batch in flight), as a ship loop does; --inflight N keeps N sends
 * outstanding instead, as cdc's writer does (the Kafka producer keeps their requests in flight together). A batch
 * over 1 MB goes as several Kafka requests either way, pipelined. --compression applies to the Kafka rows, rtwh's
 * producer and the Java producer's compression.type alike.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { Bus, Compression } from '../../src/bus/types';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '1' },
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    'skip-kafka': { type: 'boolean', default: false },
    compression: { type: 'string', default: 'none' },
  },
});
const N = Number(args.records);
const BATCH = Number(args.batch);
const INFLIGHT = Math.max(1, Number(args.inflight));
const VALUE_BYTES = 450;
const REPO = resolve(import.meta.dir, '../..');
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4'];
if (!COMPRESSIONS.includes(args.compression as Compression)) throw new Error(`--compression must be one of ${COMPRESSIONS.join(', ')}`);
const COMPRESSION = args.compression as Compression;

/** A Maxwell-shaped order_info change padded to exactly 450 bytes, varying per record like real data. */
function value(i: number): string {
  const base = `{"database":"gmall","table":"order_info","type":"update","ts":${1736812800 + (i % 86400)},"xid":${100000 + i},"commit":true,"data":{"id":${i},"consignee":"张三","total_amount":${(i % 9973) + 0.5},"order_status":"1002","user_id":${i % 5000},"province_id":${i % 34},"create_time":"2025-01-14 10:00:00"},"old":{"order_status":"1001"},"pad":"`;
  const padBytes = VALUE_BYTES - Buffer.byteLength(base) - 2;
  return `${base}${'x'.repeat(Math.max(0, padBytes))}"}`;
}

interface Row {
  name: string;
  produce: number;
  consume: number;
}

async function benchBus(name: string, bus: Bus, topic: string): Promise<Row> {
  const admin = await bus.admin();
  await admin.createTopic({ name: topic, partitions: 1 });
  await admin.close();
  const values = Array.from({ length: BATCH }, (_, i) => value(i));
  const producer = await bus.producer(bus.kind === 'kafka' ? { compression: COMPRESSION } : {});
  let t0 = performance.now();
  const outstanding: Promise<unknown>[] = [];
  for (let sent = 0; sent < N; sent += BATCH) {
    const n = Math.min(BATCH, N - sent);
    if (outstanding.length >= INFLIGHT) await outstanding.shift();
    outstanding.push(producer.send(topic, values.slice(0, n).map((v, i) => ({ key: String(sent + i), value: v }))));
  }
  await Promise.all(outstanding);
  const produce = N / ((performance.now() - t0) / 1000);
  await producer.close();

  const consumer = await bus.consumer({ group: `bench-${Date.now()}`, topics: [topic], startFrom: 'earliest', maxPollRecords: 10000 });
  let got = 0;
  let bytes = 0;
  t0 = performance.now();
  const deadline = Date.now() + 300_000;
  while (got < N && Date.now() < deadline) {
    const recs = await consumer.poll({ timeoutMs: 1000, maxRecords: 10000 });
    got += recs.length;
    for (const r of recs) bytes += r.value?.length ?? 0;
  }
  const consume = got / ((performance.now() - t0) / 1000);
  await consumer.close();
  if (got < N) throw new Error(`${name}: consumed only ${got} of ${N} records`);
  if (bytes !== N * VALUE_BYTES) throw new Error(`${name}: consumed ${bytes} bytes, expected ${N * VALUE_BYTES}`);
  return { name, produce, consume };
}

function kafkaClass(cls: string, argv: string[]): string {
  const r = Bun.spawnSync(['bash', join(REPO, 'scripts/stack.sh'), 'kafka-class', cls, ...argv], { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${cls} failed: ${r.stderr.toString().slice(-2000)}`);
  return r.stdout.toString();
}

function benchJava(bootstrap: string, topic: string, dir: string): Row {
  // The same 450-byte JSON values as payloads, so both sides move identical bytes.
  const payloads = join(dir, 'payloads.txt');
  writeFileSync(payloads, Array.from({ length: BATCH }, (_, i) => value(i)).join('\n'));
  const prodOut = kafkaClass('org.apache.kafka.tools.ProducerPerformance', [
    '--topic', topic, '--num-records', String(N), '--throughput', '-1', '--payload-file', payloads,
    '--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all', 'linger.ms=5', 'batch.size=524288',
    `compression.type=${COMPRESSION}`,
  ]);
  const pm = /(\d+) records sent, ([\d.]+) records\/sec/.exec(prodOut);
  if (!pm) throw new Error(`cannot read ProducerPerformance output:\n${prodOut}`);
  const consOut = kafkaClass('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(N), '--timeout', '60000',
  ]);
  // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...
  const line = consOut.trim().split('\n').filter((l) => /^\d{4}-/.test(l)).pop();
  const cols = line?.split(',').map((s) => s.trim());
  if (!cols || cols.length < 9) throw new Error(`cannot read ConsumerPerformance output:\n${consOut}`);
  const nMsg = Number(cols[4]);
  const fetchMs = Number(cols[7]);
  // nMsg.sec counts the group join too; fetch.time.ms is the pure fetch phase — report that, like kafkajs's loop.
  return { name: 'kafka java perf tools', produce: Number(pm[2]), consume: nMsg / (fetchMs / 1000) };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-'));
  const rows: Row[] = [];
  try {
    console.error(`bus bench: ${N.toLocaleString('en-US')} records of ${VALUE_BYTES}-byte JSON, batches of ${BATCH}, ${INFLIGHT} in flight, kafka compression ${COMPRESSION}`);
    const sqlite = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    rows.push(await benchBus('sqlite bus (rtwh)', sqlite, 'bench'));
    await sqlite.close();
    if (!args['skip-kafka']) {
      const run = Date.now();
      const kafka = await openBus(args.kafka);
      rows.push(await benchBus('kafka via kafkajs (rtwh)', kafka, `bench_kafkajs_${run}`));
      await kafka.close();
      const bootstrap = args.kafka.slice('kafka://'.length);
      rows.push(benchJava(bootstrap, `bench_java_${run}`, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${'bus'.padEnd(28)}${'produce msg/s'.padStart(14)}${'consume msg/s'.padStart(14)}`);
  for (const r of rows) console.log(`${r.name.padEnd(28)}  ${fmt(r.produce)}  ${fmt(r.consume)}`);
  const java = rows.find((r) => r.name.startsWith('kafka java'));
  if (java) {
    for (const r of rows.filter((x) => x !== java)) {
      console.log(`${`ratio ${r.name.split(' ')[0]}${r.name.includes('kafkajs') ? '/kafkajs' : ''} ÷ java`.padEnd(28)}  ${(r.produce / java.produce).toFixed(2).padStart(12)}  ${(r.consume / java.consume).toFixed(2).padStart(12)}`);
    }
  }
}

await main();
process.exit(0);
