/**
 * Writes generated transactions into MySQL/MariaDB so that a binlog reader sees what the business did.
 *
 * exact (default): one business transaction = one DB transaction, in time order, each preceded by
 *   `SET TIMESTAMP=<its mock time>` — the binlog events then carry the mock time, so a cdc reader's Maxwell
 *   `ts` equals the one `--to` writes. Consecutive inserts into one table inside a transaction share one
 *   multi-row INSERT. Many transactions travel in one multi-statement round trip, and the next batch is
 *   generated while the server runs the previous one. The cost is one commit (a log flush) per business
 *   transaction, which bounds the rate to the server's commits per second.
 *
 * fast: consecutive business transactions are committed together, ~`batchRows` rows at a time. Inside a
 *   group the rows are written table by table: the table's inserts, then its updates in their order (a row's
 *   insert always comes before its updates, so every row sees its own changes in order). Where the server
 *   allows LOAD DATA LOCAL (MariaDB does by default) the inserts are one `LOAD DATA LOCAL INFILE` of
 *   tab-separated text — the server reads it about twice as fast as INSERT … VALUES — and the updates one
 *   `LOAD DATA LOCAL INFILE … REPLACE` of the full new rows, which InnoDB applies in place and the binlog
 *   records as update row events with before and after images, like the UPDATEs of exact mode. Elsewhere
 *   they are multi-row INSERTs and INSERT … ON DUPLICATE KEY UPDATE. A LOCAL load only warns where an
 *   INSERT fails (duplicate key, bad value), so each group's COMMIT waits for its results to be checked, and
 *   a group with a warning is rolled back and the error thrown. With more connections (`moreConnections`)
 *   the tables of a group are shared out and written side by side, each table's part on one connection;
 *   the next group starts when all are done, and commits only if all succeeded. The final tables are
 *   identical to exact mode's; the binlog has fewer, larger transactions stamped with the group's last mock
 *   time (one per connection and group).
 *
 *   Why every row's changes still commit in mock-time order with several connections: a row belongs to one
 *   table, and within a group all of a table's changes go to ONE connection, in order (inserts first, then
 *   updates in time order). Groups follow each other in time: group N+1 starts on any connection only after
 *   every connection has run its part of group N, and each connection's COMMIT of its part of N is the first
 *   statement of its query for N+1. A table may move to another connection from one group to the next; then
 *   the new connection's first change to a row of it waits on InnoDB's row lock, which the old connection
 *   holds until its COMMIT of group N, so the row's N+1 change can neither be applied nor committed before
 *   its N change is. No deadlock: a connection commits its N part before taking any lock for N+1, and within
 *   a group no two connections touch the same table.
 *
 *   Who builds the groups: GroupBuilder, either on the writer's thread (writeTxns) or in a worker thread
 *   (day-thread.ts, opt-in). Either way the groups, their statements and their order are the same, and
 *   writeGroups sends them.
 */
import { InfileText } from './infile-text';
import { primaryKeyOf, schemaSql, TABLES, tableDef } from './schema';
import { type LocalFiles, mysqlError, type MysqlConn, quoteIdent, sqlLiteral } from '../../store/mysql';
import type { ChangeTxn, Row, RowChange } from '../../formats/change';
import type { MockState } from './state';
import { LIGHT_USER_COLUMNS, userUpdateIndexes } from './day';
import type { MockDbOptions } from './options';
import { RtwhError, rtwhError } from '../../errors';

export interface MysqlWriteOptions {
  fast?: boolean;
  /** fast mode: rows per DB transaction (default 10000). */
  batchRows?: number;
  /** fast mode: use LOAD DATA LOCAL (default: when the server's local_infile allows it). */
  infile?: boolean;
  /** fast mode: more connections to the same database, to write some tables of each group side by side. */
  moreConnections?: readonly MysqlConn[];
  /** Called with the number of rows the server has just committed. */
  onRows?: (rows: number) => void;
}

/** Flush the pipelined SQL at about this size: big enough to amortise the round trip, far below max_allowed_packet. */
const FLUSH_BYTES = 512 * 1024;

/** fast mode: rows of the first group (see writeFast). */
const FIRST_GROUP_ROWS = 1000;

/**
 * fast mode: the fewest rows of a group sealed early because the server has nothing to do (GroupBuilder.add):
 * enough that a group's fixed cost (a round trip, BEGIN, COMMIT, a statement per table) stays small beside its rows.
 */
