/**
 * Full-table snapshots the Maxwell way. `rtwh cdc bootstrap db.table` inserts a request row into
 * `<schema db>.bootstrap`; the running cdc sees that insert in the binlog and carries it out right there, in
 * binlog order:
 *
 *   bootstrap-start (data {}) → one bootstrap-insert per row, ordered by primary key → bootstrap-complete (data {})
 *
 * (Debezium: one op "r" record per row, source.snapshot "true", "last" on the final row.) Reading the binlog
 * pauses meanwhile; changes made during the snapshot are read afterwards, so a consumer that applies records in
 * order ends with the table's current state. The request is marked complete only after the bus acknowledged every
 * snapshot record and the request's own transaction — a cdc killed mid-snapshot re-reads the request and starts
 * the snapshot again (at-least-once, like every other record).
 */
import { q, rtwhError } from '../../errors';
import type { ChangeEvent, Row } from '../../formats/change';
import { checkIdentifier, quoteIdent } from '../../store/mysql';
import type { CdcConn } from './conn';
import type { CdcEncoder } from './encode';
import type { CdcQueue } from './queue';
import type { SchemaCache } from './schema';
import { rowConverter } from './values';

export interface BootstrapRequest {
  id: number;
  database: string;
  table: string;
  where: string | null;
  clientId: string;
}

/** A request row as cdc decoded it from the binlog; null when it is not one for this client or is already done. */
export function bootstrapRequestOf(row: Row, clientId: string): BootstrapRequest | null {
  const id = Number(row.id);
  const database = row.database_name;
  const table = row.table_name;
  if (!Number.isSafeInteger(id) || typeof database !== 'string' || typeof table !== 'string') return null;
  if ((row.client_id ?? 'maxwell') !== clientId) return null;
  if (row.is_complete === 1) return null;
  const where = typeof row.where_clause === 'string' && row.where_clause.trim() !== '' ? row.where_clause : null;
  return { id, database, table, where, clientId };
}

export interface SnapshotContext {
  conn: CdcConn;
  schema: SchemaCache;
  schemaDb: string;
  encoder: CdcEncoder;
  queue: CdcQueue;
  /** Wall clock → record time (mock dates). */
  eventTime: (ms: number) => number;
  log?: (msg: string) => void;
  onRows?: (n: number) => void;
  /** cdc is stopping: the snapshot ends where it is (it is done again after the restart). */
  signal?: AbortSignal;
}

export interface SnapshotResult {
  rows: number;
  /** Run once the bus acknowledged the snapshot and the request: marks the request complete. */
  complete: () => Promise<void>;
}

