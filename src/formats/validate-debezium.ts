/**
 * Validation of Debezium change events as Flink CDC's JsonDebeziumDeserializationSchema (and Kafka Connect's
 * JsonConverter) write them, with or without the `{"schema":…,"payload":…}` wrapper (schemas.enable).
 *
 *   {"before":null,"after":{…},"source":{"version":"1.9.8.Final","connector":"mysql","name":"…","ts_ms":…,
 *    "snapshot":"false","db":"gmall","table":"order_info",…},"op":"c","ts_ms":…,"transaction":null}
 *
 * `ts_ms` (processing time) and `source.ts_ms` (binlog time) are epoch MILLISECONDS. Snapshot rows of older
 * versions carry source.ts_ms 0, which is accepted.
 */
import { Checker, isObj, type Obj } from './validate-check.ts';

export const DEBEZIUM_OPS = ['c', 'u', 'd', 'r', 't', 'm'] as const;
export type DebeziumOp = (typeof DEBEZIUM_OPS)[number];

export const DEBEZIUM_SNAPSHOT_VALUES = ['true', 'false', 'last', 'first', 'first_in_data_collection', 'last_in_data_collection', 'incremental'] as const;

/** The typed view of a valid Debezium payload. */
export interface DebeziumPayload {
  before: Obj | null;
  after: Obj | null;
  source: Obj & { db: string; table?: string; ts_ms: number; connector?: string };
  op: DebeziumOp;
  ts_ms?: number;
  transaction?: Obj | null;
}

/** True when `obj` is the schemas.enable wrapper; its payload is what carries the change. */
export function isDebeziumWrapper(obj: Obj): boolean {
  return 'payload' in obj && 'schema' in obj;
}

/** The change payload: the wrapper's payload, or the object itself. */
export function debeziumPayload(obj: Obj): unknown {
  return isDebeziumWrapper(obj) ? obj.payload : obj;
}

/** Reasons why `obj` is not a Debezium change event; empty when it is one. Never throws. */
export function validateDebezium(obj: unknown): string[] {
  if (!isObj(obj)) {
    const c = new Checker();
    c.fail('(record)', 'a JSON object', obj);
    return c.reasons;
  }
  if (isDebeziumWrapper(obj)) {
    const c = new Checker();
    c.obj(obj, 'schema', { nullable: true });
    if (!isObj(obj.payload)) {
      c.fail('payload', 'an object', obj.payload);
      return c.reasons;
    }
    return [...c.reasons, ...validatePayload(obj.payload, 'payload')];
  }
  return validatePayload(obj, '');
}

function validatePayload(p: Obj, prefix: string): string[] {
  const c = new Checker(prefix);
  const op = c.oneOf(p, 'op', DEBEZIUM_OPS) as DebeziumOp | undefined;
  const before = c.obj(p, 'before', { nullable: true, optional: true });
  const after = c.obj(p, 'after', { nullable: true, optional: true });
  const need = (key: 'before' | 'after', have: Obj | undefined, what: string) => {
    if (!have && (p[key] === undefined || p[key] === null)) c.push(key, `expected an object (${what}), got ${p[key] === null ? 'null' : 'nothing'}`);
  };
  switch (op) {
    case 'c':
    case 'r':
      need('after', after, op === 'c' ? 'the inserted row' : 'the snapshot row');
      if (p.before !== null && p.before !== undefined) c.push('before', `expected null on op "${op}"`);
      break;
    case 'u':
      need('after', after, 'the row after the update');
      break;
    case 'd':
      need('before', before, 'the deleted row');
      if (p.after !== null && p.after !== undefined) c.push('after', 'expected null on a delete');
      break;
    default:
      break;
  }
  const source = c.obj(p, 'source');
  if (source) {
    const s = new Checker(c.path('source'));
    s.str(source, 'db');
    s.str(source, 'table', { optional: op === 't' || op === 'm' });
    s.ms(source, 'ts_ms', { zero: true });
    s.str(source, 'connector', { optional: true });
    s.str(source, 'version', { optional: true });
    s.str(source, 'name', { optional: true });
    if (source.snapshot !== undefined && source.snapshot !== null && (typeof source.snapshot !== 'string' || !(DEBEZIUM_SNAPSHOT_VALUES as readonly string[]).includes(source.snapshot))) {
      // Debezium 0.x wrote a boolean; accept it rather than reject old archives.
      if (typeof source.snapshot !== 'boolean') s.fail('snapshot', `one of ${DEBEZIUM_SNAPSHOT_VALUES.join(', ')}`, source.snapshot);
    }
    c.reasons.push(...s.reasons);
  }
  c.ms(p, 'ts_ms', { optional: true });
  c.whole(p, 'ts_us', { optional: true });
  c.whole(p, 'ts_ns', { optional: true });
  c.obj(p, 'transaction', { optional: true, nullable: true });
  return c.reasons;
}
