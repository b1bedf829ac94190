/**
 * A faster decoder for Kafka Fetch responses (version 11, the one kafkajs 2.2 speaks with Kafka 2.3+ brokers).
 *
 * Why: kafkajs decodes every record with a fresh Decoder object, 64-bit Long arithmetic turned into strings for its
 * offset and timestamp, and a header object rebuilt by spreading once per header. On a consumer of small records
 * that was 40–50 % of the consume path. This decoder reads the same response bytes in one pass, with plain numbers
 * while offsets and timestamps stay below 2^53 (always, in practice; anything else falls back to kafkajs).
 *
 * What it produces is what kafkajs's own v11 decode produces (the same response object, the same message fields,
 * so kafkajs's Batch, its read_committed filtering of aborted transactions and control records, and its offset
 * bookkeeping work unchanged), with four differences only our consumer (consumer.ts) sees:
 * - header values are UTF-8 strings, not Buffers (a key given more than once keeps its last value: what
 *   consumer.ts made of kafkajs's arrays anyway). Only consumer.ts opens kafkajs consumers in this code base;
 * - each message also carries its offset and timestamp as numbers (FAST_OFFSET / FAST_TIMESTAMP);
 * - `offset` is that number too, not its decimal text: kafkajs reads a message's offset only through
 *   Long.fromValue (Batch's filter of every message below the fetched offset, the aborted-transaction filter,
 *   first/lastOffset → resolveOffset and the lag figures), which takes a number as it takes the text — without
 *   making the text and parsing it back into a BigInt per message (a tenth of what a consumed record cost);
 * - key and value are views into the response buffer (kafkajs's are too: Decoder.readBytes slices).
 *
 * A partition whose record set holds anything else than uncompressed v2 record batches (compressed batches,
 * legacy message sets) is decoded by kafkajs's own code, as before. A record batch cut off at the end of the
 * response (the broker sends whole batches up to maxBytes, the last one possibly partial) ends the partition's
 * messages, as kafkajs does.
 */
import fetchRequests from 'kafkajs/src/protocol/requests/fetch/index.js';
import KafkaJsDecoder from 'kafkajs/src/protocol/decoder.js';
import decodeMessagesV4 from 'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js';

const INSTALLED = Symbol.for('rtwh.kafka.fetchDecoder');
/** The Fetch version decoded here; others stay kafkajs's. */
export const FAST_FETCH_VERSION = 11;

/** Numeric offset and timestamp of a message decoded here (kafkajs's fields are strings). */
export const FAST_OFFSET = 'rtwhOffset';
export const FAST_TIMESTAMP = 'rtwhTimestamp';

/** How many partitions were decoded here and how many went to kafkajs's decoder (for tests and benchmarks). */
export const fetchDecodeStats = { fast: 0, fallback: 0 };

const RECORD_BATCH_HEADER = 61; // baseOffset(8) length(4) … recordCount(4): bytes up to the first record
const TWO_32 = 4294967296;

const TIMESTAMP_TYPE_FLAG = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const COMPRESSION_MASK = 0x07;
/** kafkajs's TimestampTypes. */
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

class Fallback extends Error {}

