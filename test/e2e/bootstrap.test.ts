/**
 * The base data of `mock db --init --to` end to end: it reaches ods_db as Maxwell bootstraps, so `run dim` holds
 * every base row while `run dwd` and `run dws` count only the day's own business — register_ct of the init day is
 * the day's new users (100 at the default volume), not the 1,000 back-dated users of --init on top of them.
 * A second --init bootstraps the same rows again: dim stays as it was, and no back-dated user becomes a
 * registration then either.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';
import { standardRules } from '../../src/dim/config';
import { openDimStore } from '../../src/dim/store';
import { baseData } from '../../src/mock/db/base';
import { DEFAULT_OPTIONS } from '../../src/mock/db/options';
import { readAll } from '../helpers/bus';
import { cli, tempDir } from '../helpers/cli';

const DATE = '2025-01-14';
const SEED = 2;

async function step(dir: string, argv: string[]): Promise<string> {
  const r = await cli(argv, { cwd: dir });
  if (r.code !== 0) throw new Error(`rtwh ${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Every dim table's rows by primary key (as text), from the job's sqlite dim store. */
async function dimKeys(dir: string): Promise<Map<string, Set<string>>> {
  const store = await openDimStore(`sqlite:${join(dir, '.rtwh', 'dim.db')}`, { cwd: dir });
  try {
    const out = new Map<string, Set<string>>();
    for (const r of standardRules()) out.set(r.sinkTable, new Set((await store.scan(r.sinkTable)).map((row) => String(row[r.sinkPk]))));
    return out;
  } finally {
    await store.close();
  }
}

describe(`mock db --init --to, then dim, dwd, dws (seed ${SEED}, ${DATE})`, () => {
  let dir = '';
  let bus: Bus;
  const pipeline = async () => {
    await step(dir, ['mock', 'db', '--init', '--to', 'ods_db', '--date', DATE, '--seed', String(SEED)]);
    for (const job of ['dim', 'dwd', 'dws']) await step(dir, ['run', job, '--until-idle']);
  };

  beforeAll(async () => {
    dir = tempDir('rtwh-bootstrap-e2e-');
    await step(dir, ['mock', 'log', '--to', 'ods_log', '--date', DATE, '--seed', String(SEED)]);
    await pipeline();
    bus = await openBus(`sqlite:${join(dir, '.rtwh', 'bus.db')}`);
  }, 120_000);

  afterAll(async () => {
    await bus?.close();
  });

  test('register_ct of the init day is the day\'s 100 new users; dwd_user_register holds just them', async () => {
    const [row] = JSON.parse(await step(dir, ['query', '--preset', 'user_counts', '--date', DATE, '--format', 'json'])) as { register_ct: number | string }[];
    expect(Number(row!.register_ct)).toBe(DEFAULT_OPTIONS.userCount);
    expect(DEFAULT_OPTIONS.userCount).toBe(100);
    const facts = (await readAll(bus, 'dwd_user_register')).map((r) => JSON.parse(r.value!.toString()) as { user_id: number; create_time: string });
    expect(facts.length).toBe(100);
    expect(facts.every((f) => f.create_time.startsWith(DATE))).toBe(true);
    // the new users come after the base users' ids
    expect(Math.min(...facts.map((f) => f.user_id))).toBe(DEFAULT_OPTIONS.initUsers + 1);
  }, 60_000);

  test('dim holds every base row (and the day\'s new users)', async () => {
    const dims = await dimKeys(dir);
    const base = baseData(SEED, DATE, DEFAULT_OPTIONS);
    const rules = new Map(standardRules().map((r) => [r.sourceTable, r]));
    let checked = 0;
    for (const txn of base.txns) {
      const rule = rules.get(txn.changes[0]!.table);
      if (!rule) continue;
      const have = dims.get(rule.sinkTable)!;
      const missing = txn.changes.map((c) => String(c.data[rule.sinkPk])).filter((k) => !have.has(k));
      expect({ table: rule.sinkTable, missing }).toEqual({ table: rule.sinkTable, missing: [] });
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(14);
    expect(dims.get('dim_user_info')!.size).toBe(DEFAULT_OPTIONS.initUsers + DEFAULT_OPTIONS.userCount);
    expect(dims.get('dim_sku_info')!.size).toBe(35);
    expect(dims.get('dim_base_province')!.size).toBe(34);
  }, 60_000);

  test('--init again: the same dim rows, and the registrations only of the day generated again', async () => {
    const before = await dimKeys(dir);
    await pipeline();
    const after = await dimKeys(dir);
    const listed = (m: Map<string, Set<string>>) => [...m].map(([t, keys]) => [t, [...keys].sort()]);
    expect(listed(after)).toEqual(listed(before));
    // the day again: its 100 users once more (the same ids), no back-dated user
    const facts = await readAll(bus, 'dwd_user_register');
    expect(facts.length).toBe(200);
  }, 120_000);
});
