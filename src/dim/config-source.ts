/**
 * Where the dim job's routing rules come from, and how their changes reach it while it runs.
 *
 * - staticConfigSource: the standard rules (fixtures/) or a `--config-file`; nothing to follow.
 * - mysqlConfigSource: the `table_process` table in MySQL/MariaDB (default `gmall_config.table_process`). load()
 *   takes the binlog position, then reads every row; follow() reads the binlog from that position with the
 *   project's own BinlogReader (only that one table decoded) and turns row changes into ConfigChanges as they
 *   commit. Without a binlog, or without the REPLICATION privileges, it polls the table every second instead and
 *   diffs (state 'polling', one warning). A server that goes away is waited for (state 'waiting'). DDL on the
 *   table (TRUNCATE, ALTER, RENAME) and a purged binlog position make it read the whole table again and diff.
 *
 * Rules are keyed by source table. A change that makes a row invalid is a 'rejected' change: the previous rule of
 * that source table (if any) stays in force until the row is fixed or deleted.
 */
import type { CdcConn } from '../collect/cdc/conn';
import { openCdcConn } from '../collect/cdc/conn';
import { classifyDdl } from '../collect/cdc/ddl';
import { parseFilter } from '../collect/cdc/filter';
import type { BinlogPosition } from '../collect/cdc/position';
import { BinlogReader, type ReaderEvent } from '../collect/cdc/reader';
import { SchemaCache } from '../collect/cdc/schema';
import { q, rtwhError, RtwhError } from '../errors';
import type { ChangeEvent, ChangeValue } from '../formats/change';
import { checkIdentifier, connectMysql, mysqlError, quoteIdent, sqlLiteral, type MysqlTarget } from '../store/mysql';
import { CONFIG_COLUMNS, detectVariant, MAX_SINK_COLUMNS_CHARS, isRejected, NAME_PATTERN, ruleFromRow, standardConfigRows, type ConfigVariant, type RejectedRule } from './config';
import type { TableProcess } from './types';

export type ConfigChange = { kind: 'upsert'; rule: TableProcess } | { kind: 'delete'; sourceTable: string } | { kind: 'rejected'; rejected: RejectedRule };

export type ConfigSourceState = 'static' | 'following' | 'polling' | 'waiting';

export interface ConfigSource {
  /** For messages: `fixtures (standard rules)`, `table_process.csv`, `gmall_config.table_process on mysql://…`. */
  readonly description: string;
  /** The rules as they are now (may be called again: it reads again). */
  load(): Promise<{ rules: TableProcess[]; rejected: RejectedRule[] }>;
  /**
   * Calls onChange for every change after load(), in order, one at a time (a returned promise is awaited before
   * the next). Resolves when close() is called; rejects if onChange throws. Consumers must apply changes
   * idempotently: a change may be delivered again (see mysqlConfigSource).
   */
  follow(onChange: (c: ConfigChange) => void | Promise<void>): Promise<void>;
  readonly state: ConfigSourceState;
  close(): Promise<void>;
}

/** Rules that never change (fixtures or a file): follow() resolves at once. */
export function staticConfigSource(rules: readonly TableProcess[], rejected: readonly RejectedRule[], description: string): ConfigSource {
  return {
    description,
    state: 'static',
    load: async () => ({ rules: rules.map(copyRule), rejected: rejected.map((r) => ({ ...r })) }),
    follow: async () => {},
    close: async () => {},
  };
}

