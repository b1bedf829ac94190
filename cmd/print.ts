/** Tables on stdout: box on a terminal or by default, json/jsonl/csv/markdown on request. */
import { Option, type Command } from 'commander';
import { render, OUTPUT_FORMATS, type OutputFormat } from '../src/output/render';
import type { Ctx } from './context';

export function formatOption(): Option {
  return new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS);
}

export function printTable(ctx: Ctx, cmd: Command, format: string | undefined, columns: [string, string][], rows: unknown[][]): void {
  const fmt: OutputFormat = (format as OutputFormat | undefined) ?? (cmd.optsWithGlobals().json ? 'json' : 'box');
  const text = render(
    { columns: columns.map(([name, type]) => ({ name, type })), rows },
    fmt,
    ctx.io.isTTY ? { maxWidth: ctx.io.columns ?? 120, maxRows: 40 } : {},
  );
  ctx.io.stdout(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}