/** Carries out one request: its records go into the queue (waiting for room when it is full). */
export async function runSnapshot(req: BootstrapRequest, ctx: SnapshotContext): Promise<SnapshotResult> {
  const db = ctx.schemaDb;
  const mark = (sql: string, params: unknown[]) => ctx.conn.query(`UPDATE \`${db}\`.\`bootstrap\` SET ${sql} WHERE id = ?`, [...params, req.id], 'updating a bootstrap request');
  const t = await ctx.schema.refreshTable(req.database, req.table);
  if (!t) {
    ctx.log?.(`bootstrap #${req.id}: table ${req.database}.${req.table} does not exist; marking the request complete`);
    await mark("is_complete = 1, completed_at = NOW(), comment = 'table not found'", []);
    return { rows: 0, complete: async () => {} };
  }
  checkIdentifier(req.database, 'database');
  checkIdentifier(req.table, 'table');
  const from = `${quoteIdent(req.database)}.${quoteIdent(req.table)}${req.where ? ` WHERE ${req.where}` : ''}`;
  const [count] = await ctx.conn.query<{ n: number | string }[]>(`SELECT COUNT(*) AS n FROM ${from}`, [], `counting ${req.database}.${req.table}`);
  await mark('started_at = NOW(), total_rows = ?, inserted_rows = 0', [Number(count?.n ?? 0)]);
  ctx.log?.(`bootstrap #${req.id}: ${req.database}.${req.table}${req.where ? ` where ${req.where}` : ''}, ${Number(count?.n ?? 0)} rows`);

  const base = { database: req.database, table: req.table, primaryKey: t.primaryKey, columns: t.columns };
  const now = () => ctx.eventTime(Date.now());
  const stopped = () => {
    if (ctx.signal?.aborted) throw new Error(`bootstrap #${req.id} interrupted by the stop; it runs again after the restart`);
  };
  const push = async (ev: ChangeEvent) => {
    stopped();
    const r = ctx.encoder.single(ev);
    if (!r) return;
    ctx.queue.push(r);
    if (ctx.queue.full) await ctx.queue.waitForRoom();
    stopped();
  };

  await push({ ...base, type: 'insert', bootstrap: 'start', ts: now(), data: {} });
  const convert = rowConverter(t.columns);
  const order = t.primaryKey.length > 0 ? ` ORDER BY ${t.primaryKey.map(quoteIdent).join(', ')}` : '';
  let rows = 0;
  // Debezium marks the final snapshot row "last": hold one row back until the next one (or the end) is seen.
  let held: ChangeEvent | undefined;
  const debezium = ctx.encoder.format === 'debezium';
  await ctx.conn.stream(`SELECT * FROM ${from}${order}`, [], async (raw) => {
    const ev: ChangeEvent = { ...base, type: 'insert', bootstrap: 'insert', ts: now(), data: convert(raw) };
    if (debezium) ev.source = { file: '', pos: 0, row: 0, serverId: 0, gtid: null, thread: null, snapshot: 'true' };
    if (held) await push(held);
    held = ev;
    rows++;
    ctx.onRows?.(1);
    if (rows % 10_000 === 0) await mark('inserted_rows = ?', [rows]);
  });
  if (held) {
    if (debezium && held.source) held.source.snapshot = 'last';
    await push(held);
  }
  await push({ ...base, type: 'insert', bootstrap: 'complete', ts: now(), data: {} });
  await mark('inserted_rows = ?', [rows]);
  return {
    rows,
    complete: async () => {
      await mark('is_complete = 1, completed_at = NOW(), inserted_rows = ?', [rows]);
      ctx.log?.(`bootstrap #${req.id}: ${req.database}.${req.table} complete, ${rows} rows`);
    },
  };
}

export interface EnqueueOptions {
  database: string;
  table: string;
  where?: string;
  clientId: string;
  schemaDb: string;
}

/** The CLI side: inserts the request (through the binlog, so the running cdc sees it) and returns its id. */
export async function enqueueBootstrap(conn: CdcConn, o: EnqueueOptions): Promise<number> {
  checkIdentifier(o.database, 'database');
  checkIdentifier(o.table, 'table');
  const exists = await conn.query<{ n: number }[]>(
    'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [o.database, o.table],
    'looking up the table',
  );
  if (Number(exists[0]?.n ?? 0) === 0) {
    throw rtwhError('USAGE', `table ${q(`${o.database}.${o.table}`)} does not exist on ${conn.target.display}`, {
      hint: 'Name it as database.table, e.g. gmall.base_province.',
    });
  }
  const r = await conn.query<{ insertId: number }>(
    `INSERT INTO \`${o.schemaDb}\`.\`bootstrap\` (database_name, table_name, where_clause, client_id, created_at) VALUES (?, ?, ?, ?, NOW())`,
    [o.database, o.table, o.where ?? null, o.clientId],
    'queueing the bootstrap request',
  );
  return r.insertId;
}

export interface BootstrapProgress {
  isComplete: boolean;
  insertedRows: number;
  totalRows: number;
  started: boolean;
  comment: string | null;
}

export async function bootstrapProgress(conn: CdcConn, schemaDb: string, id: number): Promise<BootstrapProgress | undefined> {
  const rows = await conn.query<{ is_complete: number; inserted_rows: number | string; total_rows: number | string; started_at: string | null; comment: string | null }[]>(
    `SELECT is_complete, inserted_rows, total_rows, started_at, comment FROM \`${schemaDb}\`.\`bootstrap\` WHERE id = ?`,
    [id],
    'reading bootstrap progress',
  );
  const r = rows[0];
  if (!r) return undefined;
  return { isComplete: r.is_complete === 1, insertedRows: Number(r.inserted_rows), totalRows: Number(r.total_rows), started: r.started_at !== null, comment: r.comment };
}
