/**
 * MySQL-protocol connections (MySQL, MariaDB; later Doris and StarRocks) from a `mysql://user:pass@host:port/db`
 * URL, through mysql2. Errors say which server (host:port) and what went wrong, and never carry the password.
 *
 * Values come back the way MySQL prints them, as the change events carry them: DATETIME/DATE as text
 * (dateStrings), DECIMAL as text, integers as numbers (strings beyond 2^53).
 *
 * mysql2 is imported on the first connect: commands that never talk to MySQL do not load it.
 */
import type { Connection } from 'mysql2/promise';
import { checkMysqlUrl } from '../config/schema.ts';
import { maskSecrets, maskUrl } from '../config/mask.ts';
import { q, RtwhError, rtwhError } from '../errors.ts';
import { ExactDecimal, type ChangeValue } from '../formats/change.ts';

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** From the URL path; undefined when the URL names none. */
  database: string | undefined;
  /** The URL with the password masked, for messages. */
  display: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Identifiers that come from URLs, flags or data are checked before they are spliced into SQL. */
export function checkIdentifier(name: string, what = 'name'): string {
  if (!NAME_RE.test(name)) throw rtwhError('INVALID_NAME', `invalid ${what} ${q(name)}`);
  return name;
}

export function quoteIdent(name: string): string {
  return `\`${checkIdentifier(name)}\``;
}

export function parseMysqlUrl(url: string): MysqlTarget {
  const display = maskUrl(url);
  const problem = checkMysqlUrl(url);
  if (problem) throw rtwhError('CONFIG_VALUE', `invalid MySQL URL ${q(display)}: ${problem}`);
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db !== '') checkIdentifier(db, `database in ${display}`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    database: db === '' ? undefined : db,
    display,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST']);

interface DriverError {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
}

/** A driver error → an RtwhError naming the server, with any secret masked. */
export function mysqlError(e: unknown, target: Pick<MysqlTarget, 'host' | 'port' | 'user'>, doing = ''): RtwhError {
  if (e instanceof RtwhError) return e;
  const d = (typeof e === 'object' && e !== null ? e : {}) as DriverError;
  const where = `${target.host}:${target.port}`;
  const reason = maskSecrets(d.sqlMessage ?? d.message ?? String(e));
  const what = doing ? ` (${doing})` : '';
  if (d.code !== undefined && UNREACHABLE.has(d.code)) {
    return rtwhError('MYSQL_UNAVAILABLE', `cannot reach MySQL at ${where}${what}: ${d.code}${reason && !reason.includes(d.code) ? ` ${reason}` : ''}`, { cause: e });
  }
  if (d.code === 'ER_ACCESS_DENIED_ERROR' || d.errno === 1045) {
    return rtwhError('MYSQL_UNAVAILABLE', `MySQL at ${where} refused user ${q(target.user)}: access denied`, {
      cause: e,
      hint: 'Check the user and password in --mysql, RTWH_MYSQL or rtwh.toml (`rtwh config show` prints them masked).',
    });
  }
  if (d.code === 'ER_BAD_DB_ERROR' || d.errno === 1049) {
    return rtwhError('MYSQL_ERROR', `MySQL at ${where}: ${reason}`, { cause: e, hint: 'Create the business database first: `rtwh mock db --init --date YYYY-MM-DD`.' });
  }
  return rtwhError('MYSQL_ERROR', `MySQL at ${where}${what}: ${reason}`, { cause: e, details: d.code ? { code: d.code } : undefined });
}

export interface MysqlConnectOptions {
  /** Overrides the URL's database; null connects to none (to create it). */
  database?: string | null;
  /** Several statements in one query: how the mock writer pipelines transactions. */
  multipleStatements?: boolean;
  connectTimeoutMs?: number;
}

export interface MysqlConn {
  readonly target: MysqlTarget;
  /** The database the connection uses, if any. */
  readonly database: string | undefined;
  /** Runs SQL; rows come back as objects keyed by column, in column order. */
  query<T = Record<string, unknown>[]>(sql: string, doing?: string): Promise<T>;
  close(): Promise<void>;
}

type Mysql2 = typeof import('mysql2/promise');
let driver: Promise<Mysql2> | undefined;

export async function connectMysql(urlOrTarget: string | MysqlTarget, opts: MysqlConnectOptions = {}): Promise<MysqlConn> {
  const target = typeof urlOrTarget === 'string' ? parseMysqlUrl(urlOrTarget) : urlOrTarget;
  const database = opts.database === null ? undefined : (opts.database ?? target.database);
  if (database !== undefined) checkIdentifier(database, 'database');
  driver ??= import('mysql2/promise');
  const mysql = await driver;
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      ...(database !== undefined ? { database } : {}),
      charset: 'UTF8MB4_GENERAL_CI',
      dateStrings: true,
      supportBigNumbers: true,
      decimalNumbers: false,
      multipleStatements: opts.multipleStatements ?? false,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
    });
  } catch (e) {
    throw mysqlError(e, target, 'connecting');
  }
  // A dropped connection emits 'error' outside any query; without a listener that would crash the process.
  conn.on('error', () => {});
  return {
    target,
    database,
    async query<T>(sql: string, doing?: string): Promise<T> {
      try {
        const [rows] = await conn.query(sql);
        return rows as T;
      } catch (e) {
        throw mysqlError(e, target, doing);
      }
    },
    async close() {
      try {
        await conn.end();
      } catch {
        conn.destroy();
      }
    },
  };
}

/** A value as a SQL literal (for generated statements: faster than placeholders for multi-row batches). */
export function sqlLiteral(v: ChangeValue | boolean | undefined): string {
  if (typeof v === 'string') return stringLiteral(v);
  if (v === null || v === undefined) return 'NULL';
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`cannot write ${v} to MySQL`);
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? '1' : '0';
    default:
      if (v instanceof ExactDecimal) {
        if (!DECIMAL_RE.test(v.text)) throw new RangeError(`not a decimal: ${JSON.stringify(v.text)}`);
        return v.text;
      }
      throw new RangeError(`cannot write ${String(v)} to MySQL`);
  }
}

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/**
 * Generated rows repeat their strings (product names, status codes, the day's timestamps): quoting each
 * distinct short string once was measured to cut the SQL building time of a mock day by a third.
 */
const quotedCache = new Map<string, string>();
function stringLiteral(s: string): string {
  let q = quotedCache.get(s);
  if (q === undefined) {
    q = `'${escapeString(s)}'`;
    if (s.length <= 256) {
      if (quotedCache.size >= 100_000) quotedCache.clear();
      quotedCache.set(s, q);
    }
  }
  return q;
}

const ESCAPES: Record<string, string> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', "'": "\\'", '"': '\\"', '\\': '\\\\' };
// eslint-disable-next-line no-control-regex
const ESCAPE_ANY = /[\0\n\r\x1a'"\\]/;
// eslint-disable-next-line no-control-regex
const ESCAPE_ALL = /[\0\n\r\x1a'"\\]/g;

/** MySQL string escaping for the default sql_mode (backslash escapes on), as mysql2's escape does. */
export function escapeString(s: string): string {
  return ESCAPE_ANY.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s;
}
