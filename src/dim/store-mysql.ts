/**
 * The shared dim store on MySQL or MariaDB (`mysql://user:pass@host:port/db`; the database is created when
 * missing). Dim tables: the key column VARCHAR(191), every other column MEDIUMTEXT (TEXT stops at 64 KB, where the
 * seed's Phoenix VARCHAR had no limit; short values cost the same), utf8mb4 with a binary collation (ids compare
 * exactly, as in SQLite). Internal tables: `_rtwh_offsets`, `_rtwh_invalidations`,
 * `_rtwh_dim_tables` (dim tables, their key column and the dim job group that created each: `created_by`,
 * registered BEFORE the CREATE, so a crash between the two still knows who made the table), `_rtwh_meta` (feed
 * floor, writer lock row).
 *
 * apply() is one transaction sent as few multi-statement queries: it first locks the `writer` row (two dim
 * jobs take turns, so feed seqs are handed out in commit order and a lookup client polling "seq > last" never
 * skips a late commit), then per run of writes: `INSERT INTO _rtwh_invalidations … SELECT` the ids that exist
 * already (the rows an update or delete changes: pure inserts add nothing), the multi-row
 * `INSERT … ON DUPLICATE KEY UPDATE` of the given columns (or DELETE), and finally the offsets.
 *
 * One connection, one call at a time. A connection the server closed (wait_timeout, KILL, restart) is opened
 * again and the call repeated — a transaction cut short was rolled back by the server, and repeating upserts,
 * deletes and offsets gives the same end state. While the server is unreachable, writes wait and retry with
 * backoff (never dropped; `onWaiting` tells why), reads for at most `readWaitMs`.
 */
import { maskUrl } from '../config/mask.ts';
import { q, RtwhError, rtwhError } from '../errors.ts';
import { connectMysql, parseMysqlUrl, quoteIdent, sqlLiteral, type MysqlConn, type MysqlTarget, writerSqlMode } from '../store/mysql.ts';
import { checkDimTable, checkOffset, FEED_PAGE, keyChanged, offsetFenced, feedPolicy, ruleColumns, writeRuns, type FeedPolicy, type ResolvedFeedPolicy, type WriteRun } from './store-common.ts';
import { ALL_ROWS, type DimInvalidation, type DimRow, type DimStore, type DimWrite, type EnsureOptions, type EnsureResult, type ManagedTable, type StoredOffset, type TableProcess } from './types.ts';

export interface MysqlDimStoreOptions {
  /** Called when a call starts waiting for an unreachable server, then about every 10 s while it waits. */
  onWaiting?: (reason: string) => void;
  /** Aborts waiting calls (they reject with INTERRUPTED). */
  signal?: AbortSignal;
  feed?: FeedPolicy;
  /** Reads give up after waiting this long for the server (default 30 s); writes wait until it is back. */
  readWaitMs?: number;
  /** Longest pause between retries (default 5 s). */
  maxBackoffMs?: number;
  connectTimeoutMs?: number;
  /** Which DDL the server takes; detected from VERSION(). `mysql` = no ADD COLUMN IF NOT EXISTS (MySQL 8). */
  flavor?: 'mariadb' | 'mysql';
}

interface Header {
  affectedRows: number;
  warningStatus: number;
}

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const INTERNAL_DDL = [
  `CREATE TABLE IF NOT EXISTS _rtwh_offsets (\`group\` VARCHAR(191) NOT NULL, topic VARCHAR(191) NOT NULL, \`partition\` INT NOT NULL, \`offset\` BIGINT NOT NULL, PRIMARY KEY (\`group\`, topic, \`partition\`)) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS _rtwh_invalidations (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, tbl VARCHAR(64) NOT NULL, id VARCHAR(191) NOT NULL, ts BIGINT NOT NULL) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS _rtwh_dim_tables (tbl VARCHAR(64) NOT NULL PRIMARY KEY, pk VARCHAR(64) NOT NULL, created_ms BIGINT NOT NULL, created_by VARCHAR(191) NULL) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS _rtwh_meta (k VARCHAR(64) NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ${TABLE_OPTIONS}`,
  `INSERT IGNORE INTO _rtwh_meta (k, v) VALUES ('feed_floor', 0), ('writer', 0)`,
];