const IDLE_GROUP_ROWS = 250;

/** fast mode: the longest the generator runs without letting the event loop answer the server. */
const YIELD_MS = 0.25;

/** fast mode: groups built and waiting while the server writes one, at most (memory stays bounded at any --scale). */
const MAX_QUEUED_GROUPS = 4;

const insertHeads = new Map<string, string>();
function insertHead(table: string, row: Row): string {
  let h = insertHeads.get(table);
  if (h === undefined) {
    h = `INSERT INTO ${quoteIdent(table)} (${Object.keys(row).map(quoteIdent).join(',')}) VALUES `;
    insertHeads.set(table, h);
  }
  return h;
}

function valuesOf(row: Row): string {
  let s = '(';
  let first = true;
  for (const k in row) {
    s += first ? sqlLiteral(row[k]!) : `,${sqlLiteral(row[k]!)}`;
    first = false;
  }
  return `${s})`;
}

function whereKey(table: string, row: Row): string {
  const pk = primaryKeyOf(table);
  if (pk.length === 0) throw new RangeError(`cannot update or delete in ${table}: it has no primary key`);
  return pk.map((k) => `${quoteIdent(k)}=${sqlLiteral(row[k] ?? null)}`).join(' AND ');
}

function updateSql(c: RowChange): string {
  const set = Object.keys(c.old ?? {}).map((k) => `${quoteIdent(k)}=${sqlLiteral(c.data[k] ?? null)}`);
  if (set.length === 0) return '';
  return `UPDATE ${quoteIdent(c.table)} SET ${set.join(',')} WHERE ${whereKey(c.table, c.data)};`;
}

/**
 * One transaction as SQL: its statements in order, consecutive inserts into one table as one multi-row INSERT.
 * A transaction of a single statement runs under autocommit — the same one transaction in the binlog, two
 * statements (BEGIN, COMMIT) fewer for the server to parse.
 */
function txnSql(changes: readonly RowChange[]): string {
  let s = '';
  let statements = 0;
  let i = 0;
  while (i < changes.length) {
    const c = changes[i]!;
    statements++;
    if (c.type === 'insert') {
      s += insertHead(c.table, c.data) + valuesOf(c.data);
      let j = i + 1;
      while (j < changes.length && changes[j]!.type === 'insert' && changes[j]!.table === c.table) s += `,${valuesOf(changes[j++]!.data)}`;
      s += ';';
      i = j;
      continue;
    }
    s += c.type === 'update' ? updateSql(c) : `DELETE FROM ${quoteIdent(c.table)} WHERE ${whereKey(c.table, c.data)};`;
    i++;
  }
  return statements === 1 ? s : `BEGIN;${s}COMMIT;`;
}

const upsertTails = new Map<string, string>();
function upsertTail(table: string, row: Row): string {
  let t = upsertTails.get(table);
  if (t === undefined) {
    const pk = new Set(primaryKeyOf(table));
    t = ` ON DUPLICATE KEY UPDATE ${Object.keys(row).filter((k) => !pk.has(k)).map((k) => `${quoteIdent(k)}=VALUES(${quoteIdent(k)})`).join(',')}`;
    upsertTails.set(table, t);
  }
  return t;
}

/** Most rows in one multi-row INSERT of fast mode. */
const MAX_STATEMENT_ROWS = 1000;

/**
 * Fewer rows of a kind to a table go as INSERT (or upsert) even where LOAD DATA is allowed: a LOAD costs the
 * server a round trip to the client mid-query (for its text) and a SHOW WARNINGS, more than it saves on a
 * few rows.
 */
const INFILE_MIN_ROWS = 64;

const columnLists = new Map<string, string>();
function columnList(table: string, row: Row): string {
  let c = columnLists.get(table);
  if (c === undefined) {
    c = `(${Object.keys(row).map(quoteIdent).join(',')})`;
    columnLists.set(table, c);
  }
  return c;
}

/** The columns of a table's rows, in their order (every row of a table has the same keys in the same order). */
const columnKeys = new Map<string, string[]>();
function columnsOf(table: string, row: Row): string[] {
  let c = columnKeys.get(table);
  if (c === undefined) {
    c = Object.keys(row);
    columnKeys.set(table, c);
  }
  return c;
}

/**
 * REPLACE updates a row in place (one update row event with both images) only when the primary key is the
 * table's one unique key; with another it may delete and insert. Such tables are upserted instead.
 */
