/** `rtwh tail --input FILE|-`: offline validation of JSONL files and stdin; and `| head` ending promptly. */
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';
import { openInputSource } from '../../src/tail/input';
import { runTail } from '../../src/tail/run';
import * as S from '../formats/corpus/good';

const MAIN = join(import.meta.dir, '..', '..', 'cmd', 'main.ts');

function file(lines: (string | Buffer)[], name = 'in.jsonl'): { dir: string; path: string } {
  const dir = tempDir('rtwh-tail-input-');
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(lines.map((l) => Buffer.concat([Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\n')]))));
  return { dir, path };
}

describe('--input FILE', () => {
  const LINES = [S.MAXWELL_INSERT, S.MAXWELL_DELETE, '{"database":"gmall",', S.BIG_NUMBERS, '', S.APPLOG_START, Buffer.from([0x7b, 0xff, 0x7d])];

  test('every line is a record; reasons say file:LINE; the summary counts', async () => {
    const { dir } = file(LINES);
    const r = await cli(['tail', '--input', 'in.jsonl', '--etl'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; offset: number; timestamp: null });
    expect(out.map((e) => e.offset)).toEqual([0, 3, 5]);
    expect(out[0]).toMatchObject({ topic: 'in.jsonl', partition: 0, timestamp: null, key: null, headers: {} });
    expect(r.stdout).toContain(`"value":${S.BIG_NUMBERS}}`);
    expect(r.stderr).toContain('in.jsonl:2: delete');
    expect(r.stderr).toContain('in.jsonl:3: invalid JSON');
    expect(r.stderr).toContain('in.jsonl:5: empty value');
    expect(r.stderr).toContain('in.jsonl:7: invalid UTF-8: byte 1 of 3');
    expect(r.stderr).toContain('read 7 records from in.jsonl');
  });

  test('line offsets: N, -N, a:b; -n', async () => {
    const { dir } = file(LINES);
    const offs = async (...argv: string[]) =>
      (await cli(['tail', '--input', 'in.jsonl', '--quiet', ...argv], { cwd: dir })).stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { offset: number }).offset);
    expect(await offs('-o', '5')).toEqual([5, 6]);
    expect(await offs('-o', '-2')).toEqual([5, 6]);
    expect(await offs('-o', '1:3')).toEqual([1, 2]);
    expect(await offs('-n', '2')).toEqual([0, 1]);
    const t = await cli(['tail', '--input', 'in.jsonl', '-o', '@-1h'], { cwd: dir });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('a file has line numbers, not timestamps');
  });

  test('a dump made by tail is read back as envelopes, values exact', async () => {
    const env = `{"topic":"ods_db","partition":2,"offset":41,"timestamp":1736821234000,"key":"k","headers":{"a":"b"},"value":${S.BIG_NUMBERS}}`;
    const { dir } = file([env, `{"topic":"ods_db","partition":2,"offset":42,"timestamp":1736821235000,"key":null,"headers":{},"value":"not json"}`]);
    const r = await cli(['tail', '--input', 'in.jsonl'], { cwd: dir });
    expect(r.stdout.split('\n')[0]).toBe(env);
    expect(r.stderr).toContain('ods_db[2]@42: invalid JSON');
  });

  test('a missing file and flags that need a topic are usage errors', async () => {
    const dir = tempDir();
    expect((await cli(['tail', '--input', 'nope.jsonl'], { cwd: dir })).stderr).toContain('cannot read --input "nope.jsonl": no such file');
    expect((await cli(['tail', '--input', 'x', '-f'], { cwd: dir })).stderr).toContain('--follow needs a topic');
    const none = await cli(['tail'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing topic');
  });
});

describe('rejected records on stderr', () => {
  test('each on one line after its reason; cut with its size on a terminal (recordWidth), whole otherwise', async () => {
    const long = `{"database":"gmall","table":"t","type":"delete","ts":1736821234,"data":{"blob":"${'x'.repeat(500)}"}}`;
    const { dir } = file([long, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0x7d])]);
    const lines = async (recordWidth?: number) => {
      const warned: string[] = [];
      const source = openInputSource({ path: 'in.jsonl', cwd: dir });
      await runTail({ source, format: 'jsonl', etl: { database: 'gmall' }, limit: null, metaOnly: false, quiet: false, write: async () => {}, warn: (l) => warned.push(l), workers: 0, ...(recordWidth ? { recordWidth } : {}) });
      await source.close();
      return warned;
    };
    const whole = await lines();
    expect(whole).toEqual([`in.jsonl:1: delete: type delete · record ${long}`, 'in.jsonl:2: invalid UTF-8: byte 5 of 7 is not valid UTF-8 · record "{\\"a\\":\\xff}"']);
    const cut = await lines(60);
    expect(cut[0]).toBe(`in.jsonl:1: delete: type delete · record ${long.slice(0, 60)}… (${long.length} bytes in all)`);
    expect(cut.slice(1)).toEqual(whole.slice(1));
  });
});

describe('as a process', () => {
  test('--input - reads stdin', async () => {
    const p = Bun.spawn(['bun', MAIN, 'tail', '--input', '-', '--etl', '--format', 'raw'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', cwd: tempDir() });
    p.stdin.write(`${S.MAXWELL_INSERT}\n${S.MAXWELL_DELETE}\n${S.CANAL_UPDATE}`);
    await p.stdin.end();
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toBe(`${S.MAXWELL_INSERT}\n${S.CANAL_UPDATE}\n`);
    expect(err).toContain('stdin:2: delete');
    expect(err).toContain('read 3 records from stdin');
  });

  test('| head -1 ends promptly (EPIPE), long before the input is read', async () => {
    const dir = tempDir();
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, `${S.MAXWELL_INSERT}\n`.repeat(200_000));
    const t0 = Date.now();
    const p = Bun.spawn(['bash', '-c', `bun ${JSON.stringify(MAIN)} tail --input ${JSON.stringify(big)} | head -1`], { stdout: 'pipe', stderr: 'pipe', cwd: dir });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    expect(out.split('\n')).toHaveLength(2);
    // Stopped by the closed pipe: no summary, so it did not read to the end.
    expect(err).not.toContain('read 200,000 records');
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 30_000);
});
