/**
 * A job's state file (bun:sqlite, WAL): keyed state, timers, input offsets, partition event times and the
 * watermark, and the OUTBOX of outputs committed but not yet acknowledged by the bus — all written in ONE
 * transaction per batch (commit()).
 *
 * One process per state file: the file is opened in SQLite's EXCLUSIVE locking mode and written at once, so the
 * connection holds the file's write lock until it is closed. The kernel releases that lock when the process dies
 * (kill -9 included), so there is no stale lock to clean up; a second process (or a second runJob in this one)
 * gets SQLITE_BUSY at open and is refused with JOB_LOCKED. `<state>.owner` names the owner's pid for that message.
 *
 * The outbox holds CHUNKS, not single records: one row per (batch, output topic, partition) with the records'
 * per-partition sequence numbers first_seq…last_seq and the records as one blob (encodeRecordsBinary). That is
 * the same information as a row per record (topic, partition, seq, producer, key, value, ts, headers) at a
 * fraction of the SQLite work per record. Writing the blob turns each value into its UTF-8 bytes once; a
 * committed chunk keeps those bytes (`stored`), which is what the forwarding sends. Rows of 4 KiB and more are stored
 * zstd-compressed (codec 1): a batch's outputs repeat themselves, and SQLite writes every byte twice (WAL, then
 * checkpoint) — dwd log's 236 MB of outputs per bench run cost more to store than ~10 MB of zstd frames to make.
 *
 * A commit is two steps: prepareChunks (ids — explicit, following the AUTOINCREMENT counter — and bytes, in the
 * job's thread) and write (the transaction). On Kafka the job releases the file after loading it and the forwarding
 * thread opens it and does the writes (forward-worker.ts), so the job's thread does not wait for SQLite.
 */
import { Database, type Statement } from 'bun:sqlite';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { q, RtwhError, rtwhError } from '../errors';
import type { StateChange, TimerEntry } from './engine';
import type { Headers, ProduceMessage } from '../bus/types';
import { HeadTail, OUT_HEADER } from './types';
import { utf8Write } from '../formats/utf8';

/** 2: outbox rows carry a codec (zstd). Files of version 1 are upgraded when opened (the column added). */
export const STATE_SCHEMA_VERSION = '2';
const UPGRADABLE_VERSIONS = new Set(['1']);

/** Outbox row codecs: 0 = the records as encoded, 1 = zstd of them. */
const CODEC_NONE = 0;
const CODEC_ZSTD = 1;
/** Chunks below this many bytes are stored as they are (a frame would save little). */
const COMPRESS_FROM = 4096;

/** One output record in the outbox; its sequence number is the chunk's firstSeq + its index. */
export interface OutRecord {
  producer: string;
  key: string | null;
  /** Text or HeadTail (outputs), or the original bytes (dead letters). */
  value: string | HeadTail | Buffer | null;
  ts: number;
  /** Extra headers (dead letters); the producer and seq headers are added when forwarding. */
  headers: Headers | null;
}

export interface OutboxChunk {
  /** Row id (AUTOINCREMENT: never reused, so ids follow commit order); chunks are forwarded in id order. 0 until stored. */
  id: number;
  topic: string;
  partition: number;
  firstSeq: number;
  records: OutRecord[];
  /**
   * The records as stored (encodeRecordsBinary) with the producer names their indexes refer to: set on chunks
   * committed by this process, so a forwarding thread can be handed the chunk as one buffer.
   */
  stored?: {
    bytes: Uint8Array;
    producers: readonly string[];
    block?: ArenaBlock;
    /** The largest record's key + value + extra headers (JSON) bytes: sizes it against a topic's limit (limits.ts). */
    maxRecord?: number;
  };
}

export interface StoredInputOffset {
  topic: string;
  partition: number;
  /** Next offset to process. */
  next: number;
}

export interface LoadedState {
  state: StateChange[];
  timers: TimerEntry[];
  offsets: Map<string, number>;
  partitionTimes: Record<string, number>;
  /** null = -Infinity (nothing observed yet). */
  watermark: number | null;
  outbox: OutboxChunk[];
  /** Last assigned sequence per output partition (`topic\0partition`), and the keyless round-robin counters (`topic\0-1`). */
  seqs: Map<string, number>;
}

