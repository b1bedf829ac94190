/**
 * `rtwh demo` (and `npm run demo`): the whole warehouse on one laptop with no servers — one mock business day of
 * db changes and app logs onto the embedded bus, then dim, dwd and dws to the end of the data, then an ADS report
 * (GMV and orders, user counts, top provinces, top trademarks, channel UV, an hourly page-view sparkline), and the
 * time it all took. Each step is the real command (the same code a user runs by hand), in a directory of its own.
 */
import type { Command } from 'commander';
import { checkBusinessDate } from '../src/config/schema';
import { ensureDirFlag } from '../src/cli/dir-flag';
import { formatSeconds } from '../src/cli/progress';
import { q, rtwhError } from '../src/errors';
import type { CliIO, Ctx } from './context';
import { wholeNumber } from './flags';

interface DemoFlags {
  dir: string;
  date: string;
  seed: string;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** One bar per value, scaled to the largest. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? SPARK[0] : SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1) + 0.5))])).join('');
}

export function registerDemo(program: Command, ctx: Ctx): void {
  program
    .command('demo')
    .description('The whole warehouse with no servers: mock a day, run dim, dwd and dws to the end, print an ADS report')
    .option('--dir <dir>', 'where the demo keeps its bus, dim store, job state and warehouse', 'rtwh-demo')
    .option('--date <YYYY-MM-DD>', 'the business day', '2025-01-14')
    .option('--seed <n>', 'random seed (the same seed gives the same report)', '1')
    .addHelpText('after', '\nEverything is written under --dir (embedded SQLite bus, dim store, job state files, DuckDB warehouse);\nrun it again with another --dir, or delete the directory to start over.')
    .action(async (flags: DemoFlags) => {
      const bad = checkBusinessDate(flags.date);
      if (bad) throw rtwhError('USAGE', `invalid --date ${q(flags.date)}: ${bad}`);
      const seed = String(wholeNumber('--seed', flags.seed, 0, 4294967295));
      const dir = ensureDirFlag('--dir', flags.dir, ctx.io.cwd);
      const { runCli } = await import('./cli');
      const t0 = performance.now();
      const steps: [string, string[]][] = [
        ['business data → ods_db', ['mock', 'db', '--to', 'ods_db', '--init', '--date', flags.date, '--seed', seed]],
        ['app logs → ods_log', ['mock', 'log', '--to', 'ods_log', '--date', flags.date, '--seed', seed]],
        ['dimensions', ['run', 'dim', '--until-idle']],
        ['detail facts', ['run', 'dwd', '--until-idle']],
        ['window aggregates → DuckDB', ['run', 'dws', '--until-idle']],
      ];
      const io = (out: (s: string) => void, err: (s: string) => void): CliIO => ({ stdout: out, stderr: err, env: { NO_COLOR: '1' }, cwd: dir, isTTY: false });
      ctx.err(`demo in ${dir} (bus sqlite:.rtwh/bus.db, no servers)`);
      for (const [i, [what, argv]] of steps.entries()) {
        const s0 = performance.now();
        let last = '';
        const code = await runCli(argv, io(() => undefined, (s) => {
          // Keep the summary lines (they start with a verb and a count), not the per-table chatter.
          for (const line of s.split('\n')) if (/^(wrote|routed|processed|loaded) /.test(line)) last += `${line}\n`;
        }));
        if (code !== 0) throw rtwhError('INTERNAL', `demo step ${i + 1} (${what}: rtwh ${argv.join(' ')}) failed with exit ${code}`, { hint: `Run it by hand in ${dir} to see why.` });
        ctx.err(`[${i + 1}/${steps.length + 1}] ${what} · ${formatSeconds((performance.now() - s0) / 1000)}`);
        for (const l of last.trim().split('\n')) if (l) ctx.err(`      ${l.length > 160 ? `${l.slice(0, 157)}…` : l}`);
      }
      const query = async (argv: string[]): Promise<string> => {
        let out = '';
        let err = '';
        const code = await runCli(['query', ...argv], { ...io((s) => (out += s), (s) => (err += s)), isTTY: ctx.io.isTTY, ...(ctx.io.columns ? { columns: ctx.io.columns } : {}) });
        if (code !== 0) throw rtwhError('INTERNAL', `demo report query failed: ${err.trim()}`);
        return out;
      };
      ctx.err(`[${steps.length + 1}/${steps.length + 1}] ADS report for ${flags.date} · ${formatSeconds((performance.now() - t0) / 1000)} in all`);
      const fmt = ctx.io.isTTY ? [] : ['--format', 'markdown'];
      const section = (title: string, body: string) => ctx.out(`\n${title}\n${body.trimEnd()}`);
      section('GMV and orders of the day', await query(['--preset', 'gmv', '--date', flags.date, ...fmt]));
      section('User counts', await query(['--preset', 'user_counts', '--date', flags.date, ...fmt]));
      section('Top provinces', await query(['--preset', 'gmv_by_province', '--date', flags.date, '--top', '5', ...fmt]));
      section('Top trademarks', await query(['--preset', 'gmv_by_trademark', '--date', flags.date, '--top', '5', ...fmt]));
      section('Channels by unique visitors', await query(['--preset', 'channel_top', '--date', flags.date, '--top', '5', ...fmt]));
      const hourly = JSON.parse(await query(['--preset', 'traffic_hourly', '--date', flags.date, '--format', 'json'])) as { hour: number; pv: number | string }[];
      const pv = hourly.map((h) => Number(h.pv));
      ctx.out(`\nPage views by hour (00 → 23, peak ${Math.max(0, ...pv).toLocaleString('en-US')})\n${sparkline(pv)}`);
      ctx.err(`\nExplore: cd ${dir} && rtwh query --list-presets · rtwh query "select * from dws_trade_province_order_window limit 5"`);
      ctx.err(`demo done in ${formatSeconds((performance.now() - t0) / 1000)}`);
    });
}
