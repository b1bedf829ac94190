/**
 * Consumer for the embedded bus: an ephemeral reader of every partition, or a member of a group that
 * shares partitions with other members in this and other processes.
 *
 * Group protocol, all in the shared file (no coordinator process):
 * - `members`: one row per live member, refreshed by heartbeats; a row older than that member's own
 *   session timeout is expired by whichever member notices first.
 * - `groups.generation` is bumped on every join, leave, expiry and release. Members read it on each poll
 *   iteration (a cheap read) and re-sync at once when it moved, so handovers take milliseconds.
 * - Every member computes the same target assignment (assign.ts) from the member rows. It releases
 *   partitions it holds beyond that target, and claims a target partition only when the `owners` row
 *   is absent, its own, or its lease ran out. So a partition never has two owners while leases are kept.
 * - A newly claimed partition starts at the group's committed offset (startFrom when none): the new
 *   owner continues exactly where the last commit left off, so order is kept across handovers.
 * - Commits are fenced: a member cannot commit a partition that another member holds a live lease on.
 */
import { randomUUID } from 'node:crypto';
import { q, rtwhError } from '../../errors.ts';
import type { BusRecord, Consumer, ConsumerOptions, Headers, PollOptions, StartFrom, TopicPartition, TopicPartitionOffset } from '../types.ts';
import { checkPollTimeout, checkRecordCount } from '../options.ts';
import { assignRoundRobin, tpKey, type AssignablePartition, type GroupMember } from './assign.ts';
import { checkGroupName, type PartitionRow, type SqliteStore } from './store.ts';
import { checkTopicName } from '../topic-name.ts';

export interface GroupTiming {
  /** A member silent for longer than this loses its partitions. */
  sessionTimeoutMs: number;
  /** How often a member renews its leases and looks for expired members. */
  heartbeatIntervalMs: number;
}

interface Assigned {
  topic: string;
  part: number;
  pid: number;
  /** Next offset to read. */
  position: number;
}

interface Claim {
  topic: string;
  part: number;
  pid: number;
  /** Set when the partition is new to this member and must start from the committed offset or startFrom. */
  resolved: number | null;
}

interface MessageRow {
  off: number;
  ts: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: string | null;
}

/** One poll returns at most this many key+value bytes (at least one record), like Kafka's fetch.max.bytes. */
const MAX_POLL_BYTES = 16 * 1024 * 1024;
const MIN_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 50;

/**
 * bun:sqlite hands out a fresh Uint8Array per BLOB that nothing else references, so giving it Buffer's
 * prototype is safe; Buffer.from(view) measured ~0.7 µs per call, which halved consume throughput.
 */
function asBuffer(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Object.setPrototypeOf(v as Uint8Array, Buffer.prototype) as Buffer;
}

function checkOffset(o: unknown, what: string): number {
  if (typeof o !== 'number' || !Number.isInteger(o) || o < 0) {
    throw rtwhError('BUS_ERROR', `${what} ${q(o)} is not a non-negative integer offset`);
  }
  return o;
}

