/** `rtwh demo`: the whole embedded pipeline end to end, and its report agrees with the warehouse it built. */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { sparkline } from '../../cmd/demo';
import { cli, tempDir } from '../helpers/cli';

describe('rtwh demo', () => {
  test('mocks a day, runs dim, dwd and dws to the end, and prints a report that matches the warehouse', async () => {
    const dir = tempDir('rtwh-demo-');
    const r = await cli(['demo', '--dir', 'd', '--seed', '4'], { cwd: dir });
    expect(r.stderr).toContain('[6/6] ADS report for 2025-01-14');
    expect(r.code).toBe(0);
    for (const title of ['GMV of the day', 'User counts', 'Top provinces', 'Top trademarks', 'Channels by unique visitors', 'Page views by hour']) expect(r.stdout).toContain(title);
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
