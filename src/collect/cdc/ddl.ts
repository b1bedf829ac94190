/**
 * Which schema change a DDL statement from the binlog is, and which databases/tables it names. This is not a SQL
 * parser: cdc only needs to know what to re-read from information_schema and what Maxwell DDL record to write, so
 * the statement's head is enough (Maxwell parses the whole statement because it keeps its own schema history).
 */
import type { ColumnInfo } from '../../formats/change';

export type DdlKind =
  | 'database-create'
  | 'database-alter'
  | 'database-drop'
  | 'table-create'
  | 'table-alter'
  | 'table-drop'
  | 'table-rename'
  | 'table-truncate';

export interface DdlTarget {
  database: string;
  table?: string;
  /** RENAME / ALTER … RENAME: the new name. */
  to?: { database: string; table: string };
}

export interface DdlStatement {
  kind: DdlKind;
  targets: DdlTarget[];
}

const ID = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$\\u0080-\\uffff]+)';
const NAME = `(${ID})(?:\\s*\\.\\s*(${ID}))?`;

function unquote(s: string): string {
  return s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s;
}

function qualified(a: string, b: string | undefined, defaultDb: string): { database: string; table: string } {
  return b === undefined ? { database: defaultDb, table: unquote(a) } : { database: unquote(a), table: unquote(b) };
}

/**
 * Comments out (outside quoted strings and names), executable comments (/*!50001 … *\/, /*M!100301 … *\/) kept as
 * their content, whitespace squeezed.
 */
export function normalizeSql(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n && sql[j] !== c) j += sql[j] === '\\' && c !== '`' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const body = sql.slice(i + 2, end < 0 ? n : end);
      const exec = /^M?!\d*\s?/.exec(body);
      out += exec ? body.slice(exec[0].length) : ' ';
      i = end < 0 ? n : end + 2;
    } else if ((c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' ')) || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** The statement's kind and targets, or null when it changes no table or database cdc tracks. */
export function classifyDdl(sql: string, defaultDb: string): DdlStatement | null {
  const s = normalizeSql(sql);
  let m: RegExpExecArray | null;
  const i = 'i';

  if ((m = new RegExp(`^CREATE (?:OR REPLACE )?(?:TEMPORARY )?TABLE (?:IF NOT EXISTS )?${NAME}`, i).exec(s))) {
    if (/^CREATE (?:OR REPLACE )?TEMPORARY /i.test(s)) return null;
    return { kind: 'table-create', targets: [qualified(m[1]!, m[2], defaultDb)] };
  }
  if ((m = new RegExp(`^ALTER (?:ONLINE |IGNORE )*TABLE (?:IF EXISTS )?${NAME}`, i).exec(s))) {
    const t: DdlTarget = qualified(m[1]!, m[2], defaultDb);
    const r = new RegExp(`\\bRENAME (?:TO |AS )?${NAME}\\s*(?:,|$)`, i).exec(s.slice(m[0].length));
    if (r && !/^RENAME (?:COLUMN|INDEX|KEY)\b/i.test(r[0])) t.to = qualified(r[1]!, r[2], t.database);
    return { kind: 'table-alter', targets: [t] };
  }
  if ((m = new RegExp(`^DROP (?:TEMPORARY )?TABLES? (?:IF EXISTS )?`, i).exec(s))) {
    if (/^DROP TEMPORARY /i.test(s)) return null;
    const targets: DdlTarget[] = [];
    const rest = s.slice(m[0].length).replace(/\s+(RESTRICT|CASCADE)\s*$/i, '');
    for (const part of splitList(rest)) {
      const n = new RegExp(`^${NAME}$`, i).exec(part.trim());
      if (n) targets.push(qualified(n[1]!, n[2], defaultDb));
    }
    return targets.length > 0 ? { kind: 'table-drop', targets } : null;
  }
  if ((m = /^RENAME TABLES? /i.exec(s))) {
    const targets: DdlTarget[] = [];
    for (const part of splitList(s.slice(m[0].length))) {
      const n = new RegExp(`^${NAME} TO ${NAME}$`, i).exec(part.trim());
      if (!n) continue;
      const from = qualified(n[1]!, n[2], defaultDb);
      targets.push({ ...from, to: qualified(n[3]!, n[4], defaultDb) });
    }
    return targets.length > 0 ? { kind: 'table-rename', targets } : null;
  }
  if ((m = new RegExp(`^TRUNCATE (?:TABLE )?${NAME}`, i).exec(s))) {
    return { kind: 'table-truncate', targets: [qualified(m[1]!, m[2], defaultDb)] };
  }
  if ((m = new RegExp(`^CREATE (?:OR REPLACE )?(?:DATABASE|SCHEMA) (?:IF NOT EXISTS )?(${ID})`, i).exec(s))) {
    return { kind: 'database-create', targets: [{ database: unquote(m[1]!) }] };
  }
  if ((m = new RegExp(`^ALTER (?:DATABASE|SCHEMA)(?: (${ID}))?`, i).exec(s))) {
    const name = m[1] && !/^(DEFAULT|CHARACTER|CHARSET|COLLATE|UPGRADE|COMMENT)$/i.test(m[1]) ? unquote(m[1]) : defaultDb;
    return { kind: 'database-alter', targets: [{ database: name }] };
  }
  if ((m = new RegExp(`^DROP (?:DATABASE|SCHEMA) (?:IF EXISTS )?(${ID})`, i).exec(s))) {
    return { kind: 'database-drop', targets: [{ database: unquote(m[1]!) }] };
  }
  if ((m = new RegExp(`^(?:CREATE (?:OR REPLACE )?(?:UNIQUE |FULLTEXT |SPATIAL )?INDEX|DROP INDEX) (?:IF (?:NOT )?EXISTS )?${ID} ON ${NAME}`, i).exec(s))) {
    return { kind: 'table-alter', targets: [qualified(m[1]!, m[2], defaultDb)] };
  }
  return null;
}

