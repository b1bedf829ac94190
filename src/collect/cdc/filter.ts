/**
 * Maxwell's filter language (zendesk/maxwell filtering/FilterParser + Filter), so a Maxwell `filter=` line works
 * unchanged:
 *
 *   exclude: *.*, include: gmall.*, include: shop./order_\d+/, blacklist: bad_db.*, include: gmall.user_info.status=1
 *
 * - rules are read left to right and the LAST rule that matches decides (everything is included when none does);
 * - `*` matches anything, `/re/` is a regular expression that may match anywhere (Java's find()), a bare word or a
 *   quoted name must match whole (Maxwell compiles it to ^name$);
 * - `db.tbl.col=value` rules look at a row's value (`null` matches SQL NULL and the strings "null"/"NULL");
 * - `blacklist:` excludes like `exclude:`, and the schema of a blacklisted table is not tracked either.
 */
import { q, rtwhError } from '../../errors';
import type { ChangeValue } from '../../formats/change';
import { ExactDecimal } from '../../formats/change';

export type FilterRuleType = 'include' | 'exclude' | 'blacklist';

export interface FilterRule {
  type: FilterRuleType;
  database: RegExp;
  table: RegExp;
  /** Column-value rules: the column and the pattern its value must match. */
  column?: { name: string; value: RegExp; isNull: boolean };
  /** The rule as written back (for messages and `--help` examples). */
  text: string;
}

export interface CdcFilter {
  readonly rules: readonly FilterRule[];
  /** Table-level decision (column rules are ignored, as in Maxwell's Filter.includes(db, table)). */
  includesTable(database: string, table: string): boolean;
  /** Whether rows of the table can be output at all: included, or an include column rule may let some through. */
  mayInclude(database: string, table: string): boolean;
  /** Whether the table's rows need a per-row check (column rules apply to it). */
  hasColumnRules(database: string, table: string): boolean;
  /** Row-level decision. */
  includesRow(database: string, table: string, data: Readonly<Record<string, ChangeValue>>): boolean;
  isBlacklisted(database: string, table: string): boolean;
  /** Database-level decision for database DDL (table patterns do not apply, as in Maxwell's includes(db, null)). */
  includesDatabase(database: string): boolean;
}

const MATCH_ALL = /(?:)/;

/** Parses a Maxwell filter string. An empty or missing filter includes everything. */
export function parseFilter(spec: string | undefined): CdcFilter {
  const rules = spec === undefined || spec.trim() === '' ? [] : new FilterParser(spec).parse();
  return makeFilter(rules);
}

function makeFilter(rules: FilterRule[]): CdcFilter {
  const applies = (r: FilterRule, db: string, tbl: string) => r.database.test(db) && r.table.test(tbl);
  const tableRules = rules.filter((r) => !r.column);
  const columnRules = rules.filter((r) => r.column);
  // Table decisions are asked for every table map event: remember them.
  const cache = new Map<string, boolean>();
  const includesTable = (db: string, tbl: string): boolean => {
    const k = `${db}\u0000${tbl}`;
    let v = cache.get(k);
    if (v === undefined) {
      v = true;
      for (const r of tableRules) if (applies(r, db, tbl)) v = r.type === 'include';
      if (cache.size > 100_000) cache.clear();
      cache.set(k, v);
    }
    return v;
  };
  return {
    rules,
    includesTable,
    mayInclude: (db, tbl) => includesTable(db, tbl) || columnRules.some((r) => r.type === 'include' && applies(r, db, tbl)),
    hasColumnRules: (db, tbl) => columnRules.some((r) => applies(r, db, tbl)),
    includesRow(db, tbl, data) {
      let include = true;
      for (const r of rules) {
        if (!applies(r, db, tbl)) continue;
        if (!r.column) {
          include = r.type === 'include';
          continue;
        }
        if (!(r.column.name in data)) continue;
        const v = data[r.column.name];
        if (r.column.isNull) {
          if (v === null || v === undefined || v === 'null' || v === 'NULL') include = r.type === 'include';
        } else if (v !== null && v !== undefined && r.column.value.test(valueText(v))) {
          include = r.type === 'include';
        }
      }
      return include;
    },
    includesDatabase(db) {
      let v = true;
      for (const r of tableRules) if (r.database.test(db)) v = r.type === 'include';
      return v;
    },
    isBlacklisted(db, tbl) {
      let blacklisted = false;
      for (const r of tableRules) if (r.type === 'blacklist' && applies(r, db, tbl)) blacklisted = true;
      return blacklisted;
    },
  };
}