export interface CommitBatch {
  state: readonly StateChange[];
  timersAdded: readonly TimerEntry[];
  timersRemoved: readonly TimerEntry[];
  offsets: readonly StoredInputOffset[];
  partitionTimes: Readonly<Record<string, number>>;
  /** Finite watermark to keep; null leaves the stored one. */
  watermark: number | null;
  /** New chunks (their ids are set by commit). */
  chunks: OutboxChunk[];
  /** Sequence counters changed by these chunks. */
  seqs: ReadonlyMap<string, number>;
  /** Deletes the outbox rows with id <= this (acknowledged by the bus); 0 = none. */
  deleteUpTo: number;
}

/** A chunk as committed: ids given and records stored as bytes (prepareChunks). */
export interface WireChunkRow {
  id: number;
  topic: string;
  partition: number;
  firstSeq: number;
  lastSeq: number;
  producers: readonly string[];
  bytes: Uint8Array;
}

/**
 * A commit in a form that crosses to another thread cheaply (postMessage copies flat arrays of strings and
 * numbers much faster than arrays of objects; chunk bytes lie in shared memory): state as
 * [namespace, key, value|null, expires|null]…, timers as [name, key, time]….
 */
export interface WireCommit {
  state: (string | number | null)[];
  timersAdded: (string | number)[];
  timersRemoved: (string | number)[];
  offsets: readonly StoredInputOffset[];
  partitionTimes: Readonly<Record<string, number>>;
  watermark: number | null;
  chunks: WireChunkRow[];
  seqs: [string, number][];
  deleteUpTo: number;
}

/** The wire form of a batch whose chunks were prepared (StateStore.prepareChunks). */
export function toWire(b: CommitBatch): WireCommit {
  const state: (string | number | null)[] = new Array<string | number | null>(b.state.length * 4);
  let i = 0;
  for (const c of b.state) {
    state[i++] = c.namespace;
    state[i++] = c.key;
    state[i++] = c.value;
    state[i++] = c.expires;
  }
  const timers = (ts: readonly TimerEntry[]) => {
    const out: (string | number)[] = [];
    for (const t of ts) out.push(t.name, t.key, t.time);
    return out;
  };
  return {
    state,
    timersAdded: timers(b.timersAdded),
    timersRemoved: timers(b.timersRemoved),
    offsets: b.offsets,
    partitionTimes: b.partitionTimes,
    watermark: b.watermark,
    chunks: b.chunks.map((c) => {
      if (!c.stored || c.id === 0) throw new Error(`outbox chunk of ${c.topic} was not prepared`);
      return { id: c.id, topic: c.topic, partition: c.partition, firstSeq: c.firstSeq, lastSeq: c.firstSeq + c.records.length - 1, producers: c.stored.producers, bytes: c.stored.bytes };
    }),
    seqs: [...b.seqs],
    deleteUpTo: b.deleteUpTo,
  };
}

export const seqKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
export const offsetKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/**
 * Outbox rows written by earlier versions: a chunk's records as one text, per record a line
 * `p ts keyLen valueLen headersLen` (lengths in UTF-16 code units, -1 = null; a value length starting with "b" means
 * base64 of bytes), then key, value and headers JSON back to back. Still read, so an outbox left by an older rtwh
 * is forwarded after an upgrade.
 */
function decodeRecords(text: string, producers: readonly string[]): OutRecord[] {
  const out: OutRecord[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) throw new Error('truncated record header');
    const [p, ts, kl, vl, hl] = text.slice(i, nl).split(' ') as [string, string, string, string, string];
    i = nl + 1;
    const take = (len: number): string | null => {
      if (len < 0) return null;
      const x = text.slice(i, i + len);
      if (x.length !== len) throw new Error('truncated record');
      i += len;
      return x;
    };
    const key = take(Number(kl));
    const b64 = vl.startsWith('b');
    const raw = take(Number(b64 ? vl.slice(1) : vl));
    const h = take(Number(hl));
    const producer = producers[Number(p)];
    if (producer === undefined) throw new Error(`unknown producer index ${p}`);
    out.push({ producer, key, value: raw !== null && b64 ? Buffer.from(raw, 'base64') : raw, ts: Number(ts), headers: h === null ? null : (JSON.parse(h) as Headers) });
  }
  return out;
}