const REPLACEABLE = new Set(TABLES.filter((t) => t.primaryKey.length > 0 && !(t.indexes ?? []).some((ix) => /\bUNIQUE\b/i.test(ix))).map((t) => t.name));

/**
 * A LOAD DATA LOCAL statement. LOCAL loads turn errors — a duplicate key, a value that does not fit — into
 * warnings and go on, so each is followed by SHOW WARNINGS and its result is checked before the group is
 * committed.
 */
export interface LoadCheck {
  /** Index of the LOAD statement in its query's statements; its SHOW WARNINGS is the next one. */
  index: number;
  what: string;
  rows: number;
  replace: boolean;
}

/** Statements (each ending in `;`), the LOAD DATA text they read by name, and what to check in their results. */
export interface Work {
  statements: string[];
  files: Map<string, Uint8Array>;
  checks: LoadCheck[];
  /** Rough server time, in the time of one inserted row. */
  cost: number;
}

const emptyWork = (): Work => ({ statements: [], files: new Map(), checks: [], cost: 0 });

/** Appends `w` to `into`: statement indexes of its checks move along. */
function addWork(into: Work, w: Work): void {
  for (const c of w.checks) into.checks.push({ ...c, index: c.index + into.statements.length });
  into.statements.push(...w.statements);
  for (const [k, v] of w.files) into.files.set(k, v);
  into.cost += w.cost;
}

/**
 * Server cost of a row update (LOAD DATA … REPLACE: a failed insert, a lookup, the update) relative to an
 * insert. Measured on MariaDB 10.11, 5,000 cart_info rows whose updates give NULL columns a value: insert
 * ~4.3 µs/row; update ~8 µs/row in the ROW_FORMAT=REDUNDANT the updated tables have (see schema.ts), 20–30
 * µs/row in DYNAMIC, where the grown record is deleted and inserted again.
 */
const UPDATE_COST = 2;
/** Fixed cost of one statement, in rows. */
const STATEMENT_COST = 20;

/** A group of changes as one piece of work per table: its inserts first, then its updates in order (see the file comment). */
function groupWork(changes: readonly RowChange[], infile: boolean): Work[] {
  const byTable = new Map<string, RowChange[]>();
  for (const c of changes) {
    if (c.type !== 'insert' && primaryKeyOf(c.table).length === 0) throw new RangeError(`cannot ${c.type} in ${c.table}: it has no primary key`);
    const t = byTable.get(c.table);
    if (t) t.push(c);
    else byTable.set(c.table, [c]);
  }
  const names = { next: 0 };
  const out: Work[] = [];
  for (const rows of byTable.values()) {
    const w = emptyWork();
    if (rows.some((c) => c.type === 'delete')) {
      // (the generator makes no deletes) runs of one kind, in the table's change order
      for (let i = 0; i < rows.length; ) {
        let j = i + 1;
        while (j < rows.length && rows[j]!.type === rows[i]!.type) j++;
        tableStatements(w, rows.slice(i, j), infile, names);
        i = j;
      }
    } else {
      const inserts = rows.filter((c) => c.type === 'insert');
      if (inserts.length > 0) tableStatements(w, inserts, infile, names);
      if (inserts.length < rows.length) tableStatements(w, rows.filter((c) => c.type === 'update'), infile, names);
    }
    out.push(w);
  }
  return out;
}

