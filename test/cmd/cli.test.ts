/** The CLI in-process: help, version, errors, config, and the commands that work on the embedded bus. */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { cli, tempDir } from '../helpers/cli';
import { report } from '../../cmd/cli';
import { rtwhError } from '../../src/errors';

const GROUPS = ['mock', 'ship', 'cdc', 'tail', 'run', 'query', 'serve', 'topics', 'groups', 'config', 'completion'];

describe('help and version', () => {
  test('--version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`rtwh ${pkg.version}`);
  });

  test('--help names every command group', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const g of GROUPS) expect(r.stdout).toMatch(new RegExp(`^  ${g}\\b`, 'm'));
  });

  test.each(GROUPS)('%s --help has real text', async (g) => {
    const r = await cli([g, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: rtwh ${g}`);
    expect(r.stdout.length).toBeGreaterThan(120);
  });
});

describe('groups that are not built yet say so and exit 3', () => {
  const planned: string[][] = [
    ['serve'],
  ];
  test.each(planned.map((argv) => [argv.join(' '), argv] as const))('rtwh %s', async (_name, argv) => {
    const r = await cli([...argv]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('is not built yet');
  });

  test('their help says it too', async () => {
    const r = await cli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('not built yet');
  });
});

describe('errors', () => {
  test('unknown command: usage error with a suggestion', async () => {
    const r = await cli(['topcis']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'topcis'");
    expect(r.stderr).toContain('topics');
    expect(r.stderr).toContain('hint:');
  });

  test('--json turns any error into one JSON object on stderr', async () => {
    const r = await cli(['serve', '--json']);
    expect(r.code).toBe(3);
    const e = JSON.parse(r.stderr) as { error: { code: string; exit: number; message: string; hint: string } };
    expect(e.error.code).toBe('NOT_BUILT');
    expect(e.error.exit).toBe(3);
    expect(e.error.hint.length).toBeGreaterThan(0);
  });

  test('a bad config value fails at start, with key, value and expectation', async () => {
    const r = await cli(['topics', '--json'], { env: { RTWH_BUS: 'redis://x' } });
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(e.error.code).toBe('CONFIG_VALUE');
    expect(e.error.message).toBe('invalid RTWH_BUS (env) "redis://x": expected kafka://host:port[,host:port] or sqlite:PATH');
  });

  test('secrets never appear in errors', async () => {
    const r = await cli(['config', 'show', '--mysql', 'mysql://root:hunter2@127.0.0.1:1/x', '--bus', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('hunter2');
  });
});

describe('config', () => {
  test('show: merged values with sources, password masked', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'rtwh.toml'), '[http]\nport = 9999\n');
    const r = await cli(['config', 'show', '--mysql', 'mysql://root:hunter2@127.0.0.1:3307/gmall'], { cwd, env: { RTWH_BUS: 'sqlite:x.db' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).toMatch(/^mysql\s+mysql:\/\/root:\*\*\*\*@127\.0\.0\.1:3307\/gmall\s+\[flag\]$/m);
    expect(r.stdout).toMatch(/^bus\s+sqlite:x\.db\s+\[env RTWH_BUS\]$/m);
    expect(r.stdout).toMatch(/^http\.port\s+9999\s+\[file\]$/m);
    expect(r.stdout).toMatch(/^http\.bind\s+127\.0\.0\.1\s+\[default\]$/m);
  });

  test('show --json', async () => {
    const r = await cli(['config', 'show', '--json'], { env: { RTWH_MYSQL: 'mysql://u:pw@h:1/d' } });
    const doc = JSON.parse(r.stdout) as { keys: Record<string, { value: unknown; source: string }> };
    expect(doc.keys.mysql).toEqual({ value: 'mysql://u:****@h:1/d', source: 'env', env: 'RTWH_MYSQL' } as never);
    expect(doc.keys.bus?.value).toBe('sqlite:./.rtwh/bus.db');
  });

  test('init writes a starter that loads, and refuses to overwrite', async () => {
    const cwd = tempDir();
    const r = await cli(['config', 'init'], { cwd });
    expect(r.code).toBe(0);
    const text = readFileSync(join(cwd, 'rtwh.toml'), 'utf8');
    expect(text).toContain('# Topic bus');
    expect((await cli(['config', 'show'], { cwd })).code).toBe(0);
    const again = await cli(['config', 'init'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect((await cli(['config', 'init', '--force'], { cwd })).code).toBe(0);
  });

  test('init works even when the existing config is broken', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'rtwh.toml'), 'nonsense = 1\n');
    expect((await cli(['config', 'show'], { cwd })).code).toBe(2);
    expect((await cli(['config', 'init', 'new.toml'], { cwd })).code).toBe(0);
    expect(existsSync(join(cwd, 'new.toml'))).toBe(true);
  });
});

describe('topics and groups on the embedded bus', () => {
  test('create, list, describe, delete preview then execute', async () => {
    const cwd = tempDir();
    const bus = ['--bus', 'sqlite:bus.db'];
    expect((await cli(['topics', 'create', 'ods_db', '-p', '3', ...bus], { cwd })).code).toBe(0);
    const dup = await cli(['topics', 'create', 'ods_db', ...bus], { cwd });
    expect(dup.code).toBe(7);
    expect(dup.stderr).toContain('"ods_db" already exists');

    const list = await cli(['topics', '--format', 'json', ...bus], { cwd });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ NAME: 'ods_db', PARTITIONS: 3, RECORDS: 0, 'END-OFFSETS': 0 }]);

    const desc = await cli(['topics', 'describe', 'ods_db', '--format', 'csv', ...bus], { cwd });
    expect(desc.stdout.trim().split('\n')).toEqual(['PARTITION,START-OFFSET,END-OFFSET,RECORDS', '0,0,0,0', '1,0,0,0', '2,0,0,0']);

    const missing = await cli(['topics', 'describe', 'nope', ...bus], { cwd });
    expect(missing.code).toBe(6);

    const preview = await cli(['topics', 'delete', 'ods_db', ...bus], { cwd });
    expect(preview.stderr).toContain('would delete topic ods_db (3 partitions, 0 records); run again with --execute');
    expect((await cli(['topics', 'create', 'one', ...bus], { cwd })).code).toBe(0);
    expect((await cli(['topics', 'delete', 'one', ...bus], { cwd })).stderr).toContain('would delete topic one (1 partition, 0 records)');
    expect((await cli(['topics', 'delete', 'one', '--execute', ...bus], { cwd })).code).toBe(0);
    expect(JSON.parse((await cli(['topics', '-f', 'json', ...bus], { cwd })).stdout)).toHaveLength(1);
    expect((await cli(['topics', 'delete', 'ods_db', '--execute', ...bus], { cwd })).code).toBe(0);
    expect(JSON.parse((await cli(['topics', '-f', 'json', ...bus], { cwd })).stdout)).toHaveLength(0);
  });

  test('groups shows CURRENT-OFFSET, LOG-END-OFFSET and LAG', async () => {
    const cwd = tempDir();
    const { openBus } = await import('../../src/bus/index');
    const bus = await openBus('sqlite:bus.db', { cwd });
    const producer = await bus.producer();
    await producer.send('ods_log', Array.from({ length: 10 }, (_, i) => ({ value: `{"n":${i}}`, partition: 0 })));
    const consumer = await bus.consumer({ group: 'g1', topics: ['ods_log'] });
    let got = 0;
    for (let i = 0; i < 50 && got < 10; i++) got += (await consumer.poll({ timeoutMs: 100 })).length;
    await consumer.commit([{ topic: 'ods_log', partition: 0, offset: 4 }]);
    await consumer.close();
    await producer.close();
    await bus.close();

    const r = await cli(['groups', 'describe', 'g1', '--bus', 'sqlite:bus.db', '-f', 'json'], { cwd });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ TOPIC: 'ods_log', PARTITION: 0, 'CURRENT-OFFSET': 4, 'LOG-END-OFFSET': 10, LAG: 6 });
    const list = await cli(['groups', '--bus', 'sqlite:bus.db', '-f', 'json'], { cwd });
    expect(JSON.parse(list.stdout)).toEqual([{ GROUP: 'g1', TOPICS: 'ods_log', PARTITIONS: 1, LAG: 6 }]);
    expect((await cli(['groups', 'describe', 'nope', '--bus', 'sqlite:bus.db'], { cwd })).code).toBe(6);
  });
});

describe('query', () => {
  test('select 42 as JSON from the embedded DuckDB', async () => {
    const r = await cli(['query', 'select 42 as answer', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ answer: 42 }]);
  });

  test('writes are refused unless --allow-write', async () => {
    const cwd = tempDir();
    const r = await cli(['query', 'create table t(x int)', '--json'], { cwd });
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stderr).error.code).toBe('QUERY_WRITE_REFUSED');
    expect((await cli(['query', 'create table t as select 1 as x', '--allow-write'], { cwd })).code).toBe(0);
    const read = await cli(['query', 'select x from t', '-f', 'csv'], { cwd });
    expect(read.stdout.trim()).toBe('x\n1');
  });
});

describe('bad input gets a clear error, not a crash', () => {
  test('a SQL syntax error is QUERY_FAILED with DuckDB\'s message, not a refused write', async () => {
    const r = await cli(['query', 'selec 1', '--json']);
    expect(r.code).toBe(5);
    const e = JSON.parse(r.stderr).error as { code: string; message: string };
    expect(e.code).toBe('QUERY_FAILED');
    expect(e.message).toContain('syntax error');
  });

  test('a missing --file names the file', async () => {
    const r = await cli(['query', '--file', 'nope.sql', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.message).toContain('cannot read --file "nope.sql"');
  });

  test('an embedded bus that cannot be created names its path', async () => {
    const r = await cli(['topics', 'create', 'ods_db', '--bus', 'sqlite:/proc/rtwh-nope/bus.db', '--json']);
    expect(r.code).toBe(4);
    const e = JSON.parse(r.stderr).error as { code: string; message: string };
    expect(e.code).toBe('BUS_UNAVAILABLE');
    expect(e.message).toContain('/proc/rtwh-nope/bus.db');
  });
});

describe('RTWH_DEBUG', () => {
  const io = (env: Record<string, string>) => {
    let err = '';
    return { io: { stdout: () => undefined, stderr: (s: string) => void (err += s), env, cwd: tempDir(), isTTY: false }, err: () => err };
  };
  const failure = () => {
    const cause = new TypeError('x.y is undefined');
    return rtwhError('JOB_FAILED', 'job "dwd trade" failed on ods_db partition 0 offset 7: x.y is undefined', { cause });
  };

  test('a job whose logic threw: the stack of what it threw, as its hint promises (it was printed for internal errors only)', () => {
    const on = io({ RTWH_DEBUG: '1' });
    expect(report(failure(), on.io, false)).toBe(1);
    expect(on.err()).toContain('rtwh: job "dwd trade" failed on ods_db partition 0 offset 7: x.y is undefined\n  hint: The job logic threw');
    expect(on.err()).toContain('TypeError: x.y is undefined\n    at ');
    const off = io({});
    report(failure(), off.io, false);
    expect(off.err()).not.toContain('    at ');
  });
});
