/**
 * The set of tailed files, keyed by inode (Flume's identity for a file), and how saved positions are applied.
 *
 * At start, a saved entry {inode, pos, file} is applied to the file that has that inode now:
 * - same path (Flume's rule): resume at pos; if pos > size the file was truncated → restart at 0.
 * - other path, still in the group (renamed while we were stopped, e.g. app.log → app.log.1): Flume would
 *   read it again from 0 and duplicate it. We resume at pos when the file's first bytes still hash to what
 *   was shipped (ship state `heads`), so a REUSED inode (a new file) is never mistaken for the old one.
 *   Without that proof (a position file written by Flume) we follow Flume: restart at 0.
 * - not in the group any more: the entry's directory is searched for the inode (renamed out of the pattern
 *   while stopped, e.g. app.log → app.log.2025-01-14.bak); with a matching head it is read to its end, then dropped.
 * - same path but different head: the content was replaced (truncated and rewritten): restart at 0.
 * While running, a renamed file keeps its fd and position (tracked by inode); one renamed out of the group
 * or deleted is read to its end and dropped; a file idle for idleTimeoutMs closes its fd until it changes.
 */
import { closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { findInodeInDir, listGroups, type FileGroup } from './file-group';
import type { PositionEntry } from './position-file';
import { HEAD_BYTES, headOf, headOfPath, type FileHead } from './ship-state';
import { openForRead, TailFile } from './tail-file';

/** Most listings of the groups at start while files are being renamed (see start()). */
const START_LISTINGS = 10;

export interface TrackerOptions {
  groups: readonly FileGroup[];
  /** Absolute paths never shipped (our own files). */
  ignore: ReadonlySet<string>;
  idleTimeoutMs: number;
  /** A file out of its group is dropped once drained and unchanged for this long (late writes of a rotating writer). */
  dropGraceMs: number;
  log: (m: string) => void;
}

export class Tracker {
  readonly files = new Map<string, TailFile>();
  /** Files whose saved position was NOT applied (truncated, replaced): recovery marks must not skip their lines. */
  private readonly untrusted = new Set<string>();
  private readonly outSince = new Map<string, number>();
  private readonly headCache = new Map<string, { gen: number; head: FileHead }>();
  /**
   * Order of first sight, the tie-break of equal mtimes: the kernel stamps mtimes with a coarse clock (a few ms),
   * so a rotated file and its successor often share one, and the one seen first is the older.
   */
  private readonly seq = new Map<string, number>();
  private nextSeq = 0;

  constructor(private readonly opts: TrackerOptions) {}

  start(saved: readonly PositionEntry[], heads: Readonly<Record<string, FileHead>>): void {
    const byInode = new Map(saved.map((e) => [e.inode, e]));
    // The position file is written in read order: its order is the order of first sight.
    saved.forEach((e) => this.seq.set(e.inode, this.nextSeq++));
    const used = new Set<string>();
    // A file renamed while it is being listed (a rotation during start-up: app.log → app.log.1 between the readdir
    // and the stat or open) is in that listing under neither name. The first rescan would find it, but as a NEW file,
    // read from 0 after recovery handed out its marks: all of it already on the bus would be sent again. So the group
    // is listed until two listings in a row name the same files (each opening what the last one missed).
    let previous = '';
    for (let listing = 0; listing < START_LISTINGS; listing++) {
      const listed = listGroups(this.opts.groups, this.opts.ignore);
      for (const f of listed) {
        if (this.files.has(f.inode)) continue;
        const o = openForRead(f.path);
        if (!o) continue;
        if (o.inode !== f.inode) {
          // Replaced between listing and open: the next listing sees both.
          closeSync(o.fd);
          continue;
        }
        const e = byInode.get(f.inode);
        let pos = 0;
        if (e) {
          used.add(e.inode);
          const head = heads[e.inode];
          const headOk = head ? headOf(o.fd, head.len) === head.sha256 : undefined;
          if (headOk === false) {
            this.opts.log(`${f.path}: content differs from what was shipped from inode ${e.inode} (truncated and rewritten, or a reused inode); reading it from 0`);
            this.untrusted.add(f.inode);
          } else if (e.file !== f.path && headOk !== true && e.pos > 0) {
            this.opts.log(`${f.path}: saved position ${e.pos} belongs to ${e.file}; without a head hash to prove it is the same file, reading from 0 (Flume's rule)`);
            this.untrusted.add(f.inode);
          } else if (e.pos > o.size) {
            this.opts.log(`${f.path}: saved position ${e.pos} is past its end (${o.size} bytes): truncated, reading from 0`);
            this.untrusted.add(f.inode);
          } else {
            pos = e.pos;
            if (head) this.headCache.set(f.inode, { gen: 0, head });
            if (e.file !== f.path) this.opts.log(`${f.path}: renamed from ${e.file} while stopped; resuming at ${pos}`);
          }
        }
        this.track(new TailFile(f.inode, f.path, o.fd, pos, o.mtimeMs, o.size));
      }
      const names = listed.map((f) => `${f.inode} ${f.path}`).sort().join('\n');
      if (names === previous) break;
      previous = names;
    }
    for (const e of saved) {
      if (used.has(e.inode) || this.files.has(e.inode)) continue;
      const head = heads[e.inode];
      const m = head ? findInodeInDir(dirname(e.file), e.inode) : null;
      if (m && head && e.pos <= m.size && headOfPath(m.path, head.len) === head.sha256) {
        if (m.size === e.pos) continue; // fully shipped before it left the group
        const o = openForRead(m.path);
        if (!o || o.inode !== e.inode) {
          if (o) closeSync(o.fd);
          continue;
        }
        const tf = new TailFile(e.inode, m.path, o.fd, e.pos, o.mtimeMs, o.size);
        tf.inGroup = false;
        this.headCache.set(e.inode, { gen: 0, head });
        this.outSince.set(e.inode, Date.now());
        this.track(tf);
        this.opts.log(`${m.path}: renamed out of the file group from ${e.file} while stopped; shipping its last ${m.size - e.pos} bytes, then dropping it`);
      } else if (e.pos > 0) {
        this.opts.log(`${e.file}: no longer in the file group (inode ${e.inode}); its position is dropped`);
      }
    }
  }

  /** Whether recovery's "already on the bus" marks may be used for this file. */
  trusted(tf: TailFile): boolean {
    return !this.untrusted.has(tf.inode);
  }

  /**
   * Re-lists the groups: picks up new files and renames, notices truncation, drains and drops files that left
   * the group, closes idle fds. Returns the tailed files in read order (oldest modification first).
   */
  rescan(now: number = Date.now()): TailFile[] {
    const seen = new Set<string>();
    for (const f of listGroups(this.opts.groups, this.opts.ignore)) {
      seen.add(f.inode);
      const tf = this.files.get(f.inode);
      if (tf) {
        tf.path = f.path;
        tf.inGroup = true;
        this.outSince.delete(f.inode);
        if (!tf.isOpen && (f.size !== tf.size || f.mtimeMs !== tf.mtimeMs)) {
          const o = openForRead(f.path);
          if (o && o.inode === tf.inode) {
            tf.reopen(o.fd);
            // While the fd was closed the file could have been deleted and its inode reused by a new file.
            const c = this.headCache.get(tf.inode);
            if (c && c.gen === tf.gen && tf.headHash(c.head.len) !== c.head.sha256) {
              tf.restartAtZero();
              this.untrusted.add(tf.inode);
              this.opts.log(`${tf.path}: inode ${tf.inode} now holds different content (a new file reusing it); reading it from 0`);
            }
          } else if (o) closeSync(o.fd);
        }
        continue;
      }
      const o = openForRead(f.path);
      if (!o) continue;
      if (o.inode !== f.inode) {
        closeSync(o.fd);
        continue;
      }
      // A new file is read from its start (Flume's skipToEnd=false).
      this.track(new TailFile(f.inode, f.path, o.fd, 0, o.mtimeMs, o.size));
    }
    for (const tf of [...this.files.values()]) {
      const mtime = tf.mtimeMs;
      if (tf.refresh()) {
        this.untrusted.add(tf.inode);
        this.opts.log(`${tf.path}: truncated; reading it again from 0`);
      } else if (tf.mtimeMs !== mtime && this.rewritten(tf)) {
        // Truncated and written past the position between two polls: the size alone does not show it, and reading
        // on from the position lost the new lines before it (an audit lost 2 of 4).
        tf.restartAtZero();
        this.untrusted.add(tf.inode);
        this.opts.log(`${tf.path}: rewritten from its start (its first bytes are no longer the ones shipped); reading it again from 0`);
      }
      this.head(tf);
      if (!seen.has(tf.inode)) {
        if (tf.inGroup || !this.outSince.has(tf.inode)) this.outSince.set(tf.inode, now);
        tf.inGroup = false;
      }
      const idle = tf.shipped === tf.linePos && !tf.hasData();
      if (!tf.inGroup) {
        const since = this.outSince.get(tf.inode) ?? now;
        // An idle-closed file that left the group cannot be reopened by path: it is done.
        if (!tf.isOpen || (idle && now - since >= this.opts.dropGraceMs)) {
          if (tf.held > 0) this.opts.log(`${tf.path}: dropped with an unfinished last line of ${tf.held} bytes (no newline ever came)`);
          tf.close();
          this.files.delete(tf.inode);
          this.outSince.delete(tf.inode);
          this.untrusted.delete(tf.inode);
          this.headCache.delete(tf.inode);
          this.seq.delete(tf.inode);
        }
      } else if (tf.isOpen && idle && now - tf.lastDataAt >= this.opts.idleTimeoutMs) {
        tf.close();
      }
    }
    return this.readOrder();
  }

  /** At the end of a --once run: files that left the group and are fully shipped are done (no grace to wait out). */
  dropDrained(): void {
    for (const tf of [...this.files.values()]) {
      if (!tf.inGroup && tf.shipped === tf.linePos && !tf.hasData()) {
        tf.close();
        this.files.delete(tf.inode);
      }
    }
  }

  readOrder(): TailFile[] {
    const seq = (tf: TailFile) => this.seq.get(tf.inode) ?? 0;
    return [...this.files.values()].sort((a, b) => a.mtimeMs - b.mtimeMs || seq(a) - seq(b));
  }

  private track(tf: TailFile): void {
    if (!this.seq.has(tf.inode)) this.seq.set(tf.inode, this.nextSeq++);
    this.files.set(tf.inode, tf);
    // Old, fully shipped files (yesterday's rotated logs) need no fd: a directory with thousands of them
    // must not exhaust the process's file limit. They are reopened when the listing shows a change.
    if (tf.inGroup && tf.shipped === tf.size && Date.now() - tf.mtimeMs > this.opts.idleTimeoutMs) tf.close();
  }

  /** What the position file gets: every tracked file with its acknowledged position. */
  positions(): PositionEntry[] {
    return this.readOrder().map((tf) => ({ inode: tf.inode, pos: tf.shipped, file: tf.path }));
  }

  /**
   * Head hashes of the shipped part of each file: computed once it is complete (HEAD_BYTES), recomputed while
   * shorter, and after a truncation (new generation).
   */
  heads(): Record<string, FileHead> {
    const out: Record<string, FileHead> = {};
    for (const tf of this.files.values()) {
      const head = this.head(tf);
      if (head) out[tf.inode] = head;
    }
    return out;
  }

  /** The head hash of a file's shipped part (see heads), from the cache when its length has not changed. */
  private head(tf: TailFile): FileHead | undefined {
    const len = Math.min(HEAD_BYTES, tf.shipped);
    if (len === 0) return undefined;
    const c = this.headCache.get(tf.inode);
    if (c && c.gen === tf.gen && c.head.len === len) return c.head;
    const sha = tf.headHash(len);
    if (sha === null) return c?.head;
    const head = { len, sha256: sha };
    this.headCache.set(tf.inode, { gen: tf.gen, head });
    return head;
  }

  /** Whether an open file's first bytes differ from the shipped ones the cache holds (its content was replaced). */
  private rewritten(tf: TailFile): boolean {
    const c = this.headCache.get(tf.inode);
    if (!c || c.gen !== tf.gen) return false;
    const sha = tf.headHash(c.head.len);
    return sha !== null && sha !== c.head.sha256;
  }

  closeAll(): void {
    for (const tf of this.files.values()) tf.close();
  }
}
