/** CPU time of processes and threads for the benchmarks' figures (Linux /proc, 100 ticks a second). */
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of a /proc stat line, in seconds. */
function statSeconds(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of a process (every thread), or NaN when it cannot be read (not Linux, another user's, gone). */
export function processCpuSeconds(pid: number | 'self'): number {
  try {
    return statSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of each thread of this process, keyed `tid:name` (the main thread's tid is the pid); empty without
 * /proc. A thread that ended between two readings is missing from the second.
 */
export function threadCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(`${tid}:${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`, statSeconds(stat));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The thread name of a threadCpuSeconds() key. */
export function threadName(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}
