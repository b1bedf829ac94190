/**
 * `ship log`: Flume's TAILDIR source + ETL interceptor + Kafka channel, as one loop.
 *
 *   lines (oldest file first) → ETL (JSON object?) → good lines → <topic>    (value = the line's bytes, no key)
 *                                                   → rejected  → <topic>_dlq (dead letter: reason, file, position)
 *   acknowledged by the bus → positions advance → saved every second (atomically) and on exit
 *
 * Delivery is exactly-once across crashes: see recovery.ts. The next batch is read and checked while the
 * previous one is being sent; only one send is in flight, so acknowledgements arrive in read order.
 * When the bus fails while following, the shipper does what a restart would do, in-process: wait, read its own
 * writes back, rewind every file to its acknowledged position and go on. Nothing is lost or doubled.
 */
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { deadLetter, dlqTopic as defaultDlq } from '../../bus/dead-letter';
import type { Bus, ProduceMessage, ProduceResult, Producer, ProducerOptions } from '../../bus/types';
import { RtwhError } from '../../errors';
import { rejectReason } from './etl';
import { checkGroupDir, type FileGroup } from './file-group';
import { lockPositionFile, type Lock } from './lock';
import { readPositions, writePositions } from './position-file';
import { endOffsets, readOwnWrites, SOURCE_HEADER, sourceTag } from './recovery';
import { newShipState, readShipState, statePathFor, writeShipState, type FileHead, type ShipState } from './ship-state';
import { OVERSIZE_KEEP, type Line, type ReadLimits, type TailFile } from './tail-file';
import { Tracker } from './tracker';

export const SHIP_DEFAULTS = {
  batchSize: 100,
  pollIntervalMs: 500,
  savePositionsMs: 1000,
  idleTimeoutMs: 120_000,
  maxLineBytes: 1_000_000,
  chunkBytes: 1024 * 1024,
  /** Longest wait between attempts while the bus is down (following only). */
  maxRetryMs: 30_000,
  /** While busy, how often checkpoints jump to the current end offsets of every partition (not only ours). */
  refreshCheckpointsMs: 30_000,
} as const;

export const STAGE = 'ship log';

export interface ShipLogOptions {
  bus: Bus;
  groups: readonly FileGroup[];
  topic: string;
  /** Default `<topic>_dlq`. */
  dlqTopic?: string;
  /** Absolute or relative to the process cwd. */
  positionFile: string;
  /** Ship what is there (complete lines) and return. */
  once?: boolean;
  /** Records per send (Flume's batchSize). */
  batchSize?: number;
  pollIntervalMs?: number;
  /** How often positions are written while running (Flume's writePosInterval). */
  savePositionsMs?: number;
  idleTimeoutMs?: number;
  maxLineBytes?: number;
  chunkBytes?: number;
  /** Record key of every shipped line; null (default) like Flume's Kafka channel. */
  key?: string | null;
  /** Stamp records with the rtwh.src header that makes restarts exactly-once (default true). */
  sourceHeader?: boolean;
  producer?: ProducerOptions;
  /** See SHIP_DEFAULTS.refreshCheckpointsMs. */
  refreshCheckpointsMs?: number;
  /** First wait after a bus failure while following; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Stop: finishes the batch in flight, saves positions and returns. */
  signal?: AbortSignal;
  onProgress?: (p: ShipProgress) => void;
  log?: (m: string) => void;
}

export interface ShipProgress {
  /** Good lines acknowledged by the bus in this run. */
  lines: number;
  /** Bytes of the files covered by acknowledged lines (good, rejected or passed over). */
  bytes: number;
  /** Lines sent to the dead-letter topic. */
  rejected: number;
  /** Lines found already on the bus after a crash and therefore not sent again. */
  skipped: number;
  /** The file the last batch came from. */
  file: { path: string; pos: number; size: number } | null;
  files: number;
  /** Bytes of the tracked files not shipped yet, as of their last seen sizes (how far behind the writers it is). */
  behind: number;
}

export interface ShipResult extends ShipProgress {
  seconds: number;
  topic: string;
  dlqTopic: string;
  positionFile: string;
  positions: { file: string; inode: string; pos: number; held: number }[];
  /** What the start-up read back from the bus (null: nothing to read, e.g. after a clean stop). */
  recovery: { scanned: number; found: number } | null;
}

type ItemKind = 'good' | 'bad' | 'skip';

interface Batch {
  lines: Line[];
  kinds: ItemKind[];
  good: ProduceMessage[];
  bad: ProduceMessage[];
}

