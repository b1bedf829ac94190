/**
 * The DuckDB sink of the summary layer: loads the dws_* topics (one per table, values = JSON objects with the
 * table's columns, see tables.ts) into an embedded DuckDB file.
 *
 *   poll a batch ─► per table: the rows, deduplicated by identity (stt, edt, key columns; the last one wins),
 *     appended (DuckDB appender) as text into a connection-local staging table
 *     ─► ONE DuckDB transaction: DELETE the rows of those identities, INSERT … SELECT the staging rows cast to
 *        the column types, and the next offset of every input partition in `rtwh_sink_offsets` ─► COMMIT
 *
 * Reading resumes from the offsets in the DuckDB file itself (never from a consumer group, which is not used),
 * so a kill -9 at any point neither loses nor doubles a row: either the rows and their offsets are committed
 * together, or neither is and the batch is read again. A record delivered twice replaces its own row.
 *
 * Values are parsed with the JSON number SOURCE TEXT, so decimals and big integers reach DuckDB with every digit.
 * A record that is not a JSON object with stt and edt goes to `<topic>_dlq`-style counting (`bad`), logged once.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Bus, Consumer } from '../bus/types';
import { RtwhError, rtwhError } from '../errors';
import { InputPositions, topicBounds, type Bounds } from '../stream/inputs';
import { offsetKey } from '../stream/state-store';
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { connectDuckDB, type DuckStore } from '../store/duckdb';
import { duckdbDdl, type DwsColumn, type DwsTable } from './tables';

export const SINK_OFFSETS_TABLE = 'rtwh_sink_offsets';

/** Where the rows go: the DuckDB file (this file) or a MySQL-protocol server (mysql-sink.ts). */
export interface SinkTarget {
  /** For messages (a MySQL URL with its password masked). */
  readonly display: string;
  /** Creates the tables and the offsets table (idempotent). */
  ensureTables(tables: readonly DwsTable[]): Promise<void>;
  /** The stored next offsets (`topic:partition` → offset). */
  loadOffsets(): Promise<Map<string, number>>;
  /**
   * In ONE transaction: replace the rows of these identities (the rows of each table are deduplicated by
   * identity already) and store the next offsets. Either all of it is committed, or none.
   */
  commit(rows: ReadonlyMap<DwsTable, readonly TextRow[]>, offsets: readonly { topic: string; partition: number; next: number }[]): Promise<void>;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** The tables to load; each from the topic of the same name. */
  tables: readonly DwsTable[];
  startFrom: 'earliest' | 'latest';
  /**
   * With untilIdle: the sink ends once this says the producers are done (default: at once) and every input
   * partition is loaded to its end.
   */
  untilIdle: boolean;
  producersDone?: () => boolean;
  /** Records per poll / per DuckDB transaction (default 5000). */
  batchRecords?: number;
  signal?: AbortSignal;
  log: (message: string) => void;
  onStatus?: (s: SinkStatus) => void;
  statusIntervalMs?: number;
  /** After each commit: the rows committed per table (freshness measurements). */
  onCommit?: (rows: ReadonlyMap<string, readonly Record<string, string | null>[]>, committedAt: number) => void;
}

export interface DuckSinkOptions extends SinkOptions {
  /** The DuckDB file (created when missing). */
  path: string;
  /**
   * Called once the tables exist: `connect` opens another connection on the sink's database (the only process
   * that may open the file; `rtwh query` asks through the dws job's HTTP endpoint). The function returned is
   * awaited before the database closes (stop serving, close those connections).
   */
  share?: (connect: () => Promise<DuckStore>) => Promise<() => Promise<void>>;
}

export interface SinkStatus {
  records: number;
  rows: Record<string, number>;
  bad: number;
  lag: number | null;
  commits: number;
  startedAt: number;
}

export interface SinkResult {
  status: SinkStatus;
  seconds: number;
}

/** A row as text values by column (numbers keep their JSON source text); null for JSON null or absent. */
export type TextRow = Record<string, string | null>;

/** Parses a value keeping numbers as their source text; undefined when it is not a JSON object. */
export function parseRowText(value: string): TextRow | undefined {
  return flatRowText(value) ?? parseRowTextGeneral(value);
}

