/**
 * DuckDB, the embedded OLAP store: open a file (or `:memory:`), run SQL, get rows back EXACT
 * (BIGINT/HUGEINT as bigint, DECIMAL as ExactDecimal text), and tell plain reads from everything else (`nonRead`).
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
  /**
   * The first statement in `sql` that is not a plain read (what `rtwh query` refuses without --allow-write);
   * undefined when all are. Runs nothing. See `nonRead`.
   */
  nonRead(sql: string): Promise<NonRead | undefined>;
  /** The store refuses what is not a plain read itself when it runs a statement (a running job's endpoint). */
  readonly refusesNonReads?: boolean;
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

  async nonRead(sql: string): Promise<NonRead | undefined> {
    this.assertOpen();
    return nonReadWithConnection(this.duck, this.connection, sql);
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
// Read-only check: what `rtwh query` runs without --allow-write

/** Why a statement is not a plain read. */
export interface NonRead {
  /**
   * What kind of statement: DuckDB's own statement type (`INSERT`, `SET`, `TRANSACTION`, `CALL`, …), followed by
   * the keyword the text starts with when that says more (`CALL (CHECKPOINT)`, `SET (USE)`, `TRANSACTION (BEGIN)`),
   * or that keyword alone when DuckDB has no single type for it (`PRAGMA`, `PIVOT`).
   */
  kind: string;
  /** The statement as written (one of several, when `sql` holds more). */
  statement: string;
  /** Why, when the kind does not say it: e.g. `it calls nextval(), which advances a sequence`. */
  reason?: string;
}

/**
 * Functions that change something although they may be called from a SELECT: the database file, a sequence,
 * settings or state of the session (which, through a running dws job, is the job's), or that run SQL text this
 * check cannot see. Names as DuckDB lists them in duckdb_functions(); extension ones included in case they are
 * loaded.
 */
const CHANGING_FUNCTIONS = new Map<string, string>([
  ['nextval', 'advances a sequence'],
  ['setseed', "sets the session's random seed"],
  ['write_log', "writes to DuckDB's log"],
  ['checkpoint', 'writes the write-ahead log into the database file'],
  ['force_checkpoint', 'writes the write-ahead log into the database file, aborting running transactions'],
  ['enable_logging', 'changes the logging settings'],
  ['disable_logging', 'changes the logging settings'],
  ['truncate_duckdb_logs', "deletes DuckDB's log"],
  ['enable_profiling', 'changes the profiling settings'],
  ['disable_profiling', 'changes the profiling settings'],
  ['enable_peg_parser', 'changes the parser setting'],
  ['disable_peg_parser', 'changes the parser setting'],
  ['query', 'runs SQL text that this check cannot see'],
  ['json_execute_serialized_sql', 'runs SQL that this check cannot see'],
  ['arrow_scan', 'reads memory at a raw address'],
  ['arrow_scan_dumb', 'reads memory at a raw address'],
  ['sqlite_attach', 'attaches a database'],
  ['postgres_attach', 'attaches a database'],
]);

/** Keywords that may lead the options of an EXPLAIN before the statement it explains. */
const EXPLAIN_OPTIONS = new Set(['EXPLAIN', 'ANALYZE', 'ANALYSE', 'VERBOSE']);

/**
 * The first statement in `sql` that is not a plain read; undefined when every one is.
 *
 * A plain read is what DuckDB prepares as a SELECT (SELECT, WITH … SELECT, FROM, VALUES, TABLE, SHOW, DESCRIBE,
 * SUMMARIZE, PIVOT … IN (…)) AND parses as one (json_serialize_sql: this is what tells `PRAGMA table_info`, which
 * DuckDB rewrites into a SELECT, from a SELECT) AND calls none of CHANGING_FUNCTIONS; `CALL f()` when
 * `SELECT * FROM f()` is one; `EXPLAIN [ANALYZE] X` when X is one. Everything else is refused: DML and DDL, COPY,
 * EXPORT, ATTACH/DETACH, INSTALL/LOAD, CHECKPOINT, VACUUM, ANALYZE, PRAGMA, SET/RESET/USE, SET VARIABLE,
 * transaction control, PREPARE/EXECUTE, and whatever DuckDB cannot bind and does not parse as a SELECT.
 * Session changes count: through a running dws job the session is the job's connection (and a SET of a global
 * setting, its whole database).
 *
 * Nothing runs: DuckDB extracts and prepares each statement and serializes its parse tree.
 * A syntax error is QUERY_FAILED with DuckDB's message.
 */
async function nonReadWithConnection(duck: NodeApi, connection: DuckDBConnection, sql: string): Promise<NonRead | undefined> {
  for (const stmt of splitStatements(sql)) {
    const found = await statementNonRead(duck, connection, stmt);
    if (found) return found;
  }
  return undefined;
}

async function statementNonRead(duck: NodeApi, connection: DuckDBConnection, stmt: LexStatement): Promise<NonRead | undefined> {
  const { text, words, at } = stmt;
  const lead = words[0] ?? '';
  if (lead === 'EXPLAIN') {
    // EXPLAIN ANALYZE runs its statement; a plain EXPLAIN does not, but the rule stays simple: EXPLAIN X is a read when X is.
    let i = 0;
    while (i < words.length && EXPLAIN_OPTIONS.has(words[i]!)) i++;
    const from = i < words.length ? at[i]! : at[i - 1]! + words[i - 1]!.length;
    const inner = splitStatements(text.slice(from))[0];
    const found = inner ? await statementNonRead(duck, connection, inner) : { kind: 'EXPLAIN', statement: text };
    return found ? { ...found, kind: `EXPLAIN of ${found.kind}`, statement: text } : undefined;
  }
  const type = await preparedType(duck, connection, text);
  if (lead === 'CALL' && (type === 'CALL' || type === undefined)) {
    // CALL f(…) is SELECT * FROM f(…): a read when that is one.
    return selectNonRead(connection, `SELECT * FROM ${text.slice(at[0]! + 'CALL'.length)}`, 'CALL', text);
  }
  if (type === undefined || type === 'SELECT') {
    // DuckDB could not bind it (a table it does not have: the SQL is for another database, or fails anyway), or it
    // says SELECT: the parse tree decides.
    return selectNonRead(connection, text, type === 'SELECT' ? lead : lexicalKind(words), text);
  }
  if (type === 'MULTI') return { kind: lead, statement: text, reason: multiReason(lead) };
  return { kind: type === lead || lead === '' || lead === '(' ? type : `${type} (${lead})`, statement: text };
}

function multiReason(lead: string): string {
  return lead === 'PIVOT' || lead === 'PIVOT_WIDER'
    ? 'without an IN list DuckDB first creates a type for the values; list them: PIVOT … ON col IN (…)'
    : 'DuckDB runs it as several statements';
}

/** The keyword(s) naming a statement DuckDB could not prepare: the first, or the DML word after a WITH. */
function lexicalKind(words: readonly string[]): string {
  const lead = words[0] ?? '';
  if (lead === 'WITH') {
    const dml = words.find((w) => DML.has(w));
    if (dml) return `${dml} (WITH)`;
  }
  return lead;
}
const DML = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE', 'COPY']);

/**
 * DuckDB's statement type for ONE statement of text; 'MULTI' when DuckDB expands it into several (PIVOT without
 * IN); undefined when it cannot be prepared (binding failed).
 */
async function preparedType(duck: NodeApi, connection: DuckDBConnection, text: string): Promise<string | undefined> {
  let extracted: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
  try {
    extracted = await connection.extractStatements(text);
  } catch (e) {
    // A syntax error: nothing would run, so say what is wrong instead of guessing what it is.
    throw new RtwhError('QUERY_FAILED', errorText(e), { cause: e });
  }
  if (extracted.count !== 1) return 'MULTI';
  try {
    return statementTypeName(duck, (await extracted.prepare(0)).statementType);
  } catch {
    return undefined;
  }
}

function statementTypeName(duck: NodeApi, t: DuckStatementType): string {
  return duck.StatementType[t] ?? 'INVALID';
}

/**
 * Undefined when `text` parses as a SELECT that calls no changing function; else why not. `kind` names the
 * statement when it is not a SELECT; `statement` is what the user wrote (a CALL is checked as its SELECT).
 */
async function selectNonRead(connection: DuckDBConnection, text: string, kind: string, statement: string): Promise<NonRead | undefined> {
  let tree: unknown;
  try {
    const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [text]);
    tree = JSON.parse(String(reader.getRows()[0]?.[0]));
  } catch {
    tree = undefined;
  }
  if (typeof tree !== 'object' || tree === null || (tree as { error?: unknown }).error !== false) {
    return { kind: kind === '' || kind === '(' ? 'UNKNOWN' : kind, statement };
  }
  for (const name of functionNames(tree)) {
    const why = CHANGING_FUNCTIONS.get(name);
    if (why !== undefined) return { kind: kind === 'CALL' ? 'CALL' : 'SELECT', statement, reason: `it calls ${name}(), which ${why}` };
  }
  return undefined;
}

