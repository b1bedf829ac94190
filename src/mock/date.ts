/**
 * The mock business date, kept where each tool reads it, changing ONLY that one value and leaving every
 * other byte of the file as it was (comments, order, each line's own line ending, a missing final newline):
 *   - rtwh.toml            `[mock] date = "2025-01-14"` (also `mock.date = …` and `mock = { date = … }`)
 *   - Maxwell              config.properties `mock_date=2025-01-14`
 *   - the Java generator   application.properties `mock.date=2025-01-14` or application.yml `mock: date:` / `mock.date:`
 * A form that cannot be edited safely is refused (nothing written) rather than guessed at.
 * Replaces the old change_db_date.sh (sed + restart).
 *
 * Editors work on text decoded byte-for-byte (latin1 for properties/yml, so ISO-8859-1 comments survive;
 * UTF-8 for TOML) and only ever insert ASCII. Files are written by `stageWrite` + `commitWrites`: a temp
 * file in the same directory with the old file's mode, renamed over it once every target is ready.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { q, rtwhError, type RtwhError } from '../errors';
import { syncDir } from '../store/atomic-file';
import { BUSINESS_DATE_HINT, BUSINESS_DATES, checkBusinessDate, checkDate } from '../config/schema';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Throws CONFIG_VALUE naming the value and the expected form: a did-you-mean for 2025-1-15, the month's
 * length for 2025-02-30, and the range the mocks can generate (BUSINESS_DATES).
 */
export function validateMockDate(value: string, what = 'mock date'): string {
  const bad = (expected: string, hint: string) => rtwhError('CONFIG_VALUE', `invalid ${what} ${q(value)}: ${expected}`, { hint });
  const range = `expected a date from ${BUSINESS_DATES.first} to ${BUSINESS_DATES.last}`;
  if (/^\d{5,}-\d{1,2}-\d{1,2}$/.test(value)) throw bad(range, BUSINESS_DATE_HINT);
  const problem = checkDate(value);
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (problem) {
    if (!parts) throw bad(problem, 'Dates are YYYY-MM-DD with leading zeros; Maxwell cannot parse the short form.');
    const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    if (month < 1 || month > 12) throw bad(problem, `There is no month ${parts[2]}: months run from 01 to 12.`);
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    throw bad(problem, `${MONTHS[month - 1]} ${year} has ${days} days (${parts[1]}-${parts[2]}-01 to ${parts[1]}-${parts[2]}-${days}).`);
  }
  if (checkBusinessDate(value)) throw bad(range, BUSINESS_DATE_HINT);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Lines, each with its own ending

interface Line {
  text: string;
  /** '\r\n', '\n', '\r' or '' (the last line of a file without a final newline). */
  eol: string;
}

const BOM_UTF8 = '\uFEFF';
const BOM_LATIN1 = '\xEF\xBB\xBF';

function bomOf(text: string): string {
  return text.startsWith(BOM_UTF8) ? BOM_UTF8 : text.startsWith(BOM_LATIN1) ? BOM_LATIN1 : '';
}

/** Splits after the BOM (returned apart); every line keeps the ending it had. */
function splitLines(text: string): { bom: string; lines: Line[] } {
  const bom = bomOf(text);
  const lines: Line[] = [];
  const re = /\r\n|\n|\r/g;
  let start = bom.length;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    lines.push({ text: text.slice(start, m.index), eol: m[0] });
    start = m.index + m[0].length;
  }
  if (start < text.length) lines.push({ text: text.slice(start), eol: '' });
  return { bom, lines };
}

function joinLines(bom: string, lines: Line[]): string {
  return bom + lines.map((l) => l.text + l.eol).join('');
}

/** The ending most lines use (LF when there is none or a tie), for lines rtwh adds. */
function dominantEol(text: string): string {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  const cr = (text.match(/\r(?!\n)/g) ?? []).length;
  if (crlf > lf && crlf >= cr) return '\r\n';
  if (cr > lf && cr > crlf) return '\r';
  return '\n';
}

/** Appends a line; a last line without an ending gets the file's ending first. */
function appendLine(lines: Line[], text: string, eol: string): void {
  const last = lines[lines.length - 1];
  if (last && last.eol === '') last.eol = eol;
  lines.push({ text, eol });
}

/** Inserts a line after line `at`; a last line without an ending gets one. */
function insertLineAfter(lines: Line[], at: number, text: string, eol: string): void {
  if (at === lines.length - 1) return appendLine(lines, text, eol);
  lines.splice(at + 1, 0, { text, eol });
}