/** The index of the quote closing a JSON string that starts at `from`, or -1 when it has an escape or control character or no end. */
function plainStringEnd(s: string, from: number, n: number): number {
  for (let j = from; j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === 34) return j;
    if (d === 92 || d < 32) return -1;
  }
  return -1;
}

/**
 * The common case of parseRowText in one pass, without JSON.parse's reviver (a call per value, and an object per
 * number): a JSON object whose values are strings without escapes, numbers, true, false or null (what the DWS
 * jobs emit). Null when the text is anything else — nested values, escapes, invalid JSON, not an object — for the
 * general path to decide; where it answers, the answer is the general path's (test/dws/sink.test.ts compares them).
 */
export function flatRowText(s: string): TextRow | null {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
  if (c !== 123) return null;
  const out: TextRow = {};
  c = s.charCodeAt(++i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
  if (c === 125) i++;
  else {
    for (;;) {
      // name
      if (c !== 34) return null;
      const ks = i + 1;
      let j = plainStringEnd(s, ks, n);
      if (j < 0) return null;
      const name = s.slice(ks, j);
      if (name === '__proto__') return null; // assigning it is not adding a member
      i = j + 1;
      c = s.charCodeAt(i);
      while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
      if (c !== 58) return null;
      c = s.charCodeAt(++i);
      while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
      // value
      if (c === 34) {
        const vs = i + 1;
        j = plainStringEnd(s, vs, n);
        if (j < 0) return null;
        out[name] = s.slice(vs, j);
        i = j + 1;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        const vs = i;
        if (c === 45) c = s.charCodeAt(++i);
        if (c === 48) c = s.charCodeAt(++i);
        else if (c >= 49 && c <= 57) {
          do c = s.charCodeAt(++i);
          while (c >= 48 && c <= 57);
        } else return null;
        if (c === 46) {
          c = s.charCodeAt(++i);
          if (!(c >= 48 && c <= 57)) return null;
          do c = s.charCodeAt(++i);
          while (c >= 48 && c <= 57);
        }
        if (c === 101 || c === 69) {
          c = s.charCodeAt(++i);
          if (c === 43 || c === 45) c = s.charCodeAt(++i);
          if (!(c >= 48 && c <= 57)) return null;
          do c = s.charCodeAt(++i);
          while (c >= 48 && c <= 57);
        }
        out[name] = s.slice(vs, i);
      } else if (c === 110 && s.startsWith('null', i)) {
        out[name] = null;
        i += 4;
      } else if (c === 116 && s.startsWith('true', i)) {
        out[name] = 'true';
        i += 4;
      } else if (c === 102 && s.startsWith('false', i)) {
        out[name] = 'false';
        i += 5;
      } else return null;
      c = s.charCodeAt(i);
      while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
      if (c === 44) {
        c = s.charCodeAt(++i);
        while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
        continue;
      }
      if (c !== 125) return null;
      i++;
      break;
    }
  }
  c = s.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
  return i === n ? out : null;
}

/** parseRowText by JSON.parse with a reviver that keeps the source text of numbers. */
export function parseRowTextGeneral(value: string): TextRow | undefined {
  let v: unknown;
  try {
    v = JSON.parse(value, (_k, x: unknown, c?: { source?: string }) => (typeof x === 'number' && c?.source !== undefined ? { n: c.source } : x));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: TextRow = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null || x === undefined) out[k] = null;
    else if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'object' && x !== null && 'n' in x && typeof (x as { n: unknown }).n === 'string' && Object.keys(x).length === 1) out[k] = (x as { n: string }).n;
    else if (typeof x === 'boolean') out[k] = x ? 'true' : 'false';
    else out[k] = JSON.stringify(x);
  }
  return out;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const TIME = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,6})?)?$/;

const str = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const WHOLE = /^-?\d+$/;

