/**
 * Validation of Maxwell JSON (zendesk/maxwell RowMap / DDLMap output) against the format, with reasons that
 * name the field. The encoder is maxwell.ts; this side reads what any Maxwell (ours or the real one) wrote.
 *
 * Units: row and bootstrap records carry `ts` in SECONDS, DDL records in milliseconds (Maxwell's own quirk).
 * A 13-digit `ts` on a row is the classic mistake of a hand-written producer: it is named as such.
 */
import { Checker, isObj, type Obj } from './validate-check.ts';

export const MAXWELL_ROW_TYPES = ['insert', 'update', 'delete', 'bootstrap-insert'] as const;
export const MAXWELL_BOOTSTRAP_MARKS = ['bootstrap-start', 'bootstrap-complete'] as const;
export const MAXWELL_DDL_TYPES = ['database-create', 'database-alter', 'database-drop', 'table-create', 'table-alter', 'table-drop'] as const;
export const MAXWELL_TYPES = [...MAXWELL_ROW_TYPES, ...MAXWELL_BOOTSTRAP_MARKS, ...MAXWELL_DDL_TYPES] as const;

export type MaxwellType = (typeof MAXWELL_TYPES)[number];

/** The typed view of a valid Maxwell record (values of data/old are left as parsed). */
export interface MaxwellMessage {
  database: string;
  table?: string;
  type: MaxwellType;
  ts: number;
  xid?: number;
  xoffset?: number;
  commit?: boolean;
  data?: Obj;
  old?: Obj;
  primary_key_columns?: string[];
}

const DDL = new Set<string>(MAXWELL_DDL_TYPES);

/** Reasons why `obj` is not a Maxwell record; empty when it is one. Never throws. */
export function validateMaxwell(obj: unknown): string[] {
  const c = new Checker();
  if (!isObj(obj)) {
    c.fail('(record)', 'a JSON object', obj);
    return c.reasons;
  }
  const type = c.oneOf(obj, 'type', MAXWELL_TYPES);
  const ddl = type !== undefined && DDL.has(type);
  c.str(obj, 'database');
  // database-* DDL has no table; everything else names one.
  c.str(obj, 'table', { optional: ddl && type.startsWith('database-'), nullable: ddl && type.startsWith('database-') });
  if (ddl) c.ms(obj, 'ts');
  else c.seconds(obj, 'ts');

  c.whole(obj, 'xid', { optional: true });
  c.whole(obj, 'xoffset', { optional: true });
  c.bool(obj, 'commit', { optional: true });
  if (obj.commit === false) c.push('commit', 'Maxwell writes commit only as true, on the last row of a transaction');
  if (obj.commit === true && obj.xoffset !== undefined) c.push('xoffset', 'a row with commit:true is the last of its transaction and carries no xoffset');
  c.str(obj, 'position', { optional: true });
  c.str(obj, 'gtid', { optional: true, nullable: true });
  for (const k of ['server_id', 'thread_id', 'schema_id', 'push_ts']) c.whole(obj, k, { optional: true });
  c.str(obj, 'comment', { optional: true, empty: true });
  c.strings(obj, 'primary_key_columns', { optional: true });

  if (ddl) {
    c.str(obj, 'sql');
    if (type.startsWith('table-') && type !== 'table-drop') c.obj(obj, 'def');
    return c.reasons;
  }

  const data = c.obj(obj, 'data');
  if (type === 'bootstrap-start' || type === 'bootstrap-complete') {
    if (data && Object.keys(data).length > 0) c.push('data', `a ${type} record carries an empty data object`);
  }
  if (obj.old !== undefined) {
    if (type !== undefined && type !== 'update') c.push('old', `only updates carry old, got one on ${type === 'insert' ? 'an' : 'a'} ${type}`);
    const old = c.obj(obj, 'old');
    if (old && data) {
      for (const k of Object.keys(old)) {
        if (!(k in data)) c.push(`old.${k}`, 'not a column of data (old holds previous values of data columns)');
      }
    }
  }
  return c.reasons;
}
