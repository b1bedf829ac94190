/**
 * The stream runtime (src/stream/runtime.ts) on the embedded sqlite bus and on Kafka (RTWH_TEST_KAFKA, default
 * kafka://127.0.0.1:9092; `scripts/stack.sh up` starts one; no broker = fail), with the count job of
 * fixtures/count-job.ts: a keyed running count (state), one timer per record, dead letters.
 *
 * The outputs are checked by content against what the input implies (each record's count is its rank among its
 * key's records; each record expires once at ts + gap; each bad line is one dead letter), and by their headers: the
 * sequence numbers of every output partition are exactly 1…M in offset order — no gap, no repeat.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { join } from 'node:path';
import { DLQ_HEADER } from '../../src/bus/dead-letter';
import { openBus } from '../../src/bus/index';
import { openKafkaBus } from '../../src/bus/kafka';
import type { Bus, BusRecord } from '../../src/bus/types';
import { RtwhError } from '../../src/errors';
import { patience } from '../../src/stream/retry';
import { runJob } from '../../src/stream/runtime';
import { OUT_HEADER, type JobSpec, type JobStatus, type Json, type RunOptions } from '../../src/stream/types';
import { tempDir } from '../helpers/cli';
import { countJob, DEAD_REASON } from './fixtures/count-job';
import { readAll } from '../helpers/bus';

const KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const RUNNER = join(import.meta.dir, 'fixtures', 'run-job.ts');
const KEYS = 7;
const BASE = Date.now() - 3_600_000;

type Kind = 'sqlite' | 'kafka';

interface Topics {
  in: string;
  counts: string;
  expired: string;
  dlq: string;
}

const created: { kind: Kind; url: string; topics: string[] }[] = [];

function busUrl(kind: Kind, dir: string): string {
  return kind === 'kafka' ? KAFKA : `sqlite:${join(dir, 'bus.db')}`;
}

async function open(url: string): Promise<Bus> {
  return url.startsWith('kafka://') ? openKafkaBus(url.slice('kafka://'.length).split(','), { sessionTimeoutMs: 6000 }) : openBus(url);
}

function topicsFor(kind: Kind, url: string, tag: string): Topics {
  const id = `${tag}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  const t = { in: `rt_${id}_in`, counts: `rt_${id}_counts`, expired: `rt_${id}_expired`, dlq: `rt_${id}_in_dlq` };
  created.push({ kind, url, topics: Object.values(t) });
  return t;
}

const keyOf = (n: number) => `k${n % KEYS}`;
const isBad = (n: number) => n % 37 === 5;
const tsOf = (n: number) => BASE + n * 10;

async function produce(bus: Bus, topic: string, from: number, to: number): Promise<void> {
  const p = await bus.producer();
  try {
    const msgs = [];
    for (let n = from; n < to; n++) msgs.push({ key: keyOf(n), value: isBad(n) ? `garbage-${n}` : JSON.stringify({ k: keyOf(n), n, ts: tsOf(n) }), timestamp: tsOf(n) });
    for (let i = 0; i < msgs.length; i += 2000) await p.send(topic, msgs.slice(i, i + 2000));
  } finally {
    await p.close();
  }
}


/** What the outputs must hold for inputs 0…n-1 (gap = timer delay), each entry once. */
function expected(n: number, gap: number) {
  const counts: string[] = [];
  const expired: string[] = [];
  const dead: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (isBad(i)) {
      dead.push(`garbage-${i}`);
      continue;
    }
    const k = keyOf(i);
    const c = (seen.get(k) ?? 0) + 1;
    seen.set(k, c);
    counts.push(`${k}|${i}|${c}`);
    expired.push(`${k}|${i}|${tsOf(i) + gap}`);
  }
  return { counts: counts.sort(), expired: expired.sort(), dead: dead.sort() };
}

/** Sequence numbers of each partition are 1…M in offset order, all from `producer`. */
function checkSeqs(recs: BusRecord[], producer: string): void {
  const byPart = new Map<number, number[]>();
  for (const r of recs) {
    expect(r.headers[OUT_HEADER.producer]).toBe(producer);
    const list = byPart.get(r.partition) ?? [];
    list.push(Number(r.headers[OUT_HEADER.seq]));
    byPart.set(r.partition, list);
  }
  for (const [p, seqs] of byPart) expect({ p, seqs }).toEqual({ p, seqs: seqs.map((_, i) => i + 1) });
}

