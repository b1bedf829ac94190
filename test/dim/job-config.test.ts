/**
 * The dim job and rules the dim store refuses, and --drop-on-delete, at start and live: runDimJob in this process
 * on a sqlite bus, against the embedded store and the real MariaDB (RTWH_TEST_MYSQL, a database per test). The
 * config is a scripted ConfigSource (the interface the job follows), so a test hands the job exactly the rows
 * and changes it wants — including rules no config.ts validation would let through, as another source might.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';
import type { RejectedRule } from '../../src/dim/config';
import type { ConfigChange, ConfigSource, ConfigSourceState } from '../../src/dim/config-source';
import { runDimJob, type DimJobOptions, type DimJobResult, type DimStatus } from '../../src/dim/job';
import { MysqlDimStore } from '../../src/dim/store-mysql';
import { SqliteDimStore } from '../../src/dim/store-sqlite';
import type { DimStore, TableProcess } from '../../src/dim/types';
import type { MysqlConn } from '../../src/store/mysql';
import { tempDir } from '../helpers/cli';
import { adminConn, dropDb, urlFor } from '../mock/db/mysql-env';

let dir: string;
let bus: Bus;
let admin: MysqlConn;
const dbs: string[] = [];
let n = 0;

beforeAll(async () => {
  dir = tempDir('rtwh-dim-job-config-');
  bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
  admin = await adminConn();
});

afterAll(async () => {
  for (const db of dbs) await dropDb(admin, db).catch(() => undefined);
  await admin.close();
  await bus.close();
});

/** Rules handed to the job as they are, and changes pushed while it runs. */
class ScriptedConfig implements ConfigSource {
  readonly description = 'scripted table_process';
  state: ConfigSourceState = 'following';
  private onChange: ((c: ConfigChange) => void | Promise<void>) | undefined;
  private finish: (() => void) | undefined;
  constructor(
    private readonly rules: TableProcess[],
    private readonly rejected: RejectedRule[] = [],
  ) {}
  async load() {
    return { rules: this.rules.map((r) => ({ ...r, sinkColumns: [...r.sinkColumns] })), rejected: this.rejected.map((r) => ({ ...r })) };
  }
  follow(onChange: (c: ConfigChange) => void | Promise<void>): Promise<void> {
    this.onChange = onChange;
    return new Promise((resolve) => (this.finish = resolve));
  }
  async push(c: ConfigChange): Promise<void> {
    if (!this.onChange) throw new Error('the job does not follow the config yet');
    await this.onChange(c);
  }
  async close() {
    this.finish?.();
  }
}

function rule(sourceTable: string, sinkTable: string, sinkColumns: string[], sinkPk = 'id'): TableProcess {
  return { sourceTable, sinkTable, sinkColumns, sinkPk, sinkExtend: null };
}

let xid = 1;
function maxwell(table: string, type: 'insert' | 'update' | 'delete', data: Record<string, unknown>): { key: string; value: string } {
  return { key: JSON.stringify({ database: 'gmall', table }), value: JSON.stringify({ database: 'gmall', table, type, ts: 1736870400, xid: xid++, commit: true, data }) };
}

async function send(topic: string, ...records: { key: string; value: string }[]): Promise<void> {
  const p = await bus.producer();
  await p.send(topic, records);
  await p.close();
}

interface Running {
  logs: string[];
  done: Promise<DimJobResult>;
  last: () => DimStatus | undefined;
  stop: () => Promise<DimJobResult>;
  log: () => string;
}

function startJob(o: Pick<DimJobOptions, 'store' | 'config' | 'topic'> & Partial<DimJobOptions>): Running {
  const logs: string[] = [];
  const ac = new AbortController();
  let last: DimStatus | undefined;
  const done = runDimJob({
    bus,
    group: 'g',
    database: 'gmall',
    dlq: `${o.topic}_dlq`,
    startFrom: 'earliest',
    untilIdle: false,
    dropOnDelete: false,
    batchRecords: 100,
    statusIntervalMs: 20,
    signal: ac.signal,
    log: (m) => logs.push(m),
    onStatus: (s) => (last = s),
    ...o,
  });
  return {
    logs,
    done,
    last: () => last,
    log: () => logs.join('\n'),
    stop: async () => {
      ac.abort();
      return done;
    },
  };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Backend {
  name: string;
  /** A new, empty store; `again()` opens it once more (a restart). */
  fresh(): Promise<{ store: DimStore; again: () => Promise<DimStore> }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    fresh: async () => {
      const path = join(dir, `dim-${++n}.db`);
      return { store: new SqliteDimStore(path), again: async () => new SqliteDimStore(path) };
    },
  },
  {
    name: 'mysql',
    fresh: async () => {
      const db = `rtwh_dimjob_${Date.now().toString(36)}_${++n}`;
      dbs.push(db);
      return { store: await MysqlDimStore.open(urlFor(db)), again: () => MysqlDimStore.open(urlFor(db)) };
    },
  },
];