/** Splits `a, b` at top-level commas (backquoted names may hold commas). */
function splitList(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of s) {
    if (c === '`') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

const TYPE_ALIASES: Record<string, string> = {
  integer: 'int', int4: 'int', int1: 'tinyint', bool: 'tinyint', boolean: 'tinyint', int2: 'smallint', int3: 'mediumint',
  middleint: 'mediumint', int8: 'bigint', serial: 'bigint', numeric: 'decimal', dec: 'decimal', fixed: 'decimal',
  float4: 'float', real: 'double', float8: 'double', character: 'char', nchar: 'char', nvarchar: 'varchar', long: 'mediumtext',
};

const CONSTRAINT_HEAD = /^(PRIMARY|KEY|INDEX|UNIQUE|CONSTRAINT|FOREIGN|CHECK|FULLTEXT|SPATIAL|PERIOD)\b/i;

export interface ParsedTable {
  columns: ColumnInfo[];
  primaryKey: string[];
  charset: string | undefined;
}

/**
 * The columns of a CREATE TABLE statement, for the table-create record of a table that no longer exists when cdc
 * reads the statement (created and dropped again before cdc got there, or read again after a restart).
 * Types follow Maxwell's unalias_type; unknown shapes give null.
 */
export function parseCreateTable(sql: string): ParsedTable | null {
  const s = normalizeSql(sql);
  const open = s.indexOf('(');
  if (open < 0 || /\bLIKE\b|\bAS SELECT\b/i.test(s.slice(0, open + 1))) return null;
  let depth = 0;
  let close = -1;
  let quote = '';
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0) return null;
  const tableOpts = s.slice(close + 1);
  const charset = /(?:DEFAULT )?(?:CHARACTER SET|CHARSET)\s*=?\s*(\w+)/i.exec(tableOpts)?.[1]?.toLowerCase();
  const columns: ColumnInfo[] = [];
  const primaryKey: string[] = [];
  for (const part of splitTop(s.slice(open + 1, close))) {
    const p = part.trim();
    if (CONSTRAINT_HEAD.test(p)) {
      const pk = /PRIMARY KEY\s*(?:\w+\s*)?\(([^)]*)\)/i.exec(p);
      if (pk) for (const k of splitTop(pk[1]!)) primaryKey.push(unquote(k.trim().replace(/\(\d+\)$/, '').replace(/\s+(ASC|DESC)$/i, '')));
      continue;
    }
    const m = new RegExp(`^(${ID})\\s+([A-Za-z0-9]+)\\s*(\\((?:[^()']|'(?:[^']|'')*')*\\))?(.*)$`, 'i').exec(p);
    if (!m) return null;
    const name = unquote(m[1]!);
    const raw = m[2]!.toLowerCase();
    const args = m[3] ? m[3].slice(1, -1) : '';
    const rest = m[4] ?? '';
    const type = TYPE_ALIASES[raw] ?? raw;
    const c: ColumnInfo = { name, type };
    if (/^(tinyint|smallint|mediumint|int|bigint)$/.test(type)) c.unsigned = /\bunsigned\b/i.test(rest);
    if (type === 'decimal') {
      const [pr, sc] = args.split(',').map((x) => Number(x.trim()));
      c.precision = pr ?? 10;
      c.scale = sc ?? 0;
    }
    if (type === 'datetime' || type === 'timestamp' || type === 'time') c.fsp = args ? Number(args) : 0;
    if (type === 'bit') c.bits = args ? Number(args) : 1;
    if (type === 'enum' || type === 'set') c.enumValues = [...args.matchAll(/'((?:[^']|'')*)'/g)].map((x) => x[1]!.replace(/''/g, "'"));
    if (/^(char|varchar|tinytext|text|mediumtext|longtext)$/.test(type)) {
      c.charset = /(?:CHARACTER SET|CHARSET)\s+(\w+)/i.exec(rest)?.[1]?.toLowerCase() ?? charset ?? null;
    }
    if (/\bPRIMARY KEY\b/i.test(rest)) primaryKey.push(name);
    columns.push(c);
  }
  return columns.length > 0 ? { columns, primaryKey, charset } : null;
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}
