/** --out DIR: size rolling that a TAILDIR reader can follow (new numbered files, no renames, whole lines). */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockLogOptions } from '../../../src/mock/log/options';
import { logFileName, RollingFileWriter } from '../../../src/mock/log/rolling-file';
import { runMockLog } from '../../../src/mock/log/run';
import { tempDir } from '../../helpers/cli';
import { DATE, generate } from './helpers';

const utf8 = new TextEncoder();

/** The files of `dir` in roll order: app.<date>.log, .1, .2 … */
function rolled(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => index(a) - index(b));
}
function index(name: string): number {
  const m = /\.log\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}

describe('rolling by size', () => {
  test('app.<date>.log, then .1, .2 …: each at most the limit, each ending with a whole line, nothing lost', async () => {
    const dir = tempDir();
    const opts = mockLogOptions({ date: DATE, seed: '7', startupCount: '2000' }, undefined);
    const limit = 64 * 1024;
    const r = await runMockLog(opts, { kind: 'files', dir, maxFileSize: limit });
    const names = rolled(dir);
    expect(names.length).toBeGreaterThan(10);
    expect(names).toEqual(names.map((_, i) => logFileName(DATE, i)));
    expect(names[0]).toBe('app.2025-01-14.log');
    expect(names[1]).toBe('app.2025-01-14.log.1');
    expect(r.files).toEqual(names.map((n) => join(dir, n)));
    let total = 0;
    for (const [i, n] of names.entries()) {
      const size = statSync(join(dir, n)).size;
      total += size;
      expect(size).toBeLessThanOrEqual(limit);
      // Rolled only when the next line did not fit (the last file just holds the rest).
      if (i < names.length - 1) expect(size).toBeGreaterThan(limit - 8192);
      const text = readFileSync(join(dir, n), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.slice(0, -1).split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(total).toBe(r.bytes);
    const joined = names.map((n) => readFileSync(join(dir, n), 'utf8')).join('');
    expect(joined).toBe(await generate({ startupCount: '2000' }));
  });

  test('files are never renamed: every path keeps its inode from first write to the end', async () => {
    const dir = tempDir();
    const writer = new RollingFileWriter(dir, DATE, 2048);
    const line = (i: number) => utf8.encode(`{"n":${i},"pad":"${'x'.repeat(300)}"}\n`);
    const inodes = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      writer.write(line(i));
      for (const n of readdirSync(dir)) {
        const ino = statSync(join(dir, n)).ino;
        expect(inodes.get(n) ?? ino).toBe(ino);
        inodes.set(n, ino);
      }
    }
    writer.close();
    expect(rolled(dir).length).toBe(Math.ceil(40 / Math.floor(2048 / line(0).length)));
  });

  test('a line longer than a whole file gets a file of its own; no empty files', () => {
    const dir = tempDir();
    const writer = new RollingFileWriter(dir, DATE, 1024);
    const small = utf8.encode('{"a":1}\n');
    const huge = utf8.encode(`{"big":"${'y'.repeat(3000)}"}\n`);
    writer.write(small);
    writer.write(huge);
    writer.write(small);
    writer.close();
    const names = rolled(dir);
    expect(names.map((n) => statSync(join(dir, n)).size)).toEqual([small.length, huge.length, small.length]);
  });

  test('one write spanning several files splits at line ends only', () => {
    const dir = tempDir();
    const writer = new RollingFileWriter(dir, DATE, 1024);
    const many = Array.from({ length: 400 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
    writer.write(utf8.encode(many));
    writer.close();
    const names = rolled(dir);
    expect(names.length).toBeGreaterThan(1);
    expect(names.map((n) => readFileSync(join(dir, n), 'utf8')).join('')).toBe(many);
    for (const n of names) expect(readFileSync(join(dir, n), 'utf8').endsWith('\n')).toBe(true);
  });

  test('a second run for the same date appends to the newest file, like a restarted appender', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.2025-01-14.log'), '{"old":0}\n');
    writeFileSync(join(dir, 'app.2025-01-14.log.1'), '{"old":1}\n');
    writeFileSync(join(dir, 'app.2025-01-13.log.7'), 'other day\n');
    const opts = mockLogOptions({ date: DATE, seed: '1', startupCount: '3' }, undefined);
    const r = await runMockLog(opts, { kind: 'files', dir, maxFileSize: 100 * 1024 * 1024 });
    expect(r.files).toEqual([join(dir, 'app.2025-01-14.log.1')]);
    expect(readFileSync(join(dir, 'app.2025-01-14.log'), 'utf8')).toBe('{"old":0}\n');
    const newest = readFileSync(join(dir, 'app.2025-01-14.log.1'), 'utf8');
    expect(newest.startsWith('{"old":1}\n{"common":')).toBe(true);
    expect(readFileSync(join(dir, 'app.2025-01-13.log.7'), 'utf8')).toBe('other day\n');
  });
});
