/**
 * The forwarding thread (src/stream/forward-thread.ts) on real Kafka (RTWH_TEST_KAFKA): committed outbox chunks
 * handed over as their stored bytes reach the bus exactly as the job's own producer sends them (keys, values,
 * partitions, timestamps, the producer and sequence headers, in order), several jobs' sends in flight at once keep
 * their order per partition, and a send the broker refuses is answered with the producer's error code.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus, BusRecord } from '../../src/bus/types';
import { RtwhError } from '../../src/errors';
import { ForwardThread } from '../../src/stream/forward-thread';
import { sendChunks } from '../../src/stream/outbox';
import { runJob } from '../../src/stream/runtime';
import { StateStore, type OutboxChunk, type OutRecord } from '../../src/stream/state-store';
import { OUT_HEADER, type JobSpec } from '../../src/stream/types';
import { readAll } from '../helpers/bus';
import { tempDir } from '../helpers/cli';
import { freePort } from '../helpers/net';

const KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const tag = `fwd_${Date.now().toString(36)}`;
const made: string[] = [];
let bus: Bus;
let thread: ForwardThread | undefined;

const empty = { state: [], timersAdded: [], timersRemoved: [], offsets: [], partitionTimes: {}, watermark: null, seqs: new Map<string, number>(), deleteUpTo: 0 };

async function topic(name: string, partitions: number): Promise<string> {
  const t = `${tag}_${name}`;
  const admin = await bus.admin();
  try {
    await admin.createTopic({ name: t, partitions });
  } finally {
    await admin.close();
  }
  made.push(t);
  return t;
}

/** Chunks committed in a state file, so they carry their stored bytes as a job's do. */
function committed(store: StateStore, chunks: OutboxChunk[]): OutboxChunk[] {
  store.commit({ ...empty, chunks });
  return chunks;
}

function records(n: number, producer: string, salt: string): OutRecord[] {
  return Array.from({ length: n }, (_, i): OutRecord => ({
    producer,
    key: i % 7 === 0 ? null : `mid_${i % 13}`,
    value: i % 11 === 0 ? null : JSON.stringify({ i, salt, text: 'ünï ✓ 𝄞 中文', pad: 'x'.repeat(i % 300) }),
    ts: 1_736_812_800_000 + i,
    headers: i % 17 === 0 ? { 'rtwh.dlq.reason': `not JSON: ${salt} ü`, 'rtwh.dlq.offset': String(i) } : null,
  }));
}

const view = (r: BusRecord) => ({
  partition: r.partition,
  key: r.key?.toString() ?? null,
  value: r.value?.toString() ?? null,
  ts: r.timestamp,
  headers: r.headers,
});

