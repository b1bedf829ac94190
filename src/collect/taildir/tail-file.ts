/**
 * One tailed file, identified by its inode: reads it in bounded chunks and cuts lines.
 *
 * - A line ends at `\n`; a `\r` right before it is dropped (CRLF files ship the same bytes as LF files).
 * - A last line without its `\n` is held, not shipped, until the newline arrives (Flume's rule); the position
 *   stays at its first byte, so a restart reads it again from there.
 * - Memory: one chunk (default 1 MiB) plus at most `maxLineBytes` of a line still being cut. A longer line is
 *   skipped to its end and handed out as `oversize` with only its first bytes kept (it goes to the dead letters).
 * - Truncation (the file is now shorter than what we read) restarts the file at 0, as Flume does, and bumps `gen`
 *   so acknowledgements of lines read before it cannot move the new position.
 * - The fd stays open while the file is tracked: a renamed or deleted file is still read to its end, and its inode
 *   cannot be reused meanwhile.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { headOf } from './ship-state';

export interface Line {
  file: TailFile;
  /** The file's generation when the line was read (see truncation). */
  gen: number;
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just after its `\n`: the file's position once this line is shipped. */
  end: number;
  /** The line without `\n` and trailing `\r`; for an oversize line only its first OVERSIZE_KEEP bytes. */
  bytes: Buffer;
  /** Set for a line longer than maxLineBytes: its real length. */
  oversize?: number;
}

/** Bytes of an oversize line kept for its dead letter. */
export const OVERSIZE_KEEP = 64 * 1024;

const EMPTY = Buffer.alloc(0);
const NL = 0x0a;
const CR = 0x0d;

export interface ReadLimits {
  chunkBytes: number;
  maxLineBytes: number;
}

export class TailFile {
  /** Generation: bumped on truncation and rewind, so lines read before no longer move the position. */
  gen = 0;
  /** Acknowledged position: every line before it is on the bus. This is what the position file says. */
  shipped: number;
  /** Still matched by a file group (false once renamed out of it or deleted: it is then drained and dropped). */
  inGroup = true;
  mtimeMs: number;
  /** Last size seen by fstat or the directory listing. */
  size: number;
  /**
   * Recovery found lines of this file already on the bus up to these end positions (good lines in the topic,
   * rejected ones in the dead-letter topic): they are passed over once, not sent again. -1 = nothing known.
   */
  coveredGood = -1;
  coveredDlq = -1;
  /** When reading last returned data (ms); idle files close their fd. */
  lastDataAt = Date.now();

  private fd: number | null;
  private chunk: Buffer = EMPTY;
  /** File offset of chunk[0]. */
  private chunkOff: number;
  private cursor = 0;
  /** Oversize line being skipped: where it began, its first bytes, and how long it is so far. */
  private skipping: { start: number; head: Buffer; total: number } | null = null;

  constructor(
    readonly inode: string,
    public path: string,
    fd: number | null,
    pos: number,
    mtimeMs: number,
    size: number,
  ) {
    this.fd = fd;
    this.shipped = pos;
    this.chunkOff = pos;
    this.mtimeMs = mtimeMs;
    this.size = size;
  }

  /** Next offset to read from the file. */
  get readPos(): number {
    return this.chunkOff + this.chunk.length;
  }

  /** Position of the first byte not yet handed out as a line (start of a held partial line). */
  get linePos(): number {
    return this.skipping ? this.skipping.start : this.chunkOff + this.cursor;
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Bytes held for a partial last line. */
  get held(): number {
    return this.readPos - this.linePos;
  }

  /** Re-attaches an fd after an idle close (the caller checked it is the same inode). */
  reopen(fd: number): void {
    this.fd = fd;
  }

  /** Hash of the first `len` bytes through the open fd (the path may name another file by now); null when closed. */
  headHash(len: number): string | null {
    return this.fd === null ? null : headOf(this.fd, len);
  }

  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }

  /**
   * fstat: notices growth and truncation. Returns true when the file was truncated (and restarted at 0).
   * Without an fd (idle-closed) nothing changes.
   */
  refresh(): boolean {
    if (this.fd === null) return false;
    const st = fstatSync(this.fd);
    this.size = st.size;
    this.mtimeMs = st.mtimeMs;
    if (st.size < this.readPos || st.size < this.shipped) {
      this.restartAtZero();
      return true;
    }
    return false;
  }

