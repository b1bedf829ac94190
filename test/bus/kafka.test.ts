/**
 * The Kafka bus against a REAL broker: the shared contract suite, then what only Kafka has (compressed batches
 * from the Java producer, our batches read by the Java consumer, an unreachable broker).
 *
 * Broker: RTWH_TEST_KAFKA (default kafka://127.0.0.1:9092), started by `scripts/stack.sh up`. No broker = fail,
 * never skip.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { openKafkaBus } from '../../src/bus/kafka.ts';
import type { Bus, BusRecord, Compression, Consumer, ProduceResult } from '../../src/bus/types.ts';
import { busContract, expectRtwhError, pollUntil, uniqueName, type BusMaker } from './contract.ts';

const URL = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const BROKERS = URL.replace(/^kafka:\/\//, '').split(',');
const STACK = join(import.meta.dir, '..', '..', 'scripts', 'stack.sh');
const RUN_STARTED = Date.now();
const WAIT_MS = 30_000;

function reachable(hostPort: string, timeoutMs: number): Promise<string | null> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i);
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (err: string | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    s.once('connect', () => done(null));
    s.once('error', (e) => done(e.message));
  });
}

/** Fails (never skips) when the broker is down, saying how to start it. */
async function requireBroker(): Promise<void> {
  const errors = await Promise.all(BROKERS.map((b) => reachable(b, 3000)));
  if (errors.every((e) => e !== null)) {
    throw new Error(
      `Kafka is not reachable at ${URL} (${errors.join('; ')}). Start the dev stack with \`scripts/stack.sh up\`, ` +
        'or point RTWH_TEST_KAFKA at a broker.',
    );
  }
}

/** Topics and groups made in this run: uniqueName() = `${prefix}-${base36 ms}-${6 chars}`. */
function madeByThisRun(name: string): boolean {
  const m = /-([0-9a-z]+)-[0-9a-z]{6}(?:-[a-z0-9]+)?$/.exec(name);
  if (!m) return false;
  const t = parseInt(m[1] as string, 36);
  return t >= RUN_STARTED - 1000 && t <= Date.now() + 1000;
}

/** Deletes what this run created, so repeated runs do not pile topics up on the dev broker. */
async function sweep(): Promise<void> {
  if ((await Promise.all(BROKERS.map((b) => reachable(b, 1000)))).every((e) => e !== null)) return;
  const kafka = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter(madeByThisRun);
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(madeByThisRun);
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } catch {
    // Best effort: a failed sweep must not hide the real test result.
  } finally {
    await admin.disconnect();
  }
}

const make: BusMaker = async (reuseUrl) => {
  await requireBroker();
  const bus = openKafkaBus(BROKERS, { clientId: 'rtwh-test' });
  return {
    bus,
    url: URL,
    cleanup: async () => {
      await bus.close();
      if (reuseUrl === undefined) await sweep();
    },
  };
};

