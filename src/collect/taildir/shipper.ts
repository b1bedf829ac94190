/**
 * `ship log`: Flume's TAILDIR source + ETL interceptor + Kafka channel, as one loop.
 *
 *   lines (oldest file first) → ETL (JSON object?) → good lines → <topic>    (value = the line's bytes, no key)
 *                                                   → rejected  → <topic>_dlq (dead letter: reason, file, position)
 *   acknowledged by the bus → positions advance → saved every second (atomically) and on exit
 *
 * Delivery is exactly-once across crashes: see recovery.ts. The next batch is read and checked while the
 * previous one is being sent; only one send is in flight, so acknowledgements arrive in read order.
 */
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { deadLetter, dlqTopic as defaultDlq } from '../../bus/dead-letter';
import type { Bus, ProduceMessage, ProduceResult, Producer, ProducerOptions } from '../../bus/types';
import { rejectReason } from './etl';
import { checkGroupDir, type FileGroup } from './file-group';
import { lockPositionFile } from './lock';
import { readPositions, writePositions } from './position-file';
import { endOffsets, readOwnWrites, SOURCE_HEADER, sourceTag } from './recovery';
import { newShipState, readShipState, statePathFor, writeShipState, type ShipState } from './ship-state';
import { OVERSIZE_KEEP, type Line, type TailFile } from './tail-file';
import { Tracker } from './tracker';

export const SHIP_DEFAULTS = {
  batchSize: 100,
  pollIntervalMs: 500,
  savePositionsMs: 1000,
  idleTimeoutMs: 120_000,
  maxLineBytes: 1_000_000,
  chunkBytes: 1024 * 1024,
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
}

export interface ShipResult extends ShipProgress {
  seconds: number;
  topic: string;
  dlqTopic: string;
  positionFile: string;
  positions: { file: string; inode: string; pos: number; held: number }[];
}

type ItemKind = 'good' | 'bad' | 'skip';

interface Batch {
  lines: Line[];
  kinds: ItemKind[];
  good: ProduceMessage[];
  bad: ProduceMessage[];
}

