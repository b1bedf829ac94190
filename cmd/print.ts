/**
 * Tables on stdout: box by default, json/jsonl/csv/markdown on request.
 * Only on a TTY is a box fitted to the terminal (rows from the middle, middle columns and long values left out,
 * the footer saying how many); anywhere else every row, column and character is printed.
 */
import { Option, type Command } from 'commander';
import { render, OUTPUT_FORMATS, type OutputFormat, type RenderOptions } from '../src/output/render';
import { wholeNumber } from './flags';
import type { Ctx } from './context';

/** Rows a box shows on a TTY; the footer says how many there were. */
const TTY_MAX_ROWS = 40;

export function formatOption(): Option {
  return new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS);
}

/** `--max-width N`: the width a box may take (default: the terminal's on a TTY, no limit otherwise); 0 for no limit. */
export function maxWidthOption(): Option {
  return new Option(
    '--max-width <columns>',
    'box only: fit the table into this many columns, cutting long values (default: the terminal width on a TTY, no limit otherwise; 0: no limit)',
  ).argParser((v: string) => wholeNumber('--max-width', v, 0));
}

export interface PrintOptions {
  /** `--max-width`, when the command has it: overrides the terminal width (0: no limit). */
  maxWidth?: number;
  /** How this command shows cut values whole, for the box footer. Default: `--format csv shows them whole`. */
  wholeHint?: string;
}

/** The box limits for this output: the terminal's on a TTY (a width of 0 or unknown is no width limit), else none. */
export function boxLimits(ctx: Ctx, o: PrintOptions = {}): RenderOptions {
  const limits: RenderOptions = ctx.io.isTTY ? { maxWidth: ctx.io.columns ?? 0, maxRows: TTY_MAX_ROWS } : {};
  if (o.maxWidth !== undefined) limits.maxWidth = o.maxWidth;
  limits.wholeHint = o.wholeHint ?? '--format csv shows them whole';
  return limits;
}

export function printTable(ctx: Ctx, cmd: Command, format: string | undefined, columns: [string, string][], rows: unknown[][], o: PrintOptions = {}): void {
  const fmt: OutputFormat = (format as OutputFormat | undefined) ?? (cmd.optsWithGlobals().json ? 'json' : 'box');
  const text = render({ columns: columns.map(([name, type]) => ({ name, type })), rows }, fmt, boxLimits(ctx, o));
  ctx.io.stdout(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}
