/**
 * ship log throughput: lines/s from an app-log file to a topic, for
 *   - `rtwh ship log --once` to Kafka (at Flume's batch size 100 and at larger batches),
 *   - Kafka's own kafka-console-producer (org.apache.kafka.tools.ConsoleProducer) fed the SAME file,
 *   - `rtwh ship log --once` to the embedded sqlite bus,
 * printed with ratios against the console producer. Both sides are whole processes timed from start to exit;
 * the "steady" column subtracts each tool's start-up (the same command on a 2-line file).
 *
 *   bun scripts/bench/ship-log.ts [--lines 300000] [--batches 100,1000,5000] [--kafka kafka://127.0.0.1:9092]
 *                                 [--bin dist/rtwh] [--skip-kafka]
 *
 * The file holds realistic gmall app-log lines (start / page / display / action / error records, ~400 bytes on
 * average, all valid JSON objects so every tool ships every line). Needs `scripts/stack.sh up` for Kafka.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '300000' },
    batches: { type: 'string', default: '100,1000,5000' },
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    bin: { type: 'string' },
    'skip-kafka': { type: 'boolean', default: false },
  },
});
const N = Number(args.lines);
const BATCHES = args.batches.split(',').map(Number);
const REPO = resolve(import.meta.dir, '../..');
const RTWH = args.bin ? [resolve(args.bin)] : [process.execPath, join(REPO, 'cmd/main.ts')];

/** sfc32: deterministic data, so runs are comparable. */
function rng(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

const PAGES = ['home', 'search', 'good_list', 'good_detail', 'cart', 'trade', 'payment', 'mine', 'orders_unpaid'];
const BRANDS: [string, string[]][] = [['Xiaomi', ['Xiaomi 13', 'Redmi k50']], ['Huawei', ['Huawei Mate 60', 'Huawei P50']], ['iPhone', ['iPhone 14', 'iPhone 15 Pro']], ['Honor', ['Honor Magic5']]];
const CHANNELS = ['xiaomi', 'huawei', 'oppo', 'vivo', 'Appstore', 'web', 'wandoujia', '360'];

/** One gmall (2022 generator) app-log line. */
function appLogLine(r: () => number, ts: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const [ba, models] = pick(BRANDS);
  const common = {
    ar: String(110000 + Math.floor(r() * 34) * 10000),
    ba,
    ch: ba === 'iPhone' ? 'Appstore' : pick(CHANNELS),
    is_new: r() < 0.2 ? '1' : '0',
    md: pick(models),
    mid: `mid_${Math.floor(r() * 1_000_000)}`,
    os: ba === 'iPhone' ? `iOS 16.${Math.floor(r() * 4)}` : `Android 1${Math.floor(r() * 4)}.0`,
    uid: String(Math.floor(r() * 5000)),
    vc: `v2.1.${100 + Math.floor(r() * 40)}`,
  };
  const x = r();
  if (x < 0.1) {
    return JSON.stringify({ common, start: { entry: pick(['icon', 'notice', 'install']), loading_time: Math.floor(r() * 20000), open_ad_id: Math.floor(r() * 20), open_ad_ms: Math.floor(r() * 10000), open_ad_skip_ms: 0 }, ts });
  }
  const page_id = pick(PAGES);
  const page: Record<string, unknown> = { during_time: Math.floor(r() * 20000), last_page_id: pick(PAGES), page_id };
  if (page_id === 'good_detail') Object.assign(page, { item: String(Math.floor(r() * 35)), item_type: 'sku_id' });
  if (page_id === 'search') Object.assign(page, { item: pick(['小米', '手机', '口红', 'iPhone', '面膜']), item_type: 'keyword' });
  const out: Record<string, unknown> = { common, page, ts };
  if (x < 0.5) out.displays = Array.from({ length: 2 + Math.floor(r() * 5) }, (_, i) => ({ display_type: pick(['query', 'promotion', 'recommend']), item: String(Math.floor(r() * 35)), item_type: 'sku_id', order: i + 1, pos_id: Math.floor(r() * 5) }));
  else if (x < 0.6) out.actions = [{ action_id: pick(['cart_add', 'favor_add', 'get_coupon']), item: String(Math.floor(r() * 35)), item_type: 'sku_id', ts: ts + Math.floor(r() * 1000) }];
  if (r() < 0.02) out.err = { error_code: 1000 + Math.floor(r() * 4000), msg: ' Exception in thread \\  java.net.SocketTimeoutException\\n \\tat com.atgugu.gmall2020.mock.bean.log.AppError.main(AppError.java:xxxxxx)' };
  return JSON.stringify(out);
}

function writeLogFile(path: string, n: number): { bytes: number; avg: number } {
  const r = rng(42);
  let ts = Date.UTC(2025, 0, 14, 8);
  const chunk: string[] = [];
  let bytes = 0;
  writeFileSync(path, '');
  const flush = () => {
    const s = chunk.join('');
    bytes += Buffer.byteLength(s);
    writeFileSync(path, s, { flag: 'a' });
    chunk.length = 0;
  };
  for (let i = 0; i < n; i++) {
    ts += Math.floor(r() * 50);
    chunk.push(`${appLogLine(r, ts)}\n`);
    if (chunk.length === 10_000) flush();
  }
  flush();
  return { bytes, avg: bytes / n - 1 };
}

interface Row {
  name: string;
  records: number;
  wall: number;
  steady: number;
}

function timed(cmd: string[], stdinFile?: string): { seconds: number; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdin: stdinFile ? Bun.file(stdinFile) : 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`${cmd.slice(0, 4).join(' ')} … exited ${r.exitCode}: ${r.stderr.toString().slice(-2000)}`);
  return { seconds, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

async function recordsIn(bus: Bus, topic: string): Promise<number> {
  const admin = await bus.admin();
  try {
    return (await admin.describeTopic(topic)).partitions.reduce((s, p) => s + p.endOffset - p.startOffset, 0);
  } finally {
    await admin.close();
  }
}

async function createTopic(bus: Bus, name: string): Promise<void> {
  const admin = await bus.admin();
  try {
    await admin.createTopic({ name, partitions: 1 });
  } finally {
    await admin.close();
  }
}

async function rtwhRun(label: string, busUrl: string, bus: Bus, dir: string, tiny: string, topic: string, batch: number): Promise<Row> {
  await createTopic(bus, topic);
  await createTopic(bus, `${topic}_startup`);
  const ship = (logDir: string, t: string, pos: string) =>
    timed([...RTWH, 'ship', 'log', '--path', `${logDir}/app.*`, '--once', '--json', '--bus', busUrl, '--topic', t, '--position', pos, '--batch-size', String(batch)]);
  const startup = ship(tiny, `${topic}_startup`, join(dir, `${topic}.startup.pos.json`)).seconds;
  const run = ship(join(dir, 'applog'), topic, join(dir, `${topic}.pos.json`));
  const result = JSON.parse(run.stdout) as { lines: number; seconds: number };
  const got = await recordsIn(bus, topic);
  if (result.lines !== N || got !== N) throw new Error(`${label}: shipped ${result.lines}, topic holds ${got}, expected ${N}`);
  return { name: label, records: N, wall: N / run.seconds, steady: N / Math.max(run.seconds - startup, 1e-3) };
}

function consoleProducer(bootstrap: string, bus: Bus, file: string, tiny: string, topic: string): Promise<Row> {
  return (async () => {
    await createTopic(bus, topic);
    await createTopic(bus, `${topic}_startup`);
    const java = (t: string, f: string) =>
      timed(['bash', join(REPO, 'scripts/stack.sh'), 'kafka-class', 'org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server', bootstrap, '--topic', t], f);
    const startup = java(`${topic}_startup`, join(tiny, 'app.log')).seconds;
    const run = java(topic, file);
    const got = await recordsIn(bus, topic);
    if (got !== N) throw new Error(`kafka-console-producer: topic holds ${got}, expected ${N}`);
    return { name: 'kafka-console-producer (Java)', records: N, wall: N / run.seconds, steady: N / Math.max(run.seconds - startup, 1e-3) };
  })();
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(11);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-ship-'));
  try {
    mkdirSync(join(dir, 'applog'));
    const tiny = join(dir, 'tiny');
    mkdirSync(tiny);
    writeFileSync(join(tiny, 'app.log'), '{"a":1}\n{"a":2}\n');
    const file = join(dir, 'applog', 'app.2025-01-14.log');
    const { bytes, avg } = writeLogFile(file, N);
    console.error(`ship log bench: ${N.toLocaleString('en-US')} app-log lines, ${(bytes / 1e6).toFixed(1)} MB (avg ${Math.round(avg)} bytes/line), rtwh = ${RTWH.join(' ')}`);
    const rows: Row[] = [];
    const run = Date.now();
    if (!args['skip-kafka']) {
      const kafka = await openBus(args.kafka);
      try {
        const bootstrap = args.kafka.slice('kafka://'.length).split(',')[0] as string;
        rows.push(await consoleProducer(bootstrap, kafka, file, tiny, `bench_ship_java_${run}`));
        for (const b of BATCHES) rows.push(await rtwhRun(`rtwh ship log → Kafka, batch ${b}`, args.kafka, kafka, dir, tiny, `bench_ship_k${b}_${run}`, b));
      } finally {
        await kafka.close();
      }
    }
    const sqliteUrl = `sqlite:${join(dir, 'bus.db')}`;
    const sqlite = await openBus(sqliteUrl);
    try {
      for (const b of BATCHES) rows.push(await rtwhRun(`rtwh ship log → sqlite bus, batch ${b}`, sqliteUrl, sqlite, dir, tiny, `bench_ship_s${b}`, b));
    } finally {
      await sqlite.close();
    }
    const ref = rows.find((r) => r.name.startsWith('kafka-console-producer'));
    console.log(`\n${'tool'.padEnd(40)} ${'lines/s'.padStart(11)} ${'steady/s'.padStart(11)}   vs console-producer (wall · steady)`);
    for (const r of rows) {
      const ratio = ref ? `${(r.wall / ref.wall).toFixed(2)}× · ${(r.steady / ref.steady).toFixed(2)}×` : '';
      console.log(`${r.name.padEnd(40)} ${fmt(r.wall)} ${fmt(r.steady)}   ${ratio}`);
    }
    console.log(`\nlines/s = lines ÷ whole-process wall time; steady/s = lines ÷ (wall − the same tool's start-up on a 2-line file). File: ${statSync(file).size.toLocaleString('en-US')} bytes.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
