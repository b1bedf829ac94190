/**
 * The generic job command (cmd/job-command.ts) on the sqlite bus: flags from the spec's options with their defaults
 * in --help, --until-idle with --json and the summary line, --state, a failing option check, and `run --list`.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { listJobs, listJobsJson, registerJobCommand } from '../../cmd/job-command';
import { makeCtx } from '../../cmd/context';
import { openBus } from '../../src/bus/index';
import { cli, tempDir } from '../helpers/cli';
import { countJob } from './fixtures/count-job';

function program(cwd: string) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (s: string) => void (stdout += s),
    stderr: (s: string) => void (stderr += s),
    env: {},
    cwd,
    isTTY: false,
  };
  const ctx = makeCtx(io, () => false);
  const root = new Command('rtwh').exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  const run = root.command('run').exitOverride();
  const group = run.command('test').exitOverride();
  const job = registerJobCommand(group, countJob(), ctx);
  job.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  return { root, out: () => stdout, err: () => stderr };
}

describe('job command', () => {
  test('--help lists the spec options with defaults and the common job flags', async () => {
    const p = program(tempDir());
    await p.root.parseAsync(['run', 'test', 'count', '--help'], { from: 'user' }).catch(() => undefined);
    const help = p.out();
    expect(help).toContain('Usage: rtwh run test count [options]');
    expect(help).toMatch(/--gap <value>\s+ms of event time until a record expires\s+\(default: "5000"\)/);
    expect(help).toMatch(/--counts <value>\s+running counts topic\s+\(default: "count_out"\)/);
    for (const f of ['--until-idle', '--from <where>', '--state <file>', '--batch <n>', '--out-of-orderness <duration>', '--http [port]', '--dlq <topic>', '--group <name>']) expect(help).toContain(f);
    expect(help).toMatch(/\(default\s+<state_dir>\/jobs\/test_count\.db\)/);
  });

  test('--until-idle --json runs the job on the configured bus, prints the result and the summary line', async () => {
    const cwd = tempDir();
    const bus = await openBus(`sqlite:${join(cwd, 'bus.db')}`);
    const admin = await bus.admin();
    await admin.createTopic({ name: 'count_in', partitions: 1 });
    await admin.close();
    const producer = await bus.producer();
    await producer.send('count_in', [0, 1, 2].map((n) => ({ key: 'a', value: JSON.stringify({ k: 'a', n, ts: 1000 * n }) })).concat([{ key: 'a', value: 'nope' }]));
    await producer.close();
    await bus.close();
    const p = program(cwd);
    await p.root.parseAsync(['run', 'test', 'count', '--bus', `sqlite:${join(cwd, 'bus.db')}`, '--until-idle', '--json', '--gap', '100'], { from: 'user' });
    const r = JSON.parse(p.out()) as Record<string, unknown>;
    expect(r).toMatchObject({ job: 'test count', records: 4, emitted: { counts: 3, expired: 3 }, dead_letters: 1, lag: 0, timers: 0 });
    expect(p.err()).toMatch(/^test count: count_in → count_out, count_expired on sqlite:.*\(state .*\/\.rtwh\/jobs\/test_count\.db\)$/m);
    expect(p.err()).toMatch(/^processed 4 records from count_in into count_out, count_expired in .* · counts 3 · expired 3 · 1 dead letter · lag 0$/m);
    expect(existsSync(join(cwd, '.rtwh', 'jobs', 'test_count.db'))).toBe(true);
  });

  test('a value that fails the option check is a usage error naming it', async () => {
    const p = program(tempDir());
    const e = await p.root.parseAsync(['run', 'test', 'count', '--gap', 'soon', '--until-idle'], { from: 'user' }).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe('USAGE');
    expect((e as Error).message).toBe('invalid --gap "soon": expected a whole number of ms');
  });

  test('--out-of-orderness sets how far the watermark trails: a record 5 s behind is late at 0s, on time at 6s', async () => {
    const late = async (ooo: string) => {
      const cwd = tempDir();
      const url = `sqlite:${join(cwd, 'bus.db')}`;
      const bus = await openBus(url);
      const admin = await bus.admin();
      await admin.createTopic({ name: 'count_in', partitions: 1 });
      await admin.close();
      const producer = await bus.producer();
      await producer.send('count_in', [10_000, 5000].map((ts, n) => ({ key: 'a', value: JSON.stringify({ k: 'a', n, ts }) })));
      await producer.close();
      await bus.close();
      const p = program(cwd);
      // One record per batch: the watermark moves after the first, before the second is seen.
      await p.root.parseAsync(['run', 'test', 'count', '--bus', url, '--until-idle', '--json', '--batch', '1', '--out-of-orderness', ooo], { from: 'user' });
      return (JSON.parse(p.out()) as { counters: Record<string, number> }).counters.late ?? 0;
    };
    expect(await late('0s')).toBe(1);
    expect(await late('6s')).toBe(0);
  });

  test('a bad --out-of-orderness is a usage error naming the value and the expected form', async () => {
    const p = program(tempDir());
    const e = await p.root.parseAsync(['run', 'test', 'count', '--out-of-orderness', '3 seconds', '--until-idle'], { from: 'user' }).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe('USAGE');
    expect((e as Error).message).toBe('--out-of-orderness "3 seconds": expected a duration of at most a day, such as 3s, 500ms, 1m or 0s');
  });

  test('listJobs: name, description, inputs → outputs, options with defaults', () => {
    expect(listJobs([countJob()])).toBe(
      [
        'test count — keyed running count with one timer per record (runtime tests)',
        '  count_in → count_out, count_expired',
        '  --in       input topic (default: count_in)',
        '  --counts   running counts topic (default: count_out)',
        '  --expired  expired records topic (default: count_expired)',
        '  --gap      ms of event time until a record expires (default: 5000)',
        '  --boom     a value that makes the logic throw (default: "")',
        '',
      ].join('\n'),
    );
  });

  test('listJobsJson: the same as data', () => {
    const [job] = JSON.parse(listJobsJson([countJob()])) as { name: string; inputs: string[]; outputs: string[]; options: { name: string; default: string }[] }[];
    expect(job!.name).toBe('test count');
    expect(job!.inputs).toEqual(['count_in']);
    expect(job!.outputs).toEqual(['count_out', 'count_expired']);
    expect(job!.options.map((o) => [o.name, o.default])).toEqual([['--in', 'count_in'], ['--counts', 'count_out'], ['--expired', 'count_expired'], ['--gap', '5000'], ['--boom', '']]);
  });

  test('rtwh run --list --json prints JSON, every declared job', async () => {
    const r = await cli(['run', '--list', '--json']);
    expect(r.code).toBe(0);
    const jobs = JSON.parse(r.stdout) as { name: string }[];
    expect(jobs.map((j) => j.name)).toContain('dwd log');
    expect(jobs.length).toBeGreaterThan(10);
  });
});
