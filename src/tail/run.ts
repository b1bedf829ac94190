/**
 * The tail loop: records from a source → check (format + validation) → ETL verdict (--etl) → output on stdout,
 * reasons on stderr, counts for the summary. Output is written once per batch and awaited, so a slow reader of
 * stdout slows the read (back-pressure) instead of filling memory.
 */
import { render } from '../output/render.ts';
import { checkRecord, reasonText, type CheckedRecord } from '../formats/validate.ts';
import { appendEnvelope, ByteOut, envelopePretty, valueJson, type EnvelopeRecord, type ValueView } from './envelope.ts';
import { odsEtl, recordKind, type RecordKind } from './etl.ts';
import type { TailSource } from './source.ts';
import { TailStats } from './summary.ts';

export const TAIL_FORMATS = ['json', 'jsonl', 'table', 'raw'] as const;
export type TailFormat = (typeof TAIL_FORMATS)[number];

export interface TailRunOptions {
  source: TailSource;
  format: TailFormat;
  /** --etl: keep only what the ODS ETL keeps, for this business database. */
  etl: { database: string } | null;
  /** -n: stop after this many records (read, kept or not). */
  limit: number | null;
  metaOnly: boolean;
  /** Count rejected records without printing a line for each. */
  quiet: boolean;
  /** stdout; resolves when the bytes are taken (back-pressure). */
  write(chunk: string | Uint8Array): Promise<void>;
  /** stderr, one line (no newline). */
  warn(line: string): void;
  signal?: AbortSignal;
  /** Box width of --format table. */
  tableWidth?: number;
  /** How long one poll waits for records. */
  pollMs?: number;
  /** With a group: how often offsets are committed while reading. */
  commitEveryMs?: number;
  onBatch?(stats: TailStats): void;
}

const BATCH = 5000;
const TABLE_COLUMNS: [string, string][] = [
  ['partition', 'INTEGER'],
  ['offset', 'BIGINT'],
  ['timestamp', 'TIMESTAMP'],
  ['key', 'VARCHAR'],
  ['format', 'VARCHAR'],
  ['table', 'VARCHAR'],
  ['type', 'VARCHAR'],
  ['value', 'VARCHAR'],
];

function where(source: TailSource, r: EnvelopeRecord): string {
  // A file's records are lines: say file:LINE like compilers do.
  return r.timestamp === null && source.plans.length === 1 && r.topic === source.name ? `${r.topic}:${r.offset + 1}` : `${r.topic}[${r.partition}]@${r.offset}`;
}

function view(c: CheckedRecord, r: EnvelopeRecord): ValueView {
  if (r.value === null) return { text: null, json: false };
  if (c.ok) return { text: c.text, json: true };
  // Not UTF-8: shown with replacement characters (the raw format still prints the bytes as they are).
  return { text: c.text ?? r.value.toString('utf8'), json: c.json };
}

function preview(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Reads until the source is done, -n is reached or the signal aborts; returns the counts. */
export async function runTail(o: TailRunOptions): Promise<TailStats> {
  const stats = new TailStats();
  const next = new Map<number, number>();
  let uncommitted = false;
  let lastCommit = Date.now();
  const tableRows: unknown[][] = [];
  const flushTable = async () => {
    if (tableRows.length === 0) return;
    await o.write(render({ columns: TABLE_COLUMNS.map(([name, type]) => ({ name, type })), rows: tableRows }, 'box', { maxWidth: o.tableWidth ?? 160 }));
    tableRows.length = 0;
  };
  const commit = async () => {
    if (!uncommitted || !o.source.commit) return;
    await o.source.commit(next);
    uncommitted = false;
    lastCommit = Date.now();
  };

  try {
    while (!o.signal?.aborted && !o.source.done() && (o.limit === null || stats.read < o.limit)) {
      const want = o.limit === null ? BATCH : Math.min(BATCH, o.limit - stats.read);
      const recs = await o.source.poll(want, o.pollMs ?? 500);
      if (o.signal?.aborted && recs.length === 0) break;
      let text = '';
      const raws: Uint8Array[] = [];
      let hint = 0;
      if (o.format === 'jsonl') for (const r of recs) hint += (r.value?.length ?? 0) + (r.key?.length ?? 0) * 2 + 160;
      const bytes = new ByteOut(hint + 64);
      for (const r of recs) {
        stats.read++;
        stats.bytes += r.value?.length ?? 0;
        const c = checkRecord(r.value);
        let kind: RecordKind | undefined;
        let print = true;
        if (c.ok) stats.countFormat(c.format);
        if (o.etl) {
          const v = odsEtl(c, o.etl.database);
          if (v.keep) {
            stats.kept++;
            stats.countKind(v.table, v.type);
            kind = v;
          } else {
            print = false;
            stats.rejected++;
            stats.countReason(v.reason);
            if (!o.quiet) o.warn(`${where(o.source, r)}: ${v.reason}${v.detail ? `: ${preview(v.detail, 300)}` : ''}`);
          }
        } else if (c.ok) {
          stats.kept++;
          kind = recordKind(c);
          stats.countKind(kind.table, kind.type);
        } else {
          stats.rejected++;
          stats.countReason(c.problem);
          if (!o.quiet) o.warn(`${where(o.source, r)}: ${preview(reasonText(c), 300)}`);
        }
        next.set(r.partition, r.offset + 1);
        uncommitted = true;
        if (!print) continue;
        switch (o.format) {
          case 'jsonl':
            appendEnvelope(bytes, r, view(c, r), o.metaOnly);
            break;
          case 'json':
            text += `${envelopePretty(r, view(c, r), o.metaOnly)}\n`;
            break;
          case 'raw':
            if (r.value !== null) raws.push(r.value);
            raws.push(NEWLINE);
            break;
          case 'table': {
            const v = view(c, r);
            tableRows.push([
              r.partition,
              r.offset,
              r.timestamp === null ? null : new Date(r.timestamp).toISOString(),
              r.key === null ? null : preview(r.key.toString('utf8'), 40),
              c.ok ? c.format : (c.format ?? c.problem),
              kind?.table ?? null,
              kind?.type ?? null,
              o.metaOnly ? null : preview(valueJson(v)),
            ]);
            break;
          }
        }
      }
      if (bytes.length > 0) await o.write(bytes.take());
      if (text !== '') await o.write(text);
      if (raws.length > 0) await o.write(Buffer.concat(raws));
      // A following table prints per batch; a bounded one as one table at the end.
      if (o.format === 'table' && o.source.plans.some((p) => p.end === null) && recs.length > 0) await flushTable();
      o.onBatch?.(stats);
      if (Date.now() - lastCommit >= (o.commitEveryMs ?? 1000)) await commit();
    }
    await flushTable();
    await commit();
  } finally {
    stats.idleEnd = Boolean(o.source.idleEnd);
  }
  return stats;
}

const NEWLINE = new Uint8Array([0x0a]);
