/** `rtwh demo --dir` that cannot be the demo's directory: a usage error naming it, before any step runs. */
import { describe, expect, test } from 'bun:test';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

describe('demo --dir', () => {
  test('a file is refused with exit 2, not a bug report', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'f'), 'keep');
    const r = await cli(['demo', '--dir', 'f'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --dir "f": it is a file; expected a directory');
    expect(r.stderr).not.toContain('bug in rtwh');
    expect(readdirSync(cwd)).toEqual(['f']);
  });

  test('an empty value is refused instead of running the demo in the working directory', async () => {
    const cwd = tempDir();
    const r = await cli(['demo', '--dir', '', '--json'], { cwd });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'USAGE', exit: 2, message: 'invalid --dir "": expected a directory path' } });
    expect(readdirSync(cwd)).toEqual([]);
  });
});
