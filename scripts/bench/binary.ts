/** The compiled rtwh of this checkout, for benches that measure what users run. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const REPO = resolve(import.meta.dir, '../..');
let built: string | undefined;

/** Builds dist-style rtwh from this checkout into a temp dir (once per process, ~4 s; removed at exit); its path. */
export function benchBinary(): string {
  if (built !== undefined) return built;
  const out = join(mkdtempSync(join(tmpdir(), 'rtwh-bench-bin-')), 'rtwh');
  const r = Bun.spawnSync([process.execPath, join(REPO, 'scripts/build.ts'), '--outfile', out], { cwd: REPO, stdout: 'ignore', stderr: 'inherit' });
  if (r.exitCode !== 0) throw new Error('bun scripts/build.ts failed');
  process.on('exit', () => rmSync(dirname(out), { recursive: true, force: true }));
  return (built = out);
}
