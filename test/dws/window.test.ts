import { describe, expect, test } from 'bun:test';
import { Engine, inputRecords, resolveOptions, runInMemory, type Checkpoint, type StateChange } from '../../src/stream/engine';
import type { InputRecord, JobContext, JobLogic, JobSpec } from '../../src/stream/types';
import { beijingDate, beijingDay, beijingTime, dwsJob, parseWindow, TumblingWindow, windowEnd, windowStart } from '../../src/dws/window';

const T0 = Date.UTC(2025, 0, 13, 16, 0, 0); // 2025-01-14 00:00:00 in Beijing

describe('window assignment', () => {
  test('tumbling windows are epoch aligned, [start, end)', () => {
    expect(windowStart(T0, 10_000)).toBe(T0);
    expect(windowStart(T0 + 9_999, 10_000)).toBe(T0);
    expect(windowStart(T0 + 10_000, 10_000)).toBe(T0 + 10_000);
    expect(windowEnd(T0 + 4_999, 5_000)).toBe(T0 + 5_000);
    expect(windowStart(-1, 10_000)).toBe(-10_000);
    expect(windowStart(-10_000, 10_000)).toBe(-10_000);
  });

  test('--window values', () => {
    expect(parseWindow('10s')).toBe(10_000);
    expect(parseWindow('5s')).toBe(5_000);
    expect(parseWindow('1m')).toBe(60_000);
    expect(parseWindow('500ms')).toBe(500);
    expect(parseWindow('1200')).toBe(1_200_000); // a bare number is seconds
    for (const bad of ['', '0s', '7s', 'ten', '-5s', '1h']) expect(parseWindow(bad)).toBeUndefined();
  });
});

describe('Beijing time', () => {
  test('formats in UTC+08:00', () => {
    expect(beijingTime(T0)).toBe('2025-01-14 00:00:00');
    expect(beijingTime(T0 - 1)).toBe('2025-01-13 23:59:59');
    expect(beijingTime(Date.UTC(2025, 0, 14, 3, 4, 5, 678))).toBe('2025-01-14 11:04:05');
    expect(beijingDate(T0 - 1)).toBe('2025-01-13');
    expect(beijingDate(T0)).toBe('2025-01-14');
    expect(beijingDay(T0) - beijingDay(T0 - 1)).toBe(1);
    expect(beijingDay(T0 + 86_399_999)).toBe(beijingDay(T0));
  });
});

/** A test job: records "<ts> <k>" counted per (k) in 10 s windows. */
const countJob: JobSpec = dwsJob({
  short: 'test_count',
  table: 'dws_test_count',
  description: 'test',
  inputs: [{ name: 'in', option: 'in-topic', topic: 'in', description: 'test input' }],
  create: (_o, sizeMs) => {
    const win = new TumblingWindow<number>({ name: 'c', output: 'dws_test_count', sizeMs, row: (k, n) => ({ k: k[0]!, n }) });
    const logic: JobLogic = {
      process(r: InputRecord, ctx: JobContext) {
        const [ts, k] = r.value!.split(' ');
        ctx.observe(Number(ts));
        win.add(ctx, Number(ts), [k!], () => 0, (n) => n + 1);
      },
      onTimer(name, key, time, ctx) {
        win.fire(name, key, time, ctx);
      },
    };
    return logic;
  },
});

const rec = (ts: number, k: string, offset = 0): InputRecord => ({ input: 'in', topic: 'in', partition: 0, offset, timestamp: 0, key: null, value: `${ts} ${k}` });