export async function shipLog(o: ShipLogOptions): Promise<ShipResult> {
  for (const g of o.groups) checkGroupDir(g);
  const shipper = new Shipper(o);
  return shipper.run();
}

class Shipper {
  private readonly t0 = performance.now();
  private readonly topic: string;
  private readonly dlq: string;
  private readonly positionFile: string;
  private readonly statePath: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly savePositionsMs: number;
  private readonly limits: ReadLimits;
  private readonly sourceHeader: boolean;
  private readonly log: (m: string) => void;
  private readonly tracker: Tracker;
  private readonly stats: ShipProgress = { lines: 0, bytes: 0, rejected: 0, skipped: 0, file: null, files: 0, behind: 0 };
  private state: ShipState = newShipState();
  /** The ship state as it is on disk now (what a crash would leave beside the positions); null: none yet. */
  private persisted: ShipState | null = null;
  /** Per topic and partition: the offset after our last acknowledged record (checkpoint candidates). */
  private readonly ackEnds: Record<string, Record<string, number>> = {};
  private producer: Producer | null = null;
  private lastSave = 0;
  private order: TailFile[] = [];
  private cur = 0;
  private lastScan = 0;
  /** Recovery marks lie ahead of some file's position (checkpoints must not move meanwhile). */
  private covering = false;
  private wake: (() => void) | null = null;
  private lastRefresh = 0;
  /** A send failed and no recovery ran since: records may have landed that the positions do not reflect. */
  private unsure = false;
  private recovery: { scanned: number; found: number } | null = null;

  constructor(private readonly o: ShipLogOptions) {
    this.topic = o.topic;
    this.dlq = o.dlqTopic ?? defaultDlq(o.topic);
    this.positionFile = resolve(o.positionFile);
    this.statePath = statePathFor(this.positionFile);
    this.batchSize = o.batchSize ?? SHIP_DEFAULTS.batchSize;
    this.pollIntervalMs = o.pollIntervalMs ?? SHIP_DEFAULTS.pollIntervalMs;
    this.savePositionsMs = o.savePositionsMs ?? SHIP_DEFAULTS.savePositionsMs;
    this.limits = { maxLineBytes: o.maxLineBytes ?? SHIP_DEFAULTS.maxLineBytes, chunkBytes: o.chunkBytes ?? SHIP_DEFAULTS.chunkBytes };
    this.sourceHeader = o.sourceHeader ?? true;
    this.log = o.log ?? (() => {});
    const pf = this.positionFile;
    this.tracker = new Tracker({
      groups: o.groups,
      ignore: new Set([pf, this.statePath, `${pf}.lock`]),
      idleTimeoutMs: o.idleTimeoutMs ?? SHIP_DEFAULTS.idleTimeoutMs,
      dropGraceMs: Math.max(2 * this.pollIntervalMs, 1000),
      log: this.log,
    });
  }

  async run(): Promise<ShipResult> {
    const lock: Lock = lockPositionFile(this.positionFile);
    const watchers: FSWatcher[] = [];
    let started = false;
    try {
      await this.start();
      started = true;
      if (!this.o.once) watchers.push(...this.watchDirs());
      let delay = this.o.retryMs ?? 1000;
      for (;;) {
        try {
          this.producer ??= await this.o.bus.producer(this.o.producer ?? {});
          await this.pump();
          break;
        } catch (e) {
          this.unsure = true;
          if (this.o.once || !retryable(e) || this.o.signal?.aborted) throw e;
          // Following: the bus is down or refused. Positions stay at the last acknowledgement; a send that
          // failed may still have landed, so come back the way a restart would: read our own writes back.
          this.log(`bus error: ${(e as Error).message}; retrying in ${(delay / 1000).toFixed(1)} s (positions stay at the last acknowledged line)`);
          await this.closeProducer();
          await this.sleep(delay, false);
          delay = Math.min(delay * 2, this.o.maxRetryMs ?? SHIP_DEFAULTS.maxRetryMs);
          if (this.o.signal?.aborted) break;
          try {
            await this.resync();
            this.unsure = false;
          } catch (e2) {
            if (!retryable(e2)) throw e2;
            continue;
          }
          delay = this.o.retryMs ?? 1000;
        }
      }
      if (this.o.once) this.tracker.dropDrained();
      if (!this.unsure) {
        try {
          await this.refreshCheckpoints();
        } catch {
          // The bus is gone at the very end: the acknowledged offsets are still valid checkpoints.
        }
      }
      // A clean stop: everything acknowledged is in the positions, nothing is in flight, no failed send is unexplained.
      this.state.clean = !this.covering && !this.unsure;
      this.save();
      this.stats.files = this.tracker.files.size;
      return {
        ...this.stats,
        seconds: (performance.now() - this.t0) / 1000,
        topic: this.topic,
        dlqTopic: this.dlq,
        positionFile: this.positionFile,
        positions: this.tracker.readOrder().map((tf) => ({ file: tf.path, inode: tf.inode, pos: tf.shipped, held: tf.held })),
        recovery: this.recovery,
      };
    } catch (e) {
      // Keep what was acknowledged: the next start resumes from here (and recovery covers the rest).
      if (started) {
        try {
          this.writeHeadsAhead(this.tracker.heads());
          writePositions(this.positionFile, this.tracker.positions());
        } catch {
          // the original error matters more
        }
      }
      throw e;
    } finally {
      for (const w of watchers) w.close();
      await this.closeProducer();
      this.tracker.closeAll();
      lock.release();
    }
  }

