/**
 * The in-process entry: runCli(argv, io) → exit code. Tests call it directly; cmd/main.ts wires it to the
 * real process. All errors leave through one place: printed as text with a hint, or as JSON with --json.
 */
import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { EXIT, RtwhError, rtwhError, toRtwhError } from '../src/errors';
import { maskSecrets } from '../src/config/mask';
import { makeCtx, withCommonFlags, type CliIO } from './context';
import { registerDemo } from './demo';
import { registerRun, registerServe } from './run';
import { registerCdc } from './cdc';
import { registerTail } from './tail';
import { registerMock } from './mock';
import { registerShip } from './ship';
import { registerConfig } from './config';
import { registerTopics } from './topics';
import { registerGroups } from './groups';
import { registerQuery } from './query';
import { registerCompletion } from './completion';

export const VERSION: string = pkg.version;

export function buildProgram(io: CliIO): { program: Command; wantsJson: () => boolean } {
  const program = new Command('rtwh');
  const wantsJson = () => Boolean(program.opts().json) || lastActionJson;
  let lastActionJson = false;
  const ctx = makeCtx(io, () => program.opts().color === false);

  withCommonFlags(program)
    .description('rtwh — one binary for the data-ops of a real-time data warehouse (Kafka + CDC + streaming, gmall)')
    .version(`rtwh ${VERSION}`, '-V, --version', 'print the version')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  rtwh mock db --date 2025-01-14          one business day into MySQL (or --to ods_db)
  rtwh tail ods_db --etl                  read and validate CDC JSON
  rtwh run dim                            dimension sink driven by table_process
  rtwh query "select 42 as answer"        ask the embedded DuckDB warehouse
  rtwh topics                             topics with partitions and end offsets

Bus: --bus kafka://host:port[,host:port] | sqlite:PATH   (default sqlite:./.rtwh/bus.db)
Config: rtwh.toml, RTWH_* env, flags (flags win). See \`rtwh config show\`.
Exit codes: 0 ok, 1 bug, 2 usage/config, 3 not built yet, 4 service unreachable, 5 bad data, 6 not found, 7 refused.`,
    )
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // Usage errors are printed by runCli's single error path instead.
      outputError: () => {},
    })
    .exitOverride();

  registerMock(program, ctx);
  registerShip(program, ctx);
  registerCdc(program, ctx);
  registerTail(program, ctx);
  registerRun(program, ctx);
  registerDemo(program, ctx);
  registerQuery(program, ctx);
  registerServe(program);
  registerTopics(program, ctx);
  registerGroups(program, ctx);
  registerConfig(program, ctx);
  registerCompletion(program, ctx);

  // Every command reports errors the same way and inherits exitOverride/output settings.
  program.hook('preAction', (_root, action) => {
    lastActionJson = Boolean(action.optsWithGlobals().json);
    // A wrong config key or value fails every command at start, not halfway through its work.
    if (!CONFIG_FREE.has(commandPath(action))) ctx.config(action);
  });
  applyRecursively(program, (c) => {
    c.exitOverride();
    c.configureOutput(program.configureOutput());
    c.showSuggestionAfterError(true);
  });
  return { program, wantsJson };
}

/**
 * Commands that must work even when the config is broken (to repair it) or irrelevant. `mock date` sets the date
 * over a stored one that is invalid, and checks the rest of the config itself (src/mock/date.ts).
 */
const CONFIG_FREE = new Set(['config init', 'completion', 'mock date']);

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function applyRecursively(cmd: Command, f: (c: Command) => void): void {
  for (const c of cmd.commands) {
    f(c);
    applyRecursively(c, f);
  }
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const { program, wantsJson } = buildProgram(io);
  const jsonFlag = () => wantsJson() || argv.includes('--json');
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.ok;
    }
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      const msg = e.message.replace(/^error: /, '');
      return report(rtwhError('USAGE', msg, { details: { commander: e.code } }), io, jsonFlag());
    }
    return report(toRtwhError(e), io, jsonFlag());
  }
}

/** Prints an error (with RTWH_DEBUG set, the stack of a bug's cause: an internal error or a job's logic that threw); returns the exit code. */
export function report(err: RtwhError, io: CliIO, json: boolean): number {
  if (json) {
    io.stderr(`${maskSecrets(JSON.stringify(err.toJSON()))}\n`);
  } else {
    io.stderr(`rtwh: ${maskSecrets(err.message)}\n  hint: ${err.hint}\n`);
    if ((err.code === 'INTERNAL' || err.code === 'JOB_FAILED') && io.env.RTWH_DEBUG && err.cause instanceof Error && err.cause.stack) {
      io.stderr(`${maskSecrets(err.cause.stack)}\n`);
    }
  }
  return err.exitCode;
}
