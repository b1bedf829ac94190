/** `markdown`: a GitHub-flavoured table, numbers right-aligned, columns padded so the source reads as a table too. */
import { cellText, displayWidth, isNumericColumn, pad } from './cells.ts';
import type { RenderableResult } from './result.ts';

function escapeCell(s: string): string {
  // A pipe would end the cell, a newline the row; backslash first so the added escapes stay single.
  return s.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\r\n|\r|\n/g, '<br>');
}

export function renderMarkdown(result: RenderableResult): string {
  const { columns, rows } = result;
  if (columns.length === 0) return '';
  const header = columns.map((c) => escapeCell(c.name));
  const body = rows.map((row) => columns.map((_, i) => escapeCell(cellText(row[i]))));
  const right = columns.map((c, i) => isNumericColumn(c, rows, i));
  // Three dashes is the least a delimiter row may have; alignment colons need one more.
  const widths = columns.map((_, i) => Math.max(3, displayWidth(header[i] ?? ''), ...body.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const out = [
    line(header.map((h, i) => pad(h, widths[i] ?? 3, right[i] ? 'right' : 'left'))),
    line(widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)))),
    ...body.map((r) => line(r.map((c, i) => pad(c, widths[i] ?? 3, right[i] ? 'right' : 'left')))),
  ];
  return `${out.join('\n')}\n`;
}
