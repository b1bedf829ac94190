/**
 * `mock db --to TOPIC`: the generated transactions as Maxwell records on the bus, instead of MySQL — what
 * Maxwell would publish from the binlog of the same writes (same rows, `ts` = the mock time, one xid per
 * business transaction, key in Maxwell's hash form, partition by table as producer_partition_by=table).
 * The record timestamp is the time the record is handed to the bus (CreateTime = now, as Maxwell's producer), one
 * per batch; the business time is the value's `ts`. A mock day stamped with its own (past) time would be older than
 * the topic's retention when written, and the broker would delete it within minutes.
 *
 * The base data of `--init` is no business event: in the MySQL flow it is in the tables before cdc starts and
 * reaches the topic through `rtwh cdc bootstrap` (Maxwell's bootstrap), so here it is published the same way
 * (`bootstrap: true`, bootstrapEvents). Consumers then see it as state: run dim upserts it, run dwd skips snapshot
 * rows — published as plain inserts, the 1,000 back-dated users counted as registrations of the init day.
 */
import type { Bus, ProduceMessage, ProducerOptions } from '../../bus/types';
import { txnEvents, type ChangeEvent, type ChangeTxn, type ChangeValue } from '../../formats/change';
import { maxwellJson, maxwellKey, maxwellPartition, type MaxwellPartitionBy } from '../../formats/maxwell';
import { RtwhError } from '../../errors';
import { Rng } from '../random';
import { primaryKeyOf } from './schema';

export interface MaxwellSinkOptions {
  topic: string;
  /** The `database` field (the MySQL schema Maxwell would have read). */
  database: string;
  /** Partitions of the topic when it has to be created. */
  partitions?: number;
  partitionBy?: MaxwellPartitionBy;
  /** Seeds the `_uuid` keys of tables without a primary key, so reruns give the same keys. */
  seed: number | string;
  /** Compression and acks of the producer (the config's kafka.compression). */
  producer?: ProducerOptions;
  /**
   * Each transaction is one table's rows to publish as a Maxwell bootstrap of that table (bootstrapEvents), not as
   * a binlog transaction.
   */
  bootstrap?: boolean;
  /** Rows sent, as they are sent (bootstrap-start/-complete carry no row and are not counted). */
  onRows?: (rows: number) => void;
}

const SEND_BATCH = 5000;

/** The topic's partition count, creating the topic when it does not exist. */
export async function topicPartitions(bus: Bus, topic: string, create = 1): Promise<number> {
  const admin = await bus.admin();
  try {
    try {
      return (await admin.describeTopic(topic)).partitions.length;
    } catch (e) {
      if (!(e instanceof RtwhError) || e.code !== 'TOPIC_NOT_FOUND') throw e;
    }
    await admin.createTopic({ name: topic, partitions: create });
    return (await admin.describeTopic(topic)).partitions.length;
  } finally {
    await admin.close();
  }
}

/** Orders primary-key values as MySQL's ORDER BY does for rtwh's keys: integers by value, the varchar ids (digits) by their text. */
function comparePk(a: ChangeValue | undefined, b: ChangeValue | undefined): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) return a < b ? -1 : a > b ? 1 : 0;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * One table's rows (a transaction of inserts into it) as Maxwell's bootstrap publishes a table: bootstrap-start
 * (data {}), one bootstrap-insert per row — ordered by primary key, as its `SELECT * … ORDER BY pk`; a table without
 * one keeps its insert order —, bootstrap-complete (data {}). No xid, xoffset or commit: the snapshot belongs to no
 * transaction. `ts` is the time of the bootstrap, the transaction's: for the base data 00:00:00 of the init day,
 * before every change of the day, so the stream jobs' event time does not move past the day (a bootstrap at the wall
 * clock would put the watermark years ahead of the mock day). The markers carry the table's primary key like
 * Maxwell's (key `"pk.id":null`; `_uuid` without one).
 */
export function bootstrapEvents(txn: ChangeTxn, database: string, primaryKeyOf: (table: string) => readonly string[]): ChangeEvent[] {
  const table = txn.changes[0]?.table;
  if (table === undefined) return [];
  for (const c of txn.changes) {
    if (c.table !== table || c.type !== 'insert') throw new RangeError(`a bootstrap takes the inserts of one table, got ${c.type} of ${c.table} among ${table}'s`);
  }
  const primaryKey = primaryKeyOf(table);
  const rows = txn.changes.map((c) => c.data);
  if (primaryKey.length > 0) {
    rows.sort((a, b) => {
      for (const k of primaryKey) {
        const d = comparePk(a[k], b[k]);
        if (d !== 0) return d;
      }
      return 0;
    });
  }
  const mark = (bootstrap: 'start' | 'complete'): ChangeEvent => ({ table, type: 'insert', bootstrap, database, ts: txn.ts, primaryKey, data: {} });
  return [mark('start'), ...rows.map((data): ChangeEvent => ({ table, type: 'insert', bootstrap: 'insert', database, ts: txn.ts, primaryKey, data })), mark('complete')];
}

/** Produces the transactions (consumed lazily) and returns the number of records sent. */
export async function produceMaxwell(bus: Bus, txns: Iterable<ChangeTxn>, opts: MaxwellSinkOptions): Promise<number> {
  const partitions = await topicPartitions(bus, opts.topic, opts.partitions ?? 1);
  const by = opts.partitionBy ?? 'table';
  const uuidRng = new Rng(`${opts.seed}:maxwell-uuid`);
  const encodeOpts = { uuid: () => uuidRng.uuid() };
  const producer = await bus.producer(opts.producer);
  let batch: ProduceMessage[] = [];
  let batchRows = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const n = batch.length;
    const now = Date.now();
    for (const m of batch) m.timestamp = now;
    await producer.send(opts.topic, batch);
    batch = [];
    total += n;
    const rows = batchRows;
    batchRows = 0;
    opts.onRows?.(rows);
  };
  try {
    for (const txn of txns) {
      const events = opts.bootstrap ? bootstrapEvents(txn, opts.database, primaryKeyOf) : txnEvents(txn, opts.database, primaryKeyOf);
      for (const ev of events) {
        if (ev.bootstrap !== 'start' && ev.bootstrap !== 'complete') batchRows++;
        batch.push({
          key: maxwellKey(ev, encodeOpts),
          value: maxwellJson(ev),
          partition: maxwellPartition(ev, partitions, by),
        });
      }
      if (batch.length >= SEND_BATCH) await flush();
    }
    await flush();
  } finally {
    await producer.close();
  }
  return total;
}
