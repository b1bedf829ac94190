import { describe, expect, test } from 'bun:test';
import { createRequire } from 'node:module';
import { createDefaultPartitioner, murmur2, partitionForKey, toPositive } from '../../src/bus/partitioner.ts';

// kafkajs's DefaultPartitioner is the Java-compatible one; it serves as an independent oracle here.
const require = createRequire(import.meta.url);
type KafkajsPartitionerFactory = () => (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: string | Buffer | null; partition?: number | null };
}) => number;
const kafkajs = require('kafkajs') as { Partitioners: { DefaultPartitioner: KafkajsPartitionerFactory } };
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

function meta(n: number): { partitionId: number; leader: number }[] {
  return Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0 }));
}

describe('murmur2', () => {
  // Values from the Java client's UtilsTest.testMurmur2.
  test.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('Java value for %p', (key, expected) => {
    expect(murmur2(new TextEncoder().encode(key))).toBe(expected);
  });

  test('equals kafkajs for every tail length and random bytes', () => {
    let mismatches = 0;
    for (let len = 0; len < 64; len++) {
      for (let rep = 0; rep < 20; rep++) {
        const buf = Buffer.from(crypto.getRandomValues(new Uint8Array(len)));
        if (murmur2(buf) !== kafkajsMurmur2(buf)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  test('toPositive clears only the sign bit', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(12345)).toBe(12345);
  });
});

describe('partitionForKey', () => {
  test('matches kafkajs DefaultPartitioner for 5000 string keys over several partition counts', () => {
    const theirs = kafkajs.Partitioners.DefaultPartitioner();
    const diffs: string[] = [];
    for (const n of [1, 2, 3, 4, 7, 12, 100]) {
      for (let i = 0; i < 5000; i++) {
        const key = i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `订单${i}é` : String(i * 7919);
        const mine = partitionForKey(key, n);
        const ref = theirs({ topic: 't', partitionMetadata: meta(n), message: { key } });
        if (mine !== ref) diffs.push(`${key}/${n}: ${mine} != ${ref}`);
      }
    }
    expect(diffs).toEqual([]);
  });

  test('Buffer keys hash their bytes, same as the equal string', () => {
    expect(partitionForKey(Buffer.from('order-42'), 12)).toBe(partitionForKey('order-42', 12));
    const theirs = kafkajs.Partitioners.DefaultPartitioner();
    const key = Buffer.from([0, 255, 128, 7, 9]);
    expect(partitionForKey(key, 5)).toBe(theirs({ topic: 't', partitionMetadata: meta(5), message: { key } }));
  });

  test('rejects a non-positive partition count', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
  });
});

describe('createDefaultPartitioner', () => {
  test('keyed records follow murmur2', () => {
    const p = createDefaultPartitioner();
    expect(p('t', 'foobar', 6)).toBe(toPositive(-790332482) % 6);
  });

  test('keyless records cycle over every partition, per topic', () => {
    const p = createDefaultPartitioner();
    const seen = Array.from({ length: 8 }, () => p('a', null, 4));
    // Consecutive keyless records go to consecutive partitions.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1]! + 1) % 4);
    expect(new Set(seen).size).toBe(4);
    const other = Array.from({ length: 3 }, () => p('b', undefined, 3));
    expect(new Set(other).size).toBe(3);
  });
});
