/**
 * `rtwh demo`: the whole embedded pipeline end to end, and its report agrees with the warehouse it built and, for
 * the number of orders and of registrations, with the raw business changes it generated (the oracle's counts:
 * test/e2e/raw.ts).
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { sparkline } from '../../cmd/demo';
import { openDuckDB } from '../../src/store/duckdb';
import { loadRaw, readTopic, textRows } from '../e2e/raw';
import { cli, tempDir } from '../helpers/cli';

/** The cells of the markdown table row under `title`'s header, by column name. */
function markdownRow(stdout: string, title: string): Record<string, string> {
  const lines = stdout.split('\n');
  const at = lines.indexOf(title);
  expect(at).toBeGreaterThanOrEqual(0);
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
  const head = cells(lines[at + 1]!);
  const row = cells(lines[at + 3]!);
  return Object.fromEntries(head.map((h, i) => [h, row[i]!]));
}

describe('rtwh demo', () => {
  test('mocks a day, runs dim, dwd and dws to the end, and prints a report that matches the warehouse', async () => {
    const dir = tempDir('rtwh-demo-');
    const r = await cli(['demo', '--dir', 'd', '--seed', '4'], { cwd: dir });
    expect(r.stderr).toContain('[6/6] ADS report for 2025-01-14');
    expect(r.code).toBe(0);
    // It ends by saying how long it took.
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^demo done in \d+(\.\d)? (ms|s)$/);
    for (const title of ['GMV and orders of the day', 'User counts', 'Top provinces', 'Top trademarks', 'Channels by unique visitors', 'Page views by hour']) expect(r.stdout).toContain(title);
    // The report's GMV is the warehouse's: the sum over the sku windows equals the sum over the province windows.
    const q = async (sql: string) => {
      const x = await cli(['query', sql, '--format', 'json'], { cwd: join(dir, 'd') });
      expect(x.code).toBe(0);
      return JSON.parse(x.stdout) as Record<string, unknown>[];
    };
    const [sku] = await q('select sum(order_amount)::varchar as s from dws_trade_sku_order_window');
    const [prov] = await q('select sum(order_amount)::varchar as s from dws_trade_province_order_window');
    expect(sku!.s).toBe(prov!.s);
    expect(r.stdout).toContain(String(sku!.s));
    expect(r.stdout).toMatch(/[▁▂▃▄▅▆▇█]{24}/);

    // The number of orders it prints is the number of orders of the day in the raw changes it wrote to ods_db:
    // distinct order ids of the day's order_detail inserts whose order_info insert exists (the oracle's count).
    const gmv = markdownRow(r.stdout, 'GMV and orders of the day');
    expect(gmv.gmv).toBe(String(sku!.s));
    const busPath = join(dir, 'd', '.rtwh', 'bus.db');
    const db = await openDuckDB(':memory:');
    try {
      await loadRaw(db, dir, await readTopic(busPath, 'ods_db'), await readTopic(busPath, 'ods_log'));
      const [want] = await textRows(db, `select count(distinct order_id)::VARCHAR as n from counted_od where d = DATE '2025-01-14'`);
      expect(Number(want!.n)).toBeGreaterThan(0);
      expect(gmv.order_count).toBe(want!.n!);
      // The registrations it prints are the day's new users (the user_info inserts of the day, 100 at the default
      // volume); the 1,000 users of --init reach ods_db as a bootstrap, state and no registration.
      const [reg] = await textRows(db, `select count(*)::VARCHAR as n from ins where tbl = 'user_info' and d = DATE '2025-01-14'`);
      expect(reg!.n).toBe('100');
      expect(markdownRow(r.stdout, 'User counts').register_ct).toBe('100');
    } finally {
      db.close();
    }
  }, 120_000);

  test('bad flags are usage errors naming the value', async () => {
    const r = await cli(['demo', '--date', '2025-1-14']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"2025-1-14"');
  });

  test('sparkline scales to the largest value', () => {
    expect(sparkline([0, 1, 2, 4])).toBe('▁▃▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
  });
});
