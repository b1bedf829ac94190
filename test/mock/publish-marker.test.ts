/**
 * `mock db --to` and `mock log --to` killed part-way: the same command again is refused instead of publishing the part
 * already on the topic a second time (an audit doubled 45,012 ods_db records and 60,000 log lines without a word).
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openBus } from '../../src/bus/index';
import { publishMarkerPath } from '../../src/mock/publish-marker';
import { cli, tempDir } from '../helpers/cli';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');

async function recordsOf(cwd: string, topic: string): Promise<number> {
  const bus = await openBus(`sqlite:${join(cwd, '.rtwh', 'bus.db')}`);
  try {
    const admin = await bus.admin();
    try {
      return (await admin.describeTopic(topic).catch(() => undefined))?.partitions.reduce((n, p) => n + p.endOffset, 0) ?? 0;
    } finally {
      await admin.close();
    }
  } finally {
    await bus.close();
  }
}

/** The marker files under the state dir (`.rtwh/<command>/`). */
function markers(cwd: string, command: string): string[] {
  const dir = join(cwd, '.rtwh', command);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.publishing')).map((n) => join(dir, n)) : [];
}

for (const [command, argv, topic] of [
  ['mock-db', ['mock', 'db', '--init', '--to', 'ods_db', '--date', '2025-01-14', '--seed', '3', '--scale', '40'], 'ods_db'],
  ['mock-log', ['mock', 'log', '--to', 'ods_log', '--date', '2025-01-14', '--seed', '3', '--startup-count', '40000'], 'ods_log'],
] as const) {
  describe(`rtwh ${argv.slice(0, 2).join(' ')} --to, killed part-way`, () => {
    test('the same command again is refused, names the run and says how to go on; nothing is published twice', async () => {
      const cwd = tempDir('rtwh-publish-');
      const child = Bun.spawn([process.execPath, MAIN, ...argv], { cwd, stdout: 'ignore', stderr: 'ignore' });
      try {
        const deadline = Date.now() + 60_000;
        while ((await recordsOf(cwd, topic)) === 0 && Date.now() < deadline) await Bun.sleep(20);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
      }
      const part = await recordsOf(cwd, topic);
      expect(part).toBeGreaterThan(0);
      expect(markers(cwd, command)).toHaveLength(1);

      const again = await cli([...argv], { cwd });
      expect(again.code).toBe(7);
      expect(again.stderr).toContain(`${argv.slice(0, 2).join(' ')} --to ${topic} for 2025-01-14 (seed 3)`);
      expect(again.stderr).toContain('stopped before it finished');
      expect(again.stderr).toContain(`rtwh topics delete ${topic}`);
      expect(await recordsOf(cwd, topic)).toBe(part);

      // the hint's way on: the marker deleted, the run publishes (the part again, as the user chose) and leaves none
      rmSync(markers(cwd, command)[0]!);
      const forced = await cli([...argv.filter((a) => a !== '--scale' && a !== '40' && a !== '--startup-count' && a !== '40000')], { cwd });
      expect(forced.code).toBe(0);
      expect(markers(cwd, command)).toEqual([]);
      expect(await recordsOf(cwd, topic)).toBeGreaterThan(part);
    }, 120_000);
  });
}

test('a run still publishing is named with its pid, and the marker too (the pid may be another process by now)', async () => {
  const cwd = tempDir('rtwh-publish-');
  const bus = await openBus(`sqlite:${join(cwd, '.rtwh', 'bus.db')}`);
  const url = bus.displayUrl;
  await bus.close();
  const marker = publishMarkerPath(join(cwd, '.rtwh'), 'mock-log', url, 'ods_log');
  const other = Bun.spawn(['sleep', '30']);
  try {
    mkdirSync(join(cwd, '.rtwh', 'mock-log'), { recursive: true });
    writeFileSync(marker, JSON.stringify({ command: 'mock log', topic: 'ods_log', dates: '2025-01-14', seed: 3, pid: other.pid, started: '2026-11-28T10:00:00.000Z' }));
    const r = await cli(['mock', 'log', '--to', 'ods_log', '--date', '2025-01-14', '--seed', '3'], { cwd });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`mock log --to ods_log for 2025-01-14 (seed 3) is publishing now (pid ${other.pid}`);
    expect(r.stderr).toContain(`If no such run is going on, delete "${marker}"`);
    expect(await recordsOf(cwd, 'ods_log')).toBe(0);
  } finally {
    other.kill();
  }
});
