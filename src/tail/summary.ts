/**
 * What a tail run counts, and the summary it ends with on stderr:
 *
 *   read 3,203 records from ods_db in 0.2 s (16,015 records/s) · kept 3,150 · rejected 53
 *     kept            insert  update
 *     order_info          69      20
 *     rejected        count
 *     delete             40
 *
 * Rows are table × type (app logs are table `applog`, type start|page|other); without --etl the valid records
 * are counted the same way and the invalid ones per reason. Records the ETL kept with a warning (app logs that
 * validateAppLog finds fault with) are counted per warning too: `· warnings 2` and a `warning count` table.
 */
import { formatCount, summaryLine } from '../cli/progress.ts';

export class TailStats {
  read = 0;
  kept = 0;
  rejected = 0;
  bytes = 0;
  /** Set when a bounded read ended on an idle timeout rather than at its end offsets. */
  idleEnd = false;
  readonly byKind = new Map<string, Map<string, number>>();
  readonly byReason = new Map<string, number>();
  readonly byFormat = new Map<string, number>();
  /** Kept records with a warning, per category (app logs kept by the ETL that their validator finds fault with). */
  readonly byWarning = new Map<string, number>();
  warned = 0;
  private readonly t0 = performance.now();

  countKind(table: string, type: string, n = 1): void {
    if (n === 0) return;
    let m = this.byKind.get(table);
    if (m === undefined) this.byKind.set(table, (m = new Map()));
    m.set(type, (m.get(type) ?? 0) + n);
  }

  countReason(reason: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }

  countWarning(category: string): void {
    this.warned++;
    this.byWarning.set(category, (this.byWarning.get(category) ?? 0) + 1);
  }

  countFormat(format: string, n = 1): void {
    this.byFormat.set(format, (this.byFormat.get(format) ?? 0) + n);
  }

  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  toJSON(): Record<string, unknown> {
    const kinds: Record<string, Record<string, number>> = {};
    for (const [t, m] of [...this.byKind].sort(byName)) kinds[t] = Object.fromEntries([...m].sort(byName));
    const seconds = this.seconds();
    return {
      read: this.read,
      kept: this.kept,
      rejected: this.rejected,
      bytes: this.bytes,
      seconds: Math.round(seconds * 1000) / 1000,
      records_per_second: Math.round(this.read / Math.max(seconds, 1e-3)),
      formats: Object.fromEntries([...this.byFormat].sort(byName)),
      kinds,
      reasons: Object.fromEntries([...this.byReason].sort((a, b) => b[1] - a[1] || byName(a, b))),
      warnings: Object.fromEntries([...this.byWarning].sort((a, b) => b[1] - a[1] || byName(a, b))),
      ...(this.idleEnd ? { idle_end: true } : {}),
    };
  }

  /** The summary text (several lines, ending with a newline). `keptLabel` is `kept` with --etl, else `valid`. */
  render(where: string, keptLabel: 'kept' | 'valid'): string {
    const warned = this.warned > 0 ? ` · warnings ${formatCount(this.warned)}` : '';
    const head = `${summaryLine('read', this.read, 'records', where, this.seconds())} · ${keptLabel} ${formatCount(this.kept)} · ${keptLabel === 'kept' ? 'rejected' : 'invalid'} ${formatCount(this.rejected)}${warned}`;
    const lines = [head];
    if (this.idleEnd) lines.push('  (stopped after no record arrived for a while before the end offsets: transaction markers or a compacted log)');
    if (this.byKind.size > 0) {
      const types = [...new Set([...this.byKind.values()].flatMap((m) => [...m.keys()]))].sort(typeOrder);
      const rows = [...this.byKind].sort(byName).map(([t, m]) => [t, ...types.map((ty) => formatCount(m.get(ty) ?? 0))]);
      lines.push(...align([[keptLabel, ...types], ...rows]));
    }
    if (this.byReason.size > 0) {
      const rows = [...this.byReason].sort((a, b) => b[1] - a[1] || byName(a, b)).map(([r, n]) => [r, formatCount(n)]);
      lines.push(...align([[keptLabel === 'kept' ? 'rejected' : 'invalid', 'count'], ...rows]));
    }
    if (this.byWarning.size > 0) {
      const rows = [...this.byWarning].sort((a, b) => b[1] - a[1] || byName(a, b)).map(([r, n]) => [r, formatCount(n)]);
      lines.push(...align([['kept with a warning', 'count'], ...rows]));
    }
    return `${lines.join('\n')}\n`;
  }
}

const TYPE_ORDER = ['insert', 'update', 'delete', 'read', 'start', 'page', 'other'];
function typeOrder(a: string, b: string): number {
  const ia = TYPE_ORDER.indexOf(a);
  const ib = TYPE_ORDER.indexOf(b);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Two-space indented columns: the first left-aligned, the others right-aligned (numbers). */
function align(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd());
}
