/**
 * The dim job's routing rules: `table_process` rows → TableProcess. Pure logic; the only I/O is reading a
 * `--config-file`. Where the rows come from (MySQL, live) is config-source.ts.
 *
 * Two shapes of the config table are accepted, as the gmall courses wrote them:
 *
 *   2022  source_table (PK), sink_table, sink_columns, sink_pk, sink_extend
 *   2023  source_table, sink_table (PK), sink_family, sink_columns, sink_row_key
 *
 * Everything in a row is untrusted: table and column names end up as SQL identifiers in the dim store, so each one
 * must match NAME_PATTERN (and is quoted there as well). A bad row becomes a RejectedRule whose reason names the
 * bad value (shortened when huge) and the expected form; the other rows are unaffected. `sink_extend` (Phoenix
 * table options such as `SALT_BUCKETS = 4`) is kept verbatim for reporting and never goes into SQL.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import standardRows from '../../fixtures/table_process.json' with { type: 'json' };
import { q, rtwhError } from '../errors';
import { RESERVED_TABLE_PREFIXES, reservedPrefix } from './store-common';
import type { TableProcess } from './types';

export type ConfigVariant = '2022' | '2023';

/** A config row that cannot be used, and why (names the bad value and the expected form). */
export interface RejectedRule {
  sourceTable: string;
  reason: string;
  /**
   * The row's sink_table as written, when it is text (valid or not): the row still names that table, so
   * `--drop-on-delete` keeps it at a start (only tables no row names are dropped).
   */
  sinkTable?: string;
}

/** Names from the config: source and sink tables, columns, key. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const NAME_FORM = `expected ${NAME_PATTERN.source} (a letter or _, then up to 63 letters, digits or _)`;

/**
 * Longest sink_columns text: the width of the seed's `table_process.sink_columns varchar(2000)` (and of
 * --init-config's). It also bounds the columns of a rule (fewer than 700 valid names fit).
 */
export const MAX_SINK_COLUMNS_CHARS = 2000;

/** The key column when sink_pk / sink_row_key is NULL or empty (as the seed's DimApp did). */
export const DEFAULT_PK = 'id';

/** The columns of each variant, in table order. */
export const CONFIG_COLUMNS: Readonly<Record<ConfigVariant, readonly string[]>> = {
  '2022': ['source_table', 'sink_table', 'sink_columns', 'sink_pk', 'sink_extend'],
  '2023': ['source_table', 'sink_table', 'sink_family', 'sink_columns', 'sink_row_key'],
};

/** A row of the 2022 config table (the shape of fixtures/table_process.json). */
export type ConfigRow2022 = {
  source_table: string;
  sink_table: string;
  sink_columns: string;
  sink_pk: string | null;
  sink_extend: string | null;
};

export function isRejected(r: TableProcess | RejectedRule): r is RejectedRule {
  return 'reason' in r;
}

/**
 * Which variant a set of column names is: `sink_row_key` or `sink_family` → 2023, else 2022 (undefined when the
 * 2022 key columns are missing too, i.e. this is no config table).
 */
export function detectVariant(columns: Iterable<string>): ConfigVariant | undefined {
  const set = new Set([...columns].map((c) => c.toLowerCase()));
  if (set.has('sink_row_key') || set.has('sink_family')) return '2023';
  if (set.has('source_table') && set.has('sink_table') && set.has('sink_columns')) return '2022';
  return undefined;
}

/** A value for a message: quoted, control characters escaped, shortened when long. */
export function displayValue(v: unknown, max = 80): string {
  const s = typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);
  if (s.length <= max) return q(s);
  return `${q(`${s.slice(0, max - 20)}…`)} (${s.length.toLocaleString('en-US')} characters)`;
}

type Field = { ok: true; value: string | null } | { ok: false; reason: string };

/** A text cell: strings as they are, bytes as UTF-8, NULL/absent → null; anything else is not text. */
function textField(raw: Record<string, unknown>, column: string): Field {
  const v = raw[column];
  if (v === null || v === undefined) return { ok: true, value: null };
  if (typeof v === 'string') return { ok: true, value: v };
  if (v instanceof Uint8Array) return { ok: true, value: Buffer.from(v).toString('utf8') };
  return { ok: false, reason: `${column} is ${displayValue(typeof v === 'object' ? JSON.stringify(v) : v)} (${typeof v}): expected text` };
}

