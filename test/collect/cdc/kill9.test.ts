/**
 * kill -9 of `rtwh cdc` (a child process, Kafka bus, positions in maxwell.positions) at random points while
 * transactions keep coming — versioned rows from this test and a `rtwh mock db` business day — then a last clean
 * run. Every change must be on the topic: the set of (table, primary key, version) written equals the set read;
 * duplicates are allowed (at-least-once), losses are not, and each restart may resend only what cdc's bound says:
 * at most 4 batches (the Kafka sink's 3 in flight, and one acknowledged with its position store under way) plus
 * the first part of one transaction. The topic's end offsets
 * after each kill tell which run wrote each record, so the resends are counted per kill. Small batches
 * (--batch-records 100) make the bound tight enough to mean something under this load.
 * RTWH_CDC_KILLS sets how many kills (default 8, what CI runs).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bus } from '../../../src/bus/types';
import type { MysqlConn } from '../../../src/store/mysql';
import { tempDir } from '../../helpers/cli';
import { admin, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, TEST_KAFKA, unique, urlFor, waitFor } from './helpers';

/** The Kafka sink's batches in flight (sink.ts WorkerSink.maxInflight) and the batch size the test runs cdc with. */
const IN_FLIGHT = 3;
const BATCH = 100;

const MAIN = resolve(import.meta.dir, '../../../cmd/main.ts');
const KILLS = Number(process.env.RTWH_CDC_KILLS ?? 8);
const DB = unique('cdc_k9');
const MOCK = `${DB}_mock`;
const CLIENT = unique('k9');
let a: MysqlConn;
let kafka: Bus;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`;
    CREATE TABLE \`${DB}\`.v1 (id int PRIMARY KEY, ver int NOT NULL, note varchar(50));
    CREATE TABLE \`${DB}\`.v2 (id int PRIMARY KEY, ver int NOT NULL, amount decimal(10,2));
    CREATE TABLE \`${DB}\`.sentinel (id int PRIMARY KEY);`);
  kafka = await kafkaBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\`; DROP DATABASE IF EXISTS \`${MOCK}\`; DELETE FROM maxwell.positions WHERE client_id = '${CLIENT}';`);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
});

function spawnCli(args: string[], cwd: string, log: string): Bun.Subprocess {
  const fd = openSync(log, 'a');
  try {
    return Bun.spawn([process.execPath, MAIN, ...args], { cwd, stdin: 'ignore', stdout: fd, stderr: fd, env: { ...process.env, NO_COLOR: '1' } });
  } finally {
    closeSync(fd);
  }
}

/** Random transactions on v1/v2: inserts (ver 1), updates (ver + 1), deletes; returns what it wrote. */
function versionedWriter(conn: MysqlConn) {
  const live = { v1: new Map<number, number>(), v2: new Map<number, number>() };
  const written = new Set<string>();
  let nextId = 1;
  let stop = false;
  let txns = 0;
  const run = (async () => {
    while (!stop) {
      const ops: string[] = [];
      const done: string[] = [];
      for (let k = 1 + Math.floor(Math.random() * 4); k > 0; k--) {
        const t = Math.random() < 0.5 ? 'v1' : 'v2';
        const m = live[t];
        const r = Math.random();
        const ids = [...m.keys()];
        if (ids.length === 0 || r < 0.3) {
          const id = nextId++;
          m.set(id, 1);
          ops.push(t === 'v1' ? `INSERT INTO \`${DB}\`.v1 VALUES (${id}, 1, 'n${id}')` : `INSERT INTO \`${DB}\`.v2 VALUES (${id}, 1, ${id}.25)`);
          done.push(`${t}:${id}:1`);
        } else {
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          if (r < 0.9) {
            const ver = m.get(id)! + 1;
            m.set(id, ver);
            ops.push(`UPDATE \`${DB}\`.${t} SET ver = ${ver} WHERE id = ${id}`);
            done.push(`${t}:${id}:${ver}`);
          } else {
            m.delete(id);
            ops.push(`DELETE FROM \`${DB}\`.${t} WHERE id = ${id}`);
            done.push(`${t}:${id}:del`);
          }
        }
      }
      await conn.query(`BEGIN; ${ops.join('; ')}; COMMIT;`);
      for (const d of done) written.add(d);
      txns++;
      if (txns % 50 === 0) await Bun.sleep(5);
    }
  })();
  return {
    written,
    txns: () => txns,
    async stop() {
      stop = true;
      await run;
    },
  };
}

