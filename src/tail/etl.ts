/**
 * The ODS ETL of gmall-realtime, as a verdict per checked record (`rtwh tail --etl`, and the jobs' input filter):
 *
 *   ods_db   keep database `gmall` (configurable: etl.database / --database), types insert, update and
 *            bootstrap-insert (counted as insert; DimApp strips the prefix), with `data` present and non-empty.
 *            Debezium: op c/r/u with `after`; Canal: INSERT/UPDATE with rows.
 *   ods_log  a valid app log (a JSON object with `common` and `ts`, and the rest of its format).
 *
 * Everything else is rejected with a reason from a small fixed set, so summaries can count per reason:
 * null value, empty value, invalid UTF-8, invalid JSON, unknown format, invalid <format>, wrong database,
 * delete, empty data, other type (DDL, bootstrap-start/complete, truncate…).
 */
import { isObj, type Obj } from '../formats/validate-check.ts';
import { debeziumPayload } from '../formats/validate-debezium.ts';
import type { RecordFormat } from '../formats/detect.ts';
import type { CheckedRecord, RecordProblem } from '../formats/validate.ts';

export type EtlReason = RecordProblem | 'wrong database' | 'delete' | 'empty data' | 'other type';

/** Table and type of a record for counting: `order_info` × `insert`; app logs are `applog` × `start|page`. */
export interface RecordKind {
  table: string;
  type: string;
}

export type EtlVerdict = ({ keep: true } & RecordKind) | { keep: false; reason: EtlReason; detail: string; kind?: RecordKind };

function nonEmpty(o: unknown): boolean {
  if (!isObj(o)) return false;
  for (const _ in o) return true;
  return false;
}

/** Table × type of a valid record (no ETL decision): what the summary of a plain tail counts. */
export function recordKind(r: { format: RecordFormat; obj: Obj }): RecordKind {
  const o = r.obj;
  switch (r.format) {
    case 'maxwell':
      return { table: typeof o.table === 'string' ? o.table : '(none)', type: String(o.type) };
    case 'debezium': {
      const p = debeziumPayload(o) as Obj;
      const s = p.source as Obj;
      return { table: typeof s.table === 'string' ? s.table : '(none)', type: DEBEZIUM_TYPE[String(p.op)] ?? String(p.op) };
    }
    case 'canal':
      return { table: o.table === '' ? '(none)' : String(o.table), type: String(o.type).toLowerCase() };
    case 'applog':
      return { table: 'applog', type: o.start !== undefined ? 'start' : 'page' };
  }
}

const DEBEZIUM_TYPE: Record<string, string> = { c: 'insert', u: 'update', d: 'delete', r: 'read', t: 'truncate', m: 'message' };

/** The ETL verdict of one checked record; `database` is the business database to keep. */
export function odsEtl(r: CheckedRecord, database: string): EtlVerdict {
  if (!r.ok) return { keep: false, reason: r.problem, detail: r.reasons.join('; ') };
  return odsEtlValid(r, database);
}

/** The ETL verdict of a record known to be valid in its format. */
export function odsEtlValid(r: { format: RecordFormat; obj: Obj }, database: string): EtlVerdict {
  const o = r.obj;
  const kind = recordKind(r);
  const wrongDb = (db: unknown): EtlVerdict => ({ keep: false, reason: 'wrong database', detail: `database ${JSON.stringify(db)}, expected ${JSON.stringify(database)}`, kind });
  switch (r.format) {
    case 'applog':
      return { keep: true, ...kind };
    case 'maxwell': {
      if (o.database !== database) return wrongDb(o.database);
      const t = o.type as string;
      if (t === 'delete') return { keep: false, reason: 'delete', detail: 'type delete', kind };
      if (t !== 'insert' && t !== 'update' && t !== 'bootstrap-insert') return { keep: false, reason: 'other type', detail: `type ${t}`, kind };
      if (!nonEmpty(o.data)) return { keep: false, reason: 'empty data', detail: 'data is empty', kind };
      return { keep: true, table: kind.table, type: t === 'bootstrap-insert' ? 'insert' : t };
    }
    case 'debezium': {
      const p = debeziumPayload(o) as Obj;
      const db = (p.source as Obj).db;
      if (db !== database) return wrongDb(db);
      const op = p.op as string;
      if (op === 'd') return { keep: false, reason: 'delete', detail: 'op d', kind };
      if (op !== 'c' && op !== 'u' && op !== 'r') return { keep: false, reason: 'other type', detail: `op ${op}`, kind };
      if (!nonEmpty(p.after)) return { keep: false, reason: 'empty data', detail: 'after is empty', kind };
      return { keep: true, table: kind.table, type: op === 'u' ? 'update' : 'insert' };
    }
    case 'canal': {
      if (o.database !== database) return wrongDb(o.database);
      const t = o.type as string;
      if (t === 'DELETE') return { keep: false, reason: 'delete', detail: 'type DELETE', kind };
      if (o.isDdl === true || (t !== 'INSERT' && t !== 'UPDATE')) return { keep: false, reason: 'other type', detail: `type ${t}`, kind };
      const data = o.data as unknown[];
      if (data.length === 0 || !data.every(nonEmpty)) return { keep: false, reason: 'empty data', detail: 'data has no rows or an empty row', kind };
      return { keep: true, table: kind.table, type: t.toLowerCase() };
    }
  }
}
