/**
 * Outputs against a topic's max.message.bytes (src/stream/limits.ts), without a broker: the size of a record's
 * batch as forwarded is found exactly (one byte over the limit is over, the limit itself is not), for chunks as
 * committed (their stored bytes) and as read back from the state file; a dead letter over the limit is cut to fit
 * within a few bytes of it, keeping its facts.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { soloBatchBytes } from '../../src/bus/kafka/record-batch';
import { DLQ_TRUNCATED_HEADER, findOversized, firstOversized, fitDeadLetter } from '../../src/stream/limits';
import { chunkMessages } from '../../src/stream/outbox';
import { StateStore, type OutboxChunk, type OutRecord } from '../../src/stream/state-store';
import { HeadTail } from '../../src/stream/types';
import { tempDir } from '../helpers/cli';

const empty = { state: [], timersAdded: [], timersRemoved: [], offsets: [], partitionTimes: {}, watermark: null, seqs: new Map<string, number>(), deleteUpTo: 0 };

/** The batch of each record of `chunk` alone, as forwarding sends it. */
const sizes = (chunk: OutboxChunk) => chunkMessages(chunk).map((m) => soloBatchBytes({ key: m.key, value: m.value, headers: m.headers, timestamp: 0 }));

function records(big: number): OutRecord[] {
  return [
    { producer: 'job/out', key: 'a', value: 'small', ts: 1, headers: null },
    { producer: 'job/out', key: 'ü-key', value: new HeadTail('{"common":"ü"}', 'y'.repeat(big)), ts: 2, headers: null },
    { producer: 'job/dlq', key: null, value: Buffer.alloc(1000, 1), ts: 3, headers: { 'rtwh.dlq.reason': 'bad ✓' } },
    { producer: 'job/out', key: 'c', value: 'after', ts: 4, headers: null },
  ];
}

describe('firstOversized', () => {
  test('exact at the limit, for a committed chunk (its stored bytes) and the same chunk read back', () => {
    const store = StateStore.open(join(tempDir('rtwh-limits-'), 'job.db'), 'job');
    try {
      const chunk: OutboxChunk = { id: 0, topic: 't', partition: 3, firstSeq: 41, records: records(1_100_000) };
      store.commit({ ...empty, chunks: [chunk] });
      const bytes = sizes(chunk);
      const big = bytes[1]!;
      expect(Math.max(...bytes)).toBe(big);
      // The stored size of the largest record: its key, value and headers bytes.
      expect(chunk.stored!.maxRecord).toBe(Buffer.byteLength('ü-key') + Buffer.byteLength('{"common":"ü"}') + 1_100_000);
      const loaded = store.load().outbox[0]!;
      expect(loaded.stored).toBeUndefined();
      for (const c of [chunk, loaded]) {
        expect(firstOversized(c, big)).toBeUndefined();
        expect(firstOversized(c, big - 1)).toEqual({ topic: 't', partition: 3, seq: 42, bytes: big, limit: big - 1 });
        expect(firstOversized(c, 2 * big)).toBeUndefined();
      }
      // Far under the limit: found without looking at the records (the stored size says enough).
      const small: OutboxChunk = { id: 0, topic: 't', partition: 0, firstSeq: 1, records: records(10) };
      store.commit({ ...empty, chunks: [small] });
      expect(firstOversized(small, Math.max(...sizes(small)) + 600)).toBeUndefined();
      expect(firstOversized(small, Math.max(...sizes(small)) - 1)?.seq).toBe(3); // the 1000-byte dead letter
    } finally {
      store.close();
    }
  });

  test('findOversized: the first chunk in order with a record over its own topic limit; topics without one are not checked', () => {
    const store = StateStore.open(join(tempDir('rtwh-limits-'), 'job.db'), 'job');
    try {
      const chunks: OutboxChunk[] = [
        { id: 0, topic: 'free', partition: 0, firstSeq: 1, records: records(2_000_000) },
        { id: 0, topic: 'small', partition: 0, firstSeq: 1, records: records(100) },
        { id: 0, topic: 'one_mb', partition: 1, firstSeq: 7, records: records(1_100_000) },
        { id: 0, topic: 'small', partition: 1, firstSeq: 1, records: records(200_000) },
      ];
      store.commit({ ...empty, chunks });
      const limits = new Map([
        ['small', 100_000],
        ['one_mb', 1_048_588],
      ]);
      const found = findOversized(chunks, limits);
      expect(found?.index).toBe(2);
      expect(found?.record).toMatchObject({ topic: 'one_mb', partition: 1, seq: 8, limit: 1_048_588 });
      expect(findOversized(chunks, new Map())).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe('fitDeadLetter', () => {
  /** The dead letter's batch as forwarded, with a sequence number of `seq`. */
  const forwarded = (d: { key: string | null; value: string | Buffer; headers: Record<string, string> | null }, seq = 1) =>
    sizes({ id: 0, topic: 'dlq', partition: 0, firstSeq: seq, records: [{ producer: 'job/dlq', key: d.key, value: d.value, ts: 1, headers: d.headers }] })[0]!;
  const facts = { 'rtwh.dlq.reason': 'not JSON', 'rtwh.dlq.topic': 'ods_log', 'rtwh.dlq.offset': '12' };

  test('a dead letter that fits is left alone', () => {
    expect(fitDeadLetter({ key: 'k', value: Buffer.alloc(1000), headers: facts }, 'job/dlq', 2000)).toBeUndefined();
    const d = { key: 'k', value: Buffer.alloc(5000, 2), headers: facts };
    expect(fitDeadLetter(d, 'job/dlq', forwarded(d, 1e15))).toBeUndefined();
  });

  test('over the limit: the first bytes that fit, the original size in a header, key and facts kept', () => {
    const limit = 1_048_588;
    for (const value of [Buffer.alloc(2_000_000, 'b'), 'ü'.repeat(700_000)]) {
      const fit = fitDeadLetter({ key: 'mid_1', value, headers: facts }, 'job/dlq', limit)!;
      const original = Buffer.from(value);
      expect(fit.originalBytes).toBe(original.length);
      expect(fit.record.key).toBe('mid_1');
      expect(fit.record.headers).toEqual({ ...facts, [DLQ_TRUNCATED_HEADER]: String(original.length) });
      const cut = fit.record.value as Buffer;
      expect(cut.equals(original.subarray(0, cut.length))).toBe(true);
      // Fits with the largest sequence number, and not a byte more would.
      expect(forwarded(fit.record, 9_999_999_999_999_999)).toBeLessThanOrEqual(limit);
      expect(forwarded({ ...fit.record, value: original.subarray(0, cut.length + 1) }, 9_999_999_999_999_999)).toBeGreaterThan(limit);
    }
  });

  test('a key and reason that alone do not fit a tiny limit: the key left out, the reason cut', () => {
    const fit = fitDeadLetter({ key: 'k'.repeat(2000), value: 'v'.repeat(3000), headers: { ...facts, 'rtwh.dlq.reason': 'r'.repeat(5000) } }, 'job/dlq', 1200)!;
    expect(fit.record.key).toBeNull();
    expect(fit.record.headers!['rtwh.dlq.reason']).toBe('r'.repeat(200));
    expect(fit.record.headers![DLQ_TRUNCATED_HEADER]).toBe('3000');
    expect((fit.record.value as Buffer).length).toBeGreaterThan(0);
    expect(forwarded(fit.record, 9_999_999_999_999_999)).toBeLessThanOrEqual(1200);
  });
});
