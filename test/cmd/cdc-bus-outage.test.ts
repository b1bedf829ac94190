/**
 * Kafka slow, then unreachable, WHILE `rtwh cdc` runs with rows flowing — on the CLI's own path: the real command as
 * a child process, the bus given by URL (producer in its worker thread, 3 batches in flight). The broker is not
 * touched (other test files use it): cdc talks to it through a loopback proxy (test/collect/cdc/kafka-proxy.ts) that
 * first holds every byte (a broker that does not answer), then resets every connection and refuses new ones.
 *
 * Sampled every 100 ms from --http /metrics and /healthz: the queue never holds more than its bound plus one
 * transaction, never more than 3 batches are in flight, cdc says it is waiting for the bus (both ways), reading stops
 * while the writer here keeps inserting, and once the proxy passes bytes again every row arrives.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import type { Bus } from '../../src/bus/types';
import type { MysqlConn } from '../../src/store/mysql';
import { tempDir } from '../helpers/cli';
import { admin, dropKafkaTopics, kafkaBus, kafkaTopic, readTopic, spawnRtwh, TEST_KAFKA, unique, urlFor, waitFor } from '../collect/cdc/helpers';
import { startKafkaProxy, type KafkaProxy } from '../collect/cdc/kafka-proxy';

const DB = unique('cdc_outage');
let a: MysqlConn;
let kafka: Bus;
let proxy: KafkaProxy;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\`; CREATE TABLE \`${DB}\`.t (id int PRIMARY KEY, pad varchar(1000));`);
  kafka = await kafkaBus();
  const [host, port] = TEST_KAFKA.replace(/^kafka:\/\//, '').split(':');
  proxy = await startKafkaProxy(host!, Number(port));
});

afterAll(async () => {
  await proxy.close();
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await dropKafkaTopics(kafka);
  await kafka.close();
});

/** The value of a gauge or counter in Prometheus text (the first series of that name). */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

interface Sample {
  t: number;
  phase: string;
  rows: number;
  sent: number;
  queueRecords: number;
  queueBytes: number;
  inflightBatches: number;
  inflightBytes: number;
  health: { status: string; waiting_for: string | null };
  rssKb: number;
}

const TXN_ROWS = 50;
const PAD = 900;