function copyRule(r: TableProcess): TableProcess {
  return { ...r, sinkColumns: [...r.sinkColumns] };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Replica server ids of config followers: 2,000,000,000 + a random number below 100,000,000. cdc uses 6379
 * (Maxwell's) and 100,000 … 1,000,099,999 (derived from --client-id), so the two never meet; two dim jobs draw
 * their own ids (a clash is one in 100 million, and the reader would then reconnect).
 */
export const CONFIG_REPLICA_ID_BASE = 2_000_000_000;
export const CONFIG_REPLICA_ID_SPAN = 100_000_000;

export function configReplicaId(random: () => number = Math.random): number {
  return CONFIG_REPLICA_ID_BASE + Math.floor(random() * CONFIG_REPLICA_ID_SPAN);
}

export interface MysqlConfigSourceOptions {
  /** Default `gmall_config`. */
  database?: string;
  /** Default `table_process`. */
  table?: string;
  /** The replica server id announced to read the binlog (default: configReplicaId()). */
  replicaId?: number;
  /** How often the table is read when polling (default 1000 ms). */
  pollIntervalMs?: number;
  onState?: (state: ConfigSourceState, detail?: string) => void;
  /** Said once: why the source polls instead of following the binlog. Also: the config table was dropped. */
  onWarning?: (message: string) => void;
  log?: (message: string) => void;
}

export const CONFIG_DEFAULTS = { database: 'gmall_config', table: 'table_process', pollIntervalMs: 1000 } as const;

/** What the source knows of one row, by its source_table text (valid or not). */
interface Known {
  /** The row's values, to notice a change when polling. */
  fingerprint: string;
  /** The rule in force for it (the last valid version of the row), if any. */
  rule: TableProcess | undefined;
}

type ConfigRowValues = Record<string, unknown>;

const ACCESS_ERRNO = new Set([1044, 1045, 1142, 1227]);

function errnoOf(e: unknown): number | undefined {
  for (let x: unknown = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const n = (x as { errno?: unknown }).errno;
    if (typeof n === 'number') return n;
  }
  return undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A config cell as plain text (binlog values may be bytes or numbers). */
function plainValue(v: ChangeValue | unknown): unknown {
  if (v === null || v === undefined || typeof v === 'string') return v ?? null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return v;
}

function plainRow(row: Record<string, unknown>): ConfigRowValues {
  const out: ConfigRowValues = {};
  for (const k of Object.keys(row)) out[k] = plainValue(row[k]);
  return out;
}

function keyOf(row: ConfigRowValues): string | undefined {
  const v = row.source_table;
  return typeof v === 'string' ? v : v === null || v === undefined ? undefined : String(v);
}

function fingerprint(row: ConfigRowValues): string {
  return JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k] ?? null]), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

class MysqlConfigSource implements ConfigSource {
  readonly description: string;
  private readonly database: string;
  private readonly table: string;
  private readonly pollMs: number;
  private conn: CdcConn | undefined;
  private stateNow: ConfigSourceState = 'following';
  private mode: 'binlog' | 'polling' | undefined;
  private warned = false;
  private start: BinlogPosition | undefined;
  private serverId = 0;
  private variantSeen: ConfigVariant | undefined;
  private readonly known = new Map<string, Known>();

  private closed = false;
  private following = false;
  private reader: BinlogReader | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private pollBackoffMs = 0;
  private onChange: ((c: ConfigChange) => void | Promise<void>) | undefined;
  private finish: ((e?: unknown) => void) | undefined;
  /** Changes being handed on (awaited by close()). */
  private work: Promise<void> = Promise.resolve();
  /** Row events of the transaction being read. */
  private txn: ChangeEvent[] = [];
  private tableMissing = false;
  /** Once: a purged binlog position was replaced by the current one. */
  private restarted = false;

  constructor(
    private readonly target: MysqlTarget,
    private readonly o: MysqlConfigSourceOptions,
  ) {
    this.database = checkIdentifier(o.database ?? CONFIG_DEFAULTS.database, 'config database');
    this.table = checkIdentifier(o.table ?? CONFIG_DEFAULTS.table, 'config table');
    this.pollMs = o.pollIntervalMs ?? CONFIG_DEFAULTS.pollIntervalMs;
    this.description = `${this.database}.${this.table} on ${target.display}`;
  }

  get state(): ConfigSourceState {
    return this.stateNow;
  }

  /** 2022 or 2023, once load() has seen the table. */
  get variant(): ConfigVariant | undefined {
    return this.variantSeen;
  }

  private setState(s: ConfigSourceState, detail?: string): void {
    if (s === this.stateNow && detail === undefined) return;
    this.stateNow = s;
    this.o.onState?.(s, detail);
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.o.onWarning?.(message);
  }

  private get qualified(): string {
    return `${quoteIdent(this.database)}.${quoteIdent(this.table)}`;
  }

  private async connection(): Promise<CdcConn> {
    this.conn ??= await openCdcConn(this.target);
    return this.conn;
  }

  private usePolling(why: string): void {
    this.mode = 'polling';
    this.warn(`${this.description}: ${why}; following the config by reading the table every ${(this.pollMs / 1000).toLocaleString('en-US')} s instead of the binlog`);
    this.setState('polling');
  }

  /** Whether the binlog can be followed, and from where. Falls back to polling when it cannot. */
  private async binlogStart(conn: CdcConn): Promise<BinlogPosition | undefined> {
    const [v] = await conn.query<{ log_bin: number | string; binlog_format: string; server_id: number }[]>(
      'SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.binlog_format AS binlog_format, @@GLOBAL.server_id AS server_id',
      [],
      'checking the binlog settings',
    );
    this.serverId = Number(v?.server_id ?? 0);
    if (!v || String(v.log_bin) === '0' || String(v.log_bin).toUpperCase() === 'OFF') {
      this.usePolling('the server writes no binlog (log_bin is off)');
      return undefined;
    }
    if (String(v.binlog_format).toUpperCase() !== 'ROW') {
      this.usePolling(`binlog_format is ${v.binlog_format}, not ROW`);
      return undefined;
    }
    let rows: { File: string; Position: number | string }[];
    try {
      rows = await conn.query<{ File: string; Position: number | string }[]>('SHOW MASTER STATUS', [], 'reading the binlog position');
    } catch (e) {
      const errno = errnoOf(e);
      if (errno !== undefined && ACCESS_ERRNO.has(errno)) {
        this.usePolling(`user ${q(this.target.user)} may not read the binlog position (needs REPLICATION CLIENT / BINLOG MONITOR and REPLICATION SLAVE)`);
        return undefined;
      }
      throw e;
    }
    const r = rows[0];
    if (!r) {
      this.usePolling('SHOW MASTER STATUS is empty (no binlog)');
      return undefined;
    }
    return { file: r.File, pos: Number(r.Position) };
  }

  /** Every row of the config table now; undefined when the table does not exist. */
  private async readRows(conn: CdcConn): Promise<ConfigRowValues[] | undefined> {
    const cols = await conn.query<{ COLUMN_NAME: string }[]>(
      'SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [this.database, this.table],
      'reading the config table columns',
    );
    if (cols.length === 0) return undefined;
    const variant = detectVariant(cols.map((c) => c.COLUMN_NAME));
    if (!variant) {
      throw rtwhError('DIM_CONFIG_TABLE', `${this.description} has columns ${cols.map((c) => c.COLUMN_NAME).join(', ')}: not a table_process table`);
    }
    this.variantSeen = variant;
    const rows = await conn.query<Record<string, unknown>[]>(`SELECT * FROM ${this.qualified}`, [], 'reading the config table');
    return rows.map(plainRow);
  }

  async load(): Promise<{ rules: TableProcess[]; rejected: RejectedRule[] }> {
    const conn = await this.connection();
    // The position first, then the rows: a change committed in between is in the rows AND read again from the
    // binlog. That is fine: upserts and deletes by source table are idempotent, and replaying from the position
    // ends at the same state as the table.
    this.start = this.mode === 'polling' ? undefined : await this.binlogStart(conn);
    if (this.start) this.mode = 'binlog';
    const rows = await this.readRows(conn);
    if (!rows) {
      throw rtwhError('DIM_CONFIG_TABLE', `the config table ${this.description} does not exist`, {
        hint: '`rtwh run dim --init-config` creates it and loads the standard rows; --config-database / --config-table name another one.',
      });
    }
    this.known.clear();
    const rules: TableProcess[] = [];
    const rejected: RejectedRule[] = [];
    for (const row of rows) {
      const key = keyOf(row);
      const r = ruleFromRow(row);
      if (isRejected(r)) rejected.push(r);
      else rules.push(r);
      if (key !== undefined) this.known.set(key, { fingerprint: fingerprint(row), rule: isRejected(r) ? undefined : r });
    }
    if (this.mode === 'polling') this.setState('polling');
    return { rules, rejected };
  }

  follow(onChange: (c: ConfigChange) => void | Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.following) return Promise.reject(rtwhError('INTERNAL', `${this.description} is followed already`));
    if (!this.mode) return Promise.reject(rtwhError('INTERNAL', `${this.description}: follow() before load()`));
    this.following = true;
    this.onChange = onChange;
    return new Promise<void>((resolve, reject) => {
      this.finish = (e?: unknown) => {
        this.finish = undefined;
        if (e === undefined) resolve();
        else reject(e);
      };
      if (this.mode === 'binlog') void this.startReader();
      else this.schedulePoll(0);
    });
  }

  /** Stops following with an error (onChange threw). */
  private fail(e: unknown): void {
    const f = this.finish;
    void this.stopFollowing().then(() => f?.(e));
  }

  private async stopFollowing(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const r = this.reader;
    this.reader = undefined;
    await r?.stop();
  }

  /** Hands changes on in order; an error from onChange ends follow(). */
  private emit(changes: ConfigChange[]): Promise<void> {
    if (changes.length === 0) return this.work;
    const run = async () => {
      for (const c of changes) {
        if (this.closed) return;
        await this.onChange!(c);
      }
    };
    this.work = this.work.then(run).catch((e: unknown) => this.fail(e));
    return this.work;
  }

  // --- binlog -----------------------------------------------------------------------------------------------

  private async startReader(): Promise<void> {
    try {
      const conn = await this.connection();
      const schema = new SchemaCache(conn);
      await schema.refreshTable(this.database, this.table);
      let replicaId = this.o.replicaId ?? configReplicaId();
      while (replicaId === this.serverId) replicaId = configReplicaId();
      this.reader = new BinlogReader({
        target: this.target,
        replicaId,
        start: this.start!,
        // Names are checked identifiers: safe inside Maxwell's filter syntax.
        filter: parseFilter(`exclude: *.*, include: ${this.database}.${this.table}`),
        // No database is named '': no schema database (Maxwell's bootstrap table) is watched.
        schemaDb: '',
        schema,
        eventTime: (ms) => ms,
        withSource: false,
        sourceServerId: this.serverId,
        handle: (e) => this.onEvent(e),
        onFatal: (e) => this.onReaderFatal(e),
        onState: (s, detail) => {
          if (this.closed) return;
          if (s === 'reading') this.setState('following', `reading the binlog of ${this.database}.${this.table}`);
          else if (s === 'waiting') this.setState('waiting', detail);
        },
        ...(this.o.log ? { log: this.o.log } : {}),
      });
      if (this.closed) return;
      this.startBackoffMs = 0;
      await this.reader.start();
    } catch (e) {
      if (this.closed) return;
      if (e instanceof RtwhError && e.code === 'MYSQL_UNAVAILABLE') {
        // The server is away before the reader could start: wait for it like the reader would.
        this.startBackoffMs = Math.min(10_000, this.startBackoffMs === 0 ? 500 : this.startBackoffMs * 2);
        this.setState('waiting', `${e.message}; retrying in ${(this.startBackoffMs / 1000).toFixed(1)} s`);
        this.pollTimer = setTimeout(() => void this.startReader(), this.startBackoffMs);
        return;
      }
      this.onReaderFatal(e);
    }
  }

  private startBackoffMs = 0;

  /**
   * The reader stopped for good. The binlog at our position is gone (purged): read the table again from a new
   * position and follow from there. Anything else (no REPLICATION SLAVE, …): poll.
   */
  private onReaderFatal(e: unknown): void {
    if (this.closed) return;
    this.reader = undefined;
    const errno = errnoOf(e);
    const msg = messageOf(e);
    if (errno === 1236 && !this.restarted) {
      this.restarted = true;
      this.o.log?.(`config ${this.description}: ${msg}; reading the table again and following from the current position`);
      void (async () => {
        try {
          const start = await this.binlogStart(await this.connection());
          if (this.closed) return;
          if (!start) {
            this.schedulePoll(0);
            return;
          }
          this.start = start;
          await this.resync();
          await this.startReader();
        } catch (err) {
          this.onReaderFatal(err);
        }
      })();
      return;
    }
    const why =
      (errno !== undefined && ACCESS_ERRNO.has(errno)) || /access denied|REPLICATION/i.test(msg)
        ? `user ${q(this.target.user)} may not read the binlog (needs REPLICATION SLAVE): ${msg}`
        : `the binlog cannot be followed: ${msg}`;
    this.usePolling(why);
    // Whatever the reader had not handed on yet is found by the first poll (diffed against what is known).
    this.schedulePoll(0);
  }

  private onEvent(e: ReaderEvent): void | Promise<void> {
    if (this.closed) return;
    switch (e.kind) {
      case 'begin':
      case 'rollback':
        this.txn = [];
        return;
      case 'rows':
        for (const ev of e.events) if (ev.database === this.database && ev.table === this.table) this.txn.push(ev);
        return;
      case 'commit': {
        const events = this.txn;
        this.txn = [];
        if (events.length === 0) return;
        const changes: ConfigChange[] = [];
        for (const ev of events) changes.push(...this.changesOf(ev));
        return this.emit(changes);
      }
      case 'statement': {
        const ddl = classifyDdl(e.sql, e.database);
        if (!ddl) return;
        const touches = ddl.targets.some(
          (t) => (t.database === this.database && (t.table === undefined || t.table === this.table)) || (t.to?.database === this.database && t.to.table === this.table),
        );
        // TRUNCATE, DROP, RENAME, ALTER of the config table: its rows may have changed without row events.
        if (touches) return this.resync();
        return;
      }
      default:
        return;
    }
  }

  /** One row change of the config table → config changes (updating `known`). */
  private changesOf(ev: ChangeEvent): ConfigChange[] {
    const data = plainRow(ev.data);
    const out: ConfigChange[] = [];
    if (ev.type === 'delete') {
      const key = keyOf(data);
      if (key !== undefined) out.push(...this.removed(key));
      return out;
    }
    if (ev.type === 'update') {
      const oldKey = ev.old && 'source_table' in ev.old ? keyOf({ source_table: plainValue(ev.old.source_table) }) : keyOf(data);
      const newKey = keyOf(data);
      if (oldKey !== undefined && oldKey !== newKey) out.push(...this.removed(oldKey));
    }
    out.push(this.upserted(data));
    return out;
  }

  private removed(key: string): ConfigChange[] {
    this.known.delete(key);
    // Deleted even when this source never saw it valid: a change may arrive twice, consumers ignore unknown tables.
    return NAME_PATTERN.test(key) ? [{ kind: 'delete', sourceTable: key }] : [];
  }

  private upserted(row: ConfigRowValues): ConfigChange {
    const key = keyOf(row);
    const r = ruleFromRow(row);
    const before = key !== undefined ? this.known.get(key) : undefined;
    if (key !== undefined) this.known.set(key, { fingerprint: fingerprint(row), rule: isRejected(r) ? before?.rule : r });
    return isRejected(r) ? { kind: 'rejected', rejected: r } : { kind: 'upsert', rule: r };
  }

  // --- reading the whole table (polling, and after DDL on it) --------------------------------------------------

  /** Reads the table and hands on what differs from what is known. */
  private async resync(): Promise<void> {
    const conn = await this.connection();
    const rows = await this.readRows(conn);
    if (!rows) {
      if (!this.tableMissing) {
        this.tableMissing = true;
        this.o.onWarning?.(`the config table ${this.description} is gone; the rules in force are kept until it is back`);
      }
      return;
    }
    this.tableMissing = false;
    const now = new Map<string, ConfigRowValues>();
    for (const row of rows) {
      const key = keyOf(row);
      if (key !== undefined) now.set(key, row);
    }
    const changes: ConfigChange[] = [];
    for (const key of [...this.known.keys()]) if (!now.has(key)) changes.push(...this.removed(key));
    for (const [key, row] of now) {
      if (this.known.get(key)?.fingerprint === fingerprint(row)) continue;
      changes.push(this.upserted(row));
    }
    await this.emit(changes);
  }

  private schedulePoll(ms: number): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    if (this.closed) return;
    try {
      await this.resync();
      if (this.pollBackoffMs > 0 || this.stateNow !== 'polling') this.setState('polling');
      this.pollBackoffMs = 0;
      this.schedulePoll(this.pollMs);
    } catch (e) {
      if (this.closed) return;
      if (e instanceof RtwhError && e.code === 'DIM_CONFIG_TABLE') {
        this.fail(e);
        return;
      }
      this.pollBackoffMs = Math.min(10_000, this.pollBackoffMs === 0 ? 500 : this.pollBackoffMs * 2);
      const msg = messageOf(mysqlError(e, this.target, 'reading the config table'));
      this.setState('waiting', `${msg}; retrying in ${(this.pollBackoffMs / 1000).toFixed(1)} s`);
      this.o.log?.(`config ${this.description}: ${msg}; retrying in ${(this.pollBackoffMs / 1000).toFixed(1)} s`);
      this.schedulePoll(this.pollBackoffMs);
    }
  }

  async close(): Promise<void> {
    if (this.closed && !this.conn && !this.finish) return;
    await this.stopFollowing();
    await this.work.catch(() => undefined);
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close().catch(() => undefined);
    this.finish?.();
  }
}

