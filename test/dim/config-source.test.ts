/**
 * The MySQL config source against the real MariaDB of scripts/stack.sh (ROW binlog): initConfig, load(), live
 * changes through the binlog (insert, column update, delete, hostile rows, a renamed source_table, TRUNCATE), the
 * 2023 variant, the polling fallback for accounts without REPLICATION privileges, close() ending follow().
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { standardRules } from '../../src/dim/config';
import { configReplicaId, CONFIG_REPLICA_ID_BASE, CONFIG_REPLICA_ID_SPAN, initConfig, mysqlConfigSource, staticConfigSource, type ConfigChange, type ConfigSource } from '../../src/dim/config-source';
import type { TableProcess } from '../../src/dim/types';
import { RtwhError } from '../../src/errors';
import { parseMysqlUrl, type MysqlConn, type MysqlTarget } from '../../src/store/mysql';
import { admin, TEST_MYSQL, waitFor } from '../collect/cdc/helpers';
import { startMariadb } from '../collect/cdc/mariadb-instance';

const suffix = `${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
const DB = `rtwh_cfgtest_${suffix}`;
const USER_NOREPL = `rtwh_cfg_norepl_${suffix}`.slice(0, 32);
const USER_MONITOR = `rtwh_cfg_mon_${suffix}`.slice(0, 32);
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
let a: MysqlConn;
const target: MysqlTarget = parseMysqlUrl(TEST_MYSQL);
const sources: ConfigSource[] = [];

beforeAll(async () => {
  a = await admin();
});

afterAll(async () => {
  for (const s of sources) await s.close().catch(() => undefined);
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`; DROP USER IF EXISTS '${USER_NOREPL}'@'%'; DROP USER IF EXISTS '${USER_MONITOR}'@'%'`);
  await a.close();
});

const bySource = (rs: TableProcess[]) => [...rs].sort((x, y) => x.sourceTable.localeCompare(y.sourceTable));

function track(s: ConfigSource): ConfigSource {
  sources.push(s);
  return s;
}

/** follow() into an array; `done` settles when follow() does. */
function collect(s: ConfigSource): { changes: ConfigChange[]; done: Promise<'resolved' | unknown> } {
  const changes: ConfigChange[] = [];
  const done = s.follow((c) => void changes.push(c)).then(
    () => 'resolved',
    (e: unknown) => e,
  );
  return { changes, done };
}

const upserted = (cs: ConfigChange[], source: string) => cs.filter((c): c is Extract<ConfigChange, { kind: 'upsert' }> => c.kind === 'upsert' && c.rule.sourceTable === source);