function badName(column: string, value: string): string {
  return `${column} ${displayValue(value)} is not a valid name: ${NAME_FORM}`;
}

/**
 * One config row → a rule, or the reason it cannot be one. `variant` picks the key column (`sink_pk` or
 * `sink_row_key`); without it the row's own columns tell (see detectVariant). Extra columns are ignored.
 */
export function ruleFromRow(raw: Record<string, unknown>, variant?: ConfigVariant): TableProcess | RejectedRule {
  const v = variant ?? detectVariant(Object.keys(raw)) ?? '2022';
  const src = textField(raw, 'source_table');
  const sourceText = src.ok && src.value !== null ? src.value : '';
  const shownSource = sourceText.length > 80 ? `${sourceText.slice(0, 60)}…` : sourceText;
  const sinkRaw = raw.sink_table;
  const sinkText = typeof sinkRaw === 'string' ? sinkRaw : sinkRaw instanceof Uint8Array ? Buffer.from(sinkRaw).toString('utf8') : undefined;
  const reject = (reason: string): RejectedRule => (sinkText !== undefined && sinkText.length <= 64 ? { sourceTable: shownSource, reason, sinkTable: sinkText } : { sourceTable: shownSource, reason });

  if (!src.ok) return reject(src.reason);
  if (src.value === null || src.value.trim() === '') return reject('source_table is missing: expected the name of a business table');
  if (!NAME_PATTERN.test(src.value)) return reject(badName('source_table', src.value));

  const sink = textField(raw, 'sink_table');
  if (!sink.ok) return reject(sink.reason);
  if (sink.value === null || sink.value.trim() === '') return reject(`sink_table is missing for ${src.value}: expected the name of the dim table`);
  if (!NAME_PATTERN.test(sink.value)) return reject(badName('sink_table', sink.value));
  const reserved = reservedPrefix(sink.value);
  if (reserved !== undefined) {
    return reject(`sink_table ${q(sink.value)} starts with ${reserved}, which the dim store reserves for its own tables: expected a name not starting with ${RESERVED_TABLE_PREFIXES.join(' or ')}`);
  }

  const cols = textField(raw, 'sink_columns');
  if (!cols.ok) return reject(cols.reason);
  if (cols.value === null || cols.value.trim() === '') return reject(`sink_columns is empty for ${src.value}: expected a comma-separated list of column names`);
  if (cols.value.length > MAX_SINK_COLUMNS_CHARS) {
    return reject(
      `sink_columns is ${cols.value.length.toLocaleString('en-US')} characters long (${q(`${cols.value.slice(0, 40)}…`)}): at most ${MAX_SINK_COLUMNS_CHARS.toLocaleString('en-US')}, the width of table_process.sink_columns (varchar(${MAX_SINK_COLUMNS_CHARS}))`,
    );
  }
  const parts = cols.value.split(',');
  const columns: string[] = [];
  const seen = new Map<string, string>();
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!.trim();
    if (name === '') {
      return reject(`sink_columns has an empty name at position ${i + 1} (${displayValue(cols.value)}): expected a comma-separated list of names, none empty`);
    }
    if (!NAME_PATTERN.test(name)) return reject(`${badName(`sink_columns entry ${i + 1}`, name)}`);
    const lower = name.toLowerCase();
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      return reject(
        earlier === name
          ? `sink_columns names ${q(name)} twice: expected each column once`
          : `sink_columns names ${q(earlier)} and ${q(name)}, the same column (names are case-insensitive): expected each column once`,
      );
    }
    seen.set(lower, name);
    columns.push(name);
  }

  const pkColumn = v === '2023' ? 'sink_row_key' : 'sink_pk';
  const pkField = textField(raw, pkColumn);
  if (!pkField.ok) return reject(pkField.reason);
  const pkGiven = pkField.value !== null && pkField.value.trim() !== '';
  const pk = pkGiven ? pkField.value!.trim() : DEFAULT_PK;
  if (pkGiven && !NAME_PATTERN.test(pk)) return reject(badName(pkColumn, pkField.value!));
  if (!columns.includes(pk)) {
    const list = displayValue(columns.join(','));
    return reject(
      pkGiven
        ? `${pkColumn} ${q(pk)} is not one of sink_columns ${list}: expected the key column to be listed`
        : `${pkColumn} is ${pkField.value === null ? 'NULL' : 'empty'}, so the key is ${q(DEFAULT_PK)}, which is not one of sink_columns ${list}: set ${pkColumn} to the key column`,
    );
  }

  const rule: TableProcess = { sourceTable: src.value, sinkTable: sink.value, sinkColumns: columns, sinkPk: pk, sinkExtend: null };
  if (v === '2022') {
    const ext = raw.sink_extend;
    rule.sinkExtend = ext === null || ext === undefined ? null : ext instanceof Uint8Array ? Buffer.from(ext).toString('utf8') : String(ext);
  } else {
    const fam = textField(raw, 'sink_family');
    if (!fam.ok) return reject(fam.reason);
    rule.sinkFamily = fam.value;
  }
  return rule;
}

