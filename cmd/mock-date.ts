/** `rtwh mock date [YYYY-MM-DD] [--maxwell-config FILE] [--generator-config FILE]`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig, type LoadedConfig } from '../src/config/load';
import { BUSINESS_DATES, checkBusinessDate } from '../src/config/schema';
import { RtwhError } from '../src/errors';
import { dateFiles, readDates, setMockDate } from '../src/mock/date-set';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';

interface Flags {
  maxwellConfig?: string;
  generatorConfig?: string;
}

export function registerMockDate(mock: Command, ctx: Ctx): void {
  withCommonFlags(mock.command('date'))
    .description('Show or set the mock business date (in rtwh.toml, and optionally in Maxwell and generator configs)')
    .argument('[date]', `new business date, YYYY-MM-DD (${BUSINESS_DATES.first} to ${BUSINESS_DATES.last})`)
    .option('--maxwell-config <file>', 'also rewrite (or show) mock_date= in this Maxwell config.properties')
    .option('--generator-config <file>', 'also rewrite (or show) mock.date in this generator application.properties or .yml')
    .addHelpText(
      'after',
      '\nExamples:\n  rtwh mock date                   show the configured date\n  rtwh mock date 2025-01-15        set it in rtwh.toml\n  rtwh mock date 2025-01-15 --maxwell-config /opt/maxwell/config.properties\n  rtwh mock date --maxwell-config /opt/maxwell/config.properties   show both dates\n\nOnly the date changes in each file; every target is checked before any is written, and each is\nreplaced atomically. rtwh.toml may hold it as [mock] date = "…", mock.date = "…" or mock = { date = "…" }.',
    )
    .action((date: string | undefined, opts: Flags, cmd: Command) => (date === undefined ? showMockDate(ctx, cmd, opts) : setDate(ctx, cmd, date, opts)));
}

function showMockDate(ctx: Ctx, cmd: Command, opts: Flags): void {
  // The files named are read first, so a wrong path is reported rather than silently ignored.
  const shown = readDates(dateFiles(ctx.io.cwd, opts));
  let loaded: LoadedConfig;
  try {
    loaded = ctx.config(cmd);
  } catch (e) {
    // A bad stored date is repaired by setting a new one: say so.
    if (e instanceof RtwhError && e.details?.key === 'mock.date' && String(e.details.where).startsWith('mock.date in ')) {
      throw new RtwhError(e.code, e.message, { details: e.details, hint: 'Set a valid one with `rtwh mock date YYYY-MM-DD` (it replaces the stored value).' });
    }
    throw e;
  }
  const d = loaded.config.mock.date;
  const src = loaded.sources.get('mock.date');
  ctx.out(d ?? '(unset)');
  for (const s of shown) {
    const problem = s.value === undefined ? undefined : checkBusinessDate(s.value);
    ctx.out(`${s.value ?? '(unset)'}  ${s.file.key} in ${s.file.path}${problem ? `  (invalid: ${problem})` : ''}`);
  }
  ctx.err(ctx.color.dim(d ? `from ${src === 'env' ? 'RTWH_MOCK_DATE' : src === 'file' ? loaded.file : src}` : 'set it with `rtwh mock date YYYY-MM-DD`'));
  const differ = shown.filter((s) => s.value !== d);
  if (d && differ.length > 0) {
    const flags = shown.map((s) => ` ${s.file.flag} ${s.file.path}`).join('');
    ctx.err(ctx.color.yellow(`note: ${differ.map((s) => s.file.path).join(', ')} ${differ.length > 1 ? 'differ' : 'differs'} from ${d}; align them with \`rtwh mock date ${d}${flags}\``));
  }
}

function setDate(ctx: Ctx, cmd: Command, date: string, opts: Flags): void {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  // The same choice loadConfig makes: --config, else RTWH_CONFIG, else ./rtwh.toml (created when missing).
  const explicit = g.config ?? ctx.io.env.RTWH_CONFIG;
  const { after, done } = setMockDate({
    date,
    tomlPath: resolve(ctx.io.cwd, explicit || DEFAULT_CONFIG_FILE),
    explicit: Boolean(explicit),
    files: dateFiles(ctx.io.cwd, opts),
    load: (file) => loadConfig({ cwd: ctx.io.cwd, env: ctx.io.env, configFile: file, flags: { bus: g.bus, mysql: g.mysql, duckdb: g.duckdb } }),
  });
  ctx.err(done[0]!);
  if (after.sources.get('mock.date') === 'env' && after.config.mock.date !== date) {
    ctx.err(ctx.color.yellow(`note: RTWH_MOCK_DATE=${after.config.mock.date} is set and wins over the file`));
  }
  for (const line of done.slice(1)) ctx.err(line);
}
