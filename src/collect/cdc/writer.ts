/**
 * The bus side of cdc: takes batches from the queue in order, hands them to the sink (a producer in this thread, or
 * one in a worker thread with up to three batches in flight), and once the bus acknowledged a batch — and every
 * batch before it — moves the committed position to the last marker taken with it and stores it.
 *
 * Commit rule: a position is stored only when every record read before it has been acknowledged by the bus, and
 * only positions at transaction boundaries exist. A batch's position is stored in the background, and a new batch is
 * handed to the sink only while at most `sink.maxInflight` batches are on the bus without their position stored, so
 * there are never more than maxInflight + 1 (in flight, or acknowledged with the store under way). A restart after
 * kill -9 therefore re-sends at most those batches plus the first part of a transaction that began before them
 * (positions exist only at transaction boundaries): per kill at most (maxInflight + 1) × batchRecords + (records of
 * the largest transaction − 1). Never skips.
 *
 * A bus that is down or refusing makes the writer retry the same batches, in order, with backoff (status
 * "waiting for the bus"); the queue fills and the reader stops reading. Errors no retry can fix (a record too large
 * for the topic, a bad topic name) stop cdc, with the position before the batch that failed: a record over the
 * topic's limit is found before it is sent (checkBatch) and nothing behind it is sent either.
 */
import { toRtwhError, type RtwhError } from '../../errors';
import type { BinlogPosition, PositionStore } from './position';
import type { Batch, CdcQueue, Marker, OutRecord } from './queue';
import { SkippedBatch, type RecordSink } from './sink';

export interface WriterOptions {
  sink: RecordSink;
  queue: CdcQueue;
  store: PositionStore;
  /** The position stored at start (what a restart would use right now). */
  initial: BinlogPosition;
  batchRecords: number;
  batchBytes: number;
  /** Least time between two position stores while running (0: after every acknowledged batch). */
  positionIntervalMs: number;
  onState?: (state: 'writing' | 'waiting', detail?: string) => void;
  /** A batch was acknowledged, and every one before it (called in order). */
  onAcknowledged?: (records: readonly OutRecord[]) => void;
  /**
   * Looks at a batch before it is sent: an error (e.g. a record over the topic's max.message.bytes) stops cdc at that
   * batch — it and everything behind it stay unsent, the position stays before it.
   */
  checkBatch?: (records: readonly OutRecord[]) => RtwhError | undefined | Promise<RtwhError | undefined>;
  /** Turns a failure the bus gave for a batch into the error cdc stops with (e.g. names the record too large). */
  explainFailure?: (err: RtwhError, records: readonly OutRecord[]) => RtwhError;
  log?: (msg: string) => void;
}

const TRANSIENT = new Set(['BUS_UNAVAILABLE', 'BUS_ERROR']);

interface InFlight {
  batch: Batch;
  done: Promise<unknown>;
  /** Never sent: checkBatch refused it. */
  refused?: RtwhError;
  /** When it was (last) handed to the sink. */
  since: number;
  /** Its records' bytes. */
  bytes: number;
}

type Outcome = 'ok' | 'stop';

export class BusWriter {
  private stopping = false;
  private abandon = false;
  private dirty = false;
  private lastSave = 0;
  private waitingSince = 0;
  private saveFailures = 0;
  private giveUp: (() => void) | undefined;
  private readonly gaveUp = new Promise<'gave-up'>((resolve) => {
    this.giveUp = () => resolve('gave-up');
  });
  committed: BinlogPosition;
  /** Binlog time of the last committed marker. */
  committedTs = 0;
  stored: BinlogPosition;
  recordsSent = 0;
  bytesSent = 0;
  batches = 0;
  /** Set while the bus refuses: the reason. */
  waiting: string | undefined;
  /** Batches handed to the sink and not acknowledged yet, and their records and bytes (status, /metrics). */
  inflightBatches = 0;
  inflightRecords = 0;
  inflightBytes = 0;
  private inflightList: InFlight[] = [];
  /** A batch was refused by checkBatch: nothing more is taken from the queue. */
  private blocked = false;

  constructor(private readonly o: WriterOptions) {
    this.committed = o.initial;
    this.stored = o.initial;
  }

  /** The loop; resolves after stop() once the queue is drained and the position stored. */
  async run(): Promise<void> {
    const q = this.o.queue;
    const inflight = this.inflightList;
    for (;;) {
      // A batch goes out while the position of the one acknowledged before it is being stored (a store takes
      // milliseconds: waiting for it cost ~20 % of cdc's rate), but never more: at most maxInflight + 1 batches are
      // on the bus past the stored position (in flight, or acknowledged with their store under way).
      while (!this.blocked && inflight.length < this.o.sink.maxInflight && inflight.length + this.acks - this.storedAcks <= this.o.sink.maxInflight && !q.empty) {
        const batch = q.take(this.o.batchRecords, this.o.batchBytes);
        let refused = batch.records.length > 0 ? this.o.checkBatch?.(batch.records) : undefined;
        if (refused instanceof Promise) refused = await refused;
        let bytes = 0;
        for (const r of batch.records) bytes += r.bytes;
        const f: InFlight = { batch, done: Promise.resolve(), since: Date.now(), bytes, ...(refused ? { refused } : {}) };
        f.done = this.dispatch(f);
        inflight.push(f);
        this.countInflight();
        if (refused) this.blocked = true;
      }
      if (inflight.length === 0) {
        if (this.stopping) break;
        if (!this.blocked && !q.empty && this.acks - this.storedAcks > this.o.sink.maxInflight) {
          // Held back by the bound above with nothing in flight: the position has to be stored (now, whatever the
          // interval) before more goes out; a store that fails is tried again with backoff, not in a tight loop.
          await this.maybeSave(true);
          if (this.acks - this.storedAcks > this.o.sink.maxInflight) await sleep(Math.min(5_000, 100 * 2 ** Math.min(this.saveFailures, 6)));
          continue;
        }
        await this.idleWait();
        continue;
      }
      const outcome = await this.settle(inflight);
      if (outcome === 'stop') break;
      const head = inflight.shift()!;
      this.countInflight();
      if (head.batch.records.length > 0) this.o.onAcknowledged?.(head.batch.records);
      this.recordsSent += head.batch.records.length;
      this.bytesSent += head.bytes;
      if (head.batch.records.length > 0) this.batches++;
      for (const m of head.batch.markers) await this.commit(m);
      this.acks++;
      // In the background: the next batch may go out meanwhile, within the bound above.
      void this.maybeSave(false).catch(() => undefined);
    }
    // Whatever is still in flight when stopping on a dead bus is abandoned: it is read again after the restart.
    await this.maybeSave(true);
    await this.o.sink.close().catch(() => undefined);
  }

