// The state file's outbox: chunks written as bytes come back record for record (text and byte values, null key and
// value, headers, unicode), committed records carry their UTF-8 bytes for forwarding, and outbox rows of the older
// text format are still read.
import { afterEach, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryChunkMessages, decodeRecordsBinary, StateStore, type OutboxChunk, type OutRecord } from '../../src/stream/state-store.ts';
import { chunkMessages } from '../../src/stream/outbox.ts';
import type { ProduceMessage } from '../../src/bus/types.ts';
import { HeadTail } from '../../src/stream/types.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function statePath(): string {
  const d = mkdtempSync(join(tmpdir(), 'rtwh-state-store-'));
  dirs.push(d);
  return join(d, 'job.db');
}

const empty = { state: [], timersAdded: [], timersRemoved: [], offsets: [], partitionTimes: {}, watermark: null, seqs: new Map<string, number>(), deleteUpTo: 0 };

describe('state file outbox', () => {
  test('chunks come back record for record; a committed chunk carries the bytes stored, which decode to its records', () => {
    const path = statePath();
    const records: OutRecord[] = [
      { producer: 'job/page', key: 'mid_1', value: '{"a":"ünï ✓ 𝄞 中文"}', ts: 1_736_812_800_123, headers: null },
      { producer: 'job/page', key: null, value: null, ts: 0, headers: null },
      { producer: 'job/dlq', key: 'k', value: Buffer.from([0xff, 0x00, 0xc3]), ts: 5, headers: { 'rtwh.dlq.reason': 'not JSON: ü', 'rtwh.dlq.offset': '7' } },
      { producer: 'job/display', key: '', value: '', ts: 1, headers: {} },
    ];
    const expected = records.map((r) => ({ ...r, value: r.value === null ? null : Buffer.from(r.value as string | Buffer) }));
    const chunk: OutboxChunk = { id: 0, topic: 'out', partition: 2, firstSeq: 11, records };
    const store = StateStore.open(path, 'job');
    store.commit({ ...empty, chunks: [chunk] });
    expect(chunk.id).toBeGreaterThan(0);
    const stored = decodeRecordsBinary(chunk.stored!.bytes, chunk.stored!.producers);
    expect(stored.map((r) => ({ ...r, value: r.value === null ? null : Buffer.from(r.value as Buffer) }))).toEqual(expected);
    store.close();

    const again = StateStore.open(path, 'job');
    const loaded = again.load().outbox;
    again.close();
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!).toMatchObject({ id: chunk.id, topic: 'out', partition: 2, firstSeq: 11 });
    expect(loaded[0]!.records.map((r) => ({ ...r, value: r.value === null ? null : Buffer.from(r.value as Buffer) }))).toEqual(expected);
  });

  test('outbox rows of the text format (earlier versions) are read', () => {
    const path = statePath();
    StateStore.open(path, 'job').close();
    const db = new Database(path);
    // two records: "mid_1" → "hello ü", then a keyless base64 byte value with headers
    const headers = JSON.stringify({ h: '1' });
    const text = `0 100 5 7 -1\nmid_1hello ü1 200 -1 b4 ${headers.length}\n/wA=${headers}`;
    db.run('INSERT INTO outbox(topic, part, first_seq, last_seq, producers, records) VALUES (?, ?, ?, ?, ?, ?)', ['out', 0, 1, 2, JSON.stringify(['job/a', 'job/dlq']), text]);
    db.close();
    const store = StateStore.open(path, 'job');
    const [row] = store.load().outbox;
    store.close();
    expect(row!.records).toEqual([
      { producer: 'job/a', key: 'mid_1', value: 'hello ü', ts: 100, headers: null },
      { producer: 'job/dlq', key: null, value: Buffer.from([0xff, 0x00]), ts: 200, headers: { h: '1' } },
    ]);
  });

  test('big chunks are stored zstd-compressed and come back the same; small ones as they are', () => {
    const path = statePath();
    const many: OutRecord[] = Array.from({ length: 2000 }, (_, i) => ({
      producer: i % 3 === 0 ? 'job/display' : 'job/page',
      key: `mid_${i % 50}`,
      value: JSON.stringify({ common: { mid: `mid_${i % 50}`, ch: 'xiaomi', kw: '小米 手机' }, i }),
      ts: 1_736_812_800_000 + i,
      headers: i % 500 === 0 ? { 'rtwh.dlq.reason': 'x' } : null,
    }));
    const expected = many.map((r) => ({ ...r, value: Buffer.from(r.value as string) }));
    const big: OutboxChunk = { id: 0, topic: 'out', partition: 0, firstSeq: 1, records: many };
    const small: OutboxChunk = { id: 0, topic: 'out', partition: 1, firstSeq: 1, records: [{ producer: 'job/page', key: 'k', value: 'v', ts: 1, headers: null }] };
    const store = StateStore.open(path, 'job');
    store.commit({ ...empty, chunks: [big, small] });
    store.close();
    const db = new Database(path, { readonly: true });
    const rows = db.query('SELECT part, codec, length(records) AS n FROM outbox ORDER BY id').all() as { part: number; codec: number; n: number }[];
    db.close();
    const raw = expected.reduce((a, r) => a + r.value.length, 0);
    expect(rows.map((r) => [r.part, r.codec])).toEqual([[0, 1], [1, 0]]);
    expect(rows[0]!.n).toBeLessThan(raw / 5);
    const again = StateStore.open(path, 'job');
    const loaded = again.load().outbox;
    again.close();
    expect(loaded[0]!.records.map((r) => ({ ...r, value: Buffer.from(r.value as Buffer) }))).toEqual(expected);
    expect(loaded[1]!.records.map((r) => ({ ...r, value: r.value!.toString() }))).toEqual([{ producer: 'job/page', key: 'k', value: 'v', ts: 1, headers: null }]);
  });

  test('a state file of schema 1 (outbox without codec) is upgraded when opened: its rows are read, new ones compressed', () => {
    const path = statePath();
    const db = new Database(path);
    db.run('CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID');
    db.run(`CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, part INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, producers TEXT NOT NULL, records TEXT NOT NULL)`);
    db.run("INSERT INTO meta(k, v) VALUES ('job', 'job'), ('schema', '1')");
    db.run('INSERT INTO outbox(topic, part, first_seq, last_seq, producers, records) VALUES (?, ?, ?, ?, ?, ?)', ['out', 0, 1, 1, JSON.stringify(['job/a']), '0 100 5 2 -1\nmid_1hi']);
    db.close();
    const store = StateStore.open(path, 'job');
    expect(store.load().outbox.map((c) => c.records)).toEqual([[{ producer: 'job/a', key: 'mid_1', value: 'hi', ts: 100, headers: null }]]);
    const next: OutboxChunk = { id: 0, topic: 'out', partition: 0, firstSeq: 2, records: Array.from({ length: 300 }, (_, i) => ({ producer: 'job/a', key: 'mid_1', value: `{"i":${i},"pad":"${'x'.repeat(40)}"}`, ts: 100 + i, headers: null })) };
    store.commit({ ...empty, chunks: [next] });
    expect(next.id).toBe(2);
    store.close();
    const check = new Database(path, { readonly: true });
    expect(check.query("SELECT v FROM meta WHERE k = 'schema'").get()).toEqual({ v: '2' });
    expect(check.query('SELECT id, codec FROM outbox ORDER BY id').all()).toEqual([{ id: 1, codec: 0 }, { id: 2, codec: 1 }]);
    check.close();
    const again = StateStore.open(path, 'job');
    expect(again.load().outbox.map((c) => c.records.length)).toEqual([1, 300]);
    again.close();
  });

  test('a state file of an unknown schema is refused, naming both versions', () => {
    const path = statePath();
    StateStore.open(path, 'job').close();
    const db = new Database(path);
    db.run("UPDATE meta SET v = '9' WHERE k = 'schema'");
    db.close();
    expect(() => StateStore.open(path, 'job')).toThrow(/has schema version "9"; this rtwh reads version 2/);
  });

  test('HeadTail values are stored as head + tail: shared heads (the same string or equal text) copied, unicode included', () => {
    const path = statePath();
    const h1 = '{"common":{"mid":"m1","kw":"小米 手机 𝄞"},"page":{"page_id":"good_list"},';
    const h2 = '{"common":{"mid":"m2"},"page":{"page_id":"home"},';
    const values = [
      new HeadTail(h1, '"display":{"item":"1"},"ts":1}'),
      new HeadTail(h1, '"display":{"item":"ü2"},"ts":1}'),
      'plain text ✓',
      new HeadTail(h1, '"action":{"id":"3"}}'), // the head again after another kind of value
      new HeadTail(h2, '"display":{"item":"4"},"ts":2}'),
      new HeadTail(`${h2}`.slice(0), '"display":{"item":"5"},"ts":2}'), // equal text
      Buffer.from([0xff, 0x00]),
      new HeadTail('', ''),
      new HeadTail(h1, ''),
    ];
    const records: OutRecord[] = values.map((value, i) => ({ producer: 'job/display', key: `k${i}`, value, ts: i, headers: null }));
    const want = values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v))));
    const chunk: OutboxChunk = { id: 0, topic: 'out', partition: 0, firstSeq: 1, records };
    const store = StateStore.open(path, 'job');
    store.commit({ ...empty, chunks: [chunk] });
    expect(decodeRecordsBinary(chunk.stored!.bytes, chunk.stored!.producers).map((r) => Buffer.from(r.value as Buffer))).toEqual(want);
    store.close();
    const again = StateStore.open(path, 'job');
    const loaded = again.load().outbox;
    again.close();
    expect(loaded[0]!.records.map((r) => Buffer.from(r.value as Buffer))).toEqual(want);
  });

  test('chunk arena: memory of released chunks is written again, never that of a chunk still held', () => {
    const store = StateStore.open(statePath(), 'job');
    try {
      // 1 MiB values (bytes: reserved as they are, where text is reserved at 3 bytes a character): a 16 MiB arena
      // block holds 15 chunks of one record
      let n = 0;
      const prepare = (): OutboxChunk => {
        const value = Buffer.from(String.fromCharCode(97 + (n % 26)).repeat(1 << 20));
        const c: OutboxChunk = { id: 0, topic: 'out', partition: 0, firstSeq: n++, records: [{ producer: 'p', key: `k${n}`, value, ts: n, headers: null }] };
        store.prepareChunks([c]);
        return c;
      };
      const valueOf = (c: OutboxChunk) => (decodeRecordsBinary(c.stored!.bytes, c.stored!.producers)[0]!.value as Buffer).toString();
      const sent = (c: OutboxChunk) => (c.records[0]!.value as Buffer).toString();
      const memory = (c: OutboxChunk) => c.stored!.bytes.buffer;

      const first = Array.from({ length: 15 }, prepare);
      const firstValues = first.map(valueOf);
      expect(new Set(first.map(memory)).size).toBe(1);
      // the block is full and its chunks held: the next chunks go to new memory, the held ones stay as they were
      const second = Array.from({ length: 15 }, prepare);
      expect(memory(second[0]!)).not.toBe(memory(first[0]!));
      expect(first.map(valueOf)).toEqual(firstValues);

      // all of the first block released (twice: the second time is passed over), then the second block fills up
      store.releaseChunks(first);
      store.releaseChunks(first);
      const third = Array.from({ length: 15 }, prepare);
      expect(memory(third[0]!)).toBe(memory(first[0]!));
      expect(second.map(valueOf)).toEqual(second.map(sent));
      expect(third.map(valueOf)).toEqual(third.map(sent));

      // a block with one chunk still held is not written again
      store.releaseChunks(second.slice(1));
      const fourth = Array.from({ length: 15 }, prepare);
      expect(memory(fourth[0]!)).not.toBe(memory(second[0]!));
      expect(valueOf(second[0]!)).toBe(sent(second[0]!));
    } finally {
      store.close();
    }
  });

  test("a stored chunk's messages made from its bytes equal the ones made from its records (keys as bytes)", () => {
    const path = statePath();
    const records: OutRecord[] = [
      { producer: 'job/page', key: 'mid_1', value: '{"a":"ünï ✓ 𝄞 中文"}', ts: 1_736_812_800_123, headers: null },
      { producer: 'job/page', key: null, value: null, ts: 0, headers: null },
      { producer: 'job/dlq', key: 'k', value: Buffer.from([0xff, 0x00, 0xc3]), ts: 5, headers: { 'rtwh.dlq.reason': 'not JSON: ü', 'rtwh.dlq.offset': '7' } },
      { producer: 'job/display', key: '', value: new HeadTail('{"h":1,', '"t":2}'), ts: 1, headers: {} },
    ];
    const chunk: OutboxChunk = { id: 0, topic: 'out', partition: 3, firstSeq: 41, records };
    const store = StateStore.open(path, 'job');
    store.commit({ ...empty, chunks: [chunk] });
    store.close();
    const norm = (ms: ProduceMessage[]) => ms.map((m) => ({ ...m, key: m.key == null ? null : Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value) }));
    const fromBytes = binaryChunkMessages(chunk.stored!.bytes, chunk.stored!.producers, 41, 3);
    // The chunk as read back from a state file (no stored bytes): messages made from its records.
    const fromRecords = chunkMessages({ id: chunk.id, topic: 'out', partition: 3, firstSeq: 41, records: decodeRecordsBinary(chunk.stored!.bytes, chunk.stored!.producers) });
    // A committed chunk's messages are made from its bytes, from any sequence on.
    expect(norm(chunkMessages(chunk, 42))).toEqual(norm(fromBytes.slice(2)));
    expect(norm(fromBytes)).toEqual(norm(fromRecords));
    expect(fromBytes.map((m) => m.headers?.['rtwh.seq'])).toEqual(['41', '42', '43', '44']);
    expect(() => binaryChunkMessages(chunk.stored!.bytes.subarray(0, 30), ['job/page'], 1, 0)).toThrow(/truncated/);
  });
});
