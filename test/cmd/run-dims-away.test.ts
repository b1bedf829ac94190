/**
 * A job that reads the dim store (`run dwd trade`, the dws jobs with names) when that store is a MySQL server that
 * cannot be reached: it says it is waiting (it used to print nothing at all), and a signal stops it at once.
 * Nothing listens on 127.0.0.1 port 1 (connections are refused), so no server is needed.
 */
import { expect, test } from 'bun:test';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/cli';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');

test('run dwd trade with an unreachable MySQL dim store: "waiting for the dim store" on stderr, SIGTERM stops it (exit 130)', async () => {
  const cwd = tempDir('rtwh-dims-away-');
  const p = Bun.spawn(
    [process.execPath, MAIN, 'run', 'dwd', 'trade', '--until-idle', '--bus', `sqlite:${join(cwd, 'bus.db')}`, '--dim-store', 'mysql://root:s3cret@127.0.0.1:1/gmall_dim'],
    { cwd, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1', RTWH_MYSQL: undefined, RTWH_BUS: undefined } },
  );
  let stderr = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of p.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('waiting for the dim store') && Date.now() < deadline) await Bun.sleep(50);
  expect(stderr).toContain('dwd trade: waiting for the dim store: ');
  expect(stderr).toContain('cannot reach MySQL at 127.0.0.1:1');
  const stoppedAt = Date.now();
  p.kill('SIGTERM');
  const code = await p.exited;
  await reading;
  expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  expect(code).toBe(130);
  expect(stderr).toContain('rtwh: stopped while waiting for mysql://root:****@127.0.0.1:1/gmall_dim');
  expect(stderr).not.toContain('s3cret');
}, 60_000);
