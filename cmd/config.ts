/** `rtwh config show|init|path`: thin wiring over src/config. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KEYS } from '../src/config/schema';
import { DEFAULT_CONFIG_FILE, displayValue } from '../src/config/load';
import { writeStarter } from '../src/config/starter';
import { withCommonFlags, type Ctx } from './context';

export function registerConfig(program: Command, ctx: Ctx): void {
  const config = program
    .command('config')
    .description('Show the merged configuration, or write a commented starter rtwh.toml')
    .addHelpText('after', '\nPrecedence: flags > RTWH_* env > rtwh.toml (or --config FILE) > defaults.');

  withCommonFlags(config.command('show'))
    .description('Print every config key with its value (passwords masked) and where it came from')
    .action((_opts, cmd: Command) => {
      const loaded = ctx.config(cmd);
      if (cmd.optsWithGlobals().json) {
        const obj: Record<string, { value: string | number | boolean | null; source: string; env: string }> = {};
        for (const k of KEYS) {
          const v = loaded.values.get(k.key);
          obj[k.key] = {
            value: v === undefined ? null : typeof v === 'string' ? displayValue(k.key, v) : v,
            source: loaded.sources.get(k.key) ?? 'unset',
            env: k.env,
          };
        }
        ctx.out(JSON.stringify({ file: loaded.file ?? null, keys: obj }, null, 2));
        return;
      }
      const c = ctx.color;
      ctx.out(c.dim(`# file: ${loaded.file ?? '(none: defaults, env and flags only)'}`));
      const lines = KEYS.map((k) => {
        const v = loaded.values.get(k.key);
        const src = loaded.sources.get(k.key) ?? 'unset';
        return { key: k.key, shown: v === undefined ? '(unset)' : displayValue(k.key, v), src: src === 'env' ? `env ${k.env}` : src };
      });
      const kw = Math.max(...lines.map((l) => l.key.length));
      const vw = Math.max(...lines.map((l) => l.shown.length));
      for (const l of lines) ctx.out(`${l.key.padEnd(kw)}  ${l.shown.padEnd(vw)}  ${c.dim(`[${l.src}]`)}`);
    });

  withCommonFlags(config.command('init'))
    .description(`Write a commented starter config file (default ./${DEFAULT_CONFIG_FILE})`)
    .argument('[file]', 'where to write it', DEFAULT_CONFIG_FILE)
    .option('--force', 'overwrite an existing file')
    .action((file: string, opts: { force?: boolean }) => {
      writeStarter(resolve(ctx.io.cwd, file), file, Boolean(opts.force));
      ctx.err(`wrote ${file}`);
    });
}
