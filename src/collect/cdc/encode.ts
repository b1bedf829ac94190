/**
 * Change events → topic records in the chosen format, with Maxwell's key and partitioning.
 *
 * Maxwell rows are encoded in two halves around the transaction fields (xid, xoffset | commit), which are known
 * only when the transaction's commit is read; Debezium rows carry no transaction fields and are complete at once.
 *
 * Records carry no timestamp: the sink stamps each batch with the wall-clock time it hands it to the bus
 * (Maxwell's CreateTime). The binlog time (`ts`, under --mock-date the business day) stays in the value.
 */
import type { ChangeEvent } from '../../formats/change';
import { debeziumJson, debeziumKey, type DebeziumEncodeOptions } from '../../formats/debezium';
import { RawJson, type Row } from '../../formats/change';
import {
  maxwellDdlJson, maxwellJsonBody, maxwellJsonHead, maxwellKey, maxwellPartition, maxwellTxnFields, javaStringHashCode,
  type MaxwellDdl, type MaxwellPartitionBy,
} from '../../formats/maxwell';
import { ByteArena, writeMaxwellRecord } from './maxwell-bytes';
import type { OutRecord } from './queue';

export type CdcFormat = 'maxwell' | 'debezium';

/**
 * A row's record before its transaction is complete. Maxwell rows keep their change event and are written as bytes
 * once the transaction fields are known (maxwell-bytes.ts: one pass, no copies); text (Debezium's records, Maxwell
 * rows read back from a spill file) is key, the value's head (before the transaction fields) and tail (after them).
 */
export type PendingRecord = PendingText | PendingEvent;

interface PendingBase {
  partition: number;
  /** Size estimate for the transaction buffer's memory bound. */
  bytes: number;
}

export interface PendingText extends PendingBase {
  key: string | null;
  head: string;
  tail: string;
  ev?: undefined;
}

export interface PendingEvent extends PendingBase {
  ev: ChangeEvent;
}

/** The text form of a pending record (for a spill file). */
export function pendingText(p: PendingRecord): PendingText {
  if (p.ev === undefined) return p;
  return { key: maxwellKey(p.ev), head: maxwellJsonHead(p.ev), tail: maxwellJsonBody(p.ev), partition: p.partition, bytes: p.bytes };
}

/**
 * About what a row takes in memory until its commit (and as JSON after): the transaction buffer spills past its
 * bound by this. Strings count two bytes a character (JS strings of non-Latin-1 text), bytes 4/3 (base64).
 */
function rowBytes(row: Row): number {
  let n = 64;
  for (const k in row) {
    const v = row[k];
    n += 24;
    if (typeof v === 'string') n += v.length * 2;
    else if (v instanceof Uint8Array) n += (v.length * 4) / 3;
    else if (v instanceof RawJson) n += v.text.length * 2;
  }
  return n;
}

export interface EncoderOptions {
  format: CdcFormat;
  partitionBy: MaxwellPartitionBy;
  /** Partitions of the output topic. */
  partitions: number;
  debezium?: DebeziumEncodeOptions;
}

export interface CdcEncoder {
  readonly format: CdcFormat;
  /** The record of a row change without its transaction fields; null when the format has no record for it. */
  pending(ev: ChangeEvent): PendingRecord | null;
  /** Completes a pending record: xid, the row's place in its transaction, and whether it is the last row. */
  finish(p: PendingRecord, xid: number | bigint | string | undefined, xoffset: number, last: boolean): OutRecord;
  /** A record complete in itself (bootstrap rows). */
  single(ev: ChangeEvent): OutRecord | null;
  /** A Maxwell DDL record (Maxwell output_ddl); its key is a random UUID like Maxwell's. */
  ddl(ddl: MaxwellDdl): OutRecord;
  /** The bus acknowledged every record up to `last` (in the order finished): their memory may be reused. */
  acknowledged(last: OutRecord): void;
}

export function createEncoder(opts: EncoderOptions): CdcEncoder {
  const n = opts.partitions;
  const by = opts.partitionBy;
  if (opts.format === 'maxwell') {
    // Records are written as bytes (maxwell-bytes.ts) into an arena, where they stay until the bus has them.
    const out = new ByteArena();
    return {
      format: 'maxwell',
      pending(ev) {
        return { ev, partition: maxwellPartition(ev, n, by), bytes: rowBytes(ev.data) + (ev.old ? rowBytes(ev.old) : 0) };
      },
      finish(p, xid, xoffset, last) {
        if (p.ev === undefined) {
          // Read back from a spill file.
          const value = p.head + maxwellTxnFields(xid, xoffset, last) + p.tail;
          return { key: p.key, value, partition: p.partition, bytes: p.bytes };
        }
        const o = writeMaxwellRecord(out, p.ev, true, xid, xoffset, last);
        return { buf: out.buf, start: o.start, keyEnd: o.keyEnd, end: o.end, partition: p.partition, bytes: o.end - o.start };
      },
      acknowledged(last) {
        if (last.buf !== undefined) out.recycle(last.buf);
      },
      single(ev) {
        const o = writeMaxwellRecord(out, ev, false);
        return { buf: out.buf, start: o.start, keyEnd: o.keyEnd, end: o.end, partition: maxwellPartition(ev, n, by), bytes: o.end - o.start };
      },
      ddl(d) {
        const value = maxwellDdlJson(d);
        // Maxwell hashes the database (or table) of a DDL for its partition like a row's.
        const s = by === 'database' ? d.database : (d.table ?? d.database);
        return { key: crypto.randomUUID(), value, partition: Math.abs(javaStringHashCode(s) % n), bytes: value.length + 36 };
      },
    };
  }
  const dbz = opts.debezium ?? {};
  return {
    format: 'debezium',
    pending(ev) {
      const value = debeziumJson(ev, dbz);
      if (value === null) return null;
      const key = debeziumKey(ev, dbz);
      return { key, partition: maxwellPartition(ev, n, by), head: value, tail: '', bytes: (key?.length ?? 0) + value.length };
    },
    finish(p) {
      const t = pendingText(p);
      return { key: t.key, value: t.head, partition: p.partition, bytes: p.bytes };
    },
    single(ev) {
      const value = debeziumJson(ev, dbz);
      if (value === null) return null;
      const key = debeziumKey(ev, dbz);
      return { key, value, partition: maxwellPartition(ev, n, by), bytes: (key?.length ?? 0) + value.length };
    },
    acknowledged() {},
    ddl(d) {
      // Not called for Debezium (schema changes are not part of Flink CDC's row stream); kept total for the type.
      const value = maxwellDdlJson(d);
      return { key: null, value, partition: 0, bytes: value.length };
    },
  };
}