const topicFor = (what: string) => `ods_${what}_${++n}`;
const ids = async (store: DimStore, table: string, pk = 'id') => (await store.scan(table)).map((r) => r[pk]).sort();

for (const b of backends) {
  describe(`run dim: rules the ${b.name} store refuses are rejected, the job goes on`, () => {
    test('at start: a reserved sink_table, a sink_pk change on an existing table, two rules keying one table differently', async () => {
      const { store, again } = await b.fresh();
      const topic = topicFor('refused_start');
      try {
        // dim_prov exists keyed by id (an earlier rule); the config now keys it by name.
        await store.ensureTable(rule('base_province', 'dim_prov', ['id', 'name']), { owner: 'g' });
        const config = () =>
          new ScriptedConfig([
            rule('base_trademark', 'dim_tm', ['id', 'tm_name']),
            rule('activity_info', 'sqlite_activity', ['id', 'activity_name']),
            rule('base_province', 'dim_prov', ['id', 'name'], 'name'),
            rule('base_category1', 'dim_tm', ['id', 'tm_name'], 'tm_name'),
          ]);
        await send(
          topic,
          maxwell('base_trademark', 'insert', { id: 1, tm_name: 'one' }),
          maxwell('activity_info', 'insert', { id: 1, activity_name: 'a' }),
          maxwell('base_province', 'insert', { id: 1, name: 'p' }),
          maxwell('base_category1', 'insert', { id: 1, tm_name: 'c' }),
          maxwell('base_trademark', 'insert', { id: 2, tm_name: 'two' }),
        );
        const run = startJob({ store, config: config(), topic, untilIdle: true });
        const r = await run.done;
        const log = run.log();
        expect(log).toContain(
          'table_process row "activity_info" rejected: the dim store refuses it: invalid dim table name "sqlite_activity": names starting with _rtwh_ or sqlite_ are reserved (it starts with sqlite_); the other rules go on',
        );
        expect(log).toContain('table_process row "base_province" rejected: the dim store refuses it: dim table "dim_prov" is keyed by "id"; the rule keys it by "name"; the other rules go on');
        expect(log).toContain(
          'table_process row "base_category1" rejected: sink_table "dim_tm" is written by the rule of "base_trademark" keyed by "id", this rule keys it by "tm_name": expected one key column per dim table; the other rules go on',
        );
        expect(log).toContain(': 1 rule, 3 rejected');
        expect(r.status).toMatchObject({ records: 5, rules: 1, rejectedRules: 3, skippedUnconfigured: 3, deadLetters: 0 });
        expect(r.status.tables.dim_tm).toEqual({ upserts: 2, deletes: 0 });
        expect(await ids(store, 'dim_tm')).toEqual(['1', '2']);
        expect(await ids(store, 'dim_prov')).toEqual([]);
        expect([...(await store.tables()).keys()].sort()).toEqual(['dim_prov', 'dim_tm']);

        // A restart meets the same rows: rejected again, the job goes on again (it used to exit 5/7 every time).
        await send(topic, maxwell('base_trademark', 'update', { id: 1, tm_name: 'uno' }));
        const store2 = await again();
        try {
          const r2 = await startJob({ store: store2, config: config(), topic, untilIdle: true }).done;
          expect(r2.status).toMatchObject({ records: 1, rules: 1, rejectedRules: 3 });
          expect((await store2.get('dim_tm', '1'))?.tm_name).toBe('uno');
        } finally {
          await store2.close();
        }
      } finally {
        await store.close();
      }
    }, 60_000);

    test('live: the same rules added or changed while it runs are rejected; the rule in force stays, routing goes on', async () => {
      const { store } = await b.fresh();
      const topic = topicFor('refused_live');
      const config = new ScriptedConfig([rule('base_trademark', 'dim_tm', ['id', 'tm_name']), rule('base_province', 'dim_prov', ['id', 'name'])]);
      const run = startJob({ store, config, topic });
      try {
        await waitFor('the job to run', () => run.last()?.state === 'running');
        await config.push({ kind: 'upsert', rule: rule('activity_info', '_rtwh_activity', ['id', 'activity_name']) });
        await config.push({ kind: 'upsert', rule: rule('base_category1', 'dim_tm', ['id', 'tm_name'], 'tm_name') });
        // The rule of base_province itself now keys dim_prov by name: refused, its previous rule routes on.
        await config.push({ kind: 'upsert', rule: rule('base_province', 'dim_prov', ['id', 'name'], 'name') });
        await send(
          topic,
          maxwell('base_trademark', 'insert', { id: 7, tm_name: 'seven' }),
          maxwell('activity_info', 'insert', { id: 1, activity_name: 'a' }),
          maxwell('base_category1', 'insert', { id: 1, tm_name: 'c' }),
          maxwell('base_province', 'insert', { id: 5, name: 'five' }),
        );
        await waitFor('the records to be routed', async () => (await store.get('dim_prov', '5'))?.name === 'five' && (await store.get('dim_tm', '7')) !== undefined);
        await waitFor('the status to count them', () => (run.last()?.records ?? 0) >= 4);
        await waitFor('the three changes to be applied', () => run.log().includes('table_process row "base_province" rejected'));
        const log = run.log();
        expect(log).toContain('table_process row "activity_info" rejected: the dim store refuses it: invalid dim table name "_rtwh_activity": names starting with _rtwh_ or sqlite_ are reserved (it starts with _rtwh_); the other rules go on');
        expect(log).toContain('table_process row "base_category1" rejected: sink_table "dim_tm" is written by the rule of "base_trademark" keyed by "id", this rule keys it by "tm_name"');
        expect(log).toContain(
          'table_process row "base_province" rejected: the dim store refuses it: dim table "dim_prov" is keyed by "id"; the rule keys it by "name"; its previous rule (→ dim_prov, key id) stays in force; the other rules go on',
        );
        await waitFor('the status to show the changes', () => (run.last()?.configVersion ?? 0) >= 4);
        expect(run.last()).toMatchObject({ state: 'running', rules: 2, rejectedRules: 3, skippedUnconfigured: 2, configVersion: 4 });
        // A fixed row is taken: the job did not stop following.
        await config.push({ kind: 'upsert', rule: rule('activity_info', 'dim_activity', ['id', 'activity_name']) });
        // Changes apply between batches: a record polled while the change waited is routed by the rules before it.
        await waitFor('the fixed rule to be applied', () => run.log().includes('created dim_activity for activity_info'));
        await send(topic, maxwell('activity_info', 'insert', { id: 2, activity_name: 'b' }));
        await waitFor('the fixed rule to route', async () => (await store.tables()).has('dim_activity') && (await store.get('dim_activity', '2')) !== undefined).catch((e: unknown) => {
          throw new Error(`${(e as Error).message}; the job said:\n${run.log()}\n${JSON.stringify(run.last())}`);
        });
        const r = await run.stop();
        expect(r.status.rules).toBe(3);
      } finally {
        await run.stop().catch(() => undefined);
        await store.close();
      }
    }, 60_000);

    test('--drop-on-delete live: a deleted rule drops the table this group created, never one it did not create', async () => {
      const { store } = await b.fresh();
      const topic = topicFor('drop_live');
      // dim_region was made by another group's job; dim_shared is written by two rules.
      await store.ensureTable(rule('base_region', 'dim_region', ['id', 'region_name']), { owner: 'another-group' });
      const config = new ScriptedConfig([
        rule('base_trademark', 'dim_tm', ['id', 'tm_name']),
        rule('base_region', 'dim_region', ['id', 'region_name']),
        rule('base_category1', 'dim_shared', ['id', 'name']),
        rule('base_category2', 'dim_shared', ['id', 'name']),
      ]);
      const run = startJob({ store, config, topic, dropOnDelete: true });
      try {
        await send(topic, maxwell('base_trademark', 'insert', { id: 1, tm_name: 'one' }), maxwell('base_region', 'insert', { id: 1, region_name: 'r' }));
        await waitFor('the rows to be routed', async () => (await store.get('dim_region', '1')) !== undefined && (await store.get('dim_tm', '1')) !== undefined);
        await config.push({ kind: 'delete', sourceTable: 'base_trademark' });
        await config.push({ kind: 'delete', sourceTable: 'base_region' });
        await config.push({ kind: 'delete', sourceTable: 'base_category1' });
        await send(topic, maxwell('base_category2', 'insert', { id: 9, name: 'nine' }));
        await waitFor('the deletes to be applied', () => run.log().includes('stopped routing base_category1'));
        const log = run.log();
        expect(log).toContain('stopped routing base_trademark (its table_process row was deleted); dropped dim_tm');
        expect(log).toContain('stopped routing base_region (its table_process row was deleted); dim_region is kept: group g did not create it (--drop-on-delete drops only its own tables)');
        expect(log).toContain('stopped routing base_category1 (its table_process row was deleted); dim_shared is kept (another rule writes it)');
        await waitFor('base_category2 to route on', async () => (await store.get('dim_shared', '9')) !== undefined);
        const tables = await store.tables();
        expect(tables.has('dim_tm')).toBe(false);
        expect(tables.has('dim_region')).toBe(true);
        expect(await ids(store, 'dim_region')).toEqual(['1']);
      } finally {
        await run.stop().catch(() => undefined);
        await store.close();
      }
    }, 60_000);

    test('--drop-on-delete across a restart: a row deleted while the job was down has its table dropped at the start', async () => {
      const { store, again } = await b.fresh();
      const topic = topicFor('drop_restart');
      try {
        const all = [rule('base_trademark', 'dim_tm', ['id', 'tm_name']), rule('base_province', 'dim_prov', ['id', 'name']), rule('base_category1', 'dim_c1', ['id', 'name'])];
        await send(topic, maxwell('base_province', 'insert', { id: 1, name: 'p' }));
        expect((await startJob({ store, config: new ScriptedConfig(all), topic, untilIdle: true, dropOnDelete: true }).done).status.records).toBe(1);
        // Tables no dim job of group g created: one by another group, one that was there before (no creator).
        await store.ensureTable(rule('x', 'dim_other_group', ['id']), { owner: 'g2' });
        await store.ensureTable(rule('y', 'dim_no_creator', ['id']));
        await store.close();

        // While the job is down: base_province's row is deleted; base_category1's row is broken (rejected), but it
        // still names dim_c1.
        const later = () => new ScriptedConfig([all[0]!], [{ sourceTable: 'base_category1', sinkTable: 'dim_c1', reason: 'sink_columns is empty for base_category1' }]);
        // Without --drop-on-delete nothing is dropped.
        let s = await again();
        const keep = startJob({ store: s, config: later(), topic, untilIdle: true });
        await keep.done;
        expect([...(await s.tables()).keys()].sort()).toEqual(['dim_c1', 'dim_no_creator', 'dim_other_group', 'dim_prov', 'dim_tm']);
        // Another group with --drop-on-delete drops nothing of group g.
        const other = startJob({ store: s, config: new ScriptedConfig([]), topic, group: 'g3', untilIdle: true, dropOnDelete: true });
        await other.done;
        expect(other.log()).not.toContain('dropped');
        expect((await s.tables()).size).toBe(5);
        await s.close();

        s = await again();
        try {
          const run = startJob({ store: s, config: later(), topic, untilIdle: true, dropOnDelete: true });
          await run.done;
          expect(run.log()).toContain('dropped dim_prov: no table_process row names it any more (--drop-on-delete; its row was deleted while the job was down)');
          expect(run.logs.filter((l) => l.startsWith('dropped'))).toHaveLength(1);
          expect([...(await s.tables()).keys()].sort()).toEqual(['dim_c1', 'dim_no_creator', 'dim_other_group', 'dim_tm']);
          // The invalidation feed tells lookup caches the whole table went.
          const feed = await s.invalidationsSince(0);
          expect(feed.some((e) => e.table === 'dim_prov' && e.id === '*')).toBe(true);
        } finally {
          await s.close();
        }
      } finally {
        await store.close().catch(() => undefined);
      }
    }, 60_000);
  });
}