/** Rows per multi-row statement, and bytes per query (far below any max_allowed_packet we accept). */
const ROWS_PER_STATEMENT = 2000;
const GET_CHUNK = 1000;

type Failure = 'lost' | 'retry' | 'fatal';

const LOST_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);
// 1053 server shutdown, 1927 connection killed (MariaDB), 2006 gone away, 2013 lost during query, 1040 too many connections.
const LOST_ERRNOS = new Set([1053, 1927, 2006, 2013, 1040]);
// 1213 deadlock, 1205 lock wait timeout: the transaction was rolled back (or its statement was); run it again.
const RETRY_ERRNOS = new Set([1213, 1205]);

function driverError(e: unknown): { code?: string; errno?: number; fatal?: boolean } {
  const c = e instanceof RtwhError ? e.cause : e;
  return typeof c === 'object' && c !== null ? (c as { code?: string; errno?: number; fatal?: boolean }) : {};
}

function classify(e: unknown): Failure {
  const d = driverError(e);
  if (d.code === 'ER_ACCESS_DENIED_ERROR' || d.errno === 1045 || d.errno === 1044 || d.errno === 1049) return 'fatal';
  if (d.errno !== undefined && RETRY_ERRNOS.has(d.errno)) return 'retry';
  if ((d.code !== undefined && LOST_CODES.has(d.code)) || (d.errno !== undefined && LOST_ERRNOS.has(d.errno)) || d.fatal === true) return 'lost';
  if (e instanceof RtwhError && e.code === 'MYSQL_UNAVAILABLE') return 'lost';
  return 'fatal';
}

function errno(e: unknown): number | undefined {
  return driverError(e).errno;
}

/** Deadlock / lock wait retries of a store call made while the job is stopping (withConn). */
const STOPPING_RETRIES = 5;

