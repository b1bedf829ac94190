/**
 * Replacing a file so that a reader (or the next start after a crash) sees the old or the new content, whole,
 * never a mix: a temp file beside the target, written and fsynced, renamed over the target, then an fsync of the
 * directory so that the rename itself is on disk.
 *
 * The temp name is unique per call (pid, a counter and a random part) and created exclusively (O_EXCL), so two
 * processes, or two writes of one process, never share a temp file, and a symlink planted at that name is not
 * followed. On any failure the temp file is removed and the target is left as it was; the error thrown is the
 * file system's own (an ErrnoException naming the call), so that each caller words it in its own terms.
 *
 * Also embedded in the compiled binary's DuckDB loader (src/store/duckdb-loader.ts): node:fs and node:path only.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file, less the umask, as for fs.writeFileSync. Default 0o666. */
  mode?: number;
  /** Create the target's missing parent directories first. Default false: a missing directory is an error. */
  mkdir?: boolean;
}

/** temp + fsync + rename + fsync(dir). Synchronous; see writeFileAtomicAsync for a caller that must not block. */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const bytes = toBytes(data);
  const dir = dirname(path);
  if (opts.mkdir) mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', opts.mode ?? 0o666);
    created = true;
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      // Before the rename: after a crash the name must not point at a file whose blocks never reached the disk.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
  } catch (e) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
    throw e;
  }
  syncDir(dir);
}

/**
 * The same, without blocking the thread during the writes and fsyncs (cdc saves its position after every
 * acknowledged batch while its thread decodes the binlog). Writes to one path must not overlap: the caller
 * chains them, or an older content could be renamed over a newer one.
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const bytes = toBytes(data);
  const dir = dirname(path);
  if (opts.mkdir) await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o666);
    created = true;
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dh = await open(dir, 'r').catch((e: unknown) => {
    if (platformRefuses(e)) return undefined;
    throw e;
  });
  if (dh === undefined) return;
  try {
    await dh.sync().catch((e: unknown) => {
      if (!platformRefuses(e)) throw e;
    });
  } finally {
    await dh.close();
  }
}

let counter = 0;

/** Next to the target (a rename never crosses file systems), never the same twice. */
function tempPathFor(path: string): string {
  counter += 1;
  return `${path}.${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}.tmp`;
}

const TEMP_SUFFIX = /\.\d+-\d+-[a-z0-9]*\.tmp$/;

/** The file a temporary file of this module's writes was for (one left behind by a kill -9), else undefined. */
export function tempTargetOf(path: string): string | undefined {
  return TEMP_SUFFIX.test(path) ? path.replace(TEMP_SUFFIX, '') : undefined;
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** The rename is durable only once the directory entry is on disk (also for callers that rename files themselves). */
export function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    if (platformRefuses(e)) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!platformRefuses(e)) throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * Platforms and file systems that cannot open or fsync a directory (Windows; some network and FUSE file systems)
 * say so with one of these; the file itself is already renamed and synced, so that is no failure of the write.
 */
function platformRefuses(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EACCES' || code === 'EINVAL' || code === 'ENOTSUP' || code === 'EBADF';
}