  /** Positions and state from disk, files matched to them, recovery, first save (before anything is produced). */
  private async start(): Promise<void> {
    const saved = readPositions(this.positionFile);
    // The state file only counts together with the positions it was written with.
    const savedState = saved === null ? null : readShipState(this.statePath);
    if (saved !== null && savedState === null) {
      this.log(`${this.positionFile}: no ship state beside it (${this.statePath}); resuming from the positions alone`);
    }
    this.state = savedState ?? newShipState();
    this.persisted = savedState === null ? null : structuredClone(savedState);
    this.tracker.start(saved ?? [], this.state.heads);
    if (savedState !== null && this.sourceHeader && savedState.clean !== true) await this.recover();
    this.state.clean = false;
    // Checkpoints move to the current end only for topics with nothing left to pass over: the records that
    // recovery found must stay inside the range a later recovery reads, until positions pass them.
    for (const t of [this.topic, this.dlq]) {
      if (!this.pending(t)) this.state.topics[t] = await endOffsets(this.o.bus, t);
      else this.state.topics[t] ??= {};
    }
    this.covering = this.pending(this.topic) || this.pending(this.dlq);
    this.save();
    this.lastRefresh = Date.now();
    this.order = this.tracker.rescan();
    this.cur = 0;
    this.lastScan = Date.now();
  }

  /** Reads our records after the checkpoints and marks, per file, what is already on the bus. */
  private async recover(): Promise<void> {
    const cps: Record<string, Record<string, number>> = {};
    for (const t of [this.topic, this.dlq]) {
      const cp = this.state.topics[t];
      if (cp) cps[t] = cp;
    }
    const rec = await readOwnWrites(this.o.bus, this.state.shipper, cps, { log: this.log });
    this.recovery = { scanned: rec.scanned, found: rec.found };
    let ahead = 0;
    for (const tf of this.tracker.files.values()) {
      if (!this.tracker.trusted(tf)) continue;
      tf.coveredGood = rec.covered.get(this.topic)?.get(tf.inode) ?? -1;
      tf.coveredDlq = rec.covered.get(this.dlq)?.get(tf.inode) ?? -1;
      if (tf.coveredGood > tf.shipped || tf.coveredDlq > tf.shipped) ahead++;
    }
    if (ahead > 0) {
      this.log(`recovery: read back ${rec.scanned} record(s); ${ahead} file(s) have lines on the bus past their saved position (acknowledged, not yet saved when it stopped); those lines are not sent again`);
    }
  }

  /** After a bus failure while following: forget what was read ahead and learn what actually landed. */
  private async resync(): Promise<void> {
    for (const tf of this.tracker.files.values()) tf.rewind();
    if (this.sourceHeader) await this.recover();
    this.covering = this.pending(this.topic) || this.pending(this.dlq);
    this.order = this.tracker.rescan();
    this.cur = 0;
  }

  private pending(topic: string): boolean {
    for (const tf of this.tracker.files.values()) {
      const c = topic === this.topic ? tf.coveredGood : tf.coveredDlq;
      if (c > tf.shipped) return true;
    }
    return false;
  }

  private save(): void {
    const heads = this.tracker.heads();
    this.writeHeadsAhead(heads);
    writePositions(this.positionFile, this.tracker.positions());
    for (const t of [this.topic, this.dlq]) {
      if (this.pending(t)) continue;
      const cp = (this.state.topics[t] ??= {});
      for (const [p, off] of Object.entries(this.ackEnds[t] ?? {})) if ((cp[p] ?? -1) < off) cp[p] = off;
    }
    this.state.heads = heads;
    // After the positions, so that its checkpoints never run ahead of them (see ship-state.ts).
    writeShipState(this.statePath, this.state);
    this.persisted = structuredClone(this.state);
    this.lastSave = Date.now();
  }

