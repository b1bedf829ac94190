/**
 * The fast produce path without a broker: CRC-32C, the record batch v2 writer and the Produce request encoder,
 * compared byte for byte with kafkajs 2.2.4's own encoders (required from its sources, which our override leaves
 * untouched), and the sequence ledger of prepared batches. The broker and the Java consumer check the same bytes in
 * test/bus/kafka.test.ts.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionTypes } from 'kafkajs';
import produce from 'kafkajs/src/protocol/requests/produce/index.js';
import { registerKafkaCodecs } from '../../src/bus/codecs.ts';
import { crc32c, crc32cImplementation, crc32cJs } from '../../src/bus/kafka/crc32c.ts';
import { installProduceEncoder, PreparedBatch, SequenceLedger } from '../../src/bus/kafka/produce-request.ts';
import {
  encodeRecords,
  finishBatch,
  incrementSequence,
  sizeOfVarInt,
  sizeOfVarLong,
  soloBatchBytes,
  type EncodedBatch,
  type RecordInput,
} from '../../src/bus/kafka/record-batch.ts';

/* eslint-disable @typescript-eslint/no-require-imports */
type Encoded = { buffer: Buffer };
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const KafkaJsEncoder = require('kafkajs/src/protocol/encoder.js') as { sizeOfVarInt(n: number): number; sizeOfVarLong(n: number): number };
const kafkajsProduceV7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as (args: unknown) => { encode(): Promise<Encoded> };
const kafkajsProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: unknown) => { encode(): Promise<Encoded> };
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const decodeKafkaJsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  firstSequence: number;
  producerId: string;
  producerEpoch: number;
  firstTimestamp: string;
  maxTimestamp: string;
  records: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]>; timestamp: string; offset: string }>;
}>;

const CODECS = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4] as const;
const CODEC_NAME: Record<number, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4' };
const TS = 1736812800123;

beforeAll(() => {
  registerKafkaCodecs();
  installProduceEncoder();
});

describe('crc32c', () => {
  test('check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  test('is not the zlib CRC-32 that Bun has built in', () => {
    expect(Bun.hash.crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32c(Buffer.from('123456789'))).not.toBe(0xcbf43926);
  });

  test("equals kafkajs's byte-at-a-time CRC-32C on every length and alignment", () => {
    const data = Buffer.alloc(5000);
    crypto.getRandomValues(data);
    for (let start = 0; start < 9; start++) {
      for (const len of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4000]) {
        const slice = data.subarray(start, start + len);
        expect(crc32c(slice)).toBe(kafkajsCrc32c(slice));
        // The range form (what finishBatch uses) equals the slice form.
        expect(crc32c(data, start, start + len)).toBe(kafkajsCrc32c(slice));
      }
    }
  });

  test('the CPU instruction (Linux x86-64 with SSE4.2) is what runs there, and equals the JavaScript loop everywhere', () => {
    const sse42 = process.platform === 'linux' && process.arch === 'x64' && /^flags\s*:.*\bsse4_2\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(crc32cImplementation()).toBe(sse42 ? 'x64' : 'js');
    const data = Buffer.alloc(70_000);
    crypto.getRandomValues(data);
    for (let start = 0; start < 9; start++) {
      for (const len of [255, 256, 257, 263, 264, 1000, 4096, 65_537]) {
        expect({ start, len, crc: crc32c(data, start, start + len) }).toEqual({ start, len, crc: crc32cJs(data, start, start + len) });
      }
    }
    expect(crc32c(Buffer.alloc(300, 0xff))).toBe(crc32cJs(Buffer.alloc(300, 0xff)));
  });

  test('RTWH_CRC32C=js keeps the JavaScript loop', async () => {
    const child = Bun.spawn([process.execPath, '-e', `import { crc32cImplementation, crc32c } from ${JSON.stringify(join(import.meta.dir, '../../src/bus/kafka/crc32c.ts'))}; console.log(crc32cImplementation(), crc32c(Buffer.alloc(1000, 1)))`], {
      env: { ...process.env, RTWH_CRC32C: 'js' },
      stdout: 'pipe',
    });
    expect((await new Response(child.stdout).text()).trim()).toBe(`js ${crc32cJs(Buffer.alloc(1000, 1))}`);
  });
});