export async function shipLog(o: ShipLogOptions): Promise<ShipResult> {
  const t0 = performance.now();
  const cfg = {
    batchSize: o.batchSize ?? SHIP_DEFAULTS.batchSize,
    pollIntervalMs: o.pollIntervalMs ?? SHIP_DEFAULTS.pollIntervalMs,
    savePositionsMs: o.savePositionsMs ?? SHIP_DEFAULTS.savePositionsMs,
    idleTimeoutMs: o.idleTimeoutMs ?? SHIP_DEFAULTS.idleTimeoutMs,
    limits: { maxLineBytes: o.maxLineBytes ?? SHIP_DEFAULTS.maxLineBytes, chunkBytes: o.chunkBytes ?? SHIP_DEFAULTS.chunkBytes },
    key: o.key ?? null,
    sourceHeader: o.sourceHeader ?? true,
  };
  const log = o.log ?? (() => {});
  const topic = o.topic;
  const dlq = o.dlqTopic ?? defaultDlq(topic);
  const positionFile = resolve(o.positionFile);
  const statePath = statePathFor(positionFile);
  for (const g of o.groups) checkGroupDir(g);

  const lock = lockPositionFile(positionFile);
  const tracker = new Tracker({
    groups: o.groups,
    ignore: new Set([positionFile, statePath, `${positionFile}.tmp`, `${statePath}.tmp`, `${positionFile}.lock`]),
    idleTimeoutMs: cfg.idleTimeoutMs,
    dropGraceMs: Math.max(2 * cfg.pollIntervalMs, 1000),
    log,
  });
  const stats: ShipProgress = { lines: 0, bytes: 0, rejected: 0, skipped: 0, file: null, files: 0 };
  let producer: Producer | null = null;
  const watchers: FSWatcher[] = [];
  try {
    const saved = readPositions(positionFile);
    // The state file only counts together with the positions it was written with.
    const savedState = saved === null ? null : readShipState(statePath);
    if (saved !== null && savedState === null) log(`${positionFile}: no ship state beside it (${statePath}); resuming from the positions alone`);
    const state: ShipState = savedState ?? newShipState();
    tracker.start(saved ?? [], state.heads);

    if (savedState !== null && cfg.sourceHeader) {
      const cps: Record<string, Record<string, number>> = {};
      for (const t of [topic, dlq]) if (state.topics[t]) cps[t] = state.topics[t] as Record<string, number>;
      const rec = await readOwnWrites(o.bus, state.shipper, cps, { log });
      for (const tf of tracker.files.values()) {
        if (!tracker.trusted(tf)) continue;
        tf.coveredGood = rec.covered.get(topic)?.get(tf.inode) ?? -1;
        tf.coveredDlq = rec.covered.get(dlq)?.get(tf.inode) ?? -1;
      }
      const ahead = [...tracker.files.values()].filter((tf) => tf.coveredGood > tf.shipped || tf.coveredDlq > tf.shipped);
      if (ahead.length > 0) {
        log(`recovery: ${ahead.length} file(s) have lines on the bus past their saved position (a crash after the bus acknowledged); those lines are not sent again`);
      }
    }
    // Checkpoints move to the current end only for topics with nothing left to pass over: the records that
    // recovery found must stay inside the range a later recovery reads, until positions pass them.
    for (const t of [topic, dlq]) {
      if (!pendingCover(tracker, t === topic ? 'good' : 'bad')) state.topics[t] = await endOffsets(o.bus, t);
      else state.topics[t] ??= {};
    }
    const ackEnds: Record<string, Record<string, number>> = {};
    const save = () => {
      writePositions(positionFile, tracker.positions());
      for (const t of [topic, dlq]) {
        if (pendingCover(tracker, t === topic ? 'good' : 'bad')) continue;
        const cp = (state.topics[t] ??= {});
        for (const [p, off] of Object.entries(ackEnds[t] ?? {})) if ((cp[p] ?? -1) < off) cp[p] = off;
      }
      state.heads = tracker.heads();
      writeShipState(statePath, state);
    };
    // Before anything is produced: a crash from here on finds these checkpoints.
    save();
    let lastSave = Date.now();

    producer = await o.bus.producer(o.producer ?? {});
    const prod = producer;
    const keyBytes = cfg.key;

    let order = tracker.rescan();
    let cur = 0;
    let lastScan = Date.now();
    /** Lines of the oldest file with data first; null at the end of a pass over all files (the next call starts a new pass). */
    const nextLine = (): Line | null => {
      while (cur < order.length) {
        const tf = order[cur] as TailFile;
        if (tf.isOpen) {
          const line = tf.nextLine(cfg.limits);
          if (line) return line;
        }
        cur++;
      }
      cur = 0;
      return null;
    };

    const build = (): Batch => {
      const b: Batch = { lines: [], kinds: [], good: [], bad: [] };
      if (Date.now() - lastScan >= cfg.pollIntervalMs) {
        order = tracker.rescan();
        cur = 0;
        lastScan = Date.now();
      }
      let passes = 0;
      // Lines passed over after a crash take no record but hold memory: bound them too.
      while (b.good.length + b.bad.length < cfg.batchSize && b.lines.length < cfg.batchSize * 8) {
        const line = nextLine();
        if (!line) {
          // A pass ended: send what we have, or look once more from the oldest file (more may have been written).
          if (b.lines.length > 0 || ++passes > 1) break;
          continue;
        }
        const tf = line.file;
        const reason = line.oversize !== undefined
          ? `line of ${line.oversize} bytes is longer than the limit of ${cfg.limits.maxLineBytes} bytes; its first ${Math.min(OVERSIZE_KEEP, line.bytes.length)} bytes are kept`
          : rejectReason(line.bytes);
        let kind: ItemKind;
        if (reason === null) {
          if (line.end <= tf.coveredGood) kind = 'skip';
          else {
            kind = 'good';
            const m: ProduceMessage = { key: keyBytes, value: line.bytes };
            if (cfg.sourceHeader) m.headers = { [SOURCE_HEADER]: sourceTag(state.shipper, tf.inode, line.end) };
            b.good.push(m);
          }
        } else if (line.end <= tf.coveredDlq) kind = 'skip';
        else {
          kind = 'bad';
          const m = deadLetter(line.bytes, reason, STAGE, { file: tf.path, position: line.start }, keyBytes);
          if (cfg.sourceHeader) (m.headers ??= {})[SOURCE_HEADER] = sourceTag(state.shipper, tf.inode, line.end);
          b.bad.push(m);
        }
        b.lines.push(line);
        b.kinds.push(kind);
      }
      return b;
    };

    const record = (results: ProduceResult[]) => {
      for (const r of results) {
        const t = (ackEnds[r.topic] ??= {});
        const end = r.baseOffset + r.count;
        if ((t[String(r.partition)] ?? -1) < end) t[String(r.partition)] = end;
      }
    };

    const apply = (b: Batch) => {
      let last: Line | null = null;
      for (let i = 0; i < b.lines.length; i++) {
        const line = b.lines[i] as Line;
        const tf = line.file;
        // A truncation since this line was read restarted the file: its old lines no longer move the position.
        if (line.gen !== tf.gen) continue;
        tf.shipped = line.end;
        stats.bytes += line.end - line.start;
        const k = b.kinds[i];
        if (k === 'good') stats.lines++;
        else if (k === 'bad') stats.rejected++;
        else stats.skipped++;
        last = line;
      }
      if (last) stats.file = { path: last.file.path, pos: last.file.shipped, size: last.file.size };
      stats.files = tracker.files.size;
    };

    // While recovery marks lie ahead, checkpoints cannot move; once every file has passed its mark, save at
    // once so the next recovery reads from the new checkpoints instead of the old ones.
    let covering = pendingCover(tracker, 'good') || pendingCover(tracker, 'bad');
    const coverPassed = (): boolean => {
      if (!covering) return false;
      covering = pendingCover(tracker, 'good') || pendingCover(tracker, 'bad');
      return !covering;
    };

    const send = async (b: Batch): Promise<void> => {
      if (b.good.length > 0) record(await prod.send(topic, b.good));
      if (b.bad.length > 0) record(await prod.send(dlq, b.bad));
      apply(b);
      o.onProgress?.(stats);
      if (!cfg.sourceHeader || coverPassed() || Date.now() - lastSave >= cfg.savePositionsMs) {
        // Without the header a restart cannot tell what was sent: saving after every batch keeps a crash's
        // duplicates to one batch (at-least-once, like Flume).
        save();
        lastSave = Date.now();
      }
    };

    let wake: (() => void) | null = null;
    if (!o.once) {
      for (const g of o.groups) {
        try {
          // A hint only: polling finds everything anyway (watch misses events on some filesystems).
          const w = watch(g.dir, () => wake?.());
          w.on('error', () => {});
          watchers.push(w);
        } catch {
          // no inotify: polling alone
        }
      }
    }
    const idle = () =>
      new Promise<void>((res) => {
        const done = () => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', done);
          wake = null;
          res();
        };
        const timer = setTimeout(done, cfg.pollIntervalMs);
        wake = done;
        o.signal?.addEventListener('abort', done, { once: true });
      });

    let inflight: Promise<void> | null = null;
    try {
      for (;;) {
        if (o.signal?.aborted) break;
        const b = build();
        if (inflight) await inflight;
        inflight = null;
        if (b.lines.length === 0) {
          if (o.once) break;
          if (Date.now() - lastSave >= cfg.savePositionsMs) {
            save();
            lastSave = Date.now();
          }
          await idle();
          order = tracker.rescan();
          cur = 0;
          lastScan = Date.now();
          continue;
        }
        if (b.good.length === 0 && b.bad.length === 0) {
          apply(b);
          if (coverPassed()) {
            save();
            lastSave = Date.now();
          }
          continue;
        }
        inflight = send(b);
      }
    } finally {
      // On a failed send, the other promise has nothing more to tell; positions stay at the last acknowledgement.
      if (inflight) await inflight.catch(() => {});
    }
    if (o.once) tracker.dropDrained();
    save();
    stats.files = tracker.files.size;
    return {
      ...stats,
      seconds: (performance.now() - t0) / 1000,
      topic,
      dlqTopic: dlq,
      positionFile,
      positions: tracker.readOrder().map((tf) => ({ file: tf.path, inode: tf.inode, pos: tf.shipped, held: tf.held })),
    };
  } catch (e) {
    // Keep what was acknowledged: the next start resumes from here (and recovery covers the rest).
    try {
      if (producer) writePositions(positionFile, tracker.positions());
    } catch {
      // the original error matters more
    }
    throw e;
  } finally {
    for (const w of watchers) w.close();
    if (producer) await producer.close().catch(() => {});
    tracker.closeAll();
    lock.release();
  }
}

/** Some tailed file still has lines ahead that recovery found on the bus (in the topic, or in the dead letters). */
function pendingCover(tracker: Tracker, which: 'good' | 'bad'): boolean {
  for (const tf of tracker.files.values()) {
    const c = which === 'good' ? tf.coveredGood : tf.coveredDlq;
    if (c > tf.shipped) return true;
  }
  return false;
}