/** A value as Java's toString would show it to a column rule. */
function valueText(v: ChangeValue): string {
  if (v instanceof ExactDecimal) return v.text;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: 'char'; ch: string } | { kind: 'regex'; text: string } | { kind: 'eof' };

/** A hand-written tokenizer with the same classes as Maxwell's StreamTokenizer setup. */
class FilterParser {
  private i = 0;
  private tok: Token;

  constructor(private readonly src: string) {
    this.tok = this.next();
  }

  parse(): FilterRule[] {
    const rules: FilterRule[] = [];
    while (this.tok.kind !== 'eof') {
      rules.push(this.rule());
      if (this.tok.kind === 'char' && this.tok.ch === ',') this.tok = this.next();
    }
    return rules;
  }

  private fail(why: string): never {
    throw rtwhError('USAGE', `invalid --filter ${q(this.src)}: ${why}`, {
      hint: "Maxwell's syntax: 'exclude: *.*, include: gmall.*' — rules are type: database.table (names, * or /regex/), comma-separated.",
    });
  }

  private rule(): FilterRule {
    const t = this.tok;
    if (t.kind !== 'word') this.fail('expected include, exclude or blacklist');
    const type = t.text.toLowerCase();
    if (type !== 'include' && type !== 'exclude' && type !== 'blacklist') this.fail(`unknown filter keyword ${q(t.text)}`);
    this.tok = this.next();
    this.expect(':');
    const [db, dbText] = this.pattern();
    this.expect('.');
    const [table, tableText] = this.pattern();
    let column: FilterRule['column'];
    let text = `${type}: ${dbText}.${tableText}`;
    if (this.tok.kind === 'char' && this.tok.ch === '.') {
      this.tok = this.next();
      const c = this.tok;
      if (c.kind !== 'word' && c.kind !== 'quoted') this.fail('expected a column name after the table');
      this.tok = this.next();
      this.expect('=');
      const [value, valueTextOut] = this.pattern();
      column = { name: c.text, value, isNull: value.source.toLowerCase() === '^null$' };
      text += `.${c.text}=${valueTextOut}`;
    }
    return { type, database: db, table, ...(column ? { column } : {}), text };
  }

  private expect(ch: string): void {
    if (this.tok.kind !== 'char' || this.tok.ch !== ch) this.fail(`expected ${q(ch)}`);
    this.tok = this.next();
  }

  private pattern(): [RegExp, string] {
    const t = this.tok;
    let out: [RegExp, string];
    if (t.kind === 'char' && t.ch === '*') out = [MATCH_ALL, '*'];
    else if (t.kind === 'regex') out = [compile(t.text, this.src), `/${t.text}/`];
    else if (t.kind === 'word' || t.kind === 'quoted') out = [compile(`^${t.kind === 'word' ? escapeRegex(t.text) : t.text}$`, this.src), t.text];
    else this.fail('expected a name, * or /regex/');
    this.tok = this.next();
    return out;
  }

  private next(): Token {
    const s = this.src;
    while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
    if (this.i >= s.length) return { kind: 'eof' };
    const c = s[this.i]!;
    if (c === '/') {
      // Up to the next unescaped slash, as Maxwell's parseRegexp reads it.
      let j = this.i + 1;
      let text = '';
      while (j < s.length && !(s[j] === '/' && s[j - 1] !== '\\')) text += s[j++];
      if (j >= s.length) this.fail('unterminated /regex/');
      this.i = j + 1;
      return { kind: 'regex', text };
    }
    if (c === '`' || c === "'" || c === '"') {
      const end = s.indexOf(c, this.i + 1);
      if (end < 0) this.fail(`unterminated ${c}quoted${c} name`);
      const text = s.slice(this.i + 1, end);
      this.i = end + 1;
      return { kind: 'quoted', text };
    }
    const w = /^[A-Za-z0-9_\u00a0-\uffff-]+/.exec(s.slice(this.i));
    if (w) {
      this.i += w[0].length;
      return { kind: 'word', text: w[0] };
    }
    this.i++;
    return { kind: 'char', ch: c };
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(re: string, src: string): RegExp {
  try {
    return new RegExp(re);
  } catch (e) {
    throw rtwhError('USAGE', `invalid --filter ${q(src)}: bad regular expression /${re}/ (${(e as Error).message})`);
  }
}