/** Bytes per record before its key, value and headers in the binary chunk format. */
const BIN_HEAD = 22;

/** One block of the arena and how many chunks written in it are still held (not released). */
export interface ArenaBlock {
  buf: Buffer<ArrayBufferLike>;
  view: DataView<ArrayBufferLike>;
  held: number;
  /** No longer written to (the next chunk did not fit). */
  full: boolean;
}

/**
 * Shared memory that committed chunks are written into, back to back: a forwarding thread (forward-thread.ts) is
 * handed a chunk without a copy, and nothing is copied here either. Never written again where a chunk lies while
 * the chunk is held. A full block whose chunks are all released (acknowledged by the bus: the forwarding is done
 * with them) is written again from the start — a new block's memory costs the kernel a page fault per 4 KiB, about
 * twice the time of writing into memory already in use.
 */
class ChunkArena {
  private block: ArenaBlock = { buf: Buffer.alloc(0), view: new DataView(new ArrayBuffer(0)), held: 0, full: false };
  private at = 0;
  /** Full blocks with nothing held, to write again (at most SPARE_BLOCKS). */
  private readonly spare: ArenaBlock[] = [];

  /** Room for at least `n` bytes: the block and the offset to write at. */
  reserve(n: number): { block: ArenaBlock; at: number } {
    if (this.block.buf.length - this.at < n) {
      const old = this.block;
      old.full = true;
      if (old.held === 0) this.keep(old);
      const i = this.spare.findIndex((b) => b.buf.length >= n);
      let next: ArenaBlock;
      if (i >= 0) next = this.spare.splice(i, 1)[0]!;
      else {
        const sab = new SharedArrayBuffer(Math.max(n, ARENA_BLOCK));
        next = { buf: Buffer.from(sab), view: new DataView(sab), held: 0, full: false };
      }
      next.full = false;
      this.block = next;
      this.at = 0;
    }
    return { block: this.block, at: this.at };
  }

  /** The `n` bytes just written at the reserved offset are a chunk, held until released. */
  take(n: number): void {
    this.at += n;
    this.block.held++;
  }

  /** A chunk of `block` is no longer needed. */
  release(block: ArenaBlock): void {
    block.held--;
    if (block.held === 0 && block.full) this.keep(block);
  }

  private keep(block: ArenaBlock): void {
    if (block.buf.length > 0 && this.spare.length < SPARE_BLOCKS && !this.spare.includes(block)) this.spare.push(block);
  }
}

/** Full blocks kept for writing again. */
const SPARE_BLOCKS = 2;

/** Size of an arena block: several commits of a busy job (a 5,000-line dwd batch writes ~5 MB). */
const ARENA_BLOCK = 16 * 1024 * 1024;

/**
 * A chunk's records as bytes (the format of outbox rows written since 64 KiB pages; older rows are text, see
 * encodeRecords): per record producer index u16, ts f64, key / value / headers byte lengths i32 (-1 = null), all
 * little-endian, then the key (UTF-8), the value (its bytes) and the headers (JSON) back to back.
 *
 * Forwarding sends these bytes (binaryChunkMessages), so each value is turned into UTF-8 once (here) instead of
 * once for the state file and again for every size check and record-batch write of the producer; the records
 * themselves are left as they are (no per-record views to make).
 */
