/**
 * Just enough of the Kafka protocol for tail to read partitions directly: Metadata v4 (leaders), ListOffsets v2, Fetch v4
 * (read_committed, RecordBatch v2) over one socket per broker, with the next fetch sent before the last one is
 * decoded. Why not kafkajs: its consumer decodes ~230k records/s here (Long.js varints, a message object per
 * record) and needs a group join; tail needs neither a group nor anything else from it. Group reads (--group)
 * still go through the bus.
 *
 * Versions: the broker (Kafka 4.x) accepts Metadata 0-13, ListOffsets 1-10 and Fetch 4-18; the ones used here are
 * non-flexible (plain int16-length strings and int32 arrays).
 */
import { connect, type Socket } from 'node:net';
import * as zlib from 'node:zlib';
import { q, RtwhError } from '../errors.ts';
import type { Headers } from '../bus/types.ts';
import { TOPIC_NAME_HINT } from '../bus/topic-name.ts';
import type { EnvelopeRecord } from './envelope.ts';

const API_FETCH = 1;
const API_LIST_OFFSETS = 2;
const API_METADATA = 3;

/** ListOffsets timestamps meaning the first stored offset and the end. */
export const EARLIEST = -2;
export const LATEST = -1;

/** Kafka error codes tail reacts to; the rest end the read with the code in the message. */
export const KafkaErrorCode = {
  none: 0,
  offsetOutOfRange: 1,
  unknownTopicOrPartition: 3,
  leaderNotAvailable: 5,
  notLeader: 6,
  invalidTopic: 17,
  fencedLeaderEpoch: 74,
  unknownLeaderEpoch: 75,
} as const;

/** Allocates the memory a response is assembled in (shared memory: its records go to the worker by reference). */
export type FrameAlloc = (size: number) => Buffer;

export const newFrame: FrameAlloc = (size) => Buffer.from(new SharedArrayBuffer(size));

