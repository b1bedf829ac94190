/**
 * `box`: the DuckDB CLI's box mode. Column names over their types, numbers right-aligned, and a footer that
 * counts rows, saying what was left out when the terminal limits (rows, width) cut the table: rows and columns
 * hidden, and how many values were cut short. Without limits (no TTY) nothing is ever left out or cut.
 */
import { cellText, displayWidth, escapeControls, isNumericColumn, pad, truncateToWidth } from './cells.ts';
import type { RenderableResult } from './result.ts';

export interface BoxOptions {
  /**
   * Terminal width in columns: wider tables lose middle columns (shown as `…`) and long cells are cut (see
   * maxColumnWidth). No limit when absent, 0 or not a finite positive number (no terminal, or one of unknown width).
   */
  maxWidth?: number;
  /** Most data rows to print; the rest are elided from the middle (first half, `·`, last half). */
  maxRows?: number;
  /**
   * Longest cell text before it is cut with `…`. Default 40 when maxWidth limits the table, else unlimited; 0 means
   * unlimited. Column names and types are never cut.
   */
  maxColumnWidth?: number;
  /** How to see cut values whole, for the footer (e.g. `--format csv shows them whole`). */
  wholeHint?: string;
}

const TTY_COLUMN_WIDTH = 40;
const ELLIPSIS_WIDTH = 1;

/** `width`: the slot's display width (a longer value is cut to it). */
type Slot = { kind: 'column'; index: number; width: number; right: boolean } | { kind: 'elided'; width: number };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Width of a table drawn with these slots: `│` then ` cell │` per slot. */
function tableWidth(widths: readonly number[]): number {
  return 1 + widths.reduce((sum, w) => sum + w + 3, 0);
}

/**
 * Keeps columns from both ends (first, last, second, second-to-last, …) until the next one would not fit.
 * When not even the first fits, it alone stays, narrowed to the terminal but never below `minWidths` (its name
 * and type: the line is then wider than the terminal rather than the header unreadable).
 */
function fitColumns(widths: number[], minWidths: readonly number[], maxWidth: number): number[] {
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
    const room = maxWidth - tableWidth(n > 1 ? [0, ELLIPSIS_WIDTH] : [0]);
    widths[0] = Math.max(minWidths[0] ?? 1, Math.min(widths[0] ?? 1, room));
    keep.push(0);
  }
  return keep.sort((a, b) => a - b);
}

/** A positive finite limit, or undefined for none (absent, 0, negative, NaN, Infinity). */
function limit(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** Greedy word wrap to `width` terminal columns (a word longer than that gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && displayWidth(line) + 1 + displayWidth(word) > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

export function renderBox(result: RenderableResult, opts: BoxOptions = {}): string {
  const { columns, rows } = result;
  const total = rows.length;
  const maxWidth = limit(opts.maxWidth);

  // Rows: first half and last half when there are more than maxRows, like the DuckDB CLI.
  let shown: (readonly unknown[])[] = rows.slice();
  let elidedAt = -1;
  if (opts.maxRows !== undefined && opts.maxRows >= 0 && total > opts.maxRows) {
    const top = Math.ceil(opts.maxRows / 2);
    const bottom = opts.maxRows - top;
    shown = [...rows.slice(0, top), ...(bottom > 0 ? rows.slice(total - bottom) : [])];
    elidedAt = top;
  }

  const cap = opts.maxColumnWidth !== undefined ? (limit(opts.maxColumnWidth) ?? Number.POSITIVE_INFINITY) : maxWidth !== undefined ? TTY_COLUMN_WIDTH : Number.POSITIVE_INFINITY;
  const names = columns.map((c) => escapeControls(c.name));
  const types = columns.map((c) => escapeControls(c.type.toLowerCase()));
  const texts = shown.map((row) => columns.map((_, i) => escapeControls(cellText(row[i]))));
  const numeric = columns.map((c, i) => isNumericColumn(c, rows, i));
  // Names and types are never cut: they set a column's least width.
  const minWidths = columns.map((_, i) => Math.max(1, displayWidth(names[i] ?? ''), displayWidth(types[i] ?? '')));
  const widths = columns.map((_, i) => {
    let w = 0;
    for (const t of texts) w = Math.max(w, displayWidth(t[i] ?? ''));
    return Math.max(minWidths[i] ?? 1, Math.min(w, cap));
  });

  const keep = maxWidth !== undefined && columns.length > 0 ? fitColumns(widths, minWidths, maxWidth) : widths.map((_, i) => i);
  const slots: Slot[] = [];
  keep.forEach((index, k) => {
    if (k > 0 && index !== (keep[k - 1] ?? -1) + 1) slots.push({ kind: 'elided', width: ELLIPSIS_WIDTH });
    slots.push({ kind: 'column', index, width: widths[index] ?? 1, right: numeric[index] === true });
  });
  if (keep.length > 0 && keep.length < columns.length && !slots.some((s) => s.kind === 'elided')) {
    slots.push({ kind: 'elided', width: ELLIPSIS_WIDTH });
  }

  // Footer: rows, columns when some were left out, and how many values were cut short.
  const footerLeft = plural(total, 'row') + (elidedAt >= 0 ? ` (${shown.length} shown)` : '');
  const hiddenColumns = columns.length - keep.length;
  const footerRight = hiddenColumns > 0 ? `${plural(columns.length, 'column')} (${keep.length} shown)` : '';
  const footerMin = displayWidth(footerLeft) + (footerRight ? 2 + displayWidth(footerRight) : 0);
  const inner = (): number => tableWidth(slots.map((s) => s.width)) - 4;
  const noteNow = (): string => {
    let cut = 0;
    for (const t of texts) for (const s of slots) if (s.kind === 'column' && displayWidth(t[s.index] ?? '') > s.width) cut++;
    return cut === 0 ? '' : `${cut === 1 ? '1 value' : `${cut} values`} cut short (ending in …)${opts.wholeHint ? `; ${opts.wholeHint}` : ''}`;
  };
  // The footer spans the table: widen the last slot when the table is narrower than the footer text (for the
  // note only as far as the terminal allows; beyond that it wraps). A widened column shows that much more of its
  // values, so count again: widening only ever lowers the count, and settles within a few rounds.
  const last = slots[slots.length - 1];
  const room = maxWidth !== undefined ? maxWidth - 4 : Number.POSITIVE_INFINITY;
  let note = noteNow();
  for (let round = 0; round < 4 && last; round++) {
    const want = Math.max(footerMin, Math.min(displayWidth(note), room));
    if (inner() >= want) break;
    last.width += want - inner();
    note = noteNow();
  }

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
    const first = footerRight ? footerLeft + ' '.repeat(Math.max(2, width - displayWidth(footerLeft) - displayWidth(footerRight))) + footerRight : footerLeft;
    for (const l of [first, ...(note ? wrap(note, width) : [])]) out.push(`│ ${pad(l, width, 'left')} │`);
    out.push(`└${'─'.repeat(width + 2)}┘`);
  } else {
    // No columns at all (DDL results): just the count.
    const width = displayWidth(footerLeft);
    out.push(`┌${'─'.repeat(width + 2)}┐`, `│ ${footerLeft} │`, `└${'─'.repeat(width + 2)}┘`);
  }
  return `${out.join('\n')}\n`;
}
