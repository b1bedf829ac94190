/**
 * `rtwh tail --input FILE|-`: the records of a JSONL file (or stdin) instead of a topic, so files can be checked
 * offline with the same validation and ETL. One line is one record value; offsets are line numbers from 0
 * (reports say `file:LINE`, from 1). A line that is itself a tail envelope ({"topic","partition","offset",…,"value"})
 * is unwrapped, so `rtwh tail ods_db > dump.jsonl` can be checked later with `rtwh tail --input dump.jsonl --etl`.
 *
 * Offsets: start, N, +N, -N, a:b, :b, a:end work on line numbers; timestamps need a topic.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { q, rtwhError } from '../errors.ts';
import type { Headers } from '../bus/types.ts';
import type { EnvelopeRecord } from './envelope.ts';
import type { OffsetSpec, PartitionPlan } from './offsets.ts';
import type { TailSource } from './source.ts';

const NL = 0x0a;
const CR = 0x0d;

/** Lines of a byte stream as Buffers, without their \n (or \r\n); a last line without newline counts too. */
export async function* byteLines(stream: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  let rest: Buffer | null = null;
  for await (const chunk of stream) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (rest !== null) {
      buf = Buffer.concat([rest, buf]);
      rest = null;
    }
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(NL, from);
      if (nl < 0) break;
      const end = nl > from && buf[nl - 1] === CR ? nl - 1 : nl;
      yield buf.subarray(from, end);
      from = nl + 1;
    }
    if (from < buf.length) rest = Buffer.from(buf.subarray(from));
  }
  if (rest !== null && rest.length > 0) yield rest[rest.length - 1] === CR ? rest.subarray(0, rest.length - 1) : rest;
}

/** A line that is a tail envelope → the record it describes (value bytes as the producer sent them). */
function unwrapEnvelope(line: Buffer): Partial<EnvelopeRecord> | undefined {
  // Cheap test first: envelopes start with {"topic":
  if (line.length < 12 || line[0] !== 0x7b || line.indexOf('"topic"') !== 1) return undefined;
  let env: unknown;
  try {
    env = JSON.parse(line.toString('utf8'), function keep(_k: string, v: unknown, ctx?: { source?: string }): unknown {
      const raw = (JSON as unknown as { rawJSON?: (s: string) => unknown }).rawJSON;
      return typeof v === 'number' && ctx?.source !== undefined && raw ? raw(ctx.source) : v;
    } as (this: unknown, key: string, value: unknown) => unknown);
  } catch {
    return undefined;
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return undefined;
  const e = env as Record<string, unknown>;
  if (!('partition' in e) || !('offset' in e) || !('value' in e)) return undefined;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(JSON.stringify(v)));
  const headers: Headers = {};
  if (typeof e.headers === 'object' && e.headers !== null) for (const [k, v] of Object.entries(e.headers)) headers[k] = String(v);
  const value = e.value === null ? null : typeof e.value === 'string' ? Buffer.from(e.value, 'utf8') : Buffer.from(JSON.stringify(e.value), 'utf8');
  return {
    topic: typeof e.topic === 'string' ? e.topic : undefined,
    partition: num(e.partition) ?? 0,
    offset: num(e.offset) ?? 0,
    timestamp: num(e.timestamp),
    key: typeof e.key === 'string' ? Buffer.from(e.key, 'utf8') : null,
    headers,
    value,
  };
}

export interface InputOptions {
  /** A path, or `-` for stdin. */
  path: string;
  cwd: string;
  spec?: OffsetSpec;
  stdin?: AsyncIterable<Uint8Array | string>;
}

class InputSource implements TailSource {
  readonly name: string;
  readonly plans: PartitionPlan[];
  private finished = false;
  private line = 0;
  private readonly lines: AsyncGenerator<Buffer>;
  /** -N: the last N lines, printed once the input ends. */
  private readonly tailN: number | null;
  private ring: EnvelopeRecord[] = [];
  private ringDrained = false;

