/**
 * Dim job throughput: a Maxwell bootstrap of N user_info rows (bootstrap-start, N bootstrap-insert,
 * bootstrap-complete — what `rtwh cdc bootstrap gmall.user_info` writes) is put on ods_db first; then the dim job
 * routes it with the standard rules, timed from start to drained:
 *
 *   sqlite → sqlite   embedded bus, embedded dim store (the target: ≥ 100,000 records/s)
 *   kafka  → sqlite   Kafka bus, embedded dim store
 *   sqlite → mysql    embedded bus, MariaDB dim store
 *
 * and, for scale, the parts alone: decoding + routing (no store), and the store's apply of the routed writes.
 * Best of --runs (the machine is shared). Kafka and MariaDB modes need `scripts/stack.sh up`.
 *
 *   bun scripts/bench/dim.ts [--rows 1000000] [--runs 2] [--modes route,sqlite,kafka,mysql] [--batch 5000]
 *
 * Mode `general` is decode + route without the fast Maxwell scanner (src/dim/decode.ts). Job modes also print the
 * process CPU time per record (all threads), steadier than records/s on a shared machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import type { Bus, ProduceMessage } from '../../src/bus/types';
import { formatCount } from '../../src/cli/progress';
import { standardRules } from '../../src/dim/config';
import { staticConfigSource } from '../../src/dim/config-source';
import { runDimJob } from '../../src/dim/job';
import { routeRecord } from '../../src/dim/decode';
import { openDimStore } from '../../src/dim/store';
import type { DimStore, TableProcess } from '../../src/dim/types';
import { connectMysql } from '../../src/store/mysql';

const { values: args } = parseArgs({
  options: {
    mysql: { type: 'string', default: process.env.RTWH_TEST_MYSQL ?? 'mysql://root:rtwh-root@127.0.0.1:3307/gmall' },
    kafka: { type: 'string', default: process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092' },
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'route,sqlite,kafka,mysql' },
    batch: { type: 'string', default: '5000' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const MODES = new Set(args.modes.split(','));
const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-dim-'));
const rules = standardRules();

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** The records of a Maxwell bootstrap of user_info, as maxwell-bootstrap writes them. */
function records(): ProduceMessage[] {
  const ts = 1736812800;
  const key = (id: number) => `{"database":"gmall","table":"user_info","pk.id":${id}}`;
  const out: ProduceMessage[] = [{ key: '{"database":"gmall","table":"user_info"}', value: `{"database":"gmall","table":"user_info","type":"bootstrap-start","ts":${ts},"data":{}}` }];
  for (let id = 1; id <= ROWS; id++) {
    const day = 1 + (id % 28);
    const value =
      `{"database":"gmall","table":"user_info","type":"bootstrap-insert","ts":${ts},"data":{"id":${id},"login_name":"u${pad(id, 8)}","nick_name":"阿${id % 97}",` +
      `"passwd":null,"name":"用户${id}","phone_num":"13${pad(id % 1_000_000_000, 9)}","email":"u${id}@example.com","head_img":null,"user_level":"${1 + (id % 3)}",` +
      `"birthday":"1990-01-${pad(day, 2)}","gender":"${id % 2 ? 'F' : 'M'}","create_time":"2025-01-${pad(day, 2)} 10:00:00","operate_time":null,"status":null}}`;
    out.push({ key: key(id), value });
  }
  out.push({ key: '{"database":"gmall","table":"user_info"}', value: `{"database":"gmall","table":"user_info","type":"bootstrap-complete","ts":${ts},"data":{}}` });
  return out;
}

async function fill(bus: Bus, topic: string, msgs: ProduceMessage[]): Promise<void> {
  const admin = await bus.admin();
  await admin.createTopic({ name: topic, partitions: 1 }).catch(() => false);
  await admin.close();
  const p = await bus.producer();
  for (let i = 0; i < msgs.length; i += 20_000) await p.send(topic, msgs.slice(i, i + 20_000));
  await p.close();
}

/** Process CPU time (all threads: the job, SQLite, the GC) per record of the runs, next to the wall-clock rates. */
const cpu: number[] = [];

