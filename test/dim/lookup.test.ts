/**
 * DimLookup over real stores (a SQLite file, and MariaDB for the cross-instance invalidation), and with a real
 * redis-server this test starts itself on a free port (no persistence) and stops.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RedisClient } from 'bun';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtwhError } from '../../src/errors';
import { closeRedisCaches, DimLookup, invalidateRedis, RedisDimCache } from '../../src/dim/lookup';
import { MysqlDimStore } from '../../src/dim/store-mysql';
import { SqliteDimStore } from '../../src/dim/store-sqlite';
import type { DimRow, DimStore, DimWrite, TableProcess } from '../../src/dim/types';
import { adminConn, dropDb, urlFor } from '../mock/db/mysql-env';
import { freePort } from '../helpers/net';
import { RedisServer } from '../helpers/redis';

const dir = mkdtempSync(join(tmpdir(), 'rtwh-lookup-test-'));
const mysqlDb = `rtwh_dimtest_lk_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;

afterAll(async () => {
  const admin = await adminConn();
  await dropDb(admin, mysqlDb);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

function rule(sinkTable: string, sinkColumns: string[]): TableProcess {
  return { sourceTable: sinkTable, sinkTable, sinkColumns, sinkPk: 'id', sinkExtend: null };
}
function up(table: string, id: string, row: DimRow): DimWrite {
  return { op: 'upsert', table, pk: 'id', id, row: { id, ...row } };
}
function del(table: string, id: string): DimWrite {
  return { op: 'delete', table, pk: 'id', id };
}

let fileNo = 0;
/** A writer and a separate reader instance over one store. */
const backends: { name: string; pair(opts?: { keepEntries?: number }): Promise<[DimStore, DimStore]> }[] = [
  {
    name: 'sqlite',
    pair: async (o = {}) => {
      const path = join(dir, `dim${fileNo++}.db`);
      const feed = o.keepEntries === undefined ? {} : { feed: { keepEntries: o.keepEntries, pruneEveryMs: 0 } };
      return [new SqliteDimStore(path, feed), new SqliteDimStore(path)];
    },
  },
  {
    name: 'mysql',
    pair: async (o = {}) => {
      const feed = o.keepEntries === undefined ? {} : { feed: { keepEntries: o.keepEntries, pruneEveryMs: 0 } };
      return [await MysqlDimStore.open(urlFor(mysqlDb), feed), await MysqlDimStore.open(urlFor(mysqlDb))];
    },
  },
];