function abortError(what: string): RtwhError {
  return rtwhError('INTERRUPTED', `stopped while waiting for ${what}`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class MysqlDimStore implements DimStore {
  readonly description: string;
  private readonly target: MysqlTarget;
  private readonly database: string;
  private readonly opts: MysqlDimStoreOptions;
  private readonly feed: ResolvedFeedPolicy;
  private readonly stop = new AbortController();
  private conn: MysqlConn | undefined;
  private flavor: 'mariadb' | 'mysql' | undefined;
  private queryBudget = 4 * 1024 * 1024;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pks = new Map<string, string>();
  private readonly sqlParts = new Map<string, { head: string; tail: string }>();
  private lastPruneMs = 0;
  private closed = false;

  private constructor(target: MysqlTarget, database: string, opts: MysqlDimStoreOptions) {
    this.target = target;
    this.database = database;
    this.description = target.display;
    this.opts = opts;
    this.flavor = opts.flavor;
    this.feed = feedPolicy(opts.feed);
    if (opts.signal) {
      if (opts.signal.aborted) this.stop.abort();
      else opts.signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    }
  }

  /** Connects (waiting while the server is unreachable), creates the database if missing and the internal tables. */
  static async open(url: string, opts: MysqlDimStoreOptions = {}): Promise<MysqlDimStore> {
    let target: MysqlTarget;
    try {
      target = parseMysqlUrl(url);
    } catch (e) {
      throw rtwhError('DIM_STORE_URL', e instanceof Error ? e.message : String(e), { cause: e });
    }
    if (target.database === undefined) {
      throw rtwhError('DIM_STORE_URL', `the dim store URL ${q(maskUrl(url))} names no database`, { hint: 'Add one: mysql://user:pass@host:port/gmall_dim (it is created when missing).' });
    }
    const store = new MysqlDimStore(target, target.database, opts);
    try {
      await store.withConn('write', 'creating the dim store tables', async (c) => {
        for (const sql of INTERNAL_DDL) await c.query(sql, 'creating the dim store tables');
        // Stores written before created_by existed: their tables have no known creator (never dropped at a start).
        const col = await c.query<unknown[]>(
          "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_rtwh_dim_tables' AND COLUMN_NAME = 'created_by'",
          'checking the dim store tables',
        );
        if (col.length === 0) {
          try {
            await c.query('ALTER TABLE _rtwh_dim_tables ADD COLUMN created_by VARCHAR(191) NULL', 'adding created_by to _rtwh_dim_tables');
          } catch (e) {
            if (errno(e) !== 1060) throw e; // another process added it first
          }
        }
      });
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  private async connect(): Promise<MysqlConn> {
    let c: MysqlConn;
    try {
      c = await connectMysql(this.target, { multipleStatements: true, ...(this.opts.connectTimeoutMs ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}) });
    } catch (e) {
      if (errno(e) !== 1049) throw e;
      // The database does not exist yet: create it, then connect to it.
      const admin = await connectMysql(this.target, { database: null });
      try {
        await admin.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(this.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, 'creating the dim store database');
      } finally {
        await admin.close();
      }
      c = await connectMysql(this.target, { multipleStatements: true, ...(this.opts.connectTimeoutMs ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}) });
    }
    try {
      const [s] = await c.query<{ m: string; v: string; p: number | string }[]>('SELECT @@SESSION.sql_mode AS m, VERSION() AS v, @@max_allowed_packet AS p');
      this.flavor ??= /mariadb/i.test(s?.v ?? '') ? 'mariadb' : 'mysql';
      this.queryBudget = Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(Number(s?.p ?? 0) / 2)));
      const mode = writerSqlMode(s?.m ?? '');
      if (mode !== s?.m) await c.query(`SET SESSION sql_mode = ${sqlLiteral(mode)}`);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  private dropConnection(): void {
    const c = this.conn;
    this.conn = undefined;
    if (c) void c.close().catch(() => {});
  }

  /** One call at a time on the one connection (a lookup must never run inside another call's transaction). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Runs `fn` on a live connection. A lost connection is reopened and `fn` run again at once; after that, and
   * while the server cannot be reached, it waits with backoff: writes until the server is back, reads for at
   * most `readWaitMs`. Deadlocks and lock wait timeouts are retried too. Anything else is thrown.
   *
   * Once the job is stopping (the signal), work still runs — the batch being finished must commit — but nothing
   * waits for an unreachable server any more, and a deadlock or lock wait is retried at most STOPPING_RETRIES
   * more times.
   */
  private withConn<T>(kind: 'read' | 'write', what: string, fn: (c: MysqlConn) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const started = Date.now();
      let attempt = 0;
      let delay = 100;
      let reportedAt = 0;
      let retriesWhileStopping = 0;
      for (;;) {
        try {
          this.conn ??= await this.connect();
          return await fn(this.conn);
        } catch (e) {
          const f = classify(e);
          if (f === 'fatal') throw e;
          if (f === 'lost') this.dropConnection();
          attempt++;
          if (attempt === 1) continue;
          if (this.stop.signal.aborted) {
            if (f !== 'retry' || ++retriesWhileStopping > STOPPING_RETRIES) throw abortError(this.description);
            await Bun.sleep(Math.min(delay, 500));
            delay *= 2;
            continue;
          }
          if (kind === 'read' && Date.now() - started >= (this.opts.readWaitMs ?? 30_000)) throw e;
          const now = Date.now();
          if (this.opts.onWaiting && (reportedAt === 0 || now - reportedAt >= 10_000)) {
            reportedAt = now;
            this.opts.onWaiting(`${what}: ${(e as Error).message}; retrying`);
          }
          await sleep(delay, this.stop.signal);
          delay = Math.min(delay * 2, this.opts.maxBackoffMs ?? 5000);
        }
      }
    });
  }

  private check(): void {
    if (this.closed) throw rtwhError('INTERNAL', `the dim store ${this.description} is closed`);
  }

  private async columnsOf(c: MysqlConn, table: string): Promise<{ name: string; key: string }[]> {
    return c.query<{ name: string; key: string }[]>(
      `SELECT COLUMN_NAME AS name, COLUMN_KEY AS \`key\` FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${sqlLiteral(table)} ORDER BY ORDINAL_POSITION`,
      `reading the columns of ${table}`,
    );
  }

  private async pkOf(c: MysqlConn, table: string): Promise<string | undefined> {
    let pk = this.pks.get(table);
    if (pk === undefined) {
      const rows = await c.query<{ pk: string }[]>(`SELECT pk FROM _rtwh_dim_tables WHERE tbl = ${sqlLiteral(table)}`);
      if (rows.length === 0) return undefined;
      pk = rows[0]!.pk;
      this.pks.set(table, pk);
    }
    return pk;
  }

  async ensureTable(tp: TableProcess, opts: EnsureOptions = {}): Promise<EnsureResult> {
    this.check();
    const { table, pk, columns } = ruleColumns(tp);
    const qt = quoteIdent(table);
    const result = await this.withConn('write', `creating dim table ${table}`, async (c) => {
      let existing = await this.columnsOf(c, table);
      let created = false;
      if (existing.length === 0) ({ existing, created } = await this.createTable(c, table, pk, columns, opts.owner ?? null));
      const keys = existing.filter((col) => col.key === 'PRI').map((col) => col.name);
      if (keys.length !== 1 || keys[0]!.toLowerCase() !== pk.toLowerCase()) {
        throw keyChanged(table, keys, pk);
      }
      const have = new Set(existing.map((col) => col.name.toLowerCase()));
      const added: string[] = [];
      for (const col of columns) {
        if (have.has(col.toLowerCase())) continue;
        if (this.flavor === 'mariadb') {
          let h: Header;
          try {
            h = await c.query<Header>(`ALTER TABLE ${qt} ADD COLUMN IF NOT EXISTS ${quoteIdent(col)} MEDIUMTEXT NULL`, `adding column ${col} to ${table}`);
          } catch (e) {
            throw definitionError(e, table, this.description);
          }
          if (h.warningStatus === 0) added.push(col);
        } else {
          // MySQL 8 has no ADD COLUMN IF NOT EXISTS: another job adding the same column first is ER_DUP_FIELDNAME.
          try {
            await c.query(`ALTER TABLE ${qt} ADD COLUMN ${quoteIdent(col)} MEDIUMTEXT NULL`, `adding column ${col} to ${table}`);
            added.push(col);
          } catch (e) {
            if (errno(e) !== 1060) throw definitionError(e, table, this.description);
          }
        }
      }
      await c.query(
        `INSERT INTO _rtwh_dim_tables (tbl, pk, created_ms) VALUES (${sqlLiteral(table)}, ${sqlLiteral(keys[0]!)}, ${Date.now()}) ON DUPLICATE KEY UPDATE pk = VALUES(pk)`,
        `registering dim table ${table}`,
      );
      return { created, added };
    });
    this.forget(table);
    return result;
  }

  /**
   * Creates a missing dim table and registers `owner` as its creator. Two jobs may find the table missing at once:
   * the check and the CREATE are made under a server-wide named lock of this table, so the job whose CREATE makes
   * it is the one registered as its creator (the last registration won before, and --drop-on-delete could drop
   * another group's table). DDL commits by itself: the creator is registered first, so a crash between the two
   * leaves a table whose creator is known (a registration without its table is harmless: tables() skips it).
   */
  private async createTable(c: MysqlConn, table: string, pk: string, columns: readonly string[], owner: string | null): Promise<{ existing: { name: string; key: string }[]; created: boolean }> {
    const lock = `CONCAT('rtwh_dim:', SHA1(CONCAT(DATABASE(), '.', ${sqlLiteral(table)})))`;
    const [got] = await c.query<{ got: number | null }[]>(`SELECT GET_LOCK(${lock}, 30) AS got`, `creating dim table ${table}`);
    if (got?.got !== 1) {
      // retried by withConn, as a lock wait timeout is
      throw Object.assign(new Error(`another job has been creating dim table ${table} for 30 s`), { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' });
    }
    try {
      const existing = await this.columnsOf(c, table);
      if (existing.length > 0) return { existing, created: false };
      await c.query(
        `INSERT INTO _rtwh_dim_tables (tbl, pk, created_ms, created_by) VALUES (${sqlLiteral(table)}, ${sqlLiteral(pk)}, ${Date.now()}, ${sqlLiteral(owner)}) ON DUPLICATE KEY UPDATE pk = VALUES(pk), created_ms = VALUES(created_ms), created_by = VALUES(created_by)`,
        `registering dim table ${table}`,
      );
      const defs = columns.map((col) => (col === pk ? `${quoteIdent(col)} VARCHAR(191) NOT NULL` : `${quoteIdent(col)} MEDIUMTEXT NULL`));
      let h: Header;
      try {
        h = await c.query<Header>(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${defs.join(', ')}, PRIMARY KEY (${quoteIdent(pk)})) ${TABLE_OPTIONS}`, `creating dim table ${table}`);
      } catch (e) {
        if (classify(e) === 'fatal') await c.query(`DELETE FROM _rtwh_dim_tables WHERE tbl = ${sqlLiteral(table)}`).catch(() => {});
        throw definitionError(e, table, this.description);
      }
      return { existing: await this.columnsOf(c, table), created: h.warningStatus === 0 };
    } finally {
      await c.query(`SELECT RELEASE_LOCK(${lock})`).catch(() => {});
    }
  }

  private forget(table: string): void {
    this.pks.delete(table);
    for (const k of this.sqlParts.keys()) if (k.startsWith(`${table}\0`)) this.sqlParts.delete(k);
  }

  async dropTable(sinkTable: string): Promise<boolean> {
    this.check();
    const table = checkDimTable(sinkTable);
    const existed = await this.withConn('write', `dropping dim table ${table}`, async (c) => {
      const had = (await this.columnsOf(c, table)).length > 0;
      await c.query(`DROP TABLE IF EXISTS ${quoteIdent(table)}`, `dropping dim table ${table}`);
      await c.query(
        `START TRANSACTION; DELETE FROM _rtwh_dim_tables WHERE tbl = ${sqlLiteral(table)}; ${had ? `INSERT INTO _rtwh_invalidations (tbl, id, ts) VALUES (${sqlLiteral(table)}, ${sqlLiteral(ALL_ROWS)}, UNIX_TIMESTAMP()); ` : ''}COMMIT`,
        `dropping dim table ${table}`,
      );
      return had;
    });
    this.forget(table);
    return existed;
  }

  /** The cached fixed parts of a run's upsert statement. */
  private upsertParts(table: string, pk: string, columns: readonly string[]): { head: string; tail: string } {
    const key = `${table}\0${pk}\0${columns.join('\0')}`;
    let p = this.sqlParts.get(key);
    if (p === undefined) {
      const cols = [pk, ...columns].map(quoteIdent);
      const set = columns.length ? columns.map((col) => `${quoteIdent(col)} = VALUES(${quoteIdent(col)})`).join(', ') : `${quoteIdent(pk)} = ${quoteIdent(pk)}`;
      p = { head: `INSERT INTO ${quoteIdent(table)} (${cols.join(', ')}) VALUES `, tail: ` ON DUPLICATE KEY UPDATE ${set}` };
      this.sqlParts.set(key, p);
    }
    return p;
  }

  /** The statements of one run, in order: per chunk, the feed entries for ids that exist, then the write. */
  private runStatements(run: WriteRun, out: string[]): void {
    const qt = quoteIdent(run.table);
    const qpk = quoteIdent(run.pk);
    const feedHead = `INSERT INTO _rtwh_invalidations (tbl, id, ts) SELECT ${sqlLiteral(run.table)}, ${qpk}, UNIX_TIMESTAMP() FROM ${qt} WHERE ${qpk} IN (`;
    const budget = this.queryBudget / 2;
    let i = 0;
    while (i < run.ids.length) {
      const ids: string[] = [];
      const values: string[] = [];
      let bytes = 0;
      const parts = run.kind === 'upsert' ? this.upsertParts(run.table, run.pk, run.columns) : undefined;
      for (; i < run.ids.length && ids.length < ROWS_PER_STATEMENT && bytes < budget; i++) {
        const id = sqlLiteral(run.ids[i]!);
        ids.push(id);
        bytes += id.length * 2;
        if (run.kind === 'upsert') {
          const row = run.rows[i]!;
          let v = `(${id}`;
          for (const col of run.columns) v += `, ${sqlLiteral(row[col] ?? null)}`;
          v += ')';
          values.push(v);
          bytes += v.length;
        }
      }
      const idList = ids.join(', ');
      out.push(`${feedHead}${idList})`);
      if (parts) out.push(`${parts.head}${values.join(', ')}${parts.tail}`);
      else out.push(`DELETE FROM ${qt} WHERE ${qpk} IN (${idList})`);
    }
  }

  async apply(writes: readonly DimWrite[], offsets: readonly StoredOffset[]): Promise<void> {
    this.check();
    const runs = writeRuns(writes);
    for (const o of offsets) checkOffset(o);
    if (runs.length === 0 && offsets.length === 0) return;
    await this.withConn('write', `writing ${writes.length} dim rows`, async (c) => {
      for (const run of runs) {
        const have = await this.pkOf(c, run.table);
        if (have === undefined) throw rtwhError('DIM_SCHEMA', `dim table ${q(run.table)} does not exist in ${this.description}`, { hint: 'ensureTable(rule) creates it before any write.' });
        if (have.toLowerCase() !== run.pk.toLowerCase()) throw rtwhError('DIM_SCHEMA', `dim table ${q(run.table)} is keyed by ${q(have)}, the write by ${q(run.pk)}`);
      }
      const stmts = ["START TRANSACTION", "SELECT v FROM _rtwh_meta WHERE k = 'writer' FOR UPDATE"];
      const fenced = offsets.filter((o) => o.expected !== undefined);
      if (fenced.length > 0) {
        // Fencing needs the stored offsets under the writer lock before anything is written: one round trip more.
        const doing = 'checking the stored offsets';
        try {
          await c.query(`${stmts.join('; ')}`, doing);
          stmts.length = 0;
          const have = await c.query<{ topic: string; p: number; o: number | string }[]>(
            `SELECT topic, \`partition\` AS p, \`offset\` AS o FROM _rtwh_offsets WHERE \`group\` = ${sqlLiteral(fenced[0]!.group)} FOR UPDATE`,
            doing,
          );
          const at = new Map(have.map((r) => [`${r.topic}:${r.p}`, Number(r.o)]));
          for (const o of fenced) {
            const cur = at.get(`${o.topic}:${o.partition}`) ?? null;
            if (cur !== o.expected) throw offsetFenced(o, cur, this.description);
          }
        } catch (e) {
          if (classify(e) !== 'lost') await c.query('ROLLBACK').catch(() => {});
          if (e instanceof RtwhError && e.code === 'DIM_OFFSET_FENCED') throw e;
          throw mapWriteError(e, this.description);
        }
      }
      for (const run of runs) this.runStatements(run, stmts);
      if (offsets.length > 0) {
        const rows = offsets.map((o) => `(${sqlLiteral(o.group)}, ${sqlLiteral(o.topic)}, ${o.partition}, ${o.offset})`);
        stmts.push(`INSERT INTO _rtwh_offsets (\`group\`, topic, \`partition\`, \`offset\`) VALUES ${rows.join(', ')} ON DUPLICATE KEY UPDATE \`offset\` = VALUES(\`offset\`)`);
      }
      stmts.push('COMMIT');
      let batch = '';
      const doing = `writing ${writes.length} dim rows`;
      try {
        for (const s of stmts) {
          if (batch !== '' && batch.length + s.length > this.queryBudget) {
            await c.query(batch, doing);
            batch = '';
          }
          batch = batch === '' ? s : `${batch}; ${s}`;
        }
        await c.query(batch, doing);
      } catch (e) {
        if (classify(e) !== 'lost') await c.query('ROLLBACK').catch(() => {});
        throw mapWriteError(e, this.description);
      }
    });
    if (Date.now() - this.lastPruneMs >= this.feed.pruneEveryMs) {
      this.lastPruneMs = Date.now();
      await this.prune().catch(() => {});
    }
  }

  /** Drops feed entries beyond the last `keepEntries` or older than `keepMs`, and raises the floor to match. */
  private async prune(): Promise<void> {
    await this.withConn('read', 'pruning the invalidation feed', async (c) => {
      const [s] = await c.query<{ latest: number | string; floor: number | string }[]>(
        "SELECT COALESCE((SELECT MAX(seq) FROM _rtwh_invalidations), 0) AS latest, (SELECT v FROM _rtwh_meta WHERE k = 'feed_floor') AS floor",
      );
      const latest = Number(s?.latest ?? 0);
      const floor = Number(s?.floor ?? 0);
      const cutoff = Math.floor((Date.now() - this.feed.keepMs) / 1000);
      const young = await c.query<{ seq: number | string }[]>(`SELECT seq FROM _rtwh_invalidations WHERE seq > ${floor} AND ts >= ${cutoff} ORDER BY seq LIMIT 1`);
      const upTo = Math.max(latest - this.feed.keepEntries, young.length === 0 ? latest : Number(young[0]!.seq) - 1);
      if (upTo <= floor) return;
      try {
        await c.query(
          `START TRANSACTION; DELETE FROM _rtwh_invalidations WHERE seq <= ${upTo}; UPDATE _rtwh_meta SET v = GREATEST(v, ${upTo}) WHERE k = 'feed_floor'; COMMIT`,
          'pruning the invalidation feed',
        );
      } catch (e) {
        if (classify(e) !== 'lost') await c.query('ROLLBACK').catch(() => {});
        throw e;
      }
    });
  }

  async offsets(group: string): Promise<Map<string, number>> {
    this.check();
    const rows = await this.withConn('read', 'reading stored offsets', (c) =>
      c.query<{ topic: string; p: number; o: number | string }[]>(`SELECT topic, \`partition\` AS p, \`offset\` AS o FROM _rtwh_offsets WHERE \`group\` = ${sqlLiteral(group)}`),
    );
    return new Map(rows.map((r) => [`${r.topic}:${r.p}`, Number(r.o)]));
  }

  /** A read on a dim table; a table that is not (or no longer) there reads as empty. */
  private async read<T>(table: string, empty: T, what: string, fn: (c: MysqlConn, pk: string) => Promise<T>): Promise<T> {
    this.check();
    checkDimTable(table);
    return this.withConn('read', what, async (c) => {
      const pk = await this.pkOf(c, table);
      if (pk === undefined) return empty;
      try {
        return await fn(c, pk);
      } catch (e) {
        if (errno(e) === 1146 || errno(e) === 1054) {
          this.forget(table);
          return empty;
        }
        throw e;
      }
    });
  }

  async get(table: string, id: string): Promise<DimRow | undefined> {
    return this.read(table, undefined, `reading ${table}`, async (c, pk) => {
      const rows = await c.query<DimRow[]>(`SELECT * FROM ${quoteIdent(table)} WHERE ${quoteIdent(pk)} = ${sqlLiteral(id)}`, `reading ${table}`);
      return rows[0];
    });
  }

  async getMany(table: string, ids: readonly string[]): Promise<Map<string, DimRow>> {
    if (ids.length === 0) return new Map();
    return this.read(table, new Map<string, DimRow>(), `reading ${table}`, async (c, pk) => {
      const out = new Map<string, DimRow>();
      for (let i = 0; i < ids.length; i += GET_CHUNK) {
        const list = ids.slice(i, i + GET_CHUNK).map((id) => sqlLiteral(id)).join(', ');
        const rows = await c.query<DimRow[]>(`SELECT * FROM ${quoteIdent(table)} WHERE ${quoteIdent(pk)} IN (${list})`, `reading ${table}`);
        for (const row of rows) out.set(row[pk] as string, row);
      }
      return out;
    });
  }

  async invalidationsSince(seq: number, limit = FEED_PAGE): Promise<DimInvalidation[]> {
    this.check();
    const rows = await this.withConn('read', 'reading the invalidation feed', (c) =>
      c.query<{ seq: number | string; tbl: string; id: string }[]>(
        `SELECT seq, tbl, id FROM _rtwh_invalidations WHERE seq > ${Math.trunc(Number(seq)) || 0} ORDER BY seq LIMIT ${Math.max(0, Math.trunc(limit))}`,
      ),
    );
    return rows.map((r) => ({ seq: Number(r.seq), table: r.tbl, id: r.id }));
  }

  async latestSeq(): Promise<number> {
    this.check();
    const [r] = await this.withConn('read', 'reading the invalidation feed', (c) =>
      c.query<{ s: number | string }[]>("SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM _rtwh_invalidations), 0), (SELECT v FROM _rtwh_meta WHERE k = 'feed_floor')) AS s"),
    );
    return Number(r?.s ?? 0);
  }

  async invalidationFloor(): Promise<number> {
    this.check();
    const [r] = await this.withConn('read', 'reading the invalidation feed', (c) => c.query<{ v: number | string }[]>("SELECT v FROM _rtwh_meta WHERE k = 'feed_floor'"));
    return Number(r?.v ?? 0);
  }

  async managedTables(): Promise<ManagedTable[]> {
    this.check();
    const rows = await this.withConn('read', 'listing dim tables', (c) =>
      c.query<{ tbl: string; pk: string; created_by: string | null }[]>(
        'SELECT d.tbl, d.pk, d.created_by FROM _rtwh_dim_tables d WHERE EXISTS (SELECT 1 FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = d.tbl) ORDER BY d.tbl',
      ),
    );
    return rows.map((r) => ({ table: r.tbl, pk: r.pk, createdBy: r.created_by }));
  }

  async tables(): Promise<Map<string, string[]>> {
    this.check();
    return this.withConn('read', 'listing dim tables', async (c) => {
      const dims = await c.query<{ tbl: string }[]>('SELECT tbl FROM _rtwh_dim_tables ORDER BY tbl');
      const cols = await c.query<{ t: string; c: string }[]>(
        'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION',
      );
      const byTable = new Map<string, string[]>();
      for (const r of cols) {
        let l = byTable.get(r.t);
        if (l === undefined) byTable.set(r.t, (l = []));
        l.push(r.c);
      }
      const out = new Map<string, string[]>();
      for (const { tbl } of dims) {
        const l = byTable.get(tbl);
        if (l) out.set(tbl, l);
      }
      return out;
    });
  }

  async scan(table: string): Promise<DimRow[]> {
    const rows = await this.read<DimRow[] | undefined>(table, undefined, `reading ${table}`, (c, pk) =>
      c.query<DimRow[]>(`SELECT * FROM ${quoteIdent(table)} ORDER BY ${quoteIdent(pk)}`, `reading ${table}`),
    );
    if (rows === undefined) throw rtwhError('DIM_TABLE_NOT_FOUND', `no dim table ${q(table)} in ${this.description}`);
    return rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    await this.queue.catch(() => {});
    const c = this.conn;
    this.conn = undefined;
    if (c) await c.close();
  }
}


