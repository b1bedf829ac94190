/** What every command receives: where to write, the environment, and the merged config (loaded lazily). */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../src/config/load';

export interface CliIO {
  stdout: (s: string) => void;
  /** Bulk output that waits while the reader is slower (back-pressure); commands streaming data use it when present. */
  stdoutBytes?: (b: Uint8Array) => Promise<void>;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** stdout is a terminal: box tables, colours, progress. */
  isTTY: boolean;
  /** Terminal width when isTTY. */
  columns?: number;
}

export interface Ctx {
  io: CliIO;
  out: (s: string) => void;
  err: (s: string) => void;
  color: ChalkInstance;
  /** The merged config for this command's flags (flags > env > file > defaults). */
  config(cmd: Command): LoadedConfig;
}

export function makeCtx(io: CliIO, noColor: () => boolean): Ctx {
  const level = io.isTTY && io.env.NO_COLOR === undefined && !noColor() ? 1 : 0;
  const color = new Chalk({ level });
  return {
    io,
    out: (s) => io.stdout(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => io.stderr(s.endsWith('\n') ? s : `${s}\n`),
    color,
    config(cmd) {
      const o = cmd.optsWithGlobals<GlobalOpts>();
      return loadConfig({
        cwd: io.cwd,
        env: io.env,
        configFile: o.config,
        flags: { bus: o.bus, mysql: o.mysql, duckdb: o.duckdb },
      });
    },
  };
}

export interface GlobalOpts {
  config?: string;
  bus?: string;
  mysql?: string;
  duckdb?: string;
  json?: boolean;
  color?: boolean;
}

/** The connection flags are the same on every command (placed before or after the subcommand). */
export function withCommonFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (default ./rtwh.toml; env RTWH_CONFIG)')
    .option('--bus <url>', 'topic bus: kafka://host:port[,host:port] or sqlite:PATH (env RTWH_BUS)')
    .option('--mysql <url>', 'business database mysql://user:pass@host:port/db (env RTWH_MYSQL)')
    .option('--json', 'print errors (and results, where a command has them) as JSON');
}
