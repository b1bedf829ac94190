/**
 * Shared pieces of the cdc tests: the real MariaDB and Kafka of scripts/stack.sh (unreachable = a failing test
 * that says how to start them), a cdc running in-process, and reading a topic back.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openBus } from '../../../src/bus/index';
import type { Bus, BusRecord } from '../../../src/bus/types';
import { CDC_DEFAULTS, runCdc, type CdcOptions, type CdcResult } from '../../../src/collect/cdc/run';
import type { CdcStatus } from '../../../src/collect/cdc/metrics';
import type { BinlogPosition } from '../../../src/collect/cdc/position';
import { connectMysql, parseMysqlUrl, type MysqlConn } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';

export const TEST_MYSQL = process.env.RTWH_TEST_MYSQL ?? 'mysql://root:rtwh-root@127.0.0.1:3307/gmall';
export const TEST_KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';

export function unique(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The test server's URL with another database. */
export function urlFor(database: string, base = TEST_MYSQL): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A multi-statement admin connection, or a clear failure naming the fix. */
export async function admin(url = TEST_MYSQL): Promise<MysqlConn> {
  try {
    return await connectMysql(url, { database: null, multipleStatements: true });
  } catch (e) {
    const t = parseMysqlUrl(url);
    throw new Error(
      `MariaDB for the tests is not reachable at ${t.host}:${t.port} (${e instanceof Error ? e.message : String(e)}). ` +
        'Start it with `bash scripts/stack.sh up` and load `source .stack/env` (RTWH_TEST_MYSQL).',
    );
  }
}

export async function sqliteBus(dir = tempDir('rtwh-cdc-')): Promise<Bus> {
  return openBus(`sqlite:${join(dir, 'bus.db')}`);
}

/** Kafka topics a test created, deleted by dropKafkaTopics() when it ends. */
const kafkaTopics = new Set<string>();

export function kafkaTopic(prefix: string): string {
  const t = unique(prefix);
  kafkaTopics.add(t);
  return t;
}

export async function dropKafkaTopics(bus: Bus): Promise<void> {
  const admin = await bus.admin();
  try {
    for (const t of kafkaTopics) await admin.deleteTopic(t).catch(() => undefined);
    kafkaTopics.clear();
  } finally {
    await admin.close();
  }
}

export async function kafkaBus(): Promise<Bus> {
  const bus = await openBus(TEST_KAFKA, { clientId: 'rtwh-cdc-test' });
  try {
    const a = await bus.admin();
    await a.listTopics();
    await a.close();
  } catch (e) {
    await bus.close();
    throw new Error(`Kafka for the tests is not reachable at ${TEST_KAFKA} (${(e as Error).message}). Start it with \`bash scripts/stack.sh up\` and \`source .stack/env\`.`);
  }
  return bus;
}

export interface RunningCdc {
  /** Resolves once cdc reads (its start position is stored). */
  started: Promise<{ start: BinlogPosition; httpUrl?: string }>;
  /** Aborts and returns the result. */
  stop(): Promise<CdcResult>;
  done: Promise<CdcResult>;
  statuses: CdcStatus[];
  logs: string[];
  last(): CdcStatus | undefined;
}

export type TestCdcOptions = Partial<Omit<CdcOptions, 'signal'>> & { bus: Bus; database: string };

/** A cdc in this process, filtered to one test database, with a unique client id and local positions. */
export function startCdc(o: TestCdcOptions): RunningCdc {
  const ac = new AbortController();
  const statuses: CdcStatus[] = [];
  const logs: string[] = [];
  let onStarted!: (v: { start: BinlogPosition; httpUrl?: string }) => void;
  let onFailed!: (e: unknown) => void;
  const started = new Promise<{ start: BinlogPosition; httpUrl?: string }>((res, rej) => {
    onStarted = res;
    onFailed = rej;
  });
  const { database, ...rest } = o;
  const done = runCdc({
    mysql: TEST_MYSQL,
    topic: unique('cdc_t'),
    format: 'maxwell',
    partitionBy: 'table',
    partitions: 1,
    filter: `exclude: *.*, include: ${database}.*`,
    outputDdl: false,
    replicaId: 7000 + Math.floor(Math.random() * 50_000),
    clientId: unique('t'),
    positionStore: 'local',
    stateDir: tempDir('rtwh-cdc-state-'),
    schemaDb: CDC_DEFAULTS.schemaDb,
    statusIntervalMs: 200,
    ...rest,
    signal: ac.signal,
    onStatus: (s) => statuses.push(s),
    onStarted: (i) => onStarted(i),
    log: (m) => logs.push(m),
  });
  done.catch((e: unknown) => onFailed(e));
  // A test that expects the run to fail awaits `done`; `started` must not become an unhandled rejection then.
  started.catch(() => undefined);
  return {
    started,
    done,
    statuses,
    logs,
    last: () => statuses[statuses.length - 1],
    stop: async () => {
      ac.abort();
      return done;
    },
  };
}