describe('TumblingWindow', () => {
  test('emits each window once, when the watermark (max ts − 3 s) reaches its end; stt/edt/cur_date and the key', async () => {
    const engine = new Engine(countJob, resolveOptions(countJob), { now: () => 0 });
    const step = async (rs: InputRecord[]) => {
      await engine.processBatch(rs);
      engine.advance();
      return engine.checkpoint().outputs;
    };
    expect(await step([rec(T0 + 1000, 'a'), rec(T0 + 2000, 'b'), rec(T0 + 3000, 'a')])).toEqual([]);
    // watermark = T0 + 12 999 − 3000 < end (T0 + 10 000): still open
    expect(await step([rec(T0 + 12_999, 'a')])).toEqual([]);
    const out = await step([rec(T0 + 13_000, 'b')]);
    expect(out.map((o) => [o.key, o.value, o.ts])).toEqual([
      ['2025-01-14 00:00:00|2025-01-14 00:00:10|a', '{"stt":"2025-01-14 00:00:00","edt":"2025-01-14 00:00:10","cur_date":"2025-01-14","k":"a","n":2}', T0 + 10_000],
      ['2025-01-14 00:00:00|2025-01-14 00:00:10|b', '{"stt":"2025-01-14 00:00:00","edt":"2025-01-14 00:00:10","cur_date":"2025-01-14","k":"b","n":1}', T0 + 10_000],
    ]);
    // Later progress never emits the same window again.
    expect((await step([rec(T0 + 40_000, 'c')])).map((o) => o.key)).toEqual(['2025-01-14 00:00:10|2025-01-14 00:00:20|a', '2025-01-14 00:00:10|2025-01-14 00:00:20|b']);
    expect(engine.stateSize).toBe(1); // only the open window of T0 + 40 000
  });

  test('a record for a window already emitted is counted window_late and not added; one within out-of-orderness is kept', async () => {
    const r = await runInMemory(countJob, [rec(T0 + 1000, 'a', 0), rec(T0 + 20_000, 'a', 1), rec(T0 + 5000, 'a', 2), rec(T0 + 18_000, 'a', 3)], { batch: 1 });
    expect(r.counters.window_late).toBe(1);
    expect(r.counters.window_late_c).toBe(1);
    // the late record is not lost: it is a dead letter saying which window it missed
    expect(r.deadLetters.map((d) => [d.record.offset, d.reason])).toEqual([
      [2, `late: event time 2025-01-14 00:00:05 falls in the window 2025-01-14 00:00:00 – 2025-01-14 00:00:10 of dws_test_count, emitted already (watermark 2025-01-14 00:00:17)`],
    ]);
    // After T0 + 20 000 the watermark is T0 + 17 000: [0, 10 s) is closed (T0 + 5000 is late), [10 s, 20 s) open.
    expect(r.outputs.map((o) => JSON.parse(o.value) as { stt: string; n: number }).map((v) => [v.stt, v.n])).toEqual([
      ['2025-01-14 00:00:00', 1],
      ['2025-01-14 00:00:10', 1],
      ['2025-01-14 00:00:20', 1],
    ]);
  });

  test('drain emits every open window at the end; no key columns gives the key stt|edt', async () => {
    const noKey: JobSpec = {
      ...countJob,
      create: () => {
        const win = new TumblingWindow<number>({ name: 'n', output: 'dws_test_count', sizeMs: 5000, row: (_k, n) => ({ n }) });
        return {
          process(r, ctx) {
            const ts = Number(r.value);
            ctx.observe(ts);
            win.add(ctx, ts, [], () => 0, (n) => n + 1);
          },
          onTimer: (name, key, time, ctx) => void win.fire(name, key, time, ctx),
        };
      },
    };
    const values = [T0, T0 + 4999, T0 + 5000, T0 + 7000].map(String);
    const undrained = await runInMemory(noKey, inputRecords('in', 'in', values), { drain: false });
    expect(undrained.outputs).toEqual([]);
    const r = await runInMemory(noKey, inputRecords('in', 'in', values));
    expect(r.outputs.map((o) => [o.key, JSON.parse(o.value).n])).toEqual([
      ['2025-01-14 00:00:00|2025-01-14 00:00:05', 2],
      ['2025-01-14 00:00:05|2025-01-14 00:00:10', 2],
    ]);
    expect(r.engine.stateSize).toBe(0);
    expect(r.engine.timerCount).toBe(0);
  });

  test('--window resizes the windows; windows across midnight take cur_date from stt', async () => {
    const r = await runInMemory(countJob, [rec(T0 - 1, 'x'), rec(T0 + 59_000, 'x', 1)], { options: { window: '1m' } });
    expect(r.outputs.map((o) => JSON.parse(o.value) as Record<string, unknown>).map((v) => [v.stt, v.edt, v.cur_date, v.n])).toEqual([
      ['2025-01-13 23:59:00', '2025-01-14 00:00:00', '2025-01-13', 1],
      ['2025-01-14 00:00:00', '2025-01-14 00:01:00', '2025-01-14', 1],
    ]);
  });

  test('state survives a restart (open windows are in keyed state with a timer)', async () => {
    const a = new Engine(countJob, resolveOptions(countJob), { now: () => 0 });
    await a.processBatch([rec(T0 + 1000, 'a'), rec(T0 + 2000, 'a')]);
    a.advance();
    const cp = a.checkpoint();
    const b = new Engine(countJob, resolveOptions(countJob), { now: () => 0 });
    b.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    await b.processBatch([rec(T0 + 3000, 'a', 2)]);
    b.drain();
    expect(b.checkpoint().outputs.map((o) => JSON.parse(o.value).n)).toEqual([3]);
  });

  test('with beginBatch (per batch, from prepare) a window is put once per batch: every checkpoint still holds its latest groups', async () => {
    const batchedJob: JobSpec = { ...countJob, create: (o) => {
      const win = new TumblingWindow<number[]>({ name: 'c', output: 'dws_test_count', sizeMs: 10_000, row: (k, a) => ({ k: k[0]!, n: a[0]! }) });
      void o;
      return {
        prepare() {
          win.beginBatch();
          return Promise.resolve();
        },
        process(r: InputRecord, ctx: JobContext) {
          const [ts, k] = r.value!.split(' ');
          ctx.observe(Number(ts));
          const g = win.group(ctx, Number(ts), k!, () => [k!], () => [0]);
          if (g) g[1][0]!++;
        },
        onTimer(name, key, time, ctx) {
          win.fire(name, key, time, ctx);
        },
      };
    } };
    // What a state file would hold: the changes of every checkpoint applied in order.
    const persisted = new Map<string, StateChange>();
    const persist = (cp: Checkpoint) => {
      for (const c of cp.state) persisted.set(`${c.namespace}\u0000${c.key}`, c);
      return cp;
    };
    const a = new Engine(batchedJob, resolveOptions(batchedJob), { now: () => 0 });
    await a.processBatch([rec(T0 + 1000, 'a'), rec(T0 + 2000, 'a'), rec(T0 + 2500, 'b')]);
    a.advance();
    const cp1 = persist(a.checkpoint());
    await a.processBatch([rec(T0 + 3000, 'a', 3), rec(T0 + 12_000, 'a', 4)]);
    a.advance();
    const cp2 = persist(a.checkpoint());
    await a.processBatch([rec(T0 + 4000, 'b', 5)]);
    a.advance();
    persist(a.checkpoint());
    const b = new Engine(batchedJob, resolveOptions(batchedJob), { now: () => 0 });
    b.restore([...persisted.values()], [...cp1.timersAdded, ...cp2.timersAdded], cp2.partitionTimes, cp2.watermark);
    b.drain();
    expect(b.checkpoint().outputs.map((o) => [o.key, JSON.parse(o.value).n])).toEqual([
      ['2025-01-14 00:00:00|2025-01-14 00:00:10|a', 3],
      ['2025-01-14 00:00:00|2025-01-14 00:00:10|b', 2],
      ['2025-01-14 00:00:10|2025-01-14 00:00:20|a', 1],
    ]);
  });
});
