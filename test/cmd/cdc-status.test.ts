/**
 * `rtwh cdc` as users run it — the real command in a child process — and what it shows: the status line it logs
 * without a terminal (rows, rows/s, binlog file:pos, lag, queue depth), `--http` /metrics and /healthz, the summary
 * at SIGTERM, and `--partition-by table|database|primary_key` putting records on Maxwell's partitions
 * (abs(String.hashCode() % partitions) of the table, the database, or the primary key values concatenated),
 * computed here independently of src/formats/maxwell.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { MysqlConn } from '../../src/store/mysql';
import { tempDir } from '../helpers/cli';
import { admin, before, masterStatus, readTopic, spawnRtwh, unique, urlFor, waitFor } from '../collect/cdc/helpers';

const DB1 = unique('cdc_st1');
const DB2 = unique('cdc_st2');
let a: MysqlConn;

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB1}\`; CREATE DATABASE \`${DB2}\`;
    CREATE TABLE \`${DB1}\`.a (id int PRIMARY KEY, v varchar(20)); CREATE TABLE \`${DB1}\`.b (id int PRIMARY KEY);
    CREATE TABLE \`${DB1}\`.c (id int PRIMARY KEY); CREATE TABLE \`${DB1}\`.d (id int PRIMARY KEY);
    CREATE TABLE \`${DB1}\`.cp (k1 int, k2 varchar(10), PRIMARY KEY (k1, k2)); CREATE TABLE \`${DB1}\`.s (id int PRIMARY KEY, v varchar(20));
    CREATE TABLE \`${DB2}\`.a (id int PRIMARY KEY, v varchar(20));`);
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB1}\`; DROP DATABASE IF EXISTS \`${DB2}\``);
  await a.close();
});

/** Java's String.hashCode (UTF-16 units, int32 wrap-around), with BigInt arithmetic. */
function javaHash(s: string): number {
  let h = 0n;
  for (let i = 0; i < s.length; i++) h = (h * 31n + BigInt(s.charCodeAt(i))) % 4294967296n;
  return Number(BigInt.asIntN(32, h));
}
/** Maxwell's MaxwellKafkaPartitioner: Math.abs(hash % numPartitions), Java's % keeping the dividend's sign. */
const maxwellPartition = (s: string, n: number) => Math.abs(javaHash(s) % n);

const STATUS = /^cdc: ([\d,]+) rows \(([\d,]+) rows\/s\) · (mysql-bin\.\d+):(\d+) · (lag [^·]+?) · queue ([\d,]+)$/;

interface StatusLine {
  rows: number;
  rate: number;
  file: string;
  pos: number;
  lag: string;
  queue: number;
}

function statusLines(out: string): StatusLine[] {
  const n = (x: string) => Number(x.replace(/,/g, ''));
  return out.split('\n').flatMap((l) => {
    const m = STATUS.exec(l);
    return m ? [{ rows: n(m[1]!), rate: n(m[2]!), file: m[3]!, pos: Number(m[4]), lag: m[5]!, queue: n(m[6]!) }] : [];
  });
}