describe('varints', () => {
  test("sizes equal kafkajs's around every byte boundary", () => {
    const ints = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, -8193, 2 ** 20 - 1, 2 ** 20, 2 ** 27, 2 ** 30, 2 ** 31 - 1, -(2 ** 31)];
    for (const n of ints) expect({ n, size: sizeOfVarInt(n) }).toEqual({ n, size: KafkaJsEncoder.sizeOfVarInt(n) });
    const longs = [...ints, 2 ** 31, 2 ** 33, -(2 ** 33) - 5, 2 ** 40 + 3, TS, -TS, 2 ** 52 - 1];
    for (const n of longs) expect({ n, size: sizeOfVarLong(n) }).toEqual({ n, size: KafkaJsEncoder.sizeOfVarLong(n) });
  });
});

/** kafkajs-shaped messages covering null key/value, Buffers, multi-byte UTF-8, header arrays and varint boundaries. */
function messages(n: number, tsOf: (i: number) => number | undefined = (i) => TS + (i % 13) * 1000): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => {
    const ts = tsOf(i);
    return {
      key: i % 7 === 0 ? null : i % 5 === 0 ? Buffer.from([1, 2, 3, i & 255]) : `k${i}-ключ`,
      value: i % 11 === 0 ? null : i % 17 === 0 ? Buffer.alloc(0) : 'v'.repeat((i * 37) % 9000) + 'ü✓',
      headers: i % 3 === 0 ? { a: 'x', é: Buffer.from('yy'), arr: ['1', '22'] } : undefined,
      ...(ts === undefined ? {} : { timestamp: String(ts) }),
    };
  });
}

function args(compression: number, partitions: Array<{ partition: number; firstSequence: number; messages: unknown[] }>, extra = {}) {
  return {
    acks: -1,
    timeout: 30000,
    compression,
    transactionalId: null,
    producerId: '1234567',
    producerEpoch: 3,
    topicData: [
      { topic: 'tópico', partitions },
      { topic: 'b', partitions: [{ partition: 1, firstSequence: 5, messages: [{ key: 'x', value: 'y', timestamp: String(TS) }] }] },
    ],
    ...extra,
  };
}

/** kafkajs-shaped messages as one batch of topic "tópico", numbered by a fresh ledger (producer 1234567, epoch 3). */
async function preparedOf(msgs: Array<Record<string, unknown>>, compression: number, partition: number): Promise<{ prepared: PreparedBatch; encoded: EncodedBatch }> {
  const records: RecordInput[] = msgs.map((m) => ({
    key: m.key as RecordInput['key'],
    value: m.value as RecordInput['value'],
    headers: m.headers as RecordInput['headers'],
    timestamp: Number(m.timestamp),
  }));
  const ts = records.map((r) => r.timestamp);
  const encoded = await encodeRecords(records, compression, Math.min(...ts), Math.max(...ts));
  const ledger = new SequenceLedger();
  ledger.reset(1234567n, 3);
  const prepared = new PreparedBatch('tópico', partition, encoded, ledger, 4);
  ledger.assign(prepared);
  return { prepared, encoded };
}

async function ours(version: number, a: unknown): Promise<Buffer> {
  return ((await produce.protocol({ version })(a as never).request.encode()) as Encoded).buffer;
}

