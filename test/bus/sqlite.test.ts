import { Database } from 'bun:sqlite';
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteBus, type SqliteBusOptions } from '../../src/bus/sqlite.ts';
import { assignRoundRobin, tpKey } from '../../src/bus/sqlite/assign.ts';
import type { Bus } from '../../src/bus/types.ts';
import { busContract, expectRtwhError, pollUntil, uniqueName } from './contract.ts';
import type { ConsumeFixtureArgs } from './fixtures/consume.ts';

const dirs: string[] = [];
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtwh-bus-'));
  dirs.push(dir);
  // A directory that does not exist yet: openSqliteBus must create it.
  return join(dir, 'nested', 'bus.db');
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

busContract(
  'sqlite',
  async (reuseUrl) => {
    const path = reuseUrl === undefined ? tempPath() : reuseUrl.slice('sqlite:'.length);
    const bus = openSqliteBus(path);
    return { bus, url: `sqlite:${path}`, cleanup: () => bus.close() };
  },
  { waitMs: 15_000 },
);

/** JSON lines from a child's stdout, awaited one predicate at a time. */
class ChildLines {
  private readonly lines: unknown[] = [];
  private cursor = 0;
  private ended = false;
  constructor(stream: ReadableStream<Uint8Array>) {
    void this.pump(stream);
  }
  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') this.lines.push(JSON.parse(line));
      }
    }
    this.ended = true;
  }
  /** Waits for the next line (after those already consumed) matching `pred`. */
  async next<T>(pred: (l: T) => boolean, waitMs = 15_000): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      while (this.cursor < this.lines.length) {
        const l = this.lines[this.cursor++] as T;
        if (pred(l)) return l;
      }
      if (this.ended || Date.now() > deadline) throw new Error(`child output ended or timed out; saw ${JSON.stringify(this.lines.slice(-5))}`);
      await Bun.sleep(10);
    }
  }
}

interface RecordLine {
  type: 'record';
  partition: number;
  offset: number;
  value: string | null;
}
interface AssignmentLine {
  type: 'assignment';
  partitions: number[];
}
type Line = RecordLine | AssignmentLine;

function spawnConsumer(args: ConsumeFixtureArgs) {
  const proc = Bun.spawn({
    cmd: [process.execPath, join(import.meta.dir, 'fixtures', 'consume.ts'), JSON.stringify(args)],
    stdout: 'pipe',
    stderr: 'inherit',
  });
  return { proc, out: new ChildLines(proc.stdout) };
}

async function withBus<T>(opts: SqliteBusOptions, fn: (bus: Bus, path: string) => Promise<T>): Promise<T> {
  const path = tempPath();
  const bus = openSqliteBus(path, opts);
  try {
    return await fn(bus, path);
  } finally {
    await bus.close();
  }
}

