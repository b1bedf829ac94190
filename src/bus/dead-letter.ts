/**
 * Dead letters: a record that cannot be used goes to `<input>_dlq` (by default) with the reason and where it
 * came from, and its ORIGINAL bytes as the value, so nothing is lost and it can be replayed once fixed.
 * The facts travel in headers (`rtwh.dlq.*`) so the value stays byte-identical.
 */
import type { Headers, ProduceMessage } from './types';

export interface DeadLetterSource {
  /** Input topic, partition and offset when the record came from the bus. */
  topic?: string;
  partition?: number;
  offset?: number;
  /** File and byte offset when it came from a file (ship log). */
  file?: string;
  position?: number;
}

export const DLQ_HEADER = {
  reason: 'rtwh.dlq.reason',
  stage: 'rtwh.dlq.stage',
  topic: 'rtwh.dlq.topic',
  partition: 'rtwh.dlq.partition',
  offset: 'rtwh.dlq.offset',
  file: 'rtwh.dlq.file',
  position: 'rtwh.dlq.position',
  time: 'rtwh.dlq.time',
} as const;

export function dlqTopic(input: string): string {
  return `${input}_dlq`;
}

/** Builds the dead-letter record for `original`, rejected by `stage` (e.g. `ship log`, `dwd log`) for `reason`. */
export function deadLetter(
  original: string | Buffer,
  reason: string,
  stage: string,
  source: DeadLetterSource,
  key: string | Buffer | null = null,
  now: number = Date.now(),
): ProduceMessage {
  const headers: Headers = { [DLQ_HEADER.reason]: reason, [DLQ_HEADER.stage]: stage, [DLQ_HEADER.time]: String(now) };
  if (source.topic !== undefined) headers[DLQ_HEADER.topic] = source.topic;
  if (source.partition !== undefined) headers[DLQ_HEADER.partition] = String(source.partition);
  if (source.offset !== undefined) headers[DLQ_HEADER.offset] = String(source.offset);
  if (source.file !== undefined) headers[DLQ_HEADER.file] = source.file;
  if (source.position !== undefined) headers[DLQ_HEADER.position] = String(source.position);
  return { key, value: original, headers };
}