function encodeRecordsBinary(records: OutRecord[], producerIndex: (p: string) => number, arena: ChunkArena): { bytes: Buffer<ArrayBufferLike>; block: ArenaBlock; maxRecord: number } {
  let bound = 0;
  for (const r of records) {
    bound += BIN_HEAD;
    if (r.key !== null) bound += r.key.length * 3;
    const v = r.value;
    if (v === null) {
      // nothing
    } else if (typeof v === 'string') bound += v.length * 3;
    else if (v instanceof HeadTail) bound += (v.head.length + v.tail.length) * 3;
    else bound += v.length;
    if (r.headers) bound += JSON.stringify(r.headers).length * 3;
  }
  const { block, at: base } = arena.reserve(bound);
  const { buf, view } = block;
  let pos = base;
  /** The last HeadTail head written: its text, where its bytes are and how many. */
  let lastHead: string | undefined;
  let lastHeadAt = 0;
  let lastHeadLen = 0;
  /** The largest record's bytes after its fixed head. */
  let max = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const head = pos;
    pos += BIN_HEAD;
    const kl = r.key === null ? -1 : utf8Write(buf, r.key, pos);
    if (kl > 0) pos += kl;
    let vl = -1;
    const v = r.value;
    if (v !== null) {
      if (typeof v === 'string') vl = utf8Write(buf, v, pos);
      else if (v instanceof HeadTail) {
        // The same head as the record before (the same string, or equal text): its bytes are copied.
        if (v.head === lastHead) buf.copyWithin(pos, lastHeadAt, lastHeadAt + lastHeadLen);
        else {
          lastHead = v.head;
          lastHeadLen = utf8Write(buf, v.head, pos);
        }
        lastHeadAt = pos;
        vl = lastHeadLen + utf8Write(buf, v.tail, pos + lastHeadLen);
      } else {
        buf.set(v, pos);
        vl = v.length;
      }
      pos += vl;
    }
    const hl = r.headers ? buf.write(JSON.stringify(r.headers), pos, 'utf8') : -1;
    if (hl > 0) pos += hl;
    view.setUint16(head, producerIndex(r.producer), true);
    view.setFloat64(head + 2, r.ts, true);
    view.setInt32(head + 10, kl, true);
    view.setInt32(head + 14, vl, true);
    view.setInt32(head + 18, hl, true);
    if (pos - head > max) max = pos - head;
  }
  arena.take(pos - base);
  return { bytes: buf.subarray(base, pos), block, maxRecord: records.length > 0 ? max - BIN_HEAD : 0 };
}

/** One record of a stored chunk (encodeRecordsBinary): where its fields lie in the chunk's bytes (length -1 = null). */
interface BinaryRecord {
  producer: string;
  ts: number;
  keyAt: number;
  keyLen: number;
  valueAt: number;
  valueLen: number;
  headersAt: number;
  headersLen: number;
}

/** Calls `each` for every record of a stored chunk, in order (one object, reused); a damaged chunk throws. */
function walkRecordsBinary(buf: Buffer, producers: readonly string[], each: (r: BinaryRecord) => void): void {
  const r: BinaryRecord = { producer: '', ts: 0, keyAt: 0, keyLen: -1, valueAt: 0, valueLen: -1, headersAt: 0, headersLen: -1 };
  let pos = 0;
  while (pos < buf.length) {
    if (pos + BIN_HEAD > buf.length) throw new Error('truncated record header');
    const p = buf.readUInt16LE(pos);
    const producer = producers[p];
    if (producer === undefined) throw new Error(`unknown producer index ${p}`);
    r.producer = producer;
    r.ts = buf.readDoubleLE(pos + 2);
    r.keyLen = buf.readInt32LE(pos + 10);
    r.valueLen = buf.readInt32LE(pos + 14);
    r.headersLen = buf.readInt32LE(pos + 18);
    pos += BIN_HEAD;
    r.keyAt = pos;
    if (r.keyLen > 0) pos += r.keyLen;
    r.valueAt = pos;
    if (r.valueLen > 0) pos += r.valueLen;
    r.headersAt = pos;
    if (r.headersLen > 0) pos += r.headersLen;
    if (pos > buf.length) throw new Error('truncated record');
    each(r);
  }
}

const chunkBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/**
 * The records of a stored chunk straight as the messages forwarding sends (keys as their bytes, the producer and
 * sequence headers added, sequences from `firstSeq`), from its `from`-th record on: what chunkMessages gives for a
 * committed chunk.
 */