/** Throws a RangeError naming the column when a (non-null) value does not fit the column's type. */
export function checkValue(col: DwsColumn, v: string): void {
  switch (col.type) {
    case 'TIMESTAMP':
      if (!TIME.test(v)) throw new RangeError(`${col.name}: expected 'YYYY-MM-DD HH:mm:ss', got ${JSON.stringify(v)}`);
      return;
    case 'DATE':
      if (!DATE.test(v)) throw new RangeError(`${col.name}: expected 'YYYY-MM-DD', got ${JSON.stringify(v)}`);
      return;
    case 'BIGINT':
      if (!WHOLE.test(v)) throw new RangeError(`${col.name}: expected a whole number, got ${JSON.stringify(v)}`);
      return;
    case 'DECIMAL(16,2)':
      if (!NUMBER.test(v)) throw new RangeError(`${col.name}: expected a number, got ${JSON.stringify(v)}`);
      return;
    case 'VARCHAR':
      return;
  }
}

/** A SQL literal for a value of a column; throws a RangeError when the value does not fit the type. */
export function literal(col: DwsColumn, v: string | null | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  checkValue(col, v);
  switch (col.type) {
    case 'TIMESTAMP':
      return `TIMESTAMP ${str(v)}`;
    case 'DATE':
      return `DATE ${str(v)}`;
    case 'BIGINT':
      return v;
    case 'DECIMAL(16,2)':
      return `CAST(${str(v)} AS DECIMAL(16,2))`;
    case 'VARCHAR':
      return str(v);
  }
}

/** DDL of the offsets table (in the same DuckDB file as the rows, written in the same transaction). */
export const OFFSETS_DDL = `CREATE TABLE IF NOT EXISTS ${SINK_OFFSETS_TABLE} (topic VARCHAR NOT NULL, part INTEGER NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (topic, part))`;

/** What the helpers below need of a DuckDB connection (src/store/duckdb.ts DuckStore has it). */
export interface SqlRunner {
  query(sql: string): Promise<{ rows: readonly (readonly unknown[])[] }>;
}

/** Creates the tables and the offsets table (idempotent). */
export async function ensureDwsTables(db: SqlRunner, tables: readonly DwsTable[]): Promise<void> {
  await db.query([...tables.map(duckdbDdl), OFFSETS_DDL].join(';\n'));
}

/** The stored next offsets (`topic:partition` → offset). */
export async function loadSinkOffsets(db: SqlRunner): Promise<Map<string, number>> {
  const r = await db.query(`SELECT topic, part, next_offset FROM ${SINK_OFFSETS_TABLE}`);
  return new Map(r.rows.map((row) => [offsetKey(String(row[0]), Number(row[1])), Number(row[2])]));
}

/** The identity of a row: its key column values (null-aware). */
export function identity(table: DwsTable, r: TextRow): string {
  let s = '';
  for (const c of table.columns) if (c.key) s += (r[c.name] === null || r[c.name] === undefined ? '\u0000' : `\u0001${r[c.name]}`) + '\u0002';
  return s;
}

/** Runs the sink until stopped (signal) or, with untilIdle, until the producers are done and every input is loaded. */
export async function runDuckSink(bus: Bus, o: DuckSinkOptions): Promise<SinkResult> {
  const db = await SinkDb.open(o.path);
  let unshare: (() => Promise<void>) | undefined;
  const target: SinkTarget = {
    display: `duckdb:${o.path}`,
    async ensureTables(tables) {
      await ensureDwsTables(db, tables);
      if (o.share) unshare = await o.share(() => db.connect(o.path));
    },
    loadOffsets: () => loadSinkOffsets(db),
    async commit(rows, offsets) {
      const stmts: string[] = [];
      for (const [table, list] of rows) {
        try {
          await db.stage(table, list);
        } catch (e) {
          throw rtwhError('JOB_FAILED', `dws sink: a row of ${table.name} does not fit the table: ${(e as Error).message}`, { cause: e });
        }
        stmts.push(...stagedStatements(table));
      }
      stmts.push(`INSERT OR REPLACE INTO ${SINK_OFFSETS_TABLE} VALUES ${offsets.map((c) => `(${str(c.topic)}, ${c.partition}, ${c.next})`).join(', ')}`);
      await transaction(db, stmts);
    },
    async close() {
      await unshare?.().catch(() => undefined);
      db.close();
    },
  };
  return runSink(bus, target, o);
}

