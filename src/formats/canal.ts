/**
 * Canal's flat message (canal.mq.flatMessage=true), what alibaba/canal puts on Kafka for a binlog event:
 *
 *   {"data":[{"id":"1","name":"北京"}],"database":"gmall","es":1736821234000,"id":7,"isDdl":false,
 *    "mysqlType":{"id":"bigint(20)","name":"varchar(20)"},"old":null,"pkNames":["id"],"sql":"",
 *    "sqlType":{"id":-5,"name":12},"table":"base_province","ts":1736821234567,"type":"INSERT"}
 *
 * One message holds every row of one binlog event (data is an array), every value is a string or null, and
 * `old` (updates) is an array aligned with data holding only the changed columns. `es` is the binlog time and
 * `ts` the build time, both epoch milliseconds.
 */
import { Checker, isObj, type Obj } from './validate-check.ts';

export const CANAL_ROW_TYPES = ['INSERT', 'UPDATE', 'DELETE'] as const;
export const CANAL_TYPES = [
  ...CANAL_ROW_TYPES, 'CREATE', 'ALTER', 'ERASE', 'QUERY', 'TRUNCATE', 'RENAME', 'CINDEX', 'DINDEX', 'GTID', 'XACOMMIT', 'XAROLLBACK', 'MHEARTBEAT',
] as const;
export type CanalType = (typeof CANAL_TYPES)[number];

export interface CanalFlatMessage {
  id: number;
  database: string;
  table: string;
  pkNames: string[] | null;
  isDdl: boolean;
  type: CanalType;
  /** Binlog time, epoch ms. */
  es: number;
  /** Message build time, epoch ms. */
  ts: number;
  sql: string;
  sqlType: Record<string, number> | null;
  mysqlType: Record<string, string> | null;
  data: Record<string, string | null>[] | null;
  old: Record<string, string | null>[] | null;
  gtid?: string;
}

/** Reasons why `obj` is not a Canal flat message; empty when it is one. Never throws. */
export function validateCanal(obj: unknown): string[] {
  const c = new Checker();
  if (!isObj(obj)) {
    c.fail('(record)', 'a JSON object', obj);
    return c.reasons;
  }
  const type = c.oneOf(obj, 'type', CANAL_TYPES);
  c.whole(obj, 'id');
  c.str(obj, 'database', { empty: true });
  c.str(obj, 'table', { empty: true });
  c.bool(obj, 'isDdl');
  c.strings(obj, 'pkNames', { nullable: true });
  c.ms(obj, 'es');
  c.ms(obj, 'ts');
  c.str(obj, 'sql', { empty: true, optional: true, nullable: true });
  c.str(obj, 'gtid', { empty: true, optional: true, nullable: true });
  const sqlType = c.obj(obj, 'sqlType', { nullable: true, optional: true });
  if (sqlType) for (const [k, v] of Object.entries(sqlType)) if (typeof v !== 'number' || !Number.isInteger(v)) c.fail(`sqlType.${k}`, 'a java.sql.Types code (a whole number)', v);
  const mysqlType = c.obj(obj, 'mysqlType', { nullable: true, optional: true });
  if (mysqlType) for (const [k, v] of Object.entries(mysqlType)) if (typeof v !== 'string') c.fail(`mysqlType.${k}`, 'a MySQL type name', v);

  const row = type === 'INSERT' || type === 'UPDATE' || type === 'DELETE';
  if (row && obj.isDdl === true) c.push('isDdl', `a ${type} is not DDL`);
  if (row && obj.table === '') c.push('table', 'a row change names its table');
  const data = rows(c, obj, 'data', row);
  const old = rows(c, obj, 'old', false);
  if (old) {
    if (type !== 'UPDATE') c.push('old', `only updates carry old, got one on ${type ?? 'this type'}`);
    else if (data && old.length !== data.length) c.push('old', `expected ${data.length} entries (one per data row), got ${old.length}`);
  }
  return c.reasons;
}

function rows(c: Checker, obj: Obj, key: 'data' | 'old', required: boolean): Obj[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) c.fail(key, 'an array of rows', v);
    return undefined;
  }
  if (!Array.isArray(v)) {
    c.fail(key, 'an array of rows or null', v);
    return undefined;
  }
  const out: Obj[] = [];
  v.forEach((r, i) => {
    if (!isObj(r)) return c.fail(`${key}[${i}]`, 'an object', r);
    for (const [col, val] of Object.entries(r)) {
      // Canal writes every value as text; a number here means another producer wrote it.
      if (val !== null && typeof val !== 'string') c.fail(`${key}[${i}].${col}`, 'a string or null (Canal writes values as text)', val);
    }
    out.push(r);
  });
  return out;
}
