/**
 * What the two dim stores (store-sqlite.ts, store-mysql.ts) share: checking the untrusted names that come from
 * the table_process config, the column list of a rule, cutting a batch of writes into runs that one multi-row
 * statement can carry, and the pruning policy of the invalidation feed.
 */
import { q, rtwhError, type RtwhError } from '../errors.ts';
import type { DimRow, DimWrite, StoredOffset, TableProcess } from './types.ts';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const NAME_HINT = 'Dim table and column names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$ (fix the table_process row).';

/** Internal tables of the dim store start with this prefix; no dim table may. */
export const INTERNAL_PREFIX = '_rtwh_';

/** A rule that keys an existing dim table by another column (both stores refuse it, the job rejects the rule). */
export function keyChanged(table: string, keys: readonly string[], pk: string): RtwhError {
  return rtwhError('DIM_SCHEMA', `dim table ${q(table)} is keyed by ${keys.length ? keys.map((k) => q(k)).join(', ') : 'no column'}; the rule keys it by ${q(pk)}`, {
    hint: "A dim table's key column cannot change: give the rule a new sink_table, or drop the dim table and let the dim job create it again.",
  });
}

/** Dim table names may not start with these (case-insensitive): the store's own tables and SQLite's. */
export const RESERVED_TABLE_PREFIXES: readonly string[] = [INTERNAL_PREFIX, 'sqlite_'];

/** The reserved prefix `name` starts with, if any. */
export function reservedPrefix(name: string): string | undefined {
  const lower = name.toLowerCase();
  return RESERVED_TABLE_PREFIXES.find((p) => lower.startsWith(p));
}

/** A name from config or data that is spliced into SQL: checked here, then quoted by each store. */
export function checkDimName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    const shown = typeof name === 'string' && name.length > 80 ? `${name.slice(0, 80)}…" (${name.length} characters)` : q(name);
    throw rtwhError('INVALID_NAME', `invalid ${what} ${shown}`, { hint: NAME_HINT, details: { what } });
  }
  return name;
}

export function checkDimTable(name: unknown): string {
  const t = checkDimName(name, 'dim table name');
  const prefix = reservedPrefix(t);
  if (prefix !== undefined) {
    throw rtwhError('INVALID_NAME', `invalid dim table name ${q(t)}: names starting with ${RESERVED_TABLE_PREFIXES.join(' or ')} are reserved (it starts with ${prefix})`, {
      hint: `Pick a sink_table that does not start with ${RESERVED_TABLE_PREFIXES.join(' or ')} (fix the table_process row).`,
    });
  }
  return t;
}

/** A rule's table columns: the key first, then the others in config order; names checked, no duplicates. */
export function ruleColumns(tp: TableProcess): { table: string; pk: string; columns: string[] } {
  const table = checkDimTable(tp.sinkTable);
  const pk = checkDimName(tp.sinkPk, `primary-key column of ${table}`);
  const columns = [pk];
  const seen = new Set([pk.toLowerCase()]);
  for (const c of tp.sinkColumns) {
    checkDimName(c, `column of ${table}`);
    const lc = c.toLowerCase();
    if (lc === pk.toLowerCase()) continue;
    if (seen.has(lc)) throw rtwhError('DIM_SCHEMA', `dim table ${q(table)} lists column ${q(c)} twice (names are case-insensitive)`);
    seen.add(lc);
    columns.push(c);
  }
  return { table, pk, columns };
}

/** Consecutive writes one statement family can carry: upserts of one table with one column set, or deletes. */
export type WriteRun =
  | { kind: 'upsert'; table: string; pk: string; columns: string[]; ids: string[]; rows: DimRow[] }
  | { kind: 'delete'; table: string; pk: string; ids: string[] };

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Cuts `writes` into runs, keeping their order (a later write of the same id always lands after an earlier
 * one). An upsert's key value is its `id`; a key column inside `row` is ignored. Names are checked once per run.
 */