/** Every record of a topic from the start; waits until `count` arrived (or the topic stays quiet for `quietMs`). */
export async function readTopic(bus: Bus, topic: string, count?: number, timeoutMs = 30_000, quietMs = 1500): Promise<BusRecord[]> {
  const c = await bus.consumer({ topics: [topic], maxPollRecords: 10_000 });
  const out: BusRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  let lastGot = Date.now();
  try {
    while (Date.now() < deadline) {
      const got = await c.poll({ timeoutMs: 200 });
      if (got.length > 0) {
        out.push(...got);
        lastGot = Date.now();
      }
      if (count !== undefined ? out.length >= count : Date.now() - lastGot > quietMs) break;
    }
  } finally {
    await c.close();
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export function values(records: BusRecord[]): Record<string, unknown>[] {
  return records.map((r) => JSON.parse(r.value!.toString()) as Record<string, unknown>);
}

export async function waitFor(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Maxwell's own test harness compares records without ts, xid, xoffset and commit; so do we where they vary. */
export function withoutTxnFields(v: string): string {
  return v.replace(/"ts":\d+,/, '"ts":0,').replace(/"xid":\d+,/, '').replace(/"xoffset":\d+,/, '').replace(/"commit":true,/, '');
}

/** Waits until the running cdc has stored a position at or past everything the server has written so far. */
export async function cdcCaughtUp(a: MysqlConn, cdc: RunningCdc, timeoutMs = 60_000): Promise<void> {
  const rows = await a.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
  const end = { file: rows[0]!.File, pos: Number(rows[0]!.Position) };
  const before = (p: BinlogPosition) => p.file < end.file || (p.file === end.file && p.pos < end.pos);
  await waitFor('cdc to catch up', () => {
    const s = cdc.last();
    return s !== undefined && !before(s.committed);
  }, timeoutMs);
}

const MAIN = resolve(import.meta.dir, '../../../cmd/main.ts');

export interface SpawnedCli {
  proc: Bun.Subprocess;
  /** What it wrote to stdout and stderr so far (both go to one log file). */
  output(): string;
  log: string;
}

/** The real `rtwh` as a child process (bun cmd/main.ts), stdout and stderr into `log`, run in `cwd`. */
export function spawnRtwh(args: string[], cwd: string, log = join(cwd, `rtwh-${Date.now().toString(36)}.log`), env: Record<string, string> = {}): SpawnedCli {
  const fd = openSync(log, 'a');
  try {
    const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd, stdin: 'ignore', stdout: fd, stderr: fd, env: { ...process.env, NO_COLOR: '1', ...env } });
    return { proc, log, output: () => readFileSync(log, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** "mysql-bin.000012:3456" → comparable; a < b. */
export function before(a: BinlogPosition, b: BinlogPosition): boolean {
  return a.file < b.file || (a.file === b.file && a.pos < b.pos);
}

export async function masterStatus(a: MysqlConn): Promise<BinlogPosition> {
  const rows = await a.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
  return { file: rows[0]!.File, pos: Number(rows[0]!.Position) };
}

/** The position a cdc stored in maxwell.positions (Maxwell's table), or undefined. */
export async function storedPosition(a: MysqlConn, clientId: string, schemaDb = 'maxwell'): Promise<BinlogPosition | undefined> {
  const rows = await a.query<{ binlog_file: string; binlog_position: number }[]>(`SELECT binlog_file, binlog_position FROM \`${schemaDb}\`.positions WHERE client_id = '${clientId}'`);
  return rows[0] ? { file: rows[0].binlog_file, pos: Number(rows[0].binlog_position) } : undefined;
}
