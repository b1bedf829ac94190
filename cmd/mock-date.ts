/** `rtwh mock date [YYYY-MM-DD] [--maxwell-config FILE] [--generator-config FILE]`. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../src/config/load';
import { q, rtwhError } from '../src/errors';
import { generatorConfigEditor, rewriteFile, setPropertiesValue, setTomlMockDate, validateMockDate } from '../src/mock/date';
import { withCommonFlags, type Ctx } from './context';

export function registerMockDate(mock: Command, ctx: Ctx): void {
  withCommonFlags(mock.command('date'))
    .description('Show or set the mock business date (in rtwh.toml, and optionally in Maxwell and generator configs)')
    .argument('[date]', 'new business date, YYYY-MM-DD')
    .option('--maxwell-config <file>', 'also rewrite mock_date= in this Maxwell config.properties')
    .option('--generator-config <file>', 'also rewrite mock.date in this generator application.properties or .yml')
    .addHelpText('after', '\nExamples:\n  rtwh mock date                   show the configured date\n  rtwh mock date 2025-01-15        set it in rtwh.toml\n  rtwh mock date 2025-01-15 --maxwell-config /opt/maxwell/config.properties')
    .action((date: string | undefined, opts: { maxwellConfig?: string; generatorConfig?: string }, cmd: Command) => {
      const loaded = ctx.config(cmd);
      if (date === undefined) {
        const d = loaded.config.mock.date;
        const src = loaded.sources.get('mock.date');
        ctx.out(d ?? '(unset)');
        ctx.err(ctx.color.dim(d ? `from ${src === 'env' ? 'RTWH_MOCK_DATE' : src === 'file' ? loaded.file : src}` : 'set it with `rtwh mock date YYYY-MM-DD`'));
        return;
      }
      validateMockDate(date);
      // Check every target before changing any, so a typo in one path leaves all files as they were.
      const targets: { path: string; edit: (t: string) => string; what: string; done: string }[] = [];
      if (opts.maxwellConfig) {
        const p = resolve(ctx.io.cwd, opts.maxwellConfig);
        targets.push({ path: p, edit: (t) => setPropertiesValue(t, 'mock_date', date), what: 'Maxwell config', done: `mock_date=${date} → ${p} (restart Maxwell to apply)` });
      }
      if (opts.generatorConfig) {
        const p = resolve(ctx.io.cwd, opts.generatorConfig);
        const edit = generatorConfigEditor(p);
        targets.push({ path: p, edit: (t) => edit(t, date), what: 'generator config', done: `mock.date=${date} → ${p}` });
      }
      for (const t of targets) {
        if (!existsSync(t.path)) throw rtwhError('CONFIG_FILE', `${t.what} ${q(t.path)} does not exist`, { hint: 'Check the path you passed; nothing was changed.' });
      }
      const file = loaded.file ?? resolve(ctx.io.cwd, DEFAULT_CONFIG_FILE);
      if (existsSync(file)) rewriteFile(file, (t) => setTomlMockDate(t, date), 'config file');
      else writeFileSync(file, setTomlMockDate('', date));
      // Prove the result loads, so a bad edit is reported now rather than by the next command.
      const after = ctx.config(cmd);
      ctx.err(`mock date ${date} → ${file}`);
      if (after.sources.get('mock.date') === 'env' && after.config.mock.date !== date) {
        ctx.err(ctx.color.yellow(`note: RTWH_MOCK_DATE=${after.config.mock.date} is set and wins over the file`));
      }
      for (const t of targets) {
        rewriteFile(t.path, t.edit, t.what);
        ctx.err(t.done);
      }
    });
}
