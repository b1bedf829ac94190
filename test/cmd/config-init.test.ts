/** `rtwh config init` with a path it cannot write: a usage error naming the path, never "a bug in rtwh". */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

describe('config init refuses a path it cannot write with exit 2', () => {
  test('a missing directory', async () => {
    const cwd = tempDir();
    const r = await cli(['config', 'init', 'nodir/rtwh.toml'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot write "nodir/rtwh.toml": its directory does not exist');
    expect(r.stderr).not.toContain('bug in rtwh');
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('a directory, with or without --force', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'conf'));
    for (const argv of [['config', 'init', 'conf'], ['config', 'init', 'conf', '--force']]) {
      const r = await cli(argv, { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('cannot write "conf": it is a directory; expected a file path');
    }
    expect(readdirSync(join(cwd, 'conf'))).toEqual([]);
  });

  test('--json: one JSON object', async () => {
    const r = await cli(['config', 'init', 'nodir/x.toml', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'CONFIG_FILE', exit: 2 } });
  });

  test('an existing file is kept without --force and replaced with it', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'rtwh.toml'), 'bus = "sqlite:x.db"\n');
    expect((await cli(['config', 'init'], { cwd })).code).toBe(2);
    expect(readFileSync(join(cwd, 'rtwh.toml'), 'utf8')).toBe('bus = "sqlite:x.db"\n');
    expect((await cli(['config', 'init', '--force'], { cwd })).code).toBe(0);
    expect(readFileSync(join(cwd, 'rtwh.toml'), 'utf8')).toContain('# rtwh.toml');
  });
});
