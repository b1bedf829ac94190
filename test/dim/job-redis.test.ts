/**
 * `rtwh run dim --cache redis://…` as a user runs it: the job deletes the `<sink_table>:<id>` key of every row it
 * upserts or deletes (the seed's Redis invalidation), leaves other keys alone, and keeps routing when Redis is down
 * (the failure is logged without the URL's password). A real redis-server on a free loopback port.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RedisClient } from 'bun';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';
import { openDimStore } from '../../src/dim/store';
import { cli, tempDir } from '../helpers/cli';
import { freePort } from '../helpers/net';
import { RedisServer } from '../helpers/redis';

let dir: string;
let busUrl: string;
let bus: Bus;
let redis: RedisServer;
let probe: RedisClient;

const stale = JSON.stringify({ id: 'stale' });

function change(type: 'update' | 'delete', id: number, name: string, xid: number): string {
  return JSON.stringify({
    database: 'gmall',
    table: 'base_trademark',
    type,
    ts: 1736870400,
    xid,
    commit: true,
    data: { id, tm_name: name, logo_url: null, create_time: '2025-01-14 10:00:00', operate_time: null },
    ...(type === 'update' ? { old: { tm_name: 'before' } } : {}),
  });
}

async function send(...values: string[]): Promise<void> {
  const p = await bus.producer();
  await p.send('ods_db', values.map((value) => ({ key: '{"database":"gmall","table":"base_trademark"}', value })));
  await p.close();
}

async function storedName(id: string): Promise<string | null | undefined> {
  const store = await openDimStore(`sqlite:${join(dir, '.rtwh', 'dim.db')}`, { cwd: dir });
  try {
    const row = await store.get('dim_base_trademark', id);
    return row === undefined ? undefined : (row.tm_name ?? null);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  dir = tempDir('rtwh-dim-redis-');
  busUrl = `sqlite:${join(dir, 'bus.db')}`;
  const mock = await cli(['mock', 'db', '--to', 'ods_db', '--bus', busUrl, '--date', '2025-01-14', '--seed', '5', '--init'], { cwd: dir });
  expect(mock.code).toBe(0);
  bus = await openBus(busUrl);
  redis = new RedisServer(await freePort(), mkdtempSync(join(dir, 'redis-')));
  await redis.start();
  probe = new RedisClient(redis.url);
});

afterAll(async () => {
  probe.close();
  await redis.stop();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('run dim --cache redis://', () => {
  test('the keys of routed rows are deleted, other keys stay', async () => {
    await probe.set('dim_base_trademark:1', stale);
    await probe.set('dim_base_province:1', stale);
    await probe.set('dim_base_trademark:424242', stale);
    await probe.set('not_a_dim:1', 'x');
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--cache', redis.url], { cwd: dir });
    expect(run.stderr).toContain('routed');
    expect(run.code).toBe(0);
    expect(await probe.exists('dim_base_trademark:1')).toBe(false);
    expect(await probe.exists('dim_base_province:1')).toBe(false);
    expect(await probe.get('dim_base_trademark:424242')).toBe(stale);
    expect(await probe.get('not_a_dim:1')).toBe('x');
  });

  test('a later update and delete delete their keys; an untouched row keeps its key', async () => {
    for (const id of [1, 2, 3]) await probe.set(`dim_base_trademark:${id}`, stale);
    await send(change('update', 1, 'renamed', 900), change('delete', 2, 'gone', 901));
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--cache', redis.url, '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { records: number }).records).toBe(2);
    expect(await probe.exists('dim_base_trademark:1')).toBe(false);
    expect(await probe.exists('dim_base_trademark:2')).toBe(false);
    expect(await probe.get('dim_base_trademark:3')).toBe(stale);
    expect(await storedName('1')).toBe('renamed');
    expect(await storedName('2')).toBeUndefined();
  });

  test('with Redis down the job still routes and says the invalidation failed, without the password', async () => {
    const down = `redis://:s3cret-pw@127.0.0.1:${await freePort()}`;
    await send(change('update', 3, 'while redis is down', 902));
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--cache', down], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('cache invalidation failed');
    expect(run.stderr + run.stdout).not.toContain('s3cret-pw');
    expect(await storedName('3')).toBe('while redis is down');
  });
});