describe('kill -9 under load', () => {
  test(`${KILLS} kills at random points: every change arrives`, async () => {
    const dir = tempDir('rtwh-cdc-k9-');
    const log = join(dir, 'cdc.log');
    const topic = kafkaTopic('cdc_k9');
    const clientId = CLIENT;
    const cdcArgs = ['cdc', '--mysql', urlFor(DB), '--bus', TEST_KAFKA, '--topic', topic, '--partitions', '3', '--client-id', clientId, '--batch-records', String(BATCH),
      '--filter', `exclude: *.*, include: ${DB}.*, include: ${MOCK}.*`, '--server-id', String(20_000 + Math.floor(Math.random() * 10_000))];
    // Made here (not by cdc) so that its end offsets can be read after the first kill, however early it comes.
    const ad = await kafka.admin();
    await ad.createTopic({ name: topic, partitions: 3 });
    const endOffsets = async () => new Map((await ad.describeTopic(topic)).partitions.map((p) => [p.partition, p.endOffset]));
    /** After kill k: the end offset of each partition (records below it were written by runs 0..k). */
    const ends: Map<number, number>[] = [];

    // The mock business: schema and base data first (before cdc's first start, not compared), then a day under load.
    const init = spawnCli(['mock', 'db', '--mysql', urlFor(MOCK), '--init', '--date', '2025-01-13', '--seed', '3', '--fast', '--init-users', '200'], dir, join(dir, 'mock-init.log'));
    expect(await init.exited).toBe(0);

    // First start: the position (end of the binlog) is stored before anything else.
    let cdc = spawnCli(cdcArgs, dir, log);
    await waitFor('cdc to store its start position', async () => (await a.query<unknown[]>(`SELECT 1 FROM maxwell.positions WHERE client_id = '${clientId}'`)).length > 0, 30_000);

    const conn = await admin();
    const writer = versionedWriter(conn);
    const mock = spawnCli(['mock', 'db', '--mysql', urlFor(MOCK), '--date', '2025-01-14', '--seed', '4', '--user-count', '100'], dir, join(dir, 'mock-day.log'));
    try {
      for (let k = 0; k < KILLS; k++) {
        await Bun.sleep(200 + Math.floor(Math.random() * 1300));
        cdc.kill(9);
        await cdc.exited;
        ends.push(await endOffsets());
        cdc = spawnCli(cdcArgs, dir, log);
      }
      await Bun.sleep(500);
    } finally {
      await writer.stop();
      await conn.close();
      await ad.close();
    }
    expect(await mock.exited).toBe(0);
    const mockRows = /wrote ([\d,]+) rows/.exec(readFileSync(join(dir, 'mock-day.log'), 'utf8'))?.[1];
    expect(Number(mockRows?.replace(/,/g, '') ?? 0)).toBeGreaterThan(100);

    // The last run catches up (the sentinel is the last change), then stops cleanly on SIGTERM.
    await a.query(`INSERT INTO \`${DB}\`.sentinel VALUES (1)`);
    let records = await readTopic(kafka, topic);
    await waitFor('the sentinel', async () => {
      records = await readTopic(kafka, topic, undefined, 10_000, 500);
      return records.some((r) => r.value!.toString().includes('"table":"sentinel"'));
    }, 120_000);
    cdc.kill('SIGTERM');
    expect(await cdc.exited).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('captured');

    // Versioned rows: the set written equals the set on the topic.
    const got = new Set<string>();
    let versioned = 0;
    const mockFinal = new Map<string, Record<string, unknown>>();
    for (const r of records) {
      const v = JSON.parse(r.value!.toString()) as { database: string; table: string; type: string; data: Record<string, unknown> };
      if (v.database === DB && (v.table === 'v1' || v.table === 'v2')) {
        versioned++;
        got.add(`${v.table}:${String(v.data.id)}:${v.type === 'delete' ? 'del' : String(v.data.ver)}`);
      } else if (v.database === MOCK && 'id' in v.data) {
        if (v.type === 'delete') mockFinal.delete(`${v.table}:${String(v.data.id)}`);
        else mockFinal.set(`${v.table}:${String(v.data.id)}`, v.data);
      }
    }
    const missing = [...writer.written].filter((w) => !got.has(w));
    const phantom = [...got].filter((g) => !writer.written.has(g));
    expect(missing.slice(0, 20)).toEqual([]);
    expect(phantom.slice(0, 20)).toEqual([]);
    expect(writer.txns()).toBeGreaterThan(50);

    // Per kill: the changes the restarted run sent that an earlier run had written already. Each record's run is
    // found from the end offsets after each kill; a change is its value (xid and xoffset make each one unique).
    const runOf = (partition: number, offset: number) => {
      const k = ends.findIndex((e) => offset < (e.get(partition) ?? 0));
      return k < 0 ? KILLS : k;
    };
    const seen = new Set<string>();
    const resent = Array.from({ length: KILLS + 1 }, () => new Set<string>());
    const byRun = [...records].sort((x, y) => runOf(x.partition, x.offset) - runOf(y.partition, y.offset));
    let run = 0;
    let pending: string[] = [];
    for (const r of byRun) {
      const k = runOf(r.partition, r.offset);
      if (k !== run) {
        for (const v of pending) seen.add(v);
        pending = [];
        run = k;
      }
      const v = r.value!.toString();
      if (seen.has(v)) resent[k]!.add(v);
      pending.push(v);
    }
    // Rows per transaction, each change counted once.
    const xids = new Map<string, number>();
    for (const v of new Set(records.map((r) => r.value!.toString()))) {
      const xid = /"xid":(\d+)/.exec(v)?.[1];
      if (xid !== undefined) xids.set(xid, (xids.get(xid) ?? 0) + 1);
    }
    const largestTxn = Math.max(...xids.values());
    // in flight, or acknowledged with the position store under way (writer.ts): maxInflight + 1 batches
    const bound = (IN_FLIGHT + 1) * BATCH + largestTxn - 1;
    const perKill = resent.slice(1).map((x) => x.size);
    console.log(`kill -9 resends per restart: ${perKill.join(' ')} (bound ${bound} = (${IN_FLIGHT} + 1) × ${BATCH} + largest transaction ${largestTxn} − 1)`);
    for (const [k, n] of perKill.entries()) expect(n, `restart after kill ${k + 1} resent ${n} changes`).toBeLessThanOrEqual(bound);

    // The mock business: the last record of every row is the row MariaDB holds (records of one table are in order
    // on their partition).
    let checked = 0;
    for (const t of ['order_info', 'order_detail', 'payment_info', 'cart_info', 'user_info', 'coupon_use']) {
      const rows = await a.query<Record<string, unknown>[]>(`SELECT * FROM \`${MOCK}\`.${t}`);
      for (const row of rows) {
        const m = mockFinal.get(`${t}:${String(row.id)}`);
        if (m === undefined) {
          // Only rows of the --init day (before cdc started) and never touched since may be absent.
          expect(String(row.create_time ?? ''), `${t} ${String(row.id)} is missing`).not.toStartWith('2025-01-14');
          expect(String(row.operate_time ?? ''), `${t} ${String(row.id)} is missing`).not.toStartWith('2025-01-14');
          continue;
        }
        checked++;
        for (const [k, dbv] of Object.entries(row)) {
          const tv = m![k];
          if (dbv === null) expect(tv, `${t}.${k}`).toBeNull();
          else if (typeof tv === 'number') expect(tv, `${t}.${k}`).toBe(Number(dbv));
          else expect(tv, `${t}.${k}`).toBe(String(dbv));
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  }, 300_000);
});