export interface ParsedRules {
  rules: TableProcess[];
  rejected: RejectedRule[];
}

/**
 * Collects rules and rejections in row order. A second row for a source table already seen is rejected: one rule
 * per source table, as the 2022 table's primary key guarantees.
 */
class RuleCollector {
  readonly rules: TableProcess[] = [];
  readonly rejected: RejectedRule[] = [];
  private readonly first = new Map<string, string>();

  constructor(private readonly variant?: ConfigVariant) {}

  add(row: Record<string, unknown>, where?: string): void {
    const at = where ? `${where}: ` : '';
    const r = ruleFromRow(row, this.variant);
    if (isRejected(r)) {
      this.reject({ ...r, reason: `${at}${r.reason}` });
      return;
    }
    const earlier = this.first.get(r.sourceTable);
    if (earlier !== undefined) {
      this.reject({ sourceTable: r.sourceTable, sinkTable: r.sinkTable, reason: `${at}source_table ${q(r.sourceTable)} appears again${earlier ? ` (first at ${earlier})` : ''}: expected one rule per source table` });
      return;
    }
    this.first.set(r.sourceTable, where ?? '');
    this.rules.push(r);
  }

  reject(r: RejectedRule): void {
    this.rejected.push(r);
  }
}

/** Many rows → rules, in order; `where(i)` names row i in messages (a file line). */
export function rulesFromRows(rows: readonly Record<string, unknown>[], opts: { variant?: ConfigVariant; where?: (i: number) => string } = {}): ParsedRules {
  const c = new RuleCollector(opts.variant);
  rows.forEach((row, i) => c.add(row, opts.where?.(i)));
  return { rules: c.rules, rejected: c.rejected };
}

/** The standard config rows (15 dim tables of the 2022 course + base_dic), embedded in the binary. */
export function standardConfigRows(): ConfigRow2022[] {
  return (standardRows as ConfigRow2022[]).map((r) => ({ ...r }));
}

/** The standard rules (what the job uses when no config source is given). */
export function standardRules(): TableProcess[] {
  const { rules, rejected } = rulesFromRows(standardConfigRows(), { variant: '2022' });
  if (rejected.length > 0) throw rtwhError('INTERNAL', `the standard table_process rules are invalid: ${rejected.map((r) => r.reason).join('; ')}`);
  return rules;
}

// ---------------------------------------------------------------------------------------------------------------
// --config-file

interface CsvRecord {
  line: number;
  /** null: an unquoted empty field, `\N` or `NULL` (SQL NULL as exports write it); quoted fields are always text. */
  cells: (string | null)[];
}

/**
 * RFC 4180: comma-separated fields, `"…"` quoting with `""` for a quote, line breaks CRLF or LF (also inside
 * quoted fields). Throws on a quote left open or text after a closing quote.
 */
