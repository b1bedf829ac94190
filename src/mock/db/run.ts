/**
 * `rtwh mock db` and `rtwh mock init` end to end: where the state comes from, the base data when
 * initialising, one generated day after another, and where the changes go (MySQL, or Maxwell records on a
 * topic). The command file only parses flags and prints.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Bus, ProducerOptions } from '../../bus/types';
import { rtwhError } from '../../errors';
import { BUSINESS_DATE_HINT, BUSINESS_DATES } from '../../config/schema';
import type { ChangeTxn } from '../../formats/change';
import { connectMysql, parseMysqlUrl, quoteIdent, type MysqlConn } from '../../store/mysql';
import { baseData } from './base';
import { MAX_SKU_COUNT } from './catalog';
import { addDays, DAY_SECONDS } from './clock';
import { generateDay } from './day';
import { publishing } from '../publish-marker';
import { produceMaxwell } from './maxwell-sink';
import { DayThread } from './day-thread';
import { createSchema, fastSettings, loadStateFromMysql, type MysqlWriteOptions, wholeUsers, writeGroups, writeTxns } from './mysql-writer';
import type { MockDbOptions } from './options';
import { readStateFile, stateSkuCount, writeStateFile, type MockState } from './state';

export type MockDbTarget =
  | {
      kind: 'mysql';
      url: string;
      fast?: boolean;
      /** fast: rows per DB transaction (default 10000). */
      batchRows?: number;
      /** fast: connections writing each group's tables side by side (default 2). */
      connections?: number;
      /** fast: generate and build the groups in a worker thread (day-thread.ts); default off, see there. */
      worker?: boolean;
    }
  | { kind: 'bus'; bus: Bus; topic: string; database: string; partitions?: number; statePath: string; producer?: ProducerOptions; markerPath?: string };

/**
 * --fast: connections per run. Two let the server write two tables of a group at once (it runs one statement
 * per connection at a time) while the client generates the next group. On the 2-vCPU dev machine, quiet:
 * 10× median 46k rows/s with two vs 39k with one (three: 48k), 100× 41k vs 32k; under heavy load from other
 * jobs they come out the same.
 */
const FAST_CONNECTIONS = 2;

export interface MockDbRun {
  /** The business dates to generate, in order (one for `mock db`, the back-dated days and today for `mock init`). */
  dates: readonly string[];
  seed: number;
  options: MockDbOptions;
  /** Recreate the schema (MySQL) / reset the state (topic) and load the base data first. */
  init: boolean;
  target: MockDbTarget;
  /**
   * --sku-count was given. The SKU count is decided by --init; a run without --init uses the SKUs in the data
   * and refuses a given --sku-count that differs from them.
   */
  skuCountGiven?: boolean;
  /** Rows written so far, as they are committed or sent. */
  onRows?: (rows: number, detail: string) => void;
}

export interface MockDbResult {
  rows: number;
  /** Rows per table, generated days and base data together. */
  perTable: Record<string, number>;
  baseRows: number;
  /**
   * --to: records published, the rows and the bootstrap-start/-complete pair of each base table (`bootstrapTables`
   * of them with --init).
   */
  records?: number;
  bootstrapTables?: number;
  seconds: number;
  /** Where the rows went, for the summary line: "gmall on 127.0.0.1:3307" or "topic ods_db". */
  where: string;
}

/** The state file of `--to`: one per bus and topic, under the state dir. */
export function busStatePath(stateDir: string, busDisplayUrl: string, topic: string): string {
  const h = createHash('sha1').update(busDisplayUrl).digest('hex').slice(0, 8);
  return join(stateDir, 'mock-db', `${topic}-${h}.json`);
}

/** `mock init --days N --until D`: the N back-dated days, then D. */
/** `until` and the `days` before it, oldest first; refused when the first falls before BUSINESS_DATES. */
export function initDates(until: string, days: number): string[] {
  const dates = Array.from({ length: days + 1 }, (_, i) => addDays(until, i - days));
  if (dates[0]! < BUSINESS_DATES.first) {
    throw rtwhError('USAGE', `--days ${days} before ${until} starts on ${dates[0]}: expected a first day from ${BUSINESS_DATES.first}`, {
      hint: `Use --days ${daysBetween(BUSINESS_DATES.first, until)} or fewer, or a later --until. ${BUSINESS_DATE_HINT}`,
    });
  }
  return dates;
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / (DAY_SECONDS * 1000));
}

