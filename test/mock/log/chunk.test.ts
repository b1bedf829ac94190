/** LogChunk's number and copy writers: the bytes must be exactly what String() / slice() give. */
import { describe, expect, test } from 'bun:test';
import { LogChunk } from '../../../src/mock/log/chunk';
import { Rng } from '../../../src/mock/random';

const text = new TextDecoder();

function written(values: number[]): string[] {
  const c = new LogChunk(64);
  const out: string[] = [];
  for (const n of values) {
    c.reset();
    c.uint(n);
    out.push(text.decode(c.bytes()));
  }
  return out;
}

describe('LogChunk.uint', () => {
  test('small, int32-range and 13-digit numbers read back as String(n)', () => {
    const rng = new Rng(3);
    const values = [0, 9, 10, 99, 100, 999, 1000, 65_535, 999_999, 1_000_000, 123_456_789, 999_999_999, 1e9, 4_294_967_295];
    values.push(1e12, 1e12 + 1, 9_999_999_999_999, 1_736_784_000_000, 1_736_870_399_999, 99_999_999_999, 1e13, 12_345_678_901_234);
    for (let i = 0; i < 5000; i++) values.push(1e12 + rng.u32() * 2000 + rng.int(0, 1999));
    expect(written(values)).toEqual(values.map(String));
  });

  test('timestamps whose first five digits change between writes (the cached prefix follows)', () => {
    // 17368|99999999 → 17369|00000000, back and forth, in one chunk.
    const values = [1_736_899_999_999, 1_736_900_000_000, 1_736_899_999_998, 1_736_900_000_001, 1_736_800_000_000, 1_836_900_000_001];
    const c = new LogChunk(256);
    for (const n of values) {
      c.uint(n);
      c.byte(44);
    }
    expect(text.decode(c.bytes())).toBe(values.map((n) => `${n},`).join(''));
  });
});

test('LogChunk.copy: the bytes of [from, to), detached from the chunk', () => {
  const c = new LogChunk(64);
  c.f(new TextEncoder().encode('{"a":"图书"}'));
  const before = c.bytes().slice();
  const copy = c.copy(1, c.pos - 1);
  expect(Array.from(copy)).toEqual(Array.from(before.subarray(1, before.length - 1)));
  c.reset();
  c.f(new TextEncoder().encode('zzzzzzzzzzzzzzz'));
  expect(Array.from(copy)).toEqual(Array.from(before.subarray(1, before.length - 1)));
});
