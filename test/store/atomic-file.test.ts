/**
 * The one atomic file write (temp file, fsync, rename, fsync of the directory), on real files: content replaced
 * whole, no temp file left behind whatever happens, the old content kept when the write fails, and two processes
 * writing the same file at once never leave a mixed or torn one.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeFileAtomicAsync } from '../../src/store/atomic-file';

const HELPER = resolve(import.meta.dir, '../../src/store/atomic-file.ts');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtwh-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const variants = [
  { name: 'sync', write: (path: string, data: string | Uint8Array, opts?: Parameters<typeof writeFileAtomic>[2]) => Promise.resolve(writeFileAtomic(path, data, opts)) },
  { name: 'async', write: writeFileAtomicAsync },
] as const;

/** Runs f and returns what it threw (undefined when it did not throw). */
async function thrown(f: () => Promise<unknown>): Promise<NodeJS.ErrnoException | undefined> {
  try {
    await f();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  return undefined;
}

for (const { name, write } of variants) {
  describe(`writeFileAtomic (${name})`, () => {
    test('writes a new file, then replaces it whole: text (UTF-8) and bytes; a shorter content leaves nothing of the longer', async () => {
      const f = join(dir, 'pos.json');
      await write(f, 'first content, rather long — with “UTF-8” ✓');
      expect(readFileSync(f, 'utf8')).toBe('first content, rather long — with “UTF-8” ✓');
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await write(f, bytes);
      expect(new Uint8Array(readFileSync(f))).toEqual(bytes);
      await write(f, 'short');
      expect(readFileSync(f, 'utf8')).toBe('short');
      await write(f, '');
      expect(readFileSync(f, 'utf8')).toBe('');
    });

    test('leaves no temp file behind on success', async () => {
      const f = join(dir, 'state.json');
      for (let i = 0; i < 20; i++) await write(f, `{"n":${i}}`);
      expect(readdirSync(dir)).toEqual(['state.json']);
    });

    test('a missing directory is an error (ENOENT), nothing is created; with mkdir the parents are created', async () => {
      const f = join(dir, 'no', 'such', 'dir', 'pos.json');
      const e = await thrown(() => write(f, 'x'));
      expect(e?.code).toBe('ENOENT');
      expect(readdirSync(dir)).toEqual([]);
      await write(f, 'x', { mkdir: true });
      expect(readFileSync(f, 'utf8')).toBe('x');
      expect(readdirSync(join(dir, 'no', 'such', 'dir'))).toEqual(['pos.json']);
    });

    test('a directory in the place of the target: throws, removes its temp file, the directory and its content stay', async () => {
      const f = join(dir, 'pos.json');
      mkdirSync(f);
      writeFileSync(join(f, 'inside'), 'kept');
      const e = await thrown(() => write(f, 'new content'));
      expect(e).toBeInstanceOf(Error);
      expect(readdirSync(dir)).toEqual(['pos.json']);
      expect(statSync(f).isDirectory()).toBe(true);
      expect(readFileSync(join(f, 'inside'), 'utf8')).toBe('kept');
    });

    test('a target name too long for a temp name beside it: throws, the old content stays, no temp file', async () => {
      const f = join(dir, 'p'.repeat(250));
      writeFileSync(f, 'old content');
      const e = await thrown(() => write(f, 'new content'));
      expect(e?.code).toBe('ENAMETOOLONG');
      expect(readFileSync(f, 'utf8')).toBe('old content');
      expect(readdirSync(dir)).toEqual(['p'.repeat(250)]);
    });

    test('mode: the new file gets the mode asked for (0600, 0640), also when it replaces one with another mode', async () => {
      const f = join(dir, 'endpoint');
      writeFileSync(f, 'old', { mode: 0o644 });
      await write(f, 'secret', { mode: 0o600 });
      expect(statSync(f).mode & 0o777).toBe(0o600);
      await write(f, 'shared', { mode: 0o640 });
      expect(statSync(f).mode & 0o777).toBe(0o640);
      expect(readFileSync(f, 'utf8')).toBe('shared');
    });
  });
}

describe('writeFileAtomic: two processes writing one file', () => {
  test('a reader meanwhile and the file afterwards only ever see one whole write; no temp file is left', async () => {
    const f = join(dir, 'shared.json');
    const size = 256 * 1024;
    const rounds = 150;
    // Each write is one letter repeated `size` times, the letter changing with every write and differing between
    // the two writers: a torn write is short, a mixed one has two letters. Even rounds sync, odd ones async.
    const writer = (letters: string) => `
      const { writeFileAtomic, writeFileAtomicAsync } = await import(${JSON.stringify(HELPER)});
      const letters = ${JSON.stringify(letters)};
      for (let i = 0; i < ${rounds}; i++) {
        const text = letters[i % letters.length].repeat(${size});
        if (i % 2 === 0) writeFileAtomic(${JSON.stringify(f)}, text);
        else await writeFileAtomicAsync(${JSON.stringify(f)}, text);
      }
    `;
    const procs = ['abcdefghijklm', 'nopqrstuvwxyz'].map((letters) =>
      Bun.spawn([process.execPath, '-e', writer(letters)], { stdout: 'pipe', stderr: 'pipe', env: process.env }),
    );
    let running = true;
    const done = Promise.all(procs.map((p) => p.exited)).finally(() => {
      running = false;
    });
    const bad: string[] = [];
    let reads = 0;
    const check = () => {
      let text: string;
      try {
        text = readFileSync(f, 'latin1');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      reads++;
      const first = text[0] ?? '';
      if (text.length !== size || text !== first.repeat(size)) {
        bad.push(`${text.length} bytes, letters ${[...new Set(text)].join('')}`);
      }
    };
    while (running) {
      check();
      await Bun.sleep(0);
    }
    await done;
    for (const p of procs) {
      if (p.exitCode !== 0) throw new Error(`writer failed (${p.exitCode}): ${await new Response(p.stderr).text()}`);
    }
    check();
    expect(reads).toBeGreaterThan(0);
    expect(bad).toEqual([]);
    expect(readdirSync(dir)).toEqual(['shared.json']);
  }, 60_000);
});