async function verify(bus: Bus, t: Topics, n: number, gap: number, job = 'test count'): Promise<void> {
  const want = expected(n, gap);
  const counts = await readAll(bus, t.counts);
  const expired = await readAll(bus, t.expired);
  const dead = await readAll(bus, t.dlq);
  const line = (r: BusRecord, f: 'count' | 'at') => {
    const v = JSON.parse(r.value!.toString()) as { k: string; n: number; count: number; at: number };
    expect(r.key?.toString()).toBe(v.k);
    return `${v.k}|${v.n}|${v[f]}`;
  };
  expect(counts.map((r) => line(r, 'count')).sort()).toEqual(want.counts);
  expect(expired.map((r) => line(r, 'at')).sort()).toEqual(want.expired);
  expect(dead.map((r) => r.value!.toString()).sort()).toEqual(want.dead);
  for (const r of dead) {
    expect(r.headers[DLQ_HEADER.reason]).toBe(DEAD_REASON);
    expect(r.headers[DLQ_HEADER.topic]).toBe(t.in);
    expect(r.headers[DLQ_HEADER.offset]).toMatch(/^\d+$/);
  }
  checkSeqs(counts, `${job}/counts`);
  checkSeqs(expired, `${job}/expired`);
  checkSeqs(dead, `${job}/dlq`);
}

interface ChildArgs {
  bus: string;
  state: string;
  options: Record<string, string>;
  untilIdle?: boolean;
  group: string;
  batch?: number;
  ooo?: number;
  idle?: number;
  forward?: boolean;
}

function spawnJob(a: ChildArgs) {
  const proc = Bun.spawn([process.execPath, RUNNER, JSON.stringify(a)], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, RTWH_KAFKA_LOG: undefined } });
  let stderr = '';
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) stderr += dec.decode(chunk);
  })();
  return {
    proc,
    stderr: () => stderr,
    async finish(): Promise<{ code: number; stdout: string; stderr: string }> {
      const code = await proc.exited;
      await reading;
      return { code, stdout: await new Response(proc.stdout).text(), stderr };
    },
    async waitFor(text: string, ms = 60_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!stderr.includes(text)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`child never said ${JSON.stringify(text)}: ${stderr}`);
        await Bun.sleep(20);
      }
    },
  };
}

function options(t: Topics, gap: number, extra: Record<string, string> = {}): Record<string, string> {
  return { in: t.in, counts: t.counts, expired: t.expired, gap: String(gap), ...extra };
}

function runOpts(t: Topics, dir: string, group: string, gap: number, o: Partial<RunOptions> = {}): RunOptions {
  return { options: options(t, gap), statePath: join(dir, 'state.db'), startFrom: 'earliest', untilIdle: true, group, log: () => undefined, statusIntervalMs: 100, ...o };
}

async function createInput(bus: Bus, topic: string, partitions = 2): Promise<void> {
  const admin = await bus.admin();
  try {
    await admin.createTopic({ name: topic, partitions });
  } finally {
    await admin.close();
  }
}

afterAll(async () => {
  for (const c of created) {
    if (c.kind !== 'kafka') continue;
    const bus = await open(c.url);
    const admin = await bus.admin();
    for (const t of c.topics) await admin.deleteTopic(t).catch(() => undefined);
    await admin.close();
    await bus.close();
  }
});

