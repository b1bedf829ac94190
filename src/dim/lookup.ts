/**
 * The dim lookup client for later jobs: `get(table, id)` / `getMany(table, ids)` over a DimStore, with an LRU
 * cache bounded by entry count and an optional Redis cache in front of the store (the seed's
 * `<sink_table>:<id>` keys, JSON rows, 24 h TTL).
 *
 * Invalidation: before serving, at most every `refreshMs`, the client reads the store's invalidation feed
 * (entries after the last seq it saw, starting from `latestSeq()` at open) and forgets those rows — in the LRU
 * and in Redis. Misses are never cached, so a row inserted later is found at once. A fill that raced with a
 * poll (the row was read before a commit the poll then reported) is served but not cached. If the feed was
 * pruned past the client's position (idle for over an hour, or a huge backlog), the whole LRU is dropped.
 *
 * Redis is an accelerator only: when it is down or slow, lookups go to the store and the error is counted;
 * it is retried at most every `retryMs`.
 */
import { RedisClient } from 'bun';
import { maskUrl } from '../config/mask.ts';
import { q, rtwhError } from '../errors.ts';
import { ALL_ROWS, type DimRow, type DimStore, type DimWrite } from './types.ts';

// ---------------------------------------------------------------------------------------------- Redis

export interface RedisDimCacheOptions {
  /** TTL of cached rows (default 24 h, as the seed). */
  ttlSeconds?: number;
  /** A Redis command (or connect) slower than this counts as a failure (default 1 s). */
  timeoutMs?: number;
  /** After a failure, Redis is left alone this long before it is tried again (default 1 s). */
  retryMs?: number;
  /** Keys whose DEL failed are kept for the next invalidate() call, at most this many (default 1,000,000). */
  maxPendingKeys?: number;
}

export interface RedisCacheStats {
  hits: number;
  misses: number;
  /** Failed or timed-out commands and connects, and calls skipped while Redis was marked down. */
  errors: number;
  sets: number;
  deletes: number;
  /** Keys waiting to be deleted once Redis is back. */
  pendingDeletes: number;
  lastError: string | undefined;
}

const REDIS_SCHEMES = new Set(['redis:', 'rediss:']);
const DEL_BATCH = 1000;

/**
 * Checks a `redis://[user:pass@]host:port[/db]` URL; returns it with the password masked for messages. `what`
 * names it in messages (`--cache` when a flag gave it).
 */
