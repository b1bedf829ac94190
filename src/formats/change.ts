/**
 * The row change: what a binlog reader sees for one row (insert, update or delete), independent of the wire
 * format. `mock db` produces them, `cdc` decodes binlog events into them, and the encoders (maxwell.ts,
 * later debezium) turn them into topic records.
 *
 * Values are kept the way MySQL prints them so no digit is lost on the way through JavaScript:
 *   DATETIME/TIMESTAMP → "YYYY-MM-DD hh:mm:ss" · DATE → "YYYY-MM-DD" · DECIMAL → ExactDecimal("1299.00")
 *   integers → number (bigint beyond 2^53) · strings → string · NULL → null
 */
import { ExactDecimal } from '../output/result.ts';

export { ExactDecimal };

/**
 * A JSON column's document, kept as its text so big numbers and key order survive: Maxwell embeds it as JSON,
 * Debezium writes it as a string.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * A FLOAT or DOUBLE column's value. Java (Maxwell, Debezium) prints a float with its shortest float32 digits
 * and a double as Double.toString does ("1.0", "1.0E10"), so the width has to travel with the number.
 */
export class FloatValue {
  constructor(
    readonly value: number,
    /** FLOAT (single precision) rather than DOUBLE. */
    readonly single: boolean,
  ) {}
}

/**
 * The value kinds a binlog reader adds to the ones above: BLOB/BINARY bytes (`Uint8Array`, base64 on the wire),
 * SET members (`string[]`), JSON documents (`RawJson`) and floating-point numbers (`FloatValue`).
 */
export type ChangeValue = string | number | bigint | ExactDecimal | null | Uint8Array | readonly string[] | RawJson | FloatValue;

/** Column name → value, in the table's column order (JS keeps insertion order for non-numeric keys). */
export type Row = Record<string, ChangeValue>;

export type ChangeType = 'insert' | 'update' | 'delete';

/** One row change inside a transaction. */
export interface RowChange {
  table: string;
  type: ChangeType;
  /** The full row after the change (before it, for a delete). */
  data: Row;
  /** Update only: the previous values of the columns that changed, nothing else (Maxwell's `old`). */
  old?: Row;
}

/** One database transaction: its changes in statement order, all committed at `ts`. */
export interface ChangeTxn {
  /** Transaction id (MySQL's XID for binlog data; a counter for generated data). */
  xid: number;
  /** Commit time in ms since the epoch: the mock business time for generated data, the binlog time for cdc. */
  ts: number;
  changes: RowChange[];
}

/**
 * What an encoder may need to know about a column besides its value: Debezium's encodings depend on the SQL type
 * (a DATETIME and a TIMESTAMP are the same text, but not the same JSON), Maxwell's DDL records list them.
 */
export interface ColumnInfo {
  name: string;
  /** The SQL type in lower case as information_schema DATA_TYPE spells it: int, bigint, decimal, datetime, varchar, json … */
  type: string;
  /** Integer types: UNSIGNED. */
  unsigned?: boolean;
  /** DATETIME, TIMESTAMP, TIME: fractional-second digits (0–6). */
  fsp?: number;
  /** DECIMAL(precision, scale). */
  precision?: number;
  scale?: number;
  /** BIT(n). */
  bits?: number;
  /** Character set of text columns; null for binary ones. */
  charset?: string | null;
  /** ENUM and SET members in declaration order. */
  enumValues?: readonly string[];
  nullable?: boolean;
}

/** Where a change was read (the binlog coordinates), for formats that carry them (Debezium `source`). */
export interface ChangeSource {
  file: string;
  /** Binlog position of the event that holds the row. */
  pos: number;
  /** Index of the row within that event. */
  row: number;
  serverId: number;
  gtid: string | null;
  thread: number | null;
  /** Debezium `source.snapshot`: "true"/"last" for snapshot rows, "false" for binlog rows. */
  snapshot: 'true' | 'last' | 'false';
}