for (const kind of ['sqlite', 'kafka'] as const) {
  describe(`runtime on ${kind}`, () => {
    const kills = kind === 'kafka' ? 4 : 10;
    const total = kind === 'kafka' ? 8000 : 16_000;

    test(`kill -9 at random points (${kills}×) while input keeps arriving: every output, timer firing and dead letter exactly once`, async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'kill');
      const group = `rt-kill-${Date.now()}`;
      const gap = 3000;
      const bus = await open(url);
      try {
        await createInput(bus, t.in);
        let written = 0;
        const writer = (async () => {
          const step = Math.ceil(total / 40);
          while (written < total) {
            const to = Math.min(total, written + step);
            await produce(bus, t.in, written, to);
            written = to;
            await Bun.sleep(kind === 'kafka' ? 400 : 150);
          }
        })();
        const args: ChildArgs = { bus: url, state: join(dir, 'state.db'), options: options(t, gap), group, batch: 500 };
        for (let i = 0; i < kills; i++) {
          // Kafka: every other run forwards in a worker thread (as `rtwh run` does); each recovers the other's outbox.
          const child = spawnJob({ ...args, forward: i % 2 === 0 });
          // Sometimes during start-up (recovery), mostly while it processes.
          await Bun.sleep(i % 3 === 0 ? 100 + Math.random() * 400 : 600 + Math.random() * (kind === 'kafka' ? 6000 : 1500));
          child.proc.kill('SIGKILL');
          await child.proc.exited;
        }
        await writer;
        const last = spawnJob({ ...args, untilIdle: true, forward: true });
        const r = await last.finish();
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
        const result = JSON.parse(r.stdout) as { status: JobStatus };
        expect(result.status.outboxPending).toBe(0);
        expect(result.status.timersPending).toBe(0);
        await verify(bus, t, total, gap);
      } finally {
        await bus.close();
      }
    }, 300_000);

    test('a clean stop keeps state and timers: the next run continues the counts and fires the earlier timers once', async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'cont');
      const group = `rt-cont-${Date.now()}`;
      const gap = 1_000_000_000; // no timer fires before the drain
      const bus = await open(url);
      try {
        await createInput(bus, t.in);
        await produce(bus, t.in, 0, 500);
        const ac = new AbortController();
        let last: JobStatus | undefined;
        const running = runJob(countJob(), bus, runOpts(t, dir, group, gap, { untilIdle: false, signal: ac.signal, onStatus: (s) => (last = s) }));
        const deadline = Date.now() + 60_000;
        while (!(last && last.records === 500 && last.lag === 0 && last.outboxPending === 0) && Date.now() < deadline) await Bun.sleep(50);
        ac.abort();
        const first = await running;
        expect(first.status.records).toBe(500);
        expect(first.status.timersPending).toBe(500 - expected(500, gap).dead.length);
        expect(first.status.emitted.expired).toBe(0);
        expect(first.status.stateEntries).toBe(KEYS);
        await produce(bus, t.in, 500, 1000);
        const second = await runJob(countJob(), bus, runOpts(t, dir, group, gap));
        expect(second.status.records).toBe(500);
        expect(second.status.emitted.expired).toBe(1000 - expected(1000, gap).dead.length);
        expect(second.status.timersPending).toBe(0);
        await verify(bus, t, 1000, gap);
        // The stored watermark stays finite after the drain.
        const db = new Database(join(dir, 'state.db'), { readonly: true });
        const wm = db.query("SELECT v FROM meta WHERE k = 'watermark'").get() as { v: string };
        db.close();
        expect(Number.isFinite(Number(wm.v)) && Number(wm.v) > tsOf(800)).toBe(true);
      } finally {
        await bus.close();
      }
    }, 120_000);

    test('--until-idle drains: every timer fires (watermark +∞), then the job returns', async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'drain');
      const gap = 1_000_000_000;
      const bus = await open(url);
      try {
        await createInput(bus, t.in);
        await produce(bus, t.in, 0, 300);
        const r = await runJob(countJob(), bus, runOpts(t, dir, `rt-drain-${Date.now()}`, gap));
        expect(r.status.state).toBe('stopped');
        expect(r.status.watermark).toBe(Infinity);
        expect(r.status.emitted).toEqual({ counts: 300 - expected(300, gap).dead.length, expired: 300 - expected(300, gap).dead.length });
        expect(r.status.deadLetters).toBe(expected(300, gap).dead.length);
        await verify(bus, t, 300, gap);
      } finally {
        await bus.close();
      }
    }, 120_000);

    test('a quiet stream still fires timers in follow mode (idle watermark)', async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'quiet');
      const bus = await open(url);
      try {
        await createInput(bus, t.in);
        await produce(bus, t.in, 0, 20);
        const ac = new AbortController();
        const gap = 1500;
        const spec = countJob({ outOfOrdernessMs: 0, idleTimeoutMs: 300 });
        const running = runJob(spec, bus, runOpts(t, dir, `rt-quiet-${Date.now()}`, gap, { untilIdle: false, signal: ac.signal }));
        const want = 20 - expected(20, gap).dead.length;
        let fired: BusRecord[] = [];
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          fired = await readAll(bus, t.expired);
          if (fired.length >= want) break;
          await Bun.sleep(200);
        }
        ac.abort();
        const r = await running;
        expect(r.status.emitted.expired).toBe(want);
        expect(r.status.watermark).toBeLessThan(Infinity);
        await verify(bus, t, 20, gap);
      } finally {
        await bus.close();
      }
    }, 120_000);

    test('a job that throws stops with JOB_FAILED naming the record; nothing of that batch is committed', async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'boom');
      const bus = await open(url);
      const gap = 1000;
      try {
        await createInput(bus, t.in);
        await produce(bus, t.in, 0, 100);
        const boomAt = tsOf(43);
        const boom = JSON.stringify({ k: keyOf(43), n: 43, ts: boomAt });
        const o = runOpts(t, dir, `rt-boom-${Date.now()}`, gap);
        const err = await runJob(countJob(), bus, { ...o, options: { ...o.options, boom } }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RtwhError);
        expect((err as RtwhError).code).toBe('JOB_FAILED');
        expect((err as RtwhError).message).toMatch(new RegExp(`^job "test count" failed on ${t.in} partition \\d offset \\d+: boom at `));
        expect(await readAll(bus, t.counts)).toEqual([]);
        // Fixed (the option gone), the same state file goes on from where it was: everything once.
        const r = await runJob(countJob(), bus, o);
        expect(r.status.records).toBe(100);
        await verify(bus, t, 100, gap);
      } finally {
        await bus.close();
      }
    }, 120_000);

    test('one process per state file: a second one is refused with JOB_LOCKED while the first runs', async () => {
      const dir = tempDir('rtwh-rt-');
      const url = busUrl(kind, dir);
      const t = topicsFor(kind, url, 'lock');
      const group = `rt-lock-${Date.now()}`;
      const bus = await open(url);
      try {
        await createInput(bus, t.in);
        await produce(bus, t.in, 0, 50);
        const args: ChildArgs = { bus: url, state: join(dir, 'state.db'), options: options(t, 100), group };
        const first = spawnJob(args);
        await first.waitFor('running:');
        const err = await runJob(countJob(), bus, runOpts(t, dir, group, 100)).catch((e: unknown) => e);
        expect((err as RtwhError).code).toBe('JOB_LOCKED');
        expect((err as RtwhError).message).toBe(`the state file "${join(dir, 'state.db')}" of job "test count" is in use by another process (pid ${first.proc.pid})`);
        const second = await spawnJob(args).finish();
        expect(second.code).toBe(1);
        expect(second.stderr).toContain('[JOB_LOCKED]');
        first.proc.kill('SIGTERM');
        const r = await first.finish();
        expect(r.code).toBe(0);
        // Free again: this one runs to the end.
        const done = await runJob(countJob(), bus, runOpts(t, dir, group, 100));
        expect(done.status.state).toBe('stopped');
        await verify(bus, t, 50, 100);
      } finally {
        await bus.close();
      }
    }, 120_000);
  });
}

