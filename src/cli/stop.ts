/**
 * How long-running commands stop: the first Ctrl-C (or SIGTERM) asks the work to finish cleanly (flush, commit),
 * the second leaves at once (what was committed is kept; a restart does the rest). And whether to draw a spinner.
 */
export interface StopSignal {
  readonly signal: AbortSignal;
  /** Removes the handlers; call in `finally`. */
  dispose(): void;
}

export function stopOnSignals(say: () => void): StopSignal {
  const ac = new AbortController();
  let count = 0;
  const on = () => {
    if (++count > 1) process.exit(130);
    say();
    ac.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** A spinner only on a real terminal (stderr), never in pipes, logs or tests. */
export function wantSpinner(stdoutIsTTY: boolean): boolean {
  return stdoutIsTTY && Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0;
}
