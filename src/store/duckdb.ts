/**
 * DuckDB, the embedded OLAP store: open a file (or `:memory:`), run SQL, get rows back EXACT
 * (BIGINT/HUGEINT as bigint, DECIMAL as ExactDecimal text), and tell writes from reads.
 *
 * @duckdb/node-api is imported lazily on the first open: loading it maps a 70 MB native library, which every
 * CLI command that never touches DuckDB (`rtwh --help`, `rtwh topics`) must not pay for.
 */
import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBType,
  DuckDBValue,
  StatementType as DuckStatementType,
} from '@duckdb/node-api';
import { RtwhError, q } from '../errors.ts';
import { ExactDecimal, type Cell, type QueryResult } from '../output/result.ts';

type NodeApi = typeof import('@duckdb/node-api');

let api: Promise<NodeApi> | undefined;

function loadApi(): Promise<NodeApi> {
  api ??= import('@duckdb/node-api').catch((e: unknown) => {
    api = undefined;
    if (e instanceof RtwhError) throw e;
    throw new RtwhError('DUCKDB_LOAD', `could not load DuckDB: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  });
  return api;
}

export interface DuckOpenOptions {
  /** Open the file with access_mode=READ_ONLY: DuckDB itself then refuses every write, and other readers may share it. */
  readOnly?: boolean;
  /** Extra DuckDB settings, e.g. `{ threads: '2', memory_limit: '1GB' }`. */
  config?: Record<string, string>;
}

export interface DuckStore {
  readonly path: string;
  readonly readOnly: boolean;
  /** Runs one or more statements; the result is the last statement's. */
  query(sql: string): Promise<QueryResult>;
  /** True when any statement in `sql` may change data, schema, files or loaded code (see `isWriteStatement`). */
  isWriteStatement(sql: string): Promise<boolean>;
  /** Idempotent. A closed store refuses further queries. */
  close(): void;
}

/**
 * Opens a DuckDB database file (created when missing unless read-only) or an in-memory one.
 * @example
 *   const db = await openDuckDB(':memory:');
 *   const { columns, rows } = await db.query('select 42 as answer'); // rows: [[42]]
 *   db.close();
 */
export async function openDuckDB(path: string, opts: DuckOpenOptions = {}): Promise<DuckStore> {
  const readOnly = opts.readOnly ?? false;
  if (readOnly && path === ':memory:') {
    throw new RtwhError('DUCKDB_OPEN', 'an in-memory DuckDB database cannot be opened read-only', {
      hint: 'Pass a database file path, or drop the read-only flag for :memory:.',
    });
  }
  const duck = await loadApi();
  // Never fetch extensions from the network behind the user's back (and tests stay on loopback).
  const config: Record<string, string> = { autoinstall_known_extensions: 'false', ...opts.config };
  if (readOnly) config.access_mode = 'READ_ONLY';
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  try {
    instance = await duck.DuckDBInstance.create(path, config);
  } catch (e) {
    throw new RtwhError('DUCKDB_OPEN', `cannot open DuckDB database ${q(path)}: ${errorText(e)}`, {
      cause: e,
      details: { path, readOnly },
    });
  }
  try {
    connection = await instance.connect();
  } catch (e) {
    instance.closeSync();
    throw new RtwhError('DUCKDB_OPEN', `cannot connect to DuckDB database ${q(path)}: ${errorText(e)}`, { cause: e });
  }
  return new DuckDBStore(duck, instance, connection, path, readOnly, true);
}

/**
 * A store on a NEW connection of a database another part of this process already has open (the dws sink's
 * instance: DuckDB lets one process at a time open a file read-write, and connections of that process share it).
 * `close()` closes this connection only. `readOnly` is informational: the instance decides what may be written.
 */
export async function connectDuckDB(instance: DuckDBInstance, path: string): Promise<DuckStore> {
  const duck = await loadApi();
  let connection: DuckDBConnection;
  try {
    connection = await instance.connect();
  } catch (e) {
    throw new RtwhError('DUCKDB_OPEN', `cannot connect to DuckDB database ${q(path)}: ${errorText(e)}`, { cause: e });
  }
  return new DuckDBStore(duck, instance, connection, path, false, false);
}

class DuckDBStore implements DuckStore {
  private closed = false;

  constructor(
    private readonly duck: NodeApi,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly path: string,
    readonly readOnly: boolean,
    private readonly ownsInstance: boolean,
  ) {}

  async query(sql: string): Promise<QueryResult> {
    this.assertOpen();
    try {
      const reader = await this.connection.runAndReadAll(sql);
      const types = reader.columnTypes();
      const columns = reader.columnNames().map((name, i) => ({ name, type: typeName(types[i]) }));
      const rows = reader.getRows().map((row) => row.map((v, i) => toCell(this.duck, v, types[i])));
      return { columns, rows };
    } catch (e) {
      throw new RtwhError('QUERY_FAILED', errorText(e), { cause: e });
    }
  }

  async isWriteStatement(sql: string): Promise<boolean> {
    this.assertOpen();
    return classifyWithConnection(this.duck, this.connection, sql);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new RtwhError('INTERNAL', `DuckDB store ${q(this.path)} used after close()`);
  }
}

function typeName(t: DuckDBType | undefined): string {
  return t ? t.toString() : 'UNKNOWN';
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Shortest decimal text that round-trips through float32, so FLOAT 0.1 prints as 0.1 and not 0.10000000149011612. */
function float32(n: number): number {
  if (!Number.isFinite(n)) return n;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(n.toPrecision(p));
    if (Math.fround(candidate) === n) return candidate;
  }
  return n;
}

/** The element type of a LIST/ARRAY/STRUCT field/MAP value, when the column type says it. */
function childType(duck: NodeApi, type: DuckDBType | undefined, field?: string): DuckDBType | undefined {
  if (type instanceof duck.DuckDBListType || type instanceof duck.DuckDBArrayType || type instanceof duck.DuckDBMapType) return type.valueType;
  if (type instanceof duck.DuckDBStructType && field !== undefined) {
    const i = type.entryIndexes[field];
    return i === undefined ? undefined : type.entryTypes[i];
  }
  return undefined;
}

function toCell(duck: NodeApi, v: DuckDBValue, type: DuckDBType | undefined): Cell {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'bigint':
    case 'string':
      return v;
    case 'number':
      return type?.typeId === duck.DuckDBTypeId.FLOAT ? float32(v) : v;
  }
  if (v instanceof duck.DuckDBDecimalValue) return new ExactDecimal(v.toString());
  if (v instanceof duck.DuckDBListValue || v instanceof duck.DuckDBArrayValue) {
    const t = childType(duck, type);
    return v.items.map((x) => toCell(duck, x, t));
  }
  if (v instanceof duck.DuckDBStructValue) {
    const out: { [key: string]: Cell } = {};
    for (const [k, x] of Object.entries(v.entries)) out[k] = toCell(duck, x, childType(duck, type, k));
    return out;
  }
  if (v instanceof duck.DuckDBMapValue) {
    // Keys become text: a JSON object is what readers of `--format json` expect from a MAP.
    const t = childType(duck, type);
    const out: { [key: string]: Cell } = {};
    for (const { key, value } of v.entries) out[String(key)] = toCell(duck, value, t);
    return out;
  }
  // UNION and VARIANT members carry their own type; their value is what the user asked for.
  if (v instanceof duck.DuckDBUnionValue) return toCell(duck, v.value, undefined);
  if (v instanceof duck.DuckDBVariantValue) return toCell(duck, v.value, v.type);
  // Dates, times, timestamps, intervals, UUIDs, blobs, bits: DuckDB's own text form, which round-trips in SQL.
  return String(v);
}

// ---------------------------------------------------------------------------------------------------------
// Write detection

/**
 * Statement types (DuckDB's own, from prepare) that may change data, schema, files on disk or loaded code.
 * INSTALL reports as LOAD, ANALYZE as VACUUM, TRUNCATE as DELETE. Unknown or internal types count as writes.
 */
const WRITE_TYPES = new Set<string>([
  'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'ALTER', 'DROP', 'COPY', 'COPY_DATABASE', 'EXPORT', 'CREATE_FUNC',
  'VACUUM', 'ANALYZE', 'LOAD', 'EXTENSION', 'UPDATE_EXTENSIONS', 'ATTACH', 'MERGE_INTO', 'EXECUTE', 'MULTI',
  'LOGICAL_PLAN', 'RELATION', 'INVALID',
]);
/** Reads, and session-only changes (SET/RESET/USE, BEGIN/COMMIT, DETACH) that leave no trace in the database. */
const READ_TYPES = new Set<string>(['SELECT', 'PRAGMA', 'SET', 'VARIABLE_SET', 'TRANSACTION', 'DETACH']);
// EXPLAIN (ANALYZE executes its statement), PREPARE (depends on its body) and CALL (`checkpoint` writes)
// are in neither set: the statement text decides them.

async function classifyWithConnection(duck: NodeApi, connection: DuckDBConnection, sql: string): Promise<boolean> {
  for (const stmt of splitStatements(sql)) {
    if (await statementWrites(duck, connection, stmt)) return true;
  }
  return false;
}

async function statementWrites(duck: NodeApi, connection: DuckDBConnection, stmt: LexStatement): Promise<boolean> {
  const lexical = lexicallyWrites(stmt.words);
  let extracted: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
  try {
    extracted = await connection.extractStatements(stmt.text);
  } catch (e) {
    // A syntax error: nothing would run, so say what is wrong instead of guessing whether it writes.
    throw new RtwhError('QUERY_FAILED', errorText(e), { cause: e });
  }
  const types: string[] = [];
  try {
    for (let i = 0; i < extracted.count; i++) {
      const prepared = await extracted.prepare(i);
      types.push(statementTypeName(duck, prepared.statementType));
    }
  } catch {
    // Prepare binds against the catalog, so `insert into missing_table` fails here (and would fail to run
    // too). The text decides then.
    return lexical;
  }
  // One text statement that DuckDB expands into several is PIVOT (a temporary enum type, then a SELECT).
  if (types.length !== 1) return lexical;
  const t = types[0] ?? 'INVALID';
  if (WRITE_TYPES.has(t)) return true;
  if (READ_TYPES.has(t)) return false;
  return lexical;
}

function statementTypeName(duck: NodeApi, t: DuckStatementType): string {
  return duck.StatementType[t] ?? 'INVALID';
}

let parserStore: Promise<DuckStore> | undefined;

/**
 * True when `sql` may change data, schema, files on disk or loaded code: INSERT/UPDATE/DELETE/MERGE/TRUNCATE,
 * CREATE/ALTER/DROP (temporary objects too), COPY (both directions), EXPORT, ATTACH, INSTALL/LOAD, VACUUM,
 * ANALYZE, CHECKPOINT, EXECUTE, and EXPLAIN ANALYZE or PREPARE of any of those. SET/RESET/USE, transactions
 * and DETACH only change the session and count as reads.
 *
 * Uses DuckDB's own statement type (extract + prepare) on a private in-memory database; where that cannot
 * bind (the tables live in another file) the statement's leading keywords decide. Prefer
 * `store.isWriteStatement(sql)` when a store is open: it binds against the real catalog.
 */
export async function isWriteStatement(sql: string): Promise<boolean> {
  parserStore ??= openDuckDB(':memory:').catch((e: unknown) => {
    parserStore = undefined;
    throw e;
  });
  return (await parserStore).isWriteStatement(sql);
}

// --- lexical side: split on top-level `;`, collect the top-level words of each statement -----------------

interface LexStatement {
  text: string;
  /** Upper-cased bare words at parenthesis depth 0, in order (quoted names and literals excluded). */
  words: string[];
}

/** Splits SQL into statements, skipping comments, quoted strings and identifiers, and dollar-quoted bodies. */
function splitStatements(sql: string): LexStatement[] {
  const out: LexStatement[] = [];
  let start = 0;
  let depth = 0;
  let words: string[] = [];
  let i = 0;
  const n = sql.length;
  const flush = (end: number): void => {
    // A piece with no bare word (empty, only a comment) is no statement.
    if (words.length > 0) out.push({ text: sql.slice(start, end).trim(), words });
    words = [];
  };
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === "'" || c === '"') {
      // '' and "" escape the quote; E'…' strings also take backslash escapes.
      const backslash = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? ' ');
      i++;
      while (i < n) {
        if (backslash && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 66))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 66))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? n : close + tag.length;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (c === ';' && depth === 0) {
      flush(i);
      i++;
      start = i;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      if (depth === 0) words.push(sql.slice(i, j).toUpperCase());
      else if (words.length === 0) words.push('(');
      i = j;
    } else i++;
  }
  flush(n);
  return out;
}

const READ_LEADERS = new Set([
  '(', 'SELECT', 'FROM', 'VALUES', 'TABLE', 'SHOW', 'DESCRIBE', 'DESC', 'SUMMARIZE', 'PIVOT', 'UNPIVOT',
  'PIVOT_WIDER', 'PIVOT_LONGER', 'PRAGMA', 'SET', 'RESET', 'USE', 'BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK',
  'ABORT', 'DETACH',
]);
const DML = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE', 'COPY']);

/** The keyword rule used where DuckDB cannot bind the statement: anything not known to be a read is a write. */
function lexicallyWrites(words: readonly string[]): boolean {
  const [first, second] = words;
  if (first === undefined) return false;
  if (first === 'EXPLAIN') {
    return second === 'ANALYZE' || second === 'ANALYSE' ? lexicallyWrites(words.slice(2)) : false;
  }
  if (first === 'WITH') return words.some((w) => DML.has(w));
  if (first === 'PREPARE') {
    const as = words.indexOf('AS');
    return as < 0 ? true : lexicallyWrites(words.slice(as + 1));
  }
  if (first === 'CALL') return second === 'CHECKPOINT' || second === 'FORCE_CHECKPOINT';
  return !READ_LEADERS.has(first);
}