/** A row change with everything an encoder needs, one record on the topic. */
export interface ChangeEvent extends RowChange {
  database: string;
  /** Event time, ms since the epoch. */
  ts: number;
  xid?: number;
  /** Position of the row in its transaction, from 0. */
  xoffset?: number;
  /** True on the last row of its transaction. */
  commit?: boolean;
  /** Primary-key columns of the table; empty when the table has none. */
  primaryKey: readonly string[];
  /**
   * A row of a full-table snapshot (maxwell-bootstrap): Maxwell writes type `bootstrap-<phase>` without xid/commit,
   * Debezium op "r". `start` and `complete` carry no row (`data` is {}).
   */
  bootstrap?: 'start' | 'insert' | 'complete';
  /** The table's columns in order, when known (a binlog reader knows them); encoders fall back to the values' shapes. */
  columns?: readonly ColumnInfo[];
  /** Binlog coordinates, when the change was read from a binlog. */
  source?: ChangeSource;
}

/** Money amounts repeat (prices, freight, discounts): small decimals are made once. ExactDecimal is immutable. */
const decCache = new Map<number, ExactDecimal>();

/** A decimal with `scale` digits after the point from an integer count of 1/10^scale units: dec(129900) → 1299.00. */
export function dec(units: number | bigint, scale = 2): ExactDecimal {
  if (typeof units === 'number' && scale === 2 && units >= 0 && units < 10_000_000 && Number.isInteger(units)) {
    let d = decCache.get(units);
    if (d === undefined) decCache.set(units, (d = makeDec(units, 2)));
    return d;
  }
  return makeDec(units, scale);
}

function makeDec(units: number | bigint, scale: number): ExactDecimal {
  if (typeof units === 'number' && !Number.isSafeInteger(units)) throw new RangeError(`dec() needs an integer, got ${units}`);
  const neg = units < 0;
  let digits = (neg ? -BigInt(units) : BigInt(units)).toString();
  if (scale === 0) return new ExactDecimal(`${neg ? '-' : ''}${digits}`);
  digits = digits.padStart(scale + 1, '0');
  return new ExactDecimal(`${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`);
}

/** The integer count of 1/10^scale units of a decimal text: units("12.5", 2) → 1250. Exact for |value| < 2^53 units. */
export function decimalUnits(v: ExactDecimal | string, scale = 2): number {
  const text = typeof v === 'string' ? v : v.text;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
  const frac = (m[3] ?? '').padEnd(scale, '0');
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale))) throw new RangeError(`${text} has more than ${scale} decimals`);
  const n = Number(`${m[2]}${frac.slice(0, scale)}`);
  return m[1] ? -n : n;
}

/** Value equality as a binlog reader sees it: decimals by their digits, everything else by identity. */
export function sameValue(a: ChangeValue, b: ChangeValue): boolean {
  if (a instanceof ExactDecimal || b instanceof ExactDecimal) {
    return a instanceof ExactDecimal && b instanceof ExactDecimal && a.text === b.text;
  }
  return a === b;
}

/**
 * An update's change: `data` is `before` with `set` applied, `old` holds the previous value of each column
 * that really changed (Maxwell leaves unchanged columns out of `old`). Returns undefined when nothing changed.
 */
export function updateOf(table: string, before: Row, set: Row): RowChange | undefined {
  const data: Row = { ...before };
  let old: Row | undefined;
  for (const k of Object.keys(set)) {
    if (!(k in before)) throw new RangeError(`${table} has no column ${k}`);
    const v = set[k]!;
    if (sameValue(before[k]!, v)) continue;
    (old ??= {})[k] = before[k]!;
    data[k] = v;
  }
  return old ? { table, type: 'update', data, old } : undefined;
}

/** Expands a transaction into the events an encoder takes: xoffset on every row, commit on the last. */
export function txnEvents(txn: ChangeTxn, database: string, primaryKeyOf: (table: string) => readonly string[]): ChangeEvent[] {
  const last = txn.changes.length - 1;
  return txn.changes.map((c, i) => ({
    ...c,
    database,
    ts: txn.ts,
    xid: txn.xid,
    xoffset: i,
    commit: i === last,
    primaryKey: primaryKeyOf(c.table),
  }));
}