export function binaryChunkMessages(bytes: Uint8Array, producers: readonly string[], firstSeq: number, partition: number, from = 0): ProduceMessage[] {
  const buf = chunkBuffer(bytes);
  const out: ProduceMessage[] = [];
  let seq = firstSeq;
  walkRecordsBinary(buf, producers, (r) => {
    if (seq - firstSeq < from) {
      seq++;
      return;
    }
    const headers: Headers = r.headersLen < 0 ? {} : (JSON.parse(buf.toString('utf8', r.headersAt, r.headersAt + r.headersLen)) as Headers);
    headers[OUT_HEADER.producer] = r.producer;
    headers[OUT_HEADER.seq] = String(seq++);
    out.push({
      key: r.keyLen < 0 ? null : buf.subarray(r.keyAt, r.keyAt + r.keyLen),
      value: r.valueLen < 0 ? null : buf.subarray(r.valueAt, r.valueAt + r.valueLen),
      partition,
      timestamp: r.ts,
      headers,
    });
  });
  return out;
}

/** The records of a stored chunk (values as views of its bytes). */
export function decodeRecordsBinary(bytes: Uint8Array, producers: readonly string[]): OutRecord[] {
  const buf = chunkBuffer(bytes);
  const out: OutRecord[] = [];
  walkRecordsBinary(buf, producers, (r) =>
    out.push({
      producer: r.producer,
      key: r.keyLen < 0 ? null : buf.toString('utf8', r.keyAt, r.keyAt + r.keyLen),
      value: r.valueLen < 0 ? null : buf.subarray(r.valueAt, r.valueAt + r.valueLen),
      ts: r.ts,
      headers: r.headersLen < 0 ? null : (JSON.parse(buf.toString('utf8', r.headersAt, r.headersAt + r.headersLen)) as Headers),
    }),
  );
  return out;
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || /database is locked/.test(String((e as Error).message));
}

export class StateStore {
  private readonly db: Database;
  private readonly ownerFile: string;
  /** Where committed outbox chunks are written (shared memory blocks; see ChunkArena). */
  private readonly arena = new ChunkArena();
  /** The last outbox id given (prepareChunks) and written (write): ids are given in the job's thread, in order. */
  private lastChunkId: number;
  private lastWrittenId: number;
  private released = false;
  private readonly s: {
    putState: Statement;
    delState: Statement;
    addTimer: Statement;
    delTimer: Statement;
    putOffset: Statement;
    putPartTime: Statement;
    putMeta: Statement;
    addChunk: Statement;
    delChunks: Statement;
    putSeq: Statement;
  };