/** Reads the response; every read checks its bounds (a short read means a malformed response). */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError(`fetch response: ${n} bytes needed at ${this.pos}, ${this.buf.length - this.pos} left`);
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64String(): string {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v.toString();
  }
  string(): string {
    const len = this.int16();
    if (len < 0) return '';
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

/** int64 at pos as a number, or null when it is not a safe integer. */
function safeInt64(buf: Buffer, pos: number): number | null {
  const hi = buf.readInt32BE(pos);
  const lo = buf.readUInt32BE(pos + 4);
  if (hi > 0x1fffff || hi < -0x200000) return null;
  return hi * TWO_32 + lo;
}

/**
 * Zig-zag varint at `r.pos` (up to 64 bits, as a number; exact within ±2^53, which record fields never leave).
 * Throws Fallback past the end (a truncated batch was excluded before, so that is a malformed one).
 */
function varint(buf: Buffer, r: { pos: number }, end: number): number {
  let pos = r.pos;
  let b = pos < end ? buf[pos++]! : -1;
  if (b < 0) throw new Fallback();
  if (b < 0x80) {
    r.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let value = b & 0x7f;
  let mul = 128;
  for (let i = 1; ; i++) {
    if (pos >= end || i > 9) throw new Fallback();
    b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  r.pos = pos;
  // zig-zag: even → value/2, odd → -(value+1)/2
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

export interface FastMessage {
  magicByte: number;
  attributes: number;
  timestamp: string;
  /** A number (see the top); kafkajs's KafkaMessage types it as its decimal text. */
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  isControlRecord: boolean;
  batchContext: BatchContext;
  [FAST_OFFSET]: number;
  [FAST_TIMESTAMP]: number;
}

/**
 * The messages of one partition's record set, buf[start, end): whole v2 uncompressed batches; a cut-off last batch
 * ends the list. Throws Fallback for anything this decoder does not handle.
 */
export function decodeRecordSet(buf: Buffer, start: number, end: number): FastMessage[] {
  const out: FastMessage[] = [];
  let pos = start;
  const r = { pos: 0 };
  while (end - pos >= RECORD_BATCH_HEADER) {
    const length = buf.readInt32BE(pos + 8);
    const batchEnd = pos + 12 + length;
    if (length < RECORD_BATCH_HEADER - 12 || batchEnd > end) break; // cut off by maxBytes
    const magic = buf.readInt8(pos + 16);
    if (magic !== 2) throw new Fallback();
    const attributes = buf.readInt16BE(pos + 21);
    if ((attributes & COMPRESSION_MASK) !== 0) throw new Fallback();
    const baseOffset = safeInt64(buf, pos);
    const firstTimestamp = safeInt64(buf, pos + 27);
    const maxTimestamp = safeInt64(buf, pos + 35);
    if (baseOffset === null || firstTimestamp === null || maxTimestamp === null) throw new Fallback();
    const isControlBatch = (attributes & CONTROL_FLAG) !== 0;
    const logAppend = (attributes & TIMESTAMP_TYPE_FLAG) !== 0;
    const ctx: BatchContext = {
      firstOffset: String(baseOffset),
      firstTimestamp: String(firstTimestamp),
      partitionLeaderEpoch: buf.readInt32BE(pos + 12),
      inTransaction: (attributes & TRANSACTIONAL_FLAG) !== 0,
      isControlBatch,
      lastOffsetDelta: buf.readInt32BE(pos + 23),
      producerId: buf.readBigInt64BE(pos + 43).toString(),
      producerEpoch: buf.readInt16BE(pos + 51),
      firstSequence: buf.readInt32BE(pos + 53),
      maxTimestamp: String(maxTimestamp),
      timestampType: logAppend ? LOG_APPEND_TIME : CREATE_TIME,
      magicByte: 2,
    };
    const count = buf.readInt32BE(pos + 57);
    r.pos = pos + RECORD_BATCH_HEADER;
    for (let i = 0; i < count; i++) {
      const len = varint(buf, r, batchEnd);
      const recEnd = r.pos + len;
      if (len < 0 || recEnd > batchEnd) throw new Fallback();
      const recAttributes = buf.readInt8(r.pos++);
      const tsDelta = varint(buf, r, recEnd);
      const offDelta = varint(buf, r, recEnd);
      const keyLen = varint(buf, r, recEnd);
      let key: Buffer | null = null;
      if (keyLen >= 0) {
        if (r.pos + keyLen > recEnd) throw new Fallback();
        key = buf.subarray(r.pos, r.pos + keyLen);
        r.pos += keyLen;
      }
      const valueLen = varint(buf, r, recEnd);
      let value: Buffer | null = null;
      if (valueLen >= 0) {
        if (r.pos + valueLen > recEnd) throw new Fallback();
        value = buf.subarray(r.pos, r.pos + valueLen);
        r.pos += valueLen;
      }
      const nh = varint(buf, r, recEnd);
      const headers: Record<string, string> = {};
      if (nh > 0) {
        for (let h = 0; h < nh; h++) {
          const kl = varint(buf, r, recEnd);
          if (kl < 0 || r.pos + kl > recEnd) throw new Fallback();
          const hk = buf.toString('utf8', r.pos, r.pos + kl);
          r.pos += kl;
          const vl = varint(buf, r, recEnd);
          if (vl < 0) {
            // kafkajs reads a null header value as null; consumer.ts skipped those, so we do as well.
            continue;
          }
          if (r.pos + vl > recEnd) throw new Fallback();
          headers[hk] = buf.toString('utf8', r.pos, r.pos + vl);
          r.pos += vl;
        }
      } else if (nh < 0) throw new Fallback();
      if (r.pos !== recEnd) throw new Fallback();
      const offset = baseOffset + offDelta;
      const timestamp = logAppend ? maxTimestamp : firstTimestamp + tsDelta;
      out.push({
        magicByte: 2,
        attributes: recAttributes,
        timestamp: String(timestamp),
        offset,
        key,
        value,
        headers,
        isControlRecord: isControlBatch,
        batchContext: ctx,
        [FAST_OFFSET]: offset,
        [FAST_TIMESTAMP]: timestamp,
      });
    }
    if (r.pos !== batchEnd) throw new Fallback();
    pos = batchEnd;
  }
  return out;
}

interface PartitionData {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  lastStartOffset: string;
  abortedTransactions: { producerId: string; firstOffset: string }[];
  preferredReadReplica: number;
  messages: unknown[];
}

/** Fetch response v11, as kafkajs's v11 decode returns it. */
export async function decodeFetchV11(raw: Buffer): Promise<unknown> {
  const r = new Reader(raw);
  const clientSideThrottleTime = r.int32();
  const errorCode = r.int16();
  const sessionId = r.int32();
  const topics = r.int32();
  const responses: { topicName: string; partitions: PartitionData[] }[] = [];
  for (let t = 0; t < topics; t++) {
    const topicName = r.string();
    const n = r.int32();
    const partitions: PartitionData[] = [];
    for (let p = 0; p < n; p++) {
      const partition = r.int32();
      const pErrorCode = r.int16();
      const highWatermark = r.int64String();
      const lastStableOffset = r.int64String();
      const lastStartOffset = r.int64String();
      const na = r.int32();
      const abortedTransactions: { producerId: string; firstOffset: string }[] = [];
      for (let a = 0; a < na; a++) abortedTransactions.push({ producerId: r.int64String(), firstOffset: r.int64String() });
      const preferredReadReplica = r.int32();
      const sizeAt = r.pos;
      const size = r.int32();
      let messages: unknown[] = [];
      if (size > 0 && r.pos + size <= raw.length) {
        try {
          messages = decodeRecordSet(raw, r.pos, r.pos + size);
          fetchDecodeStats.fast++;
        } catch (e) {
          if (!(e instanceof Fallback)) throw e;
          fetchDecodeStats.fallback++;
          messages = (await decodeMessagesV4(new KafkaJsDecoder(raw.subarray(sizeAt)))) as unknown[];
        }
        r.pos += size;
      } else if (size > 0) {
        // kafkajs: a record set longer than the response is read as empty (and nothing after it).
        r.pos = raw.length;
      }
      partitions.push({ partition, errorCode: pErrorCode, highWatermark, lastStableOffset, lastStartOffset, abortedTransactions, preferredReadReplica, messages });
    }
    responses.push({ topicName, partitions });
  }
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

/** Makes kafkajs decode Fetch v11 responses with decodeFetchV11 (once per process; idempotent). */
export function installFetchDecoder(): void {
  const target = fetchRequests as typeof fetchRequests & { [INSTALLED]?: true };
  if (target[INSTALLED]) return;
  const original = fetchRequests.protocol;
  target.protocol = ({ version }) => {
    const make = original({ version });
    if (version !== FAST_FETCH_VERSION || typeof make !== 'function') return make;
    return (args) => {
      const built = make(args);
      return { ...built, response: { ...built.response, decode: decodeFetchV11 } };
    };
  };
  target[INSTALLED] = true;
}