export function checkRedisUrl(url: string, what = 'cache URL'): string {
  const display = maskUrl(url);
  const bad = (why: string) => rtwhError('CACHE_URL', `invalid ${what} ${q(display)}: ${why}; expected redis://host:port or rediss://host:port (optionally user:password@ and /db)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL');
  }
  if (!REDIS_SCHEMES.has(u.protocol)) throw bad(`the scheme is ${u.protocol.slice(0, -1)}, not redis or rediss`);
  if (u.hostname === '') throw bad('no host');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) throw bad(`the path ${q(u.pathname)} is not a database number like /0`);
  return display;
}

/** The seed's Redis key of a dim row. Table names cannot contain ':', so keys never collide. */
export function redisKey(table: string, id: string): string {
  return `${table}:${id}`;
}

const TIMED_OUT = Symbol('timed out');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<typeof TIMED_OUT>((resolve) => {
    t = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

const DOWN = Symbol('redis down');

export class RedisDimCache {
  readonly description: string;
  private readonly client: RedisClient;
  private readonly ttl: number;
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  private readonly maxPending: number;
  private retryAt = 0;
  private connecting: Promise<boolean> | undefined;
  private readonly pending = new Set<string>();
  private closed = false;
  private readonly counters: Omit<RedisCacheStats, 'pendingDeletes'> = { hits: 0, misses: 0, errors: 0, sets: 0, deletes: 0, lastError: undefined };

  constructor(url: string, opts: RedisDimCacheOptions = {}) {
    this.description = checkRedisUrl(url);
    this.ttl = Math.max(1, Math.trunc(opts.ttlSeconds ?? 86_400));
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 1000);
    this.retryMs = Math.max(0, opts.retryMs ?? 1000);
    this.maxPending = Math.max(0, opts.maxPendingKeys ?? 1_000_000);
    // No offline queue: a command while disconnected fails at once instead of waiting. Reconnects are ours.
    this.client = new RedisClient(url, { enableOfflineQueue: false, autoReconnect: false, connectionTimeout: this.timeoutMs });
    this.client.onclose = () => {};
  }

  stats(): RedisCacheStats {
    return { ...this.counters, pendingDeletes: this.pending.size };
  }

  private fail(e: unknown): void {
    this.counters.errors++;
    this.counters.lastError = e === TIMED_OUT ? `no answer within ${this.timeoutMs} ms` : maskUrl(e instanceof Error ? e.message : String(e));
    this.retryAt = Date.now() + this.retryMs;
  }

  private ready(): Promise<boolean> | boolean {
    if (this.closed) return false;
    if (this.client.connected) return true;
    if (Date.now() < this.retryAt) {
      this.counters.errors++;
      return false;
    }
    this.connecting ??= withTimeout(this.client.connect(), this.timeoutMs)
      .then(
        (r) => {
          if (r === TIMED_OUT) {
            this.client.close();
            this.fail(TIMED_OUT);
            return false;
          }
          return true;
        },
        (e: unknown) => {
          this.fail(e);
          return false;
        },
      )
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  /** Runs a command if Redis is usable; DOWN when it is not, failed or was too slow (counted, never thrown). */
  private async cmd<T>(fn: (c: RedisClient) => Promise<T>): Promise<T | typeof DOWN> {
    if (!(await this.ready())) return DOWN;
    try {
      const r = await withTimeout(fn(this.client), this.timeoutMs);
      if (r === TIMED_OUT) {
        // A hung connection: drop it, so the next try starts afresh.
        this.client.close();
        this.fail(TIMED_OUT);
        return DOWN;
      }
      return r;
    } catch (e) {
      this.fail(e);
      return DOWN;
    }
  }

  /** Cached rows for `ids`; undefined when Redis could not be asked (then nothing is known). */
  async getMany(table: string, ids: readonly string[]): Promise<Map<string, DimRow> | undefined> {
    const out = new Map<string, DimRow>();
    if (ids.length === 0) return out;
    const keys = ids.map((id) => redisKey(table, id));
    const vals = await this.cmd((c) => (keys.length === 1 ? c.get(keys[0]!).then((v) => [v]) : c.mget(...keys)));
    if (vals === DOWN) return undefined;
    for (let i = 0; i < ids.length; i++) {
      const v = vals[i];
      if (v === null || v === undefined) {
        this.counters.misses++;
        continue;
      }
      try {
        const row = JSON.parse(v) as unknown;
        if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Error('not a JSON object');
        out.set(ids[i]!, row as DimRow);
        this.counters.hits++;
      } catch (e) {
        // Not ours (or damaged): read the store instead, and count it.
        this.counters.misses++;
        this.counters.errors++;
        this.counters.lastError = `key ${q(keys[i])} does not hold a JSON row: ${(e as Error).message}`;
      }
    }
    return out;
  }

  /** Caches rows (JSON, with the TTL). Failures are counted, never thrown. */
  async setMany(table: string, rows: Iterable<readonly [string, DimRow]>): Promise<void> {
    const ops: [string, string][] = [];
    for (const [id, row] of rows) ops.push([redisKey(table, id), JSON.stringify(row)]);
    if (ops.length === 0) return;
    const r = await this.cmd((c) => Promise.all(ops.map(([k, v]) => c.set(k, v, 'EX', this.ttl))));
    if (r !== DOWN) this.counters.sets += ops.length;
  }

  /** Deletes keys; false when Redis could not be reached (the keys are then kept for the next try). */
  async deleteKeys(keys: Iterable<string>): Promise<boolean> {
    for (const k of keys) this.pending.add(k);
    while (this.pending.size > 0) {
      const batch: string[] = [];
      for (const k of this.pending) {
        batch.push(k);
        if (batch.length >= DEL_BATCH) break;
      }
      const r = await this.cmd((c) => c.del(...batch));
      if (r === DOWN) {
        // Bounded: beyond the cap the oldest keys are given up (their TTL still ends them).
        for (const k of this.pending) {
          if (this.pending.size <= this.maxPending) break;
          this.pending.delete(k);
        }
        return false;
      }
      for (const k of batch) this.pending.delete(k);
      this.counters.deletes += batch.length;
    }
    return true;
  }

  /** Forgets every cached row of a table (after dropTable): SCAN for `<table>:*`, then DEL. */
  async deleteTable(table: string): Promise<boolean> {
    let cursor = '0';
    do {
      const r = await this.cmd((c) => c.send('SCAN', [cursor, 'MATCH', `${table}:*`, 'COUNT', '1000']) as Promise<[string, string[]]>);
      if (r === DOWN) return false;
      cursor = String(r[0]);
      if (r[1].length > 0 && !(await this.deleteKeys(r[1]))) return false;
    } while (cursor !== '0');
    return true;
  }

  /**
   * After the dim job applied `writes`: deletes the Redis keys of every row they upserted or deleted (the seed
   * deleted `<sink_table>:<id>` on update and delete; an insert's key is deleted too, harmlessly, because a
   * DimWrite does not say which upserts replaced a row). Throws CACHE_UNAVAILABLE when Redis is down; the keys
   * are kept and deleted by the next call that reaches it.
   */
  async invalidate(writes: readonly DimWrite[]): Promise<void> {
    const keys = new Set<string>();
    for (const w of writes) keys.add(redisKey(w.table, w.id));
    if (!(await this.deleteKeys(keys))) {
      throw rtwhError('CACHE_UNAVAILABLE', `cannot delete ${this.pending.size.toLocaleString('en-US')} invalidated keys in Redis at ${this.description}: ${this.counters.lastError ?? 'unreachable'}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

const shared = new Map<string, RedisDimCache>();

/**
 * The dim job's hook after `apply()`: deletes the Redis keys of the rows `writes` changed. `cache` is a
 * RedisDimCache or a `redis://` URL (one client per URL is kept for the process; `closeRedisCaches()` ends them).
 */
export async function invalidateRedis(cache: string | RedisDimCache, writes: readonly DimWrite[]): Promise<void> {
  let c: RedisDimCache;
  if (typeof cache === 'string') {
    c = shared.get(cache) ?? new RedisDimCache(cache);
    shared.set(cache, c);
  } else {
    c = cache;
  }
  await c.invalidate(writes);
}

/** Closes the clients `invalidateRedis(url, …)` opened. */
export function closeRedisCaches(): void {
  for (const c of shared.values()) c.close();
  shared.clear();
}

// ---------------------------------------------------------------------------------------------- lookups

export interface DimLookupOptions {
  /** LRU bound in rows (default 100,000; 0 = no LRU). */
  maxEntries?: number;
  /** The invalidation feed is read at most this often, before serving (default 200 ms). */
  refreshMs?: number;
  /** Redis in front of the store: a `redis://host:port` URL (opened and closed by the lookup) or a cache. */
  redis?: string | RedisDimCache;
  redisOptions?: RedisDimCacheOptions;
}

export interface DimLookupStats {
  /** Lookups served from the LRU. */
  hits: number;
  /** Lookups the LRU could not serve (then Redis, then the store). */
  misses: number;
  /** Rows pushed out of the LRU by the size bound. */
  evictions: number;
  /** Feed entries applied. */
  invalidations: number;
  /** Times the whole LRU was dropped because the feed had been pruned past this client. */
  resets: number;
  /** Rows found in neither cache nor store. */
  notFound: number;
  size: number;
  feedSeq: number;
  redis: RedisCacheStats | undefined;
}

const FEED_PAGE = 10_000;

function lruKey(table: string, id: string): string {
  return `${table}\0${id}`;
}

export class DimLookup {
  readonly store: DimStore;
  private readonly maxEntries: number;
  private readonly refreshMs: number;
  private readonly redis: RedisDimCache | undefined;
  private readonly ownsRedis: boolean;
  private readonly lru = new Map<string, DimRow>();
  private seq: number;
  private polledAt: number;
  private polling: Promise<void> | undefined;
  /** Bumped whenever a poll forgets rows: a fill that started before must not be cached. */
  private generation = 0;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, invalidations: 0, resets: 0, notFound: 0 };

  private constructor(store: DimStore, seq: number, opts: DimLookupOptions) {
    this.store = store;
    this.seq = seq;
    this.polledAt = performance.now();
    this.maxEntries = Math.max(0, Math.trunc(opts.maxEntries ?? 100_000));
    this.refreshMs = Math.max(0, opts.refreshMs ?? 200);
    if (typeof opts.redis === 'string') {
      this.redis = new RedisDimCache(opts.redis, opts.redisOptions);
      this.ownsRedis = true;
    } else {
      this.redis = opts.redis;
      this.ownsRedis = false;
    }
  }

  /** A lookup client over `store`, following its invalidation feed from now on. */
  static async open(store: DimStore, opts: DimLookupOptions = {}): Promise<DimLookup> {
    if (typeof opts.redis === 'string') checkRedisUrl(opts.redis);
    return new DimLookup(store, await store.latestSeq(), opts);
  }

  stats(): DimLookupStats {
    return { ...this.counts, size: this.lru.size, feedSeq: this.seq, redis: this.redis?.stats() };
  }

  /** Reads the invalidation feed now (lookups do this on their own at most every `refreshMs`). */
  async refresh(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
    });
    await this.polling;
  }

  private async refreshIfDue(): Promise<void> {
    if (this.polling) return this.polling;
    if (performance.now() - this.polledAt >= this.refreshMs) await this.refresh();
  }

  private async poll(): Promise<void> {
    const started = performance.now();
    // Entries first, then the floor: a prune between the two reads is then always noticed.
    if ((await this.store.invalidationFloor()) > this.seq) this.reset(await this.store.latestSeq());
    const from = this.seq;
    const redisKeys: string[] = [];
    const redisTables = new Set<string>();
    for (;;) {
      const entries = await this.store.invalidationsSince(this.seq, FEED_PAGE);
      for (const e of entries) {
        this.forget(e.table, e.id);
        if (e.id === ALL_ROWS) redisTables.add(e.table);
        else redisKeys.push(redisKey(e.table, e.id));
        this.seq = e.seq;
      }
      this.counts.invalidations += entries.length;
      if (entries.length > 0) this.generation++;
      if (entries.length < FEED_PAGE) break;
    }
    if ((await this.store.invalidationFloor()) > from) this.reset(this.seq);
    this.polledAt = started;
    if (this.redis) {
      // Also in Redis: covers a fill of this client that raced a commit, and a dim job that died before its DEL.
      if (redisKeys.length > 0) await this.redis.deleteKeys(redisKeys);
      for (const t of redisTables) await this.redis.deleteTable(t);
    }
  }

  private reset(seq: number): void {
    this.lru.clear();
    this.counts.resets++;
    this.generation++;
    this.seq = Math.max(this.seq, seq);
  }

  private forget(table: string, id: string): void {
    if (id === ALL_ROWS) {
      const prefix = `${table}\0`;
      for (const k of this.lru.keys()) if (k.startsWith(prefix)) this.lru.delete(k);
    }
    this.lru.delete(lruKey(table, id));
  }

  private remember(table: string, id: string, row: DimRow): void {
    if (this.maxEntries === 0) return;
    const k = lruKey(table, id);
    this.lru.delete(k);
    this.lru.set(k, row);
    while (this.lru.size > this.maxEntries) {
      const oldest = this.lru.keys().next().value as string;
      this.lru.delete(oldest);
      this.counts.evictions++;
    }
  }

  private cached(table: string, id: string): DimRow | undefined {
    const k = lruKey(table, id);
    const row = this.lru.get(k);
    if (row !== undefined) {
      // Most recently used goes last.
      this.lru.delete(k);
      this.lru.set(k, row);
    }
    return row;
  }

  async get(table: string, id: string): Promise<DimRow | undefined> {
    return (await this.getMany(table, [id])).get(id);
  }

  /** Rows for `ids` that exist (absent ids are not in the map). */
  async getMany(table: string, ids: readonly string[]): Promise<Map<string, DimRow>> {
    await this.refreshIfDue();
    const out = new Map<string, DimRow>();
    const absent = new Set<string>();
    for (const id of ids) {
      if (out.has(id) || absent.has(id)) continue;
      const row = this.cached(table, id);
      if (row !== undefined) {
        out.set(id, row);
        this.counts.hits++;
      } else {
        absent.add(id);
      }
    }
    let missing = [...absent];
    this.counts.misses += missing.length;
    if (missing.length === 0) return out;

    const gen = this.generation;
    if (this.redis) {
      const found = await this.redis.getMany(table, missing);
      if (found !== undefined && found.size > 0) {
        for (const [id, row] of found) {
          out.set(id, row);
          if (gen === this.generation) this.remember(table, id, row);
        }
        missing = missing.filter((id) => !found.has(id));
        if (missing.length === 0) return out;
      }
    }
    const rows = missing.length === 1 ? await this.one(table, missing[0]!) : await this.store.getMany(table, missing);
    this.counts.notFound += missing.length - rows.size;
    if (rows.size === 0) return out;
    const fresh = gen === this.generation;
    for (const [id, row] of rows) {
      out.set(id, row);
      if (fresh) this.remember(table, id, row);
    }
    if (this.redis && fresh) await this.redis.setMany(table, rows);
    return out;
  }

  private async one(table: string, id: string): Promise<Map<string, DimRow>> {
    const row = await this.store.get(table, id);
    return row === undefined ? new Map() : new Map([[id, row]]);
  }

  /** The dim job's Redis hook, for a job that also looks up: see RedisDimCache.invalidate. */
  async invalidateRedis(writes: readonly DimWrite[]): Promise<void> {
    if (this.redis) await this.redis.invalidate(writes);
  }

  /** Closes the Redis client this lookup opened (the store belongs to the caller). */
  close(): void {
    if (this.ownsRedis) this.redis?.close();
    this.lru.clear();
  }
}