describe('Produce request encoder', () => {
  test('is installed once, on the module kafkajs itself looks requests up in', () => {
    const requests = require('kafkajs/src/protocol/requests/index.js') as { requests: { Produce: unknown } };
    expect(requests.requests.Produce).toBe(produce);
    const protocol = produce.protocol;
    installProduceEncoder();
    expect(produce.protocol).toBe(protocol);
    expect((produce as unknown as Record<symbol, unknown>)[Symbol.for('rtwh.kafka.produceEncoder')]).toBe(true);
  });

  for (const compression of CODECS) {
    test(`writes kafkajs's exact bytes for plain messages (compression ${CODEC_NAME[compression]})`, async () => {
      const msgs = messages(300);
      const a = args(compression, [
        { partition: 0, firstSequence: 77, messages: msgs.slice(0, 150) },
        { partition: 3, firstSequence: 0, messages: msgs.slice(150) },
      ]);
      const theirs = (await kafkajsProduceV7(a).encode()).buffer;
      const mine = await ours(7, a);
      expect(mine.length).toBe(theirs.length);
      expect(mine.equals(theirs)).toBe(true);
    });
  }

  test('keys, values and headers with 4-byte characters and lone surrogates, short and long: the same bytes', async () => {
    const texts = ['𝄞', 'a𝄞b', '\ud800', 'x\udc00y', '\ud800\udc00', 'ü✓中', '𝄞'.repeat(20), 'é'.repeat(40), 'k\ud83d'];
    const msgs = texts.map((t, i) => ({ key: t, value: `${t}|${i}`, headers: { [t]: t, [`h${i}`]: [t, 'plain'] }, timestamp: String(TS + i) }));
    const a = args(CompressionTypes.None, [{ partition: 0, firstSequence: 0, messages: msgs }]);
    expect((await ours(7, a)).equals((await kafkajsProduceV7(a).encode()).buffer)).toBe(true);
  });

  test('v3 and a transactional id, no producer id: still the same bytes', async () => {
    const a = args(CompressionTypes.None, [{ partition: 2, firstSequence: 0, messages: messages(40) }], {
      transactionalId: 'tx-ü',
      producerId: undefined,
      producerEpoch: undefined,
    });
    expect((await ours(3, a)).equals((await kafkajsProduceV3(a).encode()).buffer)).toBe(true);
  });

  test('no timestamps (Date.now), timestamp deltas wider than 32 bits, a 1 MiB+ value', async () => {
    const realNow = Date.now;
    Date.now = () => TS;
    try {
      const none = args(CompressionTypes.None, [{ partition: 0, firstSequence: 1, messages: messages(30, () => undefined) }]);
      expect((await ours(7, none)).equals((await kafkajsProduceV7(none).encode()).buffer)).toBe(true);
    } finally {
      Date.now = realNow;
    }
    // 13-digit timestamps only: kafkajs sorts them as strings, which is numeric order only at equal length.
    const wide = messages(20, (i) => 1_000_000_000_000 + i * 2 ** 33);
    const a = args(CompressionTypes.None, [{ partition: 0, firstSequence: 0, messages: wide }]);
    expect((await ours(7, a)).equals((await kafkajsProduceV7(a).encode()).buffer)).toBe(true);
    const big = Buffer.alloc(1024 * 1024 + 3, 7);
    const b = args(CompressionTypes.None, [{ partition: 0, firstSequence: 0, messages: [{ key: 'big', value: big, timestamp: String(TS) }] }]);
    expect((await ours(7, b)).equals((await kafkajsProduceV7(b).encode()).buffer)).toBe(true);
  });

  for (const compression of CODECS) {
    test(`a prepared batch is the bytes kafkajs writes for the same records (compression ${CODEC_NAME[compression]})`, async () => {
      const msgs = messages(200);
      // The ledger numbers the batch (sequence 0 on a fresh producer id); kafkajs's firstSequence is not used.
      const { prepared } = await preparedOf(msgs, compression, 0);
      const mine = await ours(7, args(compression, [{ partition: 0, firstSequence: 99, messages: [prepared] }]));
      const theirs = (await kafkajsProduceV7(args(compression, [{ partition: 0, firstSequence: 0, messages: msgs }])).encode()).buffer;
      expect(mine.equals(theirs)).toBe(true);
    });
  }

  test('a prepared batch alone in its request: the request is written in front of the batch, in its memory, with the same bytes', async () => {
    for (const transactionalId of [null, 'rtwh-tx-ü']) {
      for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
        const msgs = messages(120);
        const { prepared, encoded } = await preparedOf(msgs, compression, 2);
        const a = (msgsOrBatch: unknown[]) => ({
          acks: -1,
          timeout: 30000,
          compression,
          transactionalId,
          producerId: '1234567',
          producerEpoch: 3,
          topicData: [{ topic: 'tópico', partitions: [{ partition: 2, firstSequence: 0, messages: msgsOrBatch }] }],
        });
        const enc = (await produce.protocol({ version: 7 })(a([prepared]) as never).request.encode()) as Encoded & { buf: Buffer };
        const theirs = (await kafkajsProduceV7(a(msgs)).encode()).buffer;
        expect({ transactionalId, compression, same: enc.buffer.equals(theirs) }).toEqual({ transactionalId, compression, same: true });
        // uncompressed batches leave room in front: no copy; compressed ones are copied into a new request
        expect(enc.buf.buffer === encoded.bytes.buffer).toBe(compression === CompressionTypes.None);
      }
    }
  });

  test("kafkajs's decoder reads our batches back: records, headers, timestamps, producer fields", async () => {
    const records: RecordInput[] = [
      { key: null, value: 'plain', headers: { source: 'mock', 'trace-id': 'ü-✓-42' }, timestamp: TS - 60_000 },
      { key: 'tombstone', value: null, timestamp: TS },
      { key: Buffer.from([0, 1, 255]), value: Buffer.alloc(0), timestamp: TS + 5 },
      { key: 'k', value: 'x'.repeat(70_000), timestamp: TS + 2 ** 33 },
    ];
    for (const compression of CODECS) {
      const batch = await encodeRecords(records, compression, TS - 60_000, TS + 2 ** 33);
      const bytes = finishBatch(batch, { producerId: 987654321012n, producerEpoch: 4, baseSequence: 2 ** 31 - 2, transactional: false });
      const decoded = await decodeKafkaJsBatch(new KafkaJsDecoder(bytes));
      expect(decoded.producerId).toBe('987654321012');
      expect(decoded.producerEpoch).toBe(4);
      expect(decoded.firstSequence).toBe(2 ** 31 - 2);
      expect(decoded.maxTimestamp).toBe(String(TS + 2 ** 33));
      expect(decoded.records.map((r) => [r.key?.toString('hex') ?? null, r.value?.toString() ?? null, r.timestamp, r.offset])).toEqual([
        [null, 'plain', String(TS - 60_000), '0'],
        [Buffer.from('tombstone').toString('hex'), null, String(TS), '1'],
        ['0001ff', '', String(TS + 5), '2'],
        [Buffer.from('k').toString('hex'), 'x'.repeat(70_000), String(TS + 2 ** 33), '3'],
      ]);
      expect(Object.fromEntries(Object.entries(decoded.records[0]!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({
        source: 'mock',
        'trace-id': 'ü-✓-42',
      });
      // The CRC covers attributes..end.
      expect(bytes.readUInt32BE(17)).toBe(kafkajsCrc32c(bytes.subarray(21)));
    }
  });
});

describe('sequence ledger of prepared batches', () => {
  const one = async (n = 3) => encodeRecords(Array.from({ length: n }, (_, i) => ({ key: null, value: `v${i}`, timestamp: TS })), 0, TS, TS);

  test('numbers batches in the order they are handed over, several per partition before any answer', async () => {
    const ledger = new SequenceLedger();
    ledger.reset(7n, 0);
    const [a, b, c] = [new PreparedBatch('t', 0, await one(3), ledger, 2), new PreparedBatch('t', 0, await one(5), ledger, 2), new PreparedBatch('t', 0, await one(2), ledger, 2)];
    const d = new PreparedBatch('t', 1, await one(4), ledger, 2);
    for (const x of [a, b, d, c]) ledger.assign(x);
    expect([a.sequence, b.sequence, c.sequence, d.sequence]).toEqual([0, 3, 8, 0]);
    expect([a.producerId, a.producerEpoch]).toEqual([7n, 0]);
  });

  test('a refused batch and the ones behind it are renumbered from the last written one after rewind()', async () => {
    const ledger = new SequenceLedger();
    ledger.reset(7n, 0);
    const a = new PreparedBatch('t', 0, await one(3), ledger, 1);
    const b = new PreparedBatch('t', 0, await one(5), ledger, 1);
    const c = new PreparedBatch('t', 0, await one(2), ledger, 1);
    for (const x of [a, b, c]) ledger.assign(x);
    ledger.answered(a, 0, 100);
    ledger.answered(b, 10); // MESSAGE_TOO_LARGE: not written
    ledger.answered(c, 45); // OUT_OF_ORDER_SEQUENCE_NUMBER: behind a refused one
    expect([a.state, b.state, c.state, a.writtenAt]).toEqual(['written', 'refused', 'refused', 100]);
    expect(b.outcomeUnknown).toBe(false);
    ledger.rewind();
    expect(c.generation).not.toBe(ledger.generation);
    ledger.assign(c);
    expect(c.sequence).toBe(3);
    // A late answer for a batch of an older generation changes nothing.
    ledger.answered(b, 0, 5);
    expect(b.state).toBe('refused');
  });

  test('a resend keeps its numbers; an attempt without an answer leaves the outcome unknown until written', async () => {
    const ledger = new SequenceLedger();
    ledger.reset(7n, 0);
    const a = new PreparedBatch('t', 0, await one(3), ledger, 1);
    ledger.assign(a);
    a.state = 'sent';
    expect(a.outcomeUnknown).toBe(true); // sent, no answer yet
    a.uncertain = true; // the request ended without its answer (connection lost)
    ledger.answered(a, 6); // NOT_LEADER_FOR_PARTITION on the resend
    expect(a.outcomeUnknown).toBe(true); // the first attempt may still have been written
    ledger.answered(a, 0, 7); // the next resend: written (or recognised as the duplicate of the first)
    expect([a.outcomeUnknown, a.writtenAt, a.sequence]).toEqual([false, 7, 0]);
    ledger.answered(a, 0, 7); // answered twice: counted once
    const b = new PreparedBatch('t', 0, await one(1), ledger, 1);
    ledger.assign(b);
    expect(b.sequence).toBe(3);
  });

  test('a new producer id starts every partition at 0; not idempotent means producer id -1 and sequence 0', async () => {
    const ledger = new SequenceLedger();
    const a = new PreparedBatch('t', 0, await one(3), ledger, 1);
    ledger.assign(a);
    expect([a.producerId, a.producerEpoch, a.sequence]).toEqual([-1n, 0, 0]);
    ledger.reset(9n, 1);
    ledger.assign(a);
    const b = new PreparedBatch('t', 0, await one(3), ledger, 1);
    ledger.assign(b);
    expect([b.sequence, b.producerEpoch]).toEqual([3, 1]);
    ledger.reset(10n, 0);
    ledger.assign(b);
    expect([b.producerId, b.sequence]).toEqual([10n, 0]);
  });

  test("wraps like Kafka's DefaultRecordBatch.incrementSequence", () => {
    expect(incrementSequence(0, 5)).toBe(5);
    expect(incrementSequence(2 ** 31 - 1, 1)).toBe(0);
    expect(incrementSequence(2 ** 31 - 3, 5)).toBe(2);
  });
});

describe('soloBatchBytes', () => {
  test('is the length of the uncompressed batch holding the record alone, around the varint boundaries', async () => {
    const cases: RecordInput[] = [
      { key: null, value: null, timestamp: 1 },
      { key: '', value: '', timestamp: 1 },
      { key: 'k', value: 'v', timestamp: 1_736_812_800_000, headers: { 'rtwh.producer': 'job/out', 'rtwh.seq': '123456' } },
      { key: Buffer.from('bytes'), value: 'ünï ✓ 𝄞 中文 \ud800', timestamp: 5, headers: { a: null, b: ['1', Buffer.from('2')], 'ü': 'x'.repeat(200) } },
    ];
    for (const n of [63, 64, 8191, 8192, 1_048_575, 1_048_576, 1_200_000]) cases.push({ key: 'k'.repeat(n % 300), value: 'v'.repeat(n), timestamp: 9, headers: { h: 'x'.repeat(n % 129) } });
    for (const r of cases) expect({ r: String(r.value).length, n: soloBatchBytes(r) }).toEqual({ r: String(r.value).length, n: (await encodeRecords([r], CompressionTypes.None, r.timestamp, r.timestamp)).bytes.length });
  });
});
