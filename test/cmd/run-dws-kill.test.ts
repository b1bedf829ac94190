/**
 * Exactly-once of `rtwh run dws` as a whole: the process (eleven window jobs + the DuckDB sink) killed with
 * SIGKILL at random points several times, then run to the end, gives every DWS table equal — row for row, digit
 * for digit — to an uninterrupted run over a copy of the same bus, dim store and job state.
 */
import { describe, expect, test } from 'bun:test';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DWS_TABLES } from '../../src/dws/tables';
import { openDuckDB } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');
const DATE = '2025-01-14';

async function dump(path: string): Promise<Map<string, string[]>> {
  const db = await openDuckDB(path, { readOnly: true });
  try {
    const out = new Map<string, string[]>();
    for (const t of DWS_TABLES) {
      const r = await db.query(`select ${t.columns.map((c) => `CAST(${c.name} AS VARCHAR)`).join(', ')} from ${t.name} order by all`);
      out.set(t.name, r.rows.map((row) => JSON.stringify(row)));
    }
    return out;
  } finally {
    db.close();
  }
}

async function step(argv: string[], cwd: string): Promise<void> {
  const r = await cli(argv, { cwd });
  if (r.code !== 0) throw new Error(`rtwh ${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
}

describe('rtwh run dws: kill -9 of the whole process', () => {
  test('killed at random points and restarted = one uninterrupted run, every table exact', async () => {
    const root = tempDir('rtwh-dws-kill-');
    const a = join(root, 'a');
    // A busier day than the demo's, so the kills land while windows are being computed and loaded.
    await step(['mock', 'db', '--to', 'ods_db', '--init', '--date', DATE, '--seed', '7'], a);
    await step(['mock', 'log', '--to', 'ods_log', '--date', DATE, '--seed', '7', '--startup-count', '2500'], a);
    await step(['run', 'dim', '--until-idle'], a);
    await step(['run', 'dwd', '--until-idle'], a);
    const b = join(root, 'b');
    cpSync(a, b, { recursive: true });

    const dws = (cwd: string, untilIdle: boolean) =>
      Bun.spawn([process.execPath, MAIN, 'run', 'dws', '--batch', '200', ...(untilIdle ? ['--until-idle'] : [])], { cwd, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1' } });

    const t0 = performance.now();
    const clean = dws(a, true);
    const cleanErr = new Response(clean.stderr).text();
    expect(await clean.exited).toBe(0);
    const cleanSeconds = (performance.now() - t0) / 1000;
    expect(await cleanErr).toContain('loaded ');
    const want = await dump(join(a, '.rtwh', 'warehouse.duckdb'));
    expect(want.get('dws_traffic_vc_ch_ar_is_new_page_view_window')!.length).toBeGreaterThan(1000);
    expect(want.get('dws_trade_sku_order_window')!.length).toBeGreaterThan(10);

    // Each run is killed before it could finish (an uninterrupted run takes cleanSeconds, start-up included), so
    // the runs advance the warehouse bit by bit and the kills land mid-window, mid-forward and mid-load.
    const total = [...want.values()].reduce((n, r) => n + r.length, 0);
    const rowsAfterKill: number[] = [];
    const count = async () => [...(await dump(join(b, '.rtwh', 'warehouse.duckdb')).catch(() => new Map<string, string[]>())).values()].reduce((n, r) => n + r.length, 0);
    for (let i = 0; i < 6; i++) {
      const p = dws(b, false);
      await Bun.sleep(Math.floor(cleanSeconds * 1000 * (0.2 + 0.4 * Math.random())));
      p.kill('SIGKILL');
      expect(await p.exited).not.toBe(0);
      rowsAfterKill.push(await count());
    }
    // Some kill found the warehouse part-loaded (neither empty nor complete).
    expect({ rowsAfterKill, partial: rowsAfterKill.some((n) => n > 0 && n < total) }).toMatchObject({ partial: true });
    const last = dws(b, true);
    const lastErr = new Response(last.stderr).text();
    expect(await last.exited).toBe(0);
    expect(await lastErr).toContain('loaded ');
    const got = await dump(join(b, '.rtwh', 'warehouse.duckdb'));
    for (const t of DWS_TABLES) expect({ table: t.name, rows: got.get(t.name) }).toEqual({ table: t.name, rows: want.get(t.name) });
  }, 300_000);
});
