/** Runs a bound ADS preset on an open DuckDB store: the tables it reads are checked first, by name. */
import { rtwhError } from '../errors';
import type { QueryResult } from '../output/result';
import type { DuckStore } from '../store/duckdb';
import type { BoundPreset } from './presets';

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