export class KafkaConnection {
  /** Where responses are assembled; a reader may hand out recycled memory (kafka-fetch.ts). */
  alloc: FrameAlloc = newFrame;
  private frame: Buffer | null = null;
  private filled = 0;
  private readonly sizeBuf = Buffer.alloc(4);
  private sizeBytes = 0;
  private readonly waiting: { resolve(b: Buffer): void; reject(e: unknown): void }[] = [];
  private correlation = 0;
  private failure: Error | null = null;
  private readonly clientId: Buffer;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    clientId: string,
  ) {
    this.clientId = Buffer.from(clientId, 'utf8');
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(`connection to ${address} closed`)));
  }

  static open(host: string, port: number, clientId: string, timeoutMs = 5000): Promise<KafkaConnection> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RtwhError('BUS_UNAVAILABLE', `cannot reach Kafka at ${address}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new KafkaConnection(s, address, clientId));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new RtwhError('BUS_UNAVAILABLE', `cannot reach Kafka at ${address}: ${e.message}`, { cause: e }));
      });
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  /**
   * Responses are assembled chunk by chunk straight into a buffer of their size (no list of chunks joined at the
   * end), and that buffer is shared memory: the records' bytes go to tail's worker thread by reference.
   */
  private onData(d: Buffer): void {
    let pos = 0;
    while (pos < d.length) {
      if (this.frame === null) {
        // The 4-byte size may itself arrive split.
        while (this.sizeBytes < 4 && pos < d.length) this.sizeBuf[this.sizeBytes++] = d[pos++]!;
        if (this.sizeBytes < 4) return;
        const size = this.sizeBuf.readInt32BE(0);
        this.frame = this.alloc(size);
        this.filled = 0;
        this.sizeBytes = 0;
      }
      const n = Math.min(d.length - pos, this.frame.length - this.filled);
      d.copy(this.frame, this.filled, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === this.frame.length) {
        const frame = this.frame;
        this.frame = null;
        // Responses come back in request order on one connection; skip the correlation id.
        this.waiting.shift()?.resolve(frame.subarray(4));
      }
    }
  }

  /** Sends one request and resolves with the response body (after the correlation id). */
  request(apiKey: number, version: number, body: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const head = Buffer.alloc(4 + 2 + 2 + 4 + 2 + this.clientId.length);
    head.writeInt32BE(head.length - 4 + body.length, 0);
    head.writeInt16BE(apiKey, 4);
    head.writeInt16BE(version, 6);
    head.writeInt32BE(++this.correlation, 8);
    head.writeInt16BE(this.clientId.length, 12);
    this.clientId.copy(head, 14);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(Buffer.concat([head, body]));
    });
  }

  close(): void {
    this.fail(new Error('closed'));
    this.socket.destroy();
  }
}

/** A cursor over a response. */
class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}
  i8(): number {
    return this.b.readInt8(this.pos++);
  }
  i16(): number {
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): number {
    const v = this.b.readInt32BE(this.pos) * 4294967296 + this.b.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }
  str(): string | null {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.i32();
    if (n < 0) return null;
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

function str16(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + b.length);
  out.writeInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

export interface TopicLeaders {
  brokers: Map<number, { host: string; port: number }>;
  /** partition → leader node id (-1 while there is none). */
  leaders: Map<number, number>;
}

/**
 * Metadata v4 of one topic: its partitions' leaders and the brokers' addresses. v4 because it can say "do not
 * create the topic": older versions make a broker with auto.create.topics.enable create any topic asked about.
 */
export async function fetchLeaders(conn: KafkaConnection, topic: string): Promise<TopicLeaders> {
  const body = Buffer.concat([Buffer.from([0, 0, 0, 1]), str16(topic), Buffer.from([0])]);
  const r = new Reader(await conn.request(API_METADATA, 4, body));
  r.i32(); // throttle
  const brokers = new Map<number, { host: string; port: number }>();
  for (let n = r.i32(), i = 0; i < n; i++) {
    const id = r.i32();
    const host = r.str() ?? '';
    const port = r.i32();
    r.str(); // rack
    brokers.set(id, { host, port });
  }
  r.str(); // cluster id
  r.i32(); // controller id
  const leaders = new Map<number, number>();
  for (let nt = r.i32(), t = 0; t < nt; t++) {
    const err = r.i16();
    const name = r.str();
    r.i8(); // is_internal
    if (err === KafkaErrorCode.unknownTopicOrPartition) throw new RtwhError('TOPIC_NOT_FOUND', `topic ${q(topic)} does not exist`, { details: { topic } });
    if (err === KafkaErrorCode.invalidTopic) {
      throw new RtwhError('INVALID_NAME', `invalid topic name ${q(topic)}`, { hint: TOPIC_NAME_HINT, details: { topic } });
    }
    if (err !== 0 && err !== KafkaErrorCode.leaderNotAvailable) throw new RtwhError('BUS_ERROR', `metadata of ${q(name)} failed with Kafka error ${err}`);
    for (let np = r.i32(), p = 0; p < np; p++) {
      r.i16(); // partition error
      const partition = r.i32();
      const leader = r.i32();
      for (let k = r.i32(); k > 0; k--) r.i32(); // replicas
      for (let k = r.i32(); k > 0; k--) r.i32(); // isr
      leaders.set(partition, leader);
    }
  }
  return { brokers, leaders };
}

/**
 * ListOffsets v2 (read_committed) of some partitions on their leader: per partition the first offset whose
 * timestamp is >= `timestamp`, or EARLIEST / LATEST; -1 when no record is that late.
 */
export async function listOffsets(conn: KafkaConnection, topic: string, partitions: number[], timestamp: number): Promise<Map<number, number>> {
  const t = str16(topic);
  const b = Buffer.alloc(4 + 1 + 4 + t.length + 4 + partitions.length * 12);
  let o = b.writeInt32BE(-1, 0);
  o = b.writeInt8(1, o);
  o = b.writeInt32BE(1, o);
  o += t.copy(b, o);
  o = b.writeInt32BE(partitions.length, o);
  for (const p of partitions) {
    o = b.writeInt32BE(p, o);
    o = b.writeInt32BE(Math.floor(timestamp / 4294967296), o);
    o = b.writeUInt32BE(((timestamp % 4294967296) + 4294967296) % 4294967296, o);
  }
  const r = new Reader(await conn.request(API_LIST_OFFSETS, 2, b));
  r.i32(); // throttle
  const out = new Map<number, number>();
  for (let nt = r.i32(), i = 0; i < nt; i++) {
    r.str();
    for (let np = r.i32(), j = 0; j < np; j++) {
      const partition = r.i32();
      const err = r.i16();
      r.i64(); // timestamp
      const offset = r.i64();
      if (err !== 0) throw new KafkaPartitionError(err, partition);
      out.set(partition, offset);
    }
  }
  return out;
}

/** A per-partition Kafka error code (leader moved, unknown partition, …). */
export class KafkaPartitionError extends Error {
  constructor(
    readonly code: number,
    readonly partition: number,
  ) {
    super(`Kafka error ${code} on partition ${partition}`);
  }
}

export interface FetchPartition {
  partition: number;
  offset: number;
}

/** Fetch v4 request body: read_committed, replica -1. */
export function fetchRequest(topic: string, parts: FetchPartition[], maxWaitMs: number, maxBytes: number, partitionMaxBytes: number): Buffer {
  const t = str16(topic);
  const b = Buffer.alloc(4 + 4 + 4 + 4 + 1 + 4 + t.length + 4 + parts.length * 16);
  let o = 0;
  o = b.writeInt32BE(-1, o);
  o = b.writeInt32BE(maxWaitMs, o);
  o = b.writeInt32BE(1, o);
  o = b.writeInt32BE(maxBytes, o);
  o = b.writeInt8(1, o); // READ_COMMITTED: aborted transactions are never shown
  o = b.writeInt32BE(1, o);
  o += t.copy(b, o);
  o = b.writeInt32BE(parts.length, o);
  for (const p of parts) {
    o = b.writeInt32BE(p.partition, o);
    o = b.writeInt32BE(Math.floor(p.offset / 4294967296), o);
    o = b.writeUInt32BE(p.offset % 4294967296, o);
    o = b.writeInt32BE(partitionMaxBytes, o);
  }
  return b;
}

export interface FetchedPartition {
  partition: number;
  error: number;
  highWatermark: number;
  lastStableOffset: number;
  aborted: { producerId: number; firstOffset: number }[];
  records: Buffer | null;
}

export async function fetch(conn: KafkaConnection, request: Buffer): Promise<FetchedPartition[]> {
  return parseFetchResponse(await conn.request(API_FETCH, 4, request));
}

export function parseFetchResponse(body: Buffer): FetchedPartition[] {
  const r = new Reader(body);
  r.i32(); // throttle
  const out: FetchedPartition[] = [];
  for (let nt = r.i32(), t = 0; t < nt; t++) {
    r.str();
    for (let np = r.i32(), p = 0; p < np; p++) {
      const partition = r.i32();
      const error = r.i16();
      const highWatermark = r.i64();
      const lastStableOffset = r.i64();
      const aborted: FetchedPartition['aborted'] = [];
      for (let na = r.i32(), a = 0; a < na; a++) aborted.push({ producerId: r.i64(), firstOffset: r.i64() });
      out.push({ partition, error, highWatermark, lastStableOffset, aborted, records: r.bytes() });
    }
  }
  return out;
}

const BATCH_HEADER = 61;

/** The offset after the last complete batch in `records` (the next fetch offset), or `from` when there is none. */
export function nextOffsetAfter(records: Buffer | null, from: number): number {
  if (records === null) return from;
  let pos = 0;
  let next = from;
  while (pos + 12 <= records.length) {
    const base = records.readInt32BE(pos) * 4294967296 + records.readUInt32BE(pos + 4);
    const len = records.readInt32BE(pos + 8);
    if (pos + 12 + len > records.length || len < BATCH_HEADER - 12) break;
    const lastDelta = records.readInt32BE(pos + 23);
    next = Math.max(next, base + lastDelta + 1);
    pos += 12 + len;
  }
  return next;
}

const EMPTY_HEADERS: Headers = Object.freeze({}) as Headers;

/** What decodeBatches needs to drop aborted transactions (Kafka's Fetcher algorithm, read_committed). */
export class AbortedTracker {
  private pending: { producerId: number; firstOffset: number }[] = [];
  private readonly abortedProducers = new Set<number>();

  add(list: { producerId: number; firstOffset: number }[]): void {
    if (list.length === 0) return;
    this.pending.push(...list);
    this.pending.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** A transactional batch: true when its records belong to an aborted transaction. */
  skip(producerId: number, lastOffset: number, isControl: boolean, isAbortMarker: boolean): boolean {
    while (this.pending.length > 0 && this.pending[0]!.firstOffset <= lastOffset) this.abortedProducers.add(this.pending.shift()!.producerId);
    if (isControl) {
      if (isAbortMarker) this.abortedProducers.delete(producerId);
      return true;
    }
    return this.abortedProducers.has(producerId);
  }
}

type Codecs = typeof import('../bus/codecs.ts');
let codecs: Codecs | null = null;

/**
 * snappy and lz4 come from the bus's codecs, which also register themselves with kafkajs: loaded only when a
 * compressed batch shows up, so reading an uncompressed topic never loads kafkajs (start-up time).
 */
export async function loadCodecs(): Promise<void> {
  codecs ??= await import('../bus/codecs.ts');
}

/** True when some batch in `records` is compressed with snappy or lz4 (what needs loadCodecs first). */
export function needsCodecs(records: Buffer | null): boolean {
  if (records === null || codecs !== null) return false;
  let pos = 0;
  while (pos + 23 <= records.length) {
    const len = records.readInt32BE(pos + 8);
    const c = records.readInt16BE(pos + 21) & 7;
    if (c === 2 || c === 3) return true;
    if (len < BATCH_HEADER - 12) break;
    pos += 12 + len;
  }
  return false;
}

function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 1:
      return zlib.gunzipSync(data);
    case 2:
    case 3:
      if (codecs === null) throw new RtwhError('INTERNAL', 'snappy/lz4 batch decoded before loadCodecs()');
      return (codec === 2 ? codecs.snappyCodec : codecs.lz4Codec).decompress(data);
    case 4:
      return zlib.zstdDecompressSync(data);
    default:
      throw new RtwhError('BUS_ERROR', `record batch with unknown compression codec ${codec}`);
  }
}

/**
 * Decodes the record batches of one partition's fetch into `out`, skipping records below `from`, control
 * records and aborted transactions. A partial batch at the end (the fetch size cut it) is left for the next fetch.
 */
export function decodeBatches(topic: string, partition: number, records: Buffer, from: number, aborted: AbortedTracker, out: EnvelopeRecord[]): void {
  let pos = 0;
  while (pos + 12 <= records.length) {
    const baseOffset = records.readInt32BE(pos) * 4294967296 + records.readUInt32BE(pos + 4);
    const len = records.readInt32BE(pos + 8);
    const batchEnd = pos + 12 + len;
    if (batchEnd > records.length || len < BATCH_HEADER - 12) break;
    const magic = records.readInt8(pos + 16);
    if (magic !== 2) throw new RtwhError('BUS_ERROR', `${topic}[${partition}] offset ${baseOffset}: record batch magic ${magic} is not supported (only v2)`);
    const attributes = records.readInt16BE(pos + 21);
    const lastOffsetDelta = records.readInt32BE(pos + 23);
    const baseTimestamp = records.readInt32BE(pos + 27) * 4294967296 + records.readUInt32BE(pos + 31);
    const maxTimestamp = records.readInt32BE(pos + 35) * 4294967296 + records.readUInt32BE(pos + 39);
    const producerId = records.readInt32BE(pos + 43) * 4294967296 + records.readUInt32BE(pos + 47);
    const count = records.readInt32BE(pos + 57);
    const codec = attributes & 7;
    const logAppendTime = (attributes & 8) !== 0;
    const transactional = (attributes & 16) !== 0;
    const control = (attributes & 32) !== 0;
    const lastOffset = baseOffset + lastOffsetDelta;
    let body = records.subarray(pos + BATCH_HEADER, batchEnd);
    pos = batchEnd;
    if (lastOffset < from) continue;
    if (codec !== 0) body = decompress(codec, body);
    if (transactional || control) {
      // The control record's key: version int16, type int16 (0 = abort, 1 = commit).
      let abortMarker = false;
      if (control && count > 0) {
        const c = { p: 0 };
        varint(body, c); // length
        c.p++; // attributes
        varint(body, c); // timestamp delta
        varint(body, c); // offset delta
        const keyLen = varint(body, c);
        abortMarker = keyLen >= 4 && body.readInt16BE(c.p + 2) === 0;
      }
      if (aborted.skip(producerId, lastOffset, control, abortMarker)) continue;
    }
    decodeRecords(topic, partition, body, count, baseOffset, logAppendTime ? maxTimestamp : baseTimestamp, logAppendTime, from, out);
  }
}

/** Zigzag varint at cursor c.p. */
function varint(b: Buffer, c: { p: number }): number {
  let shift = 0;
  let v = 0;
  for (;;) {
    const x = b[c.p++]!;
    v += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) break;
    shift += 7;
  }
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function decodeRecords(topic: string, partition: number, b: Buffer, count: number, baseOffset: number, baseTs: number, fixedTs: boolean, from: number, out: EnvelopeRecord[]): void {
  const c = { p: 0 };
  for (let i = 0; i < count; i++) {
    const len = varint(b, c);
    const end = c.p + len;
    c.p++; // attributes
    const tsDelta = varint(b, c);
    const offset = baseOffset + varint(b, c);
    const keyLen = varint(b, c);
    const key = keyLen < 0 ? null : b.subarray(c.p, c.p + keyLen);
    if (keyLen > 0) c.p += keyLen;
    const valueLen = varint(b, c);
    const value = valueLen < 0 ? null : b.subarray(c.p, c.p + valueLen);
    if (valueLen > 0) c.p += valueLen;
    let headers = EMPTY_HEADERS;
    const nh = varint(b, c);
    if (nh > 0) {
      headers = {};
      for (let h = 0; h < nh; h++) {
        const kl = varint(b, c);
        const k = b.toString('utf8', c.p, c.p + kl);
        c.p += kl;
        const vl = varint(b, c);
        // Like Headers.lastHeader in Java: a repeated key keeps its last value.
        headers[k] = vl < 0 ? '' : b.toString('utf8', c.p, c.p + vl);
        if (vl > 0) c.p += vl;
      }
    }
    c.p = end;
    if (offset < from) continue;
    out.push({ topic, partition, offset, timestamp: fixedTs ? baseTs : baseTs + tsDelta, key, headers, value });
  }
}
