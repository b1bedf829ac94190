/**
 * The Kafka producer with several Produce requests in flight (src/bus/kafka/pipeline.ts), against a REAL broker:
 * order and exactly-once contents with many requests outstanding; connections dropped while requests are in
 * flight (resent in order with their sequence numbers: the broker keeps the first copy, drops the resends it
 * already has); a broker refusing every batch (the first send fails, the ones behind it are not written); a first
 * batch refused for a moment (through a loopback proxy that answers for the broker) with others behind it.
 *
 * Broker: RTWH_TEST_KAFKA (default kafka://127.0.0.1:9092), started by `scripts/stack.sh up`. No broker = fail.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openKafkaBus } from '../../src/bus/kafka.ts';
import type { KafkaProducer } from '../../src/bus/kafka/producer.ts';
import type { Bus, BusRecord, ProduceResult } from '../../src/bus/types.ts';
import { RtwhError } from '../../src/errors.ts';
import { startKafkaProxy } from '../collect/cdc/kafka-proxy.ts';
import { pollUntil, uniqueName } from './contract.ts';

const URL = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const BROKERS = URL.replace(/^kafka:\/\//, '').split(',');
const WAIT_MS = 60_000;

let bus: Bus;
const made: string[] = [];

beforeAll(() => {
  bus = openKafkaBus(BROKERS, { clientId: 'rtwh-test-pipeline' });
});

afterAll(async () => {
  const admin = await bus.admin();
  for (const t of made) await admin.deleteTopic(t).catch(() => undefined);
  await admin.close();
  await bus.close();
});

async function topic(prefix: string, partitions: number, config?: Record<string, string>): Promise<string> {
  const name = uniqueName(prefix);
  const admin = await bus.admin();
  try {
    await admin.createTopic({ name, partitions, ...(config ? { config } : {}) });
  } finally {
    await admin.close();
  }
  made.push(name);
  return name;
}

/** ~600-byte values naming their send and index, as cdc's records do. */
function value(s: number, i: number): string {
  return JSON.stringify({ s, i, pad: 'p'.repeat(560) });
}

/** Every record read back: per partition dense offsets, each (s, i) once, in call order. */
async function readBack(name: string, expected: number): Promise<Map<string, [number, number]>> {
  const reader = await bus.consumer({ topics: [name], maxPollRecords: 10_000 });
  try {
    const got: BusRecord[] = await pollUntil(reader, expected, WAIT_MS);
    // Nothing beyond: a duplicate would show as one more record.
    got.push(...(await reader.poll({ timeoutMs: 1000 })));
    expect(got.length).toBe(expected);
    const where = new Map<string, [number, number]>();
    const last = new Map<number, [number, number]>();
    const next = new Map<number, number>();
    for (const r of got) {
      expect(r.offset).toBe(next.get(r.partition) ?? 0);
      next.set(r.partition, r.offset + 1);
      const { s, i } = JSON.parse(r.value!.toString()) as { s: number; i: number };
      const prev = last.get(r.partition) ?? [-1, -1];
      expect(s > prev[0] || (s === prev[0] && i > prev[1])).toBe(true);
      last.set(r.partition, [s, i]);
      expect(where.has(`${s}/${i}`)).toBe(false);
      where.set(`${s}/${i}`, [r.partition, r.offset]);
    }
    return where;
  } finally {
    await reader.close();
  }
}

/** The results of each send name exactly the offsets its records were read back at. */
function checkResults(results: ProduceResult[][], where: Map<string, [number, number]>, per: number): void {
  results.forEach((rs, s) => {
    expect(rs.reduce((n, r) => n + r.count, 0)).toBe(per);
    for (const r of rs) {
      const offsets = Array.from({ length: per }, (_, i) => where.get(`${s}/${i}`)!)
        .filter(([p]) => p === r.partition)
        .map(([, o]) => o);
      expect(offsets).toEqual(Array.from({ length: r.count }, (_, k) => r.baseOffset + k));
    }
  });
}

/**
 * Runs `fn` with a producer that reaches the broker through a loopback proxy, which answers the producer's first
 * Produce request itself, `delayMs` later, with NOT_LEADER_OR_FOLLOWER (6) — as a leader not ready yet does.
 */