/** Changes of one kind to one table, in order, as statements of `w`. */
function tableStatements(w: Work, rows: readonly RowChange[], infile: boolean, names: { next: number }): void {
  const first = rows[0]!;
  const table = first.table;
  w.cost += rows.length * (first.type === 'insert' ? 1 : UPDATE_COST);
  if (first.type === 'delete') {
    for (const c of rows) w.statements.push(`DELETE FROM ${quoteIdent(table)} WHERE ${whereKey(table, c.data)};`);
    w.cost += rows.length * STATEMENT_COST;
    return;
  }
  const update = first.type === 'update';
  if (!infile || rows.length < INFILE_MIN_ROWS || (update && !REPLACEABLE.has(table))) {
    // multi-row INSERTs, or upserts: the rows of one statement are applied in order
    const head = insertHead(table, first.data);
    const tail = update ? `${upsertTail(table, first.data)};` : ';';
    for (let i = 0; i < rows.length; i += MAX_STATEMENT_ROWS) {
      const end = Math.min(rows.length, i + MAX_STATEMENT_ROWS);
      let s = head + valuesOf(rows[i]!.data);
      for (let j = i + 1; j < end; j++) s += `,${valuesOf(rows[j]!.data)}`;
      w.statements.push(s + tail);
      w.cost += STATEMENT_COST;
    }
    return;
  }
  const text = new InfileText(rows.length * 160);
  text.addRows(rows.map((c) => c.data), columnsOf(table, first.data));
  const name = `rtwh-${names.next++}`;
  w.files.set(name, text.bytes());
  w.checks.push({ index: w.statements.length, what: `${update ? 'updating' : 'inserting into'} ${table}`, rows: rows.length, replace: update });
  w.statements.push(
    `LOAD DATA LOCAL INFILE '${name}'${update ? ' REPLACE' : ''} INTO TABLE ${quoteIdent(table)} CHARACTER SET utf8mb4 ${columnList(table, first.data)};`,
    'SHOW WARNINGS LIMIT 1;',
  );
  w.cost += 2 * STATEMENT_COST;
}

/** The tables' work shared out over `lanes` connections, the costliest first, each to the least loaded. */
function shareOut(work: Work[], lanes: number): Work[] {
  const out = Array.from({ length: lanes }, emptyWork);
  for (const w of lanes === 1 ? work : [...work].sort((x, y) => y.cost - x.cost)) {
    let best = out[0]!;
    for (const l of out) if (l.cost < best.cost) best = l;
    addWork(best, w);
  }
  return out;
}

interface OkPacket {
  affectedRows?: number;
  warningStatus?: number;
  info?: string;
}

/** The first LOAD that did not load every row cleanly, as an error; undefined when all did. */
function loadProblem(conn: MysqlConn, results: unknown, offset: number, checks: readonly LoadCheck[]): Error | undefined {
  const res = Array.isArray(results) ? results : [results];
  for (const c of checks) {
    const ok = res[offset + c.index] as OkPacket | undefined;
    const warnings = (res[offset + c.index + 1] ?? []) as { Code?: number; Message?: string }[];
    const records = Number(/Records: (\d+)/.exec(ok?.info ?? '')?.[1] ?? NaN);
    let problem: string | undefined;
    if (!ok || typeof ok.affectedRows !== 'number') problem = 'no result';
    else if ((ok.warningStatus ?? 0) > 0) problem = warnings[0]?.Message ?? `${ok.warningStatus} warnings`;
    else if (records !== c.rows || (!c.replace && ok.affectedRows !== c.rows)) problem = `${ok.info ?? ok.affectedRows} for ${c.rows} rows sent`;
    if (problem !== undefined) {
      return mysqlError({ sqlMessage: `${c.what}: ${problem}`, ...(warnings[0]?.Code ? { errno: warnings[0].Code } : {}) }, conn.target, 'writing mock transactions');
    }
  }
  return undefined;
}

/** Whether the server lets a client send LOAD DATA LOCAL INFILE (MariaDB: on by default; MySQL 8: off). */
async function localInfileAllowed(conn: MysqlConn): Promise<boolean> {
  const rows = await conn.query<{ v: unknown }[]>('SELECT @@local_infile AS v', 'checking local_infile');
  return Number(rows[0]?.v) === 1;
}

/**
 * Writes the transactions (a generator is consumed lazily); returns the number of rows written.
 * On an error the open transaction is rolled back and the error thrown.
 */
export async function writeTxns(conn: MysqlConn, txns: Iterable<ChangeTxn>, opts: MysqlWriteOptions = {}): Promise<number> {
  return opts.fast ? writeFast(conn, txns, opts) : writeExact(conn, txns, opts);
}

/** SET TIMESTAMP only when the second changes: the session keeps it. */
function stamper(): (ms: number) => string {
  let stamped = -1;
  return (ms) => {
    const sec = Math.floor(ms / 1000);
    if (sec === stamped) return '';
    stamped = sec;
    return `SET TIMESTAMP=${sec};`;
  };
}

