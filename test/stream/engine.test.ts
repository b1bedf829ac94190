/** The engine's semantics without I/O: state, TTL, timers, watermark (incl. idleness), late records, checkpoints. */
import { describe, expect, test } from 'bun:test';
import { Engine, inputRecords, resolveOptions, runInMemory, toJsonText } from '../../src/stream/engine';
import type { InputRecord, JobContext, JobSpec } from '../../src/stream/types';
import { ExactDecimal } from '../../src/output/result';

/** A session-timeout job: a key's first event registers a timer 10 s later; another event cancels it. */
function sessionJob(): JobSpec {
  return {
    name: 'test session',
    description: 'test',
    inputs: [{ name: 'in', topic: 'in' }],
    outputs: [{ name: 'out', topic: 'out' }],
    options: [{ name: 'gap', description: 'gap ms', default: '10000', check: (v) => (/^\d+$/.test(v) ? undefined : 'expected ms') }],
    create(options) {
      const gap = Number(options.gap);
      return {
        process(r: InputRecord, ctx: JobContext) {
          const e = JSON.parse(r.value!) as { k: string; ts: number };
          ctx.observe(e.ts);
          const open = ctx.state.get<number>('open', e.k);
          if (open !== undefined) ctx.timers.cancel('gap', e.k, open + gap);
          ctx.state.put('open', e.k, e.ts);
          ctx.timers.register('gap', e.k, e.ts + gap);
        },
        onTimer(name, key, time, ctx) {
          ctx.emit('out', key, { key, closedAt: time, wm: ctx.watermark });
          ctx.state.delete('open', key);
        },
      };
    },
  };
}

const ev = (k: string, ts: number) => JSON.stringify({ k, ts });
/** A record of partition p of topic `in` (key k<p>) at event time ts. */
const rec = (p: number, ts: number, off = 0): InputRecord => ({ input: 'in', topic: 'in', partition: p, offset: off, timestamp: 0, key: null, value: ev(`k${p}`, ts) });