  constructor(
    stream: AsyncIterable<Uint8Array | string>,
    name: string,
    private readonly start: number,
    private readonly end: number | null,
    tailN: number | null,
    private readonly closeStream: () => void,
  ) {
    this.name = name;
    this.lines = byteLines(stream);
    this.tailN = tailN;
    this.plans = [{ partition: 0, start, end, untilTimestamp: null }];
  }

  private record(value: Buffer, offset: number): EnvelopeRecord {
    const env = unwrapEnvelope(value);
    const base: EnvelopeRecord = { topic: this.name, partition: 0, offset, timestamp: null, key: null, headers: {}, value };
    return env ? { ...base, ...env, topic: env.topic ?? this.name } : base;
  }

  async poll(maxRecords: number): Promise<EnvelopeRecord[]> {
    const out: EnvelopeRecord[] = [];
    if (this.tailN !== null && this.ringDrained) {
      out.push(...this.ring.splice(0, maxRecords));
      if (this.ring.length === 0) this.finished = true;
      return out;
    }
    while (!this.finished && out.length < maxRecords) {
      const next = await this.lines.next();
      if (next.done) {
        if (this.tailN !== null) {
          this.ringDrained = true;
          out.push(...this.ring.splice(0, maxRecords - out.length));
          if (this.ring.length === 0) this.finished = true;
        } else this.finished = true;
        break;
      }
      const offset = this.line++;
      if (this.tailN !== null) {
        this.ring.push(this.record(next.value, offset));
        if (this.ring.length > this.tailN) this.ring.shift();
        continue;
      }
      if (offset < this.start) continue;
      if (this.end !== null && offset >= this.end) {
        this.finished = true;
        break;
      }
      out.push(this.record(next.value, offset));
      if (this.end !== null && offset + 1 >= this.end) this.finished = true;
    }
    return out;
  }

  done(): boolean {
    return this.finished;
  }

  async close(): Promise<void> {
    this.closeStream();
  }
}

/** Opens a JSONL file (or stdin for `-`) as a tail source. */
export function openInputSource(opts: InputOptions): TailSource {
  const spec = opts.spec;
  let start = 0;
  let end: number | null = null;
  let tailN: number | null = null;
  if (spec) {
    if (spec.from.kind === 'time' || spec.until.kind === 'time') {
      throw rtwhError('USAGE', `invalid -o ${q(spec.text)} with --input: a file has line numbers, not timestamps`, {
        hint: 'Use start, N, +N, -N or a:b (line numbers from 0) with --input.',
      });
    }
    switch (spec.from.kind) {
      case 'exact':
        start = spec.from.offset;
        break;
      case 'afterStart':
        start = spec.from.n;
        break;
      case 'beforeEnd':
        tailN = spec.from.n;
        break;
      case 'end':
        tailN = 0;
        break;
      default:
        break;
    }
    if (spec.until.kind === 'exact') end = spec.until.offset;
  }
  let stream: AsyncIterable<Uint8Array | string>;
  let close = () => {};
  let name: string;
  if (opts.path === '-') {
    stream = opts.stdin ?? (process.stdin as AsyncIterable<Uint8Array>);
    name = 'stdin';
  } else {
    const path = opts.path.startsWith('/') ? opts.path : `${opts.cwd}/${opts.path}`;
    if (!existsSync(path) || statSync(path).isDirectory()) {
      throw rtwhError('USAGE', `cannot read --input ${q(opts.path)}: ${existsSync(path) ? 'it is a directory' : 'no such file'}`, {
        hint: 'Pass a JSONL file (one record value per line), or - for stdin.',
      });
    }
    const rs: Readable = createReadStream(path, { highWaterMark: 1 << 20 });
    // Surface a missing file as a usage error at the first read rather than an unhandled stream error.
    stream = (async function* () {
      try {
        for await (const c of rs) yield c as Buffer;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw rtwhError('USAGE', `cannot read --input ${q(opts.path)}: ${code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    })();
    close = () => rs.destroy();
    name = basename(opts.path);
  }
  return new InputSource(stream, name, start, end, tailN, close);
}