async function writeExact(conn: MysqlConn, txns: Iterable<ChangeTxn>, opts: MysqlWriteOptions): Promise<number> {
  let buf = '';
  let bufRows = 0;
  let total = 0;
  let inflight: Promise<void> | undefined;
  const stamp = stamper();

  const send = async (): Promise<void> => {
    if (buf === '') return;
    const sql = buf;
    const rows = bufRows;
    buf = '';
    bufRows = 0;
    // Let the server run this batch while the caller generates the next one; one query in flight at a time.
    if (inflight) await inflight;
    inflight = conn.query(sql, 'writing mock transactions').then(() => {
      total += rows;
      opts.onRows?.(rows);
    });
  };

  try {
    for (const txn of txns) {
      buf += stamp(txn.ts) + txnSql(txn.changes);
      bufRows += txn.changes.length;
      if (buf.length >= FLUSH_BYTES) await send();
    }
    await send();
    if (inflight) await inflight;
    inflight = undefined;
  } catch (e) {
    if (inflight) await inflight.catch(() => {});
    await conn.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await conn.query('SET TIMESTAMP=DEFAULT').catch(() => {});
  }
  return total;
}

/** A group built and waiting for the lanes: each lane's part, its rows, the mock time it is stamped with. */
export interface BuiltGroup {
  parts: Work[];
  rows: number;
  ts: number;
}

/** The LOAD DATA text of a group: what a worker thread hands over (transfers) instead of copying. */
export function groupBuffers(g: BuiltGroup): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const w of g.parts) for (const f of w.files.values()) out.add(f.buffer as ArrayBuffer);
  return [...out];
}

/**
 * Cuts the transactions into fast mode's groups and builds each group's statements. The groups start small
 * and double up to `batchRows`: the server gets its first group after a moment of generating instead of a
 * whole batch's worth. Told that the server is idle, the builder seals a smaller group at once (see add): the
 * server then never waits for a group to fill while the client has rows for it.
 */
export class GroupBuilder {
  private group: RowChange[] = [];
  private ts = 0;
  private groupRows: number;

  constructor(
    private readonly batchRows: number,
    private readonly infile: boolean,
    private readonly lanes: number,
  ) {
    this.groupRows = Math.min(batchRows, FIRST_GROUP_ROWS);
  }

  /**
   * Adds a transaction; returns the group it completes, if it does. `serverIdle`: the server has no group to
   * write, so the group is sealed now if it has IDLE_GROUP_ROWS, instead of the server waiting for it to fill.
   */
  add(txn: ChangeTxn, serverIdle = false): BuiltGroup | undefined {
    for (const c of txn.changes) this.group.push(c);
    this.ts = txn.ts;
    if (this.group.length >= this.groupRows) {
      this.groupRows = Math.min(this.batchRows, this.groupRows * 2);
      return this.seal();
    }
    return serverIdle && this.group.length >= IDLE_GROUP_ROWS ? this.seal() : undefined;
  }

  /** The last group, when there is one. */
  end(): BuiltGroup | undefined {
    return this.group.length > 0 ? this.seal() : undefined;
  }

  private seal(): BuiltGroup {
    const g = { parts: shareOut(groupWork(this.group, this.infile), this.lanes), rows: this.group.length, ts: this.ts };
    this.group = [];
    return g;
  }
}

/**
 * Fills the writer's queue: `put` queues a built group and resolves when there is room for the next one (it
 * throws once the writer has failed); `sending` tells whether the server is working on a group.
 */
export type GroupProducer = (put: (g: BuiltGroup) => Promise<void>, sending: () => boolean) => Promise<void>;

/** Fast mode's settings the group builder needs, decided before the first group. */
export async function fastSettings(conn: MysqlConn, opts: MysqlWriteOptions): Promise<{ batchRows: number; infile: boolean; lanes: number }> {
  return { batchRows: opts.batchRows ?? 10_000, infile: opts.infile ?? (await localInfileAllowed(conn)), lanes: 1 + (opts.moreConnections?.length ?? 0) };
}

/**
 * Groups built here, on the writer's thread: every YIELD_MS of generating the event loop answers the server
 * (a LOAD DATA asks for its text in the middle of a query) and starts the next group.
 */
