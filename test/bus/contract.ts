/**
 * The ONE behaviour suite every Bus implementation must pass, run unchanged against the embedded
 * SQLite bus and a real Kafka broker. Written for Kafka's timings: unique topic and group names per
 * test, and "poll until N records or a deadline" loops instead of single polls.
 *
 * @example
 *   busContract('sqlite', async (reuseUrl) => { ... return { bus, url, cleanup } }, { waitMs: 15_000 });
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { RtwhError, type ErrorCode } from '../../src/errors.ts';
import { partitionForKey } from '../../src/bus/partitioner.ts';
import type { Bus, BusRecord, Consumer, PartitionInfo, ProduceMessage, TopicPartition } from '../../src/bus/types.ts';

export interface BusHandle {
  bus: Bus;
  /** A URL a child process (or a second Bus object) can open to reach the same topics. */
  url: string;
  cleanup(): Promise<void>;
}

/**
 * Opens a bus. With `reuseUrl`, it must reach the SAME data as the handle that produced that URL (a
 * second Bus object on one SQLite file; for Kafka any new client of the same cluster, so a maker that
 * ignores the argument is fine there).
 */
export type BusMaker = (reuseUrl?: string) => Promise<BusHandle>;

export interface BusCaps {
  /** Longest wait for records or a rebalance in one step. Default 60 s; Kafka rebalances take seconds. */
  waitMs?: number;
}

const FIXTURES = join(import.meta.dir, 'fixtures');

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls until at least `n` records arrived or `waitMs` passed; returns everything polled. */
export async function pollUntil(consumer: Consumer, n: number, waitMs: number): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  const deadline = Date.now() + waitMs;
  while (out.length < n && Date.now() < deadline) {
    out.push(...(await consumer.poll({ timeoutMs: Math.min(1000, Math.max(1, deadline - Date.now())) })));
  }
  return out;
}

export async function expectRtwhError(p: Promise<unknown>, code: ErrorCode): Promise<RtwhError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RtwhError);
  expect((caught as RtwhError).code).toBe(code);
  return caught as RtwhError;
}

function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

function json<T>(r: BusRecord): T {
  return JSON.parse(text(r.value) ?? 'null') as T;
}

function tpo(r: BusRecord): string {
  return `${r.topic}/${r.partition}/${r.offset}`;
}

function partitionsOf(tps: TopicPartition[]): number[] {
  return tps.map((tp) => tp.partition).sort((a, b) => a - b);
}

