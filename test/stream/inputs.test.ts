import { describe, expect, test } from 'bun:test';
import type { BusRecord } from '../../src/bus/types';
import type { Consumer } from '../../src/bus/types';
import { InputPositions, type Bounds } from '../../src/stream/inputs';
import { offsetKey } from '../../src/stream/state-store';

function rec(topic: string, partition: number, offset: number): BusRecord {
  return { topic, partition, offset, timestamp: 0, key: null, value: null, headers: {} };
}

function positions(next: [string, number][]): InputPositions {
  const p = new InputPositions('earliest', () => {});
  for (const [k, n] of next) p.next.set(k, n);
  return p;
}

/** Splits recs into runs of one partition, as the runtime does. */
function byRuns(p: InputPositions, recs: BusRecord[], fresh: Set<string>): BusRecord[] {
  const out: BusRecord[] = [];
  for (let i = 0; i < recs.length; ) {
    const { topic, partition } = recs[i]!;
    let end = i + 1;
    while (end < recs.length && recs[end]!.partition === partition && recs[end]!.topic === topic) end++;
    p.acceptRun(recs, i, end, offsetKey(topic, partition), fresh, (r) => out.push(r));
    i = end;
  }
  return out;
}

describe('InputPositions.acceptRun', () => {
  test('takes what accept takes, record by record, and leaves the same positions and changes', () => {
    let seed = 7;
    const rnd = (k: number) => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed % k;
    };
    for (let round = 0; round < 300; round++) {
      const start: [string, number][] = [
        [offsetKey('a', 0), rnd(20)],
        [offsetKey('a', 1), rnd(20)],
        [offsetKey('b', 0), rnd(20)],
      ];
      // Runs of partitions (one not assigned: 'c'), offsets mostly rising, sometimes going back (a seek's leftovers).
      const recs: BusRecord[] = [];
      const parts: [string, number][] = [['a', 0], ['a', 1], ['b', 0], ['c', 0]];
      const at = new Map<string, number>();
      for (let run = rnd(6); run >= 0; run--) {
        const [t, p] = parts[rnd(parts.length)]!;
        const k = offsetKey(t, p);
        let o = at.get(k) ?? rnd(25);
        for (let n = 1 + rnd(8); n > 0; n--) {
          recs.push(rec(t, p, o));
          o += rnd(5) === 0 ? -rnd(4) : 1 + rnd(2);
          if (o < 0) o = 0;
        }
        at.set(k, o);
      }
      const fresh = new Set(rnd(4) === 0 ? [offsetKey('a', 1)] : []);
      const one = positions(start);
      const each = recs.filter((r) => one.accept(r, fresh));
      const runs = positions(start);
      const taken = byRuns(runs, recs, fresh);
      expect(taken).toEqual(each);
      expect([...runs.next]).toEqual([...one.next]);
      const sortChanged = (p: InputPositions) => p.takeChanged().sort((x, y) => (x.topic + x.partition < y.topic + y.partition ? -1 : 1));
      expect(sortChanged(runs)).toEqual(sortChanged(one));
    }
  });

  test('a fresh or unassigned partition takes nothing and changes nothing', () => {
    const p = positions([[offsetKey('a', 0), 3]]);
    const recs = [rec('a', 0, 3), rec('a', 0, 4)];
    expect(byRuns(p, recs, new Set([offsetKey('a', 0)]))).toEqual([]);
    expect(byRuns(p, [rec('z', 0, 0)], new Set())).toEqual([]);
    expect(p.takeChanged()).toEqual([]);
    expect(byRuns(p, [rec('a', 0, 2), ...recs], new Set())).toEqual(recs);
    expect(p.takeChanged()).toEqual([{ topic: 'a', partition: 0, next: 5 }]);
  });
});

describe('InputPositions.behind', () => {
  test('the assigned partitions whose next offset is below the end: unread records; others, unknown and unassigned ones are not', () => {
    const p = positions([
      ['a:0', 5],
      ['a:1', 9],
      ['b:0', 3],
    ]);
    const consumer = { assignment: () => [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }, { topic: 'c', partition: 0 }] } as unknown as Consumer;
    const bounds: Bounds = new Map([
      ['a:0', { start: 0, end: 8 }],
      ['a:1', { start: 0, end: 9 }],
      ['b:0', { start: 0, end: 2 }],
      ['c:0', { start: 0, end: 4 }],
      ['d:0', { start: 0, end: 4 }],
    ]);
    expect(p.behind(bounds, consumer)).toEqual(['a:0']);
  });
});
