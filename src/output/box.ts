/**
 * `box`: the DuckDB CLI's box mode. Column names over their types, numbers right-aligned, and a footer that
 * counts rows, saying what was left out when the terminal limits (rows, width) cut the table.
 */
import { cellText, displayWidth, escapeControls, isNumericColumn, pad, truncateToWidth } from './cells.ts';
import type { RenderableResult } from './result.ts';

export interface BoxOptions {
  /** Terminal width in columns; wider tables lose middle columns (shown as `…`). Unlimited when absent. */
  maxWidth?: number;
  /** Most data rows to print; the rest are elided from the middle (first half, `·`, last half). */
  maxRows?: number;
  /** Longest cell text before it is cut with `…`. Default 40 when maxWidth is set, else unlimited. */
  maxColumnWidth?: number;
}

const TTY_COLUMN_WIDTH = 40;
const ELLIPSIS_WIDTH = 1;

type Slot = { kind: 'column'; index: number; width: number; right: boolean } | { kind: 'elided'; width: number };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Width of a table drawn with these slots: `│` then ` cell │` per slot. */
function tableWidth(widths: readonly number[]): number {
  return 1 + widths.reduce((sum, w) => sum + w + 3, 0);
}

/** Keeps columns from both ends (first, last, second, second-to-last, …) until the next one would not fit. */
function fitColumns(widths: number[], maxWidth: number): number[] {
  const n = widths.length;
  if (tableWidth(widths) <= maxWidth) return widths.map((_, i) => i);
  const order: number[] = [];
  for (let lo = 0, hi = n - 1; lo <= hi; lo++, hi--) {
    order.push(lo);
    if (hi !== lo) order.push(hi);
  }
  const keep: number[] = [];
  for (const i of order) {
    const trial = [...keep, i];
    const w = trial.map((k) => widths[k] ?? 0);
    if (tableWidth(trial.length < n ? [...w, ELLIPSIS_WIDTH] : w) > maxWidth) break;
    keep.push(i);
  }
  if (keep.length === 0) {
    // Not even one column fits: show the first, cut down to what the terminal has.
    widths[0] = Math.max(1, maxWidth - tableWidth([ELLIPSIS_WIDTH]) - 3 - 1);
    keep.push(0);
  }
  return keep.sort((a, b) => a - b);
}

export function renderBox(result: RenderableResult, opts: BoxOptions = {}): string {
  const { columns, rows } = result;
  const total = rows.length;

  // Rows: first half and last half when there are more than maxRows, like the DuckDB CLI.
  let shown: (readonly unknown[])[] = rows.slice();
  let elidedAt = -1;
  if (opts.maxRows !== undefined && opts.maxRows >= 0 && total > opts.maxRows) {
    const top = Math.ceil(opts.maxRows / 2);
    const bottom = opts.maxRows - top;
    shown = [...rows.slice(0, top), ...(bottom > 0 ? rows.slice(total - bottom) : [])];
    elidedAt = top;
  }

  const cap = opts.maxColumnWidth ?? (opts.maxWidth !== undefined ? TTY_COLUMN_WIDTH : Number.POSITIVE_INFINITY);
  const names = columns.map((c) => escapeControls(c.name));
  const types = columns.map((c) => escapeControls(c.type.toLowerCase()));
  const texts = shown.map((row) => columns.map((_, i) => escapeControls(cellText(row[i]))));
  const numeric = columns.map((c, i) => isNumericColumn(c, rows, i));
  const widths = columns.map((_, i) => {
    let w = Math.max(1, displayWidth(names[i] ?? ''), displayWidth(types[i] ?? ''));
    for (const t of texts) w = Math.max(w, displayWidth(t[i] ?? ''));
    return Math.min(w, Math.max(1, cap));
  });

  const keep = opts.maxWidth !== undefined && columns.length > 0 ? fitColumns(widths, opts.maxWidth) : widths.map((_, i) => i);
  const slots: Slot[] = [];
  keep.forEach((index, k) => {
    if (k > 0 && index !== (keep[k - 1] ?? -1) + 1) slots.push({ kind: 'elided', width: ELLIPSIS_WIDTH });
    slots.push({ kind: 'column', index, width: widths[index] ?? 1, right: numeric[index] === true });
  });
  if (keep.length > 0 && keep.length < columns.length && !slots.some((s) => s.kind === 'elided')) {
    slots.push({ kind: 'elided', width: ELLIPSIS_WIDTH });
  }

  // Footer: rows, and columns when some were left out.
  let footer = plural(total, 'row') + (elidedAt >= 0 ? ` (${shown.length} shown)` : '');
  const hiddenColumns = columns.length - keep.length;
  const footerRight = hiddenColumns > 0 ? `${plural(columns.length, 'column')} (${keep.length} shown)` : '';
  const footerMin = displayWidth(footer) + (footerRight ? 2 + displayWidth(footerRight) : 0);
  // The footer spans the table: widen the last slot when the table is narrower than the footer text.
  const inner = (): number => tableWidth(slots.map((s) => s.width)) - 4;
  const last = slots[slots.length - 1];
  if (last && inner() < footerMin) last.width += footerMin - inner();

  const line = (l: string, mid: string, r: string): string => l + slots.map((s) => '─'.repeat(s.width + 2)).join(mid) + r;
  const row = (cells: string[]): string => `│ ${cells.join(' │ ')} │`;
  const cell = (slot: Slot, text: string, align: 'left' | 'right' | 'center'): string =>
    pad(truncateToWidth(text, slot.width), slot.width, align);

  const out: string[] = [];
  if (slots.length > 0) {
    out.push(line('┌', '┬', '┐'));
    out.push(row(slots.map((s) => (s.kind === 'elided' ? cell(s, '…', 'center') : cell(s, names[s.index] ?? '', 'center')))));
    out.push(row(slots.map((s) => (s.kind === 'elided' ? cell(s, '', 'center') : cell(s, types[s.index] ?? '', 'center')))));
    const body: string[] = [];
    texts.forEach((t, r) => {
      if (r === elidedAt) body.push(row(slots.map((s) => cell(s, '·', 'center'))));
      body.push(row(slots.map((s) => (s.kind === 'elided' ? cell(s, '…', 'center') : cell(s, t[s.index] ?? '', s.right ? 'right' : 'left')))));
    });
    if (elidedAt >= 0 && elidedAt === texts.length) body.push(row(slots.map((s) => cell(s, '·', 'center'))));
    if (body.length > 0) out.push(line('├', '┼', '┤'), ...body);
    out.push(line('├', '┴', '┤'));
    const width = inner();
    if (footerRight) footer = footer + ' '.repeat(Math.max(2, width - displayWidth(footer) - displayWidth(footerRight))) + footerRight;
    out.push(`│ ${pad(footer, width, 'left')} │`);
    out.push(`└${'─'.repeat(width + 2)}┘`);
  } else {
    // No columns at all (DDL results): just the count.
    const width = displayWidth(footer);
    out.push(`┌${'─'.repeat(width + 2)}┐`, `│ ${footer} │`, `└${'─'.repeat(width + 2)}┘`);
  }
  return `${out.join('\n')}\n`;
}
