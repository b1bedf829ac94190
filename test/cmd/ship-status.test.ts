/**
 * `rtwh ship log` as a service runs it — following, output to a log file, no terminal — and the status line it
 * logs every --status-every seconds: while the files are quiet too (before the first line, and after), with
 * the lines shipped, the rate over the interval and the bytes not shipped yet.
 */
import { describe, expect, test } from 'bun:test';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli';
import { spawnRtwh, waitFor } from '../collect/cdc/helpers';

const STATUS = /^ship log: ([\d,]+) lines? \(([\d,]+)\/s\) · (.*)$/;

function statusLines(out: string): { lines: number; rest: string }[] {
  return out.split('\n').flatMap((l) => {
    const m = STATUS.exec(l);
    return m ? [{ lines: Number(m[1]!.replace(/,/g, '')), rest: m[3]! }] : [];
  });
}

describe('rtwh ship log status line without a terminal (the real command)', () => {
  test('a line every --status-every while the files are quiet, before and after lines come', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'applog'));
    writeFileSync(join(cwd, 'applog', 'app.2025-01-14.log'), '');
    const run = spawnRtwh(['ship', 'log', '--path', 'applog/app.*', '--bus', `sqlite:${join(cwd, 'bus.db')}`, '--status-every', '1', '--poll-interval', '50'], cwd);
    try {
      // nothing to ship yet: still a status line each second
      await waitFor('two status lines before any line', () => statusLines(run.output()).length >= 2, 20_000);
      expect(statusLines(run.output())[0]).toEqual({ lines: 0, rest: expect.stringMatching(/^(waiting for lines|0 bytes · 0 rejected · .*0 bytes behind)$/) });

      appendFileSync(join(cwd, 'applog', 'app.2025-01-14.log'), '{"a":1}\n{"a":2}\nnot json\n');
      await waitFor('a status line with the 2 lines shipped', () => statusLines(run.output()).some((s) => s.lines === 2), 20_000);
      const after = statusLines(run.output()).length;
      // quiet again: the lines keep coming, saying everything is shipped
      await waitFor('two more status lines while quiet', () => statusLines(run.output()).length >= after + 2, 20_000);
      const quiet = statusLines(run.output()).at(-1)!;
      expect(quiet.lines).toBe(2);
      expect(quiet.rest).toContain('1 rejected');
      expect(quiet.rest).toContain('app.2025-01-14.log @ 25/25');
      expect(quiet.rest).toMatch(/· 0 bytes behind$/);
    } finally {
      run.proc.kill('SIGTERM');
      await run.proc.exited;
    }
    expect(run.proc.exitCode).toBe(0);
    expect(run.output()).toMatch(/shipped 2 lines to ods_log/);
  }, 60_000);

  test('--status-every is checked', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'applog'));
    const run = spawnRtwh(['ship', 'log', '--path', 'applog/app.*', '--bus', `sqlite:${join(cwd, 'bus.db')}`, '--status-every', '0'], cwd);
    await run.proc.exited;
    expect(run.proc.exitCode).toBe(2);
    expect(run.output()).toContain('invalid --status-every "0"');
  }, 30_000);
});