async function writeFast(conn: MysqlConn, txns: Iterable<ChangeTxn>, opts: MysqlWriteOptions): Promise<number> {
  const s = await fastSettings(conn, opts);
  return writeGroups(conn, opts, async (put, sending) => {
    const builder = new GroupBuilder(s.batchRows, s.infile, s.lanes);
    let n = 0;
    let lastYield = performance.now();
    for (const txn of txns) {
      if ((++n & 15) === 0 && sending() && performance.now() - lastYield >= YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
      const g = builder.add(txn, !sending());
      if (g) await put(g);
    }
    const last = builder.end();
    if (last) await put(last);
  });
}

/**
 * One group per query on each connection, its COMMIT deferred to the start of the connection's next query:
 * the LOAD results are checked first, and a group that did not load cleanly is rolled back on every
 * connection. With several connections (`lanes`) each table's part of a group goes to one of them and they
 * run side by side; the next group starts when all are done, so every table's changes stay in order.
 *
 * The producer keeps building while the server works: built groups wait in a queue (up to MAX_QUEUED_GROUPS),
 * so it runs at its own pace instead of one group ahead, and once it is done the server has both cores of a
 * small machine to itself. The producer's groups must have one part per connection.
 */
export async function writeGroups(conn: MysqlConn, opts: MysqlWriteOptions, produce: GroupProducer): Promise<number> {
  /** `open`: the lane's transaction holds the last group's changes, not committed yet. */
  const lanes = [conn, ...(opts.moreConnections ?? [])].map((c) => ({ conn: c, stamp: stamper(), open: false }));
  let total = 0;
  /** Rows of the last group, committed once every lane has committed its part. */
  let uncommitted = 0;
  let failure: { error: unknown } | undefined;
  const queue: BuiltGroup[] = [];
  /** Runs the queued groups one after another while there are some; undefined when idle. */
  let sender: Promise<void> | undefined;
  /** Called when a group is done (or the sender failed): the producer may be waiting for room in the queue. */
  let room: (() => void) | undefined;

  const committed = (): void => {
    const rows = uncommitted;
    uncommitted = 0;
    total += rows;
    if (rows > 0) opts.onRows?.(rows);
  };

  /** One lane's part of a group: COMMIT of its previous part first, then its statements; the LOADs checked. */
  const run = async (lane: (typeof lanes)[number], w: Work, ts: number): Promise<void> => {
    const commit = lane.open ? 'COMMIT;' : '';
    lane.open = false;
    if (w.statements.length === 0) {
      if (commit) await lane.conn.query(commit, 'writing mock transactions');
      return;
    }
    const setTs = lane.stamp(ts);
    const head = [...(commit ? [commit] : []), ...(setTs ? [setTs] : []), 'BEGIN;'];
    const results = await lane.conn.query(head.join('') + w.statements.join(''), 'writing mock transactions', w.files.size > 0 ? (w.files as LocalFiles) : undefined);
    lane.open = true;
    const problem = loadProblem(lane.conn, results, head.length, w.checks);
    if (problem) throw problem;
  };

  /** Errors are kept, not thrown here: the producer (through put) and the end throw them. */
  const send = async (): Promise<void> => {
    try {
      for (let g = queue.shift(); g !== undefined && !failure; g = queue.shift()) {
        if (g.parts.length !== lanes.length) throw new RangeError(`a group of ${g.parts.length} parts for ${lanes.length} connections`);
        const done = await Promise.allSettled(lanes.map((lane, i) => run(lane, g!.parts[i]!, g!.ts)));
        // the previous group: every lane committed its part first
        committed();
        const bad = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
        if (bad) failure = { error: bad.reason };
        else uncommitted = g.rows;
        room?.();
      }
    } catch (e) {
      failure ??= { error: e };
    } finally {
      sender = undefined;
      room?.();
    }
  };

  const put = async (g: BuiltGroup): Promise<void> => {
    if (failure) throw failure.error;
    queue.push(g);
    sender ??= send();
    while (queue.length >= MAX_QUEUED_GROUPS && !failure) await new Promise<void>((r) => (room = r));
    room = undefined;
    if (failure) throw (failure as { error: unknown }).error;
  };

  try {
    await produce(put, () => sender !== undefined);
    while (sender) await sender;
    if (failure) throw failure.error;
    await Promise.all(lanes.filter((l) => l.open).map((l) => l.conn.query('COMMIT', 'writing mock transactions').then(() => (l.open = false))));
    committed();
  } catch (e) {
    queue.length = 0;
    while (sender) await sender;
    await Promise.all(lanes.map((l) => l.conn.query('ROLLBACK').catch(() => {})));
    throw failure?.error ?? e;
  } finally {
    await Promise.all(lanes.map((l) => l.conn.query('SET TIMESTAMP=DEFAULT').catch(() => {})));
  }
  return total;
}

/** Drops the gmall tables (only ours) and creates them again, empty. */
export async function createSchema(conn: MysqlConn): Promise<void> {
  const drops = `DROP VIEW IF EXISTS base_category_view;DROP TABLE IF EXISTS ${TABLES.map((t) => quoteIdent(t.name)).join(',')};`;
  await conn.query(`SET FOREIGN_KEY_CHECKS=0;${drops}${schemaSql().join(';')};SET FOREIGN_KEY_CHECKS=1;`, 'creating the gmall schema');
}

/** Tables whose `id` is a number given out by AUTO_INCREMENT (and by the generator). */
const COUNTED = TABLES.filter((t) => t.primaryKey.length === 1 && t.primaryKey[0] === 'id' && /^(big)?int\b/.test(tableDef(t.name).columns[0]!.sql));

/** What day a state is read for (see loadStateFromMysql). */
export interface StateDay {
  seed: number;
  date: string;
  options: MockDbOptions;
}

/** User rows read with LIGHT_USER_COLUMNS only: wholeUsers reads the rest of those the next day changes. */
const lightRows = new WeakSet<Row>();

/**
 * The state the next day starts from, read from the database: MAX(id) of every table and all users. With a
 * second connection (`other`) the two queries run side by side. Given the `day` the state is for, the users are
 * read with the columns the day needs of most of them only (id, nick_name: reading and decoding every column of
 * every user was most of the time, ~40 ms of a 0.28 s day at --scale 10), then the whole rows of the users the
 * day changes (wholeUsers); the day's output is the same either way.
 */
export async function loadStateFromMysql(conn: MysqlConn, other?: MysqlConn, day?: StateDay): Promise<MockState> {
  const maxQuery = (other ?? conn).query<{ t: string; m: number | string }[]>(
    COUNTED.map((t) => `SELECT '${t.name}' AS t, COALESCE(MAX(id), 0) AS m FROM ${quoteIdent(t.name)}`).join(' UNION ALL '),
  );
  const usersSql = `SELECT ${day ? LIGHT_USER_COLUMNS.map(quoteIdent).join(', ') : '*'} FROM user_info ORDER BY id`;
  // (the users query waits for it on one connection; on two, an error is thrown where it is awaited, below)
  const usersQuery = other ? conn.query<Row[]>(usersSql, 'reading user_info') : undefined;
  usersQuery?.catch(() => {});
  let maxes: { t: string; m: number | string }[];
  try {
    maxes = await maxQuery;
  } catch (e) {
    const code = e instanceof RtwhError && typeof e.cause === 'object' && e.cause !== null ? (e.cause as { code?: unknown }).code : undefined;
    if (code !== 'ER_NO_SUCH_TABLE') throw e;
    throw rtwhError('MYSQL_ERROR', `${conn.database ?? 'the database'} on ${conn.target.host}:${conn.target.port} has no gmall tables yet (${(e as RtwhError).message.replace(/^.*?: /, '')})`, {
      hint: 'Run once with --init: it creates the tables and loads the base data.',
    });
  }
  const lastIds: Record<string, number> = {};
  for (const { t, m } of maxes) if (Number(m) > 0) lastIds[t] = Number(m);
  const users = await (usersQuery ?? conn.query<Row[]>(usersSql, 'reading user_info'));
  if (!day) return { lastIds, xid: 0, users };
  for (const u of users) lightRows.add(u);
  return wholeUsers(conn, { lastIds, xid: 0, users }, day);
}

/** The state with the whole rows (read from the database) of the light users the day changes; the state itself when there are none. */
export async function wholeUsers(conn: MysqlConn, state: MockState, day: StateDay): Promise<MockState> {
  const wanted = userUpdateIndexes(day.seed, day.date, state.users.length, day.options).filter((i) => lightRows.has(state.users[i]!));
  if (wanted.length === 0) return state;
  const ids = wanted.map((i) => Number(state.users[i]!.id));
  const rows = await conn.query<Row[]>(`SELECT * FROM user_info WHERE id IN (${ids.join(',')})`, 'reading user_info');
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const users = state.users.slice();
  for (const i of wanted) {
    const whole = byId.get(Number(users[i]!.id));
    if (!whole) throw rtwhError('MYSQL_ERROR', `user_info row ${users[i]!.id} was deleted while the mock day was being generated`);
    users[i] = whole;
  }
  return { ...state, users };
}
