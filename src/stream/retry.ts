/**
 * Waiting out services that are away: what is transient, an abortable sleep, and `patiently`, which retries a step
 * with backoff while its error is transient and reports the wait (the status goes 'waiting' with what it waits for).
 * Shared by the stream runtime; the dim job (src/dim/job.ts) has the same logic inline and can switch to this.
 */
import { RtwhError } from '../errors';

/** Codes of errors worth waiting out (a bus, a server or a store that is down) rather than failing the job. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['BUS_UNAVAILABLE', 'BUS_ERROR', 'MYSQL_UNAVAILABLE', 'DIM_STORE_UNAVAILABLE', 'CACHE_UNAVAILABLE']);

export function transient(e: unknown): boolean {
  return e instanceof RtwhError && TRANSIENT_CODES.has(e.code);
}

/** Sleeps `ms`, or less when `signal` aborts. */
export function abortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PatienceHooks {
  log: (message: string) => void;
  /** Called when a wait starts (what) and when it ends (undefined). */
  onWaiting: (what: string | undefined) => void;
  /** While aborted, a transient error is thrown instead of waited out. */
  signal?: AbortSignal;
  /** Longest pause between attempts (default 5000 ms). */
  maxDelayMs?: number;
}

export type Patiently = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** Retries `fn` while its error is transient, with backoff from 250 ms to maxDelayMs; other errors are thrown. */
export function patience(h: PatienceHooks): Patiently {
  let waitingFor: string | undefined;
  return async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    let delay = 250;
    for (;;) {
      try {
        const r = await fn();
        if (waitingFor === what) {
          waitingFor = undefined;
          h.onWaiting(undefined);
          h.log(`${what}: available again`);
        }
        return r;
      } catch (e) {
        if (!transient(e) || h.signal?.aborted) throw e;
        if (waitingFor !== what) {
          h.log(`${what}: ${(e as Error).message}; retrying`);
          waitingFor = what;
          h.onWaiting(what);
        }
        await abortable(delay, h.signal);
        delay = Math.min(delay * 2, h.maxDelayMs ?? 5000);
      }
    }
  };
}
