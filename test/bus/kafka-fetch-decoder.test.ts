// fetch-decoder.ts against kafkajs's own Fetch v11 decoder, on responses built from record batches written by
// record-batch.ts: the same response object and messages (header values as strings, plus the numeric offset and
// timestamp), kafkajs's decoder for what ours does not handle, and the same cut-off at a partial last batch.
import { describe, expect, test } from 'bun:test';
import { CompressionTypes } from 'kafkajs';
import kafkajsV11 from 'kafkajs/src/protocol/requests/fetch/v11/response.js';
import { decodeFetchV11, FAST_OFFSET, FAST_TIMESTAMP, fetchDecodeStats } from '../../src/bus/kafka/fetch-decoder.ts';
import { encodeRecords, finishBatch, type RecordInput } from '../../src/bus/kafka/record-batch.ts';

async function batch(records: RecordInput[], baseOffset: number, o: { compression?: CompressionTypes; attributes?: number; producerId?: bigint } = {}): Promise<Buffer> {
  const ts = records.map((r) => r.timestamp);
  const encoded = await encodeRecords(records, o.compression ?? CompressionTypes.None, Math.min(...ts), Math.max(...ts));
  const bytes = Buffer.from(finishBatch(encoded, { producerId: o.producerId ?? 7n, producerEpoch: 1, baseSequence: 3, transactional: false }));
  bytes.writeBigInt64BE(BigInt(baseOffset), 0);
  if (o.attributes !== undefined) bytes.writeInt16BE(bytes.readInt16BE(21) | o.attributes, 21);
  return bytes;
}

interface PartitionIn {
  partition: number;
  records: Buffer;
  aborted?: { producerId: bigint; firstOffset: bigint }[];
  errorCode?: number;
}

function i64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function i16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

/** A Fetch v11 response body (after the correlation id). */
function response(topics: { topic: string; partitions: PartitionIn[] }[]): Buffer {
  const parts: Buffer[] = [i32(0), i16(0), i32(1234), i32(topics.length)];
  for (const t of topics) {
    parts.push(i16(Buffer.byteLength(t.topic)), Buffer.from(t.topic), i32(t.partitions.length));
    for (const p of t.partitions) {
      parts.push(i32(p.partition), i16(p.errorCode ?? 0), i64(100n), i64(99n), i64(0n));
      const aborted = p.aborted ?? [];
      parts.push(i32(aborted.length));
      for (const a of aborted) parts.push(i64(a.producerId), i64(a.firstOffset));
      parts.push(i32(-1), i32(p.records.length), p.records);
    }
  }
  return Buffer.concat(parts);
}

type Msg = Record<string, unknown> & { headers: Record<string, unknown>; key: Buffer | null; value: Buffer | null };
interface Decoded {
  responses: { topicName: string; partitions: (Record<string, unknown> & { messages: Msg[] })[] }[];
}

/** kafkajs's messages with header values as strings (last one for a repeated key, null values left out). */
function kafkajsView(d: Decoded): unknown {
  return {
    ...d,
    responses: d.responses.map((r) => ({
      ...r,
      partitions: r.partitions.map((p) => ({
        ...p,
        messages: p.messages.map((m) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers)) {
            const one = Array.isArray(v) ? v[v.length - 1] : v;
            if (one !== null && one !== undefined) headers[k] = Buffer.from(one as Buffer).toString('utf8');
          }
          return { ...m, headers, key: m.key === null ? null : Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value) };
        }),
      })),
    })),
  };
}

function oursView(d: Decoded): unknown {
  return {
    ...d,
    responses: d.responses.map((r) => ({
      ...r,
      partitions: r.partitions.map((p) => ({
        ...p,
        messages: p.messages.map((m) => {
          const { [FAST_OFFSET]: o, [FAST_TIMESTAMP]: t, ...rest } = m;
          // (absent on messages of a partition kafkajs's decoder read: consumer.ts converts those itself)
          if (o !== undefined || t !== undefined) {
            // Ours: the offset as a number (kafkajs reads it through Long.fromValue only); kafkajs's: its text.
            expect(m.offset).toBe(o);
            expect(t).toBe(Number(m.timestamp));
          }
          return { ...rest, offset: String(m.offset), key: m.key === null ? null : Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value) };
        }),
      })),
    })),
  };
}