  /**
   * Finish what is queued, store the position, end run(). `abandon` leaves a down bus alone instead of retrying,
   * and gives a batch that gets no answer at all `graceMs` before giving up on it.
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

  /** How long the oldest batch in flight has waited for its acknowledgement (0: none in flight). */
  get oldestInflightMs(): number {
    const head = this.inflightList[0];
    return head === undefined || head.batch.records.length === 0 ? 0 : Date.now() - head.since;
  }

  private countInflight(): void {
    let records = 0;
    let bytes = 0;
    let batches = 0;
    for (const f of this.inflightList) {
      if (f.batch.records.length === 0 || f.refused) continue;
      batches++;
      records += f.batch.records.length;
      bytes += f.bytes;
    }
    this.inflightBatches = batches;
    this.inflightRecords = records;
    this.inflightBytes = bytes;
  }

  private dispatch(f: InFlight): Promise<unknown> {
    f.since = Date.now();
    if (f.refused) {
      const r = Promise.reject(f.refused);
      r.catch(() => undefined);
      return r;
    }
    if (f.batch.records.length === 0) return Promise.resolve();
    const p = this.o.sink.send(f.batch.records);
    p.catch(() => undefined); // settled (and inspected) in order by settle()
    return p;
  }

  /** Waits for the oldest batch; on a transient failure retries it and every later one, in order. */
  private async settle(inflight: InFlight[]): Promise<Outcome> {
    let attempt = 0;
    for (;;) {
      const head = inflight[0]!;
      let failure: unknown;
      try {
        const r = await Promise.race([head.done, this.gaveUp]);
        if (r === 'gave-up') {
          this.o.log?.(`stopping: the bus did not answer within the grace period; ${countRecords(inflight)} records stay unsent and will be read again`);
          return 'stop';
        }
        if (this.waiting !== undefined) {
          this.o.log?.(`the bus accepts records again after ${((Date.now() - this.waitingSince) / 1000).toFixed(1)} s`);
          this.waiting = undefined;
          this.o.onState?.('writing');
        }
        return 'ok';
      } catch (e) {
        failure = e;
      }
      const err = failure instanceof SkippedBatch ? undefined : toRtwhError(failure);
      if (err && !TRANSIENT.has(err.code)) throw head.refused || !this.o.explainFailure ? err : this.o.explainFailure(err, head.batch.records);
      if (this.stopping && this.abandon) {
        this.o.log?.(`stopping while the bus is unavailable (${err?.message ?? 'refused'}); ${countRecords(inflight)} records stay unsent and will be read again`);
        return 'stop';
      }
      attempt++;
      if (err) {
        if (this.waiting === undefined) {
          this.waitingSince = Date.now();
          this.o.log?.(`the bus refused a batch (${err.message}); retrying with backoff, reading pauses when the queue is full`);
        }
        this.waiting = err.message;
        this.o.onState?.('waiting', err.message);
      }
      // Let every batch still in flight settle, then send them all again, oldest first.
      await Promise.allSettled(inflight.map((f) => f.done));
      await Promise.race([sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6))), this.gaveUp]);
      await this.o.sink.reset();
      for (const f of inflight) f.done = this.dispatch(f);
    }
  }

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
    if (!m.own) {
      this.dirty = true;
      this.dirtySeq++;
    }
    if (m.onCommitted) await m.onCommitted();
  }

  /** Batches acknowledged so far, and how many of them the stored position covers. */
  private acks = 0;
  private storedAcks = 0;
  /** A store on its way; a later one waits for it. */
  private saving: Promise<void> | undefined;
  /** Counts markers that made the position dirty: a commit while a store is on its way keeps it dirty. */
  private dirtySeq = 0;

  private maybeSave(force: boolean): Promise<void> {
    if (this.saving) return this.saving.then(() => this.maybeSave(force));
    const p = this.saveNow(force);
    this.saving = p;
    const clear = () => {
      if (this.saving === p) this.saving = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  private async saveNow(force: boolean): Promise<void> {
    if (!this.dirty && !(force && !samePosition(this.committed, this.stored))) {
      // nothing acknowledged moved the position: it is stored as it is
      this.storedAcks = this.acks;
      return;
    }
    if (!force && Date.now() - this.lastSave < this.o.positionIntervalMs) return;
    const p = this.committed;
    const seq = this.dirtySeq;
    const acks = this.acks;
    try {
      await this.o.store.save(p);
      this.stored = p;
      this.storedAcks = acks;
      if (this.dirtySeq === seq) this.dirty = false;
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
}

function countRecords(inflight: InFlight[]): number {
  return inflight.reduce((n, f) => n + f.batch.records.length, 0);
}

function samePosition(a: BinlogPosition, b: BinlogPosition): boolean {
  return a.file === b.file && a.pos === b.pos;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