/** Counts rows per table as the transactions stream past; keeps the generator's return value (the next state). */
function* counted(gen: Generator<ChangeTxn, MockState>, perTable: Record<string, number>, end: { state?: MockState }): Generator<ChangeTxn> {
  for (;;) {
    const n = gen.next();
    if (n.done) {
      end.state = n.value;
      return;
    }
    for (const c of n.value.changes) perTable[c.table] = (perTable[c.table] ?? 0) + 1;
    yield n.value;
  }
}

function countBase(txns: readonly ChangeTxn[], perTable: Record<string, number>): number {
  let n = 0;
  for (const t of txns) {
    perTable[t.changes[0]!.table] = (perTable[t.changes[0]!.table] ?? 0) + t.changes.length;
    n += t.changes.length;
  }
  return n;
}

/** A run without --init given a --sku-count other than the data's: refused before anything is written. */
function checkSkuCount(run: MockDbRun, state: MockState, where: string): void {
  const there = stateSkuCount(state);
  // ids rtwh never gives out (rows added by hand, another generator): the day would build that many SKUs
  if (there > MAX_SKU_COUNT) {
    throw rtwhError('USAGE', `sku_info of ${where} holds ids up to ${there}: more than the ${MAX_SKU_COUNT} SKUs rtwh generates, so they are not rtwh's`, {
      hint: `Start over with --init (and --sku-count up to ${MAX_SKU_COUNT}), or point --mysql / --to at data rtwh made.`,
    });
  }
  if (run.init || !run.skuCountGiven || run.options.skuCount === there) return;
  throw rtwhError('USAGE', `--sku-count ${run.options.skuCount} does not match the ${there} SKUs of ${where}: the SKU count is set by --init`, {
    hint: `Leave --sku-count out to go on with the ${there} SKUs there, or start over with --init --sku-count ${run.options.skuCount} (or \`rtwh mock init --sku-count ${run.options.skuCount}\`).`,
  });
}

