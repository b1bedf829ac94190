/** `rtwh mock db` and `rtwh mock init`: gmall business days into MySQL, or as Maxwell records onto a topic. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { openBus } from '../src/bus/index';
import { formatCount, startProgress, summaryLine } from '../src/cli/progress';
import type { Config } from '../src/config/load';
import { rtwhError } from '../src/errors';
import { KNOBS, mockDate, mockSeed, parseMockDbOptions, type MockDbOptions } from '../src/mock/db/options';
import { busStatePath, initDates, runMockDb, type MockDbResult, type MockDbTarget } from '../src/mock/db/run';
import { publishMarkerPath } from '../src/mock/publish-marker';
import { checkIdentifier, parseMysqlUrl } from '../src/store/mysql';
import { withCommonFlags, type Ctx } from './context';
import { topicFlag } from '../src/bus/topic-name';

interface SinkFlags {
  seed?: string;
  to?: string;
  database?: string;
  partitions?: string;
  fast?: boolean;
}

type KnobFlags = Partial<Record<keyof MockDbOptions, string>>;

/** The generator's knobs, from the one spec in src/mock/db/options.ts. */
function withKnobs(cmd: Command): Command {
  for (const k of KNOBS) {
    const kind = k.kind === 'ratio' ? `<${Array.from({ length: k.parts ?? 1 }, (_, i) => `w${i + 1}`).join(':')}>` : k.kind === 'bool' ? '<1|0>' : k.kind === 'percent' ? '<percent>' : '<n>';
    cmd.addOption(new Option(`--${k.flag} ${kind}`, `${k.doc}${k.property ? ` (${k.property})` : ''}; default ${k.default}`));
  }
  return cmd;
}

function withSinkFlags(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'random seed 0..4294967295: the same seed, dates, options and starting data give byte-identical data (default: random, printed)')
    .option('--to <topic>', 'skip MySQL: produce the changes as Maxwell JSON onto TOPIC of the bus (e.g. ods_db)')
    .option('--database <name>', 'with --to: the `database` field of the records (default: the database of --mysql, else gmall)')
    .option('--partitions <n>', 'with --to: partitions of the topic if it has to be created', '1')
    .option('--fast', 'MySQL: commit many business transactions together (much faster; binlog transactions and times are coarser)');
}

const HELP_TAIL = `
Time: a business date is a Beijing-time (UTC+08:00) day; every create/operate time falls on it.

Into MySQL the run continues from what the database holds (last ids, users). With --to the state is kept
in <state_dir>/mock-db/ per bus and topic; --init starts both from the base data again (on a topic it
publishes the base data again and leaves the records already there alone). With --to the base data goes out
as cdc bootstrap would send it: per table bootstrap-start, a bootstrap-insert per row, bootstrap-complete,
stamped 00:00:00 of the first day, so run dim loads it and run dwd counts only the days' own changes (the
back-dated users are no registrations). Each record's ts is its mock time; the record timestamp is when it
was produced (as Maxwell's), so the topic's retention counts from the run. A --to run stopped part-way
(kill -9, a bus error) leaves the topic with part of its day and the state unsaved: the next run onto that
topic is refused, rather than publishing that part a second time, and says how to go on.

SKUs: --init creates --sku-count of them (default 35, the gmall data's): the 35, then variants of them
(same SPU, brand and category; another edition or pack; price and weight from the base SKU's). Later
days use the SKUs in the data (MySQL: MAX(id) of sku_info; --to: the state file) and refuse a --sku-count
that differs. \`rtwh mock log\` draws sku ids 1..--max-sku-id (default 35): give it the same number.

Exact mode (default) writes one DB transaction per business transaction, stamped with its mock time
(SET TIMESTAMP), so a binlog reader sees the day as it happened. --fast groups them for bulk loads.`;