describe('the state file', () => {
  test('belongs to one bus: the same job on another bus is refused with JOB_STATE, nothing changed', async () => {
    const dir = tempDir('rtwh-rt-');
    const a = await openBus(`sqlite:${join(dir, 'a.db')}`);
    const b = await openBus(`sqlite:${join(dir, 'b.db')}`);
    const state = join(dir, 'job.db');
    const opts = (bus: Bus): RunOptions => ({ options: { in: 'in', counts: 'counts', expired: 'expired' }, statePath: state, startFrom: 'earliest', untilIdle: true, log: () => undefined, group: `g${bus.displayUrl.length}` });
    try {
      for (const bus of [a, b]) {
        const admin = await bus.admin();
        await admin.createTopic({ name: 'in', partitions: 1 });
        await admin.close();
      }
      await runJob(countJob(), a, opts(a));
      const e = await runJob(countJob(), b, opts(b)).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(RtwhError);
      expect((e as RtwhError).code).toBe('JOB_STATE');
      expect((e as RtwhError).message).toContain(a.displayUrl);
      expect((e as RtwhError).message).toContain(b.displayUrl);
      await runJob(countJob(), a, opts(a)); // still fine on its own bus
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('record timestamps', () => {
  test('outputs are stamped with the wall clock: an event hours ahead (Kafka refuses > 1 h ahead) and one a year back (retention would delete it at once) both arrive', async () => {
    const bus = await open(KAFKA);
    const tag = `rt_future_${Date.now().toString(36)}`;
    const before = Date.now();
    const ahead = before + 3 * 3_600_000;
    const back = before - 365 * 86_400_000;
    const spec: JobSpec = {
      name: 'test future',
      description: 'emits each input with its event time',
      inputs: [{ name: 'in', topic: `${tag}_in` }],
      outputs: [{ name: 'out', topic: `${tag}_out` }],
      options: [],
      create: () => ({
        process(r, ctx) {
          const ts = Number(r.value);
          ctx.observe(ts);
          ctx.emit('out', null, { ts }, ts);
        },
      }),
    };
    try {
      const admin = await bus.admin();
      await admin.createTopic({ name: `${tag}_in`, partitions: 1 });
      await admin.close();
      const p = await bus.producer();
      await p.send(`${tag}_in`, [{ value: String(ahead) }, { value: String(back) }]);
      await p.close();
      const dir = tempDir('rtwh-rt-');
      const r = await runJob(spec, bus, { options: {}, statePath: join(dir, 'state.db'), startFrom: 'earliest', untilIdle: true, log: () => undefined, group: tag });
      expect(r.status.emitted).toEqual({ out: 2 });
      const c = await bus.consumer({ topics: [`${tag}_out`] });
      const got: BusRecord[] = [];
      for (let i = 0; i < 50 && got.length < 2; i++) got.push(...(await c.poll({ timeoutMs: 200 })));
      await c.close();
      const after = Date.now();
      expect(got.map((g) => JSON.parse(g.value!.toString()))).toEqual([{ ts: ahead }, { ts: back }]);
      for (const g of got) {
        expect(g.timestamp).toBeGreaterThanOrEqual(before);
        expect(g.timestamp).toBeLessThanOrEqual(after);
      }
    } finally {
      const admin = await bus.admin();
      for (const t of [`${tag}_in`, `${tag}_out`]) await admin.deleteTopic(t).catch(() => undefined);
      await admin.close();
      await bus.close();
    }
  }, 60_000);
});

describe('patience', () => {
  test('retries transient errors with the wait reported, and throws other errors at once', async () => {
    const waits: (string | undefined)[] = [];
    const logs: string[] = [];
    const p = patience({ log: (m) => logs.push(m), onWaiting: (w) => waits.push(w) });
    let calls = 0;
    const v = await p('bus x', async () => {
      if (++calls < 3) throw new RtwhError('BUS_UNAVAILABLE', 'down');
      return 42;
    });
    expect({ v, calls, waits }).toEqual({ v: 42, calls: 3, waits: ['bus x', undefined] });
    expect(logs).toEqual(['bus x: down; retrying', 'bus x: available again']);
    await expect(p('bus x', () => Promise.reject(new RtwhError('TOPIC_NOT_FOUND', 'gone')))).rejects.toThrow('gone');
  });
});

describe('outputs that follow their input partitions (JobOutput.partitionsLike)', () => {
  /** The count job with its counts output following the input's partitions (and no partition count of its own). */
  const following = (): JobSpec => {
    const spec = countJob();
    return { ...spec, outputs: spec.outputs.map((x) => (x.name === 'counts' ? { name: x.name, topicOption: x.topicOption, partitionsLike: 'in' } : x)) };
  };

  test('the output is made with the input topic’s partition count, and input partition p’s outputs go to p, in their order', async () => {
    const dir = tempDir('rtwh-rt-');
    const url = busUrl('sqlite', dir);
    const t = topicsFor('sqlite', url, 'follow');
    const bus = await open(url);
    try {
      await createInput(bus, t.in, 3);
      await produce(bus, t.in, 0, 600);
      const logged: string[] = [];
      const r = await runJob(following(), bus, runOpts(t, dir, `rt-follow-${Date.now()}`, 1000, { log: (l) => logged.push(l) }));
      expect(r.status.records).toBe(600);
      expect(logged.some((l) => l.includes('warning'))).toBe(false);
      const input = await readAll(bus, t.in);
      const counts = await readAll(bus, t.counts);
      const ad = await bus.admin();
      try {
        expect((await ad.describeTopic(t.counts)).partitions.length).toBe(3);
        // the timer-fed output keeps its own count, routed by key
        expect((await ad.describeTopic(t.expired)).partitions.length).toBe(2);
      } finally {
        await ad.close();
      }
      // each input partition's good records, in offset order, are exactly its output partition's, in offset order
      const ns = (recs: BusRecord[], p: number) =>
        recs
          .filter((x) => x.partition === p)
          .sort((a, b) => a.offset - b.offset)
          .map((x) => x.value!.toString())
          .filter((v) => v.startsWith('{'))
          .map((v) => (JSON.parse(v) as { n: number }).n);
      for (let p = 0; p < 3; p++) {
        expect(ns(input, p).length).toBeGreaterThan(0);
        expect(ns(counts, p)).toEqual(ns(input, p));
      }
    } finally {
      await bus.close();
    }
  });

  test('an existing output topic with fewer partitions than the input is used as it is, with a warning saying what that costs', async () => {
    const dir = tempDir('rtwh-rt-');
    const url = busUrl('sqlite', dir);
    const t = topicsFor('sqlite', url, 'fewer');
    const bus = await open(url);
    try {
      await createInput(bus, t.in, 3);
      // an output topic made before, with one partition
      await createInput(bus, t.counts, 1);
      await produce(bus, t.in, 0, 100);
      const logged: string[] = [];
      const r = await runJob(following(), bus, runOpts(t, dir, `rt-fewer-${Date.now()}`, 1000, { log: (l) => logged.push(l) }));
      expect(r.status.records).toBe(100);
      expect(logged.filter((l) => l.startsWith('warning:'))).toEqual([
        `warning: ${t.counts} has 1 partition for the 3 of ${t.in}: records of several input partitions share one, so event time in it goes back and a consumer with a small out-of-orderness (run dws) counts them late. Create it with 3 partitions (\`rtwh topics create ${t.counts} -p 3\`) before the job's first run`,
      ]);
      expect((await readAll(bus, t.counts)).length).toBe(100 - expected(100, 1000).dead.length);
    } finally {
      await bus.close();
    }
  });
});

describe('a record nested deeper than the stack', () => {
  test('is a dead letter with the reason, and the job goes on (it failed the job on every restart)', async () => {
    const dir = tempDir('rtwh-rt-');
    const url = busUrl('sqlite', dir);
    const t = topicsFor('sqlite', url, 'deep');
    // emits what it parsed: JSON text of a 50,000-deep array overflows the stack
    const echo: JobSpec = {
      name: 'test echo',
      description: 'emits each record parsed and written again (runtime tests)',
      inputs: [{ name: 'in', topicOption: 'in' }],
      outputs: [{ name: 'counts', topicOption: 'counts' }],
      options: [
        { name: 'in', description: 'input topic', default: 'echo_in' },
        { name: 'counts', description: 'output topic', default: 'echo_out' },
      ],
      create: () => ({
        process(r, ctx) {
          ctx.emit('counts', null, JSON.parse(r.value ?? 'null') as Json);
        },
      }),
    };
    const bus = await open(url);
    try {
      const p = await bus.producer();
      const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
      await p.send(t.in, [{ value: '{"a":1}' }, { value: deep }, { value: '{"b":2}' }]);
      await p.close();
      const r = await runJob(echo, bus, { options: { in: t.in, counts: t.counts }, statePath: join(dir, 'state.db'), startFrom: 'earliest', untilIdle: true, group: `rt-deep-${Date.now()}`, log: () => undefined });
      expect(r.status.records).toBe(3);
      expect((await readAll(bus, t.counts)).map((x) => x.value!.toString())).toEqual(['{"a":1}', '{"b":2}']);
      const dead = await readAll(bus, t.dlq);
      expect(dead.length).toBe(1);
      expect(dead[0]!.value!.toString()).toBe(deep);
      expect(String(dead[0]!.headers[DLQ_HEADER.reason])).toBe('nested too deeply to process (100,000 bytes; the stack overflowed walking it)');
    } finally {
      await bus.close();
    }
  });
});

describe('input bytes that are not UTF-8', () => {
  test('are a dead letter with the original bytes and where they break, not text with U+FFFD handed to the job', async () => {
    const dir = tempDir('rtwh-rt-');
    const url = busUrl('sqlite', dir);
    const t = topicsFor('sqlite', url, 'utf8');
    const bus = await open(url);
    try {
      const good = JSON.stringify({ k: 'k1', n: 1, ts: tsOf(1) });
      const bad = Buffer.concat([Buffer.from('{"k":"k'), Buffer.from([0xff, 0xc0]), Buffer.from(`1","n":2,"ts":${tsOf(2)}}`)]);
      const p = await bus.producer();
      await p.send(t.in, [{ value: good }, { value: bad }]);
      await p.close();
      const r = await runJob(countJob(), bus, runOpts(t, dir, `rt-utf8-${Date.now()}`, 1000));
      expect(r.status.records).toBe(2);
      expect((await readAll(bus, t.counts)).map((x) => (JSON.parse(x.value!.toString()) as { n: number }).n)).toEqual([1]);
      const dead = await readAll(bus, t.dlq);
      expect(dead.map((x) => [Buffer.compare(x.value!, bad), String(x.headers[DLQ_HEADER.reason])])).toEqual([[0, `invalid UTF-8: byte 7 of ${bad.length} is not valid UTF-8`]]);
    } finally {
      await bus.close();
    }
  });
});
