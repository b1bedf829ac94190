/**
 * Flow control in-process: a bus that does not acknowledge makes cdc stop reading with bounded memory (and catch up
 * after), a Kafka absent at start makes it wait instead of failing, and rows over 1 MB pass through Kafka intact.
 * Kafka going slow or away WHILE rows flow, on the CLI's path (worker thread, 3 batches in flight), is
 * test/cmd/cdc-bus-outage.test.ts; topic size limits are big-records.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { openBus } from '../../../src/bus/index';
import type { Bus, ProduceMessage, Producer } from '../../../src/bus/types';
import type { MysqlConn } from '../../../src/store/mysql';
import { join } from 'node:path';
import { tempDir } from '../../helpers/cli';
import { admin, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, sqliteBus, startCdc, TEST_KAFKA, unique, values, waitFor } from './helpers';

const DB = unique('cdc_flow');
let a: MysqlConn;
let sqlite: Bus;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`;
    CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY, pad varchar(1000));
    CREATE TABLE \`${DB}\`.big (id int PRIMARY KEY, body longtext, bin longblob);`);
  sqlite = await sqliteBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await sqlite.close();
});

/** The sqlite bus behind a gate: while closed, every send waits (a bus that does not acknowledge). */
function gatedBus(inner: Bus): { bus: Bus; open(): void; sentWhileClosed: () => number; sends: () => number } {
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined = new Promise((r) => (release = r));
  let sends = 0;
  let closedSends = 0;
  const bus: Bus = {
    kind: inner.kind,
    displayUrl: `gated ${inner.displayUrl}`,
    async producer(opts) {
      const p = await inner.producer(opts);
      const wrapped: Producer = {
        async send(topic: string, messages: ProduceMessage[]) {
          if (gate) {
            closedSends++;
            await gate;
          }
          sends++;
          return p.send(topic, messages);
        },
        close: () => p.close(),
      };
      return wrapped;
    },
    consumer: (o) => inner.consumer(o),
    admin: () => inner.admin(),
    close: async () => {},
  };
  return {
    bus,
    open() {
      gate = undefined;
      release?.();
    },
    sentWhileClosed: () => closedSends,
    sends: () => sends,
  };
}

describe('back-pressure', () => {
  test('a bus that does not acknowledge: the queue stays bounded, reading stops, everything arrives once it does', async () => {
    const topic = unique('cdc_bp');
    const g = gatedBus(sqlite);
    const queueBytes = 256 * 1024;
    const cdc = startCdc({ bus: g.bus, database: DB, topic, queueBytes, batchRecords: 200, statusIntervalMs: 50 });
    await cdc.started;
    // 4,000 rows of ~1 KB in 40 transactions: ~4 MB, sixteen times the queue.
    for (let t = 0; t < 40; t++) {
      const rows = Array.from({ length: 100 }, (_, i) => `(${t * 100 + i}, REPEAT('x', 900))`).join(',');
      await a.query(`INSERT INTO \`${DB}\`.t VALUES ${rows}`);
    }
    await waitFor('the reader to stop at a full queue', () => (cdc.last()?.queueBytes ?? 0) >= queueBytes);
    await Bun.sleep(500);
    const s1 = cdc.last()!;
    await Bun.sleep(500);
    const s2 = cdc.last()!;
    // Nothing acknowledged, the queue holds at most its bound plus one transaction (100 rows ~ 100 KB), and the
    // reader does not move while it is full.
    expect(s2.recordsSent).toBe(0);
    expect(s2.queueBytes).toBeLessThanOrEqual(queueBytes + 150 * 1024);
    expect(s2.rows).toBe(s1.rows);
    expect(s2.rows).toBeLessThan(4000);
    expect(s2.read).toEqual(s1.read);
    expect(g.sentWhileClosed()).toBe(1);
    g.open();
    const recs = await readTopic(sqlite, topic, 4000);
    await cdc.stop();
    const ids = values(recs).map((v) => (v.data as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: 4000 }, (_, i) => i));
  }, 90_000);

  test('a Kafka absent at start: cdc waits (status says so) and stops cleanly when asked', async () => {
    const dead = await openBus('kafka://127.0.0.1:9', { clientId: 'rtwh-cdc-test' });
    const cdc = startCdc({ bus: dead, database: DB, topic: unique('cdc_dead') });
    await waitFor('a waiting status', () => cdc.statuses.some((s) => s.state === 'waiting' && (s.waitingFor ?? '').includes('bus')), 30_000);
    const r = await cdc.stop();
    expect(r.records).toBe(0);
    expect(cdc.logs.join('\n')).toContain('waiting for the bus');
    await dead.close();
  }, 60_000);
});

