/**
 * What `rtwh query` prints. Outside a TTY: every row, column and character, in every format (box too, and box
 * stays the default). On a TTY the box fits the terminal and its footer says what it left out: rows, columns,
 * and how many values were cut short and how to see them whole; names and types are never cut; a terminal of
 * width 0 or unknown sets no width limit.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { runCli } from '../../cmd/cli';
import { openDuckDB } from '../../src/store/duckdb';
import { tempDir, type CliRun } from '../helpers/cli';

const ROWS = 60;
const EXTRA = 20; // c01..c20: with id, long and big, wider than any terminal here
/** Even ids get a value far longer than a box cell on a TTY (40), with CJK and an end marker; odd ids a short one. */
const long = (id: number): string => (id % 2 === 0 ? `长值-${id}-${'x'.repeat(150)}-end${id}` : `short-${id}`);
const SQL = 'select * from t order by id';
const COLUMNS = ['id', 'long', 'big', ...Array.from({ length: EXTRA }, (_, i) => `c${String(i + 1).padStart(2, '0')}`)];

let cwd: string;
let file: string;

beforeAll(async () => {
  cwd = tempDir('rtwh-query-output-');
  file = join(cwd, 'w.duckdb');
  const db = await openDuckDB(file);
  const extra = Array.from({ length: EXTRA }, (_, i) => `c${String(i + 1).padStart(2, '0')} INTEGER`).join(', ');
  await db.query(`create table t(id BIGINT, long VARCHAR, big HUGEINT, ${extra})`);
  const values = Array.from({ length: ROWS }, (_, id) => `(${id}, '${long(id)}', ${10n ** 30n + BigInt(id)}, ${Array.from({ length: EXTRA }, (_, i) => id * 100 + i).join(', ')})`);
  await db.query(`insert into t values ${values.join(', ')}`);
  db.close();
});

async function query(args: string[], tty: { isTTY: boolean; columns?: number }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['query', ...args, '--duckdb', file], {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env: {},
    cwd,
    isTTY: tty.isTTY,
    ...(tty.columns === undefined ? {} : { columns: tty.columns }),
  });
  return { code, stdout, stderr };
}

const PIPE = { isTTY: false, columns: 80 };

function expectEveryValueWhole(out: string): void {
  for (let id = 0; id < ROWS; id++) {
    expect(out).toContain(long(id));
    expect(out).toContain(String(10n ** 30n + BigInt(id)));
    expect(out).toContain(String(id * 100 + EXTRA - 1));
  }
  for (const c of COLUMNS) expect(out).toContain(c);
}

describe('outside a TTY nothing is cut, in any format', () => {
  test('box is the default, with every row, column and character', async () => {
    const r = await query([SQL], PIPE);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toStartWith('┌');
    expectEveryValueWhole(r.stdout);
    const lines = r.stdout.trimEnd().split('\n');
    // top, names, types, separator, 60 rows, separator, footer, bottom
    expect(lines).toHaveLength(4 + ROWS + 3);
    expect(lines.at(-2)).toMatch(/^│ 60 rows +│$/);
    expect(r.stdout).not.toContain('…');
    expect(r.stdout).not.toContain('shown');
    expect(r.stdout).not.toContain('cut short');
    expect(lines[2]).toMatch(/│ +varchar +│ +hugeint +│/);
  });

  test('json: one document, every row and key, exact digits', async () => {
    const r = await query([SQL, '-f', 'json'], PIPE);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(ROWS);
    for (const [id, row] of rows.entries()) {
      expect(Object.keys(row)).toEqual(COLUMNS);
      expect(row.long).toBe(long(id));
    }
    expect(r.stdout).toContain(`"big":${10n ** 30n + 59n}`);
  });

  test('jsonl: one complete line per row', async () => {
    const r = await query([SQL, '-f', 'jsonl'], PIPE);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(ROWS);
    for (const [id, l] of lines.entries()) expect((JSON.parse(l) as { long: string }).long).toBe(long(id));
  });

  test('csv: header and every record with every field', async () => {
    const r = await query([SQL, '-f', 'csv'], PIPE);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(COLUMNS.join(','));
    expect(lines).toHaveLength(ROWS + 1);
    for (const [id, l] of lines.slice(1).entries()) expect(l.split(',')).toEqual([String(id), long(id), String(10n ** 30n + BigInt(id)), ...Array.from({ length: EXTRA }, (_, i) => String(id * 100 + i))]);
  });

  test('markdown: every row and value', async () => {
    const r = await query([SQL, '-f', 'markdown'], PIPE);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(ROWS + 2);
    expectEveryValueWhole(r.stdout);
    expect(r.stdout).not.toContain('…');
  });

  test('an explicit --max-width cuts even into a pipe, and the footer says so', async () => {
    const r = await query([SQL, '--max-width', '100'], PIPE);
    for (const l of r.stdout.trimEnd().split('\n')) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(100);
    expect(r.stdout).toContain('30 values cut short (ending in …); --max-width 0 or --format csv shows them whole');
    expect(r.stdout).toContain(`${COLUMNS.length} columns (`);
  });
});

