import { describe, expect, test } from 'bun:test';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import * as lz4js from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import * as snappyjs from 'snappyjs';
import { isXerialFramed, lz4Codec, registerKafkaCodecs, snappyCodec } from '../../src/bus/codecs.ts';
import { LZ4_HEADER_CHECKSUM } from '../../src/bus/kafka/lz4-frame.ts';

/**
 * The `records` section of real record batches written by the Java producer (kafka-clients 4.1.1 via
 * ConsoleProducer, snappy-java 1.1.10.7 / lz4-java 1.8.0), captured from the broker: three records
 * a → {"id":1,"name":"alpha alpha alpha"}, b → …"beta beta beta"…, c → …"gamma gamma gamma"….
 */
const JAVA_SNAPPY_XERIAL =
  '82534e4150505900000000010000000100000062800170540000000261467b226964223a312c226e616d65223a22616c706861201d0628227d005000b60102026240092c0032152c106265746120150524227d005600b6010402630d55003315294c67616d6d612067616d6d612067616d6d61227d00';
const JAVA_LZ4_FRAME =
  '04224d1860408259000000f70e540000000261467b226964223a312c226e616d65223a22616c706861200600a2227d004e0062020262402b0015322b00556265746120050093227d005400620402635300153328006567616d6d61200600506d61227d0000000000';
const JAVA_VALUES = ['{"id":1,"name":"alpha alpha alpha"}', '{"id":2,"name":"beta beta beta"}', '{"id":3,"name":"gamma gamma gamma"}'];

function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

function jsonish(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += JSON.stringify({ id: i, sku: `sku-${i % 97}`, amount: (i * 7919) % 10000, ts: 1700000000000 + i }) + '\n';
  return Buffer.from(s.slice(0, n));
}

const SAMPLES: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([7])],
  ['13 bytes', Buffer.from('abcdefghijklm')],
  ['all zeros 100 KiB', Buffer.alloc(100 * 1024)],
  ['json 64 KiB exactly', jsonish(64 * 1024)],
  ['json 64 KiB + 1', jsonish(64 * 1024 + 1)],
  ['json 32 KiB + 5', jsonish(32 * 1024 + 5)],
  ['json 1.5 MiB', jsonish(1536 * 1024)],
  ['random 300 KiB', randomBytes(300 * 1024)],
];

describe('snappy codec', () => {
  for (const [name, data] of SAMPLES) {
    test(`round-trips ${name} in xerial frames`, () => {
      const c = snappyCodec.compress(data);
      expect(isXerialFramed(c)).toBe(true);
      expect(snappyCodec.decompress(c).equals(data)).toBe(true);
    });
  }

  test('writes one chunk per 32 KiB of input, as snappy-java does', () => {
    const c = snappyCodec.compress(jsonish(32 * 1024 * 2 + 10));
    let chunks = 0;
    for (let pos = 16; pos < c.length; pos += 4 + c.readInt32BE(pos)) chunks++;
    expect(chunks).toBe(3);
  });

  test('reads a bare snappy block (kafkajs-snappy and some older clients write those)', () => {
    const data = jsonish(5000);
    const raw = Buffer.from(snappyjs.compress(data));
    expect(isXerialFramed(raw)).toBe(false);
    expect(snappyCodec.decompress(raw).equals(data)).toBe(true);
  });

  test('reads a record batch body written by the Java producer (xerial)', () => {
    const out = snappyCodec.decompress(Buffer.from(JAVA_SNAPPY_XERIAL, 'hex')).toString('latin1');
    for (const v of JAVA_VALUES) expect(out).toContain(v);
  });

  test('a truncated xerial chunk is an error, not garbage', () => {
    const c = snappyCodec.compress(jsonish(10_000));
    expect(() => snappyCodec.decompress(c.subarray(0, c.length - 3))).toThrow();
  });
});

describe('lz4 codec', () => {
  for (const [name, data] of SAMPLES) {
    test(`round-trips ${name} as an LZ4 frame`, () => {
      const c = lz4Codec.compress(data);
      expect(c.readUInt32LE(0)).toBe(0x184d2204);
      expect(lz4Codec.decompress(c).equals(data)).toBe(true);
      // An independent reader agrees with our frames.
      expect(Buffer.from(lz4js.decompress(c)).equals(data)).toBe(true);
    });
  }

  test('frame header: version 01 + independent blocks, 64 KiB block size, correct header checksum', () => {
    const c = lz4Codec.compress(jsonish(1000));
    expect(c[4]).toBe(0x60);
    expect(c[5]).toBe(0x40);
    const hc = (xxh32(0, c, 4, 2) >>> 8) & 0xff;
    expect(c[6]).toBe(hc);
    expect(LZ4_HEADER_CHECKSUM).toBe(hc);
  });

  test('compresses repetitive data (the block compressor really finds matches)', () => {
    const data = jsonish(256 * 1024);
    expect(lz4Codec.compress(data).length).toBeLessThan(data.length / 3);
  });

  test('no match starts within the last 12 bytes of a block (the reference decoder rejects that)', () => {
    // Repetitive right up to the end: a naive compressor would emit a match close to the block end.
    const data = Buffer.from('ab'.repeat(40));
    const c = lz4Codec.compress(data);
    const size = c.readUInt32LE(7);
    expect(size & 0x80000000).toBe(0);
    // Walk the sequences and check where the last literal run (which must be the final sequence) begins.
    const block = c.subarray(11, 11 + size);
    let ip = 0;
    let op = 0;
    for (;;) {
      const token = block[ip++] as number;
      let lit = token >> 4;
      if (lit === 15) for (let b = 255; b === 255; lit += b) b = block[ip++] as number;
      ip += lit;
      op += lit;
      if (ip >= block.length) break;
      expect(op).toBeLessThan(data.length - 12);
      ip += 2;
      let ml = token & 15;
      if (ml === 15) for (let b = 255; b === 255; ml += b) b = block[ip++] as number;
      op += ml + 4;
      expect(op).toBeLessThanOrEqual(data.length - 5);
    }
    expect(op).toBe(data.length);
  });

  test('reads frames lz4js writes (dependent-block flag, 4 MiB blocks)', () => {
    const data = jsonish(100_000);
    expect(lz4Codec.decompress(Buffer.from(lz4js.compress(data))).equals(data)).toBe(true);
  });

  test('reads a record batch body written by the Java producer', () => {
    const out = lz4Codec.decompress(Buffer.from(JAVA_LZ4_FRAME, 'hex')).toString('latin1');
    for (const v of JAVA_VALUES) expect(out).toContain(v);
  });
});

describe('kafkajs registration', () => {
  test('snappy, lz4 and zstd codecs are installed and work through the kafkajs codec shape', async () => {
    registerKafkaCodecs();
    registerKafkaCodecs(); // idempotent
    const data = jsonish(70_000);
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD, CompressionTypes.GZIP] as const) {
      const codec = CompressionCodecs[type]() as {
        compress(e: { buffer: Buffer }): Promise<Buffer>;
        decompress(b: Buffer): Promise<Buffer>;
      };
      const c = await codec.compress({ buffer: data });
      expect(c.length).toBeLessThan(data.length);
      expect((await codec.decompress(c)).equals(data)).toBe(true);
    }
  });
});
