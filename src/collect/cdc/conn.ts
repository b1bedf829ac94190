/**
 * The control connection of cdc: schema queries, positions, bootstrap requests, binlog status. It speaks to the
 * server the way the binlog reader decodes (UTC session, dates and decimals as text, JSON as text) so a snapshot
 * row and a binlog row of the same data come out identical. A dropped connection is reopened on the next query:
 * MariaDB may restart under a running cdc.
 */
import type { Connection, ConnectionOptions } from 'mysql2';
import type { Connection as PromiseConnection } from 'mysql2/promise';
import { mysqlError, type MysqlTarget } from '../../store/mysql';

export interface CdcConn {
  readonly target: MysqlTarget;
  /** Runs SQL with `?` placeholders; rows come back as objects in column order. */
  query<T = Record<string, unknown>[]>(sql: string, params?: readonly unknown[], doing?: string): Promise<T>;
  /** Streams a SELECT's rows without holding the result in memory (bootstrap of big tables). */
  stream(sql: string, params: readonly unknown[], onRow: (row: Record<string, unknown>) => void | Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** mysql2 options shared by the control connection and the binlog reader (zongji reads the same ones). */
export function driverOptions(target: MysqlTarget, database?: string): ConnectionOptions {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(database !== undefined ? { database } : {}),
    charset: 'UTF8MB4_GENERAL_CI',
    dateStrings: true,
    // TIMESTAMP values as UTC text: Maxwell writes them in UTC.
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    jsonStrings: true,
    connectTimeout: 5000,
  };
}

type Mysql2 = typeof import('mysql2/promise');
type Mysql2Cb = typeof import('mysql2');
let promiseDriver: Promise<Mysql2> | undefined;
let callbackDriver: Promise<Mysql2Cb> | undefined;

export interface CdcConnOptions {
  /**
   * Keep this connection's writes (positions, bootstrap progress) out of the binlog, so cdc never reads its own
   * bookkeeping back. Needs the BINLOG ADMIN (or SUPER) privilege; without it writes are logged and cdc skips them.
   */
  noBinlog?: boolean;
  /** Runs on every connection opened after the first (the server restarted): session state must be rebuilt. */
  onReconnect?: (query: (sql: string, params?: unknown[]) => Promise<unknown>) => Promise<void>;
}

export async function openCdcConn(target: MysqlTarget, opts: CdcConnOptions = {}): Promise<CdcConn> {
  promiseDriver ??= import('mysql2/promise');
  callbackDriver ??= import('mysql2');
  const mysql = await promiseDriver;
  let conn: PromiseConnection | undefined;
  let closed = false;
  let opened = 0;

  const connect = async (): Promise<PromiseConnection> => {
    if (conn) return conn;
    try {
      const c = await mysql.createConnection(driverOptions(target));
      // A dropped connection emits 'error' outside any query; without a listener that would crash the process.
      c.on('error', () => {
        if (conn === c) conn = undefined;
      });
      await c.query("SET SESSION time_zone = '+00:00'");
      if (opts.noBinlog) await c.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
      if (opened++ > 0 && opts.onReconnect) await opts.onReconnect(async (sql, params) => (await c.query(sql, params))[0]);
      conn = c;
      return c;
    } catch (e) {
      throw mysqlError(e, target, 'connecting');
    }
  };

  const lost = (e: unknown): boolean => {
    const code = (e as { code?: string }).code;
    return code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ER_SERVER_SHUTDOWN' ||
      /closed state|Connection lost/i.test((e as Error).message ?? '');
  };

  return {
    target,
    async query<T>(sql: string, params?: readonly unknown[], doing?: string): Promise<T> {
      if (closed) throw mysqlError(new Error('connection closed'), target, doing);
      for (let attempt = 0; ; attempt++) {
        const c = await connect();
        try {
          const [rows] = await c.query(sql, params as unknown[] | undefined);
          return rows as T;
        } catch (e) {
          if (lost(e)) {
            conn = undefined;
            try {
              c.destroy();
            } catch {
              // already gone
            }
            // One fresh connection per query: a server that is really down fails the second attempt.
            if (attempt === 0) continue;
          }
          throw mysqlError(e, target, doing);
        }
      }
    },
    async stream(sql, params, onRow) {
      const cb = await callbackDriver!;
      const c: Connection = cb.createConnection(driverOptions(target));
      c.on('error', () => {});
      try {
        await new Promise<void>((resolve, reject) => c.query("SET SESSION time_zone = '+00:00'", (e) => (e ? reject(e) : resolve())));
        await new Promise<void>((resolve, reject) => {
          const q = c.query(sql, params as unknown[]);
          let pending: Promise<void> | undefined;
          let failed: unknown;
          q.on('result', (row) => {
            const r = onRow(row as Record<string, unknown>);
            if (r instanceof Promise) {
              // The consumer applies back-pressure: stop reading the socket until it is done with this row.
              c.pause();
              pending = r.then(
                () => c.resume(),
                (e: unknown) => {
                  failed = e;
                  c.destroy();
                  reject(e);
                },
              );
            }
          });
          q.on('error', (e) => reject(failed ?? e));
          q.on('end', () => {
            if (pending) pending.then(() => resolve(), reject);
            else resolve();
          });
        });
      } catch (e) {
        throw mysqlError(e, target, 'reading the table for bootstrap');
      } finally {
        try {
          c.end();
        } catch {
          c.destroy();
        }
      }
    },
    async close() {
      closed = true;
      const c = conn;
      conn = undefined;
      if (!c) return;
      try {
        await c.end();
      } catch {
        c.destroy();
      }
    },
  };
}
