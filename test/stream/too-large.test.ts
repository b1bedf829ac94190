/**
 * Records over an output topic's max.message.bytes, on real Kafka (RTWH_TEST_KAFKA), with and without the
 * forwarding thread (`rtwh run` uses it).
 *
 * What happened before the pre-check: the broker refused the batch holding the big record (MESSAGE_TOO_LARGE) and
 * the job stopped, but the producer sent the batches in flight behind it again and they were written; the restart's
 * recovery (outbox.ts lastSeqsOnBus) took everything at or below the highest sequence on the bus as sent, and went
 * on without the big record and the ones after it in its chunk — 10 of 400 records gone, no error.
 *
 * Now: the job refuses the record before sending it (the topic's effective max.message.bytes is read at start),
 * stops with MESSAGE_TOO_LARGE naming the job, topic, partition, size and limit, with nothing behind it sent and its
 * chunk kept in the outbox; a restart refuses again (nothing sent) until the limit is raised, then sends everything
 * once, in order. Batches of many small records stay under a topic's limit below the producer's 1 MB batches, and a
 * dead letter over its DLQ topic's limit is cut to fit (never stopping the job), its size in a header.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka } from 'kafkajs';
import { DLQ_HEADER } from '../../src/bus/dead-letter';
import { openBus } from '../../src/bus/index';
import type { Bus, BusRecord } from '../../src/bus/types';
import { RtwhError } from '../../src/errors';
import { ForwardThread } from '../../src/stream/forward-thread';
import { DLQ_TRUNCATED_HEADER } from '../../src/stream/limits';
import { runJob } from '../../src/stream/runtime';
import { StateStore } from '../../src/stream/state-store';
import { OUT_HEADER, type JobSpec, type RunOptions } from '../../src/stream/types';
import { readAll } from '../helpers/bus';
import { tempDir } from '../helpers/cli';

const KAFKA = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const BROKERS = KAFKA.replace(/^kafka:\/\//, '').split(',');
const ONE_MB_LIMIT = 1048588; // Kafka's default max.message.bytes (1 MiB + 12), set on the topic explicitly
const made: string[] = [];
let bus: Bus;
let thread: ForwardThread | undefined;

beforeAll(async () => {
  bus = await openBus(KAFKA);
  thread = await ForwardThread.start({ url: KAFKA, cwd: process.cwd() });
  if (!thread) throw new Error('the forwarding thread did not start');
});

afterAll(async () => {
  await thread?.close();
  const admin = await bus.admin();
  for (const t of made) await admin.deleteTopic(t).catch(() => undefined);
  await admin.close();
  await bus.close();
});

let seq = 0;
function name(what: string): string {
  const t = `big_${Date.now().toString(36)}_${(seq++).toString(36)}_${what}`;
  made.push(t);
  return t;
}

async function createTopic(topic: string, maxMessageBytes?: number): Promise<void> {
  const admin = await bus.admin();
  try {
    await admin.createTopic({ name: topic, partitions: 1, ...(maxMessageBytes ? { config: { 'max.message.bytes': String(maxMessageBytes) } } : {}) });
  } finally {
    await admin.close();
  }
}

async function setTopicLimit(topic: string, bytes: number): Promise<void> {
  const k = new Kafka({ brokers: BROKERS, clientId: 'rtwh-test-too-large', logLevel: 0 }).admin();
  await k.connect();
  try {
    await k.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  } finally {
    await k.disconnect();
  }
}

async function produce(topic: string, values: (string | Buffer)[]): Promise<void> {
  const p = await bus.producer();
  try {
    for (let i = 0; i < values.length; i += 1000) await p.send(topic, values.slice(i, i + 1000).map((value) => ({ value })));
  } finally {
    await p.close();
  }
}

/** Each input `i` as `i:small`, or `i:xxx…` of `big` bytes for the inputs in `bigAt`. */
function passJob(jobName: string, input: string, output: string, bigAt: ReadonlySet<number>, big: number): JobSpec {
  return {
    name: jobName,
    description: 'each input as one output',
    inputs: [{ name: 'in', topic: input }],
    outputs: [{ name: 'out', topic: output }],
    options: [],
    create: () => ({
      process(r, ctx) {
        const i = Number(r.value);
        if (!Number.isInteger(i)) return ctx.deadLetter('not a number');
        ctx.emit('out', null, bigAt.has(i) ? `${i}:${'x'.repeat(big)}` : `${i}:small`, r.timestamp);
      },
    }),
  };
}

