/**
 * The SQLite file behind the embedded bus: opening it safely from many processes, the prepared
 * statements everyone shares, and the topic/partition lookups that producer, consumer and admin all need.
 */
import { Database, type Statement } from 'bun:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { q, rtwhError } from '../../errors.ts';
import { journalModeWal } from '../../store/sqlite-wal.ts';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';

export interface PartitionRow {
  id: number;
  part: number;
  nextOffset: number;
  maxTs: number | null;
}

export interface TopicRow {
  name: string;
  partitions: number;
  createdMs: number;
  config: Record<string, string>;
}

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw rtwhError('INVALID_NAME', `invalid consumer group name ${q(name)}`, { hint: 'A group id is a non-empty string.' });
  }
  return name;
}

/** Most partitions one topic may have; far above any real use, low enough to catch a typo. */
export const MAX_PARTITIONS = 10_000;

export class SqliteStore {
  readonly db: Database;
  readonly path: string;
  private readonly stmts = new Map<string, Statement>();
  private readonly beginStmt: Statement;
  private readonly commitStmt: Statement;
  private readonly rollbackStmt: Statement;
  private readonly busyWait: Statement;
  private readonly busyFail: Statement;
  private readonly busyTimeoutMs: number;
  private streakStartMs = 0;
  private lastWriteEndMs = 0;
  private lastYieldMs = performance.now();

