/**
 * `rtwh query --sink mysql://…`: the answers over the DWS tables that `rtwh run dws --sink mysql://…` loaded into
 * MySQL/MariaDB.
 *
 * - A preset: the ADS SQL is DuckDB's, so the rows of the preset's tables for that day are read from MySQL into an
 *   in-memory DuckDB with the same DDL as the embedded warehouse (values checked against the column types), and
 *   the preset runs there: the same SQL, the same types, the same output as over the DuckDB warehouse.
 * - SQL: runs on the server, in MySQL's dialect, inside `START TRANSACTION READ ONLY` … `ROLLBACK` unless
 *   --allow-write; anything but a plain read is refused before it is sent (src/store/duckdb.ts `nonRead`: DuckDB's
 *   parse tree, as the tables are not in DuckDB), since DDL would commit a read-only transaction implicitly and a
 *   SET (GLOBAL) outlives it. SQL that DuckDB's parser cannot read is refused too, saying so.
 *   Results are typed from the server's column metadata: BIGINT as bigint, DECIMAL exact, dates as text.
 */
import { q, RtwhError, rtwhError } from '../errors';
import { ExactDecimal, type Cell, type QueryResult } from '../output/result';
import { nonRead, openDuckDB } from '../store/duckdb';
import { connectMysql, mysqlError, parseMysqlUrl, type MysqlConn } from '../store/mysql';
import { literal } from '../dws/sink';
import { duckdbDdl, dwsTable } from '../dws/tables';
import { ident } from '../dws/ddl';
import type { BoundPreset } from './presets';
import { runPreset, writeRefused } from './run';

/** Rows per INSERT into the in-memory DuckDB. */
const CHUNK = 1000;

async function connect(url: string): Promise<MysqlConn> {
  const t = parseMysqlUrl(url);
  if (t.database === undefined) throw rtwhError('DWS_SINK_URL', `--sink ${t.display} names no database: expected mysql://user:pass@host:port/DATABASE (the one \`rtwh run dws --sink\` loaded)`);
  return connectMysql(t);
}

/** The preset's answer over the DWS tables in MySQL (see above). */
export async function presetFromMysql(url: string, bound: BoundPreset): Promise<QueryResult> {
  const conn = await connect(url);
  const display = conn.target.display;
  const db = await openDuckDB(':memory:');
  try {
    const names = bound.preset.tables;
    const present = await conn.query<{ name: string }[]>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (${names.map((n) => `'${n}'`).join(', ')})`,
      'listing the DWS tables',
    );
    const have = new Set(present.map((r) => r.name));
    // Only the tables that exist are copied; runPreset then names the missing ones.
    for (const name of names) {
      if (!have.has(name)) continue;
      const t = dwsTable(name)!;
      await db.query(duckdbDdl(t));
      const rows = await conn.query<Record<string, unknown>[]>(
        `SELECT ${t.columns.map((c) => `CAST(${ident(c.name)} AS CHAR) AS ${ident(c.name)}`).join(', ')} FROM ${ident(name)} WHERE ${ident('cur_date')} = '${bound.date}'`,
        `reading ${name}`,
      );
      for (let i = 0; i < rows.length; i += CHUNK) {
        const values = rows.slice(i, i + CHUNK).map((r) => `(${t.columns.map((c) => literal(c, r[c.name] === null || r[c.name] === undefined ? null : String(r[c.name]))).join(', ')})`);
        await db.query(`INSERT INTO ${name} VALUES ${values.join(', ')}`);
      }
    }
    return await runPreset(db, bound, `the MySQL database ${q(display)}`);
  } finally {
    db.close();
    await conn.close();
  }
}

/** mysql2 column type codes → the SQL type name shown in the header. */
const TYPES: Record<number, string> = {
  0: 'DECIMAL', 1: 'TINYINT', 2: 'SMALLINT', 3: 'INTEGER', 4: 'FLOAT', 5: 'DOUBLE', 6: 'NULL', 7: 'TIMESTAMP', 8: 'BIGINT', 9: 'MEDIUMINT',
  10: 'DATE', 11: 'TIME', 12: 'DATETIME', 13: 'YEAR', 15: 'VARCHAR', 16: 'BIT', 245: 'JSON', 246: 'DECIMAL', 252: 'BLOB', 253: 'VARCHAR', 254: 'CHAR',
};

interface Field {
  name: string;
  columnType?: number;
  type?: number;
}

function cell(v: unknown, type: string): Cell {
  if (v === null || v === undefined) return null;
  if (type === 'DECIMAL') return new ExactDecimal(String(v));
  if (type === 'BIGINT') return typeof v === 'string' ? BigInt(v) : typeof v === 'number' ? BigInt(v) : String(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** SQL on the MySQL server; read-only unless allowWrite (see above). */
export async function queryMysql(url: string, sql: string, opts: { allowWrite: boolean }): Promise<QueryResult> {
  if (!opts.allowWrite) {
    const found = await nonRead(sql).catch((e: unknown) => {
      // only DuckDB failing to parse the statement is a refusal; DuckDB not loading or opening is its own error
      if (!(e instanceof RtwhError && e.code === 'QUERY_FAILED')) throw e;
      return { kind: 'UNKNOWN', statement: sql, reason: `DuckDB's parser, which checks that it only reads, does not read it: ${e.message.split('\n')[0]}` };
    });
    if (found) throw writeRefused(found);
  }
  const t = parseMysqlUrl(url);
  if (t.database === undefined) throw rtwhError('DWS_SINK_URL', `--sink ${t.display} names no database: expected mysql://user:pass@host:port/DATABASE`);
  // mysql2 directly: the column metadata (types) is needed, which src/store/mysql.ts does not return.
  const mysql = await import('mysql2/promise');
  let conn: Awaited<ReturnType<typeof mysql.createConnection>>;
  try {
    conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, charset: 'UTF8MB4_GENERAL_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, connectTimeout: 5000 });
  } catch (e) {
    throw mysqlError(e, t, 'connecting');
  }
  conn.on('error', () => {});
  try {
    if (!opts.allowWrite) await conn.query('START TRANSACTION READ ONLY');
    try {
      let rows: unknown;
      let fields: Field[] | undefined;
      try {
        [rows, fields] = (await conn.query({ sql, rowsAsArray: true })) as unknown as [unknown, Field[] | undefined];
      } catch (e) {
        throw rtwhError('QUERY_FAILED', mysqlError(e, t).message, { cause: e });
      }
      if (!Array.isArray(rows) || !fields) return { columns: [{ name: 'affected_rows', type: 'BIGINT' }], rows: [[BigInt((rows as { affectedRows?: number }).affectedRows ?? 0)]] };
      const types = fields.map((f) => TYPES[f.columnType ?? f.type ?? 253] ?? 'VARCHAR');
      return {
        columns: fields.map((f, i) => ({ name: f.name, type: types[i]! })),
        rows: (rows as unknown[][]).map((r) => fields!.map((_f, i) => cell(r[i], types[i]!))),
      };
    } finally {
      if (!opts.allowWrite) await conn.query('ROLLBACK').catch(() => undefined);
    }
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}
