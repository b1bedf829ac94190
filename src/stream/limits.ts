/**
 * Outputs against their topics' size limit: Kafka's max.message.bytes, the largest record batch a topic takes (its
 * own setting, else the broker's message.max.bytes), read once per topic when the job starts using it.
 *
 * Why before sending: when the broker refuses a batch as too large, batches in flight behind it to the same
 * partition can still be written (the producer sends the calls behind a call refused for its own records again, and
 * a broker with no state for a producer id takes a later sequence without the earlier one). The recovery takes every
 * sequence at or below the highest one of ours on the bus as sent (outbox.ts lastSeqsOnBus), so the records of the
 * refused batch would be lost after a restart. Hence: an output record that cannot fit stops the job before its chunk
 * is sent (the chunk stays in the outbox until the limit is raised), and a dead letter that cannot fit is cut to
 * fit (a dead letter never stops a job), its original size in a header.
 *
 * Cost: a chunk carries its largest record's size (StateStore.prepareChunks measures it while writing the bytes),
 * so checking a chunk is one comparison; only a chunk whose largest record comes within HEADROOM of the limit is
 * looked at record by record, exactly (record-batch.ts soloBatchBytes).
 */
import { raiseLimitCommand } from '../bus/kafka/client';
import { soloBatchBytes } from '../bus/kafka/record-batch';
import type { Headers, ProduceMessage } from '../bus/types';
import { rtwhError, type RtwhError } from '../errors';
import { chunkMessages } from './outbox';
import type { OutboxChunk } from './state-store';
import { HeadTail, OUT_HEADER } from './types';

/** Header of a dead letter whose value was cut to fit its topic: the original value's size in bytes. */
export const DLQ_TRUNCATED_HEADER = 'rtwh.dlq.truncated';

/**
 * Bytes a record's batch holds beyond its key, value and extra headers as stored, producer name aside: the batch
 * header (61), the record's framing (< 25), the producer and sequence headers' names, lengths and digits (< 60), and
 * the extra headers' framing beyond their JSON (a few bytes each) — with room to spare.
 */
const HEADROOM = 512;

const MiB = 1024 * 1024;

/** A record that does not fit its topic. */
export interface Oversized {
  topic: string;
  partition: number;
  /** Its sequence number in the partition. */
  seq: number;
  /** The record batch holding it alone, uncompressed: what the broker compares with the limit. */
  bytes: number;
  limit: number;
}

function byteBound(x: string | Buffer | Uint8Array | HeadTail | null | undefined): number {
  if (x == null) return 0;
  if (x instanceof HeadTail) return (x.head.length + x.tail.length) * 3;
  return typeof x === 'string' ? x.length * 3 : x.length;
}

/** An upper bound of a message's batch alone (soloBatchBytes), without measuring its text exactly. */
function bound(m: ProduceMessage): number {
  let n = HEADROOM + byteBound(m.key) + byteBound(m.value);
  if (m.headers) for (const k in m.headers) n += (k.length + (m.headers[k]?.length ?? 0)) * 3 + 10;
  return n;
}

/** The first record of `chunk` whose batch alone is over `limit`, if any. */
export function firstOversized(chunk: OutboxChunk, limit: number): Oversized | undefined {
  const stored = chunk.stored;
  if (stored?.maxRecord !== undefined) {
    let names = 0;
    for (const p of stored.producers) names = Math.max(names, p.length * 3);
    if (stored.maxRecord + names + HEADROOM <= limit) return undefined;
  }
  const msgs = chunkMessages(chunk);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (bound(m) <= limit) continue;
    const bytes = soloBatchBytes({ key: m.key, value: m.value, headers: m.headers, timestamp: 0 });
    if (bytes > limit) return { topic: chunk.topic, partition: chunk.partition, seq: chunk.firstSeq + i, bytes, limit };
  }
  return undefined;
}

/** The first chunk (in order) holding a record over its topic's limit, and that record. */
export function findOversized(chunks: readonly OutboxChunk[], limits: ReadonlyMap<string, number>): { index: number; record: Oversized } | undefined {
  if (limits.size === 0) return undefined;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const limit = limits.get(c.topic);
    if (limit === undefined) continue;
    const record = firstOversized(c, limit);
    if (record) return { index: i, record };
  }
  return undefined;
}

const n = (x: number) => x.toLocaleString('en-US');

/** The job stops on a record its topic does not take: what, where, and the command that raises the limit. */
export function tooLargeError(job: string, o: Oversized, servers: string): RtwhError {
  const raise = Math.ceil((o.bytes + 1) / MiB) * MiB;
  return rtwhError(
    'MESSAGE_TOO_LARGE',
    `job "${job}": a record for topic ${o.topic} partition ${o.partition} (sequence ${o.seq}) is ${n(o.bytes)} bytes, over the ${n(o.limit)} bytes (max.message.bytes) the topic takes; ` +
      `the job stopped before sending it. Nothing was skipped: it stays in the job's outbox, and nothing after it in that partition was sent`,
    {
      hint:
        `Raise the topic's limit, then start the job again (it sends its outbox first, in order): ${raiseLimitCommand(servers, o.topic, raise)}`,
      details: { job, topic: o.topic, partition: o.partition, sequence: o.seq, bytes: o.bytes, maxMessageBytes: o.limit },
    },
  );
}

/** A dead letter as the runtime routes it. */
export interface DeadLetterRecord {
  key: string | null;
  value: string | Buffer;
  headers: Headers | null;
}

/** Its batch alone as forwarded (the producer header, and a sequence header of the most digits). */
function deadLetterBytes(d: { key: string | null; value: string | Buffer; headers: Headers | null }, producer: string): number {
  const headers: Headers = { ...d.headers, [OUT_HEADER.producer]: producer, [OUT_HEADER.seq]: '9'.repeat(16) };
  return soloBatchBytes({ key: d.key, value: d.value, headers, timestamp: 0 });
}

/**
 * `d` cut to fit `limit` when it does not: its value becomes the original's first bytes, as many as fit, and the
 * header rtwh.dlq.truncated holds the original's size. Should the key and headers alone not fit (a limit of a few
 * hundred bytes), the key is left out and each header value cut to 200 characters. Undefined when `d` fits.
 */
export function fitDeadLetter(d: DeadLetterRecord, producer: string, limit: number): { record: DeadLetterRecord; originalBytes: number } | undefined {
  if (byteBound(d.key) + byteBound(d.value) + JSON.stringify(d.headers ?? {}).length * 3 + producer.length * 3 + HEADROOM <= limit) return undefined;
  if (deadLetterBytes(d, producer) <= limit) return undefined;
  const value = typeof d.value === 'string' ? Buffer.from(d.value) : d.value;
  let key = d.key;
  let headers: Headers = { ...d.headers, [DLQ_TRUNCATED_HEADER]: String(value.length) };
  const empty = Buffer.alloc(0);
  if (deadLetterBytes({ key, value: empty, headers }, producer) + 8 > limit) {
    key = null;
    headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.length > 200 ? v.slice(0, 200) : v]));
  }
  // The value's length prefix grows from 1 byte (empty) to at most 5.
  let room = Math.max(0, Math.min(value.length, limit - deadLetterBytes({ key, value: empty, headers }, producer) - 4));
  while (room > 0 && deadLetterBytes({ key, value: value.subarray(0, room), headers }, producer) > limit) room--;
  return { record: { key, value: value.subarray(0, room), headers }, originalBytes: value.length };
}
