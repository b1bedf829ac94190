/**
 * The --fast writer's groups built in a worker thread (day-worker.ts): generating a day and building its
 * statements and LOAD DATA text then run beside the sending and the server's work instead of taking turns
 * with them on one thread. The groups come back in order and are written exactly as the inline ones
 * (writeGroups): same groups, same statements, same order, so the database and its binlog are the same.
 *
 * Flow control by credits: the worker sends at most MAX_AHEAD groups the writer has not queued yet, so memory
 * stays bounded at any --scale. Started in the background before the connections open; when it cannot start
 * (a compiled binary, whose build does not list the worker) the caller builds inline.
 *
 * Off by default (MockDbTarget.worker, bench --worker on): on the 2-vCPU dev machine it measured slower, not
 * faster. The server, the writer's thread and the worker compete for the same two cores, and the worker
 * itself runs the day about twice as slowly as the writer's thread does (10×: first group after 80–110 ms vs
 * ~20 ms inline, the whole day 260–280 ms vs 100–150 ms; the state's 11,000 user rows are copied over, and
 * its code is compiled afresh). End to end, 10× fast: 50k rows/s median with it vs 53–67k inline.
 */
import { rtwhError } from '../../errors';
import type { DayJob, FromDayWorker, ToDayWorker } from './day-worker';
import type { BuiltGroup, GroupProducer } from './mysql-writer';

/** Groups sent by the worker and not yet queued by the writer, at most. */
const MAX_AHEAD = 4;

/** A worker given back by a finished run. */
let idle: DayThread | undefined;

export class DayThread {
  private readonly inbox: FromDayWorker[] = [];
  private waiting: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<FromDayWorker>) => {
      this.inbox.push(e.data);
      this.waiting?.();
      this.waiting = undefined;
    };
    worker.onerror = (e: ErrorEvent) => {
      this.inbox.push({ type: 'error', message: e.message || 'the worker stopped' });
      this.waiting?.();
      this.waiting = undefined;
    };
  }

  /**
   * A worker for a run: the one the last run of this process gave back (its code already compiled by the
   * JIT: a mock day is short, and a fresh worker runs it on cold code), or a new one.
   */
  static async acquire(): Promise<DayThread | undefined> {
    const t = idle;
    idle = undefined;
    if (!t) return DayThread.start();
    (t.worker as Worker & { ref?: () => void }).ref?.();
    return t;
  }

  /** Gives the worker back for the next run of this process; it does not keep the process alive. */
  release(): void {
    if (this.closed || idle) return this.close();
    (this.worker as Worker & { unref?: () => void }).unref?.();
    idle = this;
  }

  /** The worker when it starts and says it is ready within `timeoutMs`; undefined otherwise. */
  static async start(timeoutMs = 5000): Promise<DayThread | undefined> {
    // From source the worker sits beside this file; in a compiled binary it is an extra entrypoint of the build,
    // addressed by its path from the repository root.
    for (const spec of [new URL('./day-worker.ts', import.meta.url).href, './src/mock/db/day-worker.ts']) {
      let worker: Worker;
      try {
        worker = new Worker(spec);
      } catch {
        continue;
      }
      const ready = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs);
        worker.onmessage = (e: MessageEvent<FromDayWorker>) => {
          clearTimeout(t);
          resolve(e.data.type === 'ready');
        };
        worker.onerror = () => {
          clearTimeout(t);
          resolve(false);
        };
      });
      if (ready) return new DayThread(worker);
      worker.terminate();
    }
    return undefined;
  }

  private async next(): Promise<FromDayWorker> {
    while (this.inbox.length === 0) await new Promise<void>((r) => (this.waiting = r));
    return this.inbox.shift()!;
  }

  private post(m: ToDayWorker): void {
    this.worker.postMessage(m);
  }

  /**
   * The producer of one day's groups; `onTables` gets the rows per table of each group as it arrives. A day
   * after the first may leave out the state: the worker goes on from where its last day ended.
   */
  day(job: Omit<DayJob, 'type' | 'credits'>, onTables?: (perTable: Record<string, number>) => void): GroupProducer {
    return async (put) => {
      if (this.closed) throw new RangeError('the day thread is closed');
      this.post({ type: 'day', ...job, credits: MAX_AHEAD });
      for (;;) {
        const m = await this.next();
        if (m.type === 'done') return;
        if (m.type === 'error') {
          // the worker may be anywhere in the day: it is not used again
          this.close();
          throw rtwhError('INTERNAL', `mock db: the generating thread failed: ${m.message}`);
        }
        if (m.type !== 'group') continue;
        onTables?.(m.perTable);
        try {
          await put(m.group as BuiltGroup);
        } catch (e) {
          // the writer failed: the worker may still be building; it is not used again
          this.close();
          throw e;
        }
        this.post({ type: 'credit' });
      }
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
  }
}
