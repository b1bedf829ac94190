import { describe, expect, test } from 'bun:test';
import { parseRatio, Rng } from '../../src/mock/random';

describe('Rng', () => {
  test('the same seed gives the same sequence; another seed another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xa);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xa);
  });

  test('a pinned sequence, so a change of algorithm is noticed (it would change every mock data set)', () => {
    const r = new Rng(1);
    expect([r.u32(), r.u32(), r.u32()]).toEqual(PINNED);
  });

  test('int is inclusive, in range and roughly uniform', () => {
    const r = new Rng('uniform');
    const counts = new Array(6).fill(0) as number[];
    for (let i = 0; i < 60000; i++) counts[r.int(1, 6) - 1]!++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  test('weighted follows the ratio', () => {
    const r = new Rng(7);
    const seen = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 100000; i++) seen[r.weighted([['a', 30], ['b', 60], ['c', 10]] as const)]++;
    expect(Math.abs(seen.a - 30000)).toBeLessThan(1000);
    expect(Math.abs(seen.b - 60000)).toBeLessThan(1000);
    expect(Math.abs(seen.c - 10000)).toBeLessThan(1000);
  });

  test('chance uses percentages', () => {
    const r = new Rng(9);
    let hits = 0;
    for (let i = 0; i < 100000; i++) if (r.chance(3)) hits++;
    expect(Math.abs(hits - 3000)).toBeLessThan(300);
    expect(new Rng(1).chance(0)).toBe(false);
    expect(new Rng(1).chance(100)).toBe(true);
  });

  test('sample gives distinct items; uuid has the v4 shape; forks are independent and deterministic', () => {
    const r = new Rng(3);
    const s = r.sample([1, 2, 3, 4, 5, 6, 7, 8], 5);
    expect(new Set(s).size).toBe(5);
    expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Rng(5).fork('x').u32()).toBe(new Rng(5).fork('x').u32());
    expect(new Rng(5).fork('x').u32()).not.toBe(new Rng(5).fork('y').u32());
  });

  test('bad ranges are errors, not silent nonsense', () => {
    expect(() => new Rng(1).int(5, 4)).toThrow(RangeError);
    expect(() => new Rng(1).pick([])).toThrow(RangeError);
  });
});

test('parseRatio names the flag and the expected form', () => {
  expect(parseRatio('--payment-type', '30:60:10', 3)).toEqual([30, 60, 10]);
  expect(() => parseRatio('--payment-type', '30:60', 3)).toThrow('invalid --payment-type "30:60": expected 3 whole numbers');
});

const PINNED = [1828152527, 3394835397, 2967886022];