// The server refuses a table definition: 1059 name too long, 1071 key too long, 1103 bad table name, 1117 too many
// columns, 1118 row size too large, 1166 bad column name.
const DEFINITION_ERRNOS = new Set([1059, 1071, 1103, 1117, 1118, 1166]);

/** CREATE/ALTER of a dim table refused for its definition → DIM_SCHEMA (the rule is at fault); else as it was. */
function definitionError(e: unknown, table: string, where: string): unknown {
  const n = errno(e);
  if (n === undefined || !DEFINITION_ERRNOS.has(n)) return e;
  return rtwhError('DIM_SCHEMA', `${where} refuses the definition of dim table ${q(table)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** A failed write → DIM_SCHEMA when the table or a column is missing; otherwise the mapped driver error. */
function mapWriteError(e: unknown, where: string): unknown {
  const n = errno(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (n === 1054) return rtwhError('DIM_SCHEMA', `a dim write in ${where} names a column its table lacks: ${msg}`, { cause: e, hint: "ensureTable(rule) adds the rule's columns before writes that use them." });
  if (n === 1146) return rtwhError('DIM_SCHEMA', `a dim write in ${where} names a table that does not exist: ${msg}`, { cause: e, hint: 'ensureTable(rule) creates it before any write.' });
  return e;
}
