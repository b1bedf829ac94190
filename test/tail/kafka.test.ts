/**
 * tail on a REAL Kafka broker (RTWH_TEST_KAFKA, default kafka://127.0.0.1:9092, from `scripts/stack.sh up`): the
 * direct partition reader without a group, the bus consumer with --group. No broker = fail, never skip.
 */
import { describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { cli } from '../helpers/cli';
import { tailSuite } from './suite';

const URL = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';
const BROKERS = URL.replace(/^kafka:\/\//, '').split(',');
const RUN_STARTED = Date.now();

function reachable(hostPort: string): Promise<string | null> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    const done = (err: string | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done('no answer within 3000 ms'), 3000);
    s.once('connect', () => done(null));
    s.once('error', (e) => done(e.message));
  });
}

/** Topics and groups of this run (suite.ts names them `tail_<what>_<base36 ms>_<6 chars>`). */
function madeByThisRun(name: string): boolean {
  const m = /^tail_[a-z]+_([0-9a-z]+)_[0-9a-z]{6}$/.exec(name);
  if (!m) return false;
  const t = parseInt(m[1]!, 36);
  return t >= RUN_STARTED - 1000 && t <= Date.now() + 1000;
}

tailSuite('kafka', async () => ({
  url: URL,
  ready: async () => {
    const errors = await Promise.all(BROKERS.map(reachable));
    if (errors.every((e) => e !== null)) {
      throw new Error(`Kafka is not reachable at ${URL} (${errors.join('; ')}). Start the dev stack with \`scripts/stack.sh up\`, or point RTWH_TEST_KAFKA at a broker.`);
    }
  },
  // The corpus has 5 MB records; the broker's default limit is 1 MB.
  bigTopicConfig: { 'max.message.bytes': String(16 * 1024 * 1024) },
  cleanup: async () => {
    const kafka = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = (await admin.listTopics()).filter(madeByThisRun);
      if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(madeByThisRun);
      if (groups.length) await admin.deleteGroups(groups).catch(() => {});
    } catch {
      // Best effort: a failed sweep must not hide the real result.
    } finally {
      await admin.disconnect();
    }
  },
}));

describe('rtwh tail on kafka, no broker', () => {
  test('an unreachable broker is BUS_UNAVAILABLE (exit 4), at once', async () => {
    const t0 = Date.now();
    const r = await cli(['tail', 'ods_db', '--json'], { env: { RTWH_BUS: 'kafka://127.0.0.1:1' } });
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stderr).error.code).toBe('BUS_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('rtwh tail on kafka, a bad topic name', () => {
  test.each(['a;b', 'a b', 'ünï', '..'])('%p is refused naming it and the rule, before the broker is asked', async (topic) => {
    const r = await cli(['tail', topic, '-n', '1', '--json'], { env: { RTWH_BUS: URL } });
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stderr).error;
    expect(e.code).toBe('USAGE');
    expect(e.message).toBe(`invalid topic ${JSON.stringify(topic)}: expected a topic name (letters, digits, . _ -; at most 249)`);
  });

  test("the broker's own refusal of a name (INVALID_TOPIC_EXCEPTION) is INVALID_NAME naming it and the rule", async () => {
    const { KafkaConnection, fetchLeaders } = await import('../../src/tail/kafka-wire');
    const u = new globalThis.URL(URL.replace(/^kafka:/, 'http:'));
    const conn = await KafkaConnection.open(u.hostname, Number(u.port), 'rtwh-test');
    try {
      const e = (await fetchLeaders(conn, 'a;b').catch((x: unknown) => x)) as { code?: string; message?: string; hint?: string };
      expect(e.code).toBe('INVALID_NAME');
      expect(e.message).toBe('invalid topic name "a;b"');
      expect(e.hint).toContain('letters, digits');
    } finally {
      conn.close();
    }
  });
});

describe('rtwh tail on kafka, compressed batches', () => {
  test.each(['gzip', 'snappy', 'lz4'] as const)('%s batches are read like plain ones', async (compression) => {
    const { openBus } = await import('../../src/bus/index');
    const { uniqueTopic } = await import('./suite');
    const bus = await openBus(URL);
    const topic = uniqueTopic(`tail-${compression}`);
    try {
      const admin = await bus.admin();
      await admin.createTopic({ name: topic, partitions: 1 });
      await admin.close();
      const p = await bus.producer({ compression });
      const values = Array.from({ length: 300 }, (_, i) => `{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"id":${i},"big":9007199254740993}}`);
      await p.send(topic, values.map((value) => ({ value })));
      await p.close();
      const r = await cli(['tail', topic, '--etl', '--format', 'raw'], { env: { RTWH_BUS: URL } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${values.join('\n')}\n`);
      expect(r.stderr).toContain('kept 300 · rejected 0');
    } finally {
      const admin = await bus.admin();
      await admin.deleteTopic(topic).catch(() => {});
      await admin.close();
      await bus.close();
    }
  }, 60_000);
});

describe('rtwh tail on kafka, transactions', () => {
  test('records of an aborted transaction are never shown; committed ones are', async () => {
    const { uniqueTopic } = await import('./suite');
    const topic = uniqueTopic('tail-txn');
    const kafka = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const value = (id: number) => `{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"id":${id}}}`;
      let tx = await producer.transaction();
      await tx.send({ topic, messages: [{ value: value(1) }, { value: value(2) }] });
      await tx.abort();
      tx = await producer.transaction();
      await tx.send({ topic, messages: [{ value: value(3) }, { value: value(4) }] });
      await tx.commit();
      // commit() returns before the broker has written the commit marker into the partition: until then the last
      // stable offset is before records 3-4 and a read_committed reader (tail) correctly sees nothing yet.
      let r = await cli(['tail', topic, '--format', 'raw'], { env: { RTWH_BUS: URL } });
      for (const until = Date.now() + 10_000; r.stdout === '' && Date.now() < until; ) {
        await Bun.sleep(100);
        r = await cli(['tail', topic, '--format', 'raw'], { env: { RTWH_BUS: URL } });
      }
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${value(3)}\n${value(4)}\n`);
      // Offsets: 0-1 aborted, 2 abort marker, 3-4 committed, 5 commit marker; the read ends at the end all the same.
      expect(r.stderr).toContain('read 2 records');
      const o = await cli(['tail', topic, '-o', '3'], { env: { RTWH_BUS: URL } });
      expect(o.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { offset: number }).offset)).toEqual([3, 4]);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  }, 60_000);
});
