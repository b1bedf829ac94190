/**
 * Runs a bound ADS preset on an open DuckDB store: the tables it reads are checked first, by name.
 * And the read-only rule of `rtwh query`: the one QUERY_WRITE_REFUSED error, naming the statement and its kind.
 */
import { q, rtwhError, type RtwhError } from '../errors';
import type { QueryResult } from '../output/result';
import type { DuckStore, NonRead } from '../store/duckdb';
import type { BoundPreset } from './presets';

/** What `rtwh query` runs without --allow-write, for messages. */
export const PLAIN_READS = 'SELECT, WITH, FROM, VALUES, TABLE, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN';

/** A statement as it reads in one line of an error message: whitespace collapsed, at most 100 characters. */
function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 100 ? `${s.slice(0, 99)}…` : s;
}

/**
 * QUERY_WRITE_REFUSED for a statement `rtwh query` does not run without --allow-write, e.g.
 * `refusing "SET threads=1", a SET statement: rtwh query runs only plain reads (SELECT, …) unless --allow-write`.
 */
export function writeRefused(n: NonRead): RtwhError {
  const kind = /^[AEIOU]/.test(n.kind) ? `an ${n.kind}` : `a ${n.kind}`;
  return rtwhError(
    'QUERY_WRITE_REFUSED',
    `refusing ${q(oneLine(n.statement))}, ${kind} statement${n.reason ? ` (${n.reason})` : ''}: rtwh query runs only plain reads (${PLAIN_READS}) unless --allow-write`,
    { details: { kind: n.kind, statement: n.statement, ...(n.reason ? { reason: n.reason } : {}) } },
  );
}

/** Throws writeRefused when `sql` holds a statement that is not a plain read (checked against db's catalog; runs nothing). */
export async function assertReadOnly(db: DuckStore, sql: string): Promise<void> {
  // a running job's endpoint checks when it runs the statement: no second round trip to ask first
  if (db.refusesNonReads) return;
  const n = await db.nonRead(sql);
  if (n) throw writeRefused(n);
}

/** The tables (or views) of `tables` that `db` does not have, in the order given. */
export async function missingTables(db: DuckStore, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  // The names are rtwh's own constants (src/query/tables.ts), quoted as string literals all the same.
  const list = tables.map((t) => `'${t.replaceAll("'", "''")}'`).join(', ');
  // duckdb_tables()/duckdb_views() answer in about a millisecond; information_schema is a view over them and slower.
  const { rows } = await db.query(
    `select table_name from duckdb_tables() where table_name in (${list}) union select view_name from duckdb_views() where view_name in (${list})`,
  );
  const present = new Set(rows.map((r) => String(r[0])));
  return tables.filter((t) => !present.has(t));
}

/**
 * The preset's result; DWS_TABLE_NOT_FOUND naming every missing table before any SQL runs.
 * `where` names the warehouse in that message (e.g. the file path, or "an empty in-memory database").
 */
export async function runPreset(db: DuckStore, bound: BoundPreset, where: string = db.path): Promise<QueryResult> {
  const missing = await missingTables(db, bound.preset.tables);
  if (missing.length > 0) {
    const what = missing.length === 1 ? `table ${missing[0]}` : `tables ${missing.join(', ')}`;
    throw rtwhError('DWS_TABLE_NOT_FOUND', `preset ${bound.preset.name} needs the DWS ${what}, which ${where} does not have`, {
      details: { preset: bound.preset.name, missing, warehouse: where },
    });
  }
  return db.query(bound.sql);
}
