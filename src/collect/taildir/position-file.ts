/**
 * The position file, byte-compatible with Flume TAILDIR's: `[{"inode":2496272,"pos":12,"file":"/var/log/a.log"}]`,
 * one object per tailed file, the whole file rewritten each time. Flume can read ours and we read Flume's.
 *
 * Unlike Flume (which truncates and rewrites in place, so a crash can leave half a file), every write here is
 * atomic: a temp file beside it, fsync, rename over, fsync of the directory. A reader sees the old or the new
 * content, never a mix. A file that is not valid JSON of that shape is an error, never "no positions": starting
 * from 0 would silently re-ship every file.
 *
 * Inodes stay decimal strings in memory: JSON.parse would round an inode above 2^53.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { q, rtwhError } from '../../errors';
import { writeFileAtomic as replaceFile } from '../../store/atomic-file';
import { kind } from '../../formats/validate-check';

export interface PositionEntry {
  /** Decimal inode number. */
  inode: string;
  /** Byte offset of the first line not yet shipped. */
  pos: number;
  /** Absolute path the file had when the position was written. */
  file: string;
}

/** Flume's serialisation (Gson over a list of maps): no spaces, keys in the order inode, pos, file. */
export function formatPositions(entries: readonly PositionEntry[]): string {
  return `[${entries.map((e) => `{"inode":${e.inode},"pos":${e.pos},"file":${JSON.stringify(e.file)}}`).join(',')}]`;
}

export function parsePositions(text: string, path: string): PositionEntry[] {
  const bad = (why: string) =>
    rtwhError('POSITION_FILE', `position file ${q(path)} is not a Flume TAILDIR position file: ${why}`, {
      details: { path },
    });
  // Keep big inode numbers exact: quote them before JSON.parse sees them.
  // (only a plain integer: 1e3 or 5.0 stays a number, refused below with its value, not as broken JSON)
  const quoted = text.replace(/("inode"\s*:\s*)(\d+)(?![\d.eE])/g, '$1"$2"');
  let doc: unknown;
  try {
    doc = JSON.parse(quoted);
  } catch (e) {
    throw bad(`${text.trim() === '' ? 'it is empty' : `invalid JSON (${(e as Error).message})`}; expected [{"inode":N,"pos":N,"file":"/abs/path"}, …]`);
  }
  if (!Array.isArray(doc)) throw bad('expected a JSON array of {"inode","pos","file"} objects');
  const out: PositionEntry[] = [];
  doc.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(`entry ${i} is not an object`);
    const o = item as Record<string, unknown>;
    const inode = o.inode;
    const pos = o.pos;
    const file = o.file;
    if (typeof inode !== 'string' || !/^\d+$/.test(inode)) throw bad(`entry ${i}: "inode" must be a whole number, got ${kind(inode)}`);
    if (typeof pos !== 'number' || !Number.isSafeInteger(pos) || pos < 0) throw bad(`entry ${i}: "pos" must be a whole number ≥ 0, got ${kind(pos)}`);
    if (typeof file !== 'string' || !isAbsolute(file)) throw bad(`entry ${i}: "file" must be an absolute path, got ${kind(file)}`);
    out.push({ inode: String(BigInt(inode)), pos, file });
  });
  return out;
}

/** A position file path given by the user (`flag` `value`) that is a directory is refused before anything runs. */
export function checkPositionPath(path: string, flag: string, value: string): void {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    // not there yet (made at the first save), or not readable: the first read or write says why
  }
  if (dir) throw rtwhError('USAGE', `invalid ${flag} ${q(value)}: it is a directory; expected a file (like Flume's taildir_position.json)`);
}

/** The saved positions, or null when there is no file yet (first run). */
export function readPositions(path: string): PositionEntry[] | null {
  const text = readIfExists(path, 'position file');
  return text === null ? null : parsePositions(text, path);
}

export function writePositions(path: string, entries: readonly PositionEntry[]): void {
  writeFileAtomic(path, formatPositions(entries), 'position file');
}

export function readIfExists(path: string, what: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw rtwhError('POSITION_FILE', `cannot read the ${what} ${q(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'Expected a readable file; fix its permissions or pass another --position.',
      cause: e,
    });
  }
}

/** temp + fsync + rename + fsync(dir) (src/store/atomic-file.ts): after a crash the file holds the old or the new content, whole. */
export function writeFileAtomic(path: string, text: string, what: string): void {
  try {
    replaceFile(path, text, { mode: 0o644, mkdir: true });
  } catch (e) {
    throw rtwhError('POSITION_FILE', `cannot write the ${what} ${q(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'Expected a writable directory for --position (default <state_dir>/ship/); fix its permissions or pass another --position.',
      cause: e,
    });
  }
}
