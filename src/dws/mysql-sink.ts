/**
 * The MySQL-protocol sink of the summary layer (`rtwh run dws --sink mysql://user:pass@host:port/db`): the same
 * loop as the DuckDB sink (sink.ts runSink), into MySQL or MariaDB (InnoDB):
 *
 *   START TRANSACTION ─► per table: REPLACE INTO t (columns…, rtwh_key) VALUES … (rtwh_key = SHA-256 of the
 *     row identity, the primary key: a replay replaces its own rows) ─► REPLACE INTO rtwh_sink_offsets the next
 *     offset of every input partition ─► COMMIT
 *
 * Reading resumes from rtwh_sink_offsets in the same database, so kill -9 at any point neither loses nor doubles
 * a row. The database of the URL is created when missing. Values are checked against the column types (the same
 * rules as the DuckDB sink) and written as SQL literals; identifiers come from tables.ts and are validated.
 * The password never appears in a message (src/store/mysql.ts masks it).
 *
 * Doris and StarRocks speak this protocol too, but this sink is exercised against MariaDB only: for them rtwh
 * prints the aggregate-key DDL (ddl.ts, `--dialect doris --print-ddl`) and does not load.
 */
import { createHash } from 'node:crypto';
import { rtwhError } from '../errors';
import { connectMysql, parseMysqlUrl, sqlLiteral, type MysqlConn, writerSqlMode } from '../store/mysql';
import { ident, KEY_COLUMN, MYSQL_OFFSETS_DDL, MYSQL_OFFSETS_TABLE, mysqlDdl } from './ddl';
import { identity, literal, type SinkTarget, type TextRow } from './sink';
import { offsetKey } from '../stream/state-store';
import type { DwsColumn, DwsTable } from './tables';

/** Rows per REPLACE statement (well under max_allowed_packet). */
const ROWS_PER_STATEMENT = 500;

/** A value as a MySQL literal, checked against the column type (RangeError naming the column otherwise). */
function mysqlValue(c: DwsColumn, v: string | null | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  literal(c, v); // the DuckDB sink's checks: throws a RangeError naming the column when v does not fit
  switch (c.type) {
    case 'BIGINT':
    case 'DECIMAL(16,2)':
      return v;
    default:
      return sqlLiteral(v);
  }
}

export function rowKey(table: DwsTable, r: TextRow): string {
  return createHash('sha256').update(identity(table, r)).digest('hex');
}

/** The REPLACE statements of a table's rows. */
export function replaceStatements(table: DwsTable, rows: readonly TextRow[]): string[] {
  const head = `REPLACE INTO ${ident(table.name)} (${[...table.columns.map((c) => ident(c.name)), ident(KEY_COLUMN)].join(', ')}) VALUES `;
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values: string[] = [];
    for (const r of rows.slice(i, i + ROWS_PER_STATEMENT)) {
      let t: string;
      try {
        t = table.columns.map((c) => mysqlValue(c, r[c.name])).join(', ');
      } catch (e) {
        throw rtwhError('JOB_FAILED', `dws sink: a row of ${table.name} does not fit the table: ${(e as Error).message}`, { cause: e });
      }
      values.push(`(${t}, '${rowKey(table, r)}')`);
    }
    out.push(head + values.join(', '));
  }
  return out;
}

/** The sink's session: the sql_mode its values need (writerSqlMode, whatever the server's), times in UTC. */
export async function prepareSession(conn: MysqlConn): Promise<void> {
  const [s] = await conn.query<{ m: string }[]>('SELECT @@SESSION.sql_mode AS m', 'reading the sql_mode');
  await conn.query(`SET SESSION sql_mode = ${sqlLiteral(writerSqlMode(s?.m ?? ''))}, SESSION time_zone = '+00:00'`, 'setting the session');
}

/** Opens the MySQL-protocol sink target of `url` (its database is created when missing). */
export async function openMysqlSink(url: string): Promise<SinkTarget> {
  const target = parseMysqlUrl(url);
  if (target.database === undefined) throw rtwhError('DWS_SINK_URL', `--sink ${target.display} names no database: expected mysql://user:pass@host:port/DATABASE`);
  const db = target.database;
  let conn: MysqlConn | undefined = await connectMysql(target, { database: null });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${ident(db)} DEFAULT CHARACTER SET utf8mb4`, `creating database ${db}`);
    await conn.close();
    conn = undefined;
    conn = await connectMysql(target);
    await prepareSession(conn);
  } catch (e) {
    await conn?.close();
    throw e;
  }
  const c = conn;
  return {
    display: target.display,
    async ensureTables(tables) {
      for (const t of tables) await c.query(mysqlDdl(t), `creating ${t.name}`);
      await c.query(MYSQL_OFFSETS_DDL, `creating ${MYSQL_OFFSETS_TABLE}`);
    },
    async loadOffsets() {
      const rows = await c.query<{ topic: string; part: number; next_offset: number | string }[]>(`SELECT topic, part, next_offset FROM ${ident(MYSQL_OFFSETS_TABLE)}`, 'reading the sink offsets');
      return new Map(rows.map((r) => [offsetKey(r.topic, Number(r.part)), Number(r.next_offset)]));
    },
    async commit(rows, offsets) {
      // Built before the transaction: a row that does not fit fails the batch with nothing sent.
      const stmts: string[] = [];
      for (const [table, list] of rows) stmts.push(...replaceStatements(table, list));
      stmts.push(`REPLACE INTO ${ident(MYSQL_OFFSETS_TABLE)} (topic, part, next_offset) VALUES ${offsets.map((o) => `(${sqlLiteral(o.topic)}, ${o.partition}, ${o.next})`).join(', ')}`);
      await c.query('START TRANSACTION');
      try {
        for (const s of stmts) await c.query(s, 'loading a batch');
        await c.query('COMMIT', 'committing a batch');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    },
    close: () => c.close(),
  };
}