for (const b of backends) {
  describe(`DimLookup over ${b.name}`, () => {
    test('the LRU holds at most maxEntries rows, evicting the least recently used', async () => {
      const [w, r] = await b.pair();
      try {
        const t = `dim_lru_${b.name}`;
        await w.ensureTable(rule(t, ['id', 'v']));
        await w.apply(['1', '2', '3', '4', '5'].map((id) => up(t, id, { v: `v${id}` })), []);
        const lk = await DimLookup.open(r, { maxEntries: 3, refreshMs: 60_000 });
        for (const id of ['1', '2', '3']) expect((await lk.get(t, id))?.v).toBe(`v${id}`);
        expect(lk.stats()).toMatchObject({ hits: 0, misses: 3, evictions: 0, size: 3 });
        await lk.get(t, '1'); // 1 is now the most recent: 2 goes first
        await lk.get(t, '4');
        await lk.get(t, '5');
        expect(lk.stats()).toMatchObject({ hits: 1, misses: 5, evictions: 2, size: 3 });
        // 1, 4, 5 are cached; 2 and 3 were evicted.
        await lk.getMany(t, ['1', '4', '5']);
        expect(lk.stats().hits).toBe(4);
        await lk.get(t, '2');
        expect(lk.stats()).toMatchObject({ hits: 4, misses: 6, evictions: 3, size: 3 });
        lk.close();
      } finally {
        await w.close();
        await r.close();
      }
    });

    test('an update or delete by the writer instance reaches the reader’s cache through the feed', async () => {
      const [w, r] = await b.pair();
      try {
        const t = `dim_inv_${b.name}`;
        await w.ensureTable(rule(t, ['id', 'name']));
        await w.apply([up(t, '1', { name: 'old' }), up(t, '2', { name: 'two' })], []);
        const lk = await DimLookup.open(r, { refreshMs: 60_000 });
        expect((await lk.get(t, '1'))?.name).toBe('old');
        await w.apply([up(t, '1', { name: 'new' }), del(t, '2')], []);
        // Within refreshMs the cache answers (this is what the cache is for)…
        expect((await lk.get(t, '1'))?.name).toBe('old');
        expect(lk.stats().hits).toBe(1);
        // …and once the feed is read, the changed rows are gone from it.
        await lk.refresh();
        expect(lk.stats().invalidations).toBe(2);
        expect((await lk.get(t, '1'))?.name).toBe('new');
        expect(await lk.get(t, '2')).toBeUndefined();
        lk.close();

        // With a short refreshMs no explicit refresh is needed.
        const quick = await DimLookup.open(r, { refreshMs: 20 });
        expect((await quick.get(t, '1'))?.name).toBe('new');
        await w.apply([up(t, '1', { name: 'newer' })], []);
        await Bun.sleep(40);
        expect((await quick.get(t, '1'))?.name).toBe('newer');
        quick.close();
      } finally {
        await w.close();
        await r.close();
      }
    });

    test('misses are not cached: a row inserted later is found at once', async () => {
      const [w, r] = await b.pair();
      try {
        const t = `dim_miss_${b.name}`;
        await w.ensureTable(rule(t, ['id', 'v']));
        const lk = await DimLookup.open(r, { refreshMs: 60_000 });
        expect(await lk.get(t, '7')).toBeUndefined();
        expect((await lk.getMany(t, ['7', '8'])).size).toBe(0);
        expect(await lk.get('dim_not_created_yet', '1')).toBeUndefined();
        await w.apply([up(t, '7', { v: 'seven' })], []);
        expect(await lk.get(t, '7')).toEqual({ id: '7', v: 'seven' });
        expect(lk.stats()).toMatchObject({ size: 1, notFound: 4 });
        lk.close();
      } finally {
        await w.close();
        await r.close();
      }
    });

    test('a dropped table is forgotten; a feed pruned past the client empties the whole cache', async () => {
      const [w, r] = await b.pair({ keepEntries: 2 });
      try {
        const t = `dim_drop_${b.name}`;
        const keep = `dim_keep_${b.name}`;
        await w.ensureTable(rule(t, ['id', 'v']));
        await w.ensureTable(rule(keep, ['id', 'v']));
        await w.apply([up(t, '1', { v: 'a' }), up(keep, '1', { v: 'k' })], []);
        const lk = await DimLookup.open(r, { refreshMs: 60_000 });
        await lk.get(t, '1');
        await lk.get(keep, '1');
        await w.dropTable(t);
        await lk.refresh();
        expect(lk.stats().size).toBe(1);
        expect(await lk.get(t, '1')).toBeUndefined();
        expect(lk.stats().resets).toBe(0);
        // Five updates while the client does not look; the store keeps two entries.
        for (let i = 0; i < 5; i++) await w.apply([up(keep, '1', { v: `k${i}` })], []);
        await lk.refresh();
        expect(lk.stats().resets).toBe(1);
        expect(lk.stats().size).toBe(0);
        expect((await lk.get(keep, '1'))?.v).toBe('k4');
        lk.close();
      } finally {
        await w.close();
        await r.close();
      }
    });
  });
}

// ------------------------------------------------------------------------------------------------ Redis