export function parseCsv(text: string, origin = 'CSV'): CsvRecord[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const n = s.length;
  const fail = (at: number, why: string): never => {
    throw rtwhError('DIM_CONFIG_FILE', `${origin} line ${at}: ${why}`);
  };
  while (i < n) {
    const start = line;
    const cells: (string | null)[] = [];
    for (;;) {
      // One field.
      if (s[i] === '"') {
        const openedOn = line;
        let v = '';
        i++;
        for (;;) {
          if (i >= n) fail(openedOn, 'a quoted field is not closed (a " is missing)');
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              v += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          v += c;
          i++;
        }
        if (i < n && s[i] !== ',' && s[i] !== '\n' && !(s[i] === '\r' && s[i + 1] === '\n')) {
          fail(line, `unexpected ${displayValue(s[i])} after a closing quote: expected , or the end of the line (write "" for a quote inside a quoted field)`);
        }
        cells.push(v);
      } else {
        let j = i;
        while (j < n && s[j] !== ',' && s[j] !== '\n' && !(s[j] === '\r' && s[j + 1] === '\n')) j++;
        const raw = s.slice(i, j);
        if (raw.includes('"')) fail(line, `a quote inside an unquoted field ${displayValue(raw)}: quote the whole field ("…", with "" for a quote)`);
        i = j;
        cells.push(raw === '' || raw === '\\N' || raw === 'NULL' ? null : raw);
      }
      if (i >= n) break;
      if (s[i] === ',') {
        i++;
        continue;
      }
      // End of the record.
      i += s[i] === '\r' ? 2 : 1;
      line++;
      break;
    }
    const blank = cells.length === 1 && cells[0] === null;
    if (!blank) out.push({ line: start, cells });
  }
  return out;
}

/** table_process rows from CSV text with a header row. */
export function parseConfigCsv(text: string, origin = 'CSV'): ParsedRules {
  const records = parseCsv(text, origin);
  const head = records[0];
  if (!head) throw rtwhError('DIM_CONFIG_FILE', `${origin} is empty: expected a header row and one row per rule`);
  const header = head.cells.map((c) => (c ?? '').trim().toLowerCase());
  const missing = ['source_table', 'sink_table', 'sink_columns'].filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw rtwhError('DIM_CONFIG_FILE', `${origin} header ${displayValue(header.join(','))} lacks ${missing.join(', ')}: expected ${CONFIG_COLUMNS['2022'].join(',')} (2022) or ${CONFIG_COLUMNS['2023'].join(',')} (2023)`);
  }
  const c = new RuleCollector(detectVariant(header));
  const src = header.indexOf('source_table');
  for (const rec of records.slice(1)) {
    const where = `${origin} line ${rec.line}`;
    if (rec.cells.length !== header.length) {
      c.reject({
        sourceTable: (rec.cells[src] ?? '').slice(0, 80),
        reason: `${where}: ${rec.cells.length} fields where the header has ${header.length}: quote sink_columns ("id,name"), it contains commas`,
      });
      continue;
    }
    const row: Record<string, unknown> = {};
    header.forEach((h, k) => (row[h] = rec.cells[k]));
    c.add(row, where);
  }
  return { rules: c.rules, rejected: c.rejected };
}

