/**
 * Starting a worker thread of rtwh's own. From source the worker's file sits beside the module that starts it; in a
 * compiled binary it is an extra entrypoint of the build (scripts/build.ts WORKERS), addressed by its path from the
 * repository root. A worker says `{ type: 'ready' }` once loaded; one that fails to load, or is not ready in
 * time, is terminated and the next spec tried.
 */

/** A worker that said it is ready, or undefined when none of `specs` can be loaded in this build. */
export async function startWorker(specs: readonly string[], timeoutMs: number): Promise<Worker | undefined> {
  for (const spec of specs) {
    const worker = await startOne(spec, timeoutMs);
    if (worker) return worker;
  }
  return undefined;
}

async function startOne(spec: string, timeoutMs: number): Promise<Worker | undefined> {
  let worker: Worker;
  try {
    worker = new Worker(spec);
  } catch {
    return undefined;
  }
  const ready = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    worker.onmessage = (e: MessageEvent) => {
      if ((e.data as { type?: unknown } | null)?.type === 'ready') {
        clearTimeout(t);
        resolve(true);
      }
    };
    worker.onerror = () => {
      clearTimeout(t);
      resolve(false);
    };
  });
  if (!ready) {
    worker.terminate();
    return undefined;
  }
  worker.onerror = null;
  return worker;
}

/**
 * The answers a worker owes: each call gets an id, and the worker's message carrying that id settles it. The one
 * bookkeeping of the threads that produce for cdc (collect/cdc/sink.ts) and for the jobs (stream/forward-thread.ts).
 */
export class PendingCalls {
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();

  get size(): number {
    return this.calls.size;
  }

  /** A new call: the id to send with it, and the promise its answer settles. */
  open(): { id: number; answer: Promise<void> } {
    const id = this.nextId++;
    const answer = new Promise<void>((resolve, reject) => this.calls.set(id, { resolve, reject }));
    return { id, answer };
  }

  /** Resolves call `id`, or rejects it with `error`; false when it is not open (already settled, or failed by failAll). */
  settle(id: number, error?: unknown): boolean {
    const c = this.calls.get(id);
    if (!c) return false;
    this.calls.delete(id);
    if (error === undefined) c.resolve();
    else c.reject(error);
    return true;
  }

  /** Rejects every open call with `error`. */
  failAll(error: unknown): void {
    for (const c of this.calls.values()) c.reject(error);
    this.calls.clear();
  }
}
