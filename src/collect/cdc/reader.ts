/**
 * The binlog reader: a replica connection (zongji) from a position, turned into typed events for run.ts.
 *
 * - Rows of tables the filter excludes are not even decoded: zongji's table-map filter hook is pointed at the
 *   Maxwell filter, so their row events are skipped unparsed.
 * - Positions are tracked here from the events themselves (file from rotate events, offset = the end of the event
 *   just read). A commit (XID, or COMMIT for non-transactional engines), a DDL statement and a rotation to a new
 *   file are the boundaries cdc may resume from.
 * - An async handler result (DDL refresh, bootstrap, a full queue) pauses the socket: nothing more is read until
 *   it is done. Memory stays bounded because mysql2 stops reading the socket while paused.
 * - A broken connection (MariaDB restart, network) is reopened with backoff from the last boundary handed to the
 *   handler; the unfinished transaction is dropped and read again.
 */
import type ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import type { Connection } from 'mysql2';
import { rtwhError, type RtwhError } from '../../errors';
import type { ChangeEvent, ChangeSource, ColumnInfo, Row } from '../../formats/change';
import { mysqlError, type MysqlTarget } from '../../store/mysql';
import { driverOptions } from './conn';
import type { CdcFilter } from './filter';
import type { BinlogPosition } from './position';
import { columnFromBinlog, SYSTEM_DATABASES, type BinlogColumn, type BinlogColumnSchema, type SchemaCache } from './schema';
import { rowConverter, sameChangeValue, type RowConverter } from './values';
import { installFastRows } from './fast-rows';

let ZongJiClass: typeof ZongJi | undefined;

/**
 * zongji, and mysql2 under it, load on first use: most commands never read a binlog, and loading them at start-up
 * cost every `rtwh` invocation ~25 ms.
 */
export async function loadBinlogDriver(): Promise<void> {
  ZongJiClass ??= (await import('@vlasky/zongji')).default;
}

export type ReaderEvent =
  /** A transaction starts (MariaDB GTID event, or BEGIN). */
  | { kind: 'begin'; gtid: string | null; thread: number | null }
  /** Row changes of one rows event of an included table, in order. */
  | { kind: 'rows'; events: ChangeEvent[] }
  /** A request row inserted into `<schema db>.bootstrap`. */
  | { kind: 'bootstrap-request'; row: Row }
  /** The transaction committed; `position` is right after it. `own`: it touched only cdc's bookkeeping tables. */
  | { kind: 'commit'; xid: number | string | undefined; position: BinlogPosition; ts: number; own: boolean }
  | { kind: 'rollback' }
  /** A statement outside row format: DDL and other standalone statements; `position` is right after it. */
  | { kind: 'statement'; sql: string; database: string; ts: number; position: BinlogPosition; thread: number }
  /** The server switched to a new binlog file (not inside a transaction). */
  | { kind: 'rotate'; position: BinlogPosition };

export type ReaderState = 'connecting' | 'reading' | 'waiting';

export interface ReaderOptions {
  target: MysqlTarget;
  /** server_id this replica announces (must differ from the source's and other replicas'). */
  replicaId: number;
  start: BinlogPosition;
  filter: CdcFilter;
  /** Maxwell's schema database: its tables are never output; its bootstrap table is watched. */
  schemaDb: string;
  schema: SchemaCache;
  /** Binlog time (ms) → the event time written into records (mock dates). */
  eventTime: (binlogMs: number) => number;
  /** Attach binlog coordinates to each change (Debezium's `source`). */
  withSource: boolean;
  /** The source server's @@server_id, for `source.server_id` when the binlog does not say (MySQL). */
  sourceServerId: number;
  /** Handles one event; a returned promise pauses reading until it settles (a rejection stops the reader). */
  handle: (e: ReaderEvent) => void | Promise<void>;
  /** A fatal error (position purged, access denied): the reader has stopped. */
  onFatal: (e: RtwhError) => void;
  onState?: (state: ReaderState, detail?: string) => void;
  log?: (msg: string) => void;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs?: number;
}

interface TableDecoder {
  database: string;
  table: string;
  /** zongji's column array this decoder was built from, and its column type codes. */
  source: unknown;
  types: number[];
  columns: ColumnInfo[];
  primaryKey: readonly string[];
  convert: RowConverter;
  rowFilter: boolean;
  bootstrapTable: boolean;
  /** Rows are decoded (for the bootstrap table or column rules) but the table is not output. */
  output: boolean;
}