export function registerMockDb(mock: Command, ctx: Ctx): void {
  const db = withCommonFlags(mock.command('db'))
    .description('Write one business day of gmall users, carts, orders, payments, refunds… into MySQL, or as Maxwell JSON onto a topic (--to)')
    .option('--date <YYYY-MM-DD>', 'business date (default: mock.date of the config)')
    .option('--init', 'first (re)create every gmall table (utf8mb4) and load the base data: provinces, dictionary, categories, brands, SKUs, activities, coupons, users');
  withKnobs(withSinkFlags(db))
    .addHelpText('after', `${HELP_TAIL}

Examples:
  rtwh mock db --date 2025-01-14 --init --mysql mysql://root:secret@127.0.0.1:3306/gmall
  rtwh mock db --date 2025-01-15
  rtwh mock db --date 2025-01-14 --init --to ods_db --seed 7
  rtwh mock db --date 2025-01-14 --scale 10 --fast`);
  db.action(async (opts: SinkFlags & KnobFlags & { date?: string; init?: boolean }, cmd: Command) => {
    const { config } = ctx.config(cmd);
    const date = mockDate(opts.date, config.mock.date);
    await run(ctx, cmd, config, opts, [date], Boolean(opts.init), `mock db ${date}`);
  });

  const init = withCommonFlags(mock.command('init'))
    .description('Start the business database over: schema and base data, N back-dated days, then the current day (the gmall init routine)')
    .option('--days <n>', 'back-dated days before --until', '15')
    .option('--until <YYYY-MM-DD>', 'the current business day, generated last (default: mock.date of the config)');
  withKnobs(withSinkFlags(init))
    .addHelpText('after', `${HELP_TAIL}

Examples:
  rtwh mock init --days 15 --until 2025-01-14
  rtwh mock init --days 6 --until 2025-01-14 --to ods_db --seed 7`);
  init.action(async (opts: SinkFlags & KnobFlags & { days: string; until?: string }, cmd: Command) => {
    const { config } = ctx.config(cmd);
    const until = mockDate(opts.until, config.mock.date, 'until');
    if (!/^\d+$/.test(opts.days.trim()) || Number(opts.days) > 3660) {
      throw rtwhError('USAGE', `invalid --days ${JSON.stringify(opts.days)}: expected a whole number from 0 to 3660`);
    }
    const dates = initDates(until, Number(opts.days));
    await run(ctx, cmd, config, opts, dates, true, `mock init ${dates[0]} … ${until}`);
  });
}

async function run(ctx: Ctx, cmd: Command, config: Config, opts: SinkFlags & KnobFlags, dates: string[], init: boolean, label: string): Promise<void> {
  if (opts.to !== undefined) topicFlag('--to', opts.to);
  const options = parseMockDbOptions(opts);
  const skuCountGiven = opts.skuCount !== undefined;
  const seed = mockSeed(opts.seed);
  const json = Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json);
  const progress = startProgress({ label, unit: 'rows', enabled: ctx.io.isTTY });
  const onRows = (n: number, detail: string) => progress.add(n - progress.done, detail);
  let result: MockDbResult;
  try {
    if (opts.to !== undefined) {
      const partitions = Number(opts.partitions ?? '1');
      if (!/^\d+$/.test(opts.partitions ?? '1') || partitions < 1 || partitions > 10_000) {
        throw rtwhError('USAGE', `invalid --partitions ${JSON.stringify(opts.partitions)}: expected a whole number from 1 to 10000`);
      }
      const database = checkIdentifier(opts.database ?? (config.mysql ? parseMysqlUrl(config.mysql).database : undefined) ?? 'gmall', '--database');
      const bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
      try {
        const stateDir = resolve(ctx.io.cwd, config.stateDir);
        const statePath = busStatePath(stateDir, bus.displayUrl, opts.to);
        const markerPath = publishMarkerPath(stateDir, 'mock-db', bus.displayUrl, opts.to);
        const target: MockDbTarget = { kind: 'bus', bus, topic: opts.to, database, partitions, statePath, markerPath, producer: { compression: config.kafka.compression } };
        result = await runMockDb({ dates, seed, options, init, skuCountGiven, target, onRows });
        result.where += ` on ${bus.displayUrl}`;
      } finally {
        await bus.close();
      }
    } else {
      if (!config.mysql) {
        throw rtwhError('USAGE', 'no business database to write to', {
          hint: 'Pass --mysql mysql://user:pass@host:port/gmall (or set RTWH_MYSQL, or mysql in rtwh.toml), or --to TOPIC to produce Maxwell JSON onto the bus instead.',
        });
      }
      result = await runMockDb({ dates, seed, options, init, skuCountGiven, target: { kind: 'mysql', url: config.mysql, fast: Boolean(opts.fast) }, onRows });
    }
  } finally {
    progress.stop();
  }

  const tables = Object.entries(result.perTable).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (json) {
    ctx.out(JSON.stringify({
      dates,
      seed,
      init,
      where: result.where,
      rows: result.rows,
      ...(result.records !== undefined ? { records: result.records } : {}),
      base_rows: result.baseRows,
      tables: Object.fromEntries(tables),
      seconds: Number(result.seconds.toFixed(3)),
      rows_per_second: Math.round(result.rows / Math.max(result.seconds, 1e-3)),
    }));
    return;
  }
  const perTable = tables.map(([t, n]) => `${t} ${formatCount(n)}`).join(', ');
  const days = dates.length === 1 ? dates[0] : `${dates.length} days ${dates[0]} … ${dates[dates.length - 1]}`;
  // The topic holds more records than rows: say so, or `run dim` routing more records than were written puzzles.
  const bootstrap = result.bootstrapTables ? `; base data as Maxwell bootstraps of ${result.bootstrapTables} tables, ${formatCount(result.records ?? 0)} records in all` : '';
  ctx.err(summaryLine('wrote', result.rows, 'rows', `into ${result.where} for ${days} (${perTable}; seed ${seed}${bootstrap})`, result.seconds));
}