  /**
   * Head hashes go to disk BEFORE the positions that need them. The state file is written after the positions, so
   * a crash between the two leaves the previous state beside the new positions; if a file got its first shipped
   * bytes in this save (a new app.log after a rotation), that state has no head for it, and when the file is then
   * renamed while we are stopped (app.log → app.log.1) nothing proves the saved position belongs to it: Flume's
   * rule reads it again from 0 and everything shipped from it lands twice. So when a head is new or changed, the
   * state on disk is first rewritten with the added heads, its checkpoints as they were (they still match the
   * positions on disk) and clean false. A head ahead of the positions is harmless: it only identifies the file's
   * first bytes.
   */
  private writeHeadsAhead(heads: Record<string, FileHead>): void {
    const old = this.persisted;
    const changed = Object.entries(heads).some(([inode, h]) => {
      const o = old?.heads[inode];
      return o === undefined || o.len !== h.len || o.sha256 !== h.sha256;
    });
    if (!changed) return;
    // No state on disk yet: nothing of this shipper's is on the bus yet (the first save precedes every send).
    const base = old ?? { shipper: this.state.shipper, topics: {}, heads: {} };
    const ahead: ShipState = { ...base, heads: { ...base.heads, ...heads }, clean: false };
    writeShipState(this.statePath, ahead);
    this.persisted = structuredClone(ahead);
  }

  /**
   * Moves every partition's checkpoint to its current end, then saves. Only called with no send in flight, so
   * everything of ours below those ends is acknowledged and in the positions saved with them. Without this, a
   * partition we rarely write to would keep an old checkpoint and a restart would read all that others wrote since.
   */
  private async refreshCheckpoints(): Promise<void> {
    for (const t of [this.topic, this.dlq]) {
      if (!this.pending(t)) this.state.topics[t] = await endOffsets(this.o.bus, t);
    }
    this.lastRefresh = Date.now();
    this.save();
  }

  /** Once every file has passed its recovery mark, save at once so checkpoints can move on. */
  private coverPassed(): boolean {
    if (!this.covering) return false;
    this.covering = this.pending(this.topic) || this.pending(this.dlq);
    return !this.covering;
  }

  /** The main loop: build a batch while the previous one is in flight; idle-wait when there is nothing. */
  private async pump(): Promise<void> {
    let inflight: Promise<void> | null = null;
    try {
      for (;;) {
        if (this.o.signal?.aborted) break;
        const b = this.build();
        if (inflight) await inflight;
        inflight = null;
        if (Date.now() - this.lastRefresh >= (this.o.refreshCheckpointsMs ?? SHIP_DEFAULTS.refreshCheckpointsMs)) await this.refreshCheckpoints();
        if (b.lines.length === 0) {
          if (this.o.once) break;
          if (Date.now() - this.lastSave >= this.savePositionsMs) this.save();
          await this.sleep(this.pollIntervalMs);
          this.order = this.tracker.rescan();
          this.cur = 0;
          this.lastScan = Date.now();
          // quiet files: the progress still tells what is tracked and what has come since (a status line shows it)
          this.noteBacklog();
          this.o.onProgress?.(this.stats);
          continue;
        }
        if (b.good.length === 0 && b.bad.length === 0) {
          this.apply(b);
          if (this.coverPassed()) this.save();
          continue;
        }
        inflight = this.send(b);
      }
    } finally {
      // On a failed send nothing more is to be learned from the other one; positions stay at the last ack.
      if (inflight) await inflight.catch(() => {});
    }
  }

  /** Lines of the oldest file with data first; null at the end of a pass over all files (the next call starts a new pass). */
  private nextLine(): Line | null {
    while (this.cur < this.order.length) {
      const tf = this.order[this.cur] as TailFile;
      if (tf.isOpen) {
        const line = tf.nextLine(this.limits);
        if (line) return line;
      }
      this.cur++;
    }
    this.cur = 0;
    return null;
  }