describe('producing in a worker thread', () => {
  test('records in order on their partitions, positions stored, both for sqlite and Kafka', async () => {
    const dir = tempDir('rtwh-cdc-worker-');
    const url = `sqlite:${join(dir, 'bus.db')}`;
    const local = await openBus(url);
    const kafka = await kafkaBus();
    try {
      for (const [bus, busUrl] of [[local, url], [kafka, TEST_KAFKA]] as const) {
        const topic = busUrl === TEST_KAFKA ? kafkaTopic('cdc_worker') : unique('cdc_worker');
        const cdc = startCdc({ bus, busUrl, database: DB, topic, partitions: 3, partitionBy: 'primary_key', batchRecords: 700 });
        await cdc.started;
        for (let t = 0; t < 10; t++) {
          await a.query(`INSERT INTO \`${DB}\`.t VALUES ${Array.from({ length: 1000 }, (_, i) => `(${100_000 + t * 1000 + i}, 'w')`).join(',')}`);
        }
        await a.query(`DELETE FROM \`${DB}\`.t WHERE id >= 100000`);
        const recs = await readTopic(bus, topic, 20_000, 60_000);
        const r = await cdc.stop();
        expect(r.records).toBe(20_000);
        expect(cdc.logs.join('\n')).not.toContain('main thread');
        // Per partition, each row's insert comes before its delete, ids in commit order.
        const byPart = new Map<number, { id: number; type: string }[]>();
        for (const rec of recs) {
          const v = JSON.parse(rec.value!.toString()) as { type: string; data: { id: number } };
          // Keys and values cross to the worker as runs of arena bytes: each record keeps its own key.
          expect(rec.key!.toString()).toBe(`{"database":"${DB}","table":"t","pk.id":${v.data.id}}`);
          const l = byPart.get(rec.partition) ?? [];
          l.push({ id: v.data.id, type: v.type });
          byPart.set(rec.partition, l);
        }
        for (const l of byPart.values()) {
          const ins = l.filter((x) => x.type === 'insert').map((x) => x.id);
          expect(ins).toEqual([...ins].sort((x, y) => x - y));
          const firstDelete = l.findIndex((x) => x.type === 'delete');
          expect(l.slice(firstDelete).every((x) => x.type === 'delete')).toBe(true);
        }
        expect(r.to.pos).toBeGreaterThan(0);
      }
    } finally {
      await local.close();
      await dropKafkaTopics(kafka);
      await kafka.close();
    }
  }, 120_000);
});

describe('rows over 1 MB', () => {
  test('a 2 MB LONGTEXT and a 2 MB BLOB through Kafka, byte for byte', async () => {
    const kafka = await kafkaBus();
    const topic = kafkaTopic('cdc_big');
    try {
      const cdc = startCdc({ bus: kafka, database: DB, topic });
      await cdc.started;
      const text = '数据'.repeat(350_000) + 'end'; // 2.1 MB of UTF-8
      const bin = Buffer.alloc(2 * 1024 * 1024);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) & 0xff;
      await a.query(`INSERT INTO \`${DB}\`.big VALUES (1, '${text}', 0x${bin.toString('hex')})`);
      await a.query(`UPDATE \`${DB}\`.big SET body = CONCAT(body, '!') WHERE id = 1`);
      const recs = await readTopic(kafka, topic, 2, 60_000);
      await cdc.stop();
      expect(recs.length).toBe(2);
      const [ins, upd] = values(recs) as { data: { body: string; bin: string }; old?: { body: string } }[];
      expect(recs[0]!.value!.length).toBeGreaterThan(4 * 1024 * 1024);
      expect(ins!.data.body).toBe(text);
      expect(createHash('sha256').update(Buffer.from(ins!.data.bin, 'base64')).digest('hex')).toBe(createHash('sha256').update(bin).digest('hex'));
      expect(upd!.data.body).toBe(`${text}!`);
      expect(upd!.old!.body).toBe(text);
    } finally {
      await dropKafkaTopics(kafka);
      await kafka.close();
    }
  }, 120_000);
});
