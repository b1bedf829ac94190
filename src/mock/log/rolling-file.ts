/**
 * The size-rolling appender `mock log --out DIR` writes through, shaped for a TAILDIR reader.
 *
 * Convention (new file per roll, nothing is ever renamed):
 *   DIR/app.<date>.log      the first file of the day
 *   DIR/app.<date>.log.1    opened when the next line would push app.<date>.log past --max-file-size
 *   DIR/app.<date>.log.2    …and so on; a higher number is always newer.
 * A file is only appended to, never renamed, truncated or reopened after the roll, so its inode and path
 * stay paired for life and a reader keyed by inode never sees a file move. Lines are never split: a file
 * ends with a complete line, and holds at most --max-file-size bytes (a single line longer than that gets a
 * file of its own). This is logback's SizeAndTimeBasedRollingPolicy used without <file>, the variant the
 * gmall course picks because Flume's TAILDIR re-reads renamed files.
 *
 * A second run for the same date appends to the newest existing file, the way a restarted appender does.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, write as fsWrite, writeSync } from 'node:fs';
import { join } from 'node:path';
import { q, rtwhError } from '../../errors';

export function logFileName(date: string, index: number): string {
  return index === 0 ? `app.${date}.log` : `app.${date}.log.${index}`;
}

export class RollingFileWriter {
  private fd = -1;
  private index: number;
  private size = 0;
  /** Files written to by this writer, in order. */
  readonly files: string[] = [];

  constructor(
    readonly dir: string,
    readonly date: string,
    readonly maxFileSize: number,
  ) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw rtwhError('USAGE', `cannot create --out directory ${q(dir)}: ${(e as Error).message}`, { cause: e, hint: 'Pick a directory you can write to.' });
    }
    this.index = newestIndex(dir, date);
  }

  /** Appends whole lines (bytes ending in "\n"), rolling to the next file where the size limit says. */
  write(bytes: Uint8Array): void {
    let rest = bytes;
    while (rest.length > 0) {
      const cut = this.plan(rest);
      if (cut > 0) {
        this.put(rest.subarray(0, cut));
        rest = rest.subarray(cut);
      }
      if (rest.length > 0) this.roll();
    }
  }

  /**
   * write() with the file writes done off the JS thread (the runtime's thread pool), so the caller can
   * generate its next chunk meanwhile. Same pieces, same rolls, same bytes as write(). One call at a time:
   * the caller awaits each before the next, and must not touch `bytes` until it has resolved.
   */
  async writeAsync(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) {
      const cut = this.plan(rest);
      if (cut > 0) {
        await this.putAsync(rest.subarray(0, cut));
        rest = rest.subarray(cut);
      }
      if (rest.length > 0) this.roll();
    }
  }

  /**
   * How many leading bytes of `rest` go to the current file (opened here if need be): all of them when they
   * fit, else up to the last "\n" within the room — 0 means roll first.
   */
  private plan(rest: Uint8Array): number {
    if (this.fd < 0) this.open();
    const room = this.maxFileSize - this.size;
    if (rest.length <= room) return rest.length;
    let cut = room > 0 ? rest.lastIndexOf(10, room - 1) + 1 : 0;
    if (cut === 0 && this.size === 0) {
      // One line larger than a whole file gets a file of its own.
      const nl = rest.indexOf(10);
      cut = nl < 0 ? rest.length : nl + 1;
    }
    return cut;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private put(b: Uint8Array): void {
    let off = 0;
    try {
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    } catch (e) {
      throw this.cannotWrite(this.files[this.files.length - 1]!, e);
    }
    this.size += b.length;
  }

  private putAsync(b: Uint8Array): Promise<void> {
    const fd = this.fd;
    const path = this.files[this.files.length - 1]!;
    this.size += b.length;
    return new Promise<void>((resolve, reject) => {
      const from = (off: number): void =>
        fsWrite(fd, b, off, b.length - off, null, (e, n) => {
          if (e) reject(this.cannotWrite(path, e));
          else if (off + n < b.length) from(off + n);
          else resolve();
        });
      from(0);
    });
  }

  /** A file that cannot be opened or written (permissions, a full disk): the path and the system's reason. */
  private cannotWrite(path: string, e: unknown): Error {
    return rtwhError('USAGE', `cannot write ${q(path)}: ${(e as Error).message}`, { cause: e, hint: 'Pick a --out directory you can write to, with room for the day.' });
  }

  private open(): void {
    const path = join(this.dir, logFileName(this.date, this.index));
    try {
      this.fd = openSync(path, 'a');
    } catch (e) {
      throw this.cannotWrite(path, e);
    }
    this.size = fstatSync(this.fd).size;
    this.files.push(path);
  }

  private roll(): void {
    this.close();
    this.index++;
  }
}

/** The highest N of existing app.<date>.log[.N] files in `dir` (0 when there are none). */
function newestIndex(dir: string, date: string): number {
  if (!existsSync(join(dir, logFileName(date, 0)))) return 0;
  const prefix = `${logFileName(date, 0)}.`;
  let max = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const n = name.slice(prefix.length);
    if (/^[1-9]\d*$/.test(n)) max = Math.max(max, Number(n));
  }
  return max;
}
