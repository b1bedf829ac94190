/** A flag naming a directory the command creates or reuses (`demo --dir`): checked and created, or USAGE naming it. */
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { q, rtwhError } from '../errors';

/** The absolute directory `given` names, created when missing; a file, an empty value or an uncreatable path is USAGE. */
export function ensureDirFlag(flag: string, given: string, cwd: string): string {
  if (given.trim() === '') throw rtwhError('USAGE', `invalid ${flag} ${q(given)}: expected a directory path`);
  const dir = resolve(cwd, given);
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch {
    // missing: created below
  }
  if (isFile) throw rtwhError('USAGE', `invalid ${flag} ${q(given)}: it is a file; expected a directory`, { hint: `Give another ${flag}, or move the file away.` });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw rtwhError('USAGE', `invalid ${flag} ${q(given)}: cannot create it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { hint: `Give a ${flag} in a writable place.`, cause: e });
  }
  return dir;
}
