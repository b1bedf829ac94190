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