describe('on a TTY the box fits the terminal and says what it left out', () => {
  test('rows, columns and cut values are counted in the footer; nothing wider than the terminal; names and types whole', async () => {
    const r = await query([SQL], { isTTY: true, columns: 120 });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(120);
    expect(r.stdout).toContain('60 rows (40 shown)');
    const shown = /(\d+) columns \((\d+) shown\)/.exec(r.stdout);
    expect(shown?.[1]).toBe(String(COLUMNS.length));
    // The header row names every kept column whole, and the … slot stands for the others.
    const names = lines[1]!.split('│').map((c) => c.trim()).filter((c) => c !== '');
    expect(names).toContain('…');
    expect(names.filter((n) => n !== '…')).toHaveLength(Number(shown?.[2]));
    for (const n of names) if (n !== '…') expect(COLUMNS).toContain(n);
    expect(names).toContain('long');
    expect(lines[2]).toContain(' varchar ');
    // 40 rows shown (ids 0-19 and 40-59): the 20 even ones have a long value, cut at 40 columns.
    expect(r.stdout).toContain('20 values cut short (ending in …); --max-width 0 or --format csv shows them whole');
    expect(r.stdout).toContain('长值-0-xxx');
    expect(r.stdout).not.toContain(long(0));
    expect(r.stdout).toContain(`│ ${long(1)} `);
  });

  test('--max-width 0: no value cut and no column left out (rows still counted)', async () => {
    const r = await query([SQL, '--max-width', '0'], { isTTY: true, columns: 120 });
    expect(r.stdout).toContain(long(0));
    expect(r.stdout).toContain(long(58));
    expect(r.stdout).not.toContain('cut short');
    expect(r.stdout).not.toMatch(/columns \(\d+ shown\)/);
    for (const c of COLUMNS) expect(r.stdout).toContain(` ${c} `);
    expect(r.stdout).toContain('60 rows (40 shown)');
  });

  test.each([0, undefined])('a terminal of width %p sets no width limit', async (columns) => {
    const r = await query([SQL], { isTTY: true, columns });
    expect(r.stdout).toContain(long(0));
    expect(r.stdout).not.toContain('cut short');
    expect(r.stdout).not.toMatch(/columns \(\d+ shown\)/);
    expect(r.stdout.split('\n')[2]).toContain(' varchar ');
  });

  test('a very narrow terminal cuts values, never the name or type', async () => {
    const r = await query(["select 'a long value of text' as the_column_name"], { isTTY: true, columns: 12 });
    expect(r.stdout).toContain('the_column_name');
    expect(r.stdout).toContain(' varchar ');
    expect(r.stdout).toContain('│ a long value o… │');
    // The note wraps to the table's width.
    expect(r.stdout).toContain('│ 1 value cut     │\n│ short (ending   │');
  });

  test('machine formats carry everything on a TTY too', async () => {
    const r = await query([SQL, '-f', 'csv'], { isTTY: true, columns: 40 });
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(ROWS + 1);
    expect(r.stdout).toContain(long(0));
  });

  test('--max-width must be a whole number (USAGE, exit 2, naming the value)', async () => {
    const r = await query([SQL, '--max-width', 'wide'], { isTTY: true, columns: 80 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --max-width "wide": expected a whole number >= 0');
    expect(r.stderr).toContain('hint: ');
  });
});