describe('initConfig', () => {
  test('twice: 16 standard rows, the second run adds nothing and keeps edits; load() reads them back', async () => {
    expect(await initConfig(target, { database: DB })).toBe(16);
    await a.query(`UPDATE \`${DB}\`.table_process SET sink_columns = 'name,id' WHERE source_table = 'base_category1'`);
    expect(await initConfig(target, { database: DB })).toBe(0);
    const edited = await a.query<{ sink_columns: string }[]>(`SELECT sink_columns FROM \`${DB}\`.table_process WHERE source_table = 'base_category1'`);
    expect(edited[0]!.sink_columns).toBe('name,id');
    await a.query(`UPDATE \`${DB}\`.table_process SET sink_columns = 'id,name' WHERE source_table = 'base_category1'`);
    const rows = await a.query<{ n: number }[]>(`SELECT COUNT(*) AS n FROM \`${DB}\`.table_process`);
    expect(Number(rows[0]!.n)).toBe(16);
    const raw = await a.query<Record<string, unknown>[]>(`SELECT * FROM \`${DB}\`.table_process WHERE source_table IN ('base_province', 'sku_info') ORDER BY source_table`);
    expect(raw).toEqual([
      { source_table: 'base_province', sink_table: 'dim_base_province', sink_columns: 'id,name,region_id,area_code,iso_code,iso_3166_2', sink_pk: null, sink_extend: null },
      { source_table: 'sku_info', sink_table: 'dim_sku_info', sink_columns: 'id,spu_id,price,sku_name,sku_desc,weight,tm_id,category3_id,sku_default_img,is_sale,create_time', sink_pk: 'id', sink_extend: ' SALT_BUCKETS = 4' },
    ]);

    const src = track(mysqlConfigSource(target, { database: DB }));
    const loaded = await src.load();
    expect(loaded.rejected).toEqual([]);
    expect(bySource(loaded.rules)).toEqual(bySource(standardRules()));
    expect(src.state).toBe('following');
    expect(src.description).toBe(`${DB}.table_process on ${target.display}`);
    expect(src.description).not.toContain(target.password);
    await src.close();
  });

  test('identifiers are checked; a table of the other variant is refused', async () => {
    await expect(initConfig(target, { database: 'x`; drop database mysql; --' })).rejects.toThrow('invalid config database');
    await expect(initConfig(target, { database: DB, table: 'bad name' })).rejects.toThrow('invalid config table');
    const e = await initConfig(target, { database: DB, variant: '2023' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RtwhError);
    expect((e as RtwhError).code).toBe('DIM_CONFIG_TABLE');
    expect((e as RtwhError).message).toContain('not the 2023 ones');
  });

  test('a missing config table: load() says so and how to create it', async () => {
    const src = track(mysqlConfigSource(target, { database: DB, table: 'no_such_table' }));
    const e = await src.load().catch((x: unknown) => x);
    expect((e as RtwhError).code).toBe('DIM_CONFIG_TABLE');
    expect((e as RtwhError).message).toBe(`the config table ${DB}.no_such_table on ${target.display} does not exist`);
    expect((e as RtwhError).hint).toContain('--init-config');
    await src.close();
  });
});

describe('following the binlog', () => {
  test('insert, column update, delete, hostile rows rejected while the others go on, a renamed source_table; close() ends follow()', async () => {
    const table = 'tp_live';
    await initConfig(target, { database: DB, table });
    const T = `\`${DB}\`.\`${table}\``;
    // The table --init-config makes holds at most 2,000 characters of sink_columns (the seed's varchar(2000)).
    const [col] = await a.query<{ t: string }[]>(`SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${DB}' AND TABLE_NAME = '${table}' AND COLUMN_NAME = 'sink_columns'`);
    expect(col!.t).toBe('varchar(2000)');
    const longList = ['id', ...Array.from({ length: 500 }, (_, i) => `c${i}_abcdefg`)].join(',');
    expect(longList.length).toBeGreaterThan(5000);
    await expect(a.query(`INSERT INTO ${T} (source_table, sink_table, sink_columns, sink_pk) VALUES ('wide', 'dim_wide', '${longList}', 'id')`)).rejects.toThrow('Data too long');
    // A config table made by hand may be wider: then the source rejects such rows itself (below).
    await a.query(`ALTER TABLE ${T} MODIFY sink_columns TEXT NOT NULL`);
    const states: string[] = [];
    const src = track(mysqlConfigSource(target, { database: DB, table, onState: (s) => states.push(s) }));
    const loaded = await src.load();
    expect(loaded.rules).toHaveLength(16);
    const { changes, done } = collect(src);

    await a.query(`INSERT INTO ${T} (source_table, sink_table, sink_columns, sink_pk, sink_extend) VALUES ('order_status_log', 'dim_order_status_log', 'id,order_id,order_status', NULL, 'SALT_BUCKETS = 2')`);
    await waitFor('the insert', () => upserted(changes, 'order_status_log').length > 0);
    expect(upserted(changes, 'order_status_log')[0]!.rule).toEqual({
      sourceTable: 'order_status_log', sinkTable: 'dim_order_status_log', sinkColumns: ['id', 'order_id', 'order_status'], sinkPk: 'id', sinkExtend: 'SALT_BUCKETS = 2',
    });
    expect(src.state).toBe('following');

    await a.query(`UPDATE ${T} SET sink_columns = CONCAT(sink_columns, ',phone_num,email') WHERE source_table = 'user_info'`);
    await waitFor('the column update', () => upserted(changes, 'user_info').length > 0);
    expect(upserted(changes, 'user_info')[0]!.rule.sinkColumns).toEqual(['id', 'login_name', 'name', 'user_level', 'birthday', 'gender', 'create_time', 'operate_time', 'phone_num', 'email']);
    expect(upserted(changes, 'user_info')[0]!.rule.sinkExtend).toBe(' SALT_BUCKETS = 3');

    await a.query(`DELETE FROM ${T} WHERE source_table = 'base_dic'`);
    await waitFor('the delete', () => changes.some((c) => c.kind === 'delete'));
    expect(changes.filter((c) => c.kind === 'delete')).toEqual([{ kind: 'delete', sourceTable: 'base_dic' }]);

    // One transaction: a hostile sink_table, a 5,000-character column name, a 5,000-character list of valid
    // names, a valid row.
    await a.query(
      `INSERT INTO ${T} (source_table, sink_table, sink_columns, sink_pk) VALUES
        ('evil', 'x; drop table y', 'id', 'id'),
        ('huge', 'dim_huge', 'id,${'z'.repeat(5000)}', 'id'),
        ('wide', 'dim_wide', '${longList}', 'id'),
        ('comment_info', 'dim_comment_info', 'id,appraise', NULL)`,
    );
    await waitFor('the rows after the hostile ones', () => upserted(changes, 'comment_info').length > 0);
    const rejected = changes.filter((c): c is Extract<ConfigChange, { kind: 'rejected' }> => c.kind === 'rejected');
    expect(rejected.map((r) => r.rejected.sourceTable)).toEqual(['evil', 'huge', 'wide']);
    expect(rejected[0]!.rejected.reason).toBe('sink_table "x; drop table y" is not a valid name: expected ^[A-Za-z_][A-Za-z0-9_]{0,63}$ (a letter or _, then up to 63 letters, digits or _)');
    expect(rejected[1]!.rejected.reason).toBe('sink_columns is 5,003 characters long ("id,zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz…"): at most 2,000, the width of table_process.sink_columns (varchar(2000))');
    expect(rejected[2]!.rejected.reason).toStartWith(`sink_columns is ${longList.length.toLocaleString('en-US')} characters long ("id,c0_abcdefg,`);
    expect(rejected[2]!.rejected.reason).toEndWith(': at most 2,000, the width of table_process.sink_columns (varchar(2000))');
    expect(upserted(changes, 'wide')).toHaveLength(0);

    // A row fixed later is accepted.
    await a.query(`UPDATE ${T} SET sink_table = 'dim_evil' WHERE source_table = 'evil'`);
    await waitFor('the fixed row', () => upserted(changes, 'evil').length > 0);

    // Renaming source_table: the old rule goes, the new one comes, in that order.
    const before = changes.length;
    await a.query(`UPDATE ${T} SET source_table = 'coupon_range_v2' WHERE source_table = 'coupon_range'`);
    await waitFor('the rename', () => upserted(changes, 'coupon_range_v2').length > 0);
    expect(changes.slice(before).map((c) => (c.kind === 'upsert' ? `upsert ${c.rule.sourceTable}` : c.kind === 'delete' ? `delete ${c.sourceTable}` : 'rejected'))).toEqual([
      'delete coupon_range',
      'upsert coupon_range_v2',
    ]);

    // TRUNCATE writes no row events: the table is read again and every rule goes.
    const beforeTruncate = changes.length;
    await a.query(`TRUNCATE TABLE ${T}`);
    await waitFor('the truncate', () => changes.slice(beforeTruncate).filter((c) => c.kind === 'delete').length >= 19);
    const deleted = changes.slice(beforeTruncate).map((c) => (c.kind === 'delete' ? c.sourceTable : '?'));
    expect(deleted).toContain('coupon_range_v2');
    expect(deleted).toContain('wide');
    expect(deleted).toContain('evil');
    expect(deleted).not.toContain('?');

    expect(states).toContain('following');
    expect(states).not.toContain('polling');
    const t0 = performance.now();
    await src.close();
    expect(await done).toBe('resolved');
    expect(performance.now() - t0).toBeLessThan(5000);
  }, 60_000);

  test('the 2023 variant: sink_row_key and sink_family; an update of the key column', async () => {
    const table = 'tp_2023';
    expect(await initConfig(target, { database: DB, table, variant: '2023' })).toBe(16);
    expect(await initConfig(target, { database: DB, table, variant: '2023' })).toBe(0);
    const src = track(mysqlConfigSource(target, { database: DB, table }));
    const loaded = await src.load();
    expect(loaded.rules).toHaveLength(16);
    expect((src as ConfigSource & { variant?: string }).variant).toBe('2023');
    const dic = loaded.rules.find((r) => r.sourceTable === 'base_dic')!;
    expect(dic).toEqual({ sourceTable: 'base_dic', sinkTable: 'dim_base_dic', sinkColumns: ['dic_code', 'dic_name'], sinkPk: 'dic_code', sinkExtend: null, sinkFamily: 'info' });
    expect(loaded.rules.find((r) => r.sourceTable === 'base_province')!.sinkPk).toBe('id');
    const { changes, done } = collect(src);
    await a.query(`UPDATE \`${DB}\`.${table} SET sink_columns = 'id,name,region_id', sink_row_key = 'region_id' WHERE sink_table = 'dim_base_province'`);
    await waitFor('the update', () => upserted(changes, 'base_province').length > 0);
    expect(upserted(changes, 'base_province')[0]!.rule).toMatchObject({ sinkColumns: ['id', 'name', 'region_id'], sinkPk: 'region_id', sinkFamily: 'info' });
    await src.close();
    expect(await done).toBe('resolved');
  }, 30_000);

  test('a change between load() and follow() is not lost; an onChange that throws ends follow() with its error', async () => {
    const table = 'tp_gap';
    await initConfig(target, { database: DB, table });
    const src = track(mysqlConfigSource(target, { database: DB, table }));
    await src.load();
    await a.query(`UPDATE \`${DB}\`.${table} SET sink_columns = 'id,tm_name,logo_url' WHERE source_table = 'base_trademark'`);
    const seen: ConfigChange[] = [];
    const done = src.follow((c) => {
      seen.push(c);
      throw new Error('consumer failed');
    });
    const e = await done.catch((x: unknown) => x);
    expect((e as Error).message).toBe('consumer failed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ kind: 'upsert', rule: { sourceTable: 'base_trademark', sinkColumns: ['id', 'tm_name', 'logo_url'] } });
    await src.close();
  }, 30_000);
});

describe('polling fallback', () => {
  test('an account without REPLICATION privileges: one warning, state polling, the same changes', async () => {
    const table = 'tp_poll';
    await initConfig(target, { database: DB, table });
    await a.query(`CREATE USER '${USER_NOREPL}'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT SELECT ON \`${DB}\`.* TO '${USER_NOREPL}'@'%'`);
    const limited: MysqlTarget = { ...target, user: USER_NOREPL, password: PASSWORD, display: target.display.replace(/\/\/[^:@]+/, `//${USER_NOREPL}`) };
    const warnings: string[] = [];
    const src = track(mysqlConfigSource(limited, { database: DB, table, pollIntervalMs: 200, onWarning: (w) => warnings.push(w) }));
    const loaded = await src.load();
    expect(loaded.rules).toHaveLength(16);
    expect(src.state).toBe('polling');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`user "${USER_NOREPL}" may not read the binlog position`);
    expect(warnings[0]).toContain('reading the table every 0.2 s instead of the binlog');
    expect(warnings[0]).not.toContain(PASSWORD);

    const { changes, done } = collect(src);
    const T = `\`${DB}\`.${table}`;
    await a.query(`INSERT INTO ${T} VALUES ('cart_info', 'dim_cart_info', 'id,user_id,sku_id', NULL, NULL)`);
    await waitFor('the insert', () => upserted(changes, 'cart_info').length > 0);
    await a.query(`UPDATE ${T} SET sink_columns = 'id,name,category1_id,create_time' WHERE source_table = 'base_category2'`);
    await waitFor('the update', () => upserted(changes, 'base_category2').length > 0);
    expect(upserted(changes, 'base_category2')[0]!.rule.sinkColumns).toEqual(['id', 'name', 'category1_id', 'create_time']);
    await a.query(`INSERT INTO ${T} VALUES ('evil', 'x; drop table y', 'id', 'id', NULL), ('favor_info', 'dim_favor_info', 'id,sku_id', 'id', NULL)`);
    await waitFor('the rows after the hostile one', () => upserted(changes, 'favor_info').length > 0);
    expect(changes.filter((c) => c.kind === 'rejected')).toEqual([
      { kind: 'rejected', rejected: { sourceTable: 'evil', sinkTable: 'x; drop table y', reason: expect.stringContaining('sink_table "x; drop table y" is not a valid name') } },
    ]);
    await a.query(`DELETE FROM ${T} WHERE source_table = 'activity_sku'`);
    await waitFor('the delete', () => changes.some((c) => c.kind === 'delete' && c.sourceTable === 'activity_sku'));
    const before = changes.length;
    await a.query(`UPDATE ${T} SET source_table = 'spu_info_v2' WHERE source_table = 'spu_info'`);
    await waitFor('the rename', () => upserted(changes, 'spu_info_v2').length > 0);
    expect(changes.slice(before)).toEqual([
      { kind: 'delete', sourceTable: 'spu_info' },
      { kind: 'upsert', rule: expect.objectContaining({ sourceTable: 'spu_info_v2', sinkExtend: 'SALT_BUCKETS = 3' }) },
    ]);
    // Nothing changes: nothing is reported.
    const settled = changes.length;
    await Bun.sleep(600);
    expect(changes).toHaveLength(settled);
    expect(src.state).toBe('polling');
    expect(warnings).toHaveLength(1);
    await src.close();
    expect(await done).toBe('resolved');
  }, 60_000);

  test('an account that may read the position but not the binlog (no REPLICATION SLAVE): follow() falls back to polling', async () => {
    const table = 'tp_mon';
    await initConfig(target, { database: DB, table });
    await a.query(`CREATE USER '${USER_MONITOR}'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT SELECT ON \`${DB}\`.* TO '${USER_MONITOR}'@'%'; GRANT REPLICATION CLIENT ON *.* TO '${USER_MONITOR}'@'%'`);
    const limited: MysqlTarget = { ...target, user: USER_MONITOR, password: PASSWORD, display: target.display.replace(/\/\/[^:@]+/, `//${USER_MONITOR}`) };
    const warnings: string[] = [];
    const states: string[] = [];
    const src = track(mysqlConfigSource(limited, { database: DB, table, pollIntervalMs: 200, onWarning: (w) => warnings.push(w), onState: (s) => states.push(s) }));
    await src.load();
    expect(src.state).toBe('following');
    const { changes, done } = collect(src);
    await waitFor('the fallback', () => src.state === 'polling');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`user "${USER_MONITOR}" may not read the binlog (needs REPLICATION SLAVE)`);
    await a.query(`INSERT INTO \`${DB}\`.${table} VALUES ('order_info', 'dim_order_info', 'id,order_status', NULL, NULL)`);
    await waitFor('the insert', () => upserted(changes, 'order_info').length > 0);
    expect(states).toContain('polling');
    await src.close();
    expect(await done).toBe('resolved');
  }, 30_000);
});