async function job(bus: Bus, topic: string, store: DimStore): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runDimJob({
    bus,
    topic,
    group: `bench_${Date.now().toString(36)}`,
    store,
    config: staticConfigSource(rules, [], 'standard'),
    database: 'gmall',
    dlq: `${topic}_dlq`,
    startFrom: 'earliest',
    untilIdle: true,
    dropOnDelete: false,
    log: () => undefined,
    batchRecords: Number(args.batch),
  });
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / r.status.records);
  if (r.status.tables.dim_user_info?.upserts !== ROWS) throw new Error(`routed ${r.status.tables.dim_user_info?.upserts} upserts, expected ${ROWS}`);
  return r.status.records / s;
}

function line(name: string, rates: number[]): void {
  const best = Math.max(...rates);
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const cpuNote = cpu.length ? `; CPU ${cpu.map((c) => c.toFixed(1)).join(', ')} µs/record` : '';
  cpu.length = 0;
  console.log(`${name.padEnd(34)} ${formatCount(best).padStart(10)} records/s (best of ${rates.length}: ${rates.map((r) => formatCount(r)).join(', ')}; median ${formatCount(median)}${cpuNote})`);
}

async function main(): Promise<void> {
  console.log(`dim bench: bootstrap of ${formatCount(ROWS)} user_info rows → dim_user_info, standard rules`);
  const msgs = records();
  for (const mode of ['route', 'general'] as const) {
    if (!MODES.has(mode)) continue;
    const byTable = new Map<string, TableProcess>(rules.map((r) => [r.sourceTable, r]));
    // As the bus hands them over: bytes.
    const values = msgs.map((m) => Buffer.from(m.value as string));
    const keys = msgs.map((m) => Buffer.from(m.key as string));
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      let writes = 0;
      for (let i = 0; i < values.length; i++) {
        for (const r of routeRecord(values[i]!, keys[i]!, 'gmall', byTable, { fast: mode === 'route' })) {
          if (r.kind === 'writes') writes += r.writes.length;
          else if (r.kind === 'invalid') throw new Error(r.reason);
        }
      }
      if (writes !== ROWS) throw new Error(`routed ${writes}`);
      rates.push(msgs.length / ((performance.now() - t0) / 1000));
    }
    line(mode === 'route' ? 'decode + route (no bus, no store)' : '  the same, general path only', rates);
  }
  if (MODES.has('sqlite') || MODES.has('mysql')) {
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    await fill(bus, 'ods_db', msgs);
    if (MODES.has('sqlite')) {
      const rates: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const store = await openDimStore(`sqlite:${join(dir, `dim-${run}.db`)}`, { cwd: dir });
        rates.push(await job(bus, 'ods_db', store));
        await store.close();
      }
      line('sqlite bus → sqlite dim store', rates);
    }
    if (MODES.has('mysql')) {
      const db = `rtwh_bench_dim_${Date.now().toString(36)}`;
      const admin = await connectMysql(args.mysql, { database: null });
      await admin.query(`CREATE DATABASE \`${db}\``);
      try {
        const rates: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          await admin.query(`DROP DATABASE \`${db}\``);
          await admin.query(`CREATE DATABASE \`${db}\``);
          const u = new URL(args.mysql);
          u.pathname = `/${db}`;
          const store = await openDimStore(u.toString(), { cwd: dir });
          rates.push(await job(bus, 'ods_db', store));
          await store.close();
        }
        line('sqlite bus → MariaDB dim store', rates);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
        await admin.close();
      }
    }
    await bus.close();
  }
  if (MODES.has('kafka')) {
    const bus = await openBus(args.kafka, { clientId: 'rtwh-bench-dim' });
    const topic = `bench_dim_${Date.now().toString(36)}`;
    try {
      await fill(bus, topic, msgs);
      const rates: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const store = await openDimStore(`sqlite:${join(dir, `dim-k-${run}.db`)}`, { cwd: dir });
        rates.push(await job(bus, topic, store));
        await store.close();
      }
      line('Kafka bus → sqlite dim store', rates);
    } finally {
      const admin = await bus.admin();
      await admin.deleteTopic(topic).catch(() => undefined);
      await admin.close();
      await bus.close();
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
