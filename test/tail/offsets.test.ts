/** Offset specs: parsing (every rpk form, and the errors) and resolution against partition bounds. */
import { describe, expect, test } from 'bun:test';
import { RtwhError } from '../../src/errors';
import { parseDuration, parseOffsetSpec, parseTimestamp, resolvePlans, type PartitionBounds } from '../../src/tail/offsets';

const NOW = Date.parse('2025-01-14T12:00:00Z');
const parts: PartitionBounds[] = [
  { partition: 0, startOffset: 0, endOffset: 10 },
  { partition: 1, startOffset: 5, endOffset: 8 },
];
// Record i of either partition has timestamp T0 + 1000*i.
const T0 = 1736812800000;
const forTime = async (ms: number) => new Map(parts.map((p) => [p.partition, Math.min(Math.max(Math.ceil((ms - T0) / 1000), p.startOffset), p.endOffset)]));

async function plan(spec: string, follow = false) {
  return (await resolvePlans(parseOffsetSpec(spec, NOW), parts, follow, forTime)).map((p) => [p.start, p.end, p.untilTimestamp]);
}

describe('parse', () => {
  test.each([
    ['start', { kind: 'start' }, { kind: 'none' }],
    ['end', { kind: 'end' }, { kind: 'none' }],
    ['47', { kind: 'exact', offset: 47 }, { kind: 'none' }],
    ['+2', { kind: 'afterStart', n: 2 }, { kind: 'none' }],
    ['-3', { kind: 'beforeEnd', n: 3 }, { kind: 'none' }],
    ['10:20', { kind: 'exact', offset: 10 }, { kind: 'exact', offset: 20 }],
    [':20', { kind: 'start' }, { kind: 'exact', offset: 20 }],
    ['10:', { kind: 'exact', offset: 10 }, { kind: 'none' }],
    ['10:end', { kind: 'exact', offset: 10 }, { kind: 'end' }],
    ['@1736856000000', { kind: 'time', ms: 1736856000000 }, { kind: 'none' }],
    ['@1736856000', { kind: 'time', ms: 1736856000000 }, { kind: 'none' }],
    ['@2025-01-14', { kind: 'time', ms: Date.parse('2025-01-14T00:00:00Z') }, { kind: 'none' }],
    ['@2025-01-14T08:00:00+08:00', { kind: 'time', ms: Date.parse('2025-01-14T00:00:00Z') }, { kind: 'none' }],
    ['@2025-01-14T00:00:00.250Z', { kind: 'time', ms: Date.parse('2025-01-14T00:00:00.250Z') }, { kind: 'none' }],
    ['@-1h', { kind: 'time', ms: NOW - 3_600_000 }, { kind: 'none' }],
    ['@-30m', { kind: 'time', ms: NOW - 1_800_000 }, { kind: 'none' }],
    ['@-1h30m', { kind: 'time', ms: NOW - 5_400_000 }, { kind: 'none' }],
    ['@2025-01-14:1h', { kind: 'time', ms: Date.parse('2025-01-14T00:00:00Z') }, { kind: 'time', ms: Date.parse('2025-01-14T01:00:00Z') }],
    ['@-48h:-24h', { kind: 'time', ms: NOW - 48 * 3_600_000 }, { kind: 'time', ms: NOW - 24 * 3_600_000 }],
    ['@-1m:end', { kind: 'time', ms: NOW - 60_000 }, { kind: 'end' }],
    ['@:-1h', { kind: 'start' }, { kind: 'time', ms: NOW - 3_600_000 }],
    ['@2025-01-14T08:00:00+08:00:2025-01-14T09:00:00+08:00', { kind: 'time', ms: Date.parse('2025-01-14T00:00:00Z') }, { kind: 'time', ms: Date.parse('2025-01-14T01:00:00Z') }],
  ])('%s', (text, from, until) => {
    const s = parseOffsetSpec(text, NOW);
    expect(s.from).toEqual(from as never);
    expect(s.until).toEqual(until as never);
  });

  test.each(['', 'x', '1.5', '+', '-', '+-1', '20:10', '@', '@yesterday', '@2025-13-40', '@2025-01-14:bogus', '@-1y', '@-1h:-2h', '10:x', '99999999999999999999'])(
    'rejects %p naming the value and the forms',
    (text) => {
      let err: unknown;
      try {
        parseOffsetSpec(text, NOW);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RtwhError);
      const e = err as RtwhError;
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(`invalid -o ${JSON.stringify(text)}`);
      expect(e.message).toContain('start, end, N, +N, -N, a:b');
    },
  );

  test('durations and timestamps', () => {
    expect(parseDuration('1m3ms')).toBe(60_003);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1x')).toBeUndefined();
    expect(parseTimestamp('1736856000', NOW)).toBe(1736856000000);
    expect(parseTimestamp('1h', NOW)).toBeUndefined();
    expect(parseTimestamp('1h', NOW, 1000)).toBe(3_601_000);
  });
});

describe('resolve', () => {
  test('start, end, exact, +N, -N (clamped to what each partition stores)', async () => {
    expect(await plan('start')).toEqual([[0, 10, null], [5, 8, null]]);
    expect(await plan('end')).toEqual([[10, 10, null], [8, 8, null]]);
    expect(await plan('3')).toEqual([[3, 10, null], [5, 8, null]]);
    expect(await plan('+2')).toEqual([[2, 10, null], [7, 8, null]]);
    expect(await plan('-3')).toEqual([[7, 10, null], [5, 8, null]]);
    expect(await plan('-100')).toEqual([[0, 10, null], [5, 8, null]]);
    expect(await plan('1000')).toEqual([[10, 10, null], [8, 8, null]]);
  });

  test('ranges end where they say, at most at the current end unless following', async () => {
    expect(await plan('2:4')).toEqual([[2, 4, null], [5, 5, null]]);
    expect(await plan(':6')).toEqual([[0, 6, null], [5, 6, null]]);
    expect(await plan('6:100')).toEqual([[6, 10, null], [6, 8, null]]);
    expect(await plan('6:100', true)).toEqual([[6, 100, null], [6, 100, null]]);
    expect(await plan('6:end', true)).toEqual([[6, 10, null], [6, 8, null]]);
  });

  test('following without an end has no end', async () => {
    expect(await plan('start', true)).toEqual([[0, null, null], [5, null, null]]);
    expect(await plan('end', true)).toEqual([[10, null, null], [8, null, null]]);
  });

  test('timestamps: first offset at or after T, T2 exclusive; a T2 not reached yet stops on the first later record', async () => {
    const t = (i: number) => String(T0 + 1000 * i);
    expect(await plan(`@${t(3)}`)).toEqual([[3, 10, null], [5, 8, null]]);
    expect(await plan(`@${t(3)}:${t(5)}`)).toEqual([[3, 5, null], [5, 5, null]]);
    expect(await plan(`@${t(3)}:2s`)).toEqual([[3, 5, null], [5, 5, null]]);
    expect(await plan(`@${t(3)}:${t(50)}`)).toEqual([[3, 10, null], [5, 8, null]]);
    expect(await plan(`@${t(3)}:${t(50)}`, true)).toEqual([[3, null, T0 + 50_000], [5, null, T0 + 50_000]]);
    expect(await plan(`@${t(50)}`)).toEqual([[10, 10, null], [8, 8, null]]);
  });
});