/** The table_process table in MySQL/MariaDB, followed live (binlog, else polling). */
export function mysqlConfigSource(target: MysqlTarget, opts: MysqlConfigSourceOptions = {}): ConfigSource & { readonly variant: ConfigVariant | undefined } {
  return new MysqlConfigSource(target, opts);
}

// ---------------------------------------------------------------------------------------------------------------

export interface InitConfigOptions {
  database?: string;
  table?: string;
  variant?: ConfigVariant;
}

/**
 * Creates the config database and table when missing (2022 or 2023 columns) and adds the standard rows it lacks;
 * rows already there — standard ones a user edited included — are left as they are. Returns how many rows it
 * added (16 on an empty table, 0 when run again).
 */
export async function initConfig(target: MysqlTarget, opts: InitConfigOptions = {}): Promise<number> {
  const database = checkIdentifier(opts.database ?? CONFIG_DEFAULTS.database, 'config database');
  const table = checkIdentifier(opts.table ?? CONFIG_DEFAULTS.table, 'config table');
  const variant = opts.variant ?? '2022';
  const qualified = `${quoteIdent(database)}.${quoteIdent(table)}`;
  const conn = await connectMysql(target, { database: null });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)} CHARACTER SET utf8mb4`, 'creating the config database');
    const columns =
      variant === '2022'
        ? `source_table VARCHAR(200) NOT NULL PRIMARY KEY COMMENT 'business table',
           sink_table VARCHAR(200) NOT NULL COMMENT 'dim table',
           sink_columns VARCHAR(${MAX_SINK_COLUMNS_CHARS}) NOT NULL COMMENT 'comma-separated columns routed',
           sink_pk VARCHAR(200) NULL COMMENT 'key column (NULL: id)',
           sink_extend VARCHAR(200) NULL COMMENT 'Phoenix table options: recorded, never applied'`
        : `source_table VARCHAR(200) NOT NULL COMMENT 'business table',
           sink_table VARCHAR(200) NOT NULL PRIMARY KEY COMMENT 'dim table',
           sink_family VARCHAR(200) NULL COMMENT 'HBase column family: recorded',
           sink_columns VARCHAR(${MAX_SINK_COLUMNS_CHARS}) NOT NULL COMMENT 'comma-separated columns routed',
           sink_row_key VARCHAR(200) NULL COMMENT 'key column (NULL: id)'`;
    await conn.query(`CREATE TABLE IF NOT EXISTS ${qualified} (${columns}) DEFAULT CHARSET=utf8mb4 COMMENT 'rtwh dim routing (table_process)'`, 'creating the config table');
    const have = await conn.query<{ COLUMN_NAME: string }[]>(
      `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${sqlLiteral(database)} AND TABLE_NAME = ${sqlLiteral(table)}`,
      'reading the config table columns',
    );
    const names = new Set(have.map((c) => c.COLUMN_NAME.toLowerCase()));
    const existing = detectVariant(names);
    const lacking = CONFIG_COLUMNS[variant].filter((c) => !names.has(c));
    if (existing !== variant || lacking.length > 0) {
      throw rtwhError(
        'DIM_CONFIG_TABLE',
        `${database}.${table} on ${target.display} exists with columns ${[...names].join(', ')}, not the ${variant} ones (${CONFIG_COLUMNS[variant].join(', ')})`,
        { hint: `Use the variant it has${existing ? ` (${existing})` : ''}, or another --config-table.` },
      );
    }
    const rows = standardConfigRows().map((r) =>
      variant === '2022'
        ? [r.source_table, r.sink_table, r.sink_columns, r.sink_pk, r.sink_extend]
        : [r.source_table, r.sink_table, 'info', r.sink_columns, r.sink_pk ?? 'id'],
    );
    const cols = CONFIG_COLUMNS[variant];
    const values = rows.map((r) => `(${r.map((v) => sqlLiteral(v)).join(', ')})`).join(',\n');
    const r = await conn.query<{ affectedRows?: number }>(`INSERT IGNORE INTO ${qualified} (${cols.map(quoteIdent).join(', ')}) VALUES\n${values}`, 'loading the standard config rows');
    return Number(r.affectedRows ?? 0);
  } finally {
    await conn.close();
  }
}
