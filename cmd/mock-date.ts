/** `rtwh mock date [YYYY-MM-DD] [--maxwell-config FILE] [--generator-config FILE]`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig, type LoadedConfig } from '../src/config/load';
import { checkDate } from '../src/config/schema';
import { q, RtwhError, rtwhError } from '../src/errors';
import {
  commitWrites,
  discardWrites,
  generatorConfigEditor,
  getPropertiesValue,
  readTarget,
  setPropertiesValue,
  setTomlMockDate,
  stageWrite,
  validateMockDate,
  type StagedWrite,
  type Target,
} from '../src/mock/date';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';

interface Flags {
  maxwellConfig?: string;
  generatorConfig?: string;
}

export function registerMockDate(mock: Command, ctx: Ctx): void {
  withCommonFlags(mock.command('date'))
    .description('Show or set the mock business date (in rtwh.toml, and optionally in Maxwell and generator configs)')
    .argument('[date]', 'new business date, YYYY-MM-DD (years 1000 to 9999)')
    .option('--maxwell-config <file>', 'also rewrite (or show) mock_date= in this Maxwell config.properties')
    .option('--generator-config <file>', 'also rewrite (or show) mock.date in this generator application.properties or .yml')
    .addHelpText(
      'after',
      '\nExamples:\n  rtwh mock date                   show the configured date\n  rtwh mock date 2025-01-15        set it in rtwh.toml\n  rtwh mock date 2025-01-15 --maxwell-config /opt/maxwell/config.properties\n  rtwh mock date --maxwell-config /opt/maxwell/config.properties   show both dates\n\nOnly the date changes in each file; every target is checked before any is written, and each is\nreplaced atomically. rtwh.toml may hold it as [mock] date = "…", mock.date = "…" or mock = { date = "…" }.',
    )
    .action((date: string | undefined, opts: Flags, cmd: Command) => (date === undefined ? showMockDate(ctx, cmd, opts) : setMockDate(ctx, cmd, date, opts)));
}

/** The extra files named by the flags: which key each holds and how to read and set it. */
function extraFiles(ctx: Ctx, opts: Flags, date: string) {
  const files: { path: string; what: string; key: string; get: (t: string) => string | undefined; set: (t: string) => string; done: string }[] = [];
  if (opts.maxwellConfig) {
    const p = resolve(ctx.io.cwd, opts.maxwellConfig);
    files.push({
      path: p,
      what: 'Maxwell config',
      key: 'mock_date',
      get: (t) => getPropertiesValue(t, 'mock_date', p),
      set: (t) => setPropertiesValue(t, 'mock_date', date, p),
      done: `mock_date=${date} → ${p} (restart Maxwell to apply)`,
    });
  }
  if (opts.generatorConfig) {
    const p = resolve(ctx.io.cwd, opts.generatorConfig);
    const editor = generatorConfigEditor(p);
    files.push({ path: p, what: 'generator config', key: editor.key, get: editor.get, set: (t) => editor.set(t, date), done: `mock.date=${date} → ${p}` });
  }
  return files;
}

function showMockDate(ctx: Ctx, cmd: Command, opts: Flags): void {
  // The files named are read first, so a wrong path is reported rather than silently ignored.
  const shown = extraFiles(ctx, opts, '').map((f) => ({ ...f, value: f.get(readTarget(f.path, f.what, { readOnly: true }).bytes!.toString('latin1')) }));
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
    const problem = s.value === undefined ? undefined : checkDate(s.value);
    ctx.out(`${s.value ?? '(unset)'}  ${s.key} in ${s.path}${problem ? `  (invalid: ${problem})` : ''}`);
  }
  ctx.err(ctx.color.dim(d ? `from ${src === 'env' ? 'RTWH_MOCK_DATE' : src === 'file' ? loaded.file : src}` : 'set it with `rtwh mock date YYYY-MM-DD`'));
  const differ = shown.filter((s) => s.value !== d);
  if (d && differ.length > 0) {
    const flags = shown.map((s) => ` --${s.what === 'Maxwell config' ? 'maxwell' : 'generator'}-config ${s.path}`).join('');
    ctx.err(ctx.color.yellow(`note: ${differ.map((s) => s.path).join(', ')} ${differ.length > 1 ? 'differ' : 'differs'} from ${d}; align them with \`rtwh mock date ${d}${flags}\``));
  }
}

