/**
 * File groups, as Flume TAILDIR's `filegroups`: ONE literal directory plus a pattern over the file NAME.
 *
 * `--path` accepts two spellings:
 *   applog/app.*                 a shell glob on the name: `*` any run of characters, `?` one character,
 *                                `[abc]` / `[!abc]` a class, `{a,b}` alternatives; everything else is literal.
 *                                Like a shell, a pattern that does not start with `.` never matches hidden files.
 *   regex:/var/log/.*log.*       Flume's own form: the name part is a Java-style regex that must match the WHOLE name.
 * The directory part is always literal (Flume's rule): `logs/*\/app.log` is refused rather than half-supported.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { q, rtwhError } from '../../errors';
import { tempTargetOf } from '../../store/atomic-file';

export interface FileGroup {
  /** As the user wrote it, for messages. */
  spec: string;
  /** Absolute directory. */
  dir: string;
  /** Matches a file name (not a path). */
  pattern: RegExp;
}

export interface MatchedFile {
  path: string;
  /** Decimal inode number (a string: inodes can exceed 2^53). */
  inode: string;
  size: number;
  mtimeMs: number;
}

const REGEX_PREFIX = 'regex:';
const GLOB_CHARS = /[*?[\]{}]/;

export function parseFileGroup(spec: string, cwd: string): FileGroup {
  const isRegex = spec.startsWith(REGEX_PREFIX);
  const body = isRegex ? spec.slice(REGEX_PREFIX.length) : spec;
  const slash = body.lastIndexOf('/');
  const dirPart = slash < 0 ? '.' : body.slice(0, slash) || '/';
  const namePart = slash < 0 ? body : body.slice(slash + 1);
  if (namePart === '') {
    throw rtwhError('USAGE', `invalid --path ${q(spec)}: expected a directory and a file name pattern, e.g. applog/app.*`);
  }
  if (!isRegex && GLOB_CHARS.test(dirPart)) {
    throw rtwhError('USAGE', `invalid --path ${q(spec)}: the directory part ${q(dirPart)} must be literal; only the file name may hold a pattern`, {
      hint: 'Like Flume TAILDIR, a file group is one directory plus a file-name pattern; pass --path once per directory.',
    });
  }
  let pattern: RegExp;
  if (isRegex) {
    try {
      pattern = new RegExp(`^(?:${namePart})$`);
    } catch (e) {
      throw rtwhError('USAGE', `invalid --path ${q(spec)}: ${q(namePart)} is not a valid regular expression (${(e as Error).message})`, {
        hint: 'The part after the last / is a regex over the file name, e.g. regex:applog/app\\..*\\.log',
      });
    }
  } else {
    pattern = globToRegExp(namePart, spec);
  }
  return { spec, dir: resolve(cwd, dirPart), pattern };
}

/** Shell glob over one file name → anchored RegExp. */
export function globToRegExp(glob: string, spec: string = glob): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw rtwhError('USAGE', `invalid --path ${q(spec)}: unclosed [ in the file name pattern ${q(glob)}`);
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  if (braces > 0) throw rtwhError('USAGE', `invalid --path ${q(spec)}: unclosed { in the file name pattern ${q(glob)}`);
  const hidden = glob.startsWith('.') ? '' : '(?!\\.)';
  try {
    return new RegExp(`^${hidden}${re}$`);
  } catch (e) {
    throw rtwhError('USAGE', `invalid --path ${q(spec)}: cannot use ${q(glob)} as a file name pattern (${(e as Error).message})`);
  }
}

/** Fails with a clear message when a group's directory cannot be listed (checked once at start). */
export function checkGroupDir(g: FileGroup): void {
  try {
    if (!statSync(g.dir).isDirectory()) throw new Error('not a directory');
    readdirSync(g.dir);
  } catch (e) {
    throw rtwhError('USAGE', `cannot read the directory ${q(g.dir)} of --path ${q(g.spec)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'Expected an existing, readable directory; create it or fix --path.',
    });
  }
}

/**
 * The regular files of every group, one entry per inode (a file matched by two groups is tailed once), oldest
 * modification time first: that is the order Flume reads them in, so a rotated file is finished before its successor.
 * `ignore` holds absolute paths that are never shipped (our own position files, should they live in a log dir), nor
 * are the temporary files of their atomic writes (a kill -9 can leave one behind).
 */
export function listGroups(groups: readonly FileGroup[], ignore: ReadonlySet<string> = new Set()): MatchedFile[] {
  const byInode = new Map<string, MatchedFile>();
  for (const g of groups) {
    let names: string[];
    try {
      names = readdirSync(g.dir);
    } catch {
      // A directory that vanished after start (moved away by an admin) just has no files for now.
      continue;
    }
    for (const name of names) {
      if (!g.pattern.test(name)) continue;
      const path = join(g.dir, name);
      if (ignore.has(path) || ignore.has(tempTargetOf(path) ?? '')) continue;
      const st = statQuiet(path);
      if (!st || !st.isFile()) continue;
      const inode = String(st.ino);
      if (!byInode.has(inode)) byInode.set(inode, { path, inode, size: Number(st.size), mtimeMs: nsToMs(st.mtimeNs) });
    }
  }
  return [...byInode.values()].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Finds a file by inode anywhere in `dir` (a file renamed out of its group while the shipper was down). */
export function findInodeInDir(dir: string, inode: string): MatchedFile | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    const path = join(dir, name);
    const st = statQuiet(path);
    if (st && st.isFile() && String(st.ino) === inode) return { path, inode, size: Number(st.size), mtimeMs: nsToMs(st.mtimeNs) };
  }
  return null;
}

function statQuiet(path: string) {
  try {
    return statSync(path, { bigint: true });
  } catch {
    // Rotated or deleted between readdir and stat: it shows up (or not) on the next listing.
    return null;
  }
}

/**
 * Sub-millisecond mtime: a rotating writer renames the old file and writes the new one within the same
 * millisecond, and the oldest-first order must still put the old one first.
 */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}