/** The shape of zongji's rows events that we read (its .d.ts types rows loosely). */
interface RowsEventLike {
  tableId: number;
  timestamp: number;
  nextPosition: number;
  rows: Record<string, unknown>[] | { before: Record<string, unknown>; after: Record<string, unknown> }[];
}

/** zongji's event class names (getTypeName); a stream's first event is one of them unless a build mangled them. */
const KNOWN_EVENTS = new Set([
  'Rotate', 'Format', 'Xid', 'Query', 'IntVar', 'TableMap', 'WriteRows', 'UpdateRows', 'DeleteRows', 'Gtid', 'AnonymousGtid',
  'PreviousGtids', 'Heartbeat', 'MariadbGtid', 'MariadbGtidList', 'BinlogCheckpoint', 'AnnotateRows', 'RowsQuery',
  'StartEncryption', 'XaPrepare', 'TransactionPayload', 'PartialUpdateRows', 'Unknown',
]);

/** Errors after which reconnecting cannot help. */
const FATAL_ERRNO = new Set([1236 /* position not in the binlog (purged, or never existed) */, 1045 /* access denied */, 1227 /* missing REPLICATION privilege */]);

export class BinlogReader {
  private zj: ZongJi | undefined;
  private generation = 0;
  private stopped = false;
  private pauses = new Set<string>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = 0;

  /** The file being read and the end of the last event read. */
  private file: string;
  private pos: number;
  /** Where to reconnect from: the last boundary handed to the handler. */
  private resumeAt: BinlogPosition;

  private inTxn = false;
  private txnTouchedOther = false;
  private txnGtid: string | null = null;
  private lastGtid: string | null = null;
  private txnThread: number | null = null;
  private txnServerId: number;
  private txnStart: BinlogPosition;
  private lastEventMs = 0;
  private readonly decoders = new Map<number, TableDecoder>();
  private eventsRead = 0;
  private idClashes: number[] = [];
  private namesChecked = false;

  constructor(private readonly o: ReaderOptions) {
    this.file = o.start.file;
    this.pos = o.start.pos;
    this.resumeAt = { ...o.start };
    this.txnStart = { ...o.start };
    this.txnServerId = o.sourceServerId;
  }

  /** The position just read (for lag); the file is the one being read. */
  get position(): BinlogPosition {
    return { file: this.file, pos: this.pos };
  }

  /** Binlog time of the last event read, ms. */
  get lastEventTime(): number {
    return this.lastEventMs;
  }

  get events(): number {
    return this.eventsRead;
  }

  /** Loads the binlog driver (first time), then connects; errors after that go to the callbacks. */
  async start(): Promise<void> {
    await loadBinlogDriver();
    this.connect();
  }

  /** Back-pressure: reading stops while any reason holds. */
  pause(reason: string): void {
    this.pauses.add(reason);
    this.applyPause();
  }

  resume(reason: string): void {
    if (!this.pauses.delete(reason)) return;
    if (this.pauses.size === 0) this.conn()?.resume();
  }

  /** Forget cached table decoders (after a DDL the primary keys or JSON columns may have changed). */
  invalidateTables(): void {
    this.decoders.clear();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.close();
  }

  private conn(): Connection | null {
    return (this.zj?.connection as Connection | null | undefined) ?? null;
  }

  private applyPause(): void {
    if (this.pauses.size === 0) return;
    const c = this.conn() as (Connection & { _paused?: boolean }) | null;
    // zongji resumes the socket itself after a metadata lookup; pausing again here keeps our pause in force.
    if (c && !c._paused) c.pause();
  }