  /** Forgets what was read past the acknowledged position (after a failed send): reading resumes at `shipped`. */
  rewind(): void {
    this.gen++;
    this.chunk = EMPTY;
    this.chunkOff = this.shipped;
    this.cursor = 0;
    this.skipping = null;
  }

  restartAtZero(): void {
    this.gen++;
    this.chunk = EMPTY;
    this.chunkOff = 0;
    this.cursor = 0;
    this.skipping = null;
    this.shipped = 0;
    this.coveredGood = -1;
    this.coveredDlq = -1;
  }

  /** True when a complete line may be available without blocking on new data. */
  hasData(): boolean {
    return this.size > this.readPos || this.chunk.indexOf(NL, this.cursor) >= 0;
  }

  /** The next complete line, or null when only a partial line (or nothing) is left for now. */
  nextLine(limits: ReadLimits): Line | null {
    for (;;) {
      const idx = this.chunk.indexOf(NL, this.cursor);
      if (idx >= 0) return this.cut(idx, limits);
      if (!this.fill(limits)) return null;
    }
  }

  private cut(idx: number, limits: ReadLimits): Line {
    const from = this.cursor;
    this.cursor = idx + 1;
    const end = this.chunkOff + idx + 1;
    if (this.skipping) {
      const s = this.skipping;
      this.skipping = null;
      return { file: this, gen: this.gen, start: s.start, end, bytes: s.head, oversize: s.total + (idx - from) };
    }
    // Over the limit within one chunk too: the limit is the line's, not where it falls in the chunks (a line that
    // fit in the chunk it started in was shipped, the same line further on went to the dead letters).
    if (idx - from > limits.maxLineBytes) {
      return { file: this, gen: this.gen, start: this.chunkOff + from, end, bytes: Buffer.from(this.chunk.subarray(from, Math.min(idx, from + OVERSIZE_KEEP))), oversize: idx - from };
    }
    let stop = idx;
    if (stop > from && this.chunk[stop - 1] === CR) stop--;
    return { file: this, gen: this.gen, start: this.chunkOff + from, end, bytes: this.chunk.subarray(from, stop) };
  }

  /** Reads the next chunk after the unfinished rest of the current one. False when there is nothing new. */
  private fill(limits: ReadLimits): boolean {
    if (this.fd === null) return false;
    let rest = this.chunk.subarray(this.cursor);
    if (this.skipping) {
      this.skipping.total += rest.length;
      this.compact(this.readPos);
      rest = EMPTY;
    } else if (rest.length > limits.maxLineBytes) {
      this.skipping = { start: this.chunkOff + this.cursor, head: Buffer.from(rest.subarray(0, OVERSIZE_KEEP)), total: rest.length };
      this.compact(this.readPos);
      rest = EMPTY;
    }
    const readPos = this.readPos;
    if (this.size <= readPos) {
      const st = fstatSync(this.fd);
      this.size = st.size;
      this.mtimeMs = st.mtimeMs;
      if (st.size <= readPos) {
        if (rest.length === 0 && this.chunk.length > 0) this.compact(readPos);
        return false;
      }
    }
    const want = Math.min(limits.chunkBytes, this.size - readPos);
    // A fresh buffer each time: lines handed out earlier are views into the old one and must stay valid until sent.
    const buf = Buffer.allocUnsafe(rest.length + want);
    rest.copy(buf, 0);
    let n = 0;
    while (n < want) {
      const got = readSync(this.fd, buf, rest.length + n, want - n, readPos + n);
      if (got === 0) break;
      n += got;
    }
    this.chunk = buf.subarray(0, rest.length + n);
    this.chunkOff = readPos - rest.length;
    this.cursor = 0;
    if (n > 0) this.lastDataAt = Date.now();
    return n > 0;
  }

  /** Everything before readPos was handed out (or skipped): drop the buffer, keep the offsets. */
  private compact(readPos: number): void {
    this.chunk = EMPTY;
    this.chunkOff = readPos;
    this.cursor = 0;
  }
}

export function openForRead(path: string): { fd: number; inode: string; size: number; mtimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  const st = fstatSync(fd, { bigint: true });
  return { fd, inode: String(st.ino), size: Number(st.size), mtimeMs: Number(st.mtimeNs) / 1e6 };
}
