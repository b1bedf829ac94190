/**
 * `run dws traffic_vc_ch_ar_is_new` throughput: page records (the dwd_traffic_page shape, {common, page, ts}) are
 * put on a topic first, then the window job (real runtime: state file, outbox, forwarding) and the DuckDB sink
 * run side by side as `rtwh run dws --until-idle` does, timed from start until every window is loaded into
 * DuckDB. Events/s = input page records / that time. The issue's target: ≥ 200,000 events/s on Kafka.
 *
 *   sqlite   embedded bus
 *   kafka    Kafka (scripts/stack.sh up; RTWH_TEST_KAFKA)
 *
 * Best and median of --runs (the machine is shared), with the load average, and the median process CPU per event
 * (user + system of every thread of this process: the JS thread, DuckDB's and SQLite's; not the Kafka broker).
 *
 *   bun scripts/bench/dws.ts [--events 1000000] [--hours 0.5,6] [--runs 2] [--modes sqlite,kafka]
 *
 * --hours sets the density (event time the events span; a list gives a line each): 1,000,000 events over 0.5 h
 * are ~5,500 per 10 s window and 15.6k output rows; over 6 h, ~460 per window and 186k rows (~86 per window: the
 * generator's low random bits repeat, so a window sees few of the 680 vc/ch/ar/is_new groups) — 12x more rows
 * per event, and so a larger share for the sink. Both are far sparser than a stream that arrives at the target
 * rate live (200,000 events in every second of event time, 2,000,000 per window): the cost per event falls with
 * density, so the dense line is the one that speaks to the target, and the sparse one is a day's replay of a small
 * shop (~46 page views a second).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { Bus, ProduceMessage } from '../../src/bus/types';
import { formatCount } from '../../src/cli/progress';
import { ensureDwsTables, runDuckSink, SINK_OFFSETS_TABLE } from '../../src/dws/sink';
import { dwsTable } from '../../src/dws/tables';
import { dwsTrafficVcChArIsNewJob, TRAFFIC_TABLES } from '../../src/dws/traffic';
import { ForwardThread } from '../../src/stream/forward-thread';
import { runJob } from '../../src/stream/runtime';
import { openDuckDB } from '../../src/store/duckdb';
import { threadCpuSeconds, threadName } from './cpu';

const { values: args } = parseArgs({
  options: {
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    events: { type: 'string', default: '1000000' },
    hours: { type: 'string', default: '0.5,6' },
    runs: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'sqlite,kafka' },
  },
});
const EVENTS = Number(args.events);
const RUNS = Number(args.runs);
const MODES = new Set(args.modes.split(','));
const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-dws-'));
const TABLE = TRAFFIC_TABLES.vcChArIsNew;

/** Page records over `hours` of one day: 20,000 mids, gmall-like vc/ch/ar/is_new spreads, sessions of ~6 pages. */
function pages(n: number, hours: number): string[] {
  const t0 = Date.UTC(2025, 0, 13, 16, 0, 0);
  const span = hours * 3_600_000;
  const chs = ['Appstore', 'xiaomi', 'oppo', 'vivo', 'huawei', 'web', 'wandoujia', '360'];
  const ids = ['home', 'good_list', 'good_detail', 'cart', 'trade', 'payment', 'search', 'mine'];
  let seed = 42;
  const rnd = (k: number) => {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    return seed % k;
  };
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const mid = rnd(20_000);
    const common = { ar: String(1 + (mid % 34)), ba: 'Xiaomi', ch: chs[mid % chs.length]!, is_new: mid % 5 === 0 ? '1' : '0', md: 'Xiaomi 13', mid: `mid_${mid}`, os: 'Android 13.0', uid: String(mid), vc: `v2.1.${130 + (mid % 5)}` };
    const start = rnd(6) === 0;
    const page = { during_time: 1000 + rnd(20_000), page_id: ids[rnd(ids.length)]!, ...(start ? {} : { last_page_id: 'home' }) };
    out[i] = JSON.stringify({ common, page, ts: t0 + Math.floor((i * span) / n) + rnd(2000) });
  }
  return out;
}

async function fill(bus: Bus, topic: string, values: string[]): Promise<void> {
  const admin = await bus.admin();
  await admin.createTopic({ name: topic, partitions: 1 }).catch(() => false);
  await admin.close();
  const p = await bus.producer();
  for (let i = 0; i < values.length; i += 20_000) await p.send(topic, values.slice(i, i + 20_000).map((value): ProduceMessage => ({ value })));
  await p.close();
}

interface Run {
  seconds: number;
  /** Process CPU (user + system, all threads: JS, DuckDB, SQLite) over the run, seconds. */
  cpu: number;
  /** Until the window job was done (the sink then loads what is left). */
  jobSeconds: number;
  rows: number;
  windows: number;
  /** CPU seconds per thread name over the run (threads of one name summed), busiest first. */
  threads: [string, number][];
}

