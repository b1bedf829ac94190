/** The executable's wiring (cmd/main.ts): what it writes reaches a pipe whole before the process exits. */
import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli';

const MAIN = join(import.meta.dir, '../../cmd/main.ts');

// A pipe takes 64 KiB at a time; the process used to exit with the rest of a big write still queued: `rtwh query
// … | wc -c` counted 65,536 or 131,072 bytes of 3,688,894, and the command exited 0.
test('a big result written to a pipe arrives whole', () => {
  const cwd = tempDir('rtwh-main-');
  const sql = "select range as n, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' as t from range(100000)";
  const expected = 'n,t\n'.length + Array.from({ length: 100_000 }, (_, n) => `${n},${'x'.repeat(30)}\n`.length).reduce((a, b) => a + b, 0);
  for (let i = 0; i < 3; i++) {
    const r = Bun.spawnSync(['sh', '-c', `"$0" "$1" query "$2" --format csv --duckdb "$3" | wc -c`, process.execPath, MAIN, sql, join(cwd, 'w.duckdb')], { cwd });
    expect(r.stderr.toString()).toBe('');
    expect(Number(r.stdout.toString().trim())).toBe(expected);
  }
}, 60_000);