async function both(raw: Buffer): Promise<{ ours: Decoded; theirs: Decoded }> {
  const ours = (await decodeFetchV11(raw)) as Decoded;
  const theirs = (await kafkajsV11.decode(raw)) as Decoded;
  expect(oursView(ours)).toEqual(kafkajsView(theirs));
  return { ours, theirs };
}

const T0 = 1_736_812_800_000;

describe('fetch decoder (v11)', () => {
  test('records of several batches, partitions and topics: the same messages as kafkajs', async () => {
    const a = await batch(
      [
        { key: 'mid_1', value: '{"a":1}', timestamp: T0 },
        { key: null, value: 'x'.repeat(300), timestamp: T0 + 5 },
        { key: 'k', value: null, timestamp: T0 - 70_000 },
        { key: '中文', value: 'ünïcödé ✓ 𝄞', timestamp: T0 + 1, headers: { 'rtwh.producer': 'dwd log/page', 'rtwh.seq': '17', dup: ['one', 'two'], empty: '' } },
      ],
      0,
    );
    const b = await batch(Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}`.repeat(i % 7), timestamp: T0 + i * 1000 })), 4);
    const c = await batch([{ key: Buffer.from([0, 255, 1]), value: Buffer.from([200, 201]), timestamp: T0 }], 1_000_000_000_000);
    const before = fetchDecodeStats.fast;
    const { ours } = await both(
      response([
        { topic: 'in', partitions: [{ partition: 0, records: Buffer.concat([a, b]) }, { partition: 3, records: c }] },
        { topic: 'other', partitions: [{ partition: 1, records: Buffer.alloc(0) }] },
      ]),
    );
    expect(fetchDecodeStats.fast - before).toBe(2);
    const msgs = ours.responses[0]!.partitions[0]!.messages;
    expect(msgs).toHaveLength(304);
    expect(msgs.map((m) => m[FAST_OFFSET])).toEqual(Array.from({ length: 304 }, (_, i) => i));
    expect(msgs[3]!.headers).toEqual({ 'rtwh.producer': 'dwd log/page', 'rtwh.seq': '17', dup: 'two', empty: '' });
    expect(msgs[2]![FAST_TIMESTAMP]).toBe(T0 - 70_000);
    expect(ours.responses[0]!.partitions[1]!.messages[0]![FAST_OFFSET]).toBe(1_000_000_000_000);
  });

  test('a partial last batch ends the record set, as in kafkajs', async () => {
    const a = await batch([{ key: 'a', value: '1', timestamp: T0 }], 10);
    const b = await batch([{ key: 'b', value: '2', timestamp: T0 }], 11);
    for (const cut of [1, 20, 60, b.length - 1]) {
      const { ours } = await both(response([{ topic: 't', partitions: [{ partition: 0, records: Buffer.concat([a, b.subarray(0, cut)]) }] }]));
      expect(ours.responses[0]!.partitions[0]!.messages).toHaveLength(1);
    }
  });

  test('compressed batches go to kafkajs\'s decoder, with the same result', async () => {
    const plain = await batch([{ key: 'a', value: 'plain', timestamp: T0 }], 0);
    const gz = await batch(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'zip '.repeat(20), timestamp: T0 + i })), 1, { compression: CompressionTypes.GZIP });
    const before = fetchDecodeStats.fallback;
    const { ours } = await both(response([{ topic: 't', partitions: [{ partition: 0, records: Buffer.concat([plain, gz]) }] }]));
    expect(fetchDecodeStats.fallback - before).toBe(1);
    expect(ours.responses[0]!.partitions[0]!.messages).toHaveLength(51);
  });

  test('transactional and control batches, aborted transactions, log-append time, errors: as kafkajs reads them', async () => {
    const txn = await batch([{ key: 'a', value: 'in txn', timestamp: T0 }], 0, { attributes: 0x10, producerId: 99n });
    // A control batch (abort marker: key version 0, type 0).
    const control = await batch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: T0 }], 1, { attributes: 0x30, producerId: 99n });
    const appended = await batch([{ key: 'b', value: 'log append', timestamp: T0 }], 2, { attributes: 0x08 });
    const { ours } = await both(
      response([
        {
          topic: 't',
          partitions: [
            { partition: 0, records: Buffer.concat([txn, control, appended]), aborted: [{ producerId: 99n, firstOffset: 0n }] },
            { partition: 1, records: Buffer.alloc(0), errorCode: 1 },
          ],
        },
      ]),
    );
    const msgs = ours.responses[0]!.partitions[0]!.messages;
    expect(msgs.map((m) => m.isControlRecord)).toEqual([false, true, false]);
    expect((msgs[0]!.batchContext as { inTransaction: boolean }).inTransaction).toBe(true);
  });

  test("kafkajs's Batch reads our numeric offsets as it reads its own text ones: offset filter, aborted transactions, control records, first/last offset, lag", async () => {
    // (kafkajs's consumer Batch has no typings; a non-literal specifier keeps it `any`.)
    const batchModule: string = 'kafkajs/src/consumer/batch.js';
    const KafkaJsBatch = (await import(batchModule)).default as new (topic: string, fetchedOffset: string, partitionData: unknown) => {
      messages: { offset: unknown; value: Buffer | null }[];
      isEmpty(): boolean;
      isEmptyIncludingFiltered(): boolean;
      isEmptyControlRecord(): boolean;
      firstOffset(): unknown;
      lastOffset(): unknown;
      offsetLag(): string;
      offsetLagLow(): string;
    };
    const txn = await batch([{ key: 'a', value: 'in txn', timestamp: T0 }, { key: 'a2', value: 'in txn 2', timestamp: T0 }], 10, { attributes: 0x10, producerId: 99n });
    const control = await batch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: T0 }], 12, { attributes: 0x30, producerId: 99n });
    const plain = await batch(Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: T0 + i })), 13);
    const onlyControl = await batch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: T0 }], 40, { attributes: 0x30, producerId: 5n });
    const raw = response([
      {
        topic: 't',
        partitions: [
          { partition: 0, records: Buffer.concat([txn, control, plain]), aborted: [{ producerId: 99n, firstOffset: 10n }] },
          { partition: 1, records: plain },
          { partition: 2, records: onlyControl },
        ],
      },
    ]);
    const { ours, theirs } = await both(raw);
    const view = (d: Decoded, p: number, fetched: string) => {
      const b = new KafkaJsBatch('t', fetched, d.responses[0]!.partitions[p]);
      return {
        messages: b.messages.map((m) => [String(m.offset), m.value === null ? null : m.value.toString()]),
        empty: [b.isEmpty(), b.isEmptyIncludingFiltered(), b.isEmptyControlRecord()],
        first: b.firstOffset() === null ? null : String(b.firstOffset()),
        last: String(b.lastOffset()),
        lag: [b.offsetLag(), b.offsetLagLow()],
      };
    };
    for (const [p, fetched] of [[0, '10'], [0, '14'], [1, '13'], [1, '15'], [1, '17'], [2, '40']] as const) {
      expect([p, typeof ours.responses[0]!.partitions[p]!.messages[0]!.offset]).toEqual([p, 'number']);
      expect(view(ours, p, fetched)).toEqual(view(theirs, p, fetched));
    }
    // The aborted transaction (10, 11) and the control record (12) are gone; the offset filter drops below 14.
    expect(view(ours, 0, '10').messages.map(([o]) => o)).toEqual(['13', '14', '15', '16', '17']);
    expect(view(ours, 0, '14').messages.map(([o]) => o)).toEqual(['14', '15', '16', '17']);
  });

  test('a malformed response is an error, not a silent empty fetch', async () => {
    const raw = response([{ topic: 't', partitions: [{ partition: 0, records: await batch([{ key: 'a', value: '1', timestamp: T0 }], 0) }] }]);
    await expect(decodeFetchV11(raw.subarray(0, 20))).rejects.toThrow();
  });
});