describe('sqlite bus specifics', () => {
  test('creates the parent directory and puts the file in WAL mode', async () => {
    await withBus({}, async (bus, path) => {
      await (await bus.producer()).send('t', [{ value: 'x' }]);
      const db = new Database(path, { readonly: true });
      try {
        expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
        // The human-readable view shows the record under its topic name.
        expect(db.prepare('SELECT topic, "partition", "offset" FROM records').all()).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
      } finally {
        db.close();
      }
    });
  });

  test('invalid topic names are refused with INVALID_NAME naming the value; Kafka-legal names pass', async () => {
    await withBus({}, async (bus) => {
      const producer = await bus.producer();
      const admin = await bus.admin();
      const e = await expectRtwhError(producer.send('bad name!', [{ value: 'x' }]), 'INVALID_NAME');
      expect(e.message).toContain('"bad name!"');
      for (const name of ['', '.', '..', 'a'.repeat(250), 'ods/db', 'ümlaut']) {
        await expectRtwhError(admin.createTopic({ name }), 'INVALID_NAME');
      }
      await expectRtwhError(bus.consumer({ topics: ['x y'] }), 'INVALID_NAME');
      expect(await admin.createTopic({ name: 'a'.repeat(249) })).toBe(true);
      expect(await admin.createTopic({ name: 'ods_db.v1-x' })).toBe(true);
      expect(await admin.createTopic({ name: '...' })).toBe(true);
    });
  });

  test('producing to an unknown topic creates it with one partition; an out-of-range partition is refused', async () => {
    await withBus({}, async (bus) => {
      const producer = await bus.producer();
      const admin = await bus.admin();
      const [r] = await producer.send('auto', [{ key: 'k', value: 'v' }]);
      expect(r).toEqual({ topic: 'auto', partition: 0, baseOffset: 0, count: 1 });
      expect((await admin.describeTopic('auto')).partitions).toEqual([{ partition: 0, startOffset: 0, endOffset: 1 }]);
      await expectRtwhError(producer.send('auto', [{ value: 'v', partition: 1 }]), 'BUS_ERROR');
      // The failed send wrote nothing.
      expect((await admin.describeTopic('auto')).partitions[0]?.endOffset).toBe(1);
    });
  });

  test('closing the bus during a waiting poll ends that poll with no records', async () => {
    const path = tempPath();
    const bus = openSqliteBus(path);
    const reader = await bus.consumer({ topics: ['quiet'], group: 'g' });
    const pending = reader.poll({ timeoutMs: 5000 });
    await Bun.sleep(50);
    const t0 = Date.now();
    await bus.close();
    expect(await pending).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
    await expectRtwhError(reader.poll({ timeoutMs: 0 }), 'BUS_ERROR');
  });

  test('a reader of a topic deleted and created again reads the new topic from its first record', async () => {
    await withBus({}, async (bus) => {
      const admin = await bus.admin();
      const producer = await bus.producer();
      await admin.createTopic({ name: 'again', partitions: 1 });
      await producer.send('again', Array.from({ length: 10 }, (_, i) => ({ value: `old${i}` })));
      const reader = await bus.consumer({ topics: ['again'] });
      expect((await pollUntil(reader, 10, 2000)).length).toBe(10);
      await admin.deleteTopic('again');
      await admin.createTopic({ name: 'again', partitions: 1 });
      // More records than the reader had read, so its old position 10 is inside the new log.
      await producer.send('again', Array.from({ length: 12 }, (_, i) => ({ value: `new${i}` })));
      const got = await pollUntil(reader, 12, 2000);
      expect(got.map((r) => r.value?.toString())).toEqual(Array.from({ length: 12 }, (_, i) => `new${i}`));
    });
  });

  test('timers and signal handlers still run while a process produces or drains a backlog in a tight loop', async () => {
    // bun:sqlite is synchronous: without a yield, `for (;;) await send()` or polling a backlog never lets the event
    // loop run, so a job's watermark timers, its SIGINT handler and an HTTP server would wait for the loop to end.
    await withBus({}, async (bus) => {
      const producer = await bus.producer();
      const firstTimerDuring = async (loop: (until: number) => Promise<void>): Promise<number> => {
        const t0 = performance.now();
        let firedAt = -1;
        const timer = setTimeout(() => (firedAt = performance.now() - t0), 10);
        await loop(t0 + 500);
        clearTimeout(timer);
        return firedAt;
      };
      const whileSending = await firstTimerDuring(async (until) => {
        while (performance.now() < until) await producer.send('tight', [{ value: 'x' }]);
      });
      expect(whileSending).toBeGreaterThan(0);
      expect(whileSending).toBeLessThan(200);

      await producer.send('tight', Array.from({ length: 100_000 }, () => ({ value: 'y' })));
      const reader = await bus.consumer({ topics: ['tight'] });
      let polled = 0;
      const whilePolling = await firstTimerDuring(async (until) => {
        while (performance.now() < until) polled += (await reader.poll({ timeoutMs: 0, maxRecords: 1 })).length;
      });
      expect(polled).toBeGreaterThan(1000);
      expect(whilePolling).toBeGreaterThan(0);
      expect(whilePolling).toBeLessThan(200);
    });
  });

  test('a producer killed with -9 mid-send leaves only whole sends: offsets dense, no partial batch, file writable', async () => {
    await withBus({}, async (bus, path) => {
      const batch = 2000;
      const child = Bun.spawn({
        cmd: [process.execPath, join(import.meta.dir, 'fixtures', 'produce.ts'), `sqlite:${path}`, 'killed', 'p', '100000000', String(batch), '0'],
        stdout: 'ignore',
        stderr: 'ignore',
      });
      const admin = await bus.admin();
      const end = async () => (await admin.describeTopic('killed')).partitions[0]?.endOffset ?? 0;
      try {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && (await end().catch(() => 0)) < 3 * batch) await Bun.sleep(5);
      } finally {
        child.kill(9);
        await child.exited;
      }
      const n = await end();
      expect(n).toBeGreaterThanOrEqual(3 * batch);
      expect(n % batch).toBe(0);
      const reader = await bus.consumer({ topics: ['killed'], maxPollRecords: 10_000 });
      const got = await pollUntil(reader, n, 5000);
      expect(got.length).toBe(n);
      got.forEach((r, i) => {
        expect(r.offset).toBe(i);
        expect((JSON.parse(r.value!.toString()) as { seq: number }).seq).toBe(i);
      });
      // The dead process's lock and WAL are recovered: the next send goes through.
      expect((await (await bus.producer()).send('killed', [{ value: 'after' }]))[0]?.baseOffset).toBe(n);
    });
  }, 30_000);

  test('commit on a reader without a group throws a clear error', async () => {
    await withBus({}, async (bus) => {
      const reader = await bus.consumer({ topics: ['t'] });
      const e = await expectRtwhError(reader.commit(), 'BUS_ERROR');
      expect(e.message).toContain('no group');
    });
  });

  test('5 MiB values round-trip byte-exact; one poll stops after about 16 MiB', async () => {
    await withBus({}, async (bus) => {
      const values = Array.from({ length: 5 }, () => {
        const v = Buffer.alloc(5 * 1024 * 1024);
        for (let i = 0; i < v.length; i += 65536) crypto.getRandomValues(v.subarray(i, i + 65536));
        return v;
      });
      await (await bus.producer()).send('big', values.map((value) => ({ value })));
      const reader = await bus.consumer({ topics: ['big'] });
      const first = await reader.poll({ timeoutMs: 1000, maxRecords: 10 });
      // 5 + 5 + 5 MiB is under the cap, the fourth crosses it and ends the poll.
      expect(first.length).toBe(4);
      const rest = await reader.poll({ timeoutMs: 1000, maxRecords: 10 });
      expect(rest.map((r) => r.offset)).toEqual([4]);
      [...first, ...rest].forEach((r, i) => expect(r.value?.equals(values[i]!)).toBe(true));
    });
  });

  test('timestamps that go backwards: offsetsForTimestamp is the first offset, in offset order, with ts >= T', async () => {
    await withBus({}, async (bus) => {
      const producer = await bus.producer();
      const at = (ts: number[]) => ts.map((t) => ({ value: String(t), timestamp: t }));
      await producer.send('ts', at([100, 300, 200, 400])); // offsets 0-3
      await producer.send('ts', at([150, 250])); // 4-5: running max stays 400
      await producer.send('ts', at([500, 120])); // 6-7
      const admin = await bus.admin();
      const lookup = async (t: number) => (await admin.offsetsForTimestamp('ts', t))[0]?.offset;
      expect(await lookup(50)).toBe(0);
      expect(await lookup(150)).toBe(1);
      expect(await lookup(250)).toBe(1);
      expect(await lookup(350)).toBe(3);
      expect(await lookup(450)).toBe(6);
      expect(await lookup(501)).toBe(8);
      await expectRtwhError(admin.offsetsForTimestamp('nope', 1), 'TOPIC_NOT_FOUND');
    });
  });

  test('a member that closes hands its partition over at once; the next owner starts at the commit', async () => {
    await withBus({ sessionTimeoutMs: 30_000 }, async (bus) => {
      await (await bus.producer()).send('handover', Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })));
      // Member ids start with the clientId, and the assignment deals partitions in member-id order.
      const a = await bus.consumer({ topics: ['handover'], group: 'g', clientId: 'a' });
      const b = await bus.consumer({ topics: ['handover'], group: 'g', clientId: 'b' });
      expect(a.assignment()).toEqual([{ topic: 'handover', partition: 0 }]);
      expect(b.assignment()).toEqual([]);
      expect(await b.poll({ timeoutMs: 100 })).toEqual([]);
      const first = await pollUntil(a, 10, 2000);
      await a.commit([{ topic: 'handover', partition: 0, offset: 10 }]);
      // Fenced: b does not own the partition while a holds its lease.
      await expectRtwhError(b.commit([{ topic: 'handover', partition: 0, offset: 2 }]), 'BUS_ERROR');
      expect(first.length).toBeGreaterThanOrEqual(10);
      await a.close();
      const t0 = Date.now();
      const rest = await pollUntil(b, 10, 5000);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(rest.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    });
  });

  test('a consumer in another process sees records produced here', async () => {
    await withBus({}, async (bus, path) => {
      const admin = await bus.admin();
      await admin.createTopic({ name: 'xproc', partitions: 1 });
      const { proc, out } = spawnConsumer({ path, topic: 'xproc', exitAfter: 50 });
      try {
        await out.next<Line>((l) => l.type === 'assignment' && l.partitions.length === 1);
        const producer = await bus.producer();
        for (let i = 0; i < 50; i += 10) {
          await producer.send('xproc', Array.from({ length: 10 }, (_, j) => ({ value: `m${i + j}` })));
          await Bun.sleep(20);
        }
        const got: RecordLine[] = [];
        while (got.length < 50) got.push(await out.next<RecordLine>((l) => l.type === 'record'));
        expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect(got.map((r) => r.value)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
        expect(await proc.exited).toBe(0);
      } finally {
        proc.kill(9);
      }
    });
  });

  test(
    'a member killed with -9 keeps its partition until its session times out, then the survivor resumes at its commit',
    async () => {
      const sessionTimeoutMs = 2000;
      await withBus({ sessionTimeoutMs }, async (bus, path) => {
        const group = uniqueName('g-kill');
        const admin = await bus.admin();
        await admin.createTopic({ name: 'kill', partitions: 2 });
        const producer = await bus.producer();
        const fill = (tag: string) => [0, 1].flatMap((p) => Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `${tag}-${p}-${i}` })));
        await producer.send('kill', fill('a'));

        const { proc, out } = spawnConsumer({ path, topic: 'kill', group, sessionTimeoutMs });
        try {
          await out.next<Line>((l) => l.type === 'assignment' && l.partitions.length === 2);
          const seenByChild: RecordLine[] = [];
          while (seenByChild.length < 20) seenByChild.push(await out.next<RecordLine>((l) => l.type === 'record'));

          // The survivor joins: the child gives up one partition, so each owns one.
          const survivor = await bus.consumer({ topics: ['kill'], group });
          const deadline = Date.now() + 10_000;
          while (survivor.assignment().length !== 1 && Date.now() < deadline) await survivor.poll({ timeoutMs: 50 });
          expect(survivor.assignment().length).toBe(1);
          const mine = survivor.assignment()[0]!.partition;
          const childs = 1 - mine;
          await out.next<Line>((l) => l.type === 'assignment' && l.partitions.length === 1 && l.partitions[0] === childs);

          // Everything was read by the child and committed after its poll; give the commit a moment to land.
          await Bun.sleep(300);
          const lagBefore = await admin.groupLag(group);
          expect(lagBefore.find((l) => l.partition === childs)?.currentOffset).toBe(10);
          proc.kill(9);
          await proc.exited;
          const killedAt = Date.now();
          await producer.send('kill', fill('b'));

          // Its lease is still valid: nobody may read its partition yet.
          const early = await survivor.poll({ timeoutMs: 500 });
          expect(early.every((r) => r.partition === mine)).toBe(true);
          expect(survivor.assignment().map((tp) => tp.partition)).toEqual([mine]);

          const got = early.filter((r) => r.partition === childs);
          const until = Date.now() + sessionTimeoutMs + 5000;
          while (got.length < 10 && Date.now() < until) got.push(...(await survivor.poll({ timeoutMs: 200 })).filter((r) => r.partition === childs));
          const tookMs = Date.now() - killedAt;
          expect(survivor.assignment().map((tp) => tp.partition)).toEqual([0, 1]);
          // The lease was renewed at most one heartbeat (session/5) before the kill.
          expect(tookMs).toBeGreaterThanOrEqual(sessionTimeoutMs - sessionTimeoutMs / 5 - 100);
          expect(tookMs).toBeLessThan(sessionTimeoutMs + 3000);
          // It continues exactly after the dead member's commit: nothing lost, nothing read twice.
          expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
          expect(got.map((r) => r.value?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `b-${childs}-${i}`));
          const lagAfter = await admin.groupLag(group);
          expect(new Set(lagAfter.map((l) => l.memberId)).size).toBe(1);
          expect(lagAfter[0]?.memberId).toBeString();
        } finally {
          proc.kill(9);
        }
      });
    },
    30_000,
  );
});

describe('assignRoundRobin', () => {
  test('deals sorted partitions to sorted members in turn', () => {
    const parts = [0, 1, 2, 3].map((part) => ({ topic: 't', part }));
    const out = assignRoundRobin(
      [
        { id: 'b', topics: ['t'] },
        { id: 'a', topics: ['t'] },
      ],
      parts,
    );
    expect([0, 1, 2, 3].map((p) => out.get(tpKey('t', p)))).toEqual(['a', 'b', 'a', 'b']);
  });

  test('skips members not subscribed to a topic and leaves unsubscribed topics unassigned', () => {
    const out = assignRoundRobin(
      [
        { id: 'a', topics: ['x'] },
        { id: 'b', topics: ['x', 'y'] },
      ],
      [
        { topic: 'y', part: 0 },
        { topic: 'y', part: 1 },
        { topic: 'x', part: 0 },
        { topic: 'z', part: 0 },
      ],
    );
    expect(out.get(tpKey('x', 0))).toBe('a');
    expect(out.get(tpKey('y', 0))).toBe('b');
    expect(out.get(tpKey('y', 1))).toBe('b');
    expect(out.has(tpKey('z', 0))).toBe(false);
  });
});
