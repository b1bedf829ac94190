/**
 * ADS preset latency: p50/p99 of every `rtwh query --preset` over DWS tables of 10,000,000 rows each (by default).
 * Target: p50 < 50 ms.
 *
 *   bun scripts/bench/query.ts [--rows 10000000] [--days 30] [--runs 30] [--date 2025-01-15] [--file W.duckdb] [--keep]
 *
 * The warehouse is generated with DuckDB SQL over range() into a temp file (the DDL of src/dws/tables.ts; rows in
 * window order as the dws sink appends them, spread over --days days, so one day holds rows/days rows of each table).
 * `--file` reuses (or creates and keeps) a warehouse. Two figures per preset:
 *   - query: the preset on an open read-only connection (table check + SQL + exact cells), what a server would see;
 *   - cli:   `rtwh query --preset … --format json` in-process, each run opening the file read-only as the CLI does.
 * Process start-up (bun or dist/rtwh) comes on top of `cli`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../../cmd/cli';
import { DWS_TABLES, duckdbDdl, type DwsColumn } from '../../src/dws/tables';
import { bindPreset, PRESETS } from '../../src/query/presets';
import { runPreset } from '../../src/query/run';
import { openDuckDB } from '../../src/store/duckdb';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '30' },
    date: { type: 'string' },
    file: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const DAYS = Number(args.days);
const RUNS = Number(args.runs);
const FIRST_DAY = '2025-01-01';
if (!Number.isSafeInteger(ROWS) || ROWS < 1 || !Number.isSafeInteger(DAYS) || DAYS < 1 || !Number.isSafeInteger(RUNS) || RUNS < 1) {
  throw new Error('--rows, --days and --runs are whole numbers ≥ 1');
}
/** A day in the middle of the data (a full day of rows). */
const DATE = args.date ?? new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + Math.floor(DAYS / 2) * 86_400_000).toISOString().slice(0, 10);

const CHANNELS = ['xiaomi', 'oppo', 'vivo', 'huawei', 'Appstore', 'wandoujia', '360', 'web'];
const SOURCES = ['search', 'search', 'search', 'cart', 'order', 'click'];

/** The SQL expression of a generated column; `i` is the row number, rows in window order. */
function expr(col: DwsColumn): string {
  const perDay = Math.ceil(ROWS / DAYS);
  const day = `(i // ${perDay})`;
  // Windows of 10 s across the day, several rows per window (one per key).
  const sec = `(((i % ${perDay}) * 86400 // ${perDay}) // 10 * 10)`;
  const list = (xs: string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}][(i % ${xs.length}) + 1]`;
  switch (col.name) {
    case 'stt':
      return `(DATE '${FIRST_DAY}' + ${day}::INTEGER)::TIMESTAMP + to_seconds(${sec})`;
    case 'edt':
      return `(DATE '${FIRST_DAY}' + ${day}::INTEGER)::TIMESTAMP + to_seconds(${sec} + 10)`;
    case 'cur_date':
      return `DATE '${FIRST_DAY}' + ${day}::INTEGER`;
    case 'vc':
      return `'v2.1.' || (130 + i % 5)`;
    case 'ch':
      return list(CHANNELS);
    case 'ar':
      return `(110000 + (i % 34) * 10000)::VARCHAR`;
    case 'is_new':
      return `((i // 3) % 2)::VARCHAR`;
    case 'source':
      return list(SOURCES);
    case 'keyword':
      return `'词' || (i * 7919 % 500)`;
    case 'province_id':
      return `(i % 34 + 1)::VARCHAR`;
    case 'sku_id':
      return `(i % 35 + 1)::VARCHAR`;
    case 'spu_id':
      return `((i % 35) // 3 + 1)::VARCHAR`;
    case 'trademark_id':
      return `((i % 35) % 11 + 1)::VARCHAR`;
    case 'category3_id':
      return `((i % 35) * 5 + 61)::VARCHAR`;
    case 'category2_id':
      return `((i % 35) // 2 + 13)::VARCHAR`;
    case 'category1_id':
      return `((i % 35) // 5 + 1)::VARCHAR`;
    case 'user_id':
      return `(i * 31 % 1000 + 1)::VARCHAR`;
  }
  // A name follows its id (one name per id, as the dim lookups give), e.g. trademark_name from trademark_id.
  if (col.name.endsWith('_name')) {
    const base = col.name.slice(0, -'_name'.length);
    return `'${base} 名称 ' || ${expr({ name: `${base}_id`, type: 'VARCHAR', key: false })}`;
  }
  switch (col.type) {
    case 'BIGINT':
      return `(i % 13 + 1)::BIGINT`;
    case 'DECIMAL(16,2)':
      return `((i * 7 % 1000003) * 0.01)::DECIMAL(16,2)`;
    case 'VARCHAR':
      return `'${col.name} ' || (i % 50)`;
    default:
      throw new Error(`no generator for ${col.name} ${col.type}`);
  }
}

