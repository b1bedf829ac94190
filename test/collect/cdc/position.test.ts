/**
 * Where cdc resumes: Maxwell's positions table (or the local file), one cdc per client id, --init-position,
 * binlog rotation, and a restart that re-sends nothing that was acknowledged and skips nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../../../src/bus/types';
import { RtwhError } from '../../../src/errors';
import { formatPosition, LocalPositionStore, parsePosition } from '../../../src/collect/cdc/position';
import { defaultReplicaId } from '../../../src/collect/cdc/run';
import type { MysqlConn } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';
import { admin, readTopic, sqliteBus, startCdc, unique, values } from './helpers';

const DB = unique('cdc_pos');
let a: MysqlConn;
let bus: Bus;
const mysqlClients: string[] = [];

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY, v int);`);
  bus = await sqliteBus();
});

afterAll(async () => {
  for (const c of mysqlClients) await a.query(`DELETE FROM maxwell.positions WHERE client_id = '${c}'`);
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await bus.close();
});

async function ids(topic: string, n?: number): Promise<number[]> {
  return values(await readTopic(bus, topic, n)).map((v) => (v.data as { id: number }).id);
}

describe("Maxwell's positions table", () => {
  test('stored after the bus acknowledged; a restart continues there; one cdc per client id', async () => {
    const clientId = unique('pos');
    mysqlClients.push(clientId);
    const topic = unique('cdc_pos');
    const first = startCdc({ bus, database: DB, topic, clientId, positionStore: 'mysql' });
    const { start } = await first.started;
    // The start position is stored at once: a crash before the first commit resumes here, not at a later end.
    const rows0 = await a.query<{ binlog_file: string; binlog_position: number }[]>(`SELECT binlog_file, binlog_position FROM maxwell.positions WHERE client_id = '${clientId}'`);
    expect(rows0.map((r) => `${r.binlog_file}:${r.binlog_position}`)).toEqual([formatPosition(start)]);

    // A second cdc with the same client id is refused.
    const twin = startCdc({ bus, database: DB, topic: unique('twin'), clientId, positionStore: 'mysql' });
    const err = await twin.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtwhError);
    expect((err as RtwhError).code).toBe('POSITION_LOCKED');

    await a.query(`INSERT INTO \`${DB}\`.t VALUES (1, 1), (2, 1); INSERT INTO \`${DB}\`.t VALUES (3, 1);`);
    expect(await ids(topic, 3)).toEqual([1, 2, 3]);
    const r1 = await first.stop();
    const rows1 = await a.query<{ server_id: number; binlog_file: string; binlog_position: number; gtid_set: string | null; heartbeat_at: number | null }[]>(
      `SELECT server_id, binlog_file, binlog_position, gtid_set, heartbeat_at FROM maxwell.positions WHERE client_id = '${clientId}'`,
    );
    expect(rows1.length).toBe(1);
    expect(rows1[0]!.server_id).toBe(1);
    expect(`${rows1[0]!.binlog_file}:${rows1[0]!.binlog_position}`).toBe(formatPosition(r1.to));
    expect(rows1[0]!.gtid_set).toMatch(/^0-1-\d+$/);

    // Changes while cdc is down arrive after the restart; nothing acknowledged is sent again.
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (4, 1); UPDATE \`${DB}\`.t SET v = 2 WHERE id = 1;`);
    const second = startCdc({ bus, database: DB, topic, clientId, positionStore: 'mysql' });
    expect((await second.started).start).toEqual(expect.objectContaining({ file: r1.to.file, pos: r1.to.pos }));
    expect(await ids(topic, 5)).toEqual([1, 2, 3, 4, 1]);
    await second.stop();
    expect(await ids(topic)).toEqual([1, 2, 3, 4, 1]);
    await a.query(`DELETE FROM maxwell.positions WHERE client_id = '${clientId}'`);
  }, 60_000);

  test('--init-position wins over the stored position', async () => {
    const state = tempDir('rtwh-cdc-init-');
    const clientId = unique('init');
    const topic = unique('cdc_init');
    const [m] = await a.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (100, 1)`);
    // The stored position (end of the binlog) is past row 100; --init-position goes back before it.
    const c = startCdc({ bus, database: DB, topic, clientId, stateDir: state, initPosition: parsePosition(`${m!.File}:${m!.Position}`) });
    await c.started;
    expect(await ids(topic, 1)).toEqual([100]);
    const r = await c.stop();
    const doc = JSON.parse(readFileSync(LocalPositionStore.pathFor(state, clientId), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ server_id: 1, client_id: clientId, binlog_file: r.to.file, binlog_position: r.to.pos });
    expect(existsSync(`${LocalPositionStore.pathFor(state, clientId)}.lock`)).toBe(false);
  }, 60_000);

  test('binlog rotation (FLUSH BINARY LOGS) mid-stream: nothing lost, the position moves to the new file', async () => {
    const topic = unique('cdc_rot');
    const state = tempDir('rtwh-cdc-rot-');
    const clientId = unique('rot');
    const c = startCdc({ bus, database: DB, topic, stateDir: state, clientId });
    const { start } = await c.started;
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (200, 1); FLUSH BINARY LOGS; INSERT INTO \`${DB}\`.t VALUES (201, 1); FLUSH BINARY LOGS; FLUSH BINARY LOGS; INSERT INTO \`${DB}\`.t VALUES (202, 1);`);
    expect(await ids(topic, 3)).toEqual([200, 201, 202]);
    const r = await c.stop();
    expect(r.to.file > start.file).toBe(true);
    // And a restart from the stored position (in the newest file) re-sends nothing.
    const again = startCdc({ bus, database: DB, topic, stateDir: state, clientId });
    await again.started;
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (203, 1)`);
    expect(await ids(topic, 4)).toEqual([200, 201, 202, 203]);
    await again.stop();
    expect(join(state, 'cdc')).toBeTruthy();
  }, 60_000);
});

describe('server ids', () => {
  test('two cdc announcing the same --server-id: one stops with an error that says so', async () => {
    const id = 40_000 + Math.floor(Math.random() * 10_000);
    const one = startCdc({ bus, database: DB, topic: unique('clash1'), replicaId: id });
    await one.started;
    const two = startCdc({ bus, database: DB, topic: unique('clash2'), replicaId: id });
    await two.started;
    const failed = await Promise.race([one.done.then(() => 'one ok', (e: unknown) => e), two.done.then(() => 'two ok', (e: unknown) => e), Bun.sleep(30_000).then(() => 'none')]);
    expect(failed).toBeInstanceOf(RtwhError);
    expect((failed as RtwhError).message).toContain(`server id ${id}`);
    expect((failed as RtwhError).hint).toContain('--server-id');
    await one.stop().catch(() => undefined);
    await two.stop().catch(() => undefined);
  }, 60_000);

  test('the default server id is 6379 for client id maxwell, and derived from any other client id', () => {
    expect(defaultReplicaId('maxwell')).toBe(6379);
    expect(defaultReplicaId('a')).not.toBe(defaultReplicaId('b'));
    expect(defaultReplicaId('shop')).toBe(defaultReplicaId('shop'));
    expect(defaultReplicaId('shop')).toBeGreaterThanOrEqual(100_000);
  });
});

describe('parsing positions', () => {
  test('FILE:POS', () => {
    expect(parsePosition('mysql-bin.000003:4')).toEqual({ file: 'mysql-bin.000003', pos: 4 });
    expect(() => parsePosition('mysql-bin.000003')).toThrow(/expected FILE:POS/);
    expect(() => parsePosition('x:3')).toThrow(/start at 4/);
  });
});