  private constructor(
    db: Database,
    readonly path: string,
  ) {
    this.db = db;
    this.ownerFile = `${path}.owner`;
    // AUTOINCREMENT's counter: the highest id the outbox ever held, deleted rows included.
    const seq = db.query("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | null;
    this.lastChunkId = this.lastWrittenId = seq?.seq ?? 0;
    this.s = {
      putState: db.prepare('INSERT INTO state(ns, k, v, expires) VALUES (?, ?, ?, ?) ON CONFLICT(ns, k) DO UPDATE SET v = excluded.v, expires = excluded.expires'),
      delState: db.prepare('DELETE FROM state WHERE ns = ? AND k = ?'),
      addTimer: db.prepare('INSERT OR IGNORE INTO timers(name, k, t) VALUES (?, ?, ?)'),
      delTimer: db.prepare('DELETE FROM timers WHERE name = ? AND k = ? AND t = ?'),
      putOffset: db.prepare('INSERT INTO offsets(topic, part, next) VALUES (?, ?, ?) ON CONFLICT(topic, part) DO UPDATE SET next = excluded.next'),
      putPartTime: db.prepare('INSERT INTO part_times(tp, t) VALUES (?, ?) ON CONFLICT(tp) DO UPDATE SET t = excluded.t'),
      putMeta: db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      addChunk: db.prepare('INSERT INTO outbox(id, topic, part, first_seq, last_seq, producers, records, codec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      delChunks: db.prepare('DELETE FROM outbox WHERE id <= ?'),
      putSeq: db.prepare('INSERT INTO out_seq(topic, part, seq) VALUES (?, ?, ?) ON CONFLICT(topic, part) DO UPDATE SET seq = excluded.seq'),
    };
  }

  /** Opens (creating) the state file of `job` and takes its lock; JOB_LOCKED when another process holds it. */
  static open(path: string, job: string, bus?: string): StateStore {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw rtwhError('JOB_STATE', `cannot create the directory of the state file ${q(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, hint: 'Expected a writable directory for --state (default <state_dir>/jobs/).' });
    }
    let db: Database | undefined;
    try {
      db = new Database(path, { create: true, strict: true });
      db.run('PRAGMA busy_timeout = 0');
      // Before the first access: the connection keeps every lock it takes until it is closed.
      db.run('PRAGMA locking_mode = EXCLUSIVE');
      // Outbox chunks are large (a batch of outputs each, megabytes): 64 KiB pages make their overflow chains a
      // quarter as long, which halves the cost of writing a chunk and of the commit (measured: 16 KiB 75 ms,
      // 64 KiB 35 ms per 8 MB chunk). Takes effect for new state files only.
      db.run('PRAGMA page_size = 65536');
      db.run('PRAGMA journal_mode = WAL');
      db.run('BEGIN IMMEDIATE');
      db.run('COMMIT');
    } catch (e) {
      db?.close(true);
      if (isBusy(e)) {
        const owner = readOwner(`${path}.owner`);
        throw rtwhError('JOB_LOCKED', `the state file ${q(path)} of job ${q(job)} is in use by another process${owner ? ` (pid ${owner})` : ''}`, { details: { state: path, ...(owner ? { pid: owner } : {}) } });
      }
      throw rtwhError('JOB_STATE', `cannot open the state file ${q(path)}: ${(e as Error).message}`, { cause: e });
    }
    try {
      db.run('PRAGMA synchronous = NORMAL');
      db.run('PRAGMA wal_autocheckpoint = 1000'); // pages: 64 MB of WAL between checkpoints
      db.run('PRAGMA cache_size = -65536');
      db.run(`CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID`);
      db.run(`CREATE TABLE IF NOT EXISTS state(ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, expires REAL, PRIMARY KEY(ns, k)) WITHOUT ROWID`);
      db.run(`CREATE TABLE IF NOT EXISTS timers(name TEXT NOT NULL, k TEXT NOT NULL, t REAL NOT NULL, PRIMARY KEY(name, k, t)) WITHOUT ROWID`);
      db.run(`CREATE TABLE IF NOT EXISTS offsets(topic TEXT NOT NULL, part INTEGER NOT NULL, next INTEGER NOT NULL, PRIMARY KEY(topic, part)) WITHOUT ROWID`);
      db.run(`CREATE TABLE IF NOT EXISTS part_times(tp TEXT PRIMARY KEY, t REAL NOT NULL) WITHOUT ROWID`);
      db.run(`CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, part INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, producers TEXT NOT NULL, records TEXT NOT NULL, codec INTEGER NOT NULL DEFAULT 0)`);
      db.run(`CREATE TABLE IF NOT EXISTS out_seq(topic TEXT NOT NULL, part INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(topic, part)) WITHOUT ROWID`);
      const meta = new Map((db.query('SELECT k, v FROM meta').all() as { k: string; v: string }[]).map((r) => [r.k, r.v]));
      const storedJob = meta.get('job');
      if (storedJob !== undefined && storedJob !== job) {
        throw rtwhError('JOB_STATE', `the state file ${q(path)} belongs to job ${q(storedJob)}, not ${q(job)}`, { hint: 'Give each job its own --state FILE (the default is <state_dir>/jobs/<job>.db).' });
      }
      const version = meta.get('schema');
      if (version !== undefined && version !== STATE_SCHEMA_VERSION && !UPGRADABLE_VERSIONS.has(version)) {
        throw rtwhError('JOB_STATE', `the state file ${q(path)} has schema version ${q(version)}; this rtwh reads version ${STATE_SCHEMA_VERSION}`);
      }
      if (version !== undefined && version !== STATE_SCHEMA_VERSION) {
        // Version 1: the outbox without its codec column (every row as encoded).
        db.transaction(() => {
          const cols = (db!.query('PRAGMA table_info(outbox)').all() as { name: string }[]).map((c) => c.name);
          if (!cols.includes('codec')) db!.run('ALTER TABLE outbox ADD COLUMN codec INTEGER NOT NULL DEFAULT 0');
          db!.run("UPDATE meta SET v = ? WHERE k = 'schema'", [STATE_SCHEMA_VERSION]);
        })();
      }
      const storedBus = meta.get('bus');
      if (bus !== undefined && storedBus !== undefined && storedBus !== bus) {
        throw rtwhError('JOB_STATE', `the state file ${q(path)} holds job ${q(job)} on the bus ${storedBus}, not ${bus}: its offsets, event time and pending outputs belong there`, {
          hint: 'Give this run its own --state FILE, or move the file away to start over (the job then reads its inputs again from --from).',
        });
      }
      db.run('INSERT OR IGNORE INTO meta(k, v) VALUES (?, ?), (?, ?)', ['job', job, 'schema', STATE_SCHEMA_VERSION]);
      if (bus !== undefined) db.run('INSERT OR IGNORE INTO meta(k, v) VALUES (?, ?)', ['bus', bus]);
    } catch (e) {
      db.close(true);
      if (e instanceof RtwhError) throw e;
      throw rtwhError('JOB_STATE', `the state file ${q(path)} is not usable: ${(e as Error).message}`, { cause: e });
    }
    const store = new StateStore(db, path);
    try {
      writeFileSync(store.ownerFile, `${process.pid}\n`);
    } catch {
      // informational only
    }
    return store;
  }

  load(): LoadedState {
    const db = this.db;
    const state = (db.query('SELECT ns, k, v, expires FROM state').all() as { ns: string; k: string; v: string; expires: number | null }[]).map(
      (r): StateChange => ({ namespace: r.ns, key: r.k, value: r.v, expires: r.expires }),
    );
    const timers = (db.query('SELECT name, k, t FROM timers').all() as { name: string; k: string; t: number }[]).map((r): TimerEntry => ({ name: r.name, key: r.k, time: r.t }));
    const offsets = new Map((db.query('SELECT topic, part, next FROM offsets').all() as { topic: string; part: number; next: number }[]).map((r) => [offsetKey(r.topic, r.part), r.next]));
    const partitionTimes = Object.fromEntries((db.query('SELECT tp, t FROM part_times').all() as { tp: string; t: number }[]).map((r) => [r.tp, r.t]));
    const wm = db.query("SELECT v FROM meta WHERE k = 'watermark'").get() as { v: string } | null;
    const seqs = new Map((db.query('SELECT topic, part, seq FROM out_seq').all() as { topic: string; part: number; seq: number }[]).map((r) => [seqKey(r.topic, r.part), r.seq]));
    const outbox: OutboxChunk[] = [];
    for (const r of db.query('SELECT id, topic, part, first_seq, last_seq, producers, records, codec FROM outbox ORDER BY id').all() as {
      id: number;
      topic: string;
      part: number;
      first_seq: number;
      last_seq: number;
      producers: string;
      /** Text (rows of earlier versions) or bytes (encodeRecordsBinary). */
      records: string | Uint8Array;
      codec: number;
    }[]) {
      let records: OutRecord[];
      try {
        const producers = JSON.parse(r.producers) as string[];
        if (typeof r.records === 'string') records = decodeRecords(r.records, producers);
        else if (r.codec === CODEC_ZSTD) records = decodeRecordsBinary(Bun.zstdDecompressSync(r.records), producers);
        else if (r.codec === CODEC_NONE) records = decodeRecordsBinary(r.records, producers);
        else throw new Error(`unknown codec ${r.codec}`);
      } catch (e) {
        throw rtwhError('JOB_STATE', `the state file ${q(this.path)} has a damaged outbox row ${r.id}: ${(e as Error).message}`, { cause: e });
      }
      if (records.length !== r.last_seq - r.first_seq + 1) throw rtwhError('JOB_STATE', `the state file ${q(this.path)} has a damaged outbox row ${r.id} (${records.length} records for seq ${r.first_seq}…${r.last_seq})`);
      outbox.push({ id: r.id, topic: r.topic, partition: r.part, firstSeq: r.first_seq, records });
    }
    return { state, timers, offsets, partitionTimes, watermark: wm ? Number(wm.v) : null, outbox, seqs };
  }

  /**
   * Gives `chunks` their ids (following the last one this file holds) and their stored bytes (encodeRecordsBinary,
   * in the shared arena). Done before the commit, by the job's thread, also when another thread writes the file.
   */
  prepareChunks(chunks: readonly OutboxChunk[]): void {
    for (const c of chunks) {
      if (c.stored) continue;
      const producers: string[] = [];
      const index = new Map<string, number>();
      const { bytes, block, maxRecord } = encodeRecordsBinary(
        c.records,
        (p) => {
          let i = index.get(p);
          if (i === undefined) {
            i = producers.length;
            producers.push(p);
            index.set(p, i);
          }
          return i;
        },
        this.arena,
      );
      c.id = ++this.lastChunkId;
      c.stored = { bytes, producers, block, maxRecord };
    }
  }

  /**
   * The chunks' bytes are no longer needed (the bus acknowledged them, so the forwarding is done with them): their
   * arena memory may be written again. A chunk given twice, or not prepared here, is passed over.
   */
  releaseChunks(chunks: readonly OutboxChunk[]): void {
    for (const c of chunks) {
      const block = c.stored?.block;
      if (!block) continue;
      c.stored!.block = undefined;
      this.arena.release(block);
    }
  }

  /** Everything of one batch in one transaction; sets the ids of `b.chunks`. */
  commit(b: CommitBatch): void {
    this.prepareChunks(b.chunks);
    this.write(toWire(b));
  }

  /** A prepared batch (see toWire) in one transaction: what commit does after prepareChunks, in any thread. */
  write(w: WireCommit): void {
    const s = this.s;
    this.db.transaction(() => {
      if (w.deleteUpTo > 0) s.delChunks.run(w.deleteUpTo);
      const st = w.state;
      for (let i = 0; i < st.length; i += 4) {
        if (st[i + 2] === null) s.delState.run(st[i]!, st[i + 1]!);
        else s.putState.run(st[i]!, st[i + 1]!, st[i + 2]!, st[i + 3] as number | null);
      }
      const tr = w.timersRemoved;
      for (let i = 0; i < tr.length; i += 3) s.delTimer.run(tr[i]!, tr[i + 1]!, tr[i + 2]!);
      const ta = w.timersAdded;
      for (let i = 0; i < ta.length; i += 3) s.addTimer.run(ta[i]!, ta[i + 1]!, ta[i + 2]!);
      for (const o of w.offsets) s.putOffset.run(o.topic, o.partition, o.next);
      for (const [tp, t] of Object.entries(w.partitionTimes)) s.putPartTime.run(tp, t);
      if (w.watermark !== null && Number.isFinite(w.watermark)) s.putMeta.run('watermark', String(w.watermark));
      for (const c of w.chunks) {
        if (c.id <= this.lastWrittenId) throw new Error(`outbox chunk id ${c.id} is not after ${this.lastWrittenId}`);
        // zstd: a batch's outputs repeat themselves (a page's common and page in each of its displays), ~20x smaller
        // here, which is less for SQLite to write twice (WAL, then the checkpoint) than the compression costs.
        const z = c.bytes.length >= COMPRESS_FROM;
        s.addChunk.run(c.id, c.topic, c.partition, c.firstSeq, c.lastSeq, JSON.stringify(c.producers), z ? Bun.zstdCompressSync(c.bytes, { level: 1 }) : c.bytes, z ? CODEC_ZSTD : CODEC_NONE);
        this.lastWrittenId = c.id;
      }
      for (const [k, seq] of w.seqs) {
        const i = k.indexOf('\u0000');
        s.putSeq.run(k.slice(0, i), Number(k.slice(i + 1)), seq);
      }
    })();
  }

  /**
   * Closes the file so another thread of this process can open it (StateStore.open there) and write it; this object
   * still prepares chunks (prepareChunks). The owner file stays: the pid is the same.
   */
  release(): void {
    this.released = true;
    this.db.close(true);
  }

  close(): void {
    if (this.released) return; // the thread that took the file closes it
    try {
      if (readOwner(this.ownerFile) === process.pid) rmSync(this.ownerFile, { force: true });
    } catch {
      // informational only
    }
    this.db.close(true);
  }
}

function readOwner(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
