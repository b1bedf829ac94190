/**
 * The bus side of cdc: takes batches from the queue, produces them, and once the bus acknowledged a batch, moves
 * the committed position to the last marker taken with it and stores it (throttled).
 *
 * Commit rule: a position is stored only when every record read before it has been acknowledged by the bus, and
 * only positions at transaction boundaries exist. So a restart after kill -9 re-reads at most what was in flight
 * (duplicates from the last unacknowledged batch), never skips a change.
 *
 * A bus that is down or refusing makes the writer retry the same batch with backoff (status "waiting for the
 * bus"); the queue fills and the reader stops reading. Errors no retry can fix (a record too large for the
 * broker, a bad topic name) stop cdc.
 */
import type { Bus, Producer, ProducerOptions } from '../../bus/types';
import { toRtwhError } from '../../errors';
import type { BinlogPosition, PositionStore } from './position';
import type { CdcQueue, Marker } from './queue';

export interface WriterOptions {
  bus: Bus;
  topic: string;
  producer?: ProducerOptions;
  queue: CdcQueue;
  store: PositionStore;
  /** The position stored at start (what a restart would use right now). */
  initial: BinlogPosition;
  batchRecords: number;
  batchBytes: number;
  /** Least time between two position stores while running (0: after every acknowledged batch). */
  positionIntervalMs: number;
  onState?: (state: 'writing' | 'waiting', detail?: string) => void;
  log?: (msg: string) => void;
}

const TRANSIENT = new Set(['BUS_UNAVAILABLE', 'BUS_ERROR']);

export class BusWriter {
  private producer: Producer | undefined;
  private stopping = false;
  private abandon = false;
  private dirty = false;
  private lastSave = 0;
  private waitingSince = 0;
  private saveFailures = 0;
  committed: BinlogPosition;
  /** Binlog time of the last committed marker. */
  committedTs = 0;
  stored: BinlogPosition;
  recordsSent = 0;
  bytesSent = 0;
  batches = 0;
  /** Set while the bus refuses: the reason. */
  waiting: string | undefined;

  constructor(private readonly o: WriterOptions) {
    this.committed = o.initial;
    this.stored = o.initial;
  }

  /** The loop; resolves after stop() once the queue is drained and the position stored. */
  async run(): Promise<void> {
    const q = this.o.queue;
    for (;;) {
      if (q.empty) {
        if (this.stopping) break;
        await this.idleWait();
        continue;
      }
      const batch = q.take(this.o.batchRecords, this.o.batchBytes);
      if (batch.records.length > 0) {
        const ok = await this.send(batch.records);
        if (!ok) break; // stop requested while the bus was down: keep the last good position
      }
      for (const m of batch.markers) await this.commit(m);
      await this.maybeSave(false);
    }
    await this.maybeSave(true);
    if (this.producer) {
      await this.producer.close().catch(() => undefined);
      this.producer = undefined;
    }
  }

  /**
   * Finish what is queued, store the position, end run(). `abandon` leaves a down bus alone instead of retrying,
   * and gives a send that gets no answer at all `graceMs` before giving up on it.
   */
  stop(abandonIfWaiting = true, graceMs = 10_000): void {
    this.stopping = true;
    this.abandon = abandonIfWaiting;
    this.o.queue.wakeUp();
    if (abandonIfWaiting) {
      const t = setTimeout(() => this.giveUp?.(), graceMs);
      t.unref?.();
    }
  }

  private giveUp: (() => void) | undefined;
  private readonly gaveUp = new Promise<'gave-up'>((resolve) => {
    this.giveUp = () => resolve('gave-up');
  });

  private async idleWait(): Promise<void> {
    // While idle, a position that moved (e.g. filtered transactions) is still stored after the interval.
    const timeout = this.dirty ? Math.max(10, this.o.positionIntervalMs - (Date.now() - this.lastSave)) : 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.o.queue.waitForItems(), new Promise<void>((r) => (timer = setTimeout(r, timeout)))]);
    if (timer) clearTimeout(timer);
    await this.maybeSave(false);
  }

  private async commit(m: Marker): Promise<void> {
    this.committed = m.position;
    this.committedTs = m.ts;
    if (!m.own) this.dirty = true;
    if (m.onCommitted) await m.onCommitted();
  }

  private async maybeSave(force: boolean): Promise<void> {
    if (!this.dirty && !(force && !samePosition(this.committed, this.stored))) return;
    if (!force && Date.now() - this.lastSave < this.o.positionIntervalMs) return;
    const p = this.committed;
    try {
      await this.o.store.save(p);
      this.stored = p;
      this.dirty = false;
      this.lastSave = Date.now();
      if (this.saveFailures > 0) this.o.log?.(`position store ${this.o.store.where} reachable again`);
      this.saveFailures = 0;
    } catch (e) {
      // The source server may be restarting; the position is saved on a later try (until then a restart re-reads more).
      this.lastSave = Date.now();
      if (this.saveFailures++ === 0) this.o.log?.(`cannot store the position in ${this.o.store.where}: ${(e as Error).message}; will retry`);
      if (force && this.stopping) throw e;
    }
  }

  private async send(records: { key: string | null; value: string; partition: number; timestamp: number; bytes: number }[]): Promise<boolean> {
    const messages = records.map((r) => ({ key: r.key, value: r.value, partition: r.partition, timestamp: r.timestamp }));
    let attempt = 0;
    for (;;) {
      try {
        this.producer ??= await this.o.bus.producer(this.o.producer);
        const sent = await Promise.race([this.producer.send(this.o.topic, messages), this.gaveUp]);
        if (sent === 'gave-up') {
          this.o.log?.(`stopping: the bus did not answer a batch of ${records.length} records within the grace period; they will be read again`);
          return false;
        }
        if (this.waiting !== undefined) {
          this.o.log?.(`the bus accepts records again after ${((Date.now() - this.waitingSince) / 1000).toFixed(1)} s`);
          this.waiting = undefined;
          this.o.onState?.('writing');
        }
        this.recordsSent += records.length;
        for (const r of records) this.bytesSent += r.bytes;
        this.batches++;
        return true;
      } catch (e) {
        const err = toRtwhError(e);
        if (!TRANSIENT.has(err.code)) throw err;
        if (this.stopping && this.abandon) {
          this.o.log?.(`stopping while the bus is unavailable (${err.message}); ${records.length} records stay unsent and will be read again`);
          return false;
        }
        attempt++;
        if (this.waiting === undefined) {
          this.waitingSince = Date.now();
          this.o.log?.(`the bus refused a batch (${err.message}); retrying with backoff, reading pauses when the queue is full`);
        }
        this.waiting = err.message;
        this.o.onState?.('waiting', err.message);
        // A producer that failed may hold a broken connection: start a fresh one every few attempts.
        if (attempt % 3 === 0 && this.producer) {
          await this.producer.close().catch(() => undefined);
          this.producer = undefined;
        }
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
      }
    }
  }
}

function samePosition(a: BinlogPosition, b: BinlogPosition): boolean {
  return a.file === b.file && a.pos === b.pos;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