function metric(text: string, name: string): { labels: string; value: number } {
  const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics:\n${text}`);
  return { labels: m[1]!, value: Number(m[2]) };
}

describe('rtwh cdc status line, /metrics and /healthz (the real command)', () => {
  test('rows, rows/s, binlog file:pos, lag and queue depth, as logged and as served', async () => {
    const dir = tempDir('rtwh-cdc-status-');
    const clientId = unique('st');
    const run = spawnRtwh(
      ['cdc', '--mysql', urlFor(DB1), '--bus', `sqlite:${join(dir, 'bus.db')}`, '--client-id', clientId, '--position-store', 'local',
        '--filter', `exclude: *.*, include: ${DB1}.s`, '--http', '0', '--status-every', '1'],
      dir,
    );
    let http = '';
    await waitFor('cdc to read and serve /metrics', () => {
      const out = run.output();
      http = /metrics on (http:\/\/[\d.]+:\d+)\/metrics/.exec(out)?.[1] ?? '';
      return http !== '' && out.includes('cdc: reading');
    }, 30_000);
    const start = Date.now();
    try {
      // ~1,000 rows/s for about 3 s: 30 transactions of 100 rows.
      for (let t = 0; t < 30; t++) {
        await a.query(`INSERT INTO \`${DB1}\`.s VALUES ${Array.from({ length: 100 }, (_, i) => `(${t * 100 + i}, 'r')`).join(',')}`);
        await Bun.sleep(Math.max(0, start + (t + 1) * 100 - Date.now()));
      }
      const end = await masterStatus(a);
      await waitFor('a status line with every row and an empty queue', () => statusLines(run.output()).some((s) => s.rows === 3000 && s.queue === 0), 30_000);
      await waitFor('/metrics: every row sent', async () => metric(await (await fetch(`${http}/metrics`)).text(), 'rtwh_cdc_records_sent_total').value === 3000, 30_000);
      const binlogs = new Set((await a.query<{ Log_name: string }[]>('SHOW BINARY LOGS')).map((r) => r.Log_name));

      const lines = statusLines(run.output());
      expect(lines.length).toBeGreaterThanOrEqual(3);
      // Rows only grow; rows/s is what the last second brought (the load here is ~1,000 rows/s).
      for (let i = 1; i < lines.length; i++) expect(lines[i]!.rows).toBeGreaterThanOrEqual(lines[i - 1]!.rows);
      const rates = lines.map((l) => l.rate);
      expect(Math.max(...rates)).toBeGreaterThan(300);
      expect(Math.max(...rates)).toBeLessThan(3000);
      for (const l of lines) {
        // A binlog file the server has; the read position never goes back.
        expect(binlogs.has(l.file)).toBe(true);
        expect(l.lag).toMatch(/^lag (\?|0 s|\d+(\.\d)? s \(\d+(\.\d)? (B|KB|MB)\))$/);
      }
      for (let i = 1; i < lines.length; i++) expect(before({ file: lines[i]!.file, pos: lines[i]!.pos }, { file: lines[i - 1]!.file, pos: lines[i - 1]!.pos })).toBe(false);
      const last = lines[lines.length - 1]!;
      expect(last.rows).toBe(3000);
      expect(last.queue).toBe(0);
      // Caught up: it read at least to where the server was after the last insert.
      expect(before({ file: last.file, pos: last.pos }, end)).toBe(false);

      const m = await (await fetch(`${http}/metrics`)).text();
      expect(m).toMatch(new RegExp(`^rtwh_cdc_rows_total\\{client_id="${clientId}",topic="ods_db"\\} 3000$`, 'm'));
      expect(metric(m, 'rtwh_cdc_records_sent_total').value).toBe(3000);
      expect(metric(m, 'rtwh_cdc_queue_records').value).toBe(0);
      expect(metric(m, 'rtwh_cdc_queue_bytes').value).toBe(0);
      expect(metric(m, 'rtwh_cdc_queue_max_bytes').value).toBe(64 * 1024 * 1024);
      expect(metric(m, 'rtwh_cdc_queue_max_records').value).toBe(100_000);
      expect(metric(m, 'rtwh_cdc_inflight_batches').value).toBe(0);
      expect(metric(m, 'rtwh_cdc_inflight_max_batches').value).toBe(3); // the producer thread takes 3 (writes sqlite's one by one)
      const read = metric(m, 'rtwh_cdc_read_position');
      expect(read.labels).toMatch(/,file="mysql-bin\.\d+"$/);
      expect(before({ file: /file="([^"]+)"/.exec(read.labels)![1]!, pos: read.value }, end)).toBe(false);
      const committed = metric(m, 'rtwh_cdc_committed_position');
      expect(before({ file: /file="([^"]+)"/.exec(committed.labels)![1]!, pos: committed.value }, end)).toBe(false);
      expect(metric(m, 'rtwh_cdc_lag_bytes').value).toBeGreaterThanOrEqual(0);
      expect(metric(m, 'rtwh_cdc_lag_seconds').value).toBeGreaterThanOrEqual(0);
      expect(m).toMatch(/^rtwh_cdc_up\{[^}]+,state="reading"\} 1$/m);
      const h = await fetch(`${http}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.json()).toMatchObject({ status: 'ok', waiting_for: null });

      run.proc.kill('SIGTERM');
      expect(await run.proc.exited).toBe(0);
      expect(run.output()).toMatch(/captured 3,000 rows into ods_db \(maxwell, 3,000 records\) in [\d.]+ (ms|s)/);
    } finally {
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  }, 90_000);
});

describe('rtwh cdc --partition-by (the real command)', () => {
  test('table, database and primary_key put each record on Maxwell\'s partition', async () => {
    const dir = tempDir('rtwh-cdc-part-');
    const busUrl = `sqlite:${join(dir, 'bus.db')}`;
    const modes = ['table', 'database', 'primary_key'] as const;
    const topics = Object.fromEntries(modes.map((m) => [m, unique(`cdc_part_${m}`)])) as Record<(typeof modes)[number], string>;
    const runs = modes.map((m) =>
      spawnRtwh(
        ['cdc', '--mysql', urlFor(DB1), '--bus', busUrl, '--topic', topics[m], '--partitions', '4', '--partition-by', m, '--client-id', unique(`p_${m}`),
          '--position-store', 'local', '--filter', `exclude: *.*, include: ${DB1}.*, include: ${DB2}.*, exclude: ${DB1}.s`],
        dir,
        join(dir, `${m}.log`),
      ),
    );
    try {
      await waitFor('three cdc reading', () => runs.every((r) => r.output().includes('cdc: reading')), 30_000);
      const ids = Array.from({ length: 40 }, (_, i) => i * 7 + 1);
      const vals = ids.map((i) => `(${i})`).join(',');
      await a.query(`INSERT INTO \`${DB1}\`.a VALUES ${ids.map((i) => `(${i}, 'x')`).join(',')};
        INSERT INTO \`${DB1}\`.b VALUES ${vals}; INSERT INTO \`${DB1}\`.c VALUES ${vals}; INSERT INTO \`${DB1}\`.d VALUES ${vals};
        INSERT INTO \`${DB1}\`.cp VALUES ${ids.map((i) => `(${i}, 'k${i % 5}')`).join(',')};
        INSERT INTO \`${DB2}\`.a VALUES ${ids.map((i) => `(${i}, 'y')`).join(',')};`);
      const bus = await openBus(busUrl);
      try {
        for (const m of modes) {
          const recs = await readTopic(bus, topics[m], 240, 30_000);
          expect(recs.length).toBe(240);
          const used = new Set<number>();
          for (const r of recs) {
            const v = JSON.parse(r.value!.toString()) as { database: string; table: string; data: Record<string, unknown> };
            const hashed = m === 'table' ? v.table : m === 'database' ? v.database : v.table === 'cp' ? `${String(v.data.k1)}${String(v.data.k2)}` : String(v.data.id);
            expect(r.partition, `${m}: ${v.database}.${v.table} ${JSON.stringify(v.data)}`).toBe(maxwellPartition(hashed, 4));
            used.add(r.partition);
          }
          // table: a b c d hash to 1 2 3 0; primary keys spread over all four; databases: the two names' own.
          expect(used.size).toBe(m === 'database' ? new Set([DB1, DB2].map((d) => maxwellPartition(d, 4))).size : 4);
        }
      } finally {
        await bus.close();
      }
      for (const r of runs) r.proc.kill('SIGTERM');
      for (const r of runs) expect(await r.proc.exited).toBe(0);
    } finally {
      for (const r of runs) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    }
  }, 90_000);
});