function setMockDate(ctx: Ctx, cmd: Command, date: string, opts: Flags): void {
  validateMockDate(date);
  const g = cmd.optsWithGlobals<GlobalOpts>();
  // The same choice loadConfig makes: --config, else RTWH_CONFIG, else ./rtwh.toml (created when missing).
  const explicit = g.config ?? ctx.io.env.RTWH_CONFIG;
  const tomlPath = resolve(ctx.io.cwd, explicit || DEFAULT_CONFIG_FILE);

  // 1. Check every target before changing any: each must be a regular file rtwh can read and replace.
  const edits: { target: Target; encoding: 'utf8' | 'latin1'; edit: (text: string) => string; done: string }[] = [];
  const toml = readTarget(tomlPath, 'config file', {
    mayBeMissing: !explicit,
    missingHint: 'Create one with `rtwh config init`, or drop --config / RTWH_CONFIG to use ./rtwh.toml; nothing was changed.',
  });
  edits.push({ target: toml, encoding: 'utf8', edit: (t) => setTomlMockDate(t, date, tomlPath), done: `mock date ${date} → ${tomlPath}` });
  for (const f of extraFiles(ctx, opts, date)) edits.push({ target: readTarget(f.path, f.what), encoding: 'latin1', edit: f.set, done: f.done });
  const seen = new Map<string, string>();
  for (const e of edits) {
    const other = seen.get(e.target.file);
    if (other) throw rtwhError('USAGE', `${e.target.what} ${q(e.target.path)} is the same file as ${other}: expected a different file for each target`, { hint: 'Give each file once; nothing was changed.' });
    seen.set(e.target.file, `the ${e.target.what} ${q(e.target.path)}`);
  }

  // 2. Edit in memory; each editor refuses (naming the file) a form it cannot change safely.
  const planned = edits.map((e) => {
    const before = e.target.bytes === undefined ? '' : e.target.bytes.toString(e.encoding);
    if (e.encoding === 'utf8' && e.target.bytes && !Buffer.from(before, 'utf8').equals(e.target.bytes)) {
      throw rtwhError('CONFIG_FILE', `${e.target.what} ${q(e.target.path)} is not valid UTF-8: expected a UTF-8 TOML file`, { hint: 'Fix the file’s encoding; nothing was changed.' });
    }
    const after = e.edit(before);
    return { ...e, write: e.target.bytes === undefined || after !== before ? Buffer.from(after, e.encoding) : undefined };
  });

  // 3. Temp files next to each target; prove the new rtwh.toml loads as the next command will read it
  //    (every key, env and flag); only then replace them all.
  const staged: StagedWrite[] = [];
  let after: LoadedConfig;
  try {
    for (const p of planned) if (p.write) staged.push(stageWrite(p.target, p.write));
    after = loadAs(ctx, g, staged.find((s) => s.target === toml)?.tmp ?? tomlPath, tomlPath);
    commitWrites(staged);
  } catch (e) {
    discardWrites(staged);
    throw e;
  }
  ctx.err(planned[0]!.done);
  if (after.sources.get('mock.date') === 'env' && after.config.mock.date !== date) {
    ctx.err(ctx.color.yellow(`note: RTWH_MOCK_DATE=${after.config.mock.date} is set and wins over the file`));
  }
  for (const p of planned.slice(1)) ctx.err(p.done);
}

/** loadConfig on `file` (a staged temp file) with this command's env and flags, as ctx.config does, errors naming `shownAs`. */
function loadAs(ctx: Ctx, g: GlobalOpts, file: string, shownAs: string): LoadedConfig {
  try {
    return loadConfig({ cwd: ctx.io.cwd, env: ctx.io.env, configFile: file, flags: { bus: g.bus, mysql: g.mysql, duckdb: g.duckdb } });
  } catch (e) {
    if (!(e instanceof RtwhError) || file === shownAs) throw e;
    const fix = (s: string) => s.split(file).join(shownAs);
    const details = e.details && Object.fromEntries(Object.entries(e.details).map(([k, v]) => [k, typeof v === 'string' ? fix(v) : v]));
    throw new RtwhError(e.code, `${fix(e.message)} (after setting mock.date; nothing was changed)`, { hint: e.hint, details, cause: e.cause });
  }
}
