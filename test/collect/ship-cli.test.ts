/** `rtwh ship log` through the in-process CLI: flags, defaults, summary line, errors and exit codes. */
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

const COMPLETE = '{"common":{"mid":"mid_1"},"ts":1736812800000}\nnot json\n{"ts":1}\n';
const DONE = Buffer.byteLength(COMPLETE);

function project(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'applog'));
  writeFileSync(join(dir, 'applog', 'app.2025-01-14.log'), `${COMPLETE}{"half":`);
  return dir;
}

describe('rtwh ship log', () => {
  test('--once on the default bus: summary line, position file under state_dir', async () => {
    const cwd = project();
    const r = await cli(['ship', 'log', '--path', 'applog/app.*', '--once'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^shipped 2 lines to ods_log in [\\d.]+ m?s \\([\\d,]+ lines/s\\) · ${DONE} bytes · 1 rejected → ods_log_dlq · 1 unfinished last line held\n$`));
    const pos = readFileSync(join(cwd, '.rtwh', 'ship', 'taildir_position.json'), 'utf8');
    expect(pos).toMatch(new RegExp(`^\\[\\{"inode":\\d+,"pos":${DONE},"file":"${join(cwd, 'applog', 'app.2025-01-14.log')}"\\}\\]$`));
    expect(existsSync(join(cwd, '.rtwh', 'ship', 'taildir_position.rtwh.json'))).toBe(true);
    expect(existsSync(join(cwd, '.rtwh', 'ship', 'taildir_position.json.lock'))).toBe(false);

    const again = await cli(['ship', 'log', '--path', 'applog/app.*', '--once', '--json'], { cwd });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as { lines: number; positions: { pos: number; held: number }[] };
    expect(doc.lines).toBe(0);
    expect(doc.positions).toEqual([expect.objectContaining({ pos: DONE, held: 8 })]);
  });

  test('a --path that matches no file says so (a mistyped pattern looked like files with nothing new)', async () => {
    const cwd = project();
    const r = await cli(['ship', 'log', '--path', 'applog/apps.*', '--once'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^shipped 0 lines to ods_log .*\nship log: no file matched "applog\/apps\.\*"\n$/);
  });

  test('config state_dir and --position, --topic and --dlq', async () => {
    const cwd = project();
    const r = await cli(['ship', 'log', '--path', 'applog/app.*', '--once', '--topic', 'logs', '--dlq', 'rejects', '--position', 'p/pos.json'], {
      cwd,
      env: { RTWH_STATE_DIR: 'st' },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('to logs in');
    expect(r.stderr).toContain('1 rejected → rejects');
    expect(existsSync(join(cwd, 'p', 'pos.json'))).toBe(true);
    const r2 = await cli(['ship', 'log', '--path', 'applog/app.*', '--once', '--bus', 'sqlite:other.db'], { cwd, env: { RTWH_STATE_DIR: 'st' } });
    expect(r2.code).toBe(0);
    expect(existsSync(join(cwd, 'st', 'ship', 'taildir_position.json'))).toBe(true);
  });

  test.each([
    [[], 2, 'missing --path'],
    [['--path', 'nodir/app.*'], 2, 'cannot read the directory'],
    [['--path', 'regex:applog/app(\\.log'], 2, 'is not a valid regular expression'],
    [['--path', 'applog/app.*', '--batch-size', '0'], 2, 'invalid --batch-size "0": expected a whole number from 1 to 100000'],
    [['--path', 'applog/app.*', '--poll-interval', 'fast'], 2, 'invalid --poll-interval "fast"'],
    [['--path', 'applog/app.*', '--topic', 'logs', '--dlq', 'logs'], 2, '--dlq "logs" is the --topic'],
  ])('usage errors: %p', async (args, code, msg) => {
    const r = await cli(['ship', 'log', '--once', ...args], { cwd: project() });
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(msg);
    expect(r.stderr).toContain('hint:');
  });

  test('a corrupt position file: exit 5, the file named, a hint, nothing shipped', async () => {
    const cwd = project();
    mkdirSync(join(cwd, '.rtwh', 'ship'), { recursive: true });
    writeFileSync(join(cwd, '.rtwh', 'ship', 'taildir_position.json'), '[{"inode":12,"pos":');
    const r = await cli(['ship', 'log', '--path', 'applog/app.*', '--once', '--json'], { cwd });
    expect(r.code).toBe(5);
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string; hint: string } };
    expect(err.error.code).toBe('POSITION_FILE');
    expect(err.error.message).toContain(join(cwd, '.rtwh', 'ship', 'taildir_position.json'));
    expect(err.error.hint).toContain('move it away');
  });

  test('following, SIGTERM (or Ctrl-C) stops cleanly: exit 0, positions saved, summary printed', async () => {
    const cwd = project();
    const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../cmd/main.ts'), 'ship', 'log', '--path', 'applog/app.*', '--poll-interval', '50'], {
      cwd,
      stderr: 'pipe',
      stdout: 'pipe',
    });
    const pos = join(cwd, '.rtwh', 'ship', 'taildir_position.json');
    for (let i = 0; i < 100 && !(existsSync(pos) && readFileSync(pos, 'utf8').includes(`"pos":${DONE}`)); i++) await Bun.sleep(50);
    writeFileSync(join(cwd, 'applog', 'app.2025-01-14.log'), '"x":1}\n', { flag: 'a' });
    await Bun.sleep(300);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const err = await new Response(child.stderr).text();
    expect(err).toContain('shipped 2 lines to ods_log');
    expect(err).toContain('2 rejected');
    expect(readFileSync(pos, 'utf8')).toContain(`"pos":${DONE + 15}`);
  }, 30_000);

  test('help describes the flags', async () => {
    const r = await cli(['ship', 'log', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--path', '--topic', '--dlq', '--position', '--once', '--batch-size', '--poll-interval', '--key', '--no-source-header']) expect(r.stdout).toContain(f);
  });
});