describe('run dim: a store that is away is waited for, not taken as a refusal', () => {
  test('the SQLite file locked by another process while the job creates its tables: it waits, then creates them', async () => {
    const path = join(dir, `dim-locked-${++n}.db`);
    const store = new SqliteDimStore(path, { busyTimeoutMs: 50 });
    const topic = topicFor('locked');
    const locker = new Database(path);
    locker.run('BEGIN IMMEDIATE');
    try {
      await send(topic, maxwell('base_trademark', 'insert', { id: 1, tm_name: 'one' }));
      const run = startJob({ store, config: new ScriptedConfig([rule('base_trademark', 'dim_tm', ['id', 'tm_name'])]), topic, untilIdle: true });
      await waitFor('the job to wait for the store', () => run.log().includes('stayed locked by another process'));
      await Bun.sleep(300);
      expect(run.log()).not.toContain('rejected');
      locker.run('COMMIT');
      const r = await run.done;
      expect(run.log()).toContain('available again');
      expect(r.status).toMatchObject({ rules: 1, rejectedRules: 0, records: 1 });
      expect(await ids(store, 'dim_tm')).toEqual(['1']);
    } finally {
      if (locker.inTransaction) locker.run('ROLLBACK');
      locker.close();
      await store.close();
    }
  }, 30_000);
});