/** Runs the sink loop into `target` until stopped (signal) or, with untilIdle, until every input is loaded; closes the target. */
export async function runSink(bus: Bus, target: SinkTarget, o: SinkOptions): Promise<SinkResult> {
  const t0 = performance.now();
  const batch = o.batchRecords ?? 5000;
  const byTopic = new Map(o.tables.map((t) => [t.name, t]));
  const topics = [...byTopic.keys()];
  const status: SinkStatus = { records: 0, rows: Object.fromEntries(topics.map((t) => [t, 0])), bad: 0, lag: null, commits: 0, startedAt: Date.now() };
  let consumer: Consumer | undefined;
  let admin: Awaited<ReturnType<Bus['admin']>> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const badSaid = new Set<string>();
  try {
    await target.ensureTables(o.tables);
    const stored = await target.loadOffsets();
    admin = await bus.admin();
    for (const t of topics) {
      try {
        await admin.createTopic({ name: t, partitions: 1 });
      } catch (e) {
        if (!(e instanceof RtwhError && e.code === 'TOPIC_EXISTS')) throw e;
      }
    }
    consumer = await bus.consumer({ topics, startFrom: o.startFrom, maxPollRecords: batch, clientId: 'rtwh-dws-sink' });
    const positions = new InputPositions(o.startFrom, o.log);
    const bounds = async (): Promise<Bounds> => (await topicBounds(admin!, topics)).bounds;
    const report = async () => {
      if (admin && consumer) status.lag = await bounds().then((b) => positions.lag(b, consumer!), () => null);
      o.onStatus?.({ ...status, rows: { ...status.rows } });
    };
    timer = setInterval(() => void report().catch(() => undefined), o.statusIntervalMs ?? 1000);

    // --until-idle: an empty poll is also how the sink notices the producers are done, so it waits less (the
    // end of a run waited up to a whole poll for nothing).
    const pollMs = o.untilIdle ? 50 : 200;
    for (;;) {
      if (o.signal?.aborted) break;
      const polled = await consumer.poll({ timeoutMs: pollMs, maxRecords: batch });
      // Seeks newly assigned partitions to the stored offsets; what this poll returned for them is dropped.
      const fresh = await positions.sync(consumer, stored, bounds);
      const perTable = new Map<string, Map<string, TextRow>>();
      let taken = 0;
      for (const r of polled) {
        if (!positions.accept(r, fresh)) continue;
        taken++;
        const table = byTopic.get(r.topic);
        if (!table || r.value === null) continue;
        const row = parseRowText(r.value.toString('utf8'));
        if (!row || row.stt == null || row.edt == null) {
          status.bad++;
          if (!badSaid.has(r.topic)) {
            badSaid.add(r.topic);
            o.log(`${r.topic}:${r.partition}@${r.offset}: not a row of ${table.name} (a JSON object with stt and edt); skipped and counted`);
          }
          continue;
        }
        let m = perTable.get(table.name);
        if (!m) perTable.set(table.name, (m = new Map()));
        const id = identity(table, row);
        m.delete(id); // the last one wins, in arrival order
        m.set(id, row);
      }
      const changed = positions.takeChanged();
      if (changed.length > 0) {
        await target.commit(new Map([...perTable].map(([name, m]) => [byTopic.get(name)!, [...m.values()]])), changed);
        for (const c of changed) stored.set(offsetKey(c.topic, c.partition), c.next);
        status.records += taken;
        status.commits++;
        const committedAt = Date.now();
        for (const [name, m] of perTable) status.rows[name] = (status.rows[name] ?? 0) + m.size;
        if (o.onCommit) o.onCommit(new Map([...perTable].map(([k, m]) => [k, [...m.values()]])), committedAt);
      }
      if (polled.length === 0 && o.untilIdle && (o.producersDone?.() ?? true)) {
        // Done when every partition is loaded to its end (read again after the producers are done).
        if (positions.drained(await bounds(), consumer)) break;
      }
    }
    await report().catch(() => undefined);
    return { status, seconds: (performance.now() - t0) / 1000 };
  } finally {
    if (timer) clearInterval(timer);
    await consumer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await target.close();
  }
}

