/** `rtwh cdc` on the command line: help, flag errors before any connection, /metrics and /healthz. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus } from '../../../src/bus/types';
import type { MysqlConn } from '../../../src/store/mysql';
import { cli, tempDir } from '../../helpers/cli';
import { admin, readTopic, sqliteBus, startCdc, TEST_MYSQL, unique } from './helpers';

describe('rtwh cdc flags', () => {
  test('--help describes formats, positions and bootstrap', async () => {
    const r = await cli(['cdc', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--format', '--debezium-schemas', '--filter', '--partition-by', '--output-ddl', '--server-id', '--client-id', '--position-store', '--init-position', '--http', '--max-message-bytes', '--status-every', 'bootstrap']) {
      expect(r.stdout).toContain(s);
    }
    const b = await cli(['cdc', 'bootstrap', '--help']);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('--where');
  });

  test.each([
    [['cdc'], /no source database/],
    [['cdc', '--mysql', TEST_MYSQL, '--filter', 'include gmall.*'], /invalid --filter/],
    [['cdc', '--mysql', TEST_MYSQL, '--format', 'avro'], /argument 'avro' is invalid/],
    [['cdc', '--mysql', TEST_MYSQL, '--format', 'debezium', '--output-ddl'], /--output-ddl is a Maxwell option/],
    [['cdc', '--mysql', TEST_MYSQL, '--debezium-schemas'], /--debezium-schemas is a Debezium option/],
    [['cdc', '--mysql', TEST_MYSQL, '--server-id', 'x'], /invalid --server-id "x"/],
    [['cdc', '--mysql', TEST_MYSQL, '--init-position', 'mysql-bin.1'], /invalid --init-position/],
    [['cdc', '--mysql', TEST_MYSQL, '--client-id', 'a b'], /invalid --client-id/],
    [['cdc', 'bootstrap', 'nodot', '--mysql', TEST_MYSQL], /expected database\.table/],
  ])('%p → exit 2 with the reason', async (argv, re) => {
    const r = await cli(argv as string[], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re as RegExp);
    expect(r.stderr).toContain('hint:');
  });

  test('a table that does not exist cannot be bootstrapped', async () => {
    const r = await cli(['cdc', 'bootstrap', 'gmall.no_such_table_here', '--mysql', TEST_MYSQL, '--no-wait'], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not exist');
  });
});

describe('/metrics and /healthz', () => {
  const DB = unique('cdc_http');
  let a: MysqlConn;
  let bus: Bus;
  beforeAll(async () => {
    a = await admin();
    await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY);`);
    bus = await sqliteBus();
  });
  afterAll(async () => {
    await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
    await a.close();
    await bus.close();
  });

  test('Prometheus text with rows, queue, lag and positions; health 200 while reading', async () => {
    const topic = unique('cdc_http');
    const cdc = startCdc({ bus, database: DB, topic, http: { bind: '127.0.0.1', port: 0 } });
    const { httpUrl } = await cdc.started;
    expect(httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await a.query(`INSERT INTO \`${DB}\`.t VALUES (1), (2), (3)`);
    await readTopic(bus, topic, 3);
    await Bun.sleep(400);
    const m = await (await fetch(`${httpUrl}/metrics`)).text();
    expect(m).toContain('# TYPE rtwh_cdc_rows_total counter');
    expect(m).toMatch(/rtwh_cdc_rows_total\{client_id="[^"]+",topic="[^"]+"\} 3/);
    expect(m).toMatch(/rtwh_cdc_records_sent_total\{[^}]+\} 3/);
    expect(m).toMatch(/rtwh_cdc_queue_records\{[^}]+\} 0/);
    expect(m).toMatch(/rtwh_cdc_read_position\{[^}]+,file="mysql-bin\.\d+"\} \d+/);
    expect(m).toMatch(/rtwh_cdc_lag_bytes\{[^}]+\} \d+/);
    expect(m).toMatch(/rtwh_cdc_up\{[^}]+,state="reading"\} 1/);
    const h = await fetch(`${httpUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { status: string }).status).toBe('ok');
    expect((await fetch(`${httpUrl}/nope`)).status).toBe(404);
    await cdc.stop();
  }, 60_000);
});
