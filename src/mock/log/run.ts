/**
 * Runs the generator to one destination: size-rolling files (`--out DIR`), a topic (`--to TOPIC`), or a
 * byte stream (stdout). For a topic or a stream the generator fills a chunk, the destination takes it, and
 * only then is the next chunk generated: the bus's acknowledgement is the back-pressure. For files the
 * write of one chunk overlaps the generation of the next (at most one write in flight).
 */
import type { Producer, ProduceMessage } from '../../bus/types';
import { LogChunk } from './chunk';
import { AppLogGenerator } from './generator';
import type { MockLogOptions } from './options';
import { RollingFileWriter } from './rolling-file';

export type MockLogTarget =
  | { kind: 'files'; dir: string; maxFileSize: number }
  /**
   * value = the JSON line, key = mid (a device's lines stay in order in one partition), timestamp = the time the
   * batch is produced (CreateTime = now, as Flume's Kafka sink); the log's business time is its `ts`.
   */
  | { kind: 'topic'; producer: Producer; topic: string; batchLines?: number }
  | { kind: 'stream'; write: (bytes: Uint8Array) => void | Promise<void> };

export interface MockLogResult {
  lines: number;
  /** UTF-8 bytes written: file bytes with newlines, or the sum of record values for a topic. */
  bytes: number;
  /** Files written to, in order (files target only). */
  files: string[];
  seconds: number;
  seed: number;
}

/** Lines per produce call: one SQLite transaction each; Kafka splits it further. */
const DEFAULT_BATCH_LINES = 10_000;
/** ~1 MiB file writes: big enough that syscalls vanish from the profile, small enough to stay in cache. */
const FILE_CHUNK_BYTES = 1 << 20;

export async function runMockLog(
  opts: MockLogOptions,
  target: MockLogTarget,
  onProgress: (lines: number, bytes: number) => void = () => {},
): Promise<MockLogResult> {
  const t0 = performance.now();
  const gen = new AppLogGenerator(opts);
  let lines = 0;
  let bytes = 0;
  let files: string[] = [];

  if (target.kind === 'files') {
    // Two chunks: one is written to the file (off this thread) while the next is generated into the other.
    const writer = new RollingFileWriter(target.dir, opts.date, target.maxFileSize);
    const chunks = [new LogChunk(FILE_CHUNK_BYTES), new LogChunk(FILE_CHUNK_BYTES)];
    let writing: Promise<void> | undefined;
    try {
      for (let i = 0; !gen.done; i ^= 1) {
        const chunk = chunks[i]!;
        chunk.reset();
        lines += gen.fill(chunk, Number.MAX_SAFE_INTEGER);
        // The other chunk's write has finished before this one is handed over, so bytes land in order.
        if (writing) await writing;
        writing = writer.writeAsync(chunk.bytes());
        // Awaited before the next write or at the end; this only keeps a failure meanwhile from counting as unhandled.
        writing.catch(() => {});
        bytes += chunk.pos;
        onProgress(lines, bytes);
      }
      if (writing) await writing;
    } finally {
      // On an error, let a write in flight finish before its file descriptor is closed.
      if (writing) await writing.catch(() => {});
      writer.close();
    }
    files = writer.files;
  } else if (target.kind === 'topic') {
    const batch = target.batchLines ?? DEFAULT_BATCH_LINES;
    const chunk = new LogChunk(batch * 1024, true);
    while (!gen.done) {
      chunk.reset();
      const n = gen.fill(chunk, batch);
      if (n === 0) break;
      const messages: ProduceMessage[] = new Array(n);
      const buf = chunk.buf;
      // Produce time, not the line's ts: a mock day's past timestamps would fall to the topic's retention at once.
      const timestamp = Date.now();
      let start = 0;
      for (let i = 0; i < n; i++) {
        const end = chunk.ends[i]! - 1;
        // A view, not a copy: the chunk is refilled only after send() has resolved.
        messages[i] = { key: chunk.mids[i]!, value: Buffer.from(buf.buffer, buf.byteOffset + start, end - start), timestamp };
        start = end + 1;
      }
      await target.producer.send(target.topic, messages);
      lines += n;
      bytes += chunk.pos - n;
      onProgress(lines, bytes);
    }
  } else {
    const chunk = new LogChunk(FILE_CHUNK_BYTES);
    while (!gen.done) {
      chunk.reset();
      lines += gen.fill(chunk, Number.MAX_SAFE_INTEGER);
      // A copy: the stream may hold on to what it was given.
      await target.write(chunk.bytes().slice());
      bytes += chunk.pos;
      onProgress(lines, bytes);
    }
  }
  return { lines, bytes, files, seconds: (performance.now() - t0) / 1000, seed: opts.seed };
}