describe('DimLookup with Redis', () => {
  let redis: RedisServer;
  let url: string;
  let probe: RedisClient;
  let w: SqliteDimStore;
  let r: SqliteDimStore;
  const t = 'dim_sku_info';

  beforeAll(async () => {
    const rdir = mkdtempSync(join(dir, 'redis-'));
    redis = new RedisServer(await freePort(), rdir);
    await redis.start();
    url = `redis://127.0.0.1:${redis.port}`;
    probe = new RedisClient(url);
    const path = join(dir, 'redis-dim.db');
    w = new SqliteDimStore(path);
    r = new SqliteDimStore(path);
    await w.ensureTable(rule(t, ['id', 'sku_name', 'price']));
    await w.apply([up(t, '1', { sku_name: 'phone', price: '999.00' }), up(t, '2', { sku_name: 'case', price: null })], []);
  });
  afterAll(async () => {
    probe.close();
    closeRedisCaches();
    await w.close();
    await r.close();
    await redis.stop();
  });

  test('a lookup reads Redis first, then the store, and caches the row as JSON for 24 h', async () => {
    await probe.del(`${t}:1`, `${t}:2`, `${t}:3`);
    const lk = await DimLookup.open(r, { redis: url, refreshMs: 60_000 });
    expect(await lk.get(t, '1')).toEqual({ id: '1', sku_name: 'phone', price: '999.00' });
    expect(JSON.parse((await probe.get(`${t}:1`))!)).toEqual({ id: '1', sku_name: 'phone', price: '999.00' });
    const ttl = await probe.ttl(`${t}:1`);
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
    // A value put in Redis by someone else (another job's client) is served without asking the store.
    await probe.set(`${t}:3`, JSON.stringify({ id: '3', sku_name: 'from redis', price: '1.00' }));
    expect((await lk.get(t, '3'))?.sku_name).toBe('from redis');
    // Misses are not written to Redis.
    expect(await lk.get(t, '404')).toBeUndefined();
    expect(await probe.exists(`${t}:404`)).toBe(false);
    const many = await lk.getMany(t, ['2', '3', '404']);
    expect([...many.keys()].sort()).toEqual(['2', '3']);
    expect(many.get('2')).toEqual({ id: '2', sku_name: 'case', price: null });
    expect(lk.stats().redis).toMatchObject({ errors: 0 });
    expect(lk.stats().redis!.hits).toBeGreaterThanOrEqual(1);
    lk.close();
  });

  test('invalidateRedis deletes the keys of written rows; the lookup’s feed poll deletes them too', async () => {
    const lk = await DimLookup.open(r, { redis: url, refreshMs: 60_000 });
    await lk.getMany(t, ['1', '2']);
    expect(await probe.exists(`${t}:1`)).toBe(true);
    expect(await probe.exists(`${t}:2`)).toBe(true);
    // The dim job: apply, then invalidateRedis(url, writes).
    const writes = [up(t, '1', { price: '899.00' })];
    await w.apply(writes, []);
    await invalidateRedis(url, writes);
    expect(await probe.exists(`${t}:1`)).toBe(false);
    // A job that died between apply and its DEL: the lookup's next poll of the feed deletes the key.
    await w.apply([up(t, '2', { price: '5.00' })], []);
    expect(await probe.exists(`${t}:2`)).toBe(true);
    await lk.refresh();
    expect(await probe.exists(`${t}:2`)).toBe(false);
    expect((await lk.get(t, '2'))?.price).toBe('5.00');
    expect((await lk.get(t, '1'))?.price).toBe('899.00');
    lk.close();
  });

  test('with Redis down, lookups come from the store and count the error; invalidations wait for it', async () => {
    const cache = new RedisDimCache(url, { retryMs: 100, timeoutMs: 500 });
    const lk = await DimLookup.open(r, { redis: cache, refreshMs: 60_000, maxEntries: 0 });
    expect((await lk.get(t, '1'))?.sku_name).toBe('phone');
    await redis.stop();
    try {
      expect((await lk.get(t, '1'))?.sku_name).toBe('phone');
      expect((await lk.getMany(t, ['1', '2'])).size).toBe(2);
      const st = lk.stats().redis!;
      expect(st.errors).toBeGreaterThan(0);
      expect(st.lastError).toBeDefined();
      let e: unknown;
      try {
        await cache.invalidate([up(t, '1', { price: '1' }), del(t, '2')]);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(RtwhError);
      expect((e as RtwhError).code).toBe('CACHE_UNAVAILABLE');
      expect(cache.stats().pendingDeletes).toBe(2);
    } finally {
      await redis.start();
    }
    await probe.connect().catch(() => {});
    await probe.set(`${t}:2`, JSON.stringify({ id: '2', sku_name: 'stale', price: null }));
    await Bun.sleep(150); // past retryMs
    await cache.invalidate([]);
    expect(cache.stats().pendingDeletes).toBe(0);
    expect(await probe.exists(`${t}:2`)).toBe(false);
    const sets = cache.stats().sets;
    expect((await lk.get(t, '2'))?.sku_name).toBe('case');
    expect(cache.stats().sets).toBe(sets + 1);
    lk.close();
    cache.close();
  });

  test('a bad cache URL is a clear error', async () => {
    for (const bad of ['http://127.0.0.1:6379', 'redis://', 'nonsense', 'redis://:s3cret@h:6379/x']) {
      let e: unknown;
      try {
        await DimLookup.open(r, { redis: bad });
      } catch (x) {
        e = x;
      }
      expect((e as RtwhError).code).toBe('CACHE_URL');
      expect((e as RtwhError).message).not.toContain('s3cret');
    }
  });
});
