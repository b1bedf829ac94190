/** `rtwh mock log` in-process: destinations, the summary line, --json, and flag errors that name the flag. */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../../src/bus/index';
import { cli, tempDir } from '../../helpers/cli';
import { generate } from './helpers';

const BASE = ['mock', 'log', '--date', '2025-01-14', '--seed', '7', '--startup-count', '300'];

describe('destinations', () => {
  test('--out DIR writes app.<date>.log and ends with one summary line', async () => {
    const cwd = tempDir();
    const r = await cli([...BASE, '--out', 'applog'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^wrote [\d,]+ lines to applog\/app\.2025-01-14\.log \([\d.]+ [KM]B, seed 7\) in [\d.]+ m?s \([\d,]+ lines\/s\)\n$/);
    expect(readFileSync(join(cwd, 'applog/app.2025-01-14.log'), 'utf8')).toBe(await generate({ startupCount: '300' }));
  });

  test('--max-file-size rolls files, and the summary says how many', async () => {
    const cwd = tempDir();
    const r = await cli([...BASE, '--out', 'applog', '--max-file-size', '16KB'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote [\d,]+ lines to applog\/app\.2025-01-14\.log … \.log\.\d+ \(\d+ files, [\d.]+ [KM]B, seed 7\) in /);
  });

  test('without --out or --to the lines go to stdout, the summary to stderr', async () => {
    const r = await cli(BASE);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(await generate({ startupCount: '300' }));
    expect(r.stderr).toMatch(/^wrote [\d,]+ lines to stdout /);
  });

  test('--to TOPIC on the configured bus', async () => {
    const cwd = tempDir();
    const busUrl = `sqlite:${join(cwd, 'bus.db')}`;
    const r = await cli([...BASE, '--to', 'ods_log', '--bus', busUrl], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote ([\d,]+) lines to ods_log on sqlite:/);
    const n = Number(/^wrote ([\d,]+)/.exec(r.stderr)![1]!.replace(/,/g, ''));
    const bus = await openBus(busUrl);
    const admin = await bus.admin();
    const info = await admin.describeTopic('ods_log');
    await admin.close();
    await bus.close();
    expect(info.partitions.reduce((a, p) => a + p.endOffset, 0)).toBe(n);
  });

  test('--json prints the result as one object', async () => {
    const cwd = tempDir();
    const r = await cli([...BASE, '--out', 'applog', '--json'], { cwd });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ date: '2025-01-14', format: '2022', seed: 7, files: [join(cwd, 'applog/app.2025-01-14.log')] });
    expect(doc.lines).toBe((await generate({ startupCount: '300' })).split('\n').length - 1);
  });

  test('the date comes from the config when --date is absent', async () => {
    const r = await cli(['mock', 'log', '--seed', '7', '--startup-count', '300'], { env: { RTWH_MOCK_DATE: '2025-01-14' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(await generate({ startupCount: '300' }));
  });

  test('without --seed the seed is random and printed, so the run can be repeated', async () => {
    const a = await cli(['mock', 'log', '--date', '2025-01-14', '--startup-count', '20']);
    const seed = /seed (\d+)\)/.exec(a.stderr)![1]!;
    const b = await cli(['mock', 'log', '--date', '2025-01-14', '--startup-count', '20', '--seed', seed]);
    expect(b.stdout).toBe(a.stdout);
  });
});

describe('bad flags name the flag, the value and what was expected (exit 2)', () => {
  const cases: [string[], string][] = [
    [['--date', '2025-1-14'], 'invalid --date "2025-1-14": expected YYYY-MM-DD (did you mean 2025-01-14?)'],
    [['--date', '2025-02-30'], 'invalid --date "2025-02-30": expected a real calendar date (YYYY-MM-DD)'],
    [['--date', '1969-12-31'], 'invalid --date "1969-12-31": expected a date from 1970-01-02 to 9999-11-30'],
    [['--format', '2024'], 'invalid --format "2024": expected 2022 or 2023'],
    [['--seed', '-1'], 'invalid --seed "-1": expected a whole number from 0 to 4294967295'],
    [['--startup-count', '0'], 'invalid --startup-count "0": expected a whole number from 1 to 100000000'],
    [['--max-sku-id', '2'], 'invalid --max-sku-id "2": expected a whole number from 3 to 1000000'],
    [['--page-during-time-ms', '999'], 'invalid --page-during-time-ms "999": expected a whole number from 1000 to 3600000'],
    [['--error-rate', 'lots'], 'invalid --error-rate "lots": expected a percentage from 0 to 100 (up to 2 decimals)'],
    [['--source-type-rate', '40:25:15'], 'invalid --source-type-rate "40:25:15": expected four whole-number weights query:promotion:recommend:activity, e.g. 40:25:15:20'],
    [['--keywords', '图书,,小米'], 'invalid --keywords "图书,,小米": expected comma-separated search words, none empty (e.g. 图书,小米,ps5)'],
    [['--max-file-size', '10'], 'invalid --max-file-size "10": expected a size of at least 1KB, like 100MB, 512KB or 1048576 (bytes)'],
    [['--out', 'a', '--to', 'b'], '--out and --to are exclusive: write files or produce to a topic, not both'],
  ];
  test.each(cases)('%p', async (flags, message) => {
    // A repeated --date: the last one wins, as with any commander option.
    const r = await cli(['mock', 'log', '--date', '2025-01-14', ...flags, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'USAGE', message });
  });

  test('a real date outside the business-date range says why the range is what it is', async () => {
    const r = await cli(['mock', 'log', '--date', '9999-12-01']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'rtwh: invalid --date "9999-12-01": expected a date from 1970-01-02 to 9999-11-30\n  hint: Every rtwh mock takes the same business dates: log times become Kafka timestamps (from 1970-01-01), and the same day of business data must fit MySQL DATETIME.\n',
    );
  });

  test('no date anywhere', async () => {
    const r = await cli(['mock', 'log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rtwh: missing --date: expected YYYY-MM-DD\n  hint: Pass --date, or set the business date once with `rtwh mock date YYYY-MM-DD`.\n');
  });
});
