/**
 * `rtwh tail` as a real process (cmd/main.ts spawned, stdout and stderr pipes) on the embedded bus:
 * -f picks up records appended after it started and ends cleanly on SIGTERM with its summary; --etl chooses its
 * rule by the topic's name (ods_db, ods_log) and ends with the summary per table × type, per reason, and rate.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join, resolve } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus, ProduceMessage } from '../../src/bus/types';
import { tempDir } from '../helpers/cli';
import * as S from '../formats/corpus/good';

const MAIN = resolve(import.meta.dir, '../../cmd/main.ts');

let dir: string;
let url: string;
let bus: Bus;

beforeAll(async () => {
  dir = tempDir('rtwh-tail-cli-');
  url = `sqlite:${join(dir, 'bus.db')}`;
  bus = await openBus(url, { cwd: dir });
  const admin = await bus.admin();
  try {
    for (const name of ['ods_db', 'ods_log', 'follow']) await admin.createTopic({ name, partitions: 1 });
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  await bus?.close();
});

async function produce(topic: string, values: (string | null)[]): Promise<void> {
  const p = await bus.producer();
  try {
    await p.send(topic, values.map((value): ProduceMessage => ({ value })));
  } finally {
    await p.close();
  }
}

function spawnTail(args: string[]) {
  return Bun.spawn([process.execPath, MAIN, 'tail', ...args], {
    cwd: dir,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, RTWH_BUS: url, NO_COLOR: '1' },
  });
}

async function finished(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawnTail(args);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe('rtwh tail as a process', () => {
  test('-f: records appended after it started are printed; SIGTERM ends it cleanly with the summary', async () => {
    await produce('follow', [S.MAXWELL_INSERT]);
    const p = spawnTail(['follow', '-f']);
    const stderr = new Response(p.stderr).text();
    const reader = p.stdout.getReader();
    let out = '';
    const decoder = new TextDecoder();
    const lineCount = () => out.split('\n').filter((l) => l !== '').length;
    // Reads stdout until n lines came (or the deadline).
    const until = async (n: number, ms: number): Promise<number> => {
      const deadline = Date.now() + ms;
      while (lineCount() < n && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
        if (chunk === null || chunk.done) break;
        out += decoder.decode(chunk.value, { stream: true });
      }
      return lineCount();
    };
    try {
      expect(await until(1, 20_000)).toBe(1);
      await produce('follow', [S.MAXWELL_UPDATE, S.BIG_NUMBERS]);
      expect(await until(3, 20_000)).toBe(3);
      // Still following: nothing more, and the process is alive.
      await Bun.sleep(300);
      expect(p.exitCode).toBeNull();
      p.kill('SIGTERM');
      const code = await Promise.race([p.exited, Bun.sleep(10_000).then(() => 'still running')]);
      expect(code).toBe(0);
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        out += decoder.decode(chunk.value, { stream: true });
      }
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
    const envs = out.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; offset: number });
    expect(envs.map((e) => [e.topic, e.offset])).toEqual([['follow', 0], ['follow', 1], ['follow', 2]]);
    expect(out).toContain(`"value":${S.BIG_NUMBERS}}`);
    expect(await stderr).toMatch(/^read 3 records from follow in [\d.]+ m?s \([\d,]+ records\/s\) · valid 3 · invalid 0\n/);
  }, 60_000);

  test('--etl on ods_db: the db rule by the topic\'s name; reasons with their records; the summary', async () => {
    await produce('ods_db', [
      S.MAXWELL_INSERT,
      S.MAXWELL_BOOTSTRAP_INSERT,
      S.MAXWELL_DELETE,
      S.withDatabase(S.MAXWELL_INSERT, 'gmall2022'),
      S.APPLOG_START,
      '{"database":"gmall",',
      S.DEBEZIUM_UPDATE,
    ]);
    const r = await finished(['ods_db', '--etl']);
    expect(r.code).toBe(0);
    const kept = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: number });
    expect(kept.map((e) => e.offset)).toEqual([0, 1, 6]);
    expect(r.stdout).toContain(`"value":${S.MAXWELL_BOOTSTRAP_INSERT.replace('"bootstrap-insert"', '"insert"')}}`);
    const err = r.stderr.split('\n');
    expect(err).toContain(`ods_db[0]@2: delete: type delete · record ${S.MAXWELL_DELETE}`);
    expect(err).toContain(`ods_db[0]@3: wrong database: database "gmall2022", expected "gmall" · record ${S.withDatabase(S.MAXWELL_INSERT, 'gmall2022')}`);
    expect(err.find((l) => l.startsWith('ods_db[0]@4: wrong format: an app log'))).toEndWith(` · record ${S.APPLOG_START}`);
    expect(err.find((l) => l.startsWith('ods_db[0]@5: invalid JSON: '))).toEndWith(' · record "{\\"database\\":\\"gmall\\","');
    // The summary: a head line with the rate, then kept per table × type, then rejected per reason.
    const at = err.findIndex((l) => l.startsWith('read 7 records from ods_db in '));
    expect(err[at]).toMatch(/^read 7 records from ods_db in [\d.]+ m?s \([\d,]+ records\/s\) · kept 3 · rejected 4$/);
    expect(err.slice(at + 1, at + 5).map((l) => l.trim().split(/\s+/))).toEqual([
      ['kept', 'insert', 'update'],
      ['base_province', '1', '0'],
      ['order_info', '1', '1'],
      ['rejected', 'count'],
    ]);
    expect(err.slice(at + 5, at + 9).map((l) => l.trim().split(/\s{2,}/)).sort()).toEqual([
      ['delete', '1'],
      ['invalid JSON', '1'],
      ['wrong database', '1'],
      ['wrong format', '1'],
    ]);
  }, 60_000);

  test('--etl on ods_log: any JSON object with common and ts; format faults as warnings; --json summary', async () => {
    const SEED = '{"common":{"mid":"m1"},"ts":1736841600000}';
    await produce('ods_log', [SEED, S.APPLOG_PAGE, S.MAXWELL_INSERT, S.APPLOG_PAGE.replace('"during_time":10267,', '')]);
    const r = await finished(['ods_log', '--etl']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { offset: number }).offset)).toEqual([0, 1, 3]);
    expect(r.stderr).toContain('ods_log[0]@0: kept, with a warning: invalid applog: start, page: expected one of them, got neither\n');
    expect(r.stderr).toContain(`ods_log[0]@2: not an app log: common: expected an object, got nothing · record ${S.MAXWELL_INSERT}\n`);
    expect(r.stderr).toMatch(/· kept 3 · rejected 1 · warnings 2\n/);
    expect(r.stderr).toMatch(/\n {2}applog\s+2\s+1\n/); // page, other

    const j = await finished(['ods_log', '--etl', '--quiet', '--json']);
    expect(j.code).toBe(0);
    expect(j.stderr.trim().split('\n')).toHaveLength(1);
    const s = (JSON.parse(j.stderr) as { summary: Record<string, unknown> }).summary;
    expect(s).toMatchObject({ read: 4, kept: 3, rejected: 1, kinds: { applog: { other: 1, page: 2 } }, reasons: { 'not an app log': 1 }, warnings: { 'invalid applog': 2 } });
    expect(s.records_per_second).toBeGreaterThan(0);
  }, 60_000);
});