  private build(): Batch {
    const b: Batch = { lines: [], kinds: [], good: [], bad: [] };
    if (Date.now() - this.lastScan >= this.pollIntervalMs) {
      this.order = this.tracker.rescan();
      this.cur = 0;
      this.lastScan = Date.now();
    }
    const key = this.o.key ?? null;
    const shipper = this.state.shipper;
    let passes = 0;
    // Lines passed over after a crash take no record but hold memory: bound them too.
    while (b.good.length + b.bad.length < this.batchSize && b.lines.length < this.batchSize * 8) {
      const line = this.nextLine();
      if (!line) {
        // A pass ended: send what we have, or look once more from the oldest file (more may have been written).
        if (b.lines.length > 0 || ++passes > 1) break;
        continue;
      }
      const tf = line.file;
      const reason = line.oversize !== undefined
        ? `line of ${line.oversize} bytes is longer than the limit of ${this.limits.maxLineBytes} bytes; its first ${Math.min(OVERSIZE_KEEP, line.bytes.length)} bytes are kept`
        : rejectReason(line.bytes);
      let kind: ItemKind;
      if (reason === null) {
        if (line.end <= tf.coveredGood) kind = 'skip';
        else {
          kind = 'good';
          const m: ProduceMessage = { key, value: line.bytes };
          if (this.sourceHeader) m.headers = { [SOURCE_HEADER]: sourceTag(shipper, tf.inode, line.end) };
          b.good.push(m);
        }
      } else if (line.end <= tf.coveredDlq) kind = 'skip';
      else {
        kind = 'bad';
        const m = deadLetter(line.bytes, reason, STAGE, { file: tf.path, position: line.start }, key);
        if (this.sourceHeader) (m.headers ??= {})[SOURCE_HEADER] = sourceTag(shipper, tf.inode, line.end);
        b.bad.push(m);
      }
      b.lines.push(line);
      b.kinds.push(kind);
    }
    return b;
  }

  private async send(b: Batch): Promise<void> {
    const p = this.producer as Producer;
    if (b.good.length > 0) this.record(await p.send(this.topic, b.good));
    if (b.bad.length > 0) this.record(await p.send(this.dlq, b.bad));
    this.apply(b);
    this.o.onProgress?.(this.stats);
    // Without the header a restart cannot tell what was sent: saving after every batch keeps a crash's
    // duplicates to one batch (at-least-once, like Flume).
    if (!this.sourceHeader || this.coverPassed() || Date.now() - this.lastSave >= this.savePositionsMs) this.save();
  }

  private record(results: ProduceResult[]): void {
    for (const r of results) {
      const t = (this.ackEnds[r.topic] ??= {});
      const end = r.baseOffset + r.count;
      if ((t[String(r.partition)] ?? -1) < end) t[String(r.partition)] = end;
    }
  }

  private apply(b: Batch): void {
    let last: Line | null = null;
    for (let i = 0; i < b.lines.length; i++) {
      const line = b.lines[i] as Line;
      const tf = line.file;
      // A truncation (or a rewind) since this line was read: its position no longer applies.
      if (line.gen !== tf.gen) continue;
      tf.shipped = line.end;
      this.stats.bytes += line.end - line.start;
      const k = b.kinds[i];
      if (k === 'good') this.stats.lines++;
      else if (k === 'bad') this.stats.rejected++;
      else this.stats.skipped++;
      last = line;
    }
    if (last) this.stats.file = { path: last.file.path, pos: last.file.shipped, size: last.file.size };
    this.noteBacklog();
  }

  /** The tracked files and the bytes of them not shipped yet, into the progress. */
  private noteBacklog(): void {
    this.stats.files = this.tracker.files.size;
    let behind = 0;
    for (const f of this.tracker.files.values()) behind += Math.max(0, f.size - f.shipped);
    this.stats.behind = behind;
  }

  private watchDirs(): FSWatcher[] {
    const out: FSWatcher[] = [];
    for (const g of this.o.groups) {
      try {
        // A hint only: polling finds everything anyway (watch misses events on some filesystems).
        const w = watch(g.dir, () => this.wake?.());
        w.on('error', () => {});
        out.push(w);
      } catch {
        // no inotify: polling alone
      }
    }
    return out;
  }

  /** Waits ms, or less when the run is stopped or (if wakeable) a watched directory changes. */
  private sleep(ms: number, wakeable = true): Promise<void> {
    const signal = this.o.signal;
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((res) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        if (this.wake === done) this.wake = null;
        res();
      };
      const timer = setTimeout(done, ms);
      if (wakeable) this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private async closeProducer(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p) await p.close().catch(() => {});
  }
}

/** Failures of the bus itself (down, refused, timed out) are waited out while following; anything else stops. */
function retryable(e: unknown): boolean {
  return e instanceof RtwhError && (e.code === 'BUS_UNAVAILABLE' || e.code === 'BUS_ERROR');
}
