/**
 * Loads DuckDB's native binding from inside a `bun build --compile` binary.
 *
 * Why this exists: `duckdb.node` links against `libduckdb.so` and finds it through RUNPATH=$ORIGIN, i.e. in
 * its own directory. Bun extracts an embedded `.node` to a fresh temp file on every launch (without the
 * library beside it, and without cleaning up), so the plain `require` fails in a compiled binary.
 * Instead the build embeds both files as `type: 'file'` assets; here we copy them ONCE into a versioned
 * cache dir, preload the library with bun:ffi (so the dynamic linker already has the soname `libduckdb.so`
 * mapped, whatever RUNPATH says), then `process.dlopen` the extracted addon.
 *
 * `scripts/build.ts` swaps the module `@duckdb/node-bindings` for a generated shim that calls
 * `loadEmbeddedDuckDBBindings(...)` with the embedded paths. Under `bun run` / `bun test` this file is not
 * involved: @duckdb/node-api loads the binding from node_modules as usual.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dlopen } from 'bun:ffi';
import { RtwhError } from '../errors.ts';
import { writeFileAtomic } from './atomic-file.ts';

export interface EmbeddedDuckDBAssets {
  /** Path of libduckdb.so as the bundler hands it out (under /$bunfs/ inside a compiled binary). */
  library: string;
  /** Path of duckdb.node, likewise. */
  addon: string;
  /** File name the addon links against (its DT_NEEDED entry), e.g. `libduckdb.so`. */
  libraryFileName: string;
  /** Byte sizes measured at build time: a warm start then needs two stat calls and no read of the blobs. */
  librarySize: number;
  addonSize: number;
  /** @duckdb/node-bindings version and `${platform}-${arch}`: part of the cache dir name. */
  version: string;
  platform: string;
  /** Content hash of both files taken at build time, so a rebuilt binary never reuses stale files. */
  fingerprint: string;
}

export interface ExtractedDuckDB {
  dir: string;
  library: string;
  addon: string;
  /** False when the cache was already warm. */
  extracted: boolean;
}

type Env = Record<string, string | undefined>;

export interface CacheRoot {
  path: string;
  /** In a directory other users can write to (the temp dir): must be ours and closed to others before use. */
  shared: boolean;
}

/**
 * Cache roots to try, best first. An explicit RTWH_CACHE_DIR is the only candidate (the user chose it);
 * otherwise the XDG cache, then a per-user temp dir for machines whose HOME is read-only or unset.
 */
export function duckdbCacheRoots(env: Env = process.env): CacheRoot[] {
  if (env.RTWH_CACHE_DIR) return [{ path: env.RTWH_CACHE_DIR, shared: false }];
  const roots: CacheRoot[] = [];
  const xdg = env.XDG_CACHE_HOME;
  if (xdg) roots.push({ path: join(xdg, 'rtwh'), shared: false });
  else {
    const home = env.HOME || safeHomedir();
    if (home) roots.push({ path: join(home, '.cache', 'rtwh'), shared: false });
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  roots.push({ path: join(env.TMPDIR || tmpdir(), `rtwh-${uid}`), shared: true });
  return roots;
}

/**
 * A library loaded from a dir another user could have planted is code execution as us: in the shared temp
 * dir, use our own 0700 directory only.
 */
function assertPrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = statSync(path);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new Error(`${path} is not a private directory of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
  }
}

export function duckdbCacheDirName(assets: Pick<EmbeddedDuckDBAssets, 'version' | 'platform' | 'fingerprint'>): string {
  return `duckdb-${assets.version}-${assets.platform}-${assets.fingerprint}`;
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Copies the embedded files into `dir` unless both are already there with the expected sizes. */
export function extractDuckDBAssets(assets: EmbeddedDuckDBAssets, dir: string): ExtractedDuckDB {
  const library = join(dir, assets.libraryFileName);
  const addon = join(dir, 'duckdb.node');
  const warm = sizeOf(library) === assets.librarySize && sizeOf(addon) === assets.addonSize;
  if (!warm) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    // Each file lands complete (temp file + rename), so a concurrent or interrupted start never sees half a library
    // and a size mismatch means a foreign or damaged file: rewrite just that one.
    if (sizeOf(library) !== assets.librarySize) writeFileAtomic(library, readEmbedded(assets.library, assets.librarySize), { mode: 0o755 });
    if (sizeOf(addon) !== assets.addonSize) writeFileAtomic(addon, readEmbedded(assets.addon, assets.addonSize), { mode: 0o755 });
  }
  return { dir, library, addon, extracted: !warm };
}

function readEmbedded(path: string, expectedSize: number): Uint8Array {
  const bytes = readFileSync(path);
  if (bytes.length !== expectedSize) {
    throw new Error(`embedded ${path} has ${bytes.length} bytes, the build recorded ${expectedSize}`);
  }
  return bytes;
}

// Kept for the life of the process: the addon's symbols point into this library.
let libraryHandle: unknown;
let loaded: { exports: unknown; dir: string } | undefined;

/**
 * Extracts (first run) and loads DuckDB's N-API binding; returns what `require('@duckdb/node-bindings')`
 * would. Synchronous because @duckdb/node-api requires the binding at module-evaluation time.
 */
export function loadEmbeddedDuckDBBindings(assets: EmbeddedDuckDBAssets, env: Env = process.env): unknown {
  if (loaded) return loaded.exports;
  const here = `${process.platform}-${process.arch}`;
  if (here !== assets.platform) {
    throw new RtwhError('DUCKDB_LOAD', `this rtwh binary embeds DuckDB for ${assets.platform} but runs on ${here}`, {
      hint: `Build rtwh for ${here} (npm run build on that platform).`,
    });
  }
  const failures: string[] = [];
  for (const root of duckdbCacheRoots(env)) {
    const dir = join(root.path, duckdbCacheDirName(assets));
    let files: ExtractedDuckDB;
    try {
      if (root.shared) assertPrivateDir(root.path);
      files = extractDuckDBAssets(assets, dir);
    } catch (e) {
      // Not writable (read-only HOME, full disk…): try the next root.
      failures.push(`${dir}: ${errorText(e)}`);
      continue;
    }
    try {
      // bun:ffi wants at least one symbol; duckdb_library_version is in every libduckdb since 0.3.
      libraryHandle = dlopen(files.library, { duckdb_library_version: { args: [], returns: 'cstring' } });
      const mod: { exports: unknown } = { exports: {} };
      process.dlopen(mod, files.addon);
      loaded = { exports: mod.exports, dir };
      return mod.exports;
    } catch (e) {
      // A library that exists but will not load (noexec mount, wrong libc) will not load from another root either.
      throw new RtwhError('DUCKDB_LOAD', `could not load DuckDB from the cache dir ${dir}: ${errorText(e)}`, {
        cause: e,
        details: { cacheDir: dir },
        hint: 'If that directory is on a noexec mount or shared with another libc, point RTWH_CACHE_DIR at a writable, exec-allowed directory.',
      });
    }
  }
  throw new RtwhError('DUCKDB_LOAD', `could not write the embedded DuckDB library to a cache dir: ${failures.join('; ')}`, {
    details: { tried: failures },
  });
}

/** Where the binding was loaded from in this process (undefined until loaded, and outside a compiled binary). */
export function loadedDuckDBCacheDir(): string | undefined {
  return loaded?.dir;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