busContract('kafka', make, { waitMs: WAIT_MS });

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Java main class on the stack's Kafka classpath: the real Java client, not ours. */
async function javaTool(args: string[], stdin?: string): Promise<ToolResult> {
  const p = Bun.spawn({
    cmd: ['bash', STACK, 'kafka-class', ...args],
    stdin: stdin === undefined ? 'ignore' : new Blob([stdin]),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code, stdout, stderr };
}

function lineValue(i: number, tag: string): string {
  return JSON.stringify({
    database: 'gmall',
    table: 'order_info',
    type: 'insert',
    ts: 1700000000 + i,
    data: { id: i, tag, note: `row ${i} `.repeat(30) },
  });
}

describe('kafka bus: Kafka-specific', () => {
  let bus: Bus;
  beforeAll(async () => {
    await requireBroker();
    bus = openKafkaBus(BROKERS, { clientId: 'rtwh-test' });
  });
  afterAll(async () => {
    await bus?.close();
    await sweep();
  });

  const JAVA_CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

  test(
    'reads topics the Java producer compressed with gzip, snappy (xerial), lz4 and zstd',
    async () => {
      // ~150 KB per codec in one batch: several 32 KiB xerial chunks and 64 KiB lz4 blocks.
      const n = 300;
      const lines = Array.from({ length: n }, (_, i) => `k${i}|${lineValue(i, 'java')}`).join('\n') + '\n';
      const run = uniqueName('java');
      for (const codec of JAVA_CODECS) {
        const r = await javaTool(
          [
            'org.apache.kafka.tools.ConsoleProducer',
            ...['--bootstrap-server', BROKERS.join(','), '--topic', `${run}-${codec}`, '--compression-codec', codec],
            ...['--property', 'parse.key=true', '--property', 'key.separator=|'],
            ...['--producer-property', 'linger.ms=200', '--producer-property', 'batch.size=1048576'],
          ],
          lines,
        );
        expect({ codec, code: r.code }).toEqual({ codec, code: 0 });
      }
      for (const codec of JAVA_CODECS) {
        const reader = await bus.consumer({ topics: [`${run}-${codec}`] });
        try {
          const got = await pollUntil(reader, n, WAIT_MS);
          expect({ codec, count: got.length }).toEqual({ codec, count: n });
          got.forEach((r, i) => {
            expect(r.offset).toBe(i);
            expect(r.key?.toString()).toBe(`k${i}`);
            expect(r.value?.toString()).toBe(lineValue(i, 'java'));
          });
        } finally {
          await reader.close();
        }
      }
    },
    120_000,
  );

  const OUR_CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4'];

  test(
    'the Java consumer reads what we produced with each compression (incl. a 200 KB value)',
    async () => {
      const run = uniqueName('ours');
      const n = 200;
      // One record that spans several xerial chunks and lz4 blocks on its own.
      const big = 'B'.repeat(50) + lineValue(1, 'big').repeat(200);
      const expected: string[] = [];
      for (const compression of OUR_CODECS) {
        const producer = await bus.producer({ compression });
        try {
          const msgs = Array.from({ length: n }, (_, i) => ({ key: `${compression}-${i}`, value: lineValue(i, compression) }));
          msgs.push({ key: `${compression}-big`, value: big });
          const results = await producer.send(`${run}-${compression}`, msgs);
          expect(results.reduce((s, r) => s + r.count, 0)).toBe(n + 1);
        } finally {
          await producer.close();
        }
        for (let i = 0; i < n; i++) expected.push(`${compression}-${i}|${lineValue(i, compression)}`);
        expected.push(`${compression}-big|${big}`);
      }
      const r = await javaTool([
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        ...['--bootstrap-server', BROKERS.join(','), '--include', `${run}-.*`, '--group', `${run}-jcc`],
        ...['--consumer-property', 'auto.offset.reset=earliest'],
        ...['--max-messages', String(expected.length), '--timeout-ms', '30000'],
        ...['--property', 'print.key=true', '--property', 'key.separator=|'],
      ]);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.length > 0);
      expect(lines.length).toBe(expected.length);
      expect(lines.sort()).toEqual(expected.sort());
    },
    120_000,
  );

  test(
    'one big send (sent in chunks underneath) reports one contiguous range per partition',
    async () => {
      const topic = uniqueName('bigsend');
      const admin = await bus.admin();
      await admin.createTopic({ name: topic, partitions: 2 });
      await admin.close();
      const producer = await bus.producer();
      try {
        await producer.send(topic, [{ partition: 1, value: 'first' }]);
        const results = await producer.send(
          topic,
          Array.from({ length: 3001 }, (_, i) => ({ partition: i % 2, value: `v${i}` })),
        );
        expect(results).toEqual([
          { topic, partition: 0, baseOffset: 0, count: 1501 },
          { topic, partition: 1, baseOffset: 1, count: 1500 },
        ]);
      } finally {
        await producer.close();
      }
    },
    60_000,
  );

  test(
    'the Java consumer reads headers, timestamps, null keys and null values of our batches',
    async () => {
      const topic = uniqueName('jhdr');
      const producer = await bus.producer();
      try {
        await producer.send(topic, [
          { key: 'k1', value: 'ü✓ v', headers: { a: '1', 'trace-id': 'ü' }, timestamp: 1700000000123 },
          { key: null, value: 'nokey', timestamp: 1700000000124 },
          { key: 'k3', value: null, timestamp: 1700000000125 },
        ]);
      } finally {
        await producer.close();
      }
      const r = await javaTool([
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        ...['--bootstrap-server', BROKERS.join(','), '--topic', topic, '--from-beginning'],
        ...['--max-messages', '3', '--timeout-ms', '30000'],
        ...['--property', 'print.headers=true', '--property', 'print.timestamp=true', '--property', 'print.key=true'],
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').filter((l) => l.length > 0)).toEqual([
        'CreateTime:1700000000123\ta:1,trace-id:ü\tk1\tü✓ v',
        'CreateTime:1700000000124\tNO_HEADERS\tnull\tnokey',
        'CreateTime:1700000000125\tNO_HEADERS\tk3\tnull',
      ]);
    },
    60_000,
  );

  test(
    'concurrent sends under load: each partition holds them in call order, and each result names its own offsets',
    async () => {
      const topic = uniqueName('inflight');
      const admin = await bus.admin();
      await admin.createTopic({ name: topic, partitions: 3 });
      await admin.close();
      const producer = await bus.producer();
      const sends = 40;
      const per = 250;
      let results;
      try {
        // Not awaited one by one: all 40 are queued at once, as a pipelining caller would.
        results = await Promise.all(
          Array.from({ length: sends }, (_, s) =>
            producer.send(
              topic,
              Array.from({ length: per }, (_, i) => ({
                // keyed, explicit-partition and key-less records mixed in one send
                ...(i % 10 === 9 ? { partition: i % 3 } : i % 10 === 8 ? {} : { key: `user-${(s * 7 + i) % 31}` }),
                value: JSON.stringify({ s, i, pad: 'x'.repeat(400) }),
              })),
            ),
          ),
        );
      } finally {
        await producer.close();
      }
      const reader = await bus.consumer({ topics: [topic] });
      try {
        const got = await pollUntil(reader, sends * per, WAIT_MS);
        expect(got.length).toBe(sends * per);
        const last = new Map<number, [number, number]>();
        const where = new Map<string, [number, number]>();
        const nextOffset = new Map<number, number>();
        for (const r of got) {
          expect(r.offset).toBe(nextOffset.get(r.partition) ?? 0);
          nextOffset.set(r.partition, r.offset + 1);
          const { s, i } = JSON.parse(r.value?.toString() ?? '') as { s: number; i: number };
          const prev = last.get(r.partition) ?? [-1, -1];
          // Call order: send by send, and within a send record by record.
          expect(s > prev[0] || (s === prev[0] && i > prev[1])).toBe(true);
          last.set(r.partition, [s, i]);
          where.set(`${s}/${i}`, [r.partition, r.offset]);
        }
        results.forEach((rs, s) => {
          expect(rs.reduce((n, r) => n + r.count, 0)).toBe(per);
          for (const r of rs) {
            const offsets = Array.from({ length: per }, (_, i) => where.get(`${s}/${i}`)!)
              .filter(([p]) => p === r.partition)
              .map(([, o]) => o);
            expect(offsets).toEqual(Array.from({ length: r.count }, (_, k) => r.baseOffset + k));
          }
        });
      } finally {
        await reader.close();
      }
    },
    120_000,
  );

  test(
    'sends queued together fail alone: a too-large record or a missing partition fails only its own send',
    async () => {
      const admin = await bus.admin();
      const topic = uniqueName('isolate');
      try {
        await admin.createTopic({ name: topic, partitions: 2, config: { 'max.message.bytes': '100000' } });
      } finally {
        await admin.close();
      }
      const producer = await bus.producer();
      try {
        const outcome = async (calls: Array<Promise<ProduceResult[]>>) =>
          (await Promise.allSettled(calls)).map((s) =>
            s.status === 'fulfilled' ? s.value.map((r) => [r.partition, r.baseOffset, r.count]) : (s.reason as { code?: string }).code,
          );
        // The first send goes out at once; the others queue behind it and go out together.
        expect(
          await outcome([
            producer.send(topic, [{ partition: 0, value: 'a' }]),
            producer.send(topic, [{ partition: 0, value: 'b' }]),
            producer.send(topic, [{ partition: 1, value: Buffer.alloc(200_000, 1) }]),
            producer.send(topic, [{ partition: 0, value: 'c' }]),
            producer.send(topic, [{ partition: 1, value: 'd' }]),
          ]),
        ).toEqual([[[0, 0, 1]], [[0, 1, 1]], 'MESSAGE_TOO_LARGE', [[0, 2, 1]], [[1, 0, 1]]]);
        expect(
          await outcome([
            producer.send(topic, [{ partition: 0, value: 'e' }]),
            producer.send(topic, [{ partition: 1, value: 'f' }]),
            producer.send(topic, [{ partition: 5, value: 'nowhere' }]),
            producer.send(topic, [{ partition: 0, value: 'g' }]),
          ]),
        ).toEqual([[[0, 3, 1]], [[1, 1, 1]], 'BUS_ERROR', [[0, 4, 1]]]);
      } finally {
        await producer.close();
      }
    },
    60_000,
  );

  test(
    'a send of several MB per partition goes as consecutive batches, in order, as one range per partition',
    async () => {
      const topic = uniqueName('rounds');
      const admin = await bus.admin();
      await admin.createTopic({ name: topic, partitions: 2 });
      await admin.close();
      const n = 3000;
      const value = (i: number) => `${i}:`.padEnd(1500, 'y');
      const producer = await bus.producer();
      let results;
      try {
        // 2.25 MB per partition: more than one batch may carry under the broker's default 1 MiB limit.
        results = await producer.send(topic, Array.from({ length: n }, (_, i) => ({ partition: i % 2, value: value(i) })));
      } finally {
        await producer.close();
      }
      expect(results).toEqual([
        { topic, partition: 0, baseOffset: 0, count: n / 2 },
        { topic, partition: 1, baseOffset: 0, count: n / 2 },
      ]);
      const reader = await bus.consumer({ topics: [topic] });
      try {
        const got = await pollUntil(reader, n, WAIT_MS);
        for (const p of [0, 1]) {
          const values = got.filter((r) => r.partition === p).map((r) => r.value?.toString());
          expect(values).toEqual(Array.from({ length: n / 2 }, (_, k) => value(k * 2 + p)));
        }
      } finally {
        await reader.close();
      }
    },
    60_000,
  );

  test(
    'when the broker refuses one partition of a request, the next batch of a partition it wrote is not lost',
    async () => {
      // kafkajs alone rolls back the sequence numbers of every partition of a failed request, so the next batch of
      // the same size to a partition that WAS written reuses its sequence and the broker drops it as a duplicate.
      const admin = await bus.admin();
      const topic = uniqueName('partial');
      try {
        await admin.createTopic({ name: topic, partitions: 2, config: { 'max.message.bytes': '100000' } });
      } finally {
        await admin.close();
      }
      const producer = await bus.producer();
      try {
        await producer.send(topic, [{ partition: 0, value: 'a0' }]);
        await expectRtwhError(
          producer.send(topic, [
            { partition: 0, value: 'b0' },
            { partition: 1, value: Buffer.alloc(200_000, 1) },
          ]),
          'MESSAGE_TOO_LARGE',
        );
        expect(await producer.send(topic, [{ partition: 0, value: 'c0' }])).toEqual([{ topic, partition: 0, baseOffset: 2, count: 1 }]);
      } finally {
        await producer.close();
      }
      const reader = await bus.consumer({ topics: [topic] });
      try {
        const got = await pollUntil(reader, 3, WAIT_MS);
        expect(got.map((r) => [r.partition, r.offset, r.value?.toString()])).toEqual([
          [0, 0, 'a0'],
          [0, 1, 'b0'],
          [0, 2, 'c0'],
        ]);
      } finally {
        await reader.close();
      }
    },
    60_000,
  );

  test(
    'a 5 MiB value (bigger than the per-partition fetch budget) with lz4',
    async () => {
      const topic = uniqueName('huge');
      const value = Buffer.from(lineValue(7, 'huge').repeat(Math.ceil((5 * 1024 * 1024) / 300))).subarray(0, 5 * 1024 * 1024);
      const producer = await bus.producer({ compression: 'lz4' });
      try {
        await producer.send(topic, [
          { key: 'small', value: 'before' },
          { key: 'huge', value },
          { key: 'small', value: 'after' },
        ]);
      } finally {
        await producer.close();
      }
      const reader = await bus.consumer({ topics: [topic] });
      try {
        const got = await pollUntil(reader, 3, WAIT_MS);
        expect(got.map((r) => r.value?.length)).toEqual([6, value.length, 5]);
        expect((got[1] as BusRecord).value?.equals(value)).toBe(true);
      } finally {
        await reader.close();
      }
    },
    60_000,
  );

  test(
    'a record bigger than the topic allows is MESSAGE_TOO_LARGE, and the producer stays usable',
    async () => {
      const admin = await bus.admin();
      const topic = uniqueName('toolarge');
      try {
        await admin.createTopic({ name: topic, partitions: 1, config: { 'max.message.bytes': '100000' } });
      } finally {
        await admin.close();
      }
      const producer = await bus.producer();
      try {
        await expectRtwhError(producer.send(topic, [{ value: Buffer.alloc(200_000, 1) }]), 'MESSAGE_TOO_LARGE');
        // Idempotent sequence numbers were rolled back: the next send is accepted.
        const [ok] = await producer.send(topic, [{ value: 'fits' }]);
        expect(ok?.baseOffset).toBe(0);
      } finally {
        await producer.close();
      }
    },
    60_000,
  );

  test(
    'a consumer of a missing topic is TOPIC_NOT_FOUND, naming it',
    async () => {
      const topic = uniqueName('nosuch');
      const e = await expectRtwhError(bus.consumer({ topics: [topic] }), 'TOPIC_NOT_FOUND');
      expect(e.message).toContain(topic);
    },
    30_000,
  );

  test(
    'small polls over several fetch responses (batches released before they are polled out): every record once, in order; seek and commit as before',
    async () => {
      // ~12 MB in one partition: three or more fetch responses of at most 4 MiB per partition, each far more than
      // one poll's worth, so batches are released (kafkajs fetches on) while their records are still buffered.
      const admin = await bus.admin();
      const topic = uniqueName('release');
      await admin.createTopic({ name: topic, partitions: 1 });
      await admin.close();
      const pad = 'x'.repeat(4000);
      const N = 3000;
      const producer = await bus.producer();
      await producer.send(topic, Array.from({ length: N }, (_, i) => ({ value: `${i}:${pad}` })));
      await producer.close();
      const group = uniqueName('g-release');
      const c = await bus.consumer({ topics: [topic], group, maxPollRecords: 100 });
      const admin2 = await bus.admin();
      const committed = async () => (await admin2.groupLag(group)).find((p) => p.topic === topic && p.partition === 0)?.currentOffset;
      try {
        const seen: number[] = [];
        const deadline = Date.now() + WAIT_MS;
        const take = async (upTo: number) => {
          while (seen.length < upTo && Date.now() < deadline) {
            for (const r of await c.poll({ timeoutMs: 500, maxRecords: 37 })) {
              expect(r.value?.toString()).toBe(`${r.offset}:${pad}`);
              seen.push(r.offset);
            }
          }
        };
        await take(1500);
        expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
        // commit() commits what was handed out, not what kafkajs fetched ahead (resolved for released batches).
        await c.commit();
        expect(await committed()).toBe(seen.length);
        // Back to 700: what is buffered past the position is dropped and read again from there, once.
        await c.seek({ topic, partition: 0, offset: 700 });
        seen.length = 0;
        await take(N - 700);
        expect(seen).toEqual(Array.from({ length: N - 700 }, (_, i) => 700 + i));
        expect(await c.poll({ timeoutMs: 300 })).toEqual([]);
        await c.commit();
        expect(await committed()).toBe(N);
      } finally {
        await c.close();
        await admin2.close();
      }
    },
    60_000,
  );

  test(
    'seeks back and forth within what is buffered: each next poll starts exactly there, the rest follows in order',
    async () => {
      const admin = await bus.admin();
      const topic = uniqueName('rewind');
      await admin.createTopic({ name: topic, partitions: 1 });
      await admin.close();
      const producer = await bus.producer();
      await producer.send(topic, Array.from({ length: 300 }, (_, i) => ({ value: `v${i}` })));
      await producer.close();
      const c = await bus.consumer({ topics: [topic], maxPollRecords: 50 });
      try {
        const first = await pollUntil(c, 1, WAIT_MS);
        expect(first[0]?.offset).toBe(0);
        const from = async (offset: number, n: number) => {
          await c.seek({ topic, partition: 0, offset });
          const got = await pollUntil(c, n, WAIT_MS);
          expect(got.slice(0, n).map((r) => [r.offset, r.value?.toString()])).toEqual(Array.from({ length: n }, (_, i) => [offset + i, `v${offset + i}`]));
        };
        await from(0, 50); // the first poll's records again (what the runtime does after its first poll)
        await from(10, 30);
        await from(200, 20);
        await from(5, 120);
        await from(299, 1);
        // A whole run after the last seek: every record once, in order, to the end.
        await c.seek({ topic, partition: 0, offset: 120 });
        const rest = await pollUntil(c, 180, WAIT_MS);
        expect(rest.map((r) => r.offset)).toEqual(Array.from({ length: 180 }, (_, i) => 120 + i));
        expect(await c.poll({ timeoutMs: 300 })).toEqual([]);
      } finally {
        await c.close();
      }
    },
    60_000,
  );

  test(
    'a reader without a group cannot commit, and its throwaway group is not listed',
    async () => {
      const admin = await bus.admin();
      const topic = uniqueName('tail');
      await admin.createTopic({ name: topic, partitions: 1 });
      const reader = await bus.consumer({ topics: [topic], startFrom: 'latest' });
      try {
        await expectRtwhError(reader.commit(), 'USAGE');
        expect((await admin.listGroups()).some((g) => g.startsWith('rtwh-ephemeral-'))).toBe(false);
      } finally {
        await reader.close();
        await admin.close();
      }
    },
    30_000,
  );

  test(
    'a member that keeps a partition across a rebalance goes on where it was, no record twice',
    async () => {
      const admin = await bus.admin();
      const topic = uniqueName('keep');
      await admin.createTopic({ name: topic, partitions: 2 });
      await admin.close();
      const group = uniqueName('g-keep');
      const producer = await bus.producer();
      await producer.send(topic, [
        ...Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: `p0-${i}` })),
        ...Array.from({ length: 20 }, (_, i) => ({ partition: 1, value: `p1-${i}` })),
      ]);
      await producer.close();
      const a = await bus.consumer({ topics: [topic], group });
      let b: Consumer | undefined;
      const seenA: BusRecord[] = [];
      const seenB: BusRecord[] = [];
      try {
        // a reads from both partitions and commits NOTHING; then b joins and the group rebalances.
        const deadline = Date.now() + WAIT_MS;
        while (new Set(seenA.map((r) => r.partition)).size < 2 && Date.now() < deadline) {
          seenA.push(...(await a.poll({ timeoutMs: 500, maxRecords: 3 })));
        }
        const joining = bus.consumer({ topics: [topic], group });
        let joined = false;
        void joining.then(
          () => (joined = true),
          () => (joined = true),
        );
        // a keeps polling (its heartbeats let the rebalance complete) a record at a time.
        while (!joined && Date.now() < deadline) seenA.push(...(await a.poll({ timeoutMs: 200, maxRecords: 1 })));
        b = await joining;
        while (Date.now() < deadline && (a.assignment().length !== 1 || b.assignment().length !== 1)) {
          const [ra, rb] = await Promise.all([a.poll({ timeoutMs: 300, maxRecords: 1 }), b.poll({ timeoutMs: 300 })]);
          seenA.push(...ra);
          seenB.push(...rb);
        }
        const kept = a.assignment()[0]?.partition as number;
        expect(b.assignment()).toEqual([{ topic, partition: 1 - kept }]);
        const keptBy = (rs: BusRecord[]) => rs.filter((r) => r.partition === kept).map((r) => r.offset);
        const movedBy = (rs: BusRecord[]) => rs.filter((r) => r.partition !== kept).map((r) => r.offset);
        while (Date.now() < deadline && (keptBy(seenA).length < 20 || movedBy(seenB).length < 20)) {
          const [ra, rb] = await Promise.all([a.poll({ timeoutMs: 300 }), b.poll({ timeoutMs: 300 })]);
          seenA.push(...ra);
          seenB.push(...rb);
        }
        // a went on where it was in the partition it kept (kafkajs alone restarts at the committed offset: 0).
        expect(keptBy(seenA)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        // Nothing was committed, so the new owner of the other partition reads it from the start.
        expect(movedBy(seenB)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(keptBy(seenB)).toEqual([]);
      } finally {
        await Promise.all([a.close(), b?.close()]);
      }
    },
    120_000,
  );
});

describe('kafka bus: unreachable broker', () => {
  test('producer, admin and consumer fail fast with BUS_UNAVAILABLE naming the address', async () => {
    const dead = openKafkaBus(['127.0.0.1:1']);
    const opens = [() => dead.producer(), () => dead.admin(), () => dead.consumer({ topics: ['t'], group: 'g' })];
    for (const open of opens) {
      const t0 = Date.now();
      const e = await expectRtwhError(open(), 'BUS_UNAVAILABLE');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(e.message).toContain('cannot reach Kafka at 127.0.0.1:1');
      expect(e.exitCode).toBe(4);
    }
    await dead.close();
  }, 30_000);
});
