/**
 * The ODS ETL of gmall-realtime, as a verdict per checked record (`rtwh tail --etl`, and the jobs' input filter).
 * Which rule applies is the topic's role (EtlRole):
 *
 *   db    (ods_db) keep database `gmall` (configurable: etl.database / --database), types insert, update and
 *         bootstrap-insert (counted and printed as insert: the seed's ETL strips the prefix), with `data` present
 *         and non-empty. Debezium: op c/r/u with `after`; Canal: INSERT/UPDATE with rows. App logs are not row
 *         changes: rejected as `wrong format`.
 *   log   (ods_log) the seed's rule and nothing more: a JSON object with an object `common` and a numeric `ts`
 *         (appLogEtlReasons). A kept record that validateAppLog still finds fault with (no start or page, a page
 *         without during_time, ts in seconds…) carries those findings as warnings, not a rejection.
 *   auto  (another topic, a file) each record by its recognised format: app logs by the log rule, the rest by the
 *         db rule.
 *
 * Everything else is rejected with a reason from a small fixed set, so summaries can count per reason:
 * null value, empty value, invalid UTF-8, invalid JSON, unknown format, invalid <format>, wrong database,
 * delete, empty data, other type (DDL, bootstrap-start/complete, truncate…), wrong format, not an app log.
 */
import { appLogEtlReasons, appLogType, validateAppLog } from '../formats/applog.ts';
import { isObj, type Obj } from '../formats/validate-check.ts';
import { debeziumPayload } from '../formats/validate-debezium.ts';
import type { RecordFormat } from '../formats/detect.ts';
import type { CheckedRecord, RecordProblem } from '../formats/validate.ts';

export type EtlReason = RecordProblem | 'wrong database' | 'delete' | 'empty data' | 'other type' | 'wrong format' | 'not an app log';

/** Which ETL applies: the one of ods_db, of ods_log, or per record by its format (see the top of this file). */
export const ETL_ROLES = ['db', 'log', 'auto'] as const;
export type EtlRole = (typeof ETL_ROLES)[number];

/** The role of a topic by its name: ods_db and ods_log are the seed's (and every rtwh command's default) names. */
export function etlRoleOf(topic: string | undefined): EtlRole {
  return topic === 'ods_db' ? 'db' : topic === 'ods_log' ? 'log' : 'auto';
}

/** Table and type of a record for counting: `order_info` × `insert`; app logs are `applog` × `start|page|other`. */
export interface RecordKind {
  table: string;
  type: string;
}

/** Category of the warnings on a kept app log (validateAppLog's findings). */
export const APPLOG_WARNING = 'invalid applog';

export type EtlVerdict =
  | ({
      keep: true;
      /** Findings of the format's validator that the ETL does not reject for (app logs kept by the log rule). */
      warnings?: string[];
      /** A Maxwell bootstrap-insert: printed with its `type` rewritten to insert (retype.ts). */
      retype?: true;
    } & RecordKind)
  | { keep: false; reason: EtlReason; detail: string; kind?: RecordKind };

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
      return { table: 'applog', type: appLogType(o) };
  }
}

const DEBEZIUM_TYPE: Record<string, string> = { c: 'insert', u: 'update', d: 'delete', r: 'read', t: 'truncate', m: 'message' };

/** The ETL verdict of one checked record; `database` is the business database to keep. */
export function odsEtl(r: CheckedRecord, database: string, role: EtlRole = 'auto'): EtlVerdict {
  if (role === 'log' || (role === 'auto' && r.format === 'applog')) return logEtl(r);
  // An app log on a db topic is the wrong format whether or not it is a valid one.
  if (r.format === 'applog') return WRONG_FORMAT;
  if (!r.ok) return { keep: false, reason: r.problem, detail: r.reasons.join('; ') };
  return odsEtlValid(r, database);
}

const WRONG_FORMAT: EtlVerdict = {
  keep: false,
  reason: 'wrong format',
  detail: 'an app log, not a row change (the ods_db ETL keeps Maxwell, Debezium and Canal rows; --etl-as log for app logs)',
};

/** The ods_log rule: any JSON object with an object `common` and a numeric `ts`; validation findings as warnings. */
function logEtl(r: CheckedRecord): EtlVerdict {
  // Not a JSON value at all (null, empty, not UTF-8, not JSON): the same reason as without the ETL.
  if (!r.ok && !r.json) return { keep: false, reason: r.problem, detail: r.reasons.join('; ') };
  const obj = r.obj;
  const missing = appLogEtlReasons(obj);
  if (missing.length > 0) return { keep: false, reason: 'not an app log', detail: missing.join('; ') };
  const kind = { table: 'applog', type: appLogType(obj as Obj) };
  if (r.ok && r.format === 'applog') return { keep: true, ...kind };
  return { keep: true, ...kind, warnings: validateAppLog(obj) };
}

/** The log rule for a record known to be a valid app log (the fast paths). */
export function keptAppLog(o: Obj): EtlVerdict {
  return { keep: true, table: 'applog', type: appLogType(o) };
}

/** The ETL verdict of a record known to be valid in its format. */
export function odsEtlValid(r: { format: RecordFormat; obj: Obj }, database: string, role: EtlRole = 'auto'): EtlVerdict {
  const o = r.obj;
  if (role === 'log') return r.format === 'applog' ? keptAppLog(o) : logEtl({ ok: true, format: r.format, text: '', obj: o });
  const kind = recordKind(r);
  const wrongDb = (db: unknown): EtlVerdict => ({ keep: false, reason: 'wrong database', detail: `database ${JSON.stringify(db)}, expected ${JSON.stringify(database)}`, kind });
  switch (r.format) {
    case 'applog':
      return role === 'db' ? WRONG_FORMAT : { keep: true, ...kind };
    case 'maxwell': {
      if (o.database !== database) return wrongDb(o.database);
      const t = o.type as string;
      if (t === 'delete') return { keep: false, reason: 'delete', detail: 'type delete', kind };
      if (t !== 'insert' && t !== 'update' && t !== 'bootstrap-insert') return { keep: false, reason: 'other type', detail: `type ${t}`, kind };
      if (!nonEmpty(o.data)) return { keep: false, reason: 'empty data', detail: 'data is empty', kind };
      return t === 'bootstrap-insert' ? { keep: true, table: kind.table, type: 'insert', retype: true } : { keep: true, table: kind.table, type: t };
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