async function throughRefusingProxy<T>(delayMs: number, fn: (producer: KafkaProducer) => Promise<T>): Promise<T> {
  const [host, port] = BROKERS[0]!.split(':');
  const proxy = await startKafkaProxy(host!, Number(port));
  const through = openKafkaBus([proxy.url.replace('kafka://', '')], { clientId: 'rtwh-test-pipeline-proxy' });
  let result: T;
  try {
    const producer = (await through.producer()) as KafkaProducer;
    try {
      proxy.refuseNextProduce(6, delayMs);
      result = await fn(producer);
    } finally {
      await producer.close();
    }
  } finally {
    await through.close();
    await proxy.close();
  }
  expect(proxy.refused).toBe(1);
  return result;
}

describe('kafka producer: several requests in flight', () => {
  test(
    'many sends outstanding: more than one request in flight, every record once, in call order, exact offsets',
    async () => {
      const name = await topic('pipe', 2);
      const producer = (await bus.producer()) as KafkaProducer;
      const sends = 40;
      const per = 2500; // ~1.5 MB a send: two batches per send on each partition
      let maxInFlight = 0;
      const sampler = setInterval(() => (maxInFlight = Math.max(maxInFlight, producer.requestsInFlight)), 1);
      let results: ProduceResult[][];
      try {
        results = await Promise.all(
          Array.from({ length: sends }, (_, s) =>
            producer.send(name, Array.from({ length: per }, (_, i) => ({ partition: (s + (i < per / 2 ? 0 : 1)) % 2, value: value(s, i) }))),
          ),
        );
      } finally {
        clearInterval(sampler);
        await producer.close();
      }
      expect(maxInFlight).toBeGreaterThan(1);
      checkResults(results, await readBack(name, sends * per), per);
    },
    120_000,
  );

  test(
    'connections dropped while requests are in flight: every send succeeds, no record lost or written twice, order kept',
    async () => {
      const name = await topic('pipedrop', 1);
      const producer = (await bus.producer()) as KafkaProducer;
      const sends = 60;
      const per = 1500;
      let drops = 0;
      let droppedWithRequestsOut = 0;
      // Drop every connection at several moments while the sends are on their way.
      const dropper = setInterval(() => {
        if (drops >= 6) return;
        if (producer.requestsInFlight > 0) droppedWithRequestsOut++;
        drops++;
        producer.dropConnections();
      }, 120);
      let results: ProduceResult[][];
      try {
        results = await Promise.all(
          Array.from({ length: sends }, (_, s) => producer.send(name, Array.from({ length: per }, (_, i) => ({ key: `k${s}`, value: value(s, i) })))),
        );
      } finally {
        clearInterval(dropper);
        await producer.close();
      }
      expect(drops).toBeGreaterThan(0);
      expect(droppedWithRequestsOut).toBeGreaterThan(0);
      checkResults(results, await readBack(name, sends * per), per);
    },
    120_000,
  );

  test(
    'a broker refusing every batch: the first send fails with its reason, the ones in flight behind it as not sent, nothing is written',
    async () => {
      // Records stamped in 2001 on a topic that takes timestamps at most a minute old: INVALID_TIMESTAMP, every time.
      const name = await topic('piperefuse', 1, { 'message.timestamp.before.max.ms': '60000' });
      const producer = (await bus.producer()) as KafkaProducer;
      let outcomes: PromiseSettledResult<ProduceResult[]>[];
      try {
        outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, s) => producer.send(name, Array.from({ length: 50 }, (_, i) => ({ value: value(s, i), timestamp: 978307200000 + i })))),
        );
      } finally {
        await producer.close();
      }
      const reasons = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as RtwhError) : null));
      expect(reasons.every((r) => r instanceof RtwhError)).toBe(true);
      expect(reasons[0]!.message).toMatch(/timestamp/i);
      // The sends in flight behind it are not sent; any started after the failure was settled fail on their own.
      expect(reasons[1]!.message).toContain('not sent, an earlier send failed');
      for (const r of reasons.slice(1)) expect(r!.message).toMatch(/not sent, an earlier send failed|timestamp/i);
      const admin = await bus.admin();
      try {
        const info = await admin.describeTopic(name);
        expect(info.partitions.map((p) => p.endOffset)).toEqual([0]);
      } finally {
        await admin.close();
      }
    },
    120_000,
  );

  test(
    "a topic's max.message.bytes below the producer's 1 MB batches: refused unless told (limitTopic), then batches stay under it",
    async () => {
      const name = await topic('pipelimit', 1, { 'max.message.bytes': '100000' });
      // ~600 bytes a record, 500 of them: ~300 KB, one batch for the producer unless told the topic's limit.
      const records = (s: number) => Array.from({ length: 500 }, (_, i) => ({ value: value(s, i) }));
      const untold = (await bus.producer()) as KafkaProducer;
      try {
        const e = await untold.send(name, records(0)).then(() => null, (x: unknown) => x);
        expect((e as RtwhError).code).toBe('MESSAGE_TOO_LARGE');
      } finally {
        await untold.close();
      }
      const told = (await bus.producer()) as KafkaProducer;
      told.limitTopic(name, 100_000);
      told.limitTopic(`${name}_other`, 20_000_000); // above the producer's own batches: no change
      try {
        const results = await Promise.all([told.send(name, records(0)), told.send(name, records(1))]);
        checkResults(results, await readBack(name, 1000), 500);
      } finally {
        await told.close();
      }
    },
    60_000,
  );

  test(
    'fail-stop (as cdc uses it): behind a send refused for its records, nothing in flight is written; the next send goes on',
    async () => {
      const name = await topic('pipestop', 1, { 'max.message.bytes': '100000' });
      const producer = (await bus.producer()) as KafkaProducer;
      producer.stopOnFirstFailure();
      const small = (s: number) => Array.from({ length: 20 }, (_, i) => ({ value: value(s, i) }));
      let outcomes: PromiseSettledResult<ProduceResult[]>[];
      try {
        outcomes = await Promise.allSettled([
          producer.send(name, small(0)),
          producer.send(name, [{ value: Buffer.alloc(200_000, 1) }]),
          producer.send(name, small(2)),
          producer.send(name, small(3)),
        ]);
        const codes = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.map((r) => [r.baseOffset, r.count]) : (o.reason as RtwhError).code));
        expect(codes).toEqual([[[0, 20]], 'MESSAGE_TOO_LARGE', 'BUS_ERROR', 'BUS_ERROR']);
        for (const o of outcomes.slice(2)) expect((o as PromiseRejectedResult).reason.message).toContain('not sent, an earlier send failed');
        // Sent again in order, as cdc's writer does: they land right after the first.
        expect(await producer.send(name, small(2))).toEqual([{ topic: name, partition: 0, baseOffset: 20, count: 20 }]);
      } finally {
        await producer.close();
      }
      const where = await readBack(name, 40);
      expect([...where.keys()].filter((k) => k.startsWith('3/'))).toEqual([]);
    },
    60_000,
  );

  test(
    "a partition's first batch refused for a moment (leader not ready): the batches behind it wait for it, order kept",
    async () => {
      // The broker keeps no sequence for a producer id on a partition it has written nothing of, and writes a batch
      // with ANY sequence there: had the second batch gone out beside the first, it would be written ahead of it.
      const name = await topic('pipefirst', 1);
      // NOT_LEADER_OR_FOLLOWER, answered after the others could be written
      const results = await throughRefusingProxy(300, (producer) =>
        Promise.all(Array.from({ length: 8 }, (_, s) => producer.send(name, Array.from({ length: 20 }, (_, i) => ({ value: value(s, i) }))))),
      );
      checkResults(results, await readBack(name, 8 * 20), 20);
    },
    60_000,
  );

  test(
    'a send failing for a moment ahead of one refused for its record: it is retried and succeeds, only the record fails',
    async () => {
      const name = await topic('pipehead', 2, { 'max.message.bytes': '100000' });
      const outcomes = await throughRefusingProxy(200, (producer) =>
        Promise.allSettled([
          producer.send(name, [{ partition: 0, value: 'a' }]),
          producer.send(name, [{ partition: 1, value: Buffer.alloc(200_000, 1) }]),
          producer.send(name, [{ partition: 0, value: 'c' }]),
        ]),
      );
      const codes = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.map((r) => [r.partition, r.baseOffset, r.count]) : (o.reason as RtwhError).code));
      // Before: the transient refusal of 'a' was reported as its failure, because a later send was refused for good.
      expect(codes).toEqual([[[0, 0, 1]], 'MESSAGE_TOO_LARGE', [[0, 1, 1]]]);
    },
    60_000,
  );
});