/** Every `function_name` in a json_serialize_sql tree (scalar, aggregate, window and table functions), lower-cased. */
function functionNames(tree: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'function_name' && typeof x === 'string') out.add(x.toLowerCase());
        else walk(x);
      }
    }
  };
  walk(tree);
  return out;
}

let parserStore: Promise<DuckStore> | undefined;

function privateStore(): Promise<DuckStore> {
  parserStore ??= openDuckDB(':memory:').catch((e: unknown) => {
    parserStore = undefined;
    throw e;
  });
  return parserStore;
}

/**
 * `store.nonRead(sql)` on a private in-memory database, for SQL meant for another database (MySQL): its tables
 * are not there, so DuckDB's parse tree decides (see nonReadWithConnection). Prefer `store.nonRead(sql)` when a
 * store is open: it binds against the real catalog.
 */
export async function nonRead(sql: string): Promise<NonRead | undefined> {
  return (await privateStore()).nonRead(sql);
}

// --- lexical side: split on top-level `;`, collect the top-level words of each statement -----------------

interface LexStatement {
  text: string;
  /** Upper-cased bare words at parenthesis depth 0, in order (quoted names and literals excluded). */
  words: string[];
  /** Where each of `words` starts in `text`. */
  at: number[];
}

/** Splits SQL into statements, skipping comments, quoted strings and identifiers, and dollar-quoted bodies. */
function splitStatements(sql: string): LexStatement[] {
  const out: LexStatement[] = [];
  let start = 0;
  let depth = 0;
  let words: string[] = [];
  let at: number[] = [];
  let i = 0;
  const n = sql.length;
  const flush = (end: number): void => {
    // A piece with no bare word (empty, only a comment) is no statement.
    const raw = sql.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    if (words.length > 0) out.push({ text: raw.trim(), words, at: at.map((a) => a - start - lead) });
    words = [];
    at = [];
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
      if (depth === 0 && words.length === 0) {
        words.push('(');
        at.push(i);
      }
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
      if (depth === 0) {
        words.push(sql.slice(i, j).toUpperCase());
        at.push(i);
      }
      i = j;
    } else i++;
  }
  flush(n);
  return out;
}
