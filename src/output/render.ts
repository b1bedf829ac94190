/** One entry point for the CLI and the HTTP API: a result and a format name in, text out. */
import { renderBox, type BoxOptions } from './box.ts';
import { renderCsv } from './csv.ts';
import { renderJson, renderJsonl } from './json.ts';
import { renderMarkdown } from './markdown.ts';
import type { RenderableResult } from './result.ts';

export const OUTPUT_FORMATS = ['box', 'json', 'jsonl', 'csv', 'markdown'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Terminal limits; only `box` uses them; the machine formats always carry every row and column. */
export type RenderOptions = BoxOptions;

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

/**
 * Renders a result as text ending in a newline (markdown of a column-less result is empty).
 * @example
 *   render({ columns: [{ name: 'answer', type: 'INTEGER' }], rows: [[42]] }, 'json'); // '[\n{"answer":42}\n]\n'
 */
export function render(result: RenderableResult, format: OutputFormat, opts: RenderOptions = {}): string {
  switch (format) {
    case 'box':
      return renderBox(result, opts);
    case 'json':
      return renderJson(result);
    case 'jsonl':
      return renderJsonl(result);
    case 'csv':
      return renderCsv(result);
    case 'markdown':
      return renderMarkdown(result);
  }
}
