/**
 * `rtwh query` through a running dws job. DuckDB lets ONE process open a database file read-write, and then no
 * other process may open it at all; `rtwh run dws` holds `.rtwh/warehouse.duckdb` for as long as it runs. So the
 * job answers queries itself:
 *
 *   rtwh run dws ── serves POST /query on http.bind (127.0.0.1) : an ephemeral port (or --http PORT), and writes
 *                   `<warehouse>.endpoint` (JSON: pid, bind, port, a random bearer token; mode 0600) next to the
 *                   warehouse once its database is open; removes it on a clean exit.
 *   rtwh query   ── opens the file; when DuckDB says another process holds its lock, reads the endpoint file,
 *                   checks it was written by THAT process (the lock message names its PID; a file left by a killed
 *                   job is stale and said so), and sends the SQL with the token.
 *
 * The job runs the SQL on a connection of its own, with the same read-only rule as the local path (only plain
 * reads: DuckDB's statement types and parse tree, src/store/duckdb.ts `nonRead`) unless the client sends
 * allowWrite (`--allow-write`): SET, PRAGMA and transaction control are refused too, since there they would change
 * the job's connection (a global SET, the settings of the database the sink writes). Results travel as
 * typed JSON (bigints, decimals and non-finite doubles tagged, nested values kept), so every --format prints
 * exactly what the local path prints.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { catalog, q, RtwhError, rtwhError, type ErrorCode } from '../errors';
import { ExactDecimal, type Cell, type QueryResult, type ResultColumn } from '../output/result';
import { writeFileAtomic } from '../store/atomic-file';
import { openDuckDB, type DuckStore, type NonRead } from '../store/duckdb';
import { writeRefused } from './run';
import { processAlive } from '../cli/pid';

/** What `<warehouse>.endpoint` holds. */
export interface EndpointInfo {
  pid: number;
  bind: string;
  port: number;
  token: string;
  warehouse: string;
  started: string;
}

