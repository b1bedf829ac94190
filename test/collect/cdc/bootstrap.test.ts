/**
 * `rtwh cdc bootstrap`: a request row carried out by the running cdc in binlog order — Maxwell's
 * bootstrap-start / bootstrap-insert (by primary key) / bootstrap-complete, or Debezium op "r" records — with the
 * changes made meanwhile after it, and a snapshot cut short by a stop done again on restart.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus, ProduceMessage, Producer } from '../../../src/bus/types';
import type { MysqlConn } from '../../../src/store/mysql';
import { cli, tempDir } from '../../helpers/cli';
import { admin, readTopic, sqliteBus, startCdc, TEST_MYSQL, unique, urlFor, values, waitFor } from './helpers';

const DB = unique('cdc_boot');
let a: MysqlConn;
let bus: Bus;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`;
    CREATE TABLE \`${DB}\`.base_province (id bigint PRIMARY KEY, name varchar(20), region_id varchar(20), area_code varchar(20), create_time datetime) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE \`${DB}\`.big (id int PRIMARY KEY, pad varchar(200));`);
  // Inserted out of order: the snapshot must come ordered by primary key.
  const ids = Array.from({ length: 34 }, (_, i) => i + 1).sort((x, y) => ((x * 17) % 34) - ((y * 17) % 34));
  await a.query(`INSERT INTO \`${DB}\`.base_province VALUES ${ids.map((i) => `(${i}, '省${i}', '${i % 7}', '${100000 + i}', '2025-01-01 00:00:00')`).join(',')}`);
  await a.query(`INSERT INTO \`${DB}\`.big VALUES ${Array.from({ length: 20_000 }, (_, i) => `(${i}, REPEAT('p', 150))`).join(',')}`);
  bus = await sqliteBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`; DELETE FROM maxwell.bootstrap WHERE database_name = '${DB}';`);
  await a.close();
  await bus.close();
});

describe('bootstrap', () => {
  test('maxwell: start, every row by primary key, complete; changes made meanwhile follow; the CLI waits for it', async () => {
    const topic = unique('cdc_boot_mx');
    const clientId = unique('boot');
    const cdc = startCdc({ bus, database: DB, topic, clientId });
    await cdc.started;
    // --timeout: should it ever not finish, the CLI says how far it got, and the cdc's log is in the failure
    const run = cli(['cdc', 'bootstrap', `${DB}.base_province`, '--client-id', clientId, '--mysql', urlFor(DB), '--json', '--timeout', '40'], { cwd: tempDir() });
    // A change right after the request: it must come after the snapshot.
    await waitFor('the request', async () => (await a.query<unknown[]>(`SELECT id FROM maxwell.bootstrap WHERE database_name = '${DB}' AND client_id = '${clientId}'`)).length > 0);
    await a.query(`UPDATE \`${DB}\`.base_province SET name = '北京' WHERE id = 1`);
    const r = await run;
    expect(r.code, `${r.stderr}\ncdc log:\n${cdc.logs.join('\n')}\nlast status: ${JSON.stringify(cdc.last())}`).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: number; table: string };
    expect(out.rows).toBe(34);
    expect(r.stderr).toContain(`bootstrapped 34 rows of ${DB}.base_province`);
    const recs = await readTopic(bus, topic, 37);
    await cdc.stop();
    const vs = values(recs);
    expect(vs.map((v) => v.type)).toEqual(['bootstrap-start', ...Array<string>(34).fill('bootstrap-insert'), 'bootstrap-complete', 'update']);
    expect(vs.slice(1, 35).map((v) => (v.data as { id: number }).id)).toEqual(Array.from({ length: 34 }, (_, i) => i + 1));
    expect(recs[0]!.value!.toString()).toMatch(new RegExp(`^\\{"database":"${DB}","table":"base_province","type":"bootstrap-start","ts":\\d+,"data":\\{\\}\\}$`));
    expect(recs[35]!.value!.toString()).toMatch(/"type":"bootstrap-complete","ts":\d+,"data":\{\}\}$/);
    // Bootstrap rows belong to no transaction; ts is the bootstrap time (seconds).
    for (const v of vs.slice(0, 36)) {
      expect(v.xid).toBeUndefined();
      expect(v.commit).toBeUndefined();
      expect(Math.abs((v.ts as number) - Date.now() / 1000)).toBeLessThan(120);
    }
    expect(Object.keys(vs[1]!)).toEqual(['database', 'table', 'type', 'ts', 'data']);
    expect(recs[0]!.key!.toString()).toBe(`{"database":"${DB}","table":"base_province","pk.id":null}`);
    expect(recs[1]!.key!.toString()).toBe(`{"database":"${DB}","table":"base_province","pk.id":1}`);
    expect(vs[36]!.data).toMatchObject({ id: 1, name: '北京' });
    const [row] = await a.query<{ is_complete: number; inserted_rows: number; total_rows: number }[]>(
      `SELECT is_complete, inserted_rows, total_rows FROM maxwell.bootstrap WHERE database_name = '${DB}' AND client_id = '${clientId}'`,
    );
    expect(row).toEqual({ is_complete: 1, inserted_rows: 34, total_rows: 34 });
  }, 60_000);

  test('debezium: op r records, snapshot "true" and "last"; --where', async () => {
    const topic = unique('cdc_boot_dbz');
    const clientId = unique('bootd');
    const cdc = startCdc({ bus, database: DB, topic, clientId, format: 'debezium' });
    await cdc.started;
    const r = await cli(['cdc', 'bootstrap', `${DB}.base_province`, '--where', 'id <= 3', '--client-id', clientId, '--mysql', TEST_MYSQL], { cwd: tempDir() });
    expect(r.code, r.stderr).toBe(0);
    const vs = values(await readTopic(bus, topic, 3));
    await cdc.stop();
    expect(vs.map((v) => [v.op, (v.after as { id: number }).id, (v.source as { snapshot: string }).snapshot])).toEqual([
      ['r', 1, 'true'],
      ['r', 2, 'true'],
      ['r', 3, 'last'],
    ]);
    expect(vs[0]!.before).toBeNull();
  }, 60_000);

  test('a snapshot cut short (stopped while the bus does not acknowledge) is done again after the restart', async () => {
    const topic = unique('cdc_boot_cut');
    const clientId = unique('bootc');
    const state = tempDir('rtwh-cdc-boot-');
    // First run: a bus that never acknowledges, so the snapshot fills the queue and stops there.
    const stuck: Bus = {
      ...bus,
      kind: bus.kind,
      displayUrl: 'stuck',
      producer: async () => ({ send: (_t: string, _m: ProduceMessage[]) => new Promise<never>(() => {}), close: async () => {} }) as Producer,
      consumer: (o) => bus.consumer(o),
      admin: () => bus.admin(),
      close: async () => {},
    };
    const first = startCdc({ bus: stuck, database: DB, topic, clientId, stateDir: state, queueBytes: 512 * 1024, stopGraceMs: 1000 });
    await first.started;
    const queued = await cli(['cdc', 'bootstrap', `${DB}.big`, '--client-id', clientId, '--mysql', TEST_MYSQL, '--no-wait'], { cwd: tempDir() });
    expect(queued.code, queued.stderr).toBe(0);
    await waitFor('the snapshot to start', () => (first.last()?.bootstrapRows ?? 0) > 0);
    // Stopping now: the writer cannot flush (the bus never answers); stop gives up on it after the batch in flight.
    const stopped = Promise.race([first.stop(), Bun.sleep(15_000).then(() => 'hung')]);
    expect(await stopped).not.toBe('hung');
    const [mid] = await a.query<{ is_complete: number }[]>(`SELECT is_complete FROM maxwell.bootstrap WHERE client_id = '${clientId}'`);
    expect(mid!.is_complete).toBe(0);
    // Restart on the real bus: the request is read again from the stored position and carried out in full.
    const second = startCdc({ bus, database: DB, topic, clientId, stateDir: state });
    await second.started;
    await waitFor('the request to complete', async () => (await a.query<{ is_complete: number }[]>(`SELECT is_complete FROM maxwell.bootstrap WHERE client_id = '${clientId}'`))[0]!.is_complete === 1, 60_000);
    const vs = values(await readTopic(bus, topic, 20_002));
    await second.stop();
    expect(vs.length).toBe(20_002);
    expect(vs[0]!.type).toBe('bootstrap-start');
    expect(vs[20_001]!.type).toBe('bootstrap-complete');
    expect(new Set(vs.slice(1, -1).map((v) => (v.data as { id: number }).id)).size).toBe(20_000);
  }, 120_000);
});
