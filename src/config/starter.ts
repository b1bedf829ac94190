/** `rtwh config init`: a commented starter rtwh.toml generated from the key declarations. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { q, rtwhError } from '../errors';
import { writeFileAtomic } from '../store/atomic-file';
import { KEYS, type KeySpec } from './schema';

export function starterToml(): string {
  const lines: string[] = [
    '# rtwh.toml — configuration of rtwh.',
    '# Precedence: command-line flags > RTWH_* environment variables > this file > built-in defaults.',
    '# `rtwh config show` prints the merged result (passwords masked).',
    '',
  ];
  const top = KEYS.filter((k) => !k.key.includes('.'));
  for (const k of top) lines.push(...entry(k, k.key));
  const tables = [...new Set(KEYS.filter((k) => k.key.includes('.')).map((k) => k.key.split('.')[0]!))];
  for (const t of tables) {
    lines.push(`[${t}]`);
    for (const k of KEYS.filter((x) => x.key.startsWith(`${t}.`))) lines.push(...entry(k, k.key.slice(t.length + 1)));
  }
  return lines.join('\n');
}

function entry(k: KeySpec, name: string): string[] {
  const out = [`# ${k.doc}.`];
  const extra = [`env ${k.env}`];
  if (k.flag) extra.unshift(`flag --${k.flag}`);
  if (k.values) extra.push(`one of: ${k.values.join(', ')}`);
  out.push(`# (${extra.join('; ')})`);
  if (k.default !== undefined) out.push(`#${name} = ${tomlValue(k.default)}`);
  if (k.example !== undefined) out.push(`# example: ${name} = ${tomlValue(k.example)}`);
  out.push('');
  return out;
}

function tomlValue(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Writes the starter file to `path` (`shown`: as the user typed it) unless it exists and `force` is not given. A path
 * that is a directory, or whose directory is missing or not writable, is a CONFIG_FILE error naming it.
 */
export function writeStarter(path: string, shown: string, force: boolean): void {
  let isDir = false;
  let exists = false;
  try {
    isDir = statSync(path).isDirectory();
    exists = true;
  } catch {
    // does not exist: written below
  }
  if (isDir) throw rtwhError('CONFIG_FILE', `cannot write ${q(shown)}: it is a directory; expected a file path`, { hint: `Give a file name, e.g. rtwh config init ${join(shown, 'rtwh.toml')}.` });
  if (exists && !force) throw rtwhError('CONFIG_FILE', `${q(shown)} already exists; not overwriting it`, { hint: 'Pass --force to replace it.' });
  try {
    writeFileAtomic(path, starterToml());
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'its directory is not writable' : e instanceof Error ? e.message : String(e);
    throw rtwhError('CONFIG_FILE', `cannot write ${q(shown)}: ${why}`, { hint: 'Create the directory first, or give another path.', cause: e });
  }
}
