/**
 * The mock business date, kept where each tool reads it, changing ONLY that one value and leaving every
 * other byte of the file as it was (comments, order, line endings):
 *   - rtwh.toml            `[mock] date = "2025-01-14"`
 *   - Maxwell              config.properties `mock_date=2025-01-14`
 *   - the Java generator   application.properties `mock.date=2025-01-14` or application.yml `mock: date:` / `mock.date:`
 * Replaces the old change_db_date.sh (sed + restart).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { q, rtwhError } from '../errors';
import { checkDate } from '../config/schema';

/** Throws CONFIG_VALUE naming the value and the expected form (with a did-you-mean for 2025-1-15). */
export function validateMockDate(value: string, what = 'mock date'): string {
  const problem = checkDate(value);
  if (problem) throw rtwhError('CONFIG_VALUE', `invalid ${what} ${q(value)}: ${problem}`, { hint: 'Dates are YYYY-MM-DD with leading zeros; Maxwell cannot parse the short form.' });
  return value;
}

interface Lines {
  lines: string[];
  eol: string;
  /** Whether the text ended with a line break. */
  trailing: boolean;
}

function splitLines(text: string): Lines {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const trailing = text.endsWith('\n');
  const body = trailing ? text.slice(0, text.length - (text.endsWith('\r\n') ? 2 : 1)) : text;
  return { lines: body === '' ? [] : body.split(/\r?\n/), eol, trailing };
}

function joinLines(l: Lines): string {
  return l.lines.join(l.eol) + (l.trailing || l.lines.length > 0 ? l.eol : '');
}

/** `rtwh.toml`: sets `date` in `[mock]` (or a top-level `mock.date`), adding the table when missing. */
export function setTomlMockDate(text: string, date: string): string {
  const l = splitLines(text);
  let table = '';
  let mockTableAt = -1;
  for (let i = 0; i < l.lines.length; i++) {
    const line = l.lines[i]!;
    const header = /^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$/.exec(line);
    if (header) {
      table = header[1]!;
      if (table === 'mock') mockTableAt = i;
      continue;
    }
    const key = table === 'mock' ? /^(\s*date\s*=\s*)("[^"]*"|'[^']*'|[^\s#]+)(.*)$/ : table === '' ? /^(\s*mock\.date\s*=\s*)("[^"]*"|'[^']*'|[^\s#]+)(.*)$/ : null;
    const m = key?.exec(line);
    if (m) {
      l.lines[i] = `${m[1]}"${date}"${m[3]}`;
      return joinLines(l);
    }
  }
  if (mockTableAt >= 0) l.lines.splice(mockTableAt + 1, 0, `date = "${date}"`);
  else {
    if (l.lines.length > 0 && l.lines[l.lines.length - 1]!.trim() !== '') l.lines.push('');
    l.lines.push('[mock]', `date = "${date}"`);
  }
  return joinLines(l);
}

/** Java properties (`key=value`, `key = value`, `key: value`): sets `key`, appending it when missing. */
export function setPropertiesValue(text: string, key: string, value: string): string {
  const l = splitLines(text);
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^(\\s*${escaped}\\s*[=:]\\s*|\\s*${escaped}\\s+)(\\S.*?|)(\\s*)$`);
  let found = false;
  for (let i = 0; i < l.lines.length; i++) {
    const line = l.lines[i]!;
    if (/^\s*[#!]/.test(line)) continue;
    const m = re.exec(line);
    if (m) {
      l.lines[i] = `${m[1]}${value}${m[3]}`;
      found = true;
    }
  }
  if (!found) l.lines.push(`${key}=${value}`);
  return joinLines(l);
}

/** application.yml: `mock.date: x` or `mock:` ↳ `date: x` (quotes kept as they were); adds a `mock.date` line when missing. */
export function setYamlMockDate(text: string, date: string): string {
  const l = splitLines(text);
  let inMock = false;
  let mockIndent = -1;
  let mockAt = -1;
  for (let i = 0; i < l.lines.length; i++) {
    const line = l.lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    const flat = /^(\s*mock\.date\s*:\s*)(["']?)[^"'#\s]*\2(.*)$/.exec(line);
    if (flat && indent === 0) {
      l.lines[i] = `${flat[1]}${flat[2]}${date}${flat[2]}${flat[3]}`;
      return joinLines(l);
    }
    if (inMock && indent <= mockIndent) inMock = false;
    if (/^mock\s*:\s*(#.*)?$/.test(line.trimStart()) && indent === 0) {
      inMock = true;
      mockIndent = indent;
      mockAt = i;
      continue;
    }
    if (inMock) {
      const m = /^(\s*date\s*:\s*)(["']?)[^"'#\s]*\2(.*)$/.exec(line);
      if (m) {
        l.lines[i] = `${m[1]}${m[2]}${date}${m[2]}${m[3]}`;
        return joinLines(l);
      }
    }
  }
  if (mockAt >= 0) {
    const child = l.lines.slice(mockAt + 1).find((x) => x.trim() !== '' && !x.trimStart().startsWith('#'));
    const indent = child ? child.length - child.trimStart().length : 2;
    l.lines.splice(mockAt + 1, 0, `${' '.repeat(indent || 2)}date: ${date}`);
  } else l.lines.push(`mock.date: ${date}`);
  return joinLines(l);
}

/** Rewrites a file in place, atomically (temp file + rename), so a crash never leaves half a config. */
export function rewriteFile(path: string, edit: (text: string) => string, what: string): { changed: boolean } {
  if (!existsSync(path)) throw rtwhError('CONFIG_FILE', `${what} ${q(path)} does not exist`, { hint: 'Check the path you passed.' });
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) return { changed: false };
  const tmp = `${path}.rtwh-tmp-${process.pid}`;
  writeFileSync(tmp, after);
  renameSync(tmp, path);
  return { changed: true };
}

/** Which editor fits a generator config file, by its name. */
export function generatorConfigEditor(path: string): (text: string, date: string) => string {
  if (/\.ya?ml$/i.test(path)) return setYamlMockDate;
  if (/\.properties$/i.test(path)) return (t, d) => setPropertiesValue(t, 'mock.date', d);
  throw rtwhError('USAGE', `unsupported generator config ${q(path)}: expected an application.properties or application.yml file`);
}
