/**
 * `mock db --to TOPIC`: the generated transactions as Maxwell records on the bus, instead of MySQL — what
 * Maxwell would publish from the binlog of the same writes (same rows, `ts` = the mock time, one xid per
 * business transaction, key in Maxwell's hash form, partition by table as producer_partition_by=table).
 * The record timestamp is the time the record is handed to the bus (CreateTime = now, as Maxwell's producer), one
 * per batch; the business time is the value's `ts`. A mock day stamped with its own (past) time would be older than
 * the topic's retention when written, and the broker would delete it within minutes.
 */
import type { Bus, ProduceMessage, ProducerOptions } from '../../bus/types';
import { txnEvents, type ChangeTxn } from '../../formats/change';
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

/** Produces the transactions (consumed lazily) and returns the number of records sent. */
export async function produceMaxwell(bus: Bus, txns: Iterable<ChangeTxn>, opts: MaxwellSinkOptions): Promise<number> {
  const partitions = await topicPartitions(bus, opts.topic, opts.partitions ?? 1);
  const by = opts.partitionBy ?? 'table';
  const uuidRng = new Rng(`${opts.seed}:maxwell-uuid`);
  const encodeOpts = { uuid: () => uuidRng.uuid() };
  const producer = await bus.producer(opts.producer);
  let batch: ProduceMessage[] = [];
  let total = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const n = batch.length;
    const now = Date.now();
    for (const m of batch) m.timestamp = now;
    await producer.send(opts.topic, batch);
    batch = [];
    total += n;
    opts.onRows?.(n);
  };
  try {
    for (const txn of txns) {
      for (const ev of txnEvents(txn, opts.database, primaryKeyOf)) {
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
