/**
 * Where the writer's batches go: a producer in this thread, or one in a worker thread (bus-worker.ts) so that
 * producing overlaps with decoding. Both produce batches in the order given; a failed batch makes the worker refuse
 * the ones behind it until reset(), so retries keep the order.
 */
import type { Bus, ProduceMessage, Producer, ProducerOptions } from '../../bus/types';
import { PendingCalls, startWorker } from '../../bus/worker-thread';
import { RtwhError, type ErrorCode } from '../../errors';
import type { FromWorker, ToWorker } from './bus-worker';
import { recordKey, recordValue, type OutRecord } from './queue';

export interface RecordSink {
  readonly kind: 'thread' | 'worker';
  /** How many batches may be in flight at once. */
  readonly maxInflight: number;
  /** Resolves when the bus acknowledged the batch; rejects with an RtwhError (code SKIPPED_AFTER_FAILURE for refused ones). */
  send(records: readonly OutRecord[]): Promise<void>;
  /** After a failure: accept batches again (with a fresh producer). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Makes a Kafka producer fail-stop (src/bus/kafka/producer.ts stopOnFirstFailure: nothing in flight behind a failed
 * send is written), so it may get several batches at once. False for producers without it (sqlite).
 */
export function failStop(p: Producer): boolean {
  const f = (p as { stopOnFirstFailure?: () => void }).stopOnFirstFailure;
  if (typeof f !== 'function') return false;
  f.call(p);
  return true;
}

/** Batches refused because an earlier one failed; they are sent again after reset(). */
export class SkippedBatch extends Error {
  constructor() {
    super('batch refused after an earlier failure');
  }
}

export class ThreadSink implements RecordSink {
  readonly kind = 'thread';
  /**
   * Kafka's producer keeps the call order of sends in flight together and, made fail-stop, writes none of those
   * behind a failed one (KafkaProducer.stopOnFirstFailure); the sqlite producer gets one batch at a time.
   */
  readonly maxInflight: number;
  private producer: Producer | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly topic: string,
    private readonly options?: ProducerOptions,
    /** The topic's max.message.bytes: batches of many small records stay under it (Producer.limitTopic). */
    private readonly maxMessageBytes?: number,
  ) {
    this.maxInflight = bus.kind === 'kafka' ? 3 : 1;
  }

  async send(records: readonly OutRecord[]): Promise<void> {
    // Stamped with the time they are handed to the bus (CreateTime, as Maxwell's producer): never the binlog time,
    // which under --mock-date or `rtwh mock db` is a business day older than the topic's retention.
    const timestamp = Date.now();
    const messages: ProduceMessage[] = records.map((r) => ({ key: recordKey(r), value: recordValue(r), partition: r.partition, timestamp }));
    if (!this.producer) {
      this.producer = await this.bus.producer(this.options);
      if (this.maxMessageBytes !== undefined) this.producer.limitTopic?.(this.topic, this.maxMessageBytes);
      failStop(this.producer);
    }
    await this.producer.send(this.topic, messages);
  }

