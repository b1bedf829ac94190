/**
 * Judging batches of records, in worker threads when they can be started (check-worker.ts), inline otherwise.
 * Results come back in submit order (the caller awaits them in order). Workers start in the background: batches
 * submitted before one said `ready` are judged inline, so a short `tail -n 5` never waits for them; a worker that
 * fails hands its batches back to be judged inline.
 */
import type { EnvelopeRecord } from './envelope.ts';
import { batchBuffers, judgeRecords, packRecords, type JudgeJob, type Verdicts } from './judge.ts';

export interface BatchChecker {
  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts>;
  /** How many batches are worth keeping in flight (1 when judging inline). */
  readonly depth: number;
  close(): void;
}

interface Pending {
  recs: EnvelopeRecord[];
  job: JudgeJob;
  worker: Worker;
  resolve(v: Verdicts): void;
}

type Transfer = Parameters<Worker['postMessage']>[1];

const WORKER_SPECS = [new URL('./check-worker.ts', import.meta.url).href, './src/tail/check-worker.ts'];

class WorkerChecker implements BatchChecker {
  private readonly ready: Worker[] = [];
  private readonly all: Worker[] = [];
  private nextId = 0;
  private turn = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(count: number) {
    for (let i = 0; i < count; i++) this.start(0);
  }

  /**
   * From source the worker sits beside this file; in a compiled binary it is an extra entrypoint of the build,
   * found by its path from the project root. A spec that fails to load (error before `ready`) tries the next.
   */
  private start(spec: number): void {
    const url = WORKER_SPECS[spec];
    if (url === undefined || this.closed) return;
    let w: Worker;
    try {
      w = new Worker(url);
    } catch {
      return this.start(spec + 1);
    }
    this.all.push(w);
    let ready = false;
    w.addEventListener('message', (e: MessageEvent<'ready' | { id: number; verdicts: Verdicts }>) => {
      if (e.data === 'ready') {
        ready = true;
        this.ready.push(w);
        return;
      }
      const p = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      p?.resolve(e.data.verdicts);
    });
    w.addEventListener('error', () => {
      this.fail(w);
      if (!ready) this.start(spec + 1);
    });
    // A worker must not keep the process alive on its own.
    (w as Worker & { unref?: () => void }).unref?.();
  }

  get depth(): number {
    return this.ready.length * 2 + 1;
  }

  /** A worker gone (not in this build, or crashed): what it held is judged here. */
  private fail(w: Worker): void {
    const i = this.ready.indexOf(w);
    if (i >= 0) this.ready.splice(i, 1);
    const j = this.all.indexOf(w);
    if (j >= 0) this.all.splice(j, 1);
    w.terminate();
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.resolve(judgeRecords(p.recs, p.job));
    }
  }

  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts> {
    // Workers two batches behind: judge this one here rather than wait for them (the main thread would otherwise
    // idle until they catch up). This balances the threads whatever the machine.
    if (this.ready.length === 0 || this.pending.size >= this.ready.length * 2) return Promise.resolve(judgeRecords(recs, job));
    const worker = this.ready[this.turn++ % this.ready.length]!;
    const id = this.nextId++;
    const batch = packRecords(recs, job);
    return new Promise((resolve) => {
      this.pending.set(id, { recs, job, worker, resolve });
      worker.postMessage({ id, batch }, batchBuffers(batch) as unknown as Transfer);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.all) w.terminate();
    this.all.length = 0;
    this.ready.length = 0;
  }
}

class InlineChecker implements BatchChecker {
  readonly depth = 1;
  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts> {
    return Promise.resolve(judgeRecords(recs, job));
  }
  close(): void {}
}

/**
 * A checker with `workers` worker threads (0 = inline). JSON parsing dominates, so on a machine with a second
 * core the workers take it while the main thread reads and writes.
 */
export function openChecker(workers: number): BatchChecker {
  return workers > 0 ? new WorkerChecker(workers) : new InlineChecker();
}

/** How many workers suit this machine: one less than its cores, at least 1 when there are 2, at most 3. */
export function defaultWorkers(): number {
  const cores = (navigator as { hardwareConcurrency?: number }).hardwareConcurrency ?? 1;
  return cores < 2 ? 0 : Math.min(3, Math.max(1, cores - 1));
}
