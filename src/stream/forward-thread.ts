/**
 * The job's side of the forwarding thread (forward-worker.ts): committed outbox chunks are handed over as their
 * stored bytes, and the returned promise settles when the bus acknowledged them (or rejects with the RtwhError the
 * producer gave, so the runtime's recovery and retry rules are the same as with a producer in its own thread).
 * One thread serves every job of a process; the jobs' threads keep doing the work of the next batch meanwhile.
 */
import { PendingCalls, startWorker } from '../bus/worker-thread';
import { RtwhError, type ErrorCode } from '../errors';
import type { FromForwarder, ToForwarder, WireChunk } from './forward-worker';
import { toWire, type CommitBatch, type OutboxChunk, type StateStore } from './state-store';

export interface ForwardThreadOptions {
  /** The bus URL the worker opens (its own connections). */
  url: string;
  cwd: string;
  clientId?: string;
  /** How long the worker may take to start before forwarding stays in the job's thread. */
  startTimeoutMs?: number;
}

export class ForwardThread {
  private readonly calls = new PendingCalls();
  private closedWaiter: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private broken: RtwhError | undefined;
  private stores = 0;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent) => this.onMessage(e.data as FromForwarder);
    worker.onerror = (e: ErrorEvent) => {
      // Nothing it was given will be answered, nor anything given later.
      this.broken = new RtwhError('INTERNAL', `the forwarding thread failed: ${e.message}`);
      this.failAll(this.broken);
    };
    // Keeps the process alive only while sends are out (their answers come from the thread).
    this.hold(false);
  }

  private hold(on: boolean): void {
    const w = this.worker as Worker & { ref?: () => void; unref?: () => void };
    if (on) w.ref?.();
    else w.unref?.();
  }

  /** The thread, or undefined when this build cannot start it (the jobs then forward in their own thread). */
  static async start(o: ForwardThreadOptions): Promise<ForwardThread | undefined> {
    const worker = await startWorker([new URL('./forward-worker.ts', import.meta.url).href, './src/stream/forward-worker.ts'], o.startTimeoutMs ?? 5000);
    if (!worker) return undefined;
    const t = new ForwardThread(worker);
    t.post({ type: 'open', url: o.url, cwd: o.cwd, ...(o.clientId ? { clientId: o.clientId } : {}) });
    return t;
  }

  /** Chunks committed by this process carry their stored bytes; only those can be handed over. */
  static canTake(chunks: readonly OutboxChunk[]): boolean {
    return chunks.every((c) => c.stored !== undefined);
  }

  /** The topic takes record batches of at most `maxMessageBytes`: the thread's producer keeps its batches under it. */
  limitTopic(topic: string, maxMessageBytes: number): void {
    if (this.broken || this.closing) return;
    this.post({ type: 'limit', topic, maxMessageBytes });
  }

  /** Sends the chunks (one producer call per topic, in chunk order); resolves when the bus acknowledged all. */
  send(chunks: readonly OutboxChunk[]): Promise<void> {
    const wire: WireChunk[] = chunks.map((c) => {
      if (!c.stored) throw new RtwhError('INTERNAL', `outbox chunk ${c.id} has no stored bytes to hand to the forwarding thread`);
      return { topic: c.topic, partition: c.partition, firstSeq: c.firstSeq, producers: c.stored.producers, bytes: c.stored.bytes };
    });
    return this.call((id) => ({ type: 'send', id, chunks: wire }));
  }

  /**
   * Hands a job's state file over: `store` (opened and loaded by the job) is released and the thread opens the
   * file, so its commits are written there (RemoteStore). Rejects with the open's error (JOB_LOCKED when another
   * process took the file in between).
   */
  async adopt(store: StateStore, job: string, bus: string): Promise<RemoteStore> {
    const sid = ++this.stores;
    // Refused before the file is released: the job still holds it, and closes it as it stops.
    if (this.broken) throw this.broken;
    if (this.closing) throw new RtwhError('INTERNAL', 'the forwarding thread is closed');
    store.release();
    await this.call((id) => ({ type: 'store-open', id, sid, path: store.path, job, bus }));
    return new RemoteStore(this, sid, store);
  }

  /** A call the worker answers (ack or error). */
  call(message: (id: number) => ToForwarder): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new RtwhError('INTERNAL', 'the forwarding thread is closed'));
    if (this.calls.size === 0) this.hold(true);
    const { id, answer } = this.calls.open();
    this.post(message(id));
    return answer;
  }

  /** Waits for the sends handed over (their promises settle first), then stops the thread. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((r) => (this.closedWaiter = r));
    this.post({ type: 'close' });
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    this.failAll(new RtwhError('INTERNAL', 'the forwarding thread was closed before the bus answered'));
    this.worker.terminate();
  }

  private failAll(e: RtwhError): void {
    this.calls.failAll(e);
    this.hold(false);
  }

  private post(m: ToForwarder): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromForwarder): void {
    if (m.type === 'closed') {
      this.closedWaiter?.();
      return;
    }
    if (m.type === 'ready') return;
    this.calls.settle(m.id, m.type === 'ack' ? undefined : new RtwhError(m.code as ErrorCode, m.message));
    if (this.calls.size === 0) this.hold(false);
  }
}

/**
 * A job's state file written by the forwarding thread. `commit` gives the chunks their ids and bytes in the
 * caller's thread (StateStore.prepareChunks) and hands the batch over; the promise settles once the thread wrote it
 * and the bus acknowledged its chunks (or with the first error: a state file error stops the job, a bus error is
 * recovered like any failed send, the batch being committed).
 */
export class RemoteStore {
  constructor(
    private readonly thread: ForwardThread,
    private readonly sid: number,
    private readonly local: StateStore,
  ) {}

  /** `hold`: written, its chunks not sent (they stay in the outbox). */
  commit(b: CommitBatch, hold = false): Promise<void> {
    this.local.prepareChunks(b.chunks);
    const commit = toWire(b);
    return this.thread.call((id) => ({ type: 'commit', id, sid: this.sid, commit, ...(hold ? { hold } : {}) }));
  }

  close(): Promise<void> {
    return this.thread.call((id) => ({ type: 'store-close', id, sid: this.sid }));
  }
}
