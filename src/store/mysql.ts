/**
 * MySQL-protocol connections (MySQL, MariaDB; later Doris and StarRocks) from a `mysql://user:pass@host:port/db`
 * URL, through mysql2. Errors say which server (host:port) and what went wrong, and never carry the password.
 *
 * Values come back the way MySQL prints them, as the change events carry them: DATETIME/DATE as text
 * (dateStrings), DECIMAL as text, integers as numbers (strings beyond 2^53).
 *
 * mysql2 is imported on the first connect: commands that never talk to MySQL do not load it.
 */
import { Readable } from 'node:stream';
import type { Connection } from 'mysql2/promise';
import { checkMysqlUrl, IDENTIFIER_RE } from '../config/schema.ts';
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

/** Identifiers that come from URLs, flags or data are checked before they are spliced into SQL. */
export function checkIdentifier(name: string, what = 'name'): string {
  if (!IDENTIFIER_RE.test(name)) throw rtwhError('INVALID_NAME', `invalid ${what} ${q(name)}`);
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
    // not MYSQL_UNAVAILABLE: waiting does not fix a wrong password, so jobs fail at once instead of retrying
    return rtwhError('MYSQL_ACCESS_DENIED', `MySQL at ${where} refused user ${q(target.user)}: access denied`, { cause: e });
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

/**
 * What `LOAD DATA LOCAL INFILE '<name>'` statements of one query may read: name → bytes, held in memory. The
 * server asks for a file by the name the statement gives; a name that is not here is refused (a server can
 * never make the client read a real file).
 */
export type LocalFiles = ReadonlyMap<string, Uint8Array>;

/** LOCAL INFILE data travels in packets of at most this size: far below any max_allowed_packet. */
const INFILE_CHUNK = 256 * 1024;

/** Buffers (mysql2 copies each with Buffer#copy) viewing the data, not copying it. */
function* chunksOf(data: Uint8Array): Generator<Buffer> {
  for (let i = 0; i < data.length; i += INFILE_CHUNK) {
    yield Buffer.from(data.buffer, data.byteOffset + i, Math.min(INFILE_CHUNK, data.length - i));
  }
}

function infileStream(files: LocalFiles, name: string): Readable {
  const data = files.get(name);
  if (data === undefined) {
    const s = new Readable({ read() {} });
    queueMicrotask(() => s.destroy(new Error(`the server asked for LOCAL INFILE ${JSON.stringify(name)}, which this query does not send`)));
    return s;
  }
  return Readable.from(chunksOf(data), { objectMode: false });
}

/**
 * mysql2 hangs a 'pause' and a 'drain' listener on the socket for every LOCAL INFILE it sends and takes off
 * only the last one's when the query ends: with several LOAD DATA in one query the others would stay for the
 * life of the connection. When the server asks for the next file the previous one is done, so whatever was
 * added since the query began is taken off then, and after the query.
 */
async function queryWithFiles<T>(conn: Connection, sql: string, files: LocalFiles, target: MysqlTarget, doing?: string): Promise<T> {
  const socket = (conn as unknown as { connection?: { stream?: NodeJS.EventEmitter } }).connection?.stream;
  const before = socket ? { pause: socket.listeners('pause'), drain: socket.listeners('drain') } : undefined;
  const tidy = (): void => {
    if (!socket || !before) return;
    for (const ev of ['pause', 'drain'] as const) {
      for (const l of socket.listeners(ev)) if (!before[ev].includes(l)) socket.removeListener(ev, l as (...a: unknown[]) => void);
    }
  };
  try {
    const [rows] = await conn.query({
      sql,
      infileStreamFactory: (name: string) => {
        tidy();
        return infileStream(files, name);
      },
    });
    return rows as T;
  } catch (e) {
    throw mysqlError(e, target, doing);
  } finally {
    tidy();
  }
}

export interface MysqlConn {
  readonly target: MysqlTarget;
  /** The database the connection uses, if any. */
  readonly database: string | undefined;
  /**
   * Runs SQL; rows come back as objects keyed by column, in column order. `files` are what its
   * `LOAD DATA LOCAL INFILE` statements read; without them the server may read nothing.
   */
  query<T = Record<string, unknown>[]>(sql: string, doing?: string, files?: LocalFiles): Promise<T>;
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
      // query() sends SQL as given (it takes no values): without this mysql2 scans every statement for `?`
      // placeholders, a tenth of the client's time when mock db sends big multi-row INSERTs
      queryFormat: (sql: string) => sql,
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
    async query<T>(sql: string, doing?: string, files?: LocalFiles): Promise<T> {
      if (files) return queryWithFiles<T>(conn, sql, files, target, doing);
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
  return scalarText(v);
}

/** Numbers, booleans and decimals are written the same way in SQL text and in LOAD DATA text. */
function scalarText(v: Exclude<ChangeValue | boolean, string | null>): string {
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
 * A value as a field of `LOAD DATA … INFILE` text in the default format (fields end with a tab, lines with
 * \n, escaped by backslash, nothing enclosing): NULL is \N; a backslash, tab, newline, carriage return or
 * NUL in a string is escaped, so every string reads back exactly — "NULL" and "\N" included.
 */
export function infileField(v: ChangeValue | boolean | undefined): string {
  if (typeof v === 'string') return INFILE_ESCAPE_ANY.test(v) ? v.replace(INFILE_ESCAPE_ALL, (c) => INFILE_ESCAPES[c]!) : v;
  if (v === null || v === undefined) return '\\N';
  return scalarText(v);
}

const INFILE_ESCAPES: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };
// eslint-disable-next-line no-control-regex
const INFILE_ESCAPE_ANY = /[\0\t\n\r\\]/;
// eslint-disable-next-line no-control-regex
const INFILE_ESCAPE_ALL = /[\0\t\n\r\\]/g;

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

/**
 * The sql_mode a session that writes sqlLiteral values needs, from the server's: backslash escapes on (sqlLiteral
 * writes `\'`; under NO_BACKSLASH_ESCAPES a value ending in a backslash would close its quote and the rest of it
 * would run as SQL) and strict, so an over-long text or an out-of-range number fails instead of being cut.
 */
export function writerSqlMode(serverMode: string): string {
  const modes = serverMode.split(',').filter((m) => m !== '' && m !== 'NO_BACKSLASH_ESCAPES');
  if (!modes.includes('STRICT_TRANS_TABLES') && !modes.includes('STRICT_ALL_TABLES')) modes.push('STRICT_TRANS_TABLES');
  return modes.join(',');
}

/** MySQL string escaping for the default sql_mode (backslash escapes on), as mysql2's escape does. */
export function escapeString(s: string): string {
  return ESCAPE_ANY.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s;
}