async function once(bus: Bus, input: string, tag: string, forwarder?: ForwardThread): Promise<Run> {
  const path = join(dir, `${tag}.duckdb`);
  // The sink starts after what earlier runs left on the (fixed-name) output topic.
  const admin = await bus.admin();
  await admin.createTopic({ name: TABLE, partitions: 1 }).catch(() => false);
  const end = (await admin.describeTopic(TABLE)).partitions[0]!.endOffset;
  await admin.close();
  const db = await openDuckDB(path);
  await ensureDwsTables(db, [dwsTable(TABLE)!]);
  await db.query(`INSERT INTO ${SINK_OFFSETS_TABLE} VALUES ('${TABLE}', 0, ${end})`);
  db.close();

  const c0 = process.cpuUsage();
  const th0 = threadCpuSeconds();
  const t0 = performance.now();
  let done = false;
  const sink = runDuckSink(bus, { path, tables: [dwsTable(TABLE)!], startFrom: 'earliest', untilIdle: true, producersDone: () => done, log: () => undefined });
  const job = await runJob(dwsTrafficVcChArIsNewJob, bus, {
    options: { 'page-topic': input },
    statePath: join(dir, `${tag}.state.db`),
    startFrom: 'earliest',
    untilIdle: true,
    batchRecords: 5000,
    log: () => undefined,
    ...(forwarder ? { forwarder } : {}),
  }).finally(() => (done = true));
  const jobSeconds = (performance.now() - t0) / 1000;
  const s = await sink;
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const byName = new Map<string, number>();
  // the JS thread by itself; DuckDB's threads take the name of the thread that started them
  for (const [k, v] of threadCpuSeconds()) {
    const name = k.startsWith(`${process.pid}:`) ? 'JS main' : threadName(k);
    byName.set(name, (byName.get(name) ?? 0) + v - (th0.get(k) ?? 0));
  }
  const threads = [...byName].filter(([, v]) => v >= 0.01).sort((a, b) => b[1] - a[1]);
  if (job.status.records !== EVENTS) throw new Error(`the job read ${job.status.records} of ${EVENTS}`);
  return { seconds, cpu: (c.user + c.system) / 1e6, jobSeconds, rows: s.status.rows[TABLE] ?? 0, windows: job.status.emitted[TABLE] ?? 0, threads };
}

function line(mode: string, rs: Run[]): void {
  const secs = rs.map((r) => r.seconds).sort((a, b) => a - b);
  const best = secs[0]!;
  const median = secs[Math.floor((secs.length - 1) / 2)]!;
  const cpus = rs.map((r) => r.cpu).sort((a, b) => a - b);
  const cpu = cpus[Math.floor((cpus.length - 1) / 2)]!;
  console.log(
    `${mode.padEnd(7)} ${formatCount(Math.round(EVENTS / best)).padStart(9)} events/s best (${best.toFixed(2)} s), median ${formatCount(Math.round(EVENTS / median))}/s · ${formatCount(rs[0]!.rows)} rows loaded (${formatCount(rs[0]!.windows)} emitted; the job alone done after ${rs[0]!.jobSeconds.toFixed(2)} s) · process CPU ${((cpu * 1e6) / EVENTS).toFixed(2)} µs/event (median) · load ${loadavg()[0]!.toFixed(2)}`,
  );
  const med = [...rs].sort((a, b) => a.seconds - b.seconds)[Math.floor((rs.length - 1) / 2)]!;
  console.log(`        CPU µs/event by thread (median run): ${med.threads.map(([n, v]) => `${n} ${((v * 1e6) / EVENTS).toFixed(2)}`).join(', ')}`);
  if (rs.length > 1) console.log(`        each run: ${rs.map((r) => `${r.seconds.toFixed(2)} s ${((r.cpu * 1e6) / EVENTS).toFixed(2)} µs/event`).join(' · ')}`);
}

try {
  for (const hours of args.hours.split(',').map(Number)) {
    if (!(hours > 0)) throw new Error(`--hours: expected positive numbers, got ${JSON.stringify(args.hours)}`);
    const values = pages(EVENTS, hours);
    console.log(
      `dws traffic_vc_ch_ar_is_new: ${formatCount(EVENTS)} page records over ${hours} h of event time (~${formatCount(Math.round(EVENTS / ((hours * 3600) / 10)))} per 10 s window) → windows → DuckDB, ${RUNS} run(s) per mode`,
    );
    for (const mode of ['sqlite', 'kafka']) {
      if (!MODES.has(mode)) continue;
      const bus = await openBus(mode === 'sqlite' ? `sqlite:${join(dir, 'bus.db')}` : args.kafka, { clientId: 'rtwh-bench-dws' });
      const input = `bench_dws_page_${Date.now()}`;
      try {
        await fill(bus, input, values);
        const rs: Run[] = [];
        // Kafka: the job's outputs forwarded by a worker thread, as `rtwh run dws` does.
        const forwarder = mode === 'kafka' ? await ForwardThread.start({ url: args.kafka, cwd: process.cwd(), clientId: 'rtwh-bench-dws' }) : undefined;
        try {
          for (let i = 0; i < RUNS; i++) rs.push(await once(bus, input, `${mode}-${hours}h-${i}`, forwarder));
        } finally {
          await forwarder?.close();
        }
        line(mode, rs);
      } finally {
        if (mode === 'kafka') {
          const admin = await bus.admin();
          await admin.deleteTopic(input).catch(() => undefined);
          await admin.close();
        }
        await bus.close();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