describe('server restarts', () => {
  test('a killed server: both the binlog follower and the poller wait, then carry on with the changes made after the restart', async () => {
    const m = await startMariadb();
    try {
      const t = parseMysqlUrl(m.url);
      expect(await initConfig(t)).toBe(16);
      const adm = await admin(m.url);
      await adm.query(`CREATE USER 'poller'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT SELECT ON gmall_config.* TO 'poller'@'%'`);
      await adm.close();
      const states: { binlog: string[]; poll: string[] } = { binlog: [], poll: [] };
      const follower = track(mysqlConfigSource(t, { onState: (s) => states.binlog.push(s), log: () => {} }));
      const poller = track(mysqlConfigSource({ ...t, user: 'poller', password: PASSWORD }, { pollIntervalMs: 200, onState: (s) => states.poll.push(s), onWarning: () => {}, log: () => {} }));
      await follower.load();
      await poller.load();
      const f = collect(follower);
      const p = collect(poller);
      await waitFor('the follower to read', () => states.binlog.includes('following'));

      await m.kill();
      await waitFor('both to wait', () => follower.state === 'waiting' && poller.state === 'waiting', 20_000);
      await m.start();
      const adm2 = await admin(m.url);
      await adm2.query(`INSERT INTO gmall_config.table_process VALUES ('refund_payment', 'dim_refund_payment', 'id,order_id', NULL, NULL)`);
      await adm2.close();
      await waitFor('the follower to see the insert', () => upserted(f.changes, 'refund_payment').length > 0, 30_000);
      await waitFor('the poller to see the insert', () => upserted(p.changes, 'refund_payment').length > 0, 30_000);
      expect(follower.state).toBe('following');
      expect(poller.state).toBe('polling');
      expect(states.binlog).toContain('waiting');
      expect(states.poll).toContain('waiting');
      await follower.close();
      await poller.close();
      expect(await f.done).toBe('resolved');
      expect(await p.done).toBe('resolved');
    } finally {
      await m.dispose();
    }
  }, 120_000);
});

