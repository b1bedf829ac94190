/**
 * Change events → topic records in the chosen format, with Maxwell's key and partitioning.
 *
 * Maxwell rows are encoded in two halves around the transaction fields (xid, xoffset | commit), which are known
 * only when the transaction's commit is read; Debezium rows carry no transaction fields and are complete at once.
 */
import type { ChangeEvent } from '../../formats/change';
import { debeziumJson, debeziumKey, type DebeziumEncodeOptions } from '../../formats/debezium';
import {
  maxwellDdlJson, maxwellJsonBody, maxwellJsonHead, maxwellKey, maxwellPartition, maxwellTxnFields, javaStringHashCode,
  type MaxwellDdl, type MaxwellPartitionBy,
} from '../../formats/maxwell';
import type { OutRecord } from './queue';

export type CdcFormat = 'maxwell' | 'debezium';

/** A row's record before its transaction is complete. */
export interface PendingRecord {
  key: string | null;
  partition: number;
  timestamp: number;
  head: string;
  tail: string;
  bytes: number;
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
}

export function createEncoder(opts: EncoderOptions): CdcEncoder {
  const n = opts.partitions;
  const by = opts.partitionBy;
  if (opts.format === 'maxwell') {
    return {
      format: 'maxwell',
      pending(ev) {
        const key = maxwellKey(ev);
        const head = maxwellJsonHead(ev);
        const tail = maxwellJsonBody(ev);
        return { key, partition: maxwellPartition(ev, n, by), timestamp: ev.ts, head, tail, bytes: key.length + head.length + tail.length + 40 };
      },
      finish(p, xid, xoffset, last) {
        const value = p.head + maxwellTxnFields(xid, xoffset, last) + p.tail;
        return { key: p.key, value, partition: p.partition, timestamp: p.timestamp, bytes: p.bytes };
      },
      single(ev) {
        const key = maxwellKey(ev);
        const value = maxwellJsonHead(ev) + maxwellJsonBody(ev);
        return { key, value, partition: maxwellPartition(ev, n, by), timestamp: ev.ts, bytes: key.length + value.length };
      },
      ddl(d) {
        const value = maxwellDdlJson(d);
        // Maxwell hashes the database (or table) of a DDL for its partition like a row's.
        const s = by === 'database' ? d.database : (d.table ?? d.database);
        return { key: crypto.randomUUID(), value, partition: Math.abs(javaStringHashCode(s) % n), timestamp: d.ts, bytes: value.length + 36 };
      },
    };
  }
  const dbz = opts.debezium ?? {};
  return {
    format: 'debezium',
    pending(ev) {
      const value = debeziumJson(ev, dbz);
      if (value === null) return null;
      const key = debeziumKey(ev);
      return { key, partition: maxwellPartition(ev, n, by), timestamp: ev.ts, head: value, tail: '', bytes: (key?.length ?? 0) + value.length };
    },
    finish(p) {
      return { key: p.key, value: p.head, partition: p.partition, timestamp: p.timestamp, bytes: p.bytes };
    },
    single(ev) {
      const value = debeziumJson(ev, dbz);
      if (value === null) return null;
      const key = debeziumKey(ev);
      return { key, value, partition: maxwellPartition(ev, n, by), timestamp: ev.ts, bytes: (key?.length ?? 0) + value.length };
    },
    ddl(d) {
      // Not called for Debezium (schema changes are not part of Flink CDC's row stream); kept total for the type.
      const value = maxwellDdlJson(d);
      return { key: null, value, partition: 0, timestamp: d.ts, bytes: value.length };
    },
  };
}
