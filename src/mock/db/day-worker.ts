/**
 * Worker entry: generates mock days and builds their --fast groups (statements and LOAD DATA text) off the
 * writer's thread, so generating overlaps with sending and with the server's work (day-thread.ts is the other
 * side). The day's state stays here from one date to the next.
 *
 * In: {type:'day', …} starts a day; {type:'credit'} allows one more group ahead. Out: 'ready' first, then per
 * day its groups ({type:'group'}, their LOAD DATA text transferred, not copied) and {type:'done'}, or
 * {type:'error'}. A compiled binary has this worker only when the build lists this file as an entrypoint;
 * without it the groups are built inline.
 */
import { generateDay } from './day';
import { GroupBuilder, groupBuffers, type BuiltGroup } from './mysql-writer';
import type { MockDbOptions } from './options';
import type { MockState } from './state';

declare const self: Worker;

export interface DayJob {
  type: 'day';
  date: string;
  seed: number;
  options: MockDbOptions;
  /** The state to start from; absent = the state the previous day of this worker ended with. */
  state?: MockState;
  batchRows: number;
  infile: boolean;
  lanes: number;
  /** Groups the worker may send before it waits for a credit. */
  credits: number;
}

export type ToDayWorker = DayJob | { type: 'credit' };

export type FromDayWorker =
  | { type: 'ready' }
  /** `perTable`: rows per table of the transactions in this group. */
  | { type: 'group'; group: BuiltGroup; perTable: Record<string, number> }
  | { type: 'done' }
  | { type: 'error'; message: string };

let state: MockState | undefined;
let credits = 0;
let wake: (() => void) | undefined;
let jobs: Promise<void> = Promise.resolve();

function post(m: FromDayWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(m, transfer as unknown as Parameters<Worker['postMessage']>[1]);
}

async function runDay(job: DayJob): Promise<void> {
  if (job.state) state = job.state;
  if (!state) throw new RangeError('the first day needs a state');
  credits = job.credits;
  const builder = new GroupBuilder(job.batchRows, job.infile, job.lanes);
  let perTable: Record<string, number> = {};
  const send = async (group: BuiltGroup): Promise<void> => {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    post({ type: 'group', group, perTable }, groupBuffers(group));
    perTable = {};
  };
  const gen = generateDay({ date: job.date, seed: job.seed, options: job.options, state });
  for (;;) {
    const n = gen.next();
    if (n.done) {
      state = n.value;
      break;
    }
    for (const c of n.value.changes) perTable[c.table] = (perTable[c.table] ?? 0) + 1;
    const g = builder.add(n.value);
    if (g) await send(g);
  }
  const last = builder.end();
  if (last) await send(last);
  post({ type: 'done' });
}

self.onmessage = (e: MessageEvent<ToDayWorker>) => {
  const m = e.data;
  if (m.type === 'credit') {
    credits++;
    wake?.();
    wake = undefined;
    return;
  }
  jobs = jobs.then(() => runDay(m)).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
};
post({ type: 'ready' });
