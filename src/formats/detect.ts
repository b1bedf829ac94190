/**
 * Which wire format a parsed record is in: Maxwell, Debezium (with or without the schema wrapper), Canal's flat
 * message, or a gmall app log. Detection looks at the keys that only one format has, and is deliberately loose:
 * a Maxwell record with a wrong `type` is still recognised as Maxwell, so validation can say what is wrong with
 * it instead of "unknown format".
 *
 * @example
 *   const obj = JSON.parse(text);
 *   const format = detectFormat(obj);              // 'maxwell' | 'debezium' | 'canal' | 'applog' | undefined
 *   const reasons = format ? validateAs(format, obj) : ['unknown format'];
 */
import { validateAppLog } from './applog.ts';
import { validateCanal } from './canal.ts';
import { isObj } from './validate-check.ts';
import { isDebeziumWrapper, validateDebezium } from './validate-debezium.ts';
import { validateMaxwell } from './validate-maxwell.ts';

export const RECORD_FORMATS = ['maxwell', 'debezium', 'canal', 'applog'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/** The format of a parsed JSON value, or undefined when it looks like none of them. */
export function detectFormat(obj: unknown): RecordFormat | undefined {
  if (!isObj(obj)) return undefined;
  if (isDebeziumWrapper(obj)) return 'debezium';
  if ('op' in obj && ('source' in obj || 'after' in obj || 'before' in obj)) return 'debezium';
  if ('isDdl' in obj || 'pkNames' in obj || 'mysqlType' in obj || 'sqlType' in obj) return 'canal';
  const db = 'database' in obj;
  const table = 'table' in obj;
  if ((db && table) || ((db || table) && ('type' in obj || 'data' in obj))) {
    // Canal's rows are an array of string maps and its types upper case; Maxwell's data is one object, its types
    // lower case, and only it has xid/commit: a Maxwell record whose data is an array is a broken Maxwell record.
    const type = typeof obj.type === 'string' ? obj.type : undefined;
    if ('xid' in obj || 'commit' in obj || (type !== undefined && type !== type.toUpperCase())) return 'maxwell';
    return Array.isArray(obj.data) || ('es' in obj && type !== undefined) ? 'canal' : 'maxwell';
  }
  if ('common' in obj || (('page' in obj || 'start' in obj) && 'ts' in obj)) return 'applog';
  return undefined;
}

/** Validates a parsed record as `format`: reasons naming the field, empty when valid. Never throws. */
export function validateAs(format: RecordFormat, obj: unknown): string[] {
  switch (format) {
    case 'maxwell':
      return validateMaxwell(obj);
    case 'debezium':
      return validateDebezium(obj);
    case 'canal':
      return validateCanal(obj);
    case 'applog':
      return validateAppLog(obj);
  }
}