async function generate(file: string): Promise<void> {
  const db = await openDuckDB(file);
  try {
    for (const t of DWS_TABLES) {
      const started = performance.now();
      await db.query(duckdbDdl(t));
      const cols = t.columns.map((c) => `${expr(c)} as ${c.name}`).join(',\n  ');
      await db.query(`insert into ${t.name} select\n  ${cols}\nfrom (select range as i from range(${ROWS}))`);
      console.error(`  ${t.name}: ${ROWS.toLocaleString('en-US')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    await db.query('checkpoint');
  } finally {
    db.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1]! };
}

async function main(): Promise<void> {
  const dir = args.file ? undefined : mkdtempSync(join(tmpdir(), 'rtwh-bench-query-'));
  const file = args.file ? resolve(args.file) : join(dir!, 'warehouse.duckdb');
  try {
    if (!existsSync(file)) {
      console.error(`generating ${DWS_TABLES.length} DWS tables × ${ROWS.toLocaleString('en-US')} rows over ${DAYS} days into ${file}`);
      const started = performance.now();
      await generate(file);
      console.error(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s (${(Bun.file(file).size / 1e6).toFixed(0)} MB)`);
    } else console.error(`using ${file}`);

    const db = await openDuckDB(file, { readOnly: true });
    const results: { preset: string; rowsOut: number; query: ReturnType<typeof stats>; cli: ReturnType<typeof stats> }[] = [];
    try {
      for (const p of PRESETS) {
        const bound = bindPreset(p.name, { date: DATE });
        let rowsOut = 0;
        const q: number[] = [];
        for (let r = 0; r < RUNS + 2; r++) {
          const t0 = performance.now();
          const res = await runPreset(db, bound);
          const dt = performance.now() - t0;
          rowsOut = res.rows.length;
          if (r >= 2) q.push(dt); // two warm-up runs
        }
        const c: number[] = [];
        for (let r = 0; r < RUNS + 1; r++) {
          let out = '';
          const t0 = performance.now();
          const code = await runCli(['query', '--preset', p.name, '--date', DATE, '--duckdb', file, '--format', 'json'], {
            stdout: (s) => {
              out += s;
            },
            stderr: (s) => {
              process.stderr.write(s);
            },
            env: {},
            cwd: process.cwd(),
            isTTY: false,
          });
          const dt = performance.now() - t0;
          if (code !== 0) throw new Error(`rtwh query --preset ${p.name} exited ${code}`);
          if (out.length === 0) throw new Error(`rtwh query --preset ${p.name} printed nothing`);
          if (r >= 1) c.push(dt);
        }
        results.push({ preset: p.name, rowsOut, query: stats(q), cli: stats(c) });
      }
    } finally {
      db.close();
    }

    const f = (n: number): string => n.toFixed(1).padStart(7);
    console.log(`\nquery presets over ${ROWS.toLocaleString('en-US')} rows per DWS table (${DAYS} days, ~${Math.ceil(ROWS / DAYS).toLocaleString('en-US')} rows of the day ${DATE}), ${RUNS} runs each, ms`);
    const w = Math.max(18, ...results.map((r) => r.preset.length));
    console.log(`${'preset'.padEnd(w)} ${'rows'.padStart(5)} │ ${'q p50'.padStart(7)} ${'q p99'.padStart(7)} │ ${'cli p50'.padStart(7)} ${'cli p99'.padStart(7)}`);
    for (const r of results) {
      console.log(`${r.preset.padEnd(w)} ${String(r.rowsOut).padStart(5)} │ ${f(r.query.p50)} ${f(r.query.p99)} │ ${f(r.cli.p50)} ${f(r.cli.p99)}`);
    }
    const worst = Math.max(...results.map((r) => r.query.p50));
    console.log(`\nworst query p50 ${worst.toFixed(1)} ms: ${worst < 50 ? 'meets' : 'MISSES'} the < 50 ms target`);
  } finally {
    if (dir && !args.keep) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.error(`kept ${file}`);
  }
}

await main();