/** The endpoint file of a warehouse file: next to it, named after it. */
export function endpointFile(warehouse: string): string {
  return `${warehouse}.endpoint`;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Writes the endpoint file (mode 0600, atomically); returns the function that removes it if it is still ours. */
export function advertiseEndpoint(info: EndpointInfo): () => void {
  const file = endpointFile(info.warehouse);
  writeFileAtomic(file, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  return () => {
    try {
      const now = JSON.parse(readFileSync(file, 'utf8')) as Partial<EndpointInfo>;
      if (now.token === info.token) unlinkSync(file);
    } catch {
      // gone already, or replaced by a later job: not ours to remove
    }
  };
}

/** The endpoint file's content; undefined when there is none; a QUERY_ENDPOINT error when it is not one. */
export function readEndpoint(warehouse: string): EndpointInfo | undefined {
  const file = endpointFile(warehouse);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw rtwhError('QUERY_ENDPOINT', `cannot read the query endpoint file ${q(file)}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const v = JSON.parse(text) as Partial<EndpointInfo>;
    if (Number.isSafeInteger(v.pid) && Number.isSafeInteger(v.port) && typeof v.token === 'string' && typeof v.bind === 'string') return v as EndpointInfo;
  } catch {
    // fall through
  }
  throw rtwhError('QUERY_ENDPOINT', `the query endpoint file ${q(file)} is not one (expected JSON with pid, bind, port and token)`, {
    hint: 'Delete it; a running `rtwh run dws` writes it again when it starts.',
  });
}

// ---------------------------------------------------------------------------------------------------------
// Typed cells over JSON

type Wire = null | boolean | number | string | Wire[] | { $: 'big' | 'dec' | 'num'; v: string } | { $: 'obj'; v: { [k: string]: Wire } };

export function encodeCell(c: Cell): Wire {
  if (c === null || typeof c === 'boolean' || typeof c === 'string') return c;
  if (typeof c === 'number') return Number.isFinite(c) ? c : { $: 'num', v: String(c) };
  if (typeof c === 'bigint') return { $: 'big', v: c.toString() };
  if (c instanceof ExactDecimal) return { $: 'dec', v: c.text };
  if (Array.isArray(c)) return c.map(encodeCell);
  const v: { [k: string]: Wire } = {};
  for (const [k, x] of Object.entries(c)) v[k] = encodeCell(x);
  return { $: 'obj', v };
}

export function decodeCell(w: Wire): Cell {
  if (w === null || typeof w === 'boolean' || typeof w === 'string' || typeof w === 'number') return w;
  if (Array.isArray(w)) return w.map(decodeCell);
  switch (w.$) {
    case 'big':
      return BigInt(w.v);
    case 'dec':
      return new ExactDecimal(w.v);
    case 'num':
      return Number(w.v);
    case 'obj': {
      const out: { [k: string]: Cell } = {};
      for (const [k, x] of Object.entries(w.v)) out[k] = decodeCell(x);
      return out;
    }
  }
}

interface QueryRequest {
  sql: string;
  allowWrite?: boolean;
  /** Only say whether the SQL is a plain read (ClassifyBody), run nothing. */
  classify?: boolean;
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** The answer to `classify`: the first statement that is not a plain read, or null. */
interface ClassifyBody {
  nonRead: NonRead | null;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

// ---------------------------------------------------------------------------------------------------------
// The job side

/**
 * Answers POST /query on a connection of the job's database. Requests run one at a time (one connection);
 * `detach()` waits for the one running, then closes the connection.
 */
export class QueryService {
  private store: DuckStore | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tokenHash: Buffer;

  constructor(token: string) {
    this.tokenHash = sha(token);
  }

  attach(store: DuckStore): void {
    this.store = store;
  }

  async detach(): Promise<void> {
    const s = this.store;
    this.store = undefined;
    await this.queue.catch(() => undefined);
    s?.close();
  }

  /** The route for src/cli/http.ts serveHttp: /query, undefined for other paths. */
  readonly route = (req: Request, path: string): Promise<Response> | undefined => (path === '/query' ? this.handle(req) : undefined);

  private authorized(req: Request): boolean {
    const m = /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '');
    return m !== null && timingSafeEqual(sha(m[1]!), this.tokenHash);
  }

  private async handle(req: Request): Promise<Response> {
    const fail = (status: number, code: ErrorCode, message: string, details?: Record<string, unknown>) =>
      Response.json({ error: { code, message, ...(details ? { details } : {}) } } satisfies ErrorBody, { status });
    if (!this.authorized(req)) return fail(401, 'QUERY_ENDPOINT', 'the query endpoint refused the request: missing or wrong bearer token');
    if (req.method !== 'POST') return fail(405, 'QUERY_ENDPOINT', `POST the SQL to /query (got ${req.method})`);
    let body: QueryRequest;
    try {
      body = (await req.json()) as QueryRequest;
    } catch {
      return fail(400, 'QUERY_ENDPOINT', 'the body must be JSON {"sql": "…"}');
    }
    if (typeof body?.sql !== 'string') return fail(400, 'QUERY_ENDPOINT', 'the body must be JSON {"sql": "…"}');
    const run = this.queue.then(async (): Promise<Response> => {
      const store = this.store;
      if (!store) return fail(503, 'QUERY_ENDPOINT', 'the dws job has no open warehouse (starting or stopping); try again');
      try {
        // Checked before anything runs: SET, PRAGMA, transaction control and the like would change the job's own
        // connection (a global SET, its whole database), so only plain reads run without allowWrite.
        const nonRead = body.allowWrite === true && !body.classify ? undefined : await store.nonRead(body.sql);
        if (body.classify) return Response.json({ nonRead: nonRead ?? null } satisfies ClassifyBody);
        if (nonRead) {
          const e = writeRefused(nonRead);
          return fail(403, e.code, e.message, e.details);
        }
        const r = await store.query(body.sql);
        return Response.json({ columns: r.columns, rows: r.rows.map((row) => row.map(encodeCell)) });
      } catch (e) {
        const code: ErrorCode = e instanceof RtwhError ? e.code : 'QUERY_FAILED';
        return fail(400, code, e instanceof Error ? e.message : String(e));
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The query side

/** A DuckStore that sends every statement to the dws job holding the warehouse. */
class RemoteStore implements DuckStore {
  /** QueryService checks every statement it is sent (the `nonRead` above the query). */
  readonly refusesNonReads = true;
  constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly info: EndpointInfo,
    private readonly allowWrite: boolean,
  ) {}

  get url(): string {
    const host = this.info.bind === '0.0.0.0' || this.info.bind === '::' ? '127.0.0.1' : this.info.bind;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.info.port}/query`;
  }

  private async post(body: QueryRequest): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.url, { method: 'POST', headers: { authorization: `Bearer ${this.info.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (e) {
      throw rtwhError(
        'QUERY_ENDPOINT',
        `the dws job (process ${this.info.pid}) holding ${q(this.path)} does not answer at ${this.url.replace(/\/query$/, '')} (from ${q(endpointFile(this.path))}): ${(e as Error).message}`,
        { cause: e },
      );
    }
    const v = (await res.json().catch(() => undefined)) as (ErrorBody & Record<string, unknown>) | undefined;
    if (!res.ok || v === undefined) {
      const code = v?.error?.code;
      const message = v?.error?.message ?? `HTTP ${res.status} from ${this.url}`;
      throw new RtwhError(code !== undefined && code in catalog ? (code as ErrorCode) : 'QUERY_ENDPOINT', message, {
        details: { ...v?.error?.details, endpoint: this.url, pid: this.info.pid },
      });
    }
    return v;
  }

  async query(sql: string): Promise<QueryResult> {
    const v = (await this.post({ sql, allowWrite: this.allowWrite })) as { columns: ResultColumn[]; rows: Wire[][] };
    return { columns: v.columns, rows: v.rows.map((row) => row.map(decodeCell)) };
  }

  async nonRead(sql: string): Promise<NonRead | undefined> {
    return ((await this.post({ sql, classify: true })) as ClassifyBody).nonRead ?? undefined;
  }

  close(): void {}
}

/** DuckDB's lock conflict message: `Conflicting lock is held in /path/to/exe (PID 1234)`. */
export function lockHolder(message: string): { pid: number | undefined; exe: string | undefined } | undefined {
  if (!/Could not set lock on file|Conflicting lock/i.test(message)) return undefined;
  const m = /held in (.*?) \(PID (\d+)\)/.exec(message);
  return { pid: m ? Number(m[2]) : undefined, exe: m?.[1] };
}

export interface WarehouseOptions {
  /** Open the file read-only (the query path without --allow-write). */
  readOnly: boolean;
  /** Sent to a dws job: let it run statements that write (`--allow-write`). */
  allowWrite: boolean;
}

/**
 * The warehouse to query: the DuckDB file itself, or — when a running process holds its lock — the dws job
 * that advertises its query endpoint next to it. A clear QUERY_ENDPOINT error naming the file and the process
 * when the holder serves no endpoint or the endpoint file is stale.
 */
export async function openWarehouse(path: string, o: WarehouseOptions): Promise<DuckStore> {
  try {
    return await openDuckDB(path, { readOnly: o.readOnly });
  } catch (e) {
    const holder = e instanceof RtwhError && e.code === 'DUCKDB_OPEN' && path !== ':memory:' ? lockHolder(e.message) : undefined;
    if (!holder) throw e;
    const file = endpointFile(path);
    const who = holder.pid === undefined ? 'another process' : `process ${holder.pid}${holder.exe ? ` (${holder.exe})` : ''}`;
    const info = readEndpoint(path);
    if (!info) {
      throw rtwhError('QUERY_ENDPOINT', `the warehouse ${q(path)} is locked by ${who}, which serves no query endpoint (there is no ${q(file)})`, {
        cause: e,
        details: { warehouse: path, pid: holder.pid ?? null },
      });
    }
    const writerAlive = processAlive(info.pid);
    if (!writerAlive || (holder.pid !== undefined && holder.pid !== info.pid)) {
      throw rtwhError(
        'QUERY_ENDPOINT',
        `stale query endpoint file ${q(file)}: it was written by process ${info.pid}, which ${writerAlive ? 'does not hold the warehouse' : 'is gone'}; the warehouse ${q(path)} is locked by ${who}, which serves no query endpoint`,
        { cause: e, details: { warehouse: path, pid: holder.pid ?? null, stalePid: info.pid } },
      );
    }
    return new RemoteStore(path, o.readOnly, info, o.allowWrite);
  }
}
