/**
 * The real MariaDB of scripts/stack.sh for integration tests. Unreachable = a failing test that says how to
 * start it; these tests never skip.
 */
import { connectMysql, parseMysqlUrl, type MysqlConn } from '../../../src/store/mysql';

export const TEST_MYSQL = process.env.RTWH_TEST_MYSQL ?? 'mysql://root:rtwh-root@127.0.0.1:3307/gmall';

/** The test server's URL with another database (unique per test run, dropped by the test). */
export function urlFor(database: string): string {
  const u = new URL(TEST_MYSQL);
  u.pathname = `/${database}`;
  return u.toString();
}

export function uniqueDb(prefix = 'gmall_t'): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A connection without a default database, or a clear failure naming the fix. */
export async function adminConn(): Promise<MysqlConn> {
  try {
    return await connectMysql(TEST_MYSQL, { database: null, multipleStatements: true });
  } catch (e) {
    const t = parseMysqlUrl(TEST_MYSQL);
    throw new Error(
      `MariaDB for the tests is not reachable at ${t.host}:${t.port} (${e instanceof Error ? e.message : String(e)}). ` +
        'Start it with `bash scripts/stack.sh up` and load `source .stack/env` (RTWH_TEST_MYSQL).',
    );
  }
}

export async function dropDb(conn: MysqlConn, db: string): Promise<void> {
  await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
}
