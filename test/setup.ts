/**
 * Preloaded by `bun test` (bunfig.toml): the tests' own temporary files (tmpdir(), so tempDir() and mkdtemp) go
 * under ONE directory, removed when the run ends. Many tests keep their directories on purpose until the end (kill -9
 * state, a server's data dir); without this a developer's repeated `npm test` filled the disk with them.
 * Children inherit it only when spawned with `env: process.env`: Bun.spawn without `env` passes the environment the
 * test process started with, so a child's own temporary files (few: most children are given paths inside a test's
 * directory) still go to the system's TMPDIR.
 */
import { afterAll } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'rtwh-tests-'));
process.env.TMPDIR = root;

// A hook in a preloaded file runs once, after every test file of the run.
afterAll(() => {
  if (process.env.RTWH_KEEP_TEST_TMP) {
    process.stderr.write(`test files kept in ${root}\n`);
    return;
  }
  rmSync(root, { recursive: true, force: true });
});
