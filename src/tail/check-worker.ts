/**
 * Worker entry: judges batches of records off the main thread (parsing JSON is most of tail's CPU time), and writes
 * their jsonl envelopes when the job asks, so reading and printing go on meanwhile. Messages: {id, batch} in, {id, verdicts} out;
 * `ready` first. A compiled binary has this worker only when the build lists this file as an entrypoint; without it
 * tail judges inline (checker.ts).
 */
import { judgeBatch, judgeRecords, unpackRecords, unpackValues, verdictBuffers, type PackedBatch } from './judge.ts';

declare const self: Worker;

self.onmessage = (e: MessageEvent<{ id: number; batch: PackedBatch }>) => {
  const { id, batch } = e.data;
  // Without envelopes to write only the values are needed: no record objects are rebuilt.
  const verdicts = batch.meta === null && !batch.job.envelope ? judgeBatch(unpackValues(batch), batch.job.etl, { role: batch.job.role ?? 'auto' }) : judgeRecords(unpackRecords(batch), batch.job);
  self.postMessage({ id, verdicts }, verdictBuffers(verdicts) as unknown as Parameters<Worker['postMessage']>[1]);
};
self.postMessage('ready');
