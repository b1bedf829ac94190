/**
 * `npm run build` → ONE executable, dist/rtwh, with DuckDB's native library embedded.
 *
 *   bun scripts/build.ts [--entry cmd/main.ts] [--outfile dist/rtwh] [--no-minify] [--no-bytecode] [--sourcemap]
 *
 * DuckDB: the module `@duckdb/node-bindings` is replaced by a generated shim that embeds libduckdb.so and
 * duckdb.node of THIS platform as file assets and loads them through src/store/duckdb-loader.ts (see there
 * for why). The other platforms' binding packages are marked external so the bundler never looks for them.
 */
import type { BunPlugin } from 'bun';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dir, '..');

const ALL_BINDING_PACKAGES = [
  'darwin-arm64',
  'darwin-x64',
  'linux-arm64',
  'linux-arm64-musl',
  'linux-x64',
  'linux-x64-musl',
  'win32-arm64',
  'win32-x64',
].map((p) => `@duckdb/node-bindings-${p}`);

/** The binding package for the machine that builds; cross-compiling would need that platform's package installed. */
function hostBindingPackage(): { name: string; platform: string } {
  const platform = `${process.platform}-${process.arch}`;
  return { name: `@duckdb/node-bindings-${platform}`, platform };
}

function packageDir(name: string): string {
  return dirname(Bun.resolveSync(`${name}/package.json`, ROOT));
}

interface DuckDBAssetInfo {
  shimSource: string;
  assetsSource: string;
  library: string;
  addon: string;
  external: string[];
}

function duckdbAssets(): DuckDBAssetInfo {
  const host = hostBindingPackage();
  const dir = packageDir(host.name);
  const version = (JSON.parse(readFileSync(join(packageDir('@duckdb/node-bindings'), 'package.json'), 'utf8')) as { version: string }).version;
  const libraryFileName = process.platform === 'darwin' ? 'libduckdb.dylib' : process.platform === 'win32' ? 'duckdb.dll' : 'libduckdb.so';
  const library = join(dir, libraryFileName);
  const addon = join(dir, 'duckdb.node');
  for (const f of [library, addon]) {
    if (!existsSync(f)) throw new Error(`missing ${f}: run npm install on this platform first`);
  }
  const libBytes = readFileSync(library);
  const addonBytes = readFileSync(addon);
  // 12 hex digits of wyhash over both files: enough to tell builds apart in the cache dir name.
  const fingerprint = Bun.hash(Buffer.concat([libBytes, addonBytes])).toString(16).padStart(16, '0').slice(0, 12);
  const loader = join(ROOT, 'src/store/duckdb-loader.ts');
  const assets = {
    libraryFileName,
    librarySize: libBytes.length,
    addonSize: addonBytes.length,
    version,
    platform: host.platform,
    fingerprint,
  };
  // Two virtual modules. The assets one is ESM because only `import … with { type: 'file' }` embeds a file.
  // The bindings one is CommonJS because node-api reads both `.default` (via __importDefault) and named
  // exports (`double_to_hugeint`, …) off `require('@duckdb/node-bindings')`: only `module.exports = binding`
  // gives both, exactly like the real package's duckdb.js.
  const assetsSource = [
    `import library from ${JSON.stringify(library)} with { type: 'file' };`,
    `import addon from ${JSON.stringify(addon)} with { type: 'file' };`,
    `export const embedded = { library, addon, ...${JSON.stringify(assets)} };`,
    '',
  ].join('\n');
  const shimSource = [
    `const { loadEmbeddedDuckDBBindings } = require(${JSON.stringify(loader)});`,
    `const { embedded } = require('rtwh-duckdb:assets');`,
    'module.exports = loadEmbeddedDuckDBBindings(embedded);',
    '',
  ].join('\n');
  return {
    shimSource,
    assetsSource,
    library,
    addon,
    external: ALL_BINDING_PACKAGES.filter((p) => p !== host.name),
  };
}

function duckdbEmbedPlugin(duck: DuckDBAssetInfo): BunPlugin {
  return {
    name: 'rtwh-duckdb-embed',
    setup(build) {
      // Only the bare specifier: node-api requires exactly '@duckdb/node-bindings' (checked in every lib/*.js).
      build.onResolve({ filter: /^@duckdb\/node-bindings$/ }, () => ({ path: 'bindings', namespace: 'rtwh-duckdb' }));
      build.onResolve({ filter: /^rtwh-duckdb:assets$/ }, () => ({ path: 'assets', namespace: 'rtwh-duckdb' }));
      build.onLoad({ filter: /^bindings$/, namespace: 'rtwh-duckdb' }, () => ({ contents: duck.shimSource, loader: 'js' }));
      build.onLoad({ filter: /^assets$/, namespace: 'rtwh-duckdb' }, () => ({ contents: duck.assetsSource, loader: 'ts' }));
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      entry: { type: 'string', default: 'cmd/main.ts' },
      outfile: { type: 'string', default: 'dist/rtwh' },
      'no-minify': { type: 'boolean', default: false },
      sourcemap: { type: 'boolean', default: false },
      'no-bytecode': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const entry = resolve(ROOT, values.entry);
  const WORKERS = ['src/collect/cdc/bus-worker.ts', 'src/tail/check-worker.ts', 'src/stream/forward-worker.ts'];
  const outfile = resolve(ROOT, values.outfile);
  if (!existsSync(entry)) {
    console.error(`build: entry ${entry} does not exist (pass --entry FILE)`);
    return 2;
  }
  mkdirSync(dirname(outfile), { recursive: true });

  const started = performance.now();
  const duck = duckdbAssets();
  const result = await Bun.build({
    // Worker threads are extra entrypoints: a compiled binary can only start workers it embeds
    // (cdc's bus producer, tail's record judge, the jobs' forwarding). Each falls back to the main thread when absent.
    entrypoints: [entry, ...WORKERS.map((w) => resolve(ROOT, w))],
    compile: { outfile },
    target: 'bun',
    // Identifiers keep their names: zongji tells binlog events apart by class name, which renaming breaks.
    minify: values['no-minify'] ? false : { whitespace: true, syntax: true, identifiers: false },
    // Precompiled bytecode: the JS engine skips parsing the bundle at every start.
    bytecode: !values['no-bytecode'],
    format: 'esm',
    sourcemap: values.sourcemap ? 'linked' : 'none',
    external: duck.external,
    plugins: [duckdbEmbedPlugin(duck)],
  });
  const ms = performance.now() - started;
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    console.error('build: failed');
    return 1;
  }
  const size = statSync(outfile).size;
  const embedded = statSync(duck.library).size + statSync(duck.addon).size;
  console.log(`built ${values.outfile}  ${mib(size)} (DuckDB ${mib(embedded)} of it)  in ${(ms / 1000).toFixed(1)} s`);
  return 0;
}

process.exitCode = await main();
