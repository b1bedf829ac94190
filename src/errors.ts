/**
 * The one error catalog. Every failure a user can see has a code here, an exit code, a message built
 * from the values involved, and a hint. `--json` prints `RtwhError.toJSON()` on stderr.
 *
 * Exit codes: 0 ok · 1 unexpected bug · 2 usage / bad flag or config · 3 not built yet ·
 * 4 cannot reach a service · 5 bad data · 6 not found · 7 refused (safety) · 130 interrupted.
 */

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notBuilt: 3,
  unavailable: 4,
  data: 5,
  notFound: 6,
  refused: 7,
  interrupted: 130,
} as const;

interface CatalogEntry {
  exit: number;
  hint: string;
}

export const catalog = {
  USAGE: { exit: EXIT.usage, hint: 'Run with --help to see the accepted flags.' },
  CONFIG_KEY: { exit: EXIT.usage, hint: 'Run `rtwh config show` to see every key, or `rtwh config init` for a commented starter file.' },
  CONFIG_VALUE: { exit: EXIT.usage, hint: 'Fix the value in the flag, the RTWH_* variable or rtwh.toml, whichever set it.' },
  CONFIG_FILE: { exit: EXIT.usage, hint: 'Check the TOML syntax near the position given, or pass another file with --config.' },
  BUS_URL: { exit: EXIT.usage, hint: 'Use --bus kafka://host:port[,host:port] or --bus sqlite:PATH.' },
  NOT_BUILT: { exit: EXIT.notBuilt, hint: 'This command group is planned; see `rtwh --help` for what works today.' },
  BUS_UNAVAILABLE: { exit: EXIT.unavailable, hint: 'Is the broker up? For the dev stack run `scripts/stack.sh up`; for no servers use --bus sqlite:PATH.' },
  BUS_ERROR: { exit: EXIT.unavailable, hint: 'The bus refused the request; the cause is shown above.' },
  BUS_NOT_FOUND: { exit: EXIT.notFound, hint: 'The bus file is made by the first command that writes to it (`rtwh mock db --to ods_db`, `rtwh topics create NAME`, a job); check --bus, RTWH_BUS or bus in rtwh.toml.' },
  TOPIC_NOT_FOUND: { exit: EXIT.notFound, hint: 'List topics with `rtwh topics`; create one with `rtwh topics create NAME`.' },
  GROUP_NOT_FOUND: { exit: EXIT.notFound, hint: 'List groups with `rtwh groups`.' },
  TOPIC_EXISTS: { exit: EXIT.refused, hint: 'Pick another name, or use the existing topic.' },
  INVALID_NAME: { exit: EXIT.data, hint: 'Names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$ (topics may also use . and -).' },
  MESSAGE_TOO_LARGE: { exit: EXIT.data, hint: 'Raise the broker/topic max.message.bytes, or send smaller records.' },
  QUERY_FAILED: { exit: EXIT.data, hint: 'Check the SQL; `rtwh query "show tables"` lists what is there.' },
  DWS_TABLE_NOT_FOUND: { exit: EXIT.notFound, hint: 'The dws job creates the DWS tables: run `rtwh run dws` first (e.g. `rtwh run dws --until-idle`), or point --duckdb at the warehouse it writes.' },
  DWS_SINK_URL: { exit: EXIT.usage, hint: 'Use --sink duckdb:PATH (the default is duckdb:<duckdb.path>) or --sink mysql://user:pass@host:port/db (MySQL, MariaDB).' },
  QUERY_ENDPOINT: { exit: EXIT.unavailable, hint: 'A running `rtwh run dws` holds the warehouse file and answers queries through the endpoint it writes next to it (<warehouse>.endpoint). Stop the process holding the file, or run the query while that dws job is up.' },
  QUERY_WRITE_REFUSED: { exit: EXIT.refused, hint: 'rtwh query is read-only; add --allow-write if you really mean to change data.' },
  DUCKDB_LOAD: { exit: EXIT.internal, hint: 'The embedded DuckDB library could not be loaded; set RTWH_CACHE_DIR to a writable directory and retry.' },
  DUCKDB_OPEN: { exit: EXIT.unavailable, hint: 'Check the path; if another rtwh process (a dws job or `rtwh serve`) writes that file, query through it or stop it first.' },
  MYSQL_UNAVAILABLE: { exit: EXIT.unavailable, hint: 'Is MySQL/MariaDB up and the URL right? For the dev stack run `scripts/stack.sh up`; set --mysql or RTWH_MYSQL.' },
  MYSQL_ACCESS_DENIED: { exit: EXIT.unavailable, hint: 'Check the user and password in --mysql, RTWH_MYSQL or rtwh.toml (`rtwh config show` prints them masked).' },
  MYSQL_ERROR: { exit: EXIT.unavailable, hint: 'MySQL refused the statement; the cause is shown above.' },
  DIM_OFFSET_FENCED: { exit: EXIT.refused, hint: 'Another dim job advanced this partition meanwhile; the job re-reads the stored offsets and goes on.' },
  DIM_STORE_URL: { exit: EXIT.usage, hint: 'Use --dim-store sqlite:PATH (or a plain file path) or mysql://user:pass@host:port/db.' },
  DIM_STORE_UNAVAILABLE: { exit: EXIT.unavailable, hint: 'Check that the dim store file and its directory are writable and not on a network file system, and that no stuck process holds it (`ps`).' },
  DIM_SCHEMA: { exit: EXIT.refused, hint: 'The dim table does not fit the table_process rule; fix the rule, or drop the dim table and let the dim job create it again.' },
  DIM_TABLE_NOT_FOUND: { exit: EXIT.notFound, hint: 'The dim job creates dim tables from table_process; `rtwh run dim` first, or check the name.' },
  CACHE_URL: { exit: EXIT.usage, hint: 'Use --cache redis://host:port (or redis://:password@host:port/db).' },
  CACHE_UNAVAILABLE: { exit: EXIT.unavailable, hint: 'Is Redis up at the --cache URL? Lookups fall back to the dim store meanwhile; invalidations are kept and sent when it is back.' },
  POSITION_FILE: { exit: EXIT.data, hint: 'The ship position file is damaged. Restore it, or move it away to ship every file from the start again (that re-sends lines already shipped).' },
  DIM_CONFIG_FILE: { exit: EXIT.usage, hint: 'Give --config-file a .csv (header row, RFC 4180 quoting) or a .json array of table_process rows (source_table, sink_table, sink_columns, sink_pk, sink_extend).' },
  DIM_CONFIG_TABLE: { exit: EXIT.data, hint: 'The config table needs the 2022 columns (source_table, sink_table, sink_columns, sink_pk, sink_extend) or the 2023 ones (source_table, sink_table, sink_family, sink_columns, sink_row_key); `rtwh run dim --init-config` creates it with the standard rows.' },
  POSITION_LOCKED: { exit: EXIT.refused, hint: 'Another `rtwh ship log` uses this position file; stop it first (Ctrl-C saves its positions). A second shipper of the same files with a --position of its own would ship every line again.' },
  MOCK_PUBLISHING: { exit: EXIT.refused, hint: 'Wait for the other run to finish, or stop it.' },
  JOB_LOCKED: {
    exit: EXIT.refused,
    hint: 'Another process runs this job with this state file; stop it first (Ctrl-C lets it commit). One process runs a job: a second one with its own --state in the same --group shares out the partitions without the state and processes records again; an independent copy needs its own --state, --group and output topics.',
  },
  JOB_STATE: { exit: EXIT.data, hint: 'The job state file is not usable as it is; restore it, or move it away to start the job from --from again (outputs already on the bus are then produced again).' },
  JOB_FAILED: { exit: EXIT.internal, hint: 'The job logic threw: a bug in the job. Nothing of that batch was committed; the record is read again on the next start. Run with RTWH_DEBUG=1 for the stack trace and report it.' },
  INTERRUPTED: { exit: EXIT.interrupted, hint: 'Stopped by a signal; committed work is kept.' },
  INTERNAL: { exit: EXIT.internal, hint: 'This is a bug in rtwh. Run again with RTWH_DEBUG=1 for the stack trace and report it.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

export interface RtwhErrorOptions {
  cause?: unknown;
  /** Extra facts shown in --json output (never secrets). */
  details?: Record<string, unknown>;
  /** Overrides the catalog hint when the situation knows better. */
  hint?: string;
}

export class RtwhError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: RtwhErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RtwhError';
    this.code = code;
    this.exitCode = catalog[code].exit;
    this.hint = opts.hint ?? catalog[code].hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: {
        code: this.code,
        exit: this.exitCode,
        message: this.message,
        hint: this.hint,
        ...(this.details ? { details: this.details } : {}),
        ...(this.cause instanceof Error ? { cause: this.cause.message } : {}),
      },
    };
  }
}

export function rtwhError(code: ErrorCode, message: string, opts?: RtwhErrorOptions): RtwhError {
  return new RtwhError(code, message, opts);
}

/** Anything thrown → an RtwhError (unknown errors become INTERNAL, keeping the cause). */
export function toRtwhError(e: unknown): RtwhError {
  if (e instanceof RtwhError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new RtwhError('INTERNAL', msg, { cause: e });
}

/** Quote a user-supplied value for an error message: `"2025-1-15"`. */
export function q(v: unknown): string {
  return JSON.stringify(typeof v === 'string' ? v : String(v));
}

/**
 * JavaScriptCore's (and V8's) error for a recursion deeper than the stack: what walking a record nested tens of
 * thousands of levels deep gives. Such a record fails the same way every time, so it is refused as bad input.
 */
export function stackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /maximum call stack size exceeded/i.test(e.message);
}
