/**
 * Worker entry: judges batches of record values off the main thread (parsing JSON is most of tail's CPU time), so
 * reading and printing go on meanwhile. Messages: {id, bytes, ends, etl} in, {id, verdicts} out; `ready` first.
 * A compiled binary has this worker only when the build lists this file as an entrypoint; without it tail judges
 * inline (checker.ts).
 */
import { judgeBatch, unpackValues, type PackedValues } from './judge.ts';

interface Job extends PackedValues {
  id: number;
  etl: string | null;
}

declare const self: Worker;

self.onmessage = (e: MessageEvent<Job>) => {
  const job = e.data;
  const verdicts = judgeBatch(unpackValues(job), job.etl);
  self.postMessage({ id: job.id, verdicts }, [
    verdicts.rejected.buffer, verdicts.invalid.buffer, verdicts.json.buffer, verdicts.format.buffer, verdicts.kind.buffer, verdicts.problemAt.buffer,
  ] as unknown as Parameters<Worker['postMessage']>[1]);
};
self.postMessage('ready');