describe('engine', () => {
  test('timers fire in time order once the watermark (max - 3 s) passes them; drain fires the rest', async () => {
    const recs = inputRecords('in', 'in', [ev('a', 1000), ev('b', 2000), ev('a', 5000), ev('c', 30_000)]);
    const r = await runInMemory(sessionJob(), recs, { batch: 1 });
    // a: cancelled at 11000, re-armed to 15000; b at 12000. c=30000 → wm 27000 fires b (12000) then a (15000); drain fires c.
    expect(r.outputs.map((o) => JSON.parse(o.value) as { key: string; closedAt: number })).toEqual([
      { key: 'b', closedAt: 12_000, wm: 27_000 },
      { key: 'a', closedAt: 15_000, wm: 27_000 },
      { key: 'c', closedAt: 40_000, wm: Infinity },
    ].map((x) => ({ ...x, wm: x.wm === Infinity ? null : x.wm })));
  });

  test('late records are counted; the watermark never goes back', async () => {
    const recs = inputRecords('in', 'in', [ev('a', 20_000), ev('b', 1000)]);
    const r = await runInMemory(sessionJob(), recs, { batch: 1, drain: false });
    expect(r.counters.late).toBe(1);
    expect(r.engine.watermark).toBe(17_000);
  });

  test('state TTL is event time', async () => {
    const spec: JobSpec = {
      ...sessionJob(),
      create: () => ({
        process(r, ctx) {
          const e = JSON.parse(r.value!) as { k: string; ts: number };
          ctx.observe(e.ts);
          if (e.k === 'put') ctx.state.put('s', 'x', 1, 5000);
          else ctx.emit('out', null, { seen: ctx.state.get('s', 'x') ?? null });
        },
      }),
    };
    const recs = inputRecords('in', 'in', [ev('put', 10_000), ev('get', 12_000), ev('get', 19_000), ev('get', 30_000)]);
    const r = await runInMemory(spec, recs, { batch: 1, drain: false });
    // expires at 15000: visible while the watermark (max - 3 s) is below it.
    expect(r.outputs.map((o) => o.value)).toEqual(['{"seen":1}', '{"seen":1}', '{"seen":null}']);
  });

  test('a timer sees state as of its own time, even when the watermark jumped past the state TTL', async () => {
    const spec: JobSpec = {
      ...sessionJob(),
      create: () => ({
        process(r, ctx) {
          const e = JSON.parse(r.value!) as { k: string; ts: number };
          ctx.observe(e.ts);
          if (e.k === 'put') {
            ctx.state.put('s', 'x', 'kept', 5000); // expires at 6000
            ctx.timers.register('read', 'x', 4000);
          }
        },
        onTimer(_n, key, time, ctx) {
          ctx.emit('out', key, { at: time, seen: ctx.state.get('s', key) ?? null });
        },
      }),
    };
    const r = await runInMemory(spec, inputRecords('in', 'in', [ev('put', 1000), ev('jump', 20_000)]), { batch: 1, drain: false });
    expect(r.outputs.map((o) => o.value)).toEqual(['{"at":4000,"seen":"kept"}']);
    expect(r.engine.stateSize).toBe(0); // and once the watermark (17000) is past 6000, it is gone
  });

  test('an idle partition stops holding the watermark back; all idle, event time follows the wall clock', async () => {
    let wall = 0;
    const e = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    await e.processBatch([rec(0, 10_000, 0), rec(1, 50_000, 0)]);
    e.advance();
    expect(e.watermark).toBe(7000);
    wall = 500;
    await e.processBatch([rec(1, 51_000, 1)]);
    wall = 1200; // partition 0 idle (1200 ms), partition 1 active (700 ms)
    e.advance();
    expect(e.watermark).toBe(48_000);
    wall = 1500 + 20_000; // everything idle for 21 s: the watermark moves on with the wall clock
    e.advance();
    expect(e.watermark).toBe(48_000 + 20_000);
    expect(e.checkpoint().outputs.map((o) => (JSON.parse(o.value) as { key: string }).key)).toEqual(['k0', 'k1']);
  });

  test('a partition that has not delivered yet holds the watermark back, until it counts as idle', async () => {
    let wall = 0;
    const e = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    e.hold(['in:0', 'in:1']);
    await e.processBatch([rec(0, 50_000)]);
    e.advance();
    expect(e.watermark).toBe(-Infinity);
    await e.processBatch([rec(1, 10_000)]);
    e.advance();
    expect(e.watermark).toBe(7000);
    expect(e.counters.late).toBeUndefined();
    const f = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    f.hold(['in:0', 'in:1']);
    await f.processBatch([rec(0, 50_000)]);
    wall = 1500; // in:1 never delivers: idle after 1 s; in:0 delivers again and the watermark follows it
    await f.processBatch([rec(0, 50_500)]);
    f.advance();
    expect(f.watermark).toBe(47_500);
  });

  test('after a restore, every restored partition holds the watermark back until it counts as idle', async () => {
    let wall = 0;
    const e = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    e.hold(['in:0', 'in:1']);
    await e.processBatch([rec(0, 10_000, 0), rec(1, 30_000, 0)]);
    e.advance();
    expect(e.watermark).toBe(7000);
    const cp = e.checkpoint();
    // Restarted much later (wall clock): partition 1 delivers first, far ahead of partition 0.
    wall = 1_000_000;
    const f = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    f.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    f.hold(['in:0', 'in:1']);
    await f.processBatch([rec(1, 40_000, 1)]);
    f.advance();
    expect(f.watermark).toBe(7000);
    await f.processBatch([rec(0, 11_000, 1)]);
    f.advance();
    expect(f.watermark).toBe(8000);
    expect(f.counters.late).toBeUndefined();
    // Partition 0 then goes quiet: after the idle timeout partition 1 alone moves event time.
    wall += 1500;
    await f.processBatch([rec(1, 41_000, 2)]);
    f.advance();
    expect(f.watermark).toBe(38_000);
  });

  test('a partition known to have records unread (busy) does not go idle, however long since it delivered', async () => {
    let wall = 0;
    const e = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => wall, idleTimeoutMs: 1000 });
    e.hold(['in:0', 'in:1']);
    await e.processBatch([rec(0, 10_000, 0), rec(1, 30_000, 0)]);
    // Only partition 1 is served for 5 s while partition 0 has a backlog: it keeps holding the watermark.
    for (let i = 1; i <= 5; i++) {
      wall = i * 1000;
      e.busy(['in:0']);
      await e.processBatch([rec(1, 30_000 + i * 1000, i)]);
      e.advance();
    }
    expect(e.watermark).toBe(7000);
    await e.processBatch([rec(0, 12_000, 1)]);
    e.advance();
    expect(e.counters.late).toBeUndefined();
    expect(e.watermark).toBe(9000);
    // Drained (no longer busy) and quiet: idle after the timeout, partition 1 alone moves event time.
    wall += 1500;
    await e.processBatch([rec(1, 40_000, 6)]);
    e.advance();
    expect(e.watermark).toBe(37_000);
  });

  test('checkpoint then restore continues exactly where it was', async () => {
    const recs = inputRecords('in', 'in', [ev('a', 1000), ev('b', 2000), ev('a', 5000), ev('c', 30_000), ev('d', 31_000)]);
    const whole = await runInMemory(sessionJob(), recs, { batch: 1 });
    const first = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => 0 });
    const out: string[] = [];
    await first.processBatch(recs.slice(0, 2));
    first.advance();
    const cp = first.checkpoint();
    out.push(...cp.outputs.map((o) => o.value));
    const second = new Engine(sessionJob(), resolveOptions(sessionJob()), { now: () => 0 });
    second.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    for (const r of recs.slice(2)) {
      await second.processBatch([r]);
      second.advance();
    }
    second.drain();
    out.push(...second.checkpoint().outputs.map((o) => o.value));
    expect(out).toEqual(whole.outputs.map((o) => o.value));
  });

  test('options: defaults, checks and unknown names', () => {
    expect(resolveOptions(sessionJob())).toEqual({ gap: '10000' });
    expect(() => resolveOptions(sessionJob(), { gap: 'soon' })).toThrow('invalid --gap "soon": expected ms');
    expect(() => resolveOptions(sessionJob(), { gapp: '1' })).toThrow('unknown option --gapp');
  });

  test('JSON output keeps decimals and big integers exact', () => {
    expect(toJsonText({ a: new ExactDecimal('1299.00'), b: 12345678901234567890n, c: [new ExactDecimal('-0.50')] })).toBe('{"a":1299.00,"b":12345678901234567890,"c":[-0.50]}');
  });
});

describe('dead letters', () => {
  test('one per record, with the first reason given: a record late for several windows (one per word) is one dead letter', async () => {
    const spec: JobSpec = {
      name: 'test dead',
      description: 'dead-letters each record twice (engine tests)',
      inputs: [{ name: 'in', topic: 'in' }],
      outputs: [],
      options: [],
      create: () => ({
        process(_r, ctx) {
          ctx.deadLetter('first');
          ctx.deadLetter('second');
        },
      }),
    };
    const r = await runInMemory(spec, inputRecords('in', 'in', ['a', 'b']));
    expect(r.deadLetters.map((d) => [d.record.value, d.reason])).toEqual([
      ['a', 'first'],
      ['b', 'first'],
    ]);
  });
});