describe('a purged binlog position', () => {
  test('the table is read again and followed from the current position, without falling back to polling', async () => {
    const m = await startMariadb();
    try {
      const t = parseMysqlUrl(m.url);
      await initConfig(t);
      const warnings: string[] = [];
      const src = track(mysqlConfigSource(t, { onWarning: (w) => warnings.push(w), log: () => {} }));
      await src.load();
      // A change, then the binlog holding it and the load position is purged before follow() starts.
      const adm = await admin(m.url);
      await adm.query(`DELETE FROM gmall_config.table_process WHERE source_table = 'base_region'`);
      await adm.query('FLUSH BINARY LOGS');
      const [last] = await adm.query<{ File: string }[]>('SHOW MASTER STATUS');
      await adm.query(`PURGE BINARY LOGS TO '${last!.File}'`);
      const { changes, done } = collect(src);
      await waitFor('the missed delete, from reading the table', () => changes.some((c) => c.kind === 'delete' && c.sourceTable === 'base_region'), 20_000);
      await waitFor('following again', () => src.state === 'following');
      await adm.query(`INSERT INTO gmall_config.table_process VALUES ('order_detail', 'dim_order_detail', 'id,order_id', NULL, NULL)`);
      await adm.close();
      await waitFor('the insert after', () => upserted(changes, 'order_detail').length > 0, 20_000);
      expect(warnings).toEqual([]);
      expect(src.state).toBe('following');
      await src.close();
      expect(await done).toBe('resolved');
    } finally {
      await m.dispose();
    }
  }, 120_000);
});

describe('static sources and replica ids', () => {
  test('static: load() gives copies, follow() resolves at once', async () => {
    const rules = standardRules();
    const s = staticConfigSource(rules, [{ sourceTable: 'x', reason: 'bad' }], 'fixtures (standard rules)');
    expect(s.state).toBe('static');
    const l = await s.load();
    expect(l.rules).toEqual(rules);
    l.rules[0]!.sinkColumns.push('zzz');
    expect((await s.load()).rules[0]!.sinkColumns).not.toContain('zzz');
    expect(l.rejected).toEqual([{ sourceTable: 'x', reason: 'bad' }]);
    await s.follow(() => {
      throw new Error('no changes expected');
    });
    await s.close();
  });

  test('replica ids come from their own range, away from cdc ids', () => {
    expect(configReplicaId(() => 0)).toBe(CONFIG_REPLICA_ID_BASE);
    expect(configReplicaId(() => 0.999999999)).toBe(CONFIG_REPLICA_ID_BASE + CONFIG_REPLICA_ID_SPAN - 1);
    const id = configReplicaId();
    expect(id).toBeGreaterThan(1_000_099_999);
    expect(id).toBeLessThan(2 ** 32);
  });
});
