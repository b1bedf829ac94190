/**
 * Commands that only look at the bus (tail, topics, topics describe/delete, groups, groups describe) do not create
 * an embedded bus file that is not there: a mistyped --bus sqlite:PATH is BUS_NOT_FOUND (exit 6) naming the path,
 * and leaves nothing behind. Commands that write (topics create) still make it.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

describe('read-only commands on an embedded bus file that is not there', () => {
  const cases = [['topics'], ['topics', 'describe', 'ods_db'], ['topics', 'delete', 'ods_db'], ['groups'], ['groups', 'describe', 'g'], ['tail', 'ods_db', '-n', '1']];
  test.each(cases)('%p: BUS_NOT_FOUND naming the path, no file made', async (...argv) => {
    const cwd = tempDir();
    const r = await cli([...argv, '--bus', 'sqlite:bsu.db', '--json'], { cwd, env: { RTWH_BUS: undefined } });
    expect(r.code).toBe(6);
    const e = JSON.parse(r.stderr).error;
    expect(e.code).toBe('BUS_NOT_FOUND');
    expect(e.message).toBe(`there is no bus file ${JSON.stringify(join(cwd, 'bsu.db'))}`);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('once a command wrote to it, the same commands read it; topics create makes it', async () => {
    const cwd = tempDir();
    const created = await cli(['topics', 'create', 'ods_db', '--bus', 'sqlite:bus.db'], { cwd, env: { RTWH_BUS: undefined } });
    expect(created.code).toBe(0);
    expect(existsSync(join(cwd, 'bus.db'))).toBe(true);
    const listed = await cli(['topics', '--bus', 'sqlite:bus.db', '--format', 'csv'], { cwd, env: { RTWH_BUS: undefined } });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('ods_db,1,0');
  });
});
