/**
 * Routing one decoded ods_db change to dim writes, by the table_process rules: pure, no I/O.
 *
 * - insert, update and bootstrap-insert (snapshot) → upsert of the rule's columns, keyed by sink_pk;
 * - an update that changes the key → delete of the old key, then upsert of the new one;
 * - delete → delete by key;
 * - other databases and tables without a rule → skipped (the caller counts them);
 * - a change without a value for the key column → a reason, for the dead-letter topic.
 */
import { stackOverflow } from '../errors';
import { ExactDecimal } from '../formats/change';
import type { DecodedChange, DecodedValue } from '../formats/validated-change';
import type { DimRow, DimWrite, TableProcess } from './types';

/** A value as dim text: decimals keep their digits, big integers theirs, JSON documents their JSON text. */
export function dimText(v: DecodedValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    default:
      return v instanceof ExactDecimal ? v.text : exactJson(v);
  }
}

/** JSON text of a document with its numbers exact (JSON.stringify would round decimals and refuse bigints). */
function exactJson(v: DecodedValue): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof ExactDecimal) return v.text;
  if (Array.isArray(v)) return `[${v.map(exactJson).join(',')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${exactJson(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

export type RouteResult =
  | { kind: 'writes'; writes: DimWrite[] }
  | { kind: 'other-database' }
  | { kind: 'unconfigured' }
  | { kind: 'empty' }
  | { kind: 'bad'; reason: string };

export function route(change: DecodedChange, database: string, rules: ReadonlyMap<string, TableProcess>): RouteResult {
  if (database !== '*' && change.database !== database) return { kind: 'other-database' };
  const rule = rules.get(change.table);
  if (!rule) return { kind: 'unconfigured' };
  const pk = rule.sinkPk;
  const data = change.data;
  // The seed skipped records whose data was empty ("data length > 2"); a change always names its row.
  if (Object.keys(data).length === 0) return { kind: 'empty' };
  const key = data[pk];
  if (typeof key === 'object' && key !== null && !(key instanceof ExactDecimal)) {
    return { kind: 'bad', reason: `${change.database}.${change.table} ${change.type}: the key column ${pk} (sink_pk of ${rule.sinkTable}) holds ${Array.isArray(key) ? 'an array' : 'an object'}; expected a single value` };
  }
  const id = dimText(key);
  if (id === null) return { kind: 'bad', reason: `${change.database}.${change.table} ${change.type} has no value for the key column ${pk} (sink_pk of ${rule.sinkTable})` };
  const table = rule.sinkTable;
  if (change.type === 'delete') return { kind: 'writes', writes: [{ op: 'delete', table, pk, id }] };
  const row: DimRow = {};
  for (const c of rule.sinkColumns) {
    try {
      row[c] = dimText(data[c]);
    } catch (e) {
      // a document nested deeper than the stack: the record cannot be stored, so it is a dead letter
      if (!stackOverflow(e)) throw e;
      return { kind: 'bad', reason: `${change.database}.${change.table} ${change.type}: column ${c} is nested too deeply to store (the stack overflowed walking it)` };
    }
  }
  const writes: DimWrite[] = [];
  if (change.type === 'update' && change.old && pk in change.old) {
    const before = dimText(change.old[pk]);
    if (before !== null && before !== id) writes.push({ op: 'delete', table, pk, id: before });
  }
  writes.push({ op: 'upsert', table, pk, id, row });
  return { kind: 'writes', writes };
}