  constructor(path: string, busyTimeoutMs: number) {
    this.path = path;
    this.busyTimeoutMs = Math.max(0, Math.trunc(busyTimeoutMs));
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { create: true, readwrite: true, strict: true });
    } catch (e) {
      throw rtwhError('BUS_UNAVAILABLE', `cannot open the bus file ${q(path)}: ${(e as Error).message}`, {
        cause: e,
        hint: 'Check that the directory is writable, or pass another --bus sqlite:PATH.',
      });
    }
    // busy_timeout first: switching to WAL and creating the schema take locks another process may hold.
    this.db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    // Only takes effect on a new, empty file. 8 KiB pages measured ~10% faster appends than 4 KiB for
    // ~500-byte records, while a one-record send still writes little WAL.
    this.db.run('PRAGMA page_size = 8192');
    const mode = journalModeWal(this.db, this.busyTimeoutMs);
    if (path !== ':memory:' && mode?.journal_mode !== 'wal') {
      throw rtwhError('BUS_UNAVAILABLE', `the bus file ${q(path)} could not be put in WAL mode (got ${q(mode?.journal_mode)})`, {
        hint: 'WAL needs a local file system that supports shared memory; network file systems do not.',
      });
    }
    // NORMAL in WAL keeps every commit atomic and durable against process crashes; only an OS crash
    // can lose the last few commits, which at-least-once replay from committed offsets tolerates.
    this.db.run('PRAGMA synchronous = NORMAL');
    this.db.run('PRAGMA cache_size = -32000');
    // After a burst the WAL is truncated back to this size at the next reset, instead of staying huge.
    this.db.run('PRAGMA journal_size_limit = 67108864');
    this.beginStmt = this.db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = this.db.prepare('COMMIT');
    this.rollbackStmt = this.db.prepare('ROLLBACK');
    this.busyWait = this.db.prepare(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
    this.busyFail = this.db.prepare('PRAGMA busy_timeout = 0');
    this.write(() => {
      this.db.run(SCHEMA_SQL);
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number } | null;
      if (row === null) {
        this.db.prepare("INSERT INTO meta(key, value) VALUES ('schema_version', ?), ('topics_version', 0)").run(SCHEMA_VERSION);
      } else if (row.value > SCHEMA_VERSION) {
        throw rtwhError('BUS_ERROR', `the bus file ${q(path)} has schema version ${row.value}; this rtwh knows up to ${SCHEMA_VERSION}`, {
          hint: 'Upgrade rtwh, or point --bus at another file.',
        });
      }
    });
  }

  /** A cached prepared statement: preparing is most of the cost of a small query. */
  stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /**
   * Run `fn` in a write transaction. IMMEDIATE takes the write lock up front, so two processes never both
   * read a partition's next offset and then both write it; busy_timeout makes the second one wait.
   */
  write<T>(fn: () => T): T {
    // A streak is broken by a pause between writes, not by a slow write (a WAL checkpoint takes a few ms and
    // used to restart the streak every few hundred sends, so yieldIfHogging never fired).
    const start = Date.now();
    if (start - this.lastWriteEndMs > 2) this.streakStartMs = start;
    this.lockForWrite();
    try {
      const out = fn();
      this.commitStmt.run();
      return out;
    } catch (e) {
      if (this.db.inTransaction) this.rollbackStmt.run();
      throw e;
    } finally {
      this.lastWriteEndMs = Date.now();
    }
  }

  /**
   * SQLite's own busy handler backs off to 100 ms between tries, so a process writing back-to-back
   * starves a waiter in another process for as long as it keeps writing. Polling every millisecond
   * here, plus yieldIfHogging() on the busy side, lets waiters in within a few ms.
   */
  private lockForWrite(): void {
    this.busyFail.run();
    try {
      const deadline = Date.now() + this.busyTimeoutMs;
      for (;;) {
        try {
          this.beginStmt.run();
          return;
        } catch (e) {
          if ((e as { code?: unknown }).code !== 'SQLITE_BUSY') throw e;
          if (Date.now() >= deadline) {
            throw rtwhError('BUS_UNAVAILABLE', `the bus file ${q(this.path)} stayed locked by another process for ${this.busyTimeoutMs} ms`, {
              cause: e,
              hint: 'Another rtwh process holds the write lock; check for a stuck process (`ps`), or retry.',
            });
          }
          Bun.sleepSync(1);
        }
      }
    } finally {
      this.busyWait.run();
    }
  }

  /**
   * Called by producers before a write: after 50 ms of back-to-back writes, pause 2 ms so writers in
   * other processes (polling every 1 ms) get the lock. Costs a sole bulk producer about 4%.
   */
  async yieldIfHogging(): Promise<void> {
    const now = Date.now();
    if (now - this.lastWriteEndMs <= 2 && now - this.streakStartMs >= 50) {
      await Bun.sleep(2);
      this.streakStartMs = Date.now();
      this.lastYieldMs = performance.now();
    }
  }

  /**
   * Every call into bun:sqlite is synchronous, so `for (;;) await send()` or polling a backlog never gives the
   * event loop a turn: timers, signal handlers and sockets of this process would wait until the loop ends.
   * Producers and consumers call this once per send/poll; at most every 10 ms it lets one event-loop turn run.
   */
  async yieldToEventLoop(): Promise<void> {
    if (performance.now() - this.lastYieldMs < 10) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYieldMs = performance.now();
  }

  topicsVersion(): number {
    const row = this.stmt("SELECT value FROM meta WHERE key = 'topics_version'").get() as { value: number } | null;
    return row?.value ?? 0;
  }

  private bumpTopicsVersion(): void {
    this.stmt("UPDATE meta SET value = value + 1 WHERE key = 'topics_version'").run();
  }

  getTopic(name: string): TopicRow | null {
    const row = this.stmt('SELECT name, partitions, created_ms, config FROM topics WHERE name = ?').get(name) as {
      name: string;
      partitions: number;
      created_ms: number;
      config: string;
    } | null;
    if (row === null) return null;
    return { name: row.name, partitions: row.partitions, createdMs: row.created_ms, config: JSON.parse(row.config) as Record<string, string> };
  }

  listTopicNames(): string[] {
    return (this.stmt('SELECT name FROM topics ORDER BY name').values() as [string][]).map((r) => r[0]);
  }

  partitionsOf(topic: string): PartitionRow[] {
    const rows = this.stmt('SELECT id, part, next_offset, max_ts FROM partitions WHERE topic = ? ORDER BY part').values(topic) as [
      number,
      number,
      number,
      number | null,
    ][];
    return rows.map(([id, part, nextOffset, maxTs]) => ({ id, part, nextOffset, maxTs }));
  }

  /** Must run inside `write`. Returns false when the topic already existed. */
  createTopicInTx(name: string, partitions: number, config: Record<string, string>): boolean {
    const inserted = this.stmt('INSERT OR IGNORE INTO topics(name, partitions, created_ms, config) VALUES (?, ?, ?, ?)').run(
      name,
      partitions,
      Date.now(),
      JSON.stringify(config),
    );
    if (inserted.changes === 0) return false;
    // Partition ids are never reused (SQLite would hand a deleted topic's ids to the next one): a reader
    // still holding a position in a deleted topic must see a new id when the name is created again.
    const last = this.stmt(
      "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_partition_id'), 0), coalesce((SELECT max(id) FROM partitions), 0)) AS id",
    ).get() as { id: number };
    const addPartition = this.stmt('INSERT INTO partitions(id, topic, part) VALUES (?, ?, ?)');
    for (let p = 0; p < partitions; p++) addPartition.run(last.id + 1 + p, name, p);
    this.stmt(
      "INSERT INTO meta(key, value) VALUES ('last_partition_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(last.id + partitions);
    this.bumpTopicsVersion();
    return true;
  }

  /** Must run inside `write`. Returns false when there was no such topic. */
  deleteTopicInTx(name: string): boolean {
    const parts = this.partitionsOf(name);
    const gone = this.stmt('DELETE FROM topics WHERE name = ?').run(name);
    if (gone.changes === 0) return false;
    for (const p of parts) {
      this.stmt('DELETE FROM messages WHERE pid = ?').run(p.id);
      this.stmt('DELETE FROM time_index WHERE pid = ?').run(p.id);
    }
    this.stmt('DELETE FROM partitions WHERE topic = ?').run(name);
    this.stmt('DELETE FROM owners WHERE topic = ?').run(name);
    this.stmt('DELETE FROM group_offsets WHERE topic = ?').run(name);
    this.bumpTopicsVersion();
    return true;
  }

  /** First offset still stored; the log-end offset when the partition holds nothing. */
  startOffset(p: PartitionRow): number {
    const row = this.stmt('SELECT min(off) AS o FROM messages WHERE pid = ?').get(p.id) as { o: number | null } | null;
    return row?.o ?? p.nextOffset;
  }

  /**
   * The first offset, in offset order, whose record timestamp is >= ts; the log-end offset when none.
   * Timestamps inside a partition need not grow with offsets (producers set them), so this is NOT "the
   * record closest to ts": it is the earliest position from which nothing at or after ts was skipped.
   * This is what Kafka's ListOffsets returns too.
   */
  offsetForTimestamp(p: PartitionRow, ts: number): number {
    const batch = this.stmt('SELECT base_offset FROM time_index WHERE pid = ? AND max_ts >= ? ORDER BY max_ts LIMIT 1').get(p.id, ts) as {
      base_offset: number;
    } | null;
    if (batch === null) return p.nextOffset;
    const hit = this.stmt('SELECT off FROM messages WHERE pid = ? AND off >= ? AND ts >= ? ORDER BY off LIMIT 1').get(
      p.id,
      batch.base_offset,
      ts,
    ) as { off: number } | null;
    return hit?.off ?? p.nextOffset;
  }

  close(): void {
    for (const s of this.stmts.values()) s.finalize();
    this.stmts.clear();
    this.beginStmt.finalize();
    this.commitStmt.finalize();
    this.rollbackStmt.finalize();
    this.busyWait.finalize();
    this.busyFail.finalize();
    this.db.close(false);
  }
}