export async function runMockDb(run: MockDbRun): Promise<MockDbResult> {
  if (run.dates.length === 0) throw new RangeError('runMockDb needs at least one date');
  const t0 = performance.now();
  const perTable: Record<string, number> = {};
  let rows = 0;
  let baseRows = 0;
  let records: number | undefined;
  let bootstrapTables = 0;
  let where: string;
  const onRows = (detail: string) => (n: number) => {
    rows += n;
    run.onRows?.(rows, detail);
  };

  const days = async (
    state: MockState,
    write: (txns: Iterable<ChangeTxn>, detail: string) => Promise<number>,
    prepare?: (state: MockState, date: string) => Promise<MockState>,
  ): Promise<MockState> => {
    for (const [i, date] of run.dates.entries()) {
      // (the first day's state comes prepared)
      if (prepare && i > 0) state = await prepare(state, date);
      const end: { state?: MockState } = {};
      await write(counted(generateDay({ date, seed: run.seed, options: run.options, state }), perTable, end), date);
      state = end.state!;
    }
    return state;
  };

  const t = run.target;
  if (t.kind === 'mysql') {
    const target = parseMysqlUrl(t.url);
    const database = target.database ?? 'gmall';
    where = `${database} on ${target.host}:${target.port}`;
    let conn: MysqlConn | undefined;
    /** --fast: the other connections, opened with the first one. */
    let more: Promise<MysqlConn>[] = [];
    /** --fast: the generating thread, starting while the connections open and the state is read. */
    const threadStart = t.fast && t.worker ? DayThread.acquire() : undefined;
    let thread: DayThread | undefined;
    try {
      if (run.init) {
        const admin = await connectMysql(target, { database: null });
        try {
          await admin.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`, 'creating the database');
        } finally {
          await admin.close();
        }
      }
      if (t.fast) {
        more = Array.from({ length: Math.max(0, (t.connections ?? FAST_CONNECTIONS) - 1) }, () => connectMysql(target, { database, multipleStatements: true }));
        // a failure is thrown where they are awaited, not reported as unhandled before
        for (const m of more) m.catch(() => {});
      }
      conn = await connectMysql(target, { database, multipleStatements: true });
      const c = conn;
      const writeOpts = async (detail: string): Promise<MysqlWriteOptions> => ({
        fast: t.fast ?? false,
        ...(t.batchRows ? { batchRows: t.batchRows } : {}),
        moreConnections: await Promise.all(more),
        onRows: onRows(detail),
      });
      const write = async (txns: Iterable<ChangeTxn>, detail: string) => writeTxns(c, txns, await writeOpts(detail));
      let state: MockState;
      if (run.init) {
        await createSchema(conn);
        const base = baseData(run.seed, run.dates[0]!, run.options);
        baseRows = countBase(base.txns, perTable);
        // One transaction per table: each is already one big multi-row INSERT.
        await writeTxns(conn, base.txns, { onRows: onRows('base data') });
        state = base.state;
      } else {
        // the state is read over the first two connections at once (they connect side by side)
        // the worker thread keeps the state from day to day, so it gets every user whole; inline, each day
        // reads the whole rows of the users it changes (days below)
        const day = threadStart ? undefined : { seed: run.seed, date: run.dates[0]!, options: run.options };
        state = await loadStateFromMysql(conn, more[0] ? await more[0] : undefined, day);
        checkSkuCount(run, state, where);
      }
      thread = await threadStart;
      if (thread) {
        // the worker keeps the state from one day to the next
        const th = thread;
        const settings = await fastSettings(c, await writeOpts(''));
        const tables = (n: Record<string, number>): void => {
          for (const k in n) perTable[k] = (perTable[k] ?? 0) + n[k]!;
        };
        for (const [i, date] of run.dates.entries()) {
          await writeGroups(c, await writeOpts(date), th.day({ date, seed: run.seed, options: run.options, ...(i === 0 ? { state } : {}), ...settings }, tables));
        }
      } else {
        await days(state, write, (st, date) => wholeUsers(c, st, { seed: run.seed, date, options: run.options }));
      }
    } finally {
      (thread ?? (await threadStart?.catch(() => undefined)))?.release();
      for (const m of await Promise.allSettled(more)) if (m.status === 'fulfilled') await m.value.close();
      await conn?.close();
    }
  } else {
    where = `topic ${t.topic}`;
    const sinkOpts = { topic: t.topic, database: t.database, seed: run.seed, ...(t.partitions ? { partitions: t.partitions } : {}), ...(t.producer ? { producer: t.producer } : {}) };
    let sent = 0;
    const write = async (txns: Iterable<ChangeTxn>, detail: string, bootstrap = false): Promise<number> => {
      const n = await produceMaxwell(t.bus, txns, { ...sinkOpts, bootstrap, onRows: onRows(detail) });
      sent += n;
      return n;
    };
    const publishDays = async (): Promise<void> => {
      let state: MockState;
      if (run.init) {
        const base = baseData(run.seed, run.dates[0]!, run.options);
        baseRows = countBase(base.txns, perTable);
        // What cdc publishes for rows already in MySQL when it starts: a bootstrap of each base table (state, not
        // the init day's events); a second --init bootstraps them again, which dim takes as the same upserts.
        await write(base.txns, 'base data', true);
        bootstrapTables = base.txns.length;
        state = base.state;
      } else {
        // No earlier run on this topic: continue as if the base data had been loaded (without publishing it).
        state = readStateFile(t.statePath) ?? baseData(run.seed, run.dates[0]!, run.options).state;
        checkSkuCount(run, state, `the state of ${where}`);
      }
      state = await days(state, write);
      writeStateFile(t.statePath, state);
    };
    // (publish-marker.ts: a run killed part-way is not published a second time without a word)
    const dates = run.dates.length === 1 ? run.dates[0]! : `${run.dates[0]}…${run.dates[run.dates.length - 1]}`;
    if (t.markerPath) await publishing(t.markerPath, { command: 'mock db', topic: t.topic, dates, seed: run.seed }, () => sent, publishDays);
    else await publishDays();
    records = sent;
  }
  return { rows, perTable, baseRows, ...(records !== undefined ? { records, bootstrapTables } : {}), seconds: (performance.now() - t0) / 1000, where };
}