/** Runs the statements in one transaction; rolls back when one fails. */
async function transaction(db: SqlRunner, stmts: readonly string[]): Promise<void> {
  await db.query('BEGIN TRANSACTION');
  try {
    for (const s of stmts) await db.query(s);
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

const stageName = (t: DwsTable) => `rtwh_stage_${t.name}`;

/** Load the staged rows of `table`: delete the rows of their identities, insert them cast to the column types. */
export function stagedStatements(table: DwsTable): string[] {
  const stage = stageName(table);
  const cast = (c: DwsColumn) => (c.type === 'VARCHAR' ? `s.${c.name}` : `CAST(s.${c.name} AS ${c.type})`);
  const on = table.columns.filter((c) => c.key).map((c) => `${table.name}.${c.name} IS NOT DISTINCT FROM ${cast(c)}`);
  return [
    // The lower bound on stt lets DuckDB skip the row groups of older windows (zone maps).
    `DELETE FROM ${table.name} USING temp.main.${stage} s WHERE ${table.name}.stt >= (SELECT min(CAST(stt AS TIMESTAMP)) FROM temp.main.${stage}) AND ${on.join(' AND ')}`,
    `INSERT INTO ${table.name} (${table.columns.map((c) => c.name).join(', ')}) SELECT ${table.columns.map(cast).join(', ')} FROM temp.main.${stage} s`,
    `DELETE FROM temp.main.${stage}`,
  ];
}

type NodeApi = typeof import('@duckdb/node-api');

/** The sink's DuckDB connection: SQL, and the appender into connection-local (temp) staging tables of text. */
class SinkDb implements SqlRunner {
  private readonly staged = new Set<string>();
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<SinkDb> {
    let duck: NodeApi;
    try {
      duck = await import('@duckdb/node-api');
    } catch (e) {
      throw new RtwhError('DUCKDB_LOAD', `could not load DuckDB: ${(e as Error).message}`, { cause: e });
    }
    let instance: DuckDBInstance;
    try {
      // the warehouse is made where it is asked for, its directory too (with a Kafka bus nothing had made .rtwh/)
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      instance = await duck.DuckDBInstance.create(path, { autoinstall_known_extensions: 'false' });
    } catch (e) {
      throw new RtwhError('DUCKDB_OPEN', `cannot open DuckDB database ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e, details: { path } });
    }
    try {
      return new SinkDb(instance, await instance.connect());
    } catch (e) {
      instance.closeSync();
      throw new RtwhError('DUCKDB_OPEN', `cannot connect to DuckDB database ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
    }
  }

  async query(sql: string): Promise<{ rows: unknown[][] }> {
    try {
      const reader = await this.conn.runAndReadAll(sql);
      return { rows: reader.getRows() as unknown[][] };
    } catch (e) {
      throw new RtwhError('QUERY_FAILED', (e as Error).message, { cause: e });
    }
  }

  /** Appends rows (checked against the column types) to the table's staging table, as text. */
  async stage(table: DwsTable, rows: Iterable<TextRow>): Promise<void> {
    const name = stageName(table);
    if (!this.staged.has(name)) {
      await this.query(`CREATE OR REPLACE TEMP TABLE ${name} (${table.columns.map((c) => `${c.name} VARCHAR`).join(', ')})`);
      this.staged.add(name);
    }
    const app: DuckDBAppender = await this.conn.createAppender(name, 'main', 'temp');
    try {
      for (const r of rows) {
        for (const c of table.columns) {
          const v = r[c.name];
          if (v === null || v === undefined) app.appendNull();
          else {
            if (c.type !== 'VARCHAR') checkValue(c, v); // throws a RangeError naming the column when v does not fit
            app.appendVarchar(v);
          }
        }
        app.endRow();
      }
      app.flushSync();
      app.closeSync();
    } catch (e) {
      // Nothing of a failed batch may stay staged (closing flushes the complete rows appended so far).
      try {
        app.closeSync();
      } catch {
        // an incomplete row: the appender refuses to close; the connection ends with the sink
      }
      await this.query(`DELETE FROM ${name}`).catch(() => undefined);
      throw e;
    }
  }

  /** Another connection on this database (closed by its owner, before `close()`). */
  connect(path: string): Promise<DuckStore> {
    return connectDuckDB(this.instance, path);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
