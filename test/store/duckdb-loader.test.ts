/**
 * The single-binary loader, exercised without compiling: the "embedded" files are the ones in node_modules
 * (inside a compiled binary they would be /$bunfs/ paths; the code path is the same).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  duckdbCacheDirName,
  duckdbCacheRoots,
  extractDuckDBAssets,
  loadEmbeddedDuckDBBindings,
  type EmbeddedDuckDBAssets,
} from '../../src/store/duckdb-loader.ts';
import { RtwhError } from '../../src/errors.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtwh-loader-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fakeAssets(): EmbeddedDuckDBAssets {
  const src = mkdtempSync(join(dir, 'src-'));
  writeFileSync(join(src, 'lib.so'), 'library-bytes');
  writeFileSync(join(src, 'addon.node'), 'addon');
  return {
    library: join(src, 'lib.so'),
    addon: join(src, 'addon.node'),
    libraryFileName: 'libduckdb.so',
    librarySize: 13,
    addonSize: 5,
    version: '1.2.3',
    platform: `${process.platform}-${process.arch}`,
    fingerprint: 'abc123',
  };
}

describe('cache dir', () => {
  test('RTWH_CACHE_DIR is the only root when set', () => {
    expect(duckdbCacheRoots({ RTWH_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toEqual([{ path: '/c', shared: false }]);
  });

  test('XDG_CACHE_HOME, else ~/.cache; a per-user temp dir as the fallback', () => {
    const xdg = duckdbCacheRoots({ XDG_CACHE_HOME: '/x', HOME: '/h', TMPDIR: '/t' });
    expect(xdg[0]).toEqual({ path: '/x/rtwh', shared: false });
    expect(xdg[1]?.path).toStartWith('/t/rtwh-');
    expect(xdg[1]?.shared).toBe(true);
    expect(duckdbCacheRoots({ HOME: '/h', TMPDIR: '/t' })[0]?.path).toBe('/h/.cache/rtwh');
  });

  test('the dir name carries version, platform and build fingerprint', () => {
    expect(duckdbCacheDirName({ version: '1.5.6-r.1', platform: 'linux-x64', fingerprint: '29de2eb4cfbc' })).toBe(
      'duckdb-1.5.6-r.1-linux-x64-29de2eb4cfbc',
    );
  });
});

describe('extract', () => {
  test('writes once, then finds the warm cache; no temp files left behind', () => {
    const assets = fakeAssets();
    const target = join(dir, 'cache-a');
    const first = extractDuckDBAssets(assets, target);
    expect(first.extracted).toBe(true);
    expect(statSync(first.library).size).toBe(13);
    expect(statSync(first.addon).size).toBe(5);
    const second = extractDuckDBAssets(assets, target);
    expect(second.extracted).toBe(false);
    expect(readdirSync(target).sort()).toEqual(['duckdb.node', 'libduckdb.so']);
  });

  test('a truncated cached file (wrong size) is written again', () => {
    const assets = fakeAssets();
    const target = join(dir, 'cache-b');
    extractDuckDBAssets(assets, target);
    writeFileSync(join(target, 'libduckdb.so'), 'short');
    expect(extractDuckDBAssets(assets, target).extracted).toBe(true);
    expect(statSync(join(target, 'libduckdb.so')).size).toBe(13);
  });

  test('an embedded file whose size differs from the build record is refused', () => {
    const assets = { ...fakeAssets(), librarySize: 99 };
    expect(() => extractDuckDBAssets(assets, join(dir, 'cache-c'))).toThrow('the build recorded 99');
  });
});

describe('load', () => {
  test('an unwritable cache dir is DUCKDB_LOAD and names the dir', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const e = (() => {
      try {
        loadEmbeddedDuckDBBindings(fakeAssets(), { RTWH_CACHE_DIR: join(blocker, 'sub') });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(RtwhError);
    expect((e as RtwhError).code).toBe('DUCKDB_LOAD');
    expect((e as RtwhError).message).toContain(join(blocker, 'sub'));
  });

  test('the shared temp fallback is refused when the dir is open to other users', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    const planted = join(tmp, `rtwh-${uid}`);
    mkdirSync(planted, { mode: 0o777 });
    chmodSync(planted, 0o777);
    const blocker = join(dir, 'not-a-home');
    writeFileSync(blocker, 'x');
    const e = (() => {
      try {
        loadEmbeddedDuckDBBindings(fakeAssets(), { HOME: blocker, TMPDIR: tmp });
      } catch (x) {
        return x;
      }
    })();
    expect((e as RtwhError).code).toBe('DUCKDB_LOAD');
    expect((e as RtwhError).message).toContain('is not a private directory');
  });

  test('a binary for another platform says so', () => {
    expect(() => loadEmbeddedDuckDBBindings({ ...fakeAssets(), platform: 'plan9-mips' }, { RTWH_CACHE_DIR: dir })).toThrow(
      'embeds DuckDB for plan9-mips',
    );
  });

  // In a child process: this one already has the node_modules binding loaded by other tests.
  test('extracts the real library and addon to a cold cache, loads them, and DuckDB answers', async () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    const pkg = dirname(Bun.resolveSync('@duckdb/node-bindings-linux-x64/package.json', import.meta.dir));
    const cache = join(dir, 'real-cache');
    const script = `
      const { loadEmbeddedDuckDBBindings } = await import(${JSON.stringify(join(import.meta.dir, '../../src/store/duckdb-loader.ts'))});
      const { statSync } = await import('node:fs');
      const library = ${JSON.stringify(join(pkg, 'libduckdb.so'))};
      const addon = ${JSON.stringify(join(pkg, 'duckdb.node'))};
      const b = loadEmbeddedDuckDBBindings({ library, addon, libraryFileName: 'libduckdb.so',
        librarySize: statSync(library).size, addonSize: statSync(addon).size, version: 'test',
        platform: 'linux-x64', fingerprint: 'f' });
      const db = await b.open(':memory:');
      const c = await b.connect(db);
      const r = await b.query(c, 'select 42 as answer');
      console.log(b.library_version(), b.column_name(r, 0));
    `;
    // Twice: the first run extracts, the second finds the warm cache.
    for (let round = 0; round < 2; round++) {
      const p = Bun.spawnSync([process.execPath, '-e', script], { env: { ...process.env, RTWH_CACHE_DIR: cache }, stderr: 'pipe' });
      expect(p.stderr.toString()).toBe('');
      expect(p.stdout.toString()).toMatch(/^v\d+\.\d+\S* answer\n$/);
      expect(readdirSync(join(cache, 'duckdb-test-linux-x64-f')).sort()).toEqual(['duckdb.node', 'libduckdb.so']);
    }
  });
});

describe('compiled binary', () => {
  // The promise of the single binary, checked for real: build with scripts/build.ts, copy the file ALONE
  // into an empty dir (no node_modules), HOME pointed at a fresh dir so the cache is cold, run it twice.
  test(
    'copied alone into an empty dir with a cold cache it answers select 42; the second run reuses the cache',
    () => {
      if (process.platform !== 'linux' || process.arch !== 'x64') return;
      const root = join(import.meta.dir, '../..');
      const entry = join(dir, 'smoke-entry.ts');
      writeFileSync(
        entry,
        [
          `import { openDuckDB } from ${JSON.stringify(join(root, 'src/store/duckdb.ts'))};`,
          `import { loadedDuckDBCacheDir } from ${JSON.stringify(join(root, 'src/store/duckdb-loader.ts'))};`,
          "if (process.argv[2] === 'noop') { console.log(String(loadedDuckDBCacheDir())); process.exit(0); }",
          "const db = await openDuckDB(':memory:');",
          "const r = await db.query('select 42 as answer, 9007199254740993::bigint as big');",
          "console.log(r.rows[0]?.map(String).join(','), loadedDuckDBCacheDir());",
          'db.close();',
        ].join('\n'),
      );
      const built = join(dir, 'build-out', 'smoke');
      const b = Bun.spawnSync([process.execPath, join(root, 'scripts/build.ts'), '--entry', entry, '--outfile', built], {
        cwd: root,
        stderr: 'pipe',
      });
      expect(b.stderr.toString()).toBe('');
      expect(b.exitCode).toBe(0);

      const empty = mkdtempSync(join(dir, 'empty-'));
      const home = mkdtempSync(join(dir, 'home-'));
      const bin = join(empty, 'smoke');
      copyFileSync(built, bin);
      chmodSync(bin, 0o755);
      rmSync(join(dir, 'build-out'), { recursive: true, force: true });
      const run = (arg?: string) =>
        Bun.spawnSync(arg ? [bin, arg] : [bin], { cwd: empty, env: { PATH: '/usr/bin:/bin', HOME: home }, stderr: 'pipe' });

      // Importing the store must not load DuckDB.
      const noop = run('noop');
      expect(noop.stdout.toString()).toBe('undefined\n');
      expect(readdirSync(home)).toEqual([]);

      const cold = run();
      expect(cold.stderr.toString()).toBe('');
      const [answer, cacheDir] = cold.stdout.toString().trim().split(' ');
      expect(answer).toBe('42,9007199254740993');
      expect(cacheDir).toStartWith(join(home, '.cache', 'rtwh', 'duckdb-'));
      const lib = join(cacheDir ?? '', 'libduckdb.so');
      const firstWrite = statSync(lib).mtimeMs;

      const warm = run();
      expect(warm.stdout.toString().trim()).toBe(`42,9007199254740993 ${cacheDir}`);
      expect(statSync(lib).mtimeMs).toBe(firstWrite);
      expect(readdirSync(empty)).toEqual(['smoke']);
    },
    120_000,
  );
});