export function busContract(name: string, make: BusMaker, caps: BusCaps): void {
  const waitMs = caps.waitMs ?? 60_000;
  // bun:test's per-test timeout: a few waits plus slack.
  const testMs = waitMs * 3 + 30_000;

  describe(`bus contract: ${name}`, () => {
    let h: BusHandle;
    beforeAll(async () => {
      h = await make();
    });
    afterAll(async () => {
      await h?.cleanup();
    });

    async function createTopic(prefix: string, partitions: number, config?: Record<string, string>): Promise<string> {
      const topic = uniqueName(prefix);
      const admin = await h.bus.admin();
      try {
        expect(await admin.createTopic({ name: topic, partitions, ...(config ? { config } : {}) })).toBe(true);
      } finally {
        await admin.close();
      }
      return topic;
    }

    async function send(topic: string, messages: ProduceMessage[]) {
      const producer = await h.bus.producer();
      try {
        return await producer.send(topic, messages);
      } finally {
        await producer.close();
      }
    }

    test(
      'keeps order within a partition, sends a key to its murmur2 partition, offsets are dense',
      async () => {
        const topic = await createTopic('order', 3);
        const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
        const msgs: ProduceMessage[] = Array.from({ length: 1000 }, (_, seq) => {
          const key = keys[(seq * 7) % keys.length]!;
          return { key, value: JSON.stringify({ key, seq }) };
        });
        let produced = 0;
        for (let i = 0; i < msgs.length; i += 250) {
          const results = await send(topic, msgs.slice(i, i + 250));
          for (const r of results) {
            expect(r.topic).toBe(topic);
            expect(r.partition).toBeGreaterThanOrEqual(0);
            expect(r.partition).toBeLessThan(3);
          }
          produced += results.reduce((s, r) => s + r.count, 0);
        }
        expect(produced).toBe(1000);

        const consumer = await h.bus.consumer({ topics: [topic], group: uniqueName('g-order') });
        try {
          const got = await pollUntil(consumer, 1000, waitMs);
          expect(got.length).toBe(1000);
          const nextOffset = new Map<number, number>();
          const lastSeq = new Map<string, number>();
          const partitionOfKey = new Map<string, number>();
          for (const r of got) {
            // Dense and in order: each partition's records arrive as 0, 1, 2, ...
            expect(r.offset).toBe(nextOffset.get(r.partition) ?? 0);
            nextOffset.set(r.partition, r.offset + 1);
            const v = json<{ key: string; seq: number }>(r);
            expect(text(r.key)).toBe(v.key);
            expect(v.seq).toBeGreaterThan(lastSeq.get(v.key) ?? -1);
            lastSeq.set(v.key, v.seq);
            expect(partitionOfKey.get(v.key) ?? r.partition).toBe(r.partition);
            partitionOfKey.set(v.key, r.partition);
            expect(r.partition).toBe(partitionForKey(v.key, 3));
          }
          expect(nextOffset.size).toBe(3);
        } finally {
          await consumer.close();
        }
      },
      testMs,
    );

    test(
      'an explicit partition wins over the key',
      async () => {
        const topic = await createTopic('explicit', 3);
        const key = 'order-77';
        const forced = (partitionForKey(key, 3) + 1) % 3;
        const [result] = await send(topic, [{ key, value: 'x', partition: forced }]);
        expect(result?.partition).toBe(forced);
        expect(result?.baseOffset).toBe(0);
        const reader = await h.bus.consumer({ topics: [topic] });
        try {
          const [r] = await pollUntil(reader, 1, waitMs);
          expect(r?.partition).toBe(forced);
          expect(text(r?.key ?? null)).toBe(key);
        } finally {
          await reader.close();
        }
      },
      testMs,
    );

    test(
      'headers, null key, null value, empty value and timestamps round-trip (reader without a group)',
      async () => {
        const topic = await createTopic('headers', 1);
        const ts = Date.now() - 60_000;
        const before = Date.now();
        await send(topic, [
          { key: null, value: 'plain', headers: { source: 'mock', 'trace-id': 'ü-✓-42' }, timestamp: ts },
          { key: 'tombstone', value: null },
          { key: Buffer.from([0, 1, 255]), value: Buffer.alloc(0) },
        ]);
        const after = Date.now();
        const reader = await h.bus.consumer({ topics: [topic] });
        try {
          const got = await pollUntil(reader, 3, waitMs);
          expect(got.map((r) => r.offset)).toEqual([0, 1, 2]);
          const [a, b, c] = got as [BusRecord, BusRecord, BusRecord];
          expect(a.key).toBeNull();
          expect(text(a.value)).toBe('plain');
          expect(a.headers).toEqual({ source: 'mock', 'trace-id': 'ü-✓-42' });
          expect(a.timestamp).toBe(ts);
          expect(text(b.key)).toBe('tombstone');
          expect(b.value).toBeNull();
          expect(b.headers).toEqual({});
          expect(b.timestamp).toBeGreaterThanOrEqual(before - 1000);
          expect(b.timestamp).toBeLessThanOrEqual(after + 1000);
          expect(c.key?.equals(Buffer.from([0, 1, 255]))).toBe(true);
          expect(c.value).not.toBeNull();
          expect(c.value?.length).toBe(0);
        } finally {
          await reader.close();
        }
      },
      testMs,
    );

    test(
      'group offsets survive a restart: a new bus object resumes right after the commit, uncommitted records come again',
      async () => {
        const topic = await createTopic('restart', 1);
        const group = uniqueName('g-restart');
        await send(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
        const first = await h.bus.consumer({ topics: [topic], group, maxPollRecords: 5 });
        try {
          const got = await pollUntil(first, 12, waitMs);
          expect(got.length).toBeGreaterThanOrEqual(12);
          // Commit only up to offset 7; offsets 8.. were read but not committed.
          await first.commit([{ topic, partition: 0, offset: 8 }]);
        } finally {
          await first.close();
        }
        const second = await make(h.url);
        try {
          const again = await second.bus.consumer({ topics: [topic], group });
          try {
            const got = await pollUntil(again, 12, waitMs);
            expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 12 }, (_, i) => 8 + i));
            expect(got.map((r) => text(r.value))).toEqual(Array.from({ length: 12 }, (_, i) => `v${8 + i}`));
          } finally {
            await again.close();
          }
        } finally {
          await second.cleanup();
        }
      },
      testMs,
    );

    test(
      'commit() with no argument commits the offset after the last record poll returned, never what is only buffered',
      async () => {
        const topic = await createTopic('commitpos', 2);
        const group = uniqueName('g-commitpos');
        await send(topic, [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ partition, value: `v${partition}-${i}` }))));
        const consumer = await h.bus.consumer({ topics: [topic], group, maxPollRecords: 3 });
        const got: BusRecord[] = [];
        try {
          // Kafka has fetched all 20 into its buffer by now; only what poll handed out may be committed.
          while (got.length === 0) got.push(...(await consumer.poll({ timeoutMs: 1000 })));
          expect(got.length).toBeLessThanOrEqual(3);
          await consumer.commit();
        } finally {
          await consumer.close();
        }
        const next = new Map<number, number>();
        for (const r of got) next.set(r.partition, r.offset + 1);
        const admin = await h.bus.admin();
        try {
          const lag = (await admin.groupLag(group)).filter((l) => l.topic === topic).sort((x, y) => x.partition - y.partition);
          // A partition poll returned nothing from may show its start (0) or no commit at all, never more.
          expect(lag.map((l) => l.currentOffset ?? 0)).toEqual([next.get(0) ?? 0, next.get(1) ?? 0]);
          expect(lag.map((l) => l.lag)).toEqual([10 - (next.get(0) ?? 0), 10 - (next.get(1) ?? 0)]);
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      'two members of one group share the partitions; once steady no record goes to both',
      async () => {
        const topic = await createTopic('share', 4);
        const group = uniqueName('g-share');
        const batch = (tag: string) =>
          Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, key: `${tag}-${i}`, value: JSON.stringify({ tag, i }) }));
        await send(topic, batch('warm'));
        const a = await h.bus.consumer({ topics: [topic], group, clientId: 'member-a' });
        const b = await h.bus.consumer({ topics: [topic], group, clientId: 'member-b' });
        try {
          const seenWarm = new Set<string>();
          const steady = (): boolean => {
            const pa = partitionsOf(a.assignment());
            const pb = partitionsOf(b.assignment());
            return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === '0,1,2,3';
          };
          // Phase 1: poll both until every warm-up record was read and the split held for 3 rounds in a row.
          let stableRounds = 0;
          const deadline = Date.now() + waitMs * 2;
          while ((stableRounds < 3 || seenWarm.size < 40) && Date.now() < deadline) {
            const [ra, rb] = await Promise.all([a.poll({ timeoutMs: 500 }), b.poll({ timeoutMs: 500 })]);
            for (const r of [...ra, ...rb]) seenWarm.add(tpo(r));
            await Promise.all([a.commit(), b.commit()]);
            stableRounds = steady() ? stableRounds + 1 : 0;
          }
          expect(seenWarm.size).toBe(40);
          expect(steady()).toBe(true);

          // Phase 2: steady state. Every new record goes to exactly one member, the one that owns its partition.
          const ownedA = new Set(partitionsOf(a.assignment()));
          const ownedB = new Set(partitionsOf(b.assignment()));
          await send(topic, batch('steady'));
          const gotA: BusRecord[] = [];
          const gotB: BusRecord[] = [];
          const deadline2 = Date.now() + waitMs;
          while (gotA.length + gotB.length < 40 && Date.now() < deadline2) {
            const [ra, rb] = await Promise.all([a.poll({ timeoutMs: 500 }), b.poll({ timeoutMs: 500 })]);
            gotA.push(...ra.filter((r) => json<{ tag: string }>(r).tag === 'steady'));
            gotB.push(...rb.filter((r) => json<{ tag: string }>(r).tag === 'steady'));
            await Promise.all([a.commit(), b.commit()]);
          }
          // One more round: a duplicate delivered late would show up here.
          const [la, lb] = await Promise.all([a.poll({ timeoutMs: 300 }), b.poll({ timeoutMs: 300 })]);
          gotA.push(...la.filter((r) => json<{ tag: string }>(r).tag === 'steady'));
          gotB.push(...lb.filter((r) => json<{ tag: string }>(r).tag === 'steady'));
          expect(gotA.length).toBeGreaterThan(0);
          expect(gotB.length).toBeGreaterThan(0);
          for (const r of gotA) expect(ownedA.has(r.partition)).toBe(true);
          for (const r of gotB) expect(ownedB.has(r.partition)).toBe(true);
          const all = [...gotA, ...gotB].map(tpo);
          expect(all.length).toBe(40);
          expect(new Set(all).size).toBe(40);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      },
      testMs * 2,
    );

    test(
      'seek by offset moves the next poll there',
      async () => {
        const topic = await createTopic('seek', 1);
        await send(topic, Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })));
        const consumer = await h.bus.consumer({ topics: [topic], group: uniqueName('g-seek') });
        try {
          expect((await pollUntil(consumer, 10, waitMs)).length).toBe(10);
          await consumer.seek({ topic, partition: 0, offset: 3 });
          const again = await pollUntil(consumer, 7, waitMs);
          expect(again.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
          expect(text(again[0]!.value)).toBe('v3');
        } finally {
          await consumer.close();
        }
      },
      testMs,
    );

    test(
      'a seek past the log end is out of range: the next poll starts again from startFrom, as Kafka resets it',
      async () => {
        const topic = await createTopic('seekpast', 1);
        const group = uniqueName('g-seekpast');
        await send(topic, Array.from({ length: 5 }, (_, i) => ({ value: `a${i}` })));
        const consumer = await h.bus.consumer({ topics: [topic], group });
        try {
          expect((await pollUntil(consumer, 5, waitMs)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
          // E.g. offsets restored from a job's state file after the bus was wiped: the log ends at 5.
          await consumer.seek({ topic, partition: 0, offset: 100 });
          await send(topic, Array.from({ length: 5 }, (_, i) => ({ value: `b${i}` })));
          const again = await pollUntil(consumer, 10, waitMs);
          // Nothing is skipped: offsets 5..99 do not exist, so the position resets to earliest.
          expect(again.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
          await consumer.commit();
        } finally {
          await consumer.close();
        }
        const admin = await h.bus.admin();
        try {
          const lag = (await admin.groupLag(group)).filter((l) => l.topic === topic);
          expect(lag.map((l) => [l.currentOffset, l.logEndOffset, l.lag])).toEqual([[10, 10, 0]]);
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      'poll and consumer options that are not usable numbers are refused with USAGE naming the value, never spin',
      async () => {
        const topic = await createTopic('badopts', 1);
        for (const maxPollRecords of [0, -1, 1.5, Number.NaN]) {
          const e = await expectRtwhError(h.bus.consumer({ topics: [topic], maxPollRecords }), 'USAGE');
          expect(e.message).toContain(`maxPollRecords ${JSON.stringify(String(maxPollRecords))}`);
        }
        const consumer = await h.bus.consumer({ topics: [topic], group: uniqueName('g-badopts') });
        try {
          const bounded = <T>(p: Promise<T>) =>
            Promise.race([p, Bun.sleep(5000).then(() => Promise.reject(new Error('poll did not return within 5 s')))]);
          for (const opts of [{ timeoutMs: Number.NaN }, { timeoutMs: Infinity }, { maxRecords: 0 }, { maxRecords: Number.NaN }]) {
            const e = await expectRtwhError(bounded(consumer.poll(opts)), 'USAGE');
            const [name, value] = Object.entries(opts)[0]!;
            expect(e.message).toContain(`${name} ${JSON.stringify(String(value))}`);
          }
          // A negative wait (a deadline already passed) means "what is there now", like 0.
          expect(await bounded(consumer.poll({ timeoutMs: -1 }))).toEqual([]);
          // Still usable afterwards.
          await send(topic, [{ value: 'ok' }]);
          expect((await pollUntil(consumer, 1, waitMs)).map((r) => text(r.value))).toEqual(['ok']);
        } finally {
          await consumer.close();
        }
      },
      testMs,
    );

    test(
      'after bus.close() the bus and its producer, consumer and admin refuse calls with BUS_ERROR saying it is closed',
      async () => {
        const topic = await createTopic('closed', 1);
        const other = await make(h.url);
        try {
          const admin = await other.bus.admin();
          const producer = await other.bus.producer();
          const consumer = await other.bus.consumer({ topics: [topic], group: uniqueName('g-closed') });
          await other.bus.close();
          const calls: [string, () => Promise<unknown>][] = [
            ['admin.listTopics', () => admin.listTopics()],
            ['admin.describeTopic', () => admin.describeTopic(topic)],
            ['admin.groupLag', () => admin.groupLag('g')],
            ['producer.send', () => producer.send(topic, [{ value: 'x' }])],
            ['consumer.poll', () => consumer.poll({ timeoutMs: 0 })],
            ['consumer.commit', () => consumer.commit()],
            ['bus.producer', () => other.bus.producer()],
            ['bus.consumer', () => other.bus.consumer({ topics: [topic] })],
            ['bus.admin', () => other.bus.admin()],
          ];
          for (const [name, call] of calls) {
            const t0 = Date.now();
            const e = await expectRtwhError(call(), 'BUS_ERROR');
            expect({ name, closed: e.message.includes('closed') }).toEqual({ name, closed: true });
            expect(Date.now() - t0).toBeLessThan(1000);
          }
        } finally {
          await other.cleanup();
        }
      },
      testMs,
    );

    // Timestamps an hour in the past: brokers reject CreateTime too far in the future, not in the past.
    function timedBatch(base: number): ProduceMessage[] {
      return [
        ...Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `p0-${i}`, timestamp: base + i * 1000 })),
        ...Array.from({ length: 10 }, (_, i) => ({ partition: 1, value: `p1-${i}`, timestamp: base + i * 1000 + 500 })),
      ];
    }

    test(
      'seekToTimestamp starts each partition at its first record with timestamp >= T',
      async () => {
        const topic = await createTopic('seekts', 2);
        const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
        await send(topic, timedBatch(base));
        const consumer = await h.bus.consumer({ topics: [topic], group: uniqueName('g-seekts') });
        try {
          const all = await pollUntil(consumer, 20, waitMs);
          expect(all.length).toBe(20);
          const p0 = all.filter((r) => r.partition === 0);
          expect(p0.map((r) => r.timestamp)).toEqual(Array.from({ length: 10 }, (_, i) => base + i * 1000));
          await consumer.seekToTimestamp(topic, base + 4500);
          const again = await pollUntil(consumer, 11, waitMs);
          // p0: ts base+5000 at offset 5 is the first >= base+4500; p1: base+4500 at offset 4 matches exactly.
          const firstOf = (p: number) => again.find((r) => r.partition === p);
          expect(firstOf(0)?.offset).toBe(5);
          expect(text(firstOf(0)?.value ?? null)).toBe('p0-5');
          expect(firstOf(1)?.offset).toBe(4);
          expect(again.length).toBe(11);
        } finally {
          await consumer.close();
        }
      },
      testMs,
    );

    test(
      'offsetsForTimestamp: first offset with timestamp >= T, the end offset when none',
      async () => {
        const topic = await createTopic('offts', 2);
        const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
        await send(topic, timedBatch(base));
        const admin = await h.bus.admin();
        try {
          const sorted = async (t: number) =>
            (await admin.offsetsForTimestamp(topic, t)).map((o) => ({ partition: o.partition, offset: o.offset })).sort((x, y) => x.partition - y.partition);
          expect(await sorted(base + 4500)).toEqual([
            { partition: 0, offset: 5 },
            { partition: 1, offset: 4 },
          ]);
          expect(await sorted(base - 10_000)).toEqual([
            { partition: 0, offset: 0 },
            { partition: 1, offset: 0 },
          ]);
          expect(await sorted(base + 9200)).toEqual([
            { partition: 0, offset: 10 },
            { partition: 1, offset: 9 },
          ]);
          expect(await sorted(base + 60_000)).toEqual([
            { partition: 0, offset: 10 },
            { partition: 1, offset: 10 },
          ]);
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      'a 1 MiB value arrives byte-exact',
      async () => {
        // Kafka's default max.message.bytes is just under 1 MiB of value plus overhead; the topic raises it.
        const topic = await createTopic('big', 1, { 'max.message.bytes': '10485760' });
        const value = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < value.length; i += 65536) crypto.getRandomValues(value.subarray(i, i + 65536));
        await send(topic, [{ key: 'big', value }]);
        const reader = await h.bus.consumer({ topics: [topic] });
        try {
          const [r] = await pollUntil(reader, 1, waitMs);
          expect(r?.value?.length).toBe(value.length);
          expect(r?.value?.equals(value)).toBe(true);
        } finally {
          await reader.close();
        }
      },
      testMs,
    );

    test(
      'admin: createTopic twice returns false, listTopics/describeTopic show offsets, deleteTopic removes it',
      async () => {
        const admin = await h.bus.admin();
        try {
          const topic = uniqueName('admin');
          expect(await admin.createTopic({ name: topic, partitions: 2 })).toBe(true);
          expect(await admin.createTopic({ name: topic, partitions: 2 })).toBe(false);
          await send(topic, Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `v${i}` })));

          const listed = (await admin.listTopics()).find((t) => t.name === topic);
          const shape = (ps: PartitionInfo[] | undefined) =>
            (ps ?? [])
              .map((p) => ({ partition: p.partition, startOffset: p.startOffset, endOffset: p.endOffset }))
              .sort((x, y) => x.partition - y.partition);
          expect(shape(listed?.partitions)).toEqual([
            { partition: 0, startOffset: 0, endOffset: 5 },
            { partition: 1, startOffset: 0, endOffset: 0 },
          ]);
          const described = await admin.describeTopic(topic);
          expect(described.name).toBe(topic);
          expect(described.partitions.map((p) => p.endOffset).sort()).toEqual([0, 5]);

          await expectRtwhError(admin.describeTopic(uniqueName('missing')), 'TOPIC_NOT_FOUND');

          await admin.deleteTopic(topic);
          // Kafka deletes asynchronously; wait until the topic is really gone.
          const deadline = Date.now() + waitMs;
          let gone: unknown;
          while (Date.now() < deadline) {
            gone = await admin.describeTopic(topic).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (gone !== undefined) break;
            await Bun.sleep(200);
          }
          expect(gone).toBeInstanceOf(RtwhError);
          expect((gone as RtwhError).code).toBe('TOPIC_NOT_FOUND');
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      'admin: ensureTopics creates the missing topics together, leaves existing ones as they are, gives partition counts',
      async () => {
        const admin = await h.bus.admin();
        try {
          const existing = await createTopic('ensure-old', 3);
          const a = uniqueName('ensure-a');
          const b = uniqueName('ensure-b');
          const got = await admin.ensureTopics([{ name: a, partitions: 2 }, { name: existing, partitions: 1 }, { name: b, partitions: 1 }, { name: a, partitions: 2 }]);
          expect(Object.fromEntries(got)).toEqual({
            [a]: { partitions: 2, created: true },
            [existing]: { partitions: 3, created: false },
            [b]: { partitions: 1, created: true },
          });
          // usable at once: written to, and its offsets read, with no leader error
          await send(a, [{ partition: 1, value: 'x' }]);
          expect((await admin.describeTopic(a)).partitions.map((p) => p.endOffset)).toEqual([0, 1]);
          expect(Object.fromEntries(await admin.ensureTopics([{ name: a }, { name: b }]))).toEqual({
            [a]: { partitions: 2, created: false },
            [b]: { partitions: 1, created: false },
          });
          // a bad name is refused before anything is created
          const c = uniqueName('ensure-c');
          await expectRtwhError(admin.ensureTopics([{ name: c }, { name: 'bad name' }]), 'INVALID_NAME');
          await expectRtwhError(admin.describeTopic(c), 'TOPIC_NOT_FOUND');
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      'a topic another client is creating: describeTopic and a new consumer see it as missing or whole, never a leader error',
      async () => {
        const creator = await h.bus.admin();
        const asker = await h.bus.admin();
        try {
          // Kafka elects the leaders a moment after the topic shows in metadata; asking in that moment failed.
          for (let round = 0; round < 5; round++) {
            const topic = uniqueName('creating');
            const creating = creator.createTopic({ name: topic, partitions: 3 });
            const answers: string[] = [];
            let done = false;
            void creating.finally(() => (done = true));
            while (!done || answers.length === 0) {
              const a = await asker.describeTopic(topic).then(
                (t) => `partitions ${t.partitions.map((p) => `${p.partition}:${p.endOffset}`).join(',')}`,
                (e: unknown) => (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND' ? 'missing' : `error ${String(e)}`),
              );
              answers.push(a);
            }
            await creating;
            expect(answers.filter((a) => a !== 'missing' && a !== 'partitions 0:0,1:0,2:0')).toEqual([]);
            const consumer = await h.bus.consumer({ topics: [topic], startFrom: 'latest' });
            try {
              await send(topic, [{ partition: 1, value: 'after open' }]);
              expect((await pollUntil(consumer, 1, waitMs)).map((r) => text(r.value))).toEqual(['after open']);
            } finally {
              await consumer.close();
            }
          }
        } finally {
          await creator.close();
          await asker.close();
        }
      },
      testMs,
    );

    test(
      'groupLag shows CURRENT-OFFSET, LOG-END-OFFSET and LAG after a partial commit; listGroups lists the group',
      async () => {
        const topic = await createTopic('lag', 2);
        const group = uniqueName('g-lag');
        await send(topic, [
          ...Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `a${i}` })),
          ...Array.from({ length: 6 }, (_, i) => ({ partition: 1, value: `b${i}` })),
        ]);
        const consumer = await h.bus.consumer({ topics: [topic], group });
        try {
          expect((await pollUntil(consumer, 16, waitMs)).length).toBe(16);
          await consumer.commit([{ topic, partition: 0, offset: 4 }]);
        } finally {
          await consumer.close();
        }
        const admin = await h.bus.admin();
        try {
          expect(await admin.listGroups()).toContain(group);
          const lag = (await admin.groupLag(group)).filter((l) => l.topic === topic).sort((x, y) => x.partition - y.partition);
          expect(lag.map((l) => [l.partition, l.currentOffset, l.logEndOffset, l.lag])).toEqual([
            [0, 4, 10, 6],
            [1, null, 6, 6],
          ]);
          expect(lag.every((l) => l.group === group)).toBe(true);
        } finally {
          await admin.close();
        }
      },
      testMs,
    );

    test(
      "startFrom 'latest' skips what was there and reads what comes after",
      async () => {
        const topic = await createTopic('latest', 1);
        await send(topic, Array.from({ length: 5 }, (_, i) => ({ value: `old${i}` })));
        const consumer = await h.bus.consumer({ topics: [topic], group: uniqueName('g-latest'), startFrom: 'latest' });
        try {
          // Let the member join and fix its position before the new records exist.
          const deadline = Date.now() + waitMs;
          let settled = 0;
          while (settled < 2 && Date.now() < deadline) {
            const early = await consumer.poll({ timeoutMs: 500 });
            expect(early).toEqual([]);
            if (consumer.assignment().length > 0) settled++;
          }
          expect(consumer.assignment()).toEqual([{ topic, partition: 0 }]);
          await send(topic, Array.from({ length: 3 }, (_, i) => ({ value: `new${i}` })));
          const got = await pollUntil(consumer, 3, waitMs);
          expect(got.map((r) => text(r.value))).toEqual(['new0', 'new1', 'new2']);
          expect(got[0]?.offset).toBe(5);
        } finally {
          await consumer.close();
        }
      },
      testMs,
    );

    // Every bus must take producers from several OS processes at once (the embedded one shares a file).
    test(
      'two producer processes at once: offsets dense 0..2N-1, each producer keeps its order',
      async () => {
        const topic = await createTopic('multiproc', 1);
        const n = 2000;
        const startAt = Date.now() + 1500;
        const children = ['p1', 'p2'].map((id) =>
          Bun.spawn({
            cmd: [process.execPath, join(FIXTURES, 'produce.ts'), h.url, topic, id, String(n), '50', String(startAt)],
            stdout: 'pipe',
            stderr: 'pipe',
          }),
        );
        const codes = await Promise.all(children.map((c) => c.exited));
        const errs = await Promise.all(children.map((c) => new Response(c.stderr).text()));
        expect({ codes, errs }).toEqual({ codes: [0, 0], errs: ['', ''] });

        const reader = await h.bus.consumer({ topics: [topic], maxPollRecords: 1000 });
        try {
          const got = await pollUntil(reader, 2 * n, waitMs);
          expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 2 * n }, (_, i) => i));
          const next = new Map<string, number>();
          let switches = 0;
          let prev = '';
          for (const r of got) {
            const v = json<{ producer: string; seq: number }>(r);
            expect(v.seq).toBe(next.get(v.producer) ?? 0);
            next.set(v.producer, v.seq + 1);
            if (v.producer !== prev) switches++;
            prev = v.producer;
          }
          expect(Object.fromEntries(next)).toEqual({ p1: n, p2: n });
          // The two processes really did write at the same time, not one after the other.
          expect(switches).toBeGreaterThan(2);
        } finally {
          await reader.close();
        }
      },
      testMs,
    );
  });
}