describe('Kafka slow, then gone, under a running rtwh cdc', () => {
  test('bounded queue and in-flight batches, status says waiting, no change lost', async () => {
    const topic = kafkaTopic('cdc_outage');
    const dir = tempDir('rtwh-cdc-outage-');
    const run = spawnRtwh(
      ['cdc', '--mysql', urlFor(DB), '--bus', proxy.url, '--topic', topic, '--client-id', unique('outage'), '--position-store', 'local',
        '--filter', `exclude: *.*, include: ${DB}.*`, '--queue-mb', '1', '--http', '0', '--status-every', '1'],
      dir,
    );
    let http = '';
    await waitFor('cdc to read and serve /metrics', () => {
      const out = run.output();
      http = /metrics on (http:\/\/[\d.]+:\d+)\/metrics/.exec(out)?.[1] ?? '';
      return http !== '' && out.includes('cdc: reading');
    }, 30_000);

    // Rows keep coming: 50-row transactions of ~1 KB rows, a few MB/s — the 1 MB queue fills at once when blocked.
    let phase = 'flowing';
    let next = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const rows = Array.from({ length: TXN_ROWS }, (_, i) => `(${next + i}, REPEAT('p', ${PAD}))`).join(',');
        await a.query(`INSERT INTO \`${DB}\`.t VALUES ${rows}`);
        next += TXN_ROWS;
        await Bun.sleep(10);
      }
    })();

    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const m = await (await fetch(`${http}/metrics`)).text();
          const health = (await (await fetch(`${http}/healthz`)).json()) as Sample['health'];
          const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${run.proc.pid}/status`, 'utf8'))?.[1];
          samples.push({
            t: Date.now(), phase, health, rssKb: Number(rss ?? 0),
            rows: gauge(m, 'rtwh_cdc_rows_total'), sent: gauge(m, 'rtwh_cdc_records_sent_total'),
            queueRecords: gauge(m, 'rtwh_cdc_queue_records'), queueBytes: gauge(m, 'rtwh_cdc_queue_bytes'),
            inflightBatches: gauge(m, 'rtwh_cdc_inflight_batches'), inflightBytes: gauge(m, 'rtwh_cdc_inflight_bytes'),
          });
        } catch (e) {
          if (sampling) throw e;
        }
        await Bun.sleep(100);
      }
    })();

    try {
      await waitFor('records on Kafka', () => (samples.at(-1)?.sent ?? 0) > 500, 30_000);
      const m0 = await (await fetch(`${http}/metrics`)).text();
      const queueMaxBytes = gauge(m0, 'rtwh_cdc_queue_max_bytes');
      const queueMaxRecords = gauge(m0, 'rtwh_cdc_queue_max_records');
      const inflightMax = gauge(m0, 'rtwh_cdc_inflight_max_batches');
      expect(queueMaxBytes).toBe(1024 * 1024);
      expect(inflightMax).toBe(3);

      // Slow: the broker's answers (and further requests) are held. Requests time out only after 30 s.
      phase = 'stalled';
      proxy.stall();
      await waitFor('status: waiting for the bus (no acknowledgement)', () => samples.at(-1)?.health.waiting_for?.startsWith('the bus: no acknowledgement for') ?? false, 20_000);
      await waitFor('the queue to fill', () => (samples.at(-1)?.queueBytes ?? 0) >= queueMaxBytes / 2, 20_000);
      const rowsStalled = samples.at(-1)!.rows;
      const insertedStalled = next;
      await Bun.sleep(2000);
      // Reading stopped (the queue is full) while rows kept coming.
      expect(next - insertedStalled).toBeGreaterThan(500);
      expect(samples.at(-1)!.rows - rowsStalled).toBeLessThanOrEqual(2 * TXN_ROWS);

      // Gone: every connection reset, new ones closed at once.
      phase = 'down';
      proxy.cut();
      await waitFor('status: waiting for the bus (unreachable)', () => /^the bus: cannot reach Kafka/.test(samples.at(-1)?.health.waiting_for ?? ''), 30_000);
      const rowsDown = samples.at(-1)!.rows;
      const insertedDown = next;
      await Bun.sleep(3000);
      expect(next - insertedDown).toBeGreaterThan(500);
      expect(samples.at(-1)!.rows - rowsDown).toBeLessThanOrEqual(2 * TXN_ROWS);

      // Back: every change arrives.
      phase = 'back';
      proxy.resume();
      await Bun.sleep(1000);
      writing = false;
      await writer;
      const total = next;
      await waitFor('every row sent', () => (samples.at(-1)?.sent ?? 0) >= total, 120_000);
      phase = 'caught up';
      await waitFor('status: reading', () => samples.at(-1)?.health.status === 'ok', 20_000);

      sampling = false;
      await sampler;
      run.proc.kill('SIGTERM');
      expect(await run.proc.exited).toBe(0);

      const recs = await readTopic(kafka, topic, undefined, 60_000, 1500);
      const ids = new Set(recs.map((r) => (JSON.parse(r.value!.toString()) as { data: { id: number } }).data.id));
      const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !ids.has(i));
      expect(missing.slice(0, 20)).toEqual([]);
      expect(ids.size).toBe(total);

      // Bounds, over every sample: the queue holds at most its bound plus the transaction whose commit crossed it.
      const txnBytes = TXN_ROWS * (PAD + 200);
      const worst = (f: (s: Sample) => number) => Math.max(...samples.map(f));
      expect(worst((s) => s.queueBytes)).toBeLessThanOrEqual(queueMaxBytes + txnBytes);
      expect(worst((s) => s.queueRecords)).toBeLessThanOrEqual(queueMaxRecords);
      expect(worst((s) => s.inflightBatches)).toBeLessThanOrEqual(inflightMax);
      expect(worst((s) => s.inflightBytes)).toBeLessThanOrEqual(inflightMax * (queueMaxBytes + txnBytes));
      // It did wait with a full queue and batches in flight (so the bounds above were reached, not just respected).
      const outage = samples.filter((s) => s.phase === 'stalled' || s.phase === 'down');
      expect(Math.max(...outage.map((s) => s.queueBytes))).toBeGreaterThan(queueMaxBytes / 2);
      expect(outage.some((s) => s.health.status === 'waiting')).toBe(true);
      const rssBefore = Math.max(...samples.filter((s) => s.phase === 'flowing').map((s) => s.rssKb));
      const rssOutage = Math.max(...outage.map((s) => s.rssKb));
      const writtenDuringOutage = (insertedDown - insertedStalled + (next - insertedDown)) * (PAD + 100);
      // Memory: the process grew by less than half of what was written while it waited (it holds the queue, not the rows).
      expect((rssOutage - rssBefore) * 1024).toBeLessThan(writtenDuringOutage / 2);
      console.log(
        `outage: ${outage.length} samples, queue max ${worst((s) => s.queueBytes)} B / ${worst((s) => s.queueRecords)} records, ` +
          `in flight max ${worst((s) => s.inflightBatches)} batches / ${worst((s) => s.inflightBytes)} B, RSS ${rssBefore} → ${rssOutage} kB while ~${Math.round(writtenDuringOutage / 1024)} kB of rows were written`,
      );
      // The status line (--status-every 1) says so too, and the log says when the bus was back.
      const out = run.output();
      expect(out).toMatch(/cdc: waiting for the bus: /);
      expect(out).toMatch(/cdc: [\d,]+ rows \([\d,]+ rows\/s\) · waiting for the bus: (no acknowledgement for \d+ s|cannot reach Kafka)/);
      expect(out).toContain('the bus accepts records again');
    } finally {
      writing = false;
      sampling = false;
      proxy.resume();
      await writer.catch(() => undefined);
      await sampler.catch(() => undefined);
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  }, 240_000);
});