export class SqliteConsumer implements Consumer {
  readonly group: string | undefined;
  readonly memberId: string;
  private readonly topics: string[];
  private readonly startFrom: StartFrom;
  private readonly maxPollRecords: number;
  private readonly clientId: string;
  private assigned = new Map<string, Assigned>();
  private readonly pendingSeeks = new Map<string, number>();
  private lastSyncMs = 0;
  private seenGeneration = -1;
  private seenTopicsVersion = -1;
  private rotation = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly store: SqliteStore,
    opts: ConsumerOptions,
    private readonly timing: GroupTiming,
    private readonly onClose: (c: SqliteConsumer) => void,
  ) {
    if (!Array.isArray(opts.topics) || opts.topics.length === 0) {
      throw rtwhError('USAGE', 'a consumer needs at least one topic', { hint: 'Pass topics: ["name", ...].' });
    }
    this.topics = [...new Set(opts.topics.map(checkTopicName))].sort();
    this.group = opts.group === undefined ? undefined : checkGroupName(opts.group);
    this.startFrom = opts.startFrom ?? 'earliest';
    if (this.startFrom !== 'earliest' && this.startFrom !== 'latest') {
      throw rtwhError('USAGE', `startFrom must be 'earliest' or 'latest', got ${q(this.startFrom)}`);
    }
    this.maxPollRecords = checkRecordCount(opts.maxPollRecords, 'maxPollRecords', 500);
    this.clientId = opts.clientId ?? 'rtwh';
    this.memberId = `${this.clientId}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  /** Joins the group (or maps all partitions) right away, so assignment() is meaningful before the first poll. */
  start(): void {
    // Like Kafka with auto.create.topics.enable: subscribing creates a missing topic, so a consumer that
    // starts before its producer with startFrom 'latest' still sees the first records.
    this.store.write(() => {
      for (const t of this.topics) if (this.store.getTopic(t) === null) this.store.createTopicInTx(t, 1, {});
    });
    this.sync(Date.now());
    if (this.group !== undefined) {
      this.timer = setInterval(() => this.heartbeat(), this.timing.heartbeatIntervalMs);
      this.timer.unref();
    }
  }

  async poll(opts: PollOptions = {}): Promise<BusRecord[]> {
    this.ensureOpen('poll');
    const timeoutMs = checkPollTimeout(opts.timeoutMs, 1000);
    const max = checkRecordCount(opts.maxRecords, 'maxRecords', this.maxPollRecords);
    const deadline = Date.now() + timeoutMs;
    let backoff = MIN_BACKOFF_MS;
    // A poll that finds records never sleeps; let timers and signal handlers of this process run now and then.
    await this.store.yieldToEventLoop();
    if (this.closed) return [];
    for (;;) {
      this.maybeSync(Date.now());
      const records = this.fetch(max);
      const left = deadline - Date.now();
      if (records.length > 0 || left <= 0) return records;
      // Another process's commit is only seen by reading the file again; back off so an idle
      // consumer costs little while a busy one still sees new records within a few ms.
      await Bun.sleep(Math.min(backoff, left));
      // Closed while asleep (bus.close() from a signal handler): the file may be gone, so stop here.
      if (this.closed) return [];
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.ensureOpen('commit');
    const group = this.group;
    if (group === undefined) {
      throw rtwhError('BUS_ERROR', 'this consumer has no group, so it has nothing to commit to', {
        hint: 'Open the consumer with { group: "name" } to commit offsets; a reader without a group never commits.',
      });
    }
    const list: TopicPartitionOffset[] =
      offsets ?? [...this.assigned.values()].map((a) => ({ topic: a.topic, partition: a.part, offset: a.position }));
    for (const o of list) {
      checkTopicName(o.topic);
      checkOffset(o.offset, 'commit offset');
    }
    if (list.length === 0) return;
    const now = Date.now();
    const store = this.store;
    try {
      store.write(() => {
        const owner = store.stmt('SELECT member_id, lease_until_ms FROM owners WHERE grp = ? AND topic = ? AND part = ?');
        const exists = store.stmt('SELECT 1 FROM partitions WHERE topic = ? AND part = ?');
        const upsert = store.stmt(
          `INSERT INTO group_offsets(grp, topic, part, next_offset, committed_ms) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(grp, topic, part) DO UPDATE SET next_offset = excluded.next_offset, committed_ms = excluded.committed_ms`,
        );
        for (const o of list) {
          if (exists.get(o.topic, o.partition) === null) {
            throw rtwhError('TOPIC_NOT_FOUND', `cannot commit ${o.topic}[${o.partition}]: no such topic partition`);
          }
          const row = owner.get(group, o.topic, o.partition) as { member_id: string; lease_until_ms: number } | null;
          if (row !== null && row.member_id !== this.memberId && row.lease_until_ms >= now) {
            // Kafka's CommitFailedException: a zombie must not move the new owner's offsets back.
            throw rtwhError('BUS_ERROR', `cannot commit ${o.topic}[${o.partition}]: the partition now belongs to member ${q(row.member_id)}`, {
              hint: 'The group rebalanced; records not committed will be read again by the new owner.',
              details: { group, topic: o.topic, partition: o.partition, owner: row.member_id },
            });
          }
          upsert.run(group, o.topic, o.partition, o.offset, now);
        }
        store.stmt('INSERT OR IGNORE INTO groups(name, generation, updated_ms) VALUES (?, 0, ?)').run(group, now);
      });
    } catch (e) {
      this.lastSyncMs = 0;
      throw e;
    }
  }

  async seek(tp: TopicPartitionOffset): Promise<void> {
    this.ensureOpen('seek');
    checkTopicName(tp.topic);
    const offset = checkOffset(tp.offset, 'seek offset');
    const key = tpKey(tp.topic, tp.partition);
    const a = this.assigned.get(key);
    // A seek on a partition not (yet) owned is kept and applied when it is claimed.
    if (a === undefined) this.pendingSeeks.set(key, offset);
    else a.position = offset;
  }

  async seekToTimestamp(topic: string, timestampMs: number): Promise<void> {
    this.ensureOpen('seekToTimestamp');
    checkTopicName(topic);
    if (!Number.isFinite(timestampMs)) throw rtwhError('BUS_ERROR', `timestamp ${q(timestampMs)} is not a number of ms`);
    const rows = new Map(this.store.partitionsOf(topic).map((r) => [r.id, r]));
    for (const a of this.assigned.values()) {
      const row = rows.get(a.pid);
      if (a.topic === topic && row !== undefined) a.position = this.store.offsetForTimestamp(row, timestampMs);
    }
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()]
      .map((a) => ({ topic: a.topic, partition: a.part }))
      .sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.assigned.clear();
    try {
      if (this.group !== undefined) this.leave(this.group);
    } finally {
      this.onClose(this);
    }
  }

  private ensureOpen(op: string): void {
    if (this.closed) throw rtwhError('BUS_ERROR', `${op} on a closed consumer`, { hint: 'Create a new consumer with bus.consumer().' });
  }

  private heartbeat(): void {
    if (this.closed) return;
    try {
      this.sync(Date.now());
    } catch {
      // A lock held past busy_timeout by another process: the next heartbeat or poll retries, and the
      // session timeout is several heartbeats long, so one miss costs nothing.
    }
  }

  private maybeSync(now: number): void {
    if (this.group === undefined) {
      if (this.store.topicsVersion() !== this.seenTopicsVersion) this.sync(now);
      return;
    }
    const row = this.store
      .stmt("SELECT (SELECT generation FROM groups WHERE name = ?) AS g, (SELECT value FROM meta WHERE key = 'topics_version') AS t")
      .get(this.group) as { g: number | null; t: number };
    if (row.g !== this.seenGeneration || row.t !== this.seenTopicsVersion || now - this.lastSyncMs >= this.timing.heartbeatIntervalMs) {
      this.sync(now);
    }
  }

  private sync(now: number): void {
    const claims = this.group === undefined ? this.mapAllPartitions() : this.syncGroup(this.group, now);
    const next = new Map<string, Assigned>();
    for (const c of claims) {
      const key = tpKey(c.topic, c.part);
      const prev = this.assigned.get(key);
      if (c.resolved === null && prev !== undefined) {
        next.set(key, prev);
        continue;
      }
      const pending = this.pendingSeeks.get(key);
      this.pendingSeeks.delete(key);
      next.set(key, { topic: c.topic, part: c.part, pid: c.pid, position: pending ?? c.resolved ?? 0 });
    }
    this.assigned = next;
    this.lastSyncMs = now;
  }

  private resetPosition(row: PartitionRow): number {
    return this.startFrom === 'latest' ? row.nextOffset : this.store.startOffset(row);
  }

  private mapAllPartitions(): Claim[] {
    const store = this.store;
    // Read the version before the partitions: a topic created in between is then seen on the next poll.
    this.seenTopicsVersion = store.topicsVersion();
    const claims: Claim[] = [];
    for (const topic of this.topics) {
      for (const row of store.partitionsOf(topic)) {
        const prev = this.assigned.get(tpKey(topic, row.part));
        const known = prev !== undefined && prev.pid === row.id;
        claims.push({ topic, part: row.part, pid: row.id, resolved: known ? null : this.resetPosition(row) });
      }
    }
    return claims;
  }

  private syncGroup(group: string, now: number): Claim[] {
    const store = this.store;
    const me = this.memberId;
    const { sessionTimeoutMs } = this.timing;
    return store.write(() => {
      let bump = false;
      const beat = store.stmt('UPDATE members SET heartbeat_ms = ? WHERE grp = ? AND member_id = ?').run(now, group, me);
      if (beat.changes === 0) {
        // First join, or a re-join after others expired us while we were stalled.
        store
          .stmt(
            `INSERT INTO members(grp, member_id, client_id, topics, heartbeat_ms, session_timeout_ms, joined_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(group, me, this.clientId, JSON.stringify(this.topics), now, sessionTimeoutMs, now);
        bump = true;
      }
      const dead = store.stmt('SELECT member_id FROM members WHERE grp = ? AND heartbeat_ms + session_timeout_ms < ?').values(group, now) as [
        string,
      ][];
      for (const [id] of dead) {
        store.stmt('DELETE FROM members WHERE grp = ? AND member_id = ?').run(group, id);
        store.stmt('DELETE FROM owners WHERE grp = ? AND member_id = ?').run(group, id);
        bump = true;
      }

      const memberRows = store.stmt('SELECT member_id, topics FROM members WHERE grp = ? ORDER BY member_id').values(group) as [string, string][];
      const members: GroupMember[] = memberRows.map(([id, topics]) => ({ id, topics: JSON.parse(topics) as string[] }));
      const live = new Set(members.map((m) => m.id));
      const rows = new Map<string, PartitionRow & { topic: string }>();
      const partitions: AssignablePartition[] = [];
      for (const topic of [...new Set(members.flatMap((m) => m.topics))].sort()) {
        for (const r of store.partitionsOf(topic)) {
          rows.set(tpKey(topic, r.part), { ...r, topic });
          partitions.push({ topic, part: r.part });
        }
      }
      const target = assignRoundRobin(members, partitions);

      const owners = new Map<string, { member: string; leaseUntil: number }>();
      const ownerRows = store.stmt('SELECT topic, part, member_id, lease_until_ms FROM owners WHERE grp = ?').values(group) as [
        string,
        number,
        string,
        number,
      ][];
      for (const [topic, part, member, leaseUntil] of ownerRows) owners.set(tpKey(topic, part), { member, leaseUntil });

      const release = store.stmt('DELETE FROM owners WHERE grp = ? AND topic = ? AND part = ? AND member_id = ?');
      for (const [key, o] of owners) {
        if (o.member !== me || target.get(key) === me) continue;
        const [topic, part] = key.split('\u0000') as [string, string];
        release.run(group, topic, Number(part), me);
        owners.delete(key);
        bump = true;
      }

      const claim = store.stmt(
        `INSERT INTO owners(grp, topic, part, member_id, lease_until_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(grp, topic, part) DO UPDATE SET member_id = excluded.member_id, lease_until_ms = excluded.lease_until_ms`,
      );
      const committed = store.stmt('SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND part = ?');
      const claims: Claim[] = [];
      for (const [key, owner] of target) {
        if (owner !== me) continue;
        const row = rows.get(key)!;
        const o = owners.get(key);
        // Wait for a live holder to release it (it will, on its next sync, and bump the generation).
        if (o !== undefined && o.member !== me && o.leaseUntil >= now && live.has(o.member)) continue;
        claim.run(group, row.topic, row.part, me, now + sessionTimeoutMs);
        // Held by us without a break since the last sync: keep reading where we are.
        const kept = o?.member === me && this.assigned.get(key)?.pid === row.id;
        let resolved: number | null = null;
        if (!kept) {
          const c = committed.get(group, row.topic, row.part) as { next_offset: number } | null;
          resolved = c?.next_offset ?? this.resetPosition(row);
        }
        claims.push({ topic: row.topic, part: row.part, pid: row.id, resolved });
      }

      if (bump) {
        store
          .stmt(
            `INSERT INTO groups(name, generation, updated_ms) VALUES (?, 1, ?)
             ON CONFLICT(name) DO UPDATE SET generation = generation + 1, updated_ms = excluded.updated_ms`,
          )
          .run(group, now);
      }
      const gen = store.stmt('SELECT generation FROM groups WHERE name = ?').get(group) as { generation: number } | null;
      this.seenGeneration = gen?.generation ?? 0;
      this.seenTopicsVersion = store.topicsVersion();
      return claims;
    });
  }

  private leave(group: string): void {
    const store = this.store;
    const now = Date.now();
    store.write(() => {
      store.stmt('DELETE FROM members WHERE grp = ? AND member_id = ?').run(group, this.memberId);
      store.stmt('DELETE FROM owners WHERE grp = ? AND member_id = ?').run(group, this.memberId);
      store.stmt('UPDATE groups SET generation = generation + 1, updated_ms = ? WHERE name = ?').run(now, group);
    });
  }

  private fetch(max: number): BusRecord[] {
    const list = [...this.assigned.values()];
    if (list.length === 0) return [];
    const store = this.store;
    const endOf = store.stmt('SELECT next_offset FROM partitions WHERE id = ?');
    const range = store.stmt('SELECT off, ts, key, value, headers FROM messages WHERE pid = ? AND off >= ? ORDER BY off LIMIT ?');
    const out: BusRecord[] = [];
    let bytes = 0;
    // Start at a different partition each time so a busy partition cannot starve the others.
    const start = this.rotation++ % list.length;
    for (let i = 0; i < list.length && out.length < max && bytes < MAX_POLL_BYTES; i++) {
      const a = list[(start + i) % list.length]!;
      const end = endOf.get(a.pid) as { next_offset: number } | null;
      if (end === null) continue;
      // Past the log end (a seek there, a commit beyond it): out of range, so start again from startFrom like
      // Kafka's auto.offset.reset, instead of silently skipping every record below that offset.
      if (a.position > end.next_offset) a.position = this.resetPosition({ id: a.pid, part: a.part, nextOffset: end.next_offset, maxTs: null });
      if (a.position >= end.next_offset) continue;
      // Iterated, not fetched whole, so the byte cap stops reading before big values pile up in memory.
      for (const row of range.iterate(a.pid, a.position, max - out.length) as IterableIterator<MessageRow>) {
        const key = asBuffer(row.key);
        const value = asBuffer(row.value);
        out.push({
          topic: a.topic,
          partition: a.part,
          offset: row.off,
          timestamp: row.ts,
          key,
          value,
          headers: row.headers === null ? {} : (JSON.parse(row.headers) as Headers),
        });
        a.position = row.off + 1;
        bytes += (key?.length ?? 0) + (value?.length ?? 0);
        if (bytes >= MAX_POLL_BYTES) break;
      }
    }
    return out;
  }
}