describe('forwarding thread', () => {
  test('starts from source', async () => {
    bus = await openBus(KAFKA);
    thread = await ForwardThread.start({ url: KAFKA, cwd: process.cwd() });
    expect(thread).toBeDefined();
  });

  test('chunks reach the bus as the job thread sends them: keys, values, partitions, timestamps, headers, order', async () => {
    const viaThread = await topic('thread', 3);
    const direct = await topic('direct', 3);
    const dir = tempDir('rtwh-fwd-');
    const store = StateStore.open(join(dir, 'job.db'), 'job');
    try {
      const make = (t: string) =>
        committed(store, [
          { id: 0, topic: t, partition: 0, firstSeq: 1, records: records(700, 'job/a', 'p0') },
          { id: 0, topic: t, partition: 2, firstSeq: 1, records: records(300, 'job/dlq', 'p2') },
          { id: 0, topic: t, partition: 0, firstSeq: 701, records: records(500, 'job/a', 'p0b') },
        ]);
      const a = make(viaThread);
      expect(ForwardThread.canTake(a)).toBe(true);
      await thread!.send(a);
      const producer = await bus.producer();
      try {
        await sendChunks(producer, make(direct));
      } finally {
        await producer.close();
      }
      const got = (await readAll(bus, viaThread)).map(view);
      const want = (await readAll(bus, direct)).map(view);
      expect(got.length).toBe(1500);
      expect(got).toEqual(want);
      // Sequence headers count up per partition from the chunk's first sequence.
      const seqs = got.filter((r) => r.partition === 0).map((r) => Number(r.headers[OUT_HEADER.seq]));
      expect(seqs).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    } finally {
      store.close();
    }
  }, 120_000);

  test('sends in flight together (two jobs) keep the order of the calls per partition', async () => {
    const t = await topic('order', 1);
    const dir = tempDir('rtwh-fwd-');
    const stores = [StateStore.open(join(dir, 'a.db'), 'a'), StateStore.open(join(dir, 'b.db'), 'b')];
    try {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        const job = i % 2 === 0 ? 'a' : 'b';
        const first = Math.floor(i / 2) * 50 + 1;
        const chunk = committed(stores[i % 2]!, [{ id: 0, topic: t, partition: 0, firstSeq: first, records: records(50, `${job}/out`, `s${i}`) }]);
        sends.push(thread!.send(chunk));
      }
      await Promise.all(sends);
      const got = await readAll(bus, t);
      expect(got.length).toBe(2000);
      const salts = got.map((r) => (JSON.parse(r.value?.toString() ?? 'null') as { salt: string } | null)?.salt ?? null).filter((s) => s !== null);
      const order = [...new Set(salts)];
      expect(order).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`));
    } finally {
      for (const s of stores) s.close();
    }
  }, 120_000);

  test('a send the broker refuses is answered with the producer error, and the thread goes on', async () => {
    const t = await topic('refused', 1);
    const dir = tempDir('rtwh-fwd-');
    const store = StateStore.open(join(dir, 'job.db'), 'job');
    try {
      // Partition 4 of a one-partition topic: the job thread's producer refuses it with this code too.
      const bad = committed(store, [{ id: 0, topic: t, partition: 4, firstSeq: 1, records: records(3, 'job/a', 'bad') }]);
      const producer = await bus.producer();
      let directCode = '';
      try {
        await sendChunks(producer, bad).catch((e: unknown) => (directCode = e instanceof RtwhError ? e.code : 'not an RtwhError'));
      } finally {
        await producer.close();
      }
      expect(directCode).not.toBe('');
      const err = await thread!.send(bad).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RtwhError);
      expect(String((err as RtwhError).code)).toBe(directCode);
      const good = committed(store, [{ id: 0, topic: t, partition: 0, firstSeq: 1, records: records(5, 'job/a', 'good') }]);
      await thread!.send(good);
      expect((await readAll(bus, t)).length).toBe(5);
    } finally {
      store.close();
    }
  }, 120_000);

  test('a damaged chunk is answered as an error, and the thread goes on', async () => {
    const t = await topic('damaged', 1);
    const damaged: OutboxChunk = { id: 1, topic: t, partition: 0, firstSeq: 1, records: [], stored: { bytes: new Uint8Array([1, 2, 3]), producers: ['job/a'] } };
    const err = await thread!.send([damaged]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RtwhError);
    expect((err as Error).message).toContain('truncated');
    const dir = tempDir('rtwh-fwd-');
    const store = StateStore.open(join(dir, 'job.db'), 'job');
    try {
      await thread!.send(committed(store, [{ id: 0, topic: t, partition: 0, firstSeq: 1, records: records(4, 'job/a', 'after') }]));
    } finally {
      store.close();
    }
    expect((await readAll(bus, t)).length).toBe(4);
  }, 60_000);

  test('a state file handed over: the thread writes the commits (ids given in order), then sends their chunks; the file stays locked', async () => {
    const t = await topic('adopted', 2);
    const path = join(tempDir('rtwh-fwd-'), 'job.db');
    const store = StateStore.open(path, 'job', 'kafka://test');
    store.load();
    const remote = await thread!.adopt(store, 'job', 'kafka://test');
    let reopened: StateStore | undefined;
    try {
      // While the thread holds it, nobody else may open the file.
      const locked = (() => {
        try {
          StateStore.open(path, 'job', 'kafka://test').close();
          return 'opened';
        } catch (e) {
          return e instanceof RtwhError ? e.code : String(e);
        }
      })();
      expect(locked).toBe('JOB_LOCKED');
      const first: OutboxChunk[] = [
        { id: 0, topic: t, partition: 0, firstSeq: 1, records: records(300, 'job/a', 'c1') },
        { id: 0, topic: t, partition: 1, firstSeq: 1, records: records(200, 'job/a', 'c1') },
      ];
      const second: OutboxChunk[] = [{ id: 0, topic: t, partition: 0, firstSeq: 301, records: records(100, 'job/a', 'c2') }];
      const commits = [
        remote.commit({
          ...empty,
          state: [
            { namespace: 'ns', key: 'a', value: '1', expires: null },
            { namespace: 'ns', key: 'b', value: '"x"', expires: 5 },
          ],
          timersAdded: [{ name: 'tm', key: 'a', time: 7 }],
          offsets: [{ topic: 'in', partition: 0, next: 10 }],
          watermark: 3,
          chunks: first,
          seqs: new Map([[`${t}\u00000`, 300], [`${t}\u00001`, 200]]),
        }),
        remote.commit({ ...empty, state: [{ namespace: 'ns', key: 'a', value: null, expires: null }], offsets: [{ topic: 'in', partition: 0, next: 20 }], chunks: second, seqs: new Map([[`${t}\u00000`, 400]]) }),
        // Nothing but the outbox rows the bus acknowledged.
        remote.commit({ ...empty, chunks: [], deleteUpTo: 2 }),
      ];
      // Ids are given here, when the commit is handed over, in that order.
      expect([...first, ...second].map((c) => c.id)).toEqual([1, 2, 3]);
      await Promise.all(commits);
      await remote.close();
      reopened = StateStore.open(path, 'job', 'kafka://test');
      const loaded = reopened.load();
      expect(loaded.state).toEqual([{ namespace: 'ns', key: 'b', value: '"x"', expires: 5 }]);
      expect(loaded.timers).toEqual([{ name: 'tm', key: 'a', time: 7 }]);
      expect([...loaded.offsets]).toEqual([['in:0', 20]]);
      expect(loaded.watermark).toBe(3);
      expect(loaded.outbox.map((c) => [c.id, c.partition, c.firstSeq, c.records.length])).toEqual([[3, 0, 301, 100]]);
      expect(loaded.seqs.get(`${t}\u00000`)).toBe(400);
      const got = await readAll(bus, t);
      expect(got.length).toBe(600);
      expect(got.filter((r) => r.partition === 0).map((r) => Number(r.headers[OUT_HEADER.seq]))).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
      // The next id follows the ones given, also in a new process (the file's AUTOINCREMENT counter).
      const next: OutboxChunk[] = [{ id: 0, topic: t, partition: 0, firstSeq: 401, records: records(1, 'job/a', 'c3') }];
      reopened.commit({ ...empty, chunks: next });
      expect(next[0]!.id).toBe(4);
    } finally {
      reopened?.close();
    }
  }, 120_000);

  test('a commit the thread cannot write: it and every later commit of that file fail with JOB_STATE; the file keeps the last good one', async () => {
    const t = await topic('badcommit', 1);
    const path = join(tempDir('rtwh-fwd-'), 'job.db');
    const store = StateStore.open(path, 'job');
    store.load();
    const remote = await thread!.adopt(store, 'job', 'kafka://test');
    let reopened: StateStore | undefined;
    try {
      await remote.commit({ ...empty, offsets: [{ topic: 'in', partition: 0, next: 5 }], chunks: [{ id: 0, topic: t, partition: 0, firstSeq: 1, records: records(3, 'job/a', 'ok') }] });
      // A state row without a key breaks the table's NOT NULL: the transaction is rolled back whole.
      const bad = { namespace: 'ns', key: null as unknown as string, value: '1', expires: null };
      const outcomes = await Promise.all([
        remote.commit({ ...empty, state: [bad], offsets: [{ topic: 'in', partition: 0, next: 9 }], chunks: [{ id: 0, topic: t, partition: 0, firstSeq: 4, records: records(2, 'job/a', 'lost') }] }),
        remote.commit({ ...empty, offsets: [{ topic: 'in', partition: 0, next: 12 }], chunks: [] }),
      ].map((p) => p.then(() => 'ok', (e: unknown) => (e instanceof RtwhError ? `${e.code}: ${e.message}` : String(e)))));
      expect(outcomes[0]).toMatch(/^JOB_STATE: cannot write the state file .*job\.db.*NOT NULL/);
      expect(outcomes[1]).toBe(outcomes[0]);
      await remote.close();
      reopened = StateStore.open(path, 'job');
      const loaded = reopened.load();
      expect([...loaded.offsets]).toEqual([['in:0', 5]]);
      expect(loaded.outbox.map((c) => c.records.length)).toEqual([3]);
      // Nothing of the failed commit reached the bus.
      expect((await readAll(bus, t)).map((r) => r.headers[OUT_HEADER.seq])).toEqual(['1', '2', '3']);
    } finally {
      reopened?.close();
    }
  }, 60_000);

  test('a send in flight keeps the process alive until answered; an idle thread does not', async () => {
    const t = await topic('alive', 1);
    const dir = tempDir('rtwh-fwd-');
    const script = join(dir, 'child.ts');
    const src = (m: string) => JSON.stringify(join(import.meta.dir, '../../src/stream', m));
    await Bun.write(
      script,
      [
        `import { ForwardThread } from ${src('forward-thread.ts')};`,
        `import { StateStore } from ${src('state-store.ts')};`,
        `const store = StateStore.open(${JSON.stringify(join(dir, 'job.db'))}, 'job');`,
        `const chunk = { id: 0, topic: ${JSON.stringify(t)}, partition: 0, firstSeq: 1, records: [{ producer: 'job/a', key: 'k', value: 'v', ts: 1736812800000, headers: null }] };`,
        `store.commit({ state: [], timersAdded: [], timersRemoved: [], offsets: [], partitionTimes: {}, watermark: null, seqs: new Map(), deleteUpTo: 0, chunks: [chunk] });`,
        `store.close();`,
        `const thread = await ForwardThread.start({ url: ${JSON.stringify(KAFKA)}, cwd: process.cwd() });`,
        // Nothing else is awaited: only the thread's answer can settle this, and the process must wait for it.
        `thread.send([chunk]).then(() => console.log('acknowledged'), (e) => console.log('failed', e.message));`,
      ].join('\n'),
    );
    const child = Bun.spawn([process.execPath, script], { stdout: 'pipe', stderr: 'pipe' });
    const exited = await Promise.race([child.exited, Bun.sleep(30_000).then(() => 'still running')]);
    if (exited === 'still running') child.kill('SIGKILL');
    // Exits by itself (the thread was never closed), after the answer came.
    expect({ exited, out: (await new Response(child.stdout).text()).trim() }).toEqual({ exited: 0, out: 'acknowledged' });
    expect((await readAll(bus, t)).length).toBe(1);
  }, 60_000);

  test('a thread whose sends all fail: the job recovers each batch itself, every record once, in order', async () => {
    const input = await topic('fail_in', 2);
    const output = `${tag}_fail_out`;
    made.push(output);
    const n = 3000;
    const p = await bus.producer();
    try {
      await p.send(input, Array.from({ length: n }, (_, i) => ({ key: `k${i % 17}`, value: JSON.stringify({ i }), timestamp: 1_736_812_800_000 + i })));
    } finally {
      await p.close();
    }
    // Nothing listens on this port: every send of the thread fails, as when it loses the broker.
    const dead = await ForwardThread.start({ url: `kafka://127.0.0.1:${await freePort()}`, cwd: process.cwd() });
    const logs: string[] = [];
    const spec: JobSpec = {
      name: 'fwd pass',
      description: 'every input record to the output',
      inputs: [{ name: 'in', topicOption: 'in' }],
      outputs: [{ name: 'out', topicOption: 'out', partitions: 2 }],
      options: [
        { name: 'in', description: 'input topic', default: 'in' },
        { name: 'out', description: 'output topic', default: 'out' },
      ],
      create: () => ({
        process(r, ctx) {
          ctx.emit('out', r.key, r.value ?? '', r.timestamp);
        },
      }),
    };
    try {
      const r = await runJob(spec, bus, {
        options: { in: input, out: output },
        statePath: join(tempDir('rtwh-fwd-'), 'job.db'),
        startFrom: 'earliest',
        untilIdle: true,
        batchRecords: 1000,
        group: `${tag}_fail`,
        log: (m) => logs.push(m),
        forwarder: dead!,
      });
      expect(r.status.emitted.out).toBe(n);
      expect(r.status.outboxPending).toBe(0);
    } finally {
      await dead?.close();
    }
    expect(logs.some((m) => m.startsWith('forwarding failed'))).toBe(true);
    const got = await readAll(bus, output);
    expect(got.map((x) => (JSON.parse(x.value!.toString()) as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const part of [0, 1]) {
      const seqs = got.filter((x) => x.partition === part).map((x) => Number(x.headers[OUT_HEADER.seq]));
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
  }, 240_000);

  test('after close, sends and state files are refused; a refused state file stays with the job', async () => {
    await thread!.close();
    const chunk: OutboxChunk = { id: 1, topic: 'x', partition: 0, firstSeq: 1, records: [], stored: { bytes: new Uint8Array(0), producers: [] } };
    const err = await thread!.send([chunk]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RtwhError);
    const store = StateStore.open(join(tempDir('rtwh-fwd-'), 'job.db'), 'job');
    try {
      store.load();
      const refused = await thread!.adopt(store, 'job', 'kafka://test').then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(RtwhError);
      // Still open here: the job commits on.
      store.commit({ ...empty, offsets: [{ topic: 'in', partition: 0, next: 3 }], chunks: [] });
      expect([...store.load().offsets]).toEqual([['in:0', 3]]);
    } finally {
      store.close();
    }
  });
});

afterAll(async () => {
  await thread?.close();
  const admin = await bus.admin();
  for (const t of made) await admin.deleteTopic(t).catch(() => undefined);
  await admin.close();
  await bus.close();
});
