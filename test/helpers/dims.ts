/** Dim tables in memory for job tests: folded from the writes `run dim` makes, and served as the jobs' DimReader. */
import type { DimRow, DimWrite } from '../../src/dim/types';
import type { DimReader } from '../../src/stream/types';

/** Dim table name → id → row. */
export type DimTables = Map<string, Map<string, DimRow>>;

/** Applies dim writes (upserts and deletes) in order, as the dim store does. */
export function applyDimWrites(tables: DimTables, writes: readonly DimWrite[]): void {
  for (const w of writes) {
    let t = tables.get(w.table);
    if (!t) tables.set(w.table, (t = new Map()));
    if (w.op === 'delete') t.delete(w.id);
    else t.set(w.id, w.row);
  }
}

/** The tables as the dim store a job reads (get, getMany). */
export function dimReaderOf(tables: DimTables): DimReader {
  return {
    async get(table, id) {
      return tables.get(table)?.get(id);
    },
    async getMany(table, ids) {
      const out = new Map<string, DimRow>();
      for (const id of ids) {
        const row = tables.get(table)?.get(id);
        if (row) out.set(id, row);
      }
      return out;
    },
  };
}
