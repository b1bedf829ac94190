/**
 * The bounded queue between the binlog reader and the bus writer. It holds finished records and, between them,
 * position markers (transaction boundaries). The writer takes records and markers in order; once the bus has
 * acknowledged a batch, every marker taken with it is safe to store (nothing before it is still in flight).
 *
 * Bounded by bytes and by records. When full, the reader pauses the binlog connection (stops reading the socket);
 * when the writer has drained it below half, the reader resumes. A slow or absent bus therefore makes cdc wait
 * with bounded memory instead of growing until it dies (Maxwell's failure mode).
 */
import type { BinlogPosition } from './position';

/** A finished record. Text form (Debezium, DDL records, tests), or bytes (Maxwell rows): see RecordBytes. */
export type OutRecord = TextRecord | RecordBytes;

interface RecordBase {
  partition: number;
  /** Approximate size for the byte bound (value + key length). */
  bytes: number;
}

export interface TextRecord extends RecordBase {
  key: string | Buffer | null;
  value: string | Buffer;
  buf?: undefined;
}

/**
 * A record as UTF-8 in an arena chunk (maxwell-bytes.ts): key [start, keyEnd), value [keyEnd, end) of `buf`. No
 * view objects per record; records finished one after the other sit back to back, so a batch is copied in a few
 * runs (sink.ts).
 */
export interface RecordBytes extends RecordBase {
  buf: Buffer;
  start: number;
  keyEnd: number;
  end: number;
  key?: undefined;
  value?: undefined;
}

/** A record's key as the producer takes it. */
export function recordKey(r: OutRecord): string | Buffer | null {
  return r.buf === undefined ? r.key : r.buf.subarray(r.start, r.keyEnd);
}

/** A record's value as the producer takes it. */
export function recordValue(r: OutRecord): string | Buffer {
  return r.buf === undefined ? r.value : r.buf.subarray(r.keyEnd, r.end);
}

export interface Marker {
  position: BinlogPosition;
  /** Transactions that only touched cdc's own bookkeeping tables: their positions are stored but never trigger a store. */
  own: boolean;
  /** Binlog time of the boundary (ms), for lag. */
  ts: number;
  /** Runs once the marker is committed (e.g. to mark a bootstrap complete). */
  onCommitted?: () => void | Promise<void>;
}

type Entry = OutRecord | { marker: Marker };

export interface Batch {
  records: OutRecord[];
  markers: Marker[];
}

export class CdcQueue {
  private items: Entry[] = [];
  private head = 0;
  private bytesQueued = 0;
  private recordsQueued = 0;
  private waiter: (() => void) | undefined;
  /** Called when the queue drops below the low-water mark after having been full. */
  onDrained: (() => void) | undefined;
  private wasFull = false;

  constructor(
    readonly maxBytes: number,
    readonly maxRecords: number,
  ) {}

  get bytes(): number {
    return this.bytesQueued;
  }

  /** Records waiting (markers not counted). */
  get depth(): number {
    return this.recordsQueued;
  }

  get empty(): boolean {
    return this.head >= this.items.length;
  }

  get full(): boolean {
    return this.bytesQueued >= this.maxBytes || this.recordsQueued >= this.maxRecords;
  }

  push(r: OutRecord): void {
    this.items.push(r);
    this.bytesQueued += r.bytes;
    this.recordsQueued++;
    if (this.full) this.wasFull = true;
    this.wake();
  }

  pushMarker(m: Marker): void {
    this.items.push({ marker: m });
    this.wake();
  }

  /** Resolves when there is something to take (or at once); `wakeUp()` ends the wait early (shutdown). */
  waitForItems(): Promise<void> {
    if (!this.empty) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wakeUp(): void {
    this.wake();
  }

  /** Resolves once there is room again (the queue is below its low-water mark), or at once after release(). */
  waitForRoom(): Promise<void> {
    if (!this.full || this.released) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.roomWaiters;
      prev.push(resolve);
    });
  }

  private roomWaiters: (() => void)[] = [];
  private released = false;

  /** Shutdown: nobody waits for room any more (producers check their own stop signal after waking). */
  release(): void {
    this.released = true;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Takes up to maxRecords records / maxBytes bytes (at least one record), with the markers among and after them. */
  take(maxRecords: number, maxBytes: number): Batch {
    const records: OutRecord[] = [];
    const markers: Marker[] = [];
    let bytes = 0;
    while (this.head < this.items.length) {
      const e = this.items[this.head]!;
      if ('marker' in e) {
        markers.push(e.marker);
        this.head++;
        continue;
      }
      if (records.length >= maxRecords || (records.length > 0 && bytes + e.bytes > maxBytes)) break;
      records.push(e);
      bytes += e.bytes;
      this.head++;
    }
    this.bytesQueued -= bytes;
    this.recordsQueued -= records.length;
    // Compact now and then: keep the array from growing with a dead prefix.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.empty) {
      this.items = [];
      this.head = 0;
    }
    this.checkLowWater();
    return { records, markers };
  }

  private checkLowWater(): void {
    if (this.bytesQueued < this.maxBytes / 2 && this.recordsQueued < this.maxRecords / 2) {
      if (this.wasFull) {
        this.wasFull = false;
        this.onDrained?.();
      }
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