function indentOf(s: string): number {
  return s.length - s.replace(/^ +/, '').length;
}

function cannotEdit(key: string, where: string, why: string, hint = 'Change it in that file by hand, or into a form shown in `rtwh mock date --help`; nothing was changed.'): RtwhError {
  return rtwhError('CONFIG_FILE', `cannot set ${key} in ${q(where)}: ${why}`, { hint });
}

// ---------------------------------------------------------------------------------------------------------
// Java properties (Maxwell config.properties, generator application.properties)

interface Spot {
  line: number;
  start: number;
  end: number;
}

/** Every line that sets `key` (value span within the line), skipping comments and continuation lines. */
function findProperties(lines: Line[], key: string, where: string): { spots: (Spot & { bare: boolean })[]; endsContinued: boolean } {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // key, then (a separator and the value) or nothing; whitespace is space, tab and form feed only.
  const re = new RegExp(`^([ \\t\\f]*${escaped})(?:([ \\t\\f]*[=:][ \\t\\f]*|[ \\t\\f]+)(.*?)|)([ \\t\\f]*)$`);
  const continues = (s: string) => (/\\+$/.exec(s)?.[0].length ?? 0) % 2 === 1;
  const spots: (Spot & { bare: boolean })[] = [];
  let continued = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.text;
    if (continued) {
      continued = continues(text);
      continue;
    }
    if (/^[ \t\f]*([#!]|$)/.test(text)) continue; // comment or blank: never continued
    continued = continues(text);
    const m = re.exec(text);
    if (!m) continue;
    if (continued) throw cannotEdit(key, where, `its value on line ${i + 1} goes on over several lines (ends in \\); expected ${key}=YYYY-MM-DD on one line`);
    const start = m[1]!.length + (m[2]?.length ?? 0);
    spots.push({ line: i, start, end: start + (m[3]?.length ?? 0), bare: m[2] === undefined });
  }
  return { spots, endsContinued: continued };
}

/** Java properties (`key=value`, `key = value`, `key: value`, `key value`): sets every `key`, appending it when missing. */
export function setPropertiesValue(text: string, key: string, value: string, where = 'the properties file'): string {
  const { bom, lines } = splitLines(text);
  const { spots, endsContinued } = findProperties(lines, key, where);
  for (const s of spots) {
    const l = lines[s.line]!;
    l.text = l.text.slice(0, s.start) + (s.bare ? '=' : '') + value + l.text.slice(s.end);
  }
  if (spots.length === 0) {
    if (endsContinued) throw cannotEdit(key, where, 'its last line ends in \\ (goes on), so a line added after it would join that value');
    appendLine(lines, `${key}=${value}`, dominantEol(text));
  }
  return joinLines(bom, lines);
}

/** The value Java would read for `key` (the last one wins), or undefined when the key is missing. */
export function getPropertiesValue(text: string, key: string, where = 'the properties file'): string | undefined {
  const { lines } = splitLines(text);
  const last = findProperties(lines, key, where).spots.at(-1);
  return last ? lines[last.line]!.text.slice(last.start, last.end) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// application.yml

type YamlLoc =
  /** The value's span (quotes excluded); `pad`/`post` go around the date when the value was empty (`date:`, `date: # c`). */
  | { kind: 'value'; spot: Spot; pad: string; post: string; raw: string }
  /** `mock:` with no `date` child: insert `date:` after line `after`, at `indent`. */
  | { kind: 'child'; after: number; indent: number }
  /** `mock: {…}` without date: insert `text(date)` at `at` in line `line`. */
  | { kind: 'flow'; line: number; at: number; text: (date: string) => string }
  | { kind: 'none' };

const YAML_KEY = (key: string) => new RegExp(`^(?:${key}|"${key}"|'${key}')[ \\t]*:(?=[ \\t]|$)`);

/** Parses the value after `key:` in `text` from `from`: a plain or quoted scalar, then only a comment. */
function yamlScalar(text: string, from: number, where: string, lineNo: number): { start: number; end: number; pad: string; post: string; raw: string } {
  const rest = text.slice(from);
  const ws = /^[ \t]*/.exec(rest)![0];
  const at = from + ws.length;
  const tail = text.slice(at);
  let len: number;
  let quote = '';
  if (tail === '' || tail.startsWith('#')) {
    // empty value (null): the date goes after ': '
    return { start: at, end: at, pad: ws === '' ? ' ' : '', post: tail === '' ? '' : ' ', raw: '' };
  }
  if (tail[0] === '"' || tail[0] === "'") {
    quote = tail[0];
    const m = quote === '"' ? /^"(?:[^"\\]|\\.)*"/.exec(tail) : /^'(?:[^']|'')*'/.exec(tail);
    if (!m) throw cannotEdit('mock.date', where, `the quoted value on line ${lineNo} does not end on that line; expected date: YYYY-MM-DD`);
    len = m[0].length;
  } else {
    if (/^[|>&*!{}[\]%@`,]/.test(tail)) throw cannotEdit('mock.date', where, `line ${lineNo} holds ${q(tail.trim())}, not a plain date; expected date: YYYY-MM-DD`);
    len = /^(?:[^#]|(?<![ \t])#)*/.exec(tail)![0].replace(/[ \t]+$/, '').length;
  }
  const after = tail.slice(len);
  if (!/^([ \t]+#.*|[ \t]*)$/.test(after)) throw cannotEdit('mock.date', where, `line ${lineNo} has ${q(after.trim())} after the value; expected date: YYYY-MM-DD`);
  const raw = tail.slice(0, len);
  return quote ? { start: at + 1, end: at + len - 1, pad: '', post: '', raw: raw.slice(1, -1) } : { start: at, end: at + len, pad: '', post: '', raw };
}

/** A key with an empty value followed by deeper lines (or a `- ` list) holds a mapping or a list, not a date. */
function yamlNested(lines: Line[], at: number, indent: number, where: string): void {
  for (let j = at + 1; j < lines.length; j++) {
    const t = lines[j]!.text;
    if (/^[ \t]*(#.*)?$/.test(t)) continue;
    const d = indentOf(t);
    if (d > indent || (d === indent && /^ *-( |$)/.test(t))) throw cannotEdit('mock.date', where, `line ${at + 1} opens a nested block, not a date; expected date: YYYY-MM-DD`);
    return;
  }
}

/** Scans `mock: {…}` on one line from the `{` at `open`: the date entry's value, or where to add one. */
function yamlFlow(text: string, open: number, lineNo: number, where: string): YamlLoc & { kind: 'value' | 'flow' } {
  const refuse = (why: string) => cannotEdit('mock.date', where, `line ${lineNo} ${why}; rtwh edits \`mock: {date: YYYY-MM-DD}\` on one line, or the block form \`mock:\` / \`  date: YYYY-MM-DD\``);
  let i = open + 1;
  let lastEnd = -1;
  let found: { start: number; end: number; pad: string; raw: string } | undefined;
  const skipWs = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const quoted = (): number => {
    const m = (text[i] === '"' ? /"(?:[^"\\]|\\.)*"/y : /'(?:[^']|'')*'/y);
    m.lastIndex = i;
    if (!m.exec(text)) throw refuse('has a quoted string that does not end on that line');
    return m.lastIndex;
  };
  for (;;) {
    skipWs();
    if (i >= text.length) throw refuse('has a `{` mapping that does not close on that line');
    if (text[i] === '}') break;
    // key
    let key: string;
    if (text[i] === '"' || text[i] === "'") {
      const e = quoted();
      key = text.slice(i + 1, e - 1);
      i = e;
    } else {
      const m = /[^:,{}[\]#]*?(?=:[ \t]|:$|:[,}]|[,}])/y;
      m.lastIndex = i;
      const k = m.exec(text);
      if (!k || /^[[{]/.test(text.slice(i))) throw refuse('has a `{` mapping rtwh cannot read');
      key = k[0].trim();
      i = m.lastIndex;
    }
    skipWs();
    if (text[i] !== ':') throw refuse(`has ${q(key)} without a value in its \`{}\` mapping`);
    i++;
    const colon = i;
    skipWs();
    const vStart = i;
    if (text[i] === '"' || text[i] === "'") {
      i = quoted();
      if (key === 'date') found = { start: vStart + 1, end: i - 1, pad: '', raw: text.slice(vStart + 1, i - 1) };
    } else if (text[i] === '{' || text[i] === '[') {
      if (key === 'date') throw refuse('has a nested value for date');
      let depth = 0;
      for (; i < text.length; i++) {
        const c = text[i]!;
        if (c === '"' || c === "'") i = quoted() - 1;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
      }
      if (depth !== 0) throw refuse('has a `{` mapping that does not close on that line');
    } else {
      const m = /[^,{}[\]]*/y;
      m.lastIndex = i;
      const v = m.exec(text)![0];
      if (/(^|[ \t])#/.test(v)) throw refuse('has a comment inside its `{}` mapping');
      const trimmed = v.replace(/[ \t]+$/, '');
      if (key === 'date') {
        if (/^[|>&*!%@`]/.test(trimmed)) throw refuse(`holds ${q(trimmed)} for date, not a plain date`);
        found = { start: vStart, end: vStart + trimmed.length, pad: vStart === colon ? ' ' : '', raw: trimmed };
      }
      i = vStart + trimmed.length;
    }
    lastEnd = i;
    skipWs();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') break;
    throw refuse('has a `{` mapping rtwh cannot read');
  }
  if (!/^[ \t]*(#.*)?$/.test(text.slice(i + 1))) throw refuse('has more after the `{}` mapping');
  if (found) return { kind: 'value', spot: { line: lineNo - 1, start: found.start, end: found.end }, pad: found.pad, post: '', raw: found.raw };
  return lastEnd < 0 ? { kind: 'flow', line: lineNo - 1, at: open + 1, text: (d) => `date: ${d}` } : { kind: 'flow', line: lineNo - 1, at: lastEnd, text: (d) => `, date: ${d}` };
}

/**
 * Finds mock.date: a top-level `mock.date:` line, the direct child `date:` of the top-level `mock:` block
 * (children are at the indentation of mock's first child), or the `date` entry of `mock: {…}`.
 */
function locateYaml(lines: Line[], where: string): YamlLoc {
  const flat = YAML_KEY('mock\\.date');
  const mock = YAML_KEY('mock');
  const date = YAML_KEY('date');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.text;
    if (/^[ \t]/.test(text) || /^(#.*)?$/.test(text)) continue; // only top-level keys
    const f = flat.exec(text);
    if (f) {
      const v = yamlScalar(text, f[0].length, where, i + 1);
      if (v.raw === '') yamlNested(lines, i, 0, where);
      return { kind: 'value', spot: { line: i, start: v.start, end: v.end }, pad: v.pad, post: v.post, raw: v.raw };
    }
    const m = mock.exec(text);
    if (!m) continue;
    const rest = text.slice(m[0].length);
    const open = /^[ \t]*\{/.exec(rest);
    if (open) return yamlFlow(text, m[0].length + open[0].length - 1, i + 1, where);
    if (!/^[ \t]*(#.*)?$/.test(rest)) throw cannotEdit('mock.date', where, `line ${i + 1} sets mock to ${q(rest.trim())}, not a mapping; expected \`mock:\` with an indented \`date: YYYY-MM-DD\``);
    let childIndent = -1;
    for (let j = i + 1; j < lines.length; j++) {
      const t = lines[j]!.text;
      if (/^[ \t]*(#.*)?$/.test(t)) continue;
      const d = indentOf(t);
      if (childIndent < 0 && /^ *-( |$)/.test(t)) throw cannotEdit('mock.date', where, `mock (line ${i + 1}) holds a list, not a mapping; expected \`mock:\` with an indented \`date: YYYY-MM-DD\``);
      if (d === 0) break;
      if (childIndent < 0) childIndent = d;
      if (d !== childIndent) continue;
      const c = date.exec(t.slice(d));
      if (c) {
        const v = yamlScalar(t, d + c[0].length, where, j + 1);
        if (v.raw === '') yamlNested(lines, j, d, where);
        return { kind: 'value', spot: { line: j, start: v.start, end: v.end }, pad: v.pad, post: v.post, raw: v.raw };
      }
    }
    return { kind: 'child', after: i, indent: childIndent > 0 ? childIndent : 2 };
  }
  return { kind: 'none' };
}

/** application.yml: `mock.date: x`, `mock:` ↳ `date: x` or `mock: {date: x}` (quotes kept); adds it when missing. */
export function setYamlMockDate(text: string, date: string, where = 'the YAML file'): string {
  const { bom, lines } = splitLines(text);
  const loc = locateYaml(lines, where);
  const eol = dominantEol(text);
  if (loc.kind === 'value') {
    const l = lines[loc.spot.line]!;
    l.text = l.text.slice(0, loc.spot.start) + loc.pad + date + loc.post + l.text.slice(loc.spot.end);
  } else if (loc.kind === 'flow') {
    const l = lines[loc.line]!;
    l.text = l.text.slice(0, loc.at) + loc.text(date) + l.text.slice(loc.at);
  } else if (loc.kind === 'child') insertLineAfter(lines, loc.after, `${' '.repeat(loc.indent)}date: ${date}`, eol);
  else appendLine(lines, `mock.date: ${date}`, eol);
  return joinLines(bom, lines);
}

/** The mock.date an application.yml holds (quotes removed), or undefined. */
export function getYamlMockDate(text: string, where = 'the YAML file'): string | undefined {
  const loc = locateYaml(splitLines(text).lines, where);
  return loc.kind === 'value' && loc.raw !== '' ? loc.raw : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// rtwh.toml

interface TomlKv {
  /** Full key path: the table header's path + the dotted key. */
  path: string[];
  /** The header path in effect ([] at the top). */
  table: string[];
  /** Whether this is a statement of its own (not an entry of an inline table). */
  statement: boolean;
  valStart: number;
  valEnd: number;
  kind: 'string' | 'inline' | 'array' | 'scalar';
  /** Inline tables: the `{` position and the end of the last entry's value (-1 when empty). */
  open?: number;
  lastEnd?: number;
  /** End of the statement's line (after its line break, if any). */
  lineEnd: number;
}

interface TomlHeader {
  path: string[];
  array: boolean;
  lineEnd: number;
}

class TomlSpanError extends Error {}

/** Just enough of a TOML reader to know where each key's value starts and ends (values are not decoded). */
function scanToml(s: string): { kvs: TomlKv[]; headers: TomlHeader[] } {
  const kvs: TomlKv[] = [];
  const headers: TomlHeader[] = [];
  let i = s.startsWith(BOM_UTF8) ? 1 : 0;
  const fail = (what: string): never => {
    throw new TomlSpanError(`${what} at line ${s.slice(0, i).split('\n').length}`);
  };
  const ws = () => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  const comment = () => {
    if (s[i] === '#') while (i < s.length && s[i] !== '\n') i++;
  };
  const newline = () => {
    if (s[i] === '\r' && s[i + 1] === '\n') i += 2;
    else if (s[i] === '\n') i++;
    else if (i < s.length) fail('expected the end of the line');
  };
  const wsNlComments = () => {
    for (;;) {
      ws();
      comment();
      if (s[i] === '\n' || (s[i] === '\r' && s[i + 1] === '\n')) newline();
      else return;
    }
  };
  const basic = (): string => {
    const start = i++;
    while (s[i] !== '"') {
      if (s[i] === '\\') i++;
      if (i >= s.length || s[i] === '\n') fail('unterminated string');
      i++;
    }
    i++;
    try {
      return JSON.parse(s.slice(start, i)) as string;
    } catch {
      return s.slice(start + 1, i - 1);
    }
  };
  const literal = (): string => {
    const start = ++i;
    while (s[i] !== "'") {
      if (i >= s.length || s[i] === '\n') fail('unterminated string');
      i++;
    }
    return s.slice(start, i++);
  };
  const multiline = (q3: string) => {
    i += 3;
    for (;;) {
      if (i >= s.length) fail('unterminated multi-line string');
      if (q3 === '"""' && s[i] === '\\') i += 2;
      else if (s.startsWith(q3, i)) {
        i += 3;
        for (let extra = 0; extra < 2 && s[i] === q3[0]; extra++) i++;
        return;
      } else i++;
    }
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws();
      if (s[i] === '"') parts.push(basic());
      else if (s[i] === "'") parts.push(literal());
      else {
        const m = /[A-Za-z0-9_-]+/y;
        m.lastIndex = i;
        const k = m.exec(s);
        if (!k) fail('expected a key');
        parts.push(k![0]);
        i = m.lastIndex;
      }
      ws();
      if (s[i] !== '.') return parts;
      i++;
    }
  };
  const value = (path: string[] | undefined, table: string[]): Omit<TomlKv, 'path' | 'table' | 'statement' | 'lineEnd'> => {
    const valStart = i;
    if (s.startsWith('"""', i) || s.startsWith("'''", i)) {
      multiline(s.slice(i, i + 3));
      return { valStart, valEnd: i, kind: 'string' };
    }
    if (s[i] === '"') {
      basic();
      return { valStart, valEnd: i, kind: 'string' };
    }
    if (s[i] === "'") {
      literal();
      return { valStart, valEnd: i, kind: 'string' };
    }
    if (s[i] === '[') {
      i++;
      for (;;) {
        wsNlComments();
        if (s[i] === ']') break;
        value(undefined, table);
        wsNlComments();
        if (s[i] === ',') i++;
        else if (s[i] !== ']') fail('expected , or ] in an array');
      }
      i++;
      return { valStart, valEnd: i, kind: 'array' };
    }
    if (s[i] === '{') {
      i++;
      let lastEnd = -1;
      wsNlComments();
      while (s[i] !== '}') {
        keyValue(path, table, false);
        lastEnd = i;
        wsNlComments();
        if (s[i] === ',') {
          i++;
          wsNlComments();
        } else if (s[i] !== '}') fail('expected , or } in an inline table');
      }
      i++;
      return { valStart, valEnd: i, kind: 'inline', open: valStart, lastEnd };
    }
    const m = /[A-Za-z0-9_:.+-]+/y;
    m.lastIndex = i;
    const v = m.exec(s);
    if (!v) fail('expected a value');
    i = m.lastIndex;
    // a date-time may have a space between the date and the time
    if (/^\d{4}-\d{2}-\d{2}$/.test(v![0]) && / \d{2}:/y.test(s.slice(i, i + 4))) {
      m.lastIndex = ++i;
      m.exec(s);
      i = m.lastIndex;
    }
    return { valStart, valEnd: i, kind: 'scalar' };
  };
  /** `key = value`; records it when `prefix` is known (inside arrays it is not addressable). */
  const keyValue = (prefix: string[] | undefined, table: string[], statement: boolean): void => {
    const k = key();
    if (s[i] !== '=') fail('expected =');
    i++;
    ws();
    const path = prefix ? [...prefix, ...k] : undefined;
    const v = value(path, table);
    if (path) kvs.push({ path, table, statement, lineEnd: -1, ...v });
  };
  let table: string[] = [];
  while (i < s.length) {
    ws();
    comment();
    if (i >= s.length) break;
    if (s[i] === '\n' || s[i] === '\r') {
      newline();
      continue;
    }
    if (s[i] === '[') {
      const array = s[i + 1] === '[';
      i += array ? 2 : 1;
      table = key();
      if (s[i] !== ']' || (array && s[i + 1] !== ']')) fail('expected ] after a table name');
      i += array ? 2 : 1;
      ws();
      comment();
      newline();
      headers.push({ path: table, array, lineEnd: i });
      continue;
    }
    const before = kvs.length;
    keyValue(table, table, true);
    ws();
    comment();
    newline();
    for (let k = before; k < kvs.length; k++) kvs[k]!.lineEnd = i;
  }
  return { kvs, headers };
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, k) => x === b[k]);
const under = (a: readonly string[], b: readonly string[]) => a.length > b.length && b.every((x, k) => x === a[k]);

/** A comparable text of a parsed TOML value (keys sorted; dates by their ISO text). */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown> & { toJSON?: () => unknown };
    if (typeof o.toJSON === 'function') return `${o.constructor?.name ?? 'object'}(${JSON.stringify(o.toJSON())})`;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return `${typeof v}:${String(v)}`;
}

function parseToml(text: string, where: string): Record<string, unknown> {
  try {
    return Bun.TOML.parse(text.startsWith(BOM_UTF8) ? text.slice(1) : text) as Record<string, unknown>;
  } catch (e) {
    throw rtwhError('CONFIG_FILE', `cannot parse ${q(where)}: ${e instanceof Error ? e.message : String(e)}: expected valid TOML`, {
      cause: e,
      hint: 'Fix the TOML syntax near the position given (or move the file away); nothing was changed.',
    });
  }
}

/** Puts a line after the line ending at `lineEnd` (giving a last line without an ending one). */
function insertAt(text: string, lineEnd: number, line: string, eol: string): string {
  const needsBreak = lineEnd === text.length && text.length > 0 && !/[\r\n]$/.test(text);
  return text.slice(0, lineEnd) + (needsBreak ? eol : '') + line + eol + text.slice(lineEnd);
}

/**
 * `rtwh.toml`: sets `date` in `[mock]`, a top-level `mock.date = …` or `mock = { date = … }`, adding it
 * when missing (to the inline table or the dotted keys already there, else under `[mock]`, else a new
 * `[mock]` table at the end). Whatever the stored value was (even an invalid date), it is replaced. The
 * result is parsed and must equal the old file with only mock.date changed; otherwise nothing is returned.
 */
export function setTomlMockDate(text: string, date: string, where = 'rtwh.toml'): string {
  const before = parseToml(text, where);
  let scan: ReturnType<typeof scanToml>;
  try {
    scan = scanToml(text);
  } catch (e) {
    if (!(e instanceof TomlSpanError)) throw e;
    throw cannotEdit('mock.date', where, `rtwh cannot follow this TOML (${e.message})`, 'Set `date = "YYYY-MM-DD"` under `[mock]` by hand; nothing was changed.');
  }
  const MOCK = ['mock'];
  const DATE = ['mock', 'date'];
  const eol = dominantEol(text);
  const value = `"${date}"`;
  const refuse = (why: string) => cannotEdit('mock.date', where, why, 'Use `[mock]` with `date = "YYYY-MM-DD"` in that file; nothing was changed.');

  if (scan.kvs.some((kv) => under(kv.path, DATE)) || scan.headers.some((h) => same(h.path, DATE) || under(h.path, DATE))) {
    throw refuse('mock.date is a table there; expected a string "YYYY-MM-DD"');
  }
  if (scan.headers.some((h) => h.array && same(h.path, MOCK))) throw refuse('mock is an array of tables ([[mock]]); expected one [mock] table');
  let after: string;
  const hit = scan.kvs.find((kv) => same(kv.path, DATE));
  const mockKv = scan.kvs.find((kv) => same(kv.path, MOCK));
  const header = scan.headers.find((h) => !h.array && same(h.path, MOCK));
  const dotted = scan.kvs.filter((kv) => kv.statement && kv.table.length === 0 && under(kv.path, MOCK));
  if (hit) after = text.slice(0, hit.valStart) + value + text.slice(hit.valEnd);
  else if (mockKv) {
    if (mockKv.kind !== 'inline') throw refuse(`mock is set to ${text.slice(mockKv.valStart, mockKv.valEnd)}, not a table; expected [mock] with date = "YYYY-MM-DD"`);
    after = mockKv.lastEnd! < 0
      ? `${text.slice(0, mockKv.open!)}{ date = ${value} }${text.slice(mockKv.valEnd)}`
      : `${text.slice(0, mockKv.lastEnd!)}, date = ${value}${text.slice(mockKv.lastEnd!)}`;
  } else if (header) after = insertAt(text, header.lineEnd, `date = ${value}`, eol);
  else if (dotted.length > 0) after = insertAt(text, dotted[dotted.length - 1]!.lineEnd, `mock.date = ${value}`, eol);
  else {
    const bom = bomOf(text);
    const body = text.length > bom.length && !/[\r\n]$/.test(text) ? text + eol : text;
    const lines = body.slice(bom.length).split(/\r\n|\n/); // ends with '' after the final line break
    const gap = lines.length >= 2 && lines[lines.length - 2]!.trim() !== '' ? eol : '';
    after = `${body}${gap}[mock]${eol}date = ${value}${eol}`;
  }

  // Prove it: the new text parses, holds the date, and differs from the old in nothing else.
  let parsed: Record<string, unknown>;
  try {
    parsed = Bun.TOML.parse(after.startsWith(BOM_UTF8) ? after.slice(1) : after) as Record<string, unknown>;
  } catch (e) {
    throw refuse(`the edited file would not parse (${e instanceof Error ? e.message : String(e)})`);
  }
  const mockBefore = before.mock;
  const expected = { ...before, mock: { ...(mockBefore !== null && typeof mockBefore === 'object' ? mockBefore : {}), date } };
  if (canonical(parsed) !== canonical(expected)) throw refuse('the edited file would change more than mock.date');
  return after;
}

// ---------------------------------------------------------------------------------------------------------
// Reading and writing the files

export interface Target {
  /** The path as the user gave it (resolved). */
  path: string;
  /** Where the bytes live (symlinks followed), written through a temp file in its directory. */
  file: string;
  /** 'config file', 'Maxwell config', … for messages. */
  what: string;
  /** undefined: the file does not exist yet (and may be created). */
  bytes: Buffer | undefined;
  mode: number | undefined;
}

function fsCause(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of the path is not a directory' : e instanceof Error ? e.message : String(e);
}

function fileError(what: string, path: string, problem: string, hint = 'Check the path you passed; nothing was changed.'): RtwhError {
  return rtwhError('CONFIG_FILE', `${what} ${q(path)} ${problem}`, { hint, details: { path } });
}

/**
 * Reads a file to edit, checking first that it is a regular, readable file in a directory rtwh can write
 * (for the temp file). `mayBeMissing`: a missing file is fine (it will be created) if its directory exists.
 * `readOnly`: only to be read (showing), so writability is not checked.
 */
export function readTarget(path: string, what: string, opts: { mayBeMissing?: boolean; missingHint?: string; readOnly?: boolean } = {}): Target {
  let isFile: boolean;
  let isDir: boolean;
  let mode: number;
  try {
    const st = statSync(path);
    [isFile, isDir, mode] = [st.isFile(), st.isDirectory(), st.mode & 0o7777];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw fileError(what, path, `cannot be read: ${fsCause(e)}; expected a readable file`);
    if (!opts.mayBeMissing) throw fileError(what, path, 'does not exist: expected an existing file', opts.missingHint);
    const dir = dirname(path);
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (e2) {
      throw fileError(what, path, `cannot be created: its directory ${q(dir)} is not writable (${fsCause(e2)})`);
    }
    return { path, file: path, what, bytes: undefined, mode: undefined };
  }
  if (isDir) throw fileError(what, path, 'is a directory: expected a file');
  if (!isFile) throw fileError(what, path, 'is not a regular file: expected a file');
  const file = realpathSync(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fileError(what, path, `cannot be read: ${fsCause(e)}; expected a readable file`);
  }
  if (opts.readOnly) return { path, file, what, bytes, mode };
  try {
    accessSync(file, constants.W_OK);
  } catch (e) {
    throw fileError(what, path, `is not writable (${fsCause(e)}): expected a file rtwh may change`, 'Make it writable (chmod u+w) or run as its owner; nothing was changed.');
  }
  try {
    accessSync(dirname(file), constants.W_OK | constants.X_OK);
  } catch (e) {
    throw fileError(what, path, `cannot be replaced: its directory ${q(dirname(file))} is not writable (${fsCause(e)})`, 'rtwh writes a temp file next to it and renames it over the old one; make the directory writable. Nothing was changed.');
  }
  return { path, file, what, bytes, mode };
}

export interface StagedWrite {
  target: Target;
  tmp: string;
}

/** Writes the new content to a temp file next to the target (same mode, flushed to disk); nothing is replaced yet. */
export function stageWrite(target: Target, bytes: Uint8Array): StagedWrite {
  const tmp = join(dirname(target.file), `.${basename(target.file)}.rtwh-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', target.mode ?? 0o666);
  } catch (e) {
    throw fileError(target.what, target.path, `cannot be written: ${fsCause(e)}`);
  }
  try {
    writeFileSync(fd, bytes);
    if (target.mode !== undefined) {
      try {
        // open() applied the umask; give back the old file's exact mode (best effort for setuid bits and the like)
        fchmodSync(fd, target.mode);
      } catch {
        /* keep the umasked mode */
      }
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    discardWrites([{ target, tmp }]);
    throw fileError(target.what, target.path, `cannot be written: ${fsCause(e)}`);
  }
  closeSync(fd);
  return { target, tmp };
}

/** Removes staged temp files (after a failure elsewhere). */
export function discardWrites(staged: readonly StagedWrite[]): void {
  for (const s of staged) {
    try {
      unlinkSync(s.tmp);
    } catch {
      /* already gone */
    }
  }
}

/** Renames every staged file over its target, then syncs their directories so that the renames are on disk. */
export function commitWrites(staged: readonly StagedWrite[]): void {
  for (let k = 0; k < staged.length; k++) {
    const s = staged[k]!;
    try {
      renameSync(s.tmp, s.target.file);
    } catch (e) {
      discardWrites(staged.slice(k));
      const done = staged.slice(0, k).map((d) => d.target.path);
      throw fileError(s.target.what, s.target.path, `could not be replaced: ${fsCause(e)}${done.length ? ` (already changed: ${done.join(', ')})` : ' (nothing was changed)'}`, 'Check the file and its directory, then run the command again.');
    }
  }
  const synced = new Set<string>();
  for (const s of staged) {
    const dir = dirname(s.target.file);
    if (synced.has(dir)) continue;
    synced.add(dir);
    try {
      syncDir(dir);
    } catch (e) {
      throw fileError(s.target.what, s.target.path, `was replaced, but its directory could not be synced to disk: ${fsCause(e)}`, 'The new content is in place; a crash of the machine could still undo the change. Check the disk.');
    }
  }
}

/** Which editor fits a generator config file, by its name. */
export function generatorConfigEditor(path: string): { key: string; set: (text: string, date: string) => string; get: (text: string) => string | undefined } {
  if (/\.ya?ml$/i.test(path)) return { key: 'mock.date', set: (t, d) => setYamlMockDate(t, d, path), get: (t) => getYamlMockDate(t, path) };
  if (/\.properties$/i.test(path)) return { key: 'mock.date', set: (t, d) => setPropertiesValue(t, 'mock.date', d, path), get: (t) => getPropertiesValue(t, 'mock.date', path) };
  throw rtwhError('USAGE', `unsupported generator config ${q(path)}: expected an application.properties or application.yml file`, { hint: 'Pass a file ending in .properties, .yml or .yaml; nothing was changed.' });
}
