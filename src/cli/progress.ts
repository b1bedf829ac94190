/**
 * Progress for long work: an ora spinner with count, rate and ETA on a terminal (stderr), nothing otherwise;
 * and the one summary line every long command ends with, e.g.
 *   inserted 128,400 rows into gmall in 1.9 s (67,600 rows/s)
 */
import ora, { type Ora } from 'ora';

export interface Progress {
  /** Adds to the done count (and redraws at most every 100 ms). */
  add(n: number, detail?: string): void;
  /** Stops the spinner (the caller prints the summary). */
  stop(): void;
  readonly done: number;
  /** Seconds since start. */
  elapsed(): number;
}

export interface ProgressOptions {
  label: string;
  unit: string;
  total?: number;
  /** Show a spinner: only when stderr is a terminal. */
  enabled: boolean;
  stream?: NodeJS.WriteStream;
}

export function startProgress(opts: ProgressOptions): Progress {
  const t0 = performance.now();
  let done = 0;
  let lastDraw = 0;
  let spinner: Ora | undefined;
  if (opts.enabled) {
    spinner = ora({ text: opts.label, stream: opts.stream ?? process.stderr, discardStdin: false }).start();
  }
  const elapsed = () => (performance.now() - t0) / 1000;
  return {
    get done() {
      return done;
    },
    elapsed,
    add(n, detail) {
      done += n;
      if (!spinner) return;
      const now = performance.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const rate = done / Math.max(elapsed(), 1e-3);
      const eta = opts.total && rate > 0 ? ` · ETA ${formatSeconds((opts.total - done) / rate)}` : '';
      const of = opts.total ? ` / ${formatCount(opts.total)}` : '';
      spinner.text = `${opts.label} ${formatCount(done)}${of} ${opts.unit} · ${formatCount(rate)} ${opts.unit}/s${eta}${detail ? ` · ${detail}` : ''}`;
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatSeconds(s: number): string {
  if (s < 0.1) return `${Math.max(1, Math.round(s * 1000))} ms`;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** `1 row`, `2 rows`, `1,024 records`: a count with a plural unit (ending in s), singular for exactly one. */
export function countOf(n: number, units: string): string {
  return `${formatCount(n)} ${n === 1 && units.endsWith('s') ? units.slice(0, -1) : units}`;
}

/** `inserted 128,400 rows into gmall in 1.9 s (67,600 rows/s)`; `unit` is plural (`1 row`, the rate per `rows/s`). */
export function summaryLine(verb: string, count: number, unit: string, where: string, seconds: number): string {
  const rate = count / Math.max(seconds, 1e-3);
  return `${verb} ${countOf(count, unit)}${where ? ` ${where}` : ''} in ${formatSeconds(seconds)} (${formatCount(rate)} ${unit}/s)`;
}
