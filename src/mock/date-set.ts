/**
 * `rtwh mock date`'s work on files: which extra files the flags name and how each is read and set, and setting the
 * date in all of them — every target checked before any is written, edited in memory, staged next to itself, the new
 * rtwh.toml proven to load, then all replaced (src/mock/date.ts has the editors and the file primitives).
 */
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { q, RtwhError, rtwhError } from '../errors.ts';
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
} from './date.ts';

/** A file besides rtwh.toml that holds the mock date (Maxwell's config.properties, the generator's config). */
export interface DateFile {
  path: string;
  what: 'Maxwell config' | 'generator config';
  /** The flag that names it. */
  flag: '--maxwell-config' | '--generator-config';
  key: string;
  get(text: string): string | undefined;
  set(text: string, date: string): string;
  /** What setting it says: `mock_date=… → path (…)`. */
  done(date: string): string;
}

/** The files the flags name (paths resolved against `cwd`). */
export function dateFiles(cwd: string, flags: { maxwellConfig?: string; generatorConfig?: string }): DateFile[] {
  for (const [flag, v] of [['--maxwell-config', flags.maxwellConfig], ['--generator-config', flags.generatorConfig]] as const) {
    // An empty path (an unset shell variable) must not quietly drop the file from the change.
    if (v !== undefined && v.trim() === '') throw rtwhError('USAGE', `invalid ${flag} ${q(v)}: expected the path of a file`, { hint: 'Nothing was changed.' });
  }
  const files: DateFile[] = [];
  if (flags.maxwellConfig) {
    const p = resolve(cwd, flags.maxwellConfig);
    // Maxwell reads key=value properties; a YAML/JSON/TOML file would get a `mock_date=` line appended
    if (/\.(ya?ml|json|toml)$/i.test(p)) {
      throw rtwhError('USAGE', `invalid --maxwell-config ${q(flags.maxwellConfig)}: expected Maxwell's config.properties (key=value lines)`, {
        hint: "The generator's application.yml / .properties goes with --generator-config. Nothing was changed.",
      });
    }
    files.push({
      path: p,
      what: 'Maxwell config',
      flag: '--maxwell-config',
      key: 'mock_date',
      get: (t) => getPropertiesValue(t, 'mock_date', p),
      set: (t, date) => setPropertiesValue(t, 'mock_date', date, p),
      done: (date) => `mock_date=${date} → ${p} (restart Maxwell to apply)`,
    });
  }
  if (flags.generatorConfig) {
    const p = resolve(cwd, flags.generatorConfig);
    const editor = generatorConfigEditor(p);
    files.push({ path: p, what: 'generator config', flag: '--generator-config', key: editor.key, get: editor.get, set: editor.set, done: (date) => `mock.date=${date} → ${p}` });
  }
  return files;
}

/** The date each file holds now (undefined: unset); a missing or unreadable file is an error naming it. */
export function readDates(files: readonly DateFile[]): { file: DateFile; value: string | undefined }[] {
  return files.map((file) => ({ file, value: file.get(readTarget(file.path, file.what, { readOnly: true }).bytes!.toString('latin1')) }));
}

export interface SetMockDate {
  date: string;
  /** rtwh.toml to set it in (created when missing, unless `explicit`). */
  tomlPath: string;
  /** The path came from --config / RTWH_CONFIG: it must exist. */
  explicit: boolean;
  files: readonly DateFile[];
  /** Loads the config from `file` as the next command will (its env and flags). */
  load(file: string): LoadedConfig;
}

/** Sets the date everywhere, or nowhere: the config as it loads afterwards, and what was written (rtwh.toml first). */
export function setMockDate(o: SetMockDate): { after: LoadedConfig; done: string[] } {
  const { date, tomlPath } = o;
  validateMockDate(date);

  // 1. Check every target before changing any: each must be a regular file rtwh can read and replace.
  const edits: { target: Target; encoding: 'utf8' | 'latin1'; edit: (text: string) => string; done: string }[] = [];
  const toml = readTarget(tomlPath, 'config file', {
    mayBeMissing: !o.explicit,
    missingHint: 'Create one with `rtwh config init`, or drop --config / RTWH_CONFIG to use ./rtwh.toml; nothing was changed.',
  });
  edits.push({ target: toml, encoding: 'utf8', edit: (t) => setTomlMockDate(t, date, tomlPath), done: `mock date ${date} → ${tomlPath}` });
  for (const f of o.files) edits.push({ target: readTarget(f.path, f.what), encoding: 'latin1', edit: (t) => f.set(t, date), done: f.done(date) });
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

  // 3. Temp files next to each target; prove the new rtwh.toml loads as the next command will read it (every key,
  //    env and flag); only then replace them all.
  const staged: StagedWrite[] = [];
  let after: LoadedConfig;
  try {
    for (const p of planned) if (p.write) staged.push(stageWrite(p.target, p.write));
    after = loadAs(o.load, staged.find((s) => s.target === toml)?.tmp ?? tomlPath, tomlPath);
    commitWrites(staged);
  } catch (e) {
    discardWrites(staged);
    throw e;
  }
  return { after, done: planned.map((p) => p.done) };
}

/** `load(file)` (a staged temp file), its errors naming `shownAs` instead. */
function loadAs(load: (file: string) => LoadedConfig, file: string, shownAs: string): LoadedConfig {
  try {
    return load(file);
  } catch (e) {
    if (!(e instanceof RtwhError) || file === shownAs) throw e;
    const fix = (s: string) => s.split(file).join(shownAs);
    const details = e.details && Object.fromEntries(Object.entries(e.details).map(([k, v]) => [k, typeof v === 'string' ? fix(v) : v]));
    throw new RtwhError(e.code, `${fix(e.message)} (after setting mock.date; nothing was changed)`, { hint: e.hint, details, cause: e.cause });
  }
}
