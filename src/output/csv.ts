/** `csv`: a header row, then one record per row, quoted per RFC 4180. */
import { cellText } from './cells.ts';
import type { RenderableResult } from './result.ts';

export interface CsvOptions {
  /** Record separator. RFC 4180 says CRLF; LF (the default) is what Unix tools and DuckDB's COPY write. */
  eol?: '\n' | '\r\n';
  /** Field separator, `,` by default. */
  delimiter?: string;
}

function field(v: unknown, delimiter: string): string {
  // NULL is an empty field and the empty string a quoted one, so the two survive a round trip.
  if (v === null || v === undefined) return '';
  const s = cellText(v);
  if (s === '' || s.includes(delimiter) || /["\r\n]/.test(s)) return `"${s.replaceAll('"', '""')}"`;
  return s;
}

export function renderCsv(result: RenderableResult, opts: CsvOptions = {}): string {
  const eol = opts.eol ?? '\n';
  const delimiter = opts.delimiter ?? ',';
  const lines = [result.columns.map((c) => field(c.name, delimiter)).join(delimiter)];
  for (const row of result.rows) lines.push(result.columns.map((_, i) => field(row[i], delimiter)).join(delimiter));
  return lines.map((l) => l + eol).join('');
}
