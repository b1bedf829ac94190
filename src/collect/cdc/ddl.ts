/**
 * Which schema change a DDL statement from the binlog is, and which databases/tables it names. This is not a SQL
 * parser: cdc only needs to know what to re-read from information_schema and what Maxwell DDL record to write, so
 * the statement's head is enough (Maxwell parses the whole statement because it keeps its own schema history).
 */
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

/** Comments out, executable comments (/*!50001 … *\/) kept as their content, whitespace squeezed. */
export function normalizeSql(sql: string): string {
  return sql
    .replace(/\/\*[!M]!?\d*\s?([\s\S]*?)\*\//g, '$1')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|\n)\s*(--\s|#)[^\n]*/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
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
