/**
 * Every configuration key, declared once. The declaration drives parsing of rtwh.toml, the RTWH_* env
 * variables and the flags, validation, `rtwh config show`, `rtwh config init` and shell completion.
 */
import { isIP } from 'node:net';
import { q } from '../errors';

export type Source = 'default' | 'file' | 'env' | 'flag';

export type ConfigValue = string | number | boolean;

export interface KeySpec {
  /** Dotted key as written in rtwh.toml: `bus`, `kafka.client_id`. */
  key: string;
  /** What it is, one line: used by `config init` and `--help`. */
  doc: string;
  kind: 'string' | 'int' | 'bool' | 'enum' | 'url' | 'date' | 'path';
  default?: ConfigValue;
  env: string;
  /** Global flag that sets it, if any (flags are declared on every command). */
  flag?: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Masked in `config show`, logs and errors. */
  secret?: boolean;
  /** Returns an error text (what was expected) or undefined when fine. */
  check?: (v: string) => string | undefined;
  /** Shown in the starter file as a commented example. */
  example?: string;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function checkDate(v: string): string | undefined {
  if (!DATE_RE.test(v)) {
    const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v);
    const guess = m ? ` (did you mean ${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}?)` : '';
    return `expected YYYY-MM-DD${guess}`;
  }
  const d = new Date(`${v}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) return 'expected a real calendar date (YYYY-MM-DD)';
  return undefined;
}

/**
 * The business dates the mocks generate: every time of the day, and the refundable_time 30 days after its
 * orders are finished, fits MySQL DATETIME (to 9999-12-31 23:59:59), and none falls before the Unix epoch —
 * Maxwell's `ts` and Kafka's record timestamps count from 1970-01-01 UTC, and a Beijing-time day starts 8
 * hours before its UTC date.
 */
export const BUSINESS_DATES = { first: '1970-01-02', last: '9999-11-30' } as const;
export const BUSINESS_DATE_HINT = `Mock times must fit MySQL DATETIME (up to 9999-12-31, and orders stay refundable 30 days) and Kafka timestamps (from 1970-01-01).`;

/** checkDate, and within BUSINESS_DATES. */
export function checkBusinessDate(v: string): string | undefined {
  const problem = checkDate(v);
  if (problem) return problem;
  if (v < BUSINESS_DATES.first || v > BUSINESS_DATES.last) return `expected a date from ${BUSINESS_DATES.first} to ${BUSINESS_DATES.last}`;
  return undefined;
}

/** A MySQL identifier rtwh puts into SQL (database, table, column names from URLs, flags, config or data). */
export const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function checkDatabaseName(v: string): string | undefined {
  return IDENTIFIER_RE.test(v) ? undefined : 'expected a database name (letters, digits and _, not starting with a digit, at most 64)';
}

const HOST_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An address a local HTTP endpoint can listen on: an IPv4/IPv6 address or a host name. */
export function checkBindAddress(v: string): string | undefined {
  return isIP(v) !== 0 || HOST_NAME_RE.test(v) ? undefined : 'expected an IP address or host name to listen on (e.g. 127.0.0.1)';
}

export function checkBusUrl(v: string): string | undefined {
  if (v.startsWith('sqlite:')) return v.length > 'sqlite:'.length ? undefined : 'expected sqlite:PATH with a file path';
  if (v.startsWith('kafka://')) {
    const hosts = v.slice('kafka://'.length).split(',');
    for (const h of hosts) {
      // A user or password is never echoed: rtwh speaks plain Kafka (no SASL), so it is refused unseen.
      if (h.includes('@')) return 'expected kafka://host:port[,host:port] with no user or password (rtwh speaks plain Kafka, no SASL)';
      if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(h)) return `expected kafka://host:port[,host:port] (bad broker ${q(h)})`;
      const port = Number(h.slice(h.lastIndexOf(':') + 1));
      if (port < 1 || port > 65535) return `expected kafka://host:port[,host:port] with a port from 1 to 65535 (bad broker ${q(h)})`;
    }
    return undefined;
  }
  return 'expected kafka://host:port[,host:port] or sqlite:PATH';
}

export function checkMysqlUrl(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'expected mysql://user:pass@host:port/db';
  }
  if (u.protocol !== 'mysql:') return 'expected a mysql:// URL (MySQL, MariaDB, Doris and StarRocks all speak it)';
  if (!u.hostname) return 'expected a host in mysql://user:pass@host:port/db';
  if (u.port === '0') return 'expected a port from 1 to 65535 in mysql://user:pass@host:port/db';
  return undefined;
}

export const KEYS: readonly KeySpec[] = [
  {
    key: 'bus',
    doc: 'Topic bus: kafka://host:port[,host:port] or sqlite:PATH (embedded, no servers)',
    kind: 'url',
    default: 'sqlite:./.rtwh/bus.db',
    env: 'RTWH_BUS',
    flag: 'bus',
    check: checkBusUrl,
    example: 'kafka://127.0.0.1:9092',
  },
  {
    key: 'mysql',
    doc: 'Business database (MySQL or MariaDB) the mock writes to and cdc reads from',
    kind: 'url',
    env: 'RTWH_MYSQL',
    flag: 'mysql',
    secret: true,
    check: checkMysqlUrl,
    example: 'mysql://root:secret@127.0.0.1:3306/gmall',
  },
  {
    key: 'state_dir',
    doc: 'Where jobs keep their state files, positions and the embedded warehouse',
    kind: 'path',
    default: '.rtwh',
    env: 'RTWH_STATE_DIR',
  },
  {
    key: 'mock.date',
    doc: 'Business date of the mock data (set with `rtwh mock date YYYY-MM-DD`)',
    kind: 'date',
    env: 'RTWH_MOCK_DATE',
    check: checkBusinessDate,
    example: '2025-01-14',
  },
  {
    key: 'kafka.client_id',
    doc: 'Client id rtwh presents to Kafka',
    kind: 'string',
    default: 'rtwh',
    env: 'RTWH_KAFKA_CLIENT_ID',
  },
  {
    key: 'kafka.compression',
    doc: 'Compression of produced batches',
    kind: 'enum',
    values: ['none', 'gzip', 'snappy', 'lz4'],
    default: 'none',
    env: 'RTWH_KAFKA_COMPRESSION',
  },
  {
    key: 'duckdb.path',
    doc: 'The embedded OLAP warehouse file (DuckDB) that dws writes and query reads',
    kind: 'path',
    default: '.rtwh/warehouse.duckdb',
    env: 'RTWH_DUCKDB',
    flag: 'duckdb',
  },
  {
    key: 'http.bind',
    doc: 'Address the local HTTP endpoints (/metrics, query API) bind to',
    kind: 'string',
    default: '127.0.0.1',
    env: 'RTWH_HTTP_BIND',
    check: checkBindAddress,
  },
  {
    key: 'http.port',
    doc: 'Port of the local HTTP endpoints',
    kind: 'int',
    default: 8686,
    min: 1,
    max: 65535,
    env: 'RTWH_HTTP_PORT',
  },
  {
    key: 'etl.database',
    doc: 'Business database the ODS ETL keeps (`rtwh tail --etl`, the jobs); records of other databases are rejected',
    kind: 'string',
    default: 'gmall',
    env: 'RTWH_ETL_DATABASE',
    check: checkDatabaseName,
    example: 'gmall2022',
  },
  {
    key: 'log.level',
    doc: 'How much jobs log',
    kind: 'enum',
    values: ['error', 'warn', 'info', 'debug'],
    default: 'info',
    env: 'RTWH_LOG_LEVEL',
  },
];

export const KEY_INDEX: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [k.key, k]));