/** table_process rows from a JSON array of row objects. */
export function parseConfigJson(text: string, origin = 'JSON'): ParsedRules {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw rtwhError('DIM_CONFIG_FILE', `${origin} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(doc)) throw rtwhError('DIM_CONFIG_FILE', `${origin} holds ${doc === null ? 'null' : typeof doc}: expected an array of table_process row objects`);
  const c = new RuleCollector();
  doc.forEach((el: unknown, i) => {
    const where = `${origin} element ${i}`;
    if (typeof el !== 'object' || el === null || Array.isArray(el)) {
      c.reject({ sourceTable: '', reason: `${where}: ${displayValue(JSON.stringify(el))}: expected an object with source_table, sink_table, sink_columns, sink_pk, sink_extend` });
      return;
    }
    c.add(el as Record<string, unknown>, where);
  });
  return { rules: c.rules, rejected: c.rejected };
}

/** `--config-file table_process.csv|json`. */
export function readConfigFile(path: string): ParsedRules {
  const ext = extname(path).toLowerCase();
  if (ext !== '.csv' && ext !== '.json') {
    throw rtwhError('DIM_CONFIG_FILE', `--config-file ${q(path)} is neither .csv nor .json: the extension says the format`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw rtwhError('DIM_CONFIG_FILE', `cannot read --config-file ${q(path)}: ${why}`, { cause: e });
  }
  const origin = basename(path);
  return ext === '.csv' ? parseConfigCsv(text, origin) : parseConfigJson(text, origin);
}

// ---------------------------------------------------------------------------------------------------------------
// Changes between two rule sets

export interface RuleChange {
  sourceTable: string;
  before: TableProcess;
  after: TableProcess;
  /** Fields that differ. */
  fields: ('sinkTable' | 'sinkColumns' | 'sinkPk' | 'sinkExtend' | 'sinkFamily')[];
  /** In `after` order. */
  columnsAdded: string[];
  columnsRemoved: string[];
}

export interface RuleDiff {
  added: TableProcess[];
  removed: TableProcess[];
  changed: RuleChange[];
}

export function sameRule(a: TableProcess, b: TableProcess): boolean {
  return changedFields(a, b).length === 0;
}

function changedFields(a: TableProcess, b: TableProcess): RuleChange['fields'] {
  const f: RuleChange['fields'] = [];
  if (a.sinkTable !== b.sinkTable) f.push('sinkTable');
  if (a.sinkColumns.length !== b.sinkColumns.length || a.sinkColumns.some((c, i) => c !== b.sinkColumns[i])) f.push('sinkColumns');
  if (a.sinkPk !== b.sinkPk) f.push('sinkPk');
  if (a.sinkExtend !== b.sinkExtend) f.push('sinkExtend');
  if ((a.sinkFamily ?? null) !== (b.sinkFamily ?? null)) f.push('sinkFamily');
  return f;
}

/** What changed from one rule set to the next, keyed by source table (order of `after`, then `before`). */
export function diffRules(before: Iterable<TableProcess>, after: Iterable<TableProcess>): RuleDiff {
  const old = new Map<string, TableProcess>();
  for (const r of before) old.set(r.sourceTable, r);
  const now = new Map<string, TableProcess>();
  for (const r of after) now.set(r.sourceTable, r);
  const d: RuleDiff = { added: [], removed: [], changed: [] };
  for (const [k, a] of now) {
    const b = old.get(k);
    if (!b) {
      d.added.push(a);
      continue;
    }
    const fields = changedFields(b, a);
    if (fields.length === 0) continue;
    d.changed.push({
      sourceTable: k,
      before: b,
      after: a,
      fields,
      columnsAdded: a.sinkColumns.filter((c) => !b.sinkColumns.includes(c)),
      columnsRemoved: b.sinkColumns.filter((c) => !a.sinkColumns.includes(c)),
    });
  }
  for (const [k, b] of old) if (!now.has(k)) d.removed.push(b);
  return d;
}

/** One log line per change: `+ user_info → dim_user_info (8 columns, key id)`, `~ …`, `- …`. */
export function describeDiff(d: RuleDiff): string[] {
  const lines: string[] = [];
  for (const r of d.added) lines.push(`+ ${describeRule(r)}`);
  for (const c of d.changed) {
    const parts: string[] = [];
    if (c.fields.includes('sinkTable')) parts.push(`sink_table ${c.before.sinkTable} → ${c.after.sinkTable}`);
    if (c.columnsAdded.length > 0) parts.push(`columns added ${c.columnsAdded.join(',')}`);
    if (c.columnsRemoved.length > 0) parts.push(`columns no longer routed ${c.columnsRemoved.join(',')}`);
    if (c.fields.includes('sinkColumns') && c.columnsAdded.length === 0 && c.columnsRemoved.length === 0) parts.push('column order changed');
    if (c.fields.includes('sinkPk')) parts.push(`key ${c.before.sinkPk} → ${c.after.sinkPk}`);
    if (c.fields.includes('sinkExtend')) parts.push(`sink_extend ${displayValue(c.before.sinkExtend ?? 'NULL')} → ${displayValue(c.after.sinkExtend ?? 'NULL')} (not applied)`);
    if (c.fields.includes('sinkFamily')) parts.push(`sink_family ${c.before.sinkFamily ?? 'NULL'} → ${c.after.sinkFamily ?? 'NULL'}`);
    lines.push(`~ ${c.sourceTable} → ${c.after.sinkTable}: ${parts.join('; ')}`);
  }
  for (const r of d.removed) lines.push(`- ${r.sourceTable} → ${r.sinkTable}`);
  return lines;
}

/** `user_info → dim_user_info (8 columns, key id; sink_extend " SALT_BUCKETS = 3" not applied)`. */
export function describeRule(r: TableProcess): string {
  const extend = r.sinkExtend !== null && r.sinkExtend.trim() !== '' ? `; sink_extend ${displayValue(r.sinkExtend)} not applied` : '';
  return `${r.sourceTable} → ${r.sinkTable} (${r.sinkColumns.length} column${r.sinkColumns.length === 1 ? '' : 's'}, key ${r.sinkPk}${extend})`;
}