  private close(): Promise<void> {
    const zj = this.zj;
    this.zj = undefined;
    this.generation++;
    if (!zj) return Promise.resolve();
    return new Promise((resolve) => {
      const done = setTimeout(resolve, 2000);
      zj.once('stopped', () => {
        clearTimeout(done);
        resolve();
      });
      try {
        zj.stop();
      } catch {
        clearTimeout(done);
        resolve();
      }
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.o.onState?.('connecting', `${this.o.target.host}:${this.o.target.port} from ${this.resumeAt.file}:${this.resumeAt.pos}`);
    const zj = new ZongJiClass!(driverOptions(this.o.target));
    this.zj = zj;
    // Rows of excluded tables are skipped unparsed; the hook also sees every table of a transaction, which tells
    // cdc's own bookkeeping transactions (positions) from the others.
    const hook = zj as unknown as { _skipSchema: (db: string, table: string) => boolean };
    hook._skipSchema = (db, table) => this.skipTable(db, table);
    zj.on('error', (e: Error) => {
      if (gen !== this.generation) return;
      this.onError(e);
    });
    zj.on('ready', () => {
      if (gen !== this.generation) return;
      this.backoffMs = 0;
      this.o.onState?.('reading');
    });
    zj.on('binlog', (e: AnyBinlogEvent) => {
      if (gen !== this.generation) return;
      this.eventsRead++;
      let r: void | Promise<void>;
      try {
        r = this.onEvent(e);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (r instanceof Promise) {
        this.pause('handler');
        r.then(
          () => {
            if (gen === this.generation) this.resume('handler');
          },
          (err: unknown) => this.fail(err),
        );
      } else {
        this.applyPause();
      }
    });
    this.file = this.resumeAt.file;
    this.pos = this.resumeAt.pos;
    this.inTxn = false;
    // No includeEvents: zongji matches those against its classes' names, and a build that minified class names
    // would silently get nothing. Every event comes through instead and the first one is checked (namesChecked).
    zj.start({ serverId: this.o.replicaId, filename: this.resumeAt.file, position: this.resumeAt.pos });
  }

  private fail(err: unknown): void {
    // A handler cut short by stop() is not a failure.
    if (this.stopped) return;
    this.stopped = true;
    void this.close();
    const e = err instanceof Error && 'code' in err && typeof (err as RtwhError).exitCode === 'number' ? (err as RtwhError) : mysqlError(err, this.o.target, 'reading the binlog');
    this.o.onFatal(e);
  }

  private onError(e: Error): void {
    if (this.stopped) return;
    const errno = (e as { errno?: number }).errno;
    const msg = e.message ?? String(e);
    if (/same server_uuid\/server_id|same server.id/i.test(msg)) {
      // Another replica connected with our server id and the server dropped us for it. Once can be the ghost of
      // our own killed connection; again and again is a second cdc (or replica) with the same --server-id.
      const now = Date.now();
      this.idClashes = this.idClashes.filter((t) => now - t < 60_000);
      this.idClashes.push(now);
      if (this.idClashes.length >= 3) {
        this.fail(rtwhError('MYSQL_ERROR', `another replica keeps connecting to ${this.o.target.host}:${this.o.target.port} with server id ${this.o.replicaId}: ${msg}`, {
          cause: e,
          hint: 'Every cdc (and every replica) needs its own --server-id; the default is derived from --client-id, so distinct client ids get distinct ids.',
        }));
        return;
      }
    } else if ((errno !== undefined && FATAL_ERRNO.has(errno)) || /Could not find first log file|binlog truncated|purged/i.test(msg)) {
      const where = `${this.resumeAt.file}:${this.resumeAt.pos}`;
      this.fail(
        errno === 1236
          ? rtwhError('MYSQL_ERROR', `the server cannot send the binlog from ${where}: ${msg}`, {
              cause: e,
              hint: 'The binlog there was purged or never existed. Restart from a known position with --init-position FILE:POS (SHOW BINARY LOGS lists them), accepting that changes in between are missed, then bootstrap the tables.',
            })
          : e,
      );
      return;
    }
    // Anything else (server restart, network, a killed connection): read again from the last boundary.
    if (this.inTxn) this.o.handle({ kind: 'rollback' });
    this.inTxn = false;
    void this.close();
    this.backoffMs = Math.min(this.o.maxBackoffMs ?? 10_000, this.backoffMs === 0 ? 500 : this.backoffMs * 2);
    this.o.onState?.('waiting', `${msg}; retrying in ${(this.backoffMs / 1000).toFixed(1)} s`);
    this.o.log?.(`binlog connection lost (${msg}); reconnecting from ${this.resumeAt.file}:${this.resumeAt.pos} in ${(this.backoffMs / 1000).toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.connect(), this.backoffMs);
  }

  private skipTable(db: string, table: string): boolean {
    if (db === this.o.schemaDb) return table !== 'bootstrap';
    this.txnTouchedOther = true;
    if (SYSTEM_DATABASES.has(db)) return true;
    return !this.o.filter.mayInclude(db, table);
  }

  private boundary(pos: number): BinlogPosition {
    // The GTID of the last group before the boundary; it names the same point as file:pos (informational).
    if (this.txnGtid !== null) this.lastGtid = this.txnGtid;
    const p = { file: this.file, pos, gtid: this.lastGtid };
    this.resumeAt = p;
    this.txnStart = p;
    return p;
  }

  private onEvent(e: AnyBinlogEvent): void | Promise<void> {
    if (!this.namesChecked) {
      this.namesChecked = true;
      if (!KNOWN_EVENTS.has(e.getTypeName())) {
        throw rtwhError('INTERNAL', `binlog events arrive under unknown names (${JSON.stringify(e.getTypeName())}): this rtwh build renamed the binlog library's classes`, {
          hint: 'zongji tells binlog events apart by class name; build without identifier minification (Bun.build minify.identifiers: false).',
        });
      }
    }
    if (e.nextPosition > 0) this.pos = e.nextPosition;
    if (e.timestamp > 0) this.lastEventMs = e.timestamp;
    switch (e.getEventName()) {
      case 'rotate': {
        const r = e as Extract<AnyBinlogEvent, { getEventName(): 'rotate' }>;
        const changed = r.binlogName !== this.file;
        this.file = r.binlogName;
        this.pos = r.position;
        // A rotation to a new file outside a transaction is a boundary: positions never point into a purged file.
        if (changed && !this.inTxn) return this.o.handle({ kind: 'rotate', position: this.boundary(r.position) });
        return;
      }
      case 'mariadbgtid': {
        const g = e as Extract<AnyBinlogEvent, { getEventName(): 'mariadbgtid' }>;
        this.begin(g.gtid, g.threadId ?? null);
        this.txnServerId = g.serverId;
        return this.o.handle({ kind: 'begin', gtid: this.txnGtid, thread: this.txnThread });
      }
      case 'gtid': {
        const g = e as Extract<AnyBinlogEvent, { getEventName(): 'gtid' }>;
        this.txnGtid = g.gtid;
        return;
      }
      case 'xid': {
        const x = e as Extract<AnyBinlogEvent, { getEventName(): 'xid' }>;
        return this.commit(x.xid, x.timestamp);
      }
      case 'query': {
        const q = e as Extract<AnyBinlogEvent, { getEventName(): 'query' }>;
        const sql = q.query.trim();
        const head = sql.slice(0, 16).toUpperCase();
        if (head === 'BEGIN') {
          if (!this.inTxn) this.begin(this.txnGtid, q.slaveProxyId);
          this.txnThread = q.slaveProxyId;
          return this.o.handle({ kind: 'begin', gtid: this.txnGtid, thread: this.txnThread });
        }
        if (head === 'COMMIT') return this.commit(undefined, q.timestamp);
        if (head.startsWith('ROLLBACK') && !/^ROLLBACK\s+TO\b/i.test(sql)) {
          this.inTxn = false;
          return this.o.handle({ kind: 'rollback' });
        }
        if (/^(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO|XA\s)/i.test(sql)) return;
        // A standalone statement (DDL and the like) ends any group it belonged to.
        this.inTxn = false;
        const position = this.boundary(this.pos);
        this.txnGtid = null;
        return this.o.handle({ kind: 'statement', sql, database: q.schema, ts: this.o.eventTime(q.timestamp), position, thread: q.slaveProxyId });
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        // zongji's rows event classes are reachable only through an instance: the faster decoder goes in here.
        installFastRows(e);
        return this.rows(e.getEventName() as 'writerows' | 'updaterows' | 'deleterows', e as unknown as RowsEventLike);
      default:
        return;
    }
  }

  private begin(gtid: string | null, thread: number | null): void {
    this.inTxn = true;
    this.txnTouchedOther = false;
    this.txnGtid = gtid;
    this.txnThread = thread;
  }

  private commit(xid: number | string | undefined, ts: number): void | Promise<void> {
    const own = !this.txnTouchedOther;
    this.inTxn = false;
    this.txnTouchedOther = false;
    const position = this.boundary(this.pos);
    this.txnGtid = null;
    return this.o.handle({ kind: 'commit', xid, position, ts: this.o.eventTime(ts), own });
  }

  private decoder(tableId: number): TableDecoder | undefined {
    const tm = (this.zj?.tableMap as Record<number, TableMapEntry> | undefined)?.[tableId];
    if (!tm || !tm.columns) return undefined;
    const cols = tm.columns as BinlogColumn[];
    const cached = this.decoders.get(tableId);
    if (cached && cached.table === tm.tableName && cached.database === tm.parentSchema) {
      if (cached.source === cols) return cached;
      // zongji rebuilds the entry on every table map; same names and types → same decoder.
      if (cached.columns.length === cols.length && cols.every((c, i) => c.name === cached.columns[i]!.name && c.type === cached.types[i])) {
        cached.source = cols;
        return cached;
      }
    }
    const db = tm.parentSchema;
    const table = tm.tableName;
    const known = this.o.schema.get(db, table);
    const schemas = tm.columnSchemas as unknown as BinlogColumnSchema[];
    const columns = cols.map((c, i) => columnFromBinlog(c, schemas[i], known?.jsonColumns.has(c.name) ?? false));
    const bootstrapTable = db === this.o.schemaDb && table === 'bootstrap';
    const d: TableDecoder = {
      database: db,
      table,
      source: cols,
      columns,
      types: cols.map((c) => c.type),
      primaryKey: known?.primaryKey ?? [],
      convert: rowConverter(columns),
      rowFilter: this.o.filter.hasColumnRules(db, table),
      bootstrapTable,
      output: !bootstrapTable && db !== this.o.schemaDb && this.o.filter.includesTable(db, table),
    };
    this.decoders.set(tableId, d);
    return d;
  }

  private rows(name: 'writerows' | 'updaterows' | 'deleterows', e: RowsEventLike): void | Promise<void> {
    const d = this.decoder(e.tableId);
    if (!d) return;
    if (!this.inTxn) this.begin(this.txnGtid, this.txnThread);
    if (d.bootstrapTable) {
      if (name !== 'writerows') return;
      let r: Promise<void> | undefined;
      for (const row of e.rows as Record<string, unknown>[]) {
        const res = this.o.handle({ kind: 'bootstrap-request', row: d.convert(row) });
        if (res instanceof Promise) r = r ? r.then(() => res) : res;
      }
      return r;
    }
    if (!d.output && !d.rowFilter) return;
    const ts = this.o.eventTime(e.timestamp);
    const out: ChangeEvent[] = [];
    const src = this.o.withSource ? this.txnStart : undefined;
    let index = 0;
    const source = (): ChangeSource | undefined =>
      src ? { file: src.file, pos: src.pos, row: index, serverId: this.txnServerId, gtid: this.txnGtid, thread: this.txnThread, snapshot: 'false' } : undefined;
    const filterRows = d.rowFilter;
    if (name === 'updaterows') {
      for (const r of e.rows as { before: Record<string, unknown>; after: Record<string, unknown> }[]) {
        const before = d.convert(r.before);
        const data = d.convert(r.after);
        let old: Row | undefined;
        for (const k in data) {
          if (!sameChangeValue(before[k]!, data[k]!)) (old ??= {})[k] = before[k]!;
        }
        if (!filterRows || this.o.filter.includesRow(d.database, d.table, data)) {
          out.push(this.event(d, 'update', data, old, ts, source()));
        }
        index++;
      }
    } else {
      const type = name === 'writerows' ? 'insert' : 'delete';
      for (const r of e.rows as Record<string, unknown>[]) {
        const data = d.convert(r);
        if (!filterRows || this.o.filter.includesRow(d.database, d.table, data)) out.push(this.event(d, type, data, undefined, ts, source()));
        index++;
      }
    }
    if (out.length === 0) return;
    return this.o.handle({ kind: 'rows', events: out });
  }

  private event(d: TableDecoder, type: 'insert' | 'update' | 'delete', data: Row, old: Row | undefined, ts: number, source: ChangeSource | undefined): ChangeEvent {
    const ev: ChangeEvent = { database: d.database, table: d.table, type, ts, primaryKey: d.primaryKey, data, columns: d.columns };
    if (old) ev.old = old;
    if (source) ev.source = source;
    return ev;
  }
}