const index = (r: BusRecord) => Number(r.value!.toString().split(':')[0]);
const seqs = (recs: BusRecord[]) => recs.map((r) => Number(r.headers[OUT_HEADER.seq]));
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

function opts(state: string, group: string, forward: boolean, o: Partial<RunOptions> = {}): RunOptions {
  return { options: {}, statePath: state, startFrom: 'earliest', untilIdle: true, batchRecords: 20, group, log: () => undefined, ...(forward ? { forwarder: thread! } : {}), ...o };
}

async function failure(p: Promise<unknown>): Promise<RtwhError> {
  const e = await p.then(
    () => new Error('the job ran to its end'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RtwhError);
  return e as RtwhError;
}

for (const forward of [false, true]) {
  describe(`${forward ? 'with' : 'without'} the forwarding thread`, () => {
    test('a record over the topic limit stops the job before it, nothing behind it sent, its chunk kept; raised limit + restart: every record once, in order', async () => {
      const input = name('in');
      const output = name('out');
      await createTopic(input);
      await createTopic(output, ONE_MB_LIMIT);
      const n = 400;
      const bigAt = 150;
      const bigBytes = 1_200_000;
      await produce(input, upTo(n).map(String));
      const jobName = `too large ${forward ? 'fwd' : 'direct'}`;
      const spec = passJob(jobName, input, output, new Set([bigAt]), bigBytes);
      const state = join(tempDir('rtwh-big-'), 'state.db');
      const logs: string[] = [];
      const o = opts(state, input, forward, { log: (m) => logs.push(m) });

      const first = await failure(runJob(spec, bus, o));
      expect(first.code).toBe('MESSAGE_TOO_LARGE');
      const size = first.details!.bytes as number;
      expect(size).toBeGreaterThan(bigBytes);
      expect(size).toBeLessThan(bigBytes + 200);
      expect(first.message).toBe(
        `job "${jobName}": a record for topic ${output} partition 0 (sequence ${bigAt + 1}) is ${size.toLocaleString('en-US')} bytes, over the ` +
          `${ONE_MB_LIMIT.toLocaleString('en-US')} bytes (max.message.bytes) the topic takes; the job stopped before sending it. ` +
          `Nothing was skipped: it stays in the job's outbox, and nothing after it in that partition was sent`,
      );
      expect(first.hint).toBe(
        `Raise the topic's limit, then start the job again (it sends its outbox first, in order): ` +
          `kafka-configs.sh --bootstrap-server ${BROKERS.join(',')} --alter --entity-type topics --entity-name ${output} --add-config max.message.bytes=2097152`,
      );
      expect(first.details).toEqual({ job: jobName, topic: output, partition: 0, sequence: bigAt + 1, bytes: size, maxMessageBytes: ONE_MB_LIMIT });
      expect(logs).toContain(`topic limits (max.message.bytes): ${output} 1,048,588 bytes; a larger record stops the job before it is sent`);

      // On the bus: a prefix of the records (what was committed before the big one's batch), nothing after a gap.
      const sent = await readAll(bus, output);
      const k = sent.length;
      expect(k).toBeLessThanOrEqual(bigAt);
      expect(sent.map(index)).toEqual(upTo(k));
      expect(seqs(sent)).toEqual(upTo(k).map((i) => i + 1));
      // The outbox holds every record not on the bus, up to the big one's batch, the last committed (acknowledged
      // chunks are deleted by the commit after their acknowledgement, so some may be there too).
      const store = StateStore.open(state, jobName, bus.displayUrl);
      try {
        const outbox = store.load().outbox;
        const held = new Set(outbox.flatMap((c) => c.records.map((_, i) => c.firstSeq + i)));
        for (let q = k + 1; q <= bigAt + 1; q++) expect({ q, held: held.has(q) }).toEqual({ q, held: true });
        const last = outbox[outbox.length - 1]!;
        expect(last.firstSeq).toBeLessThanOrEqual(bigAt + 1);
        expect(last.firstSeq + last.records.length).toBeGreaterThan(bigAt + 1);
      } finally {
        store.close();
      }

      // A restart with the limit as it was: refused again, before anything is sent.
      const again = await failure(runJob(spec, bus, o));
      expect(again.code).toBe('MESSAGE_TOO_LARGE');
      expect(again.message).toBe(first.message);
      expect((await readAll(bus, output)).length).toBe(k);

      // The limit raised: the restart sends the outbox, then the rest; every record once, in order.
      await setTopicLimit(output, 2 * 1024 * 1024);
      const done = await runJob(spec, bus, o);
      expect(done.status.outboxPending).toBe(0);
      const all = await readAll(bus, output);
      expect(all.map(index)).toEqual(upTo(n));
      expect(seqs(all)).toEqual(upTo(n).map((i) => i + 1));
      expect(all[bigAt]!.value!.length).toBe(`${bigAt}:`.length + bigBytes);
    }, 120_000);

    test('batches of many small records stay under a topic limit below the producer\'s 1 MB batches', async () => {
      const input = name('in');
      const output = name('out');
      await createTopic(input);
      await createTopic(output, 100_000);
      const n = 6000;
      await produce(input, upTo(n).map(String));
      // ~110 bytes a record: a commit of 3000 is ~330 KB, over 100,000 in one batch.
      const r = await runJob(passJob('small many', input, output, new Set(), 0), bus, opts(join(tempDir('rtwh-big-'), 'state.db'), input, forward, { batchRecords: 3000 }));
      expect(r.status.emitted.out).toBe(n);
      const all = await readAll(bus, output);
      expect(all.map(index)).toEqual(upTo(n));
      expect(seqs(all)).toEqual(upTo(n).map((i) => i + 1));
    }, 120_000);

    test('a dead letter over its DLQ topic limit is cut to fit, its size in a header; the job goes on', async () => {
      const input = name('in');
      const output = name('out');
      const dlq = `${input}_dlq`;
      made.push(dlq);
      await createTopic(input, 4 * 1024 * 1024);
      await createTopic(dlq, ONE_MB_LIMIT);
      const bad = Buffer.alloc(1_500_000, 'b');
      const values: (string | Buffer)[] = upTo(100).map(String);
      values[30] = 'bad small';
      values[60] = bad;
      await produce(input, values);
      const logs: string[] = [];
      const r = await runJob(passJob('dead big', input, output, new Set(), 0), bus, opts(join(tempDir('rtwh-big-'), 'state.db'), input, forward, { log: (m) => logs.push(m) }));
      expect(r.status.emitted.out).toBe(98);
      expect(r.status.deadLetters).toBe(2);
      const dead = await readAll(bus, dlq);
      expect(dead.map((d) => d.headers[DLQ_HEADER.offset])).toEqual(['30', '60']);
      expect(dead[0]!.value!.toString()).toBe('bad small');
      expect(dead[0]!.headers[DLQ_TRUNCATED_HEADER]).toBeUndefined();
      const cut = dead[1]!;
      expect(cut.headers[DLQ_TRUNCATED_HEADER]).toBe(String(bad.length));
      expect(cut.headers[DLQ_HEADER.reason]).toBe('not a number');
      expect(cut.headers[DLQ_HEADER.topic]).toBe(input);
      // The original's first bytes, as many as fit.
      expect(cut.value!.length).toBeGreaterThan(ONE_MB_LIMIT - 1024);
      expect(cut.value!.length).toBeLessThan(ONE_MB_LIMIT);
      expect(cut.value!.equals(bad.subarray(0, cut.value!.length))).toBe(true);
      expect(logs.some((m) => m.startsWith(`dead letter of ${input} partition 0 offset 60: 1,500,000 bytes cut to ${cut.value!.length.toLocaleString('en-US')}`))).toBe(true);
      expect((await readAll(bus, output)).length).toBe(98);
    }, 120_000);
  });
}
