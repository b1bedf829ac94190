/** --out DIR: size rolling that a TAILDIR reader can follow (new numbered files, no renames, whole lines). */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

  test('writeAsync: the same pieces, rolls and bytes as write, whatever the chunking', async () => {
    // Lines of varied length, one longer than a whole file, handed over in chunks of varied size.
    const text = Array.from({ length: 3000 }, (_, i) => `{"i":${i},"p":"${'z'.repeat((i * 37) % 500)}"}\n`);
    text.splice(1234, 0, `{"big":"${'y'.repeat(5000)}"}\n`);
    const all = utf8.encode(text.join(''));
    const syncDir = tempDir();
    const sync = new RollingFileWriter(syncDir, DATE, 4096);
    sync.write(all);
    sync.close();
    const asyncDir = tempDir();
    const writer = new RollingFileWriter(asyncDir, DATE, 4096);
    for (let off = 0, step = 1; off < all.length; step = (step * 7 + 3) % 20000) {
      const end = Math.min(all.length, all.indexOf(10, off + step) + 1 || all.length);
      await writer.writeAsync(all.subarray(off, end));
      off = end;
    }
    writer.close();
    const names = rolled(syncDir);
    expect(names.length).toBeGreaterThan(100);
    expect(rolled(asyncDir)).toEqual(names);
    for (const n of names) expect(readFileSync(join(asyncDir, n), 'utf8')).toBe(readFileSync(join(syncDir, n), 'utf8'));
  });

  test('a day written through overlapped chunks rolls at the same lines as one synchronous write of it', async () => {
    const dir = tempDir();
    const opts = mockLogOptions({ date: DATE, seed: '7', startupCount: '3000' }, undefined);
    const limit = 256 * 1024;
    await runMockLog(opts, { kind: 'files', dir, maxFileSize: limit });
    const refDir = tempDir();
    const ref = new RollingFileWriter(refDir, DATE, limit);
    ref.write(utf8.encode(await generate({ startupCount: '3000' })));
    ref.close();
    const names = rolled(refDir);
    // More than two 1 MiB chunks, so writes overlapped generation and rolls fell inside chunks.
    expect(names.length).toBeGreaterThan(8);
    expect(rolled(dir)).toEqual(names);
    for (const n of names) expect(readFileSync(join(dir, n), 'utf8')).toBe(readFileSync(join(refDir, n), 'utf8'));
  });

  test('a file that cannot be written fails the run with the path named (not an unhandled rejection)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'app.2025-01-14.log'));
    const opts = mockLogOptions({ date: DATE, seed: '1', startupCount: '50' }, undefined);
    await expect(runMockLog(opts, { kind: 'files', dir, maxFileSize: 1024 * 1024 })).rejects.toThrow(/cannot write .*app\.2025-01-14\.log/);
  });

  test('a write that fails (a full disk) fails the run with the path and the reason named', async () => {
    const dir = tempDir();
    // Opens for appending, refuses every write with ENOSPC.
    symlinkSync('/dev/full', join(dir, 'app.2025-01-14.log'));
    const opts = mockLogOptions({ date: DATE, seed: '1', startupCount: '50' }, undefined);
    await expect(runMockLog(opts, { kind: 'files', dir, maxFileSize: 1024 * 1024 })).rejects.toThrow(/cannot write .*app\.2025-01-14\.log.*ENOSPC|cannot write .*app\.2025-01-14\.log.*no space/i);
    const sync = new RollingFileWriter(dir, DATE, 1024 * 1024);
    expect(() => sync.write(utf8.encode('{"a":1}\n'))).toThrow(/cannot write .*app\.2025-01-14\.log/);
    sync.close();
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
