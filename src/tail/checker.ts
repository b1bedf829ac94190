/**
 * Judging batches of values, in a worker when one can be started (check-worker.ts), inline otherwise. Results
 * come back in submit order. The worker starts in the background: batches submitted before it said `ready` are
 * judged inline, so a short `tail -n 5` never waits for it; a worker that fails hands its batches back inline.
 */
import type { EnvelopeRecord } from './envelope.ts';
import { batchBuffers, judgeRecords, packRecords, type JudgeJob, type Verdicts } from './judge.ts';

export interface BatchChecker {
  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts>;
  /** True once a worker takes batches: the caller may keep more than one in flight. */
  readonly parallel: boolean;
  close(): void;
}

interface Pending {
  recs: EnvelopeRecord[];
  job: JudgeJob;
  resolve(v: Verdicts): void;
}

class WorkerChecker implements BatchChecker {
  private worker: Worker | null = null;
  private ready = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    try {
      const w = new Worker(new URL('./check-worker.ts', import.meta.url).href);
      this.worker = w;
      w.addEventListener('message', (e: MessageEvent<'ready' | { id: number; verdicts: Verdicts }>) => {
        if (e.data === 'ready') {
          this.ready = true;
          return;
        }
        const p = this.pending.get(e.data.id);
        this.pending.delete(e.data.id);
        p?.resolve(e.data.verdicts);
      });
      w.addEventListener('error', () => this.fail());
      // The worker must not keep the process alive on its own.
      (w as Worker & { unref?: () => void }).unref?.();
    } catch {
      this.worker = null;
    }
  }

  get parallel(): boolean {
    return this.ready;
  }

  /** Worker gone (not in this build, or crashed): what it held is judged here. */
  private fail(): void {
    this.ready = false;
    this.worker?.terminate();
    this.worker = null;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(judgeRecords(p.recs, p.job));
    }
  }

  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts> {
    if (!this.ready || this.worker === null) return Promise.resolve(judgeRecords(recs, job));
    const id = this.nextId++;
    const batch = packRecords(recs, job);
    return new Promise((resolve) => {
      this.pending.set(id, { recs, job, resolve });
      this.worker!.postMessage({ id, batch }, batchBuffers(batch) as unknown as Parameters<Worker['postMessage']>[1]);
    });
  }

  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}

class InlineChecker implements BatchChecker {
  readonly parallel = false;
  submit(recs: EnvelopeRecord[], job: JudgeJob): Promise<Verdicts> {
    return Promise.resolve(judgeRecords(recs, job));
  }
  close(): void {}
}

/** A checker with a worker when `parallel` (and the machine has a second core), else inline. */
export function openChecker(parallel: boolean): BatchChecker {
  const cores = (navigator as { hardwareConcurrency?: number }).hardwareConcurrency ?? 1;
  return parallel && cores > 1 ? new WorkerChecker() : new InlineChecker();
}