export function writeRuns(writes: readonly DimWrite[]): WriteRun[] {
  const runs: WriteRun[] = [];
  let cur: WriteRun | undefined;
  let curKeys: string[] = [];
  for (const w of writes) {
    if (w.op === 'upsert') {
      const keys = Object.keys(w.row);
      if (cur?.kind === 'upsert' && cur.table === w.table && cur.pk === w.pk && sameKeys(curKeys, keys)) {
        cur.ids.push(w.id);
        cur.rows.push(w.row);
        continue;
      }
      const table = checkDimTable(w.table);
      const pk = checkDimName(w.pk, `primary-key column of ${table}`);
      const columns: string[] = [];
      for (const k of keys) if (checkDimName(k, `column of ${table}`) !== pk) columns.push(k);
      cur = { kind: 'upsert', table, pk, columns, ids: [w.id], rows: [w.row] };
      curKeys = keys;
      runs.push(cur);
    } else if (w.op === 'delete') {
      if (cur?.kind === 'delete' && cur.table === w.table && cur.pk === w.pk) {
        cur.ids.push(w.id);
        continue;
      }
      const table = checkDimTable(w.table);
      cur = { kind: 'delete', table, pk: checkDimName(w.pk, `primary-key column of ${table}`), ids: [w.id] };
      runs.push(cur);
    } else {
      throw rtwhError('INTERNAL', `unknown dim write op ${q((w as { op?: unknown }).op)}`);
    }
  }
  for (const r of runs) for (const id of r.ids) if (typeof id !== 'string') throw rtwhError('DIM_SCHEMA', `dim write to ${q(r.table)} has a non-text key ${q(id)}`);
  return runs;
}

/** How long the invalidation feed is kept: an entry goes once it is beyond the last `keepEntries` OR older than `keepMs`. */
export interface FeedPolicy {
  /** Default 1,000,000. */
  keepEntries?: number;
  /** Default one hour. */
  keepMs?: number;
  /** Pruning runs at most this often per store instance (default 10 s). */
  pruneEveryMs?: number;
}

export interface ResolvedFeedPolicy {
  keepEntries: number;
  keepMs: number;
  pruneEveryMs: number;
}

export function feedPolicy(p: FeedPolicy = {}): ResolvedFeedPolicy {
  return {
    keepEntries: Math.max(0, Math.trunc(p.keepEntries ?? 1_000_000)),
    keepMs: Math.max(0, p.keepMs ?? 3_600_000),
    pruneEveryMs: Math.max(0, p.pruneEveryMs ?? 10_000),
  };
}

/** Multi-row statement sizes, largest first: a run of n rows is cut into these (at most one of each below the top). */
export const CHUNKS = [64, 32, 16, 8, 4, 2, 1] as const;

/** Most ids one `getMany` statement asks for. */
export const GET_CHUNK = 256;

/** Default cap of `invalidationsSince` when no limit is given. */
export const FEED_PAGE = 10_000;

/** An input position about to be stored: a group and topic, a partition and an offset that are whole numbers. */
/** apply() refused: the stored offset is not the one the job read (another job advanced the partition). */
export function offsetFenced(o: StoredOffset, have: number | null, where: string): RtwhError {
  return rtwhError('DIM_OFFSET_FENCED', `${o.topic}:${o.partition} of group ${q(o.group)} is at ${have ?? 'no offset'} in ${where}, not ${o.expected ?? 'no offset'} as this job read it: another job advanced it`);
}

export function checkOffset(o: StoredOffset): void {
  if (typeof o.group !== 'string' || typeof o.topic !== 'string' || !Number.isSafeInteger(o.partition) || !Number.isSafeInteger(o.offset) || o.partition < 0 || o.offset < 0) {
    throw rtwhError('INTERNAL', `bad stored offset ${q(JSON.stringify(o))}`);
  }
}