  async reset(): Promise<void> {
    await this.producer?.close().catch(() => undefined);
    this.producer = undefined;
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

export interface WorkerSinkOptions {
  url: string;
  cwd: string;
  clientId?: string;
  producer?: ProducerOptions;
  topic: string;
  /** The topic's max.message.bytes (Producer.limitTopic in the worker). */
  maxMessageBytes?: number;
  /** How long the worker may take to start before cdc produces in its own thread instead. */
  startTimeoutMs?: number;
}

export class WorkerSink implements RecordSink {
  readonly kind = 'worker';
  readonly maxInflight = 3;
  private readonly calls = new PendingCalls();
  /**
   * Batch buffers the worker handed back. Reused: a fresh multi-MB buffer per batch costs its page faults on
   * first write, measured ~0.9 µs a record (more than the copy itself).
   */
  private readonly spare: ArrayBuffer[] = [];
  private closedWaiter: (() => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent) => this.onMessage(e.data as FromWorker);
  }

  /**
   * Starts the worker, or returns undefined when this build cannot (a compiled binary without the worker
   * entrypoint): the caller then produces in its own thread.
   */
  static async start(o: WorkerSinkOptions): Promise<WorkerSink | undefined> {
    // From source the worker sits beside this file; in a compiled binary it is an extra entrypoint of the build,
    // addressed by its path from the repository root.
    const worker = await startWorker([new URL('./bus-worker.ts', import.meta.url).href, './src/collect/cdc/bus-worker.ts'], o.startTimeoutMs ?? 5000);
    if (!worker) return undefined;
    const sink = new WorkerSink(worker);
    const open: ToWorker = { type: 'open', url: o.url, cwd: o.cwd, topic: o.topic, ...(o.clientId ? { clientId: o.clientId } : {}), ...(o.producer ? { producer: o.producer } : {}), ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}) };
    worker.postMessage(open);
    return sink;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'closed') {
      this.closedWaiter?.();
      return;
    }
    if (m.type === 'ready') return;
    if (m.type === 'ack') {
      if (m.buffer && this.spare.length < 4) this.spare.push(m.buffer);
      this.calls.settle(m.id);
    } else this.calls.settle(m.id, m.type === 'skipped' ? new SkippedBatch() : new RtwhError(m.code as ErrorCode, m.message));
  }

  /**
   * Keys and values go over as UTF-8 in one transferred buffer. Maxwell rows are bytes already (maxwell-bytes.ts):
   * copied. Text (Debezium, DDL records) is written with Buffer#write: structured-cloning the JSON strings (built
   * by concatenation, so first flattened, then copied as UTF-16) measured ~7 µs a record, encodeInto ~1 µs,
   * Buffer#write at an offset ~0.6 µs, most of it the flattening.
   */
  send(records: readonly OutRecord[]): Promise<void> {
    const n = records.length;
    let room = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      room += r.buf !== undefined ? r.end - r.start : sizeBound(r.value) + (r.key === null ? 0 : sizeBound(r.key));
    }
    // Never from the shared pool: its memory is transferred to the worker.
    const bytes = this.buffer(room);
    // Per record: key start, key end (-1: no key), value end; the value starts where the key ends.
    const offsets = new Int32Array(n * 3);
    const partitions = new Int32Array(n);
    let at = 0;
    // Byte records that lie back to back in one arena chunk are copied as one run.
    let runBuf: Buffer | undefined;
    let runStart = 0;
    let runEnd = 0;
    const flush = () => {
      if (runBuf === undefined) return;
      runBuf.copy(bytes, at, runStart, runEnd);
      at += runEnd - runStart;
      runBuf = undefined;
    };
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      if (r.buf !== undefined) {
        if (r.buf !== runBuf || r.start !== runEnd) {
          flush();
          runBuf = r.buf;
          runStart = r.start;
        }
        runEnd = r.end;
        const base = at + (r.start - runStart);
        offsets[i * 3] = base;
        offsets[i * 3 + 1] = base + (r.keyEnd - r.start);
        offsets[i * 3 + 2] = base + (r.end - r.start);
      } else {
        flush();
        offsets[i * 3] = at;
        const key = r.key;
        if (key === null) offsets[i * 3 + 1] = -1;
        else {
          at += writeBytes(bytes, at, key);
          offsets[i * 3 + 1] = at;
        }
        at += writeBytes(bytes, at, r.value);
        offsets[i * 3 + 2] = at;
      }
      partitions[i] = r.partition;
    }
    flush();
    const { id, answer } = this.calls.open();
    const msg: ToWorker = { type: 'send', id, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, at), offsets, partitions };
    this.worker.postMessage(msg, [bytes.buffer, offsets.buffer, partitions.buffer]);
    return answer;
  }

  /** A buffer of at least n bytes: a spare one, or a new one (at least BATCH_BUFFER bytes, so it can be reused). */
  private buffer(n: number): Buffer<ArrayBuffer> {
    for (let i = 0; i < this.spare.length; i++) {
      const b = this.spare[i]!;
      if (b.byteLength >= n) {
        this.spare.splice(i, 1);
        return Buffer.from(b);
      }
    }
    return Buffer.allocUnsafeSlow(Math.max(n, BATCH_BUFFER));
  }

  async reset(): Promise<void> {
    this.worker.postMessage({ type: 'reset' } satisfies ToWorker);
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((r) => (this.closedWaiter = r));
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    this.calls.failAll(new SkippedBatch());
    this.worker.terminate();
  }
}

/** Least size of a batch buffer: a batch of 5,000 records of ~600 bytes fits. */
const BATCH_BUFFER = 4 * 1024 * 1024;

/** Bytes a key or value takes as UTF-8, at most (3 bytes per UTF-16 unit for text). */
function sizeBound(x: string | Uint8Array): number {
  return typeof x === 'string' ? x.length * 3 : x.length;
}

function writeBytes(to: Buffer, at: number, x: string | Uint8Array): number {
  if (typeof x === 'string') return to.write(x, at);
  to.set(x, at);
  return x.length;
}
