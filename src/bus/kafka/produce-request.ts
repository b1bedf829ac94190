/**
 * Our encoder for kafkajs's Produce requests (v3–v7, record batch v2), and the "prepared batch" message that lets
 * rtwh's producer hand kafkajs one object per partition instead of one per record.
 *
 * Why an override: `bun --cpu-prof` of rtwh producing 450-byte records through plain kafkajs 2.2.4 (~45k msg/s)
 * put most of the CPU in kafkajs's per-record work: grouping records per partition by copying the group array for
 * every record (quadratic, 23%), zero-filled Buffers per record and per varint plus growth/concatenation copies
 * (~25%), BigInt-backed Long math for murmur2 and varlongs (~10%), and a byte-at-a-time CRC-32C (8%). After this
 * change the same run is ~4x faster and what remains is mostly the UTF-8 copy of the values, the CRC (slice-by-8)
 * and the socket write. A lost sequence (see below) would be silent data loss, so the ledger is tested on its own.
 * kafkajs has no public hook for any of it. It does look a request's encoder up per call, through the exported
 * `protocol` function of its `requests/produce` module (lookupRequest → definition.protocol({version})). That one
 * property is what installProduceEncoder() replaces; metadata and connections stay kafkajs's. Only versions 3–7 are
 * taken over (the ones that carry record batch v2; Kafka 4 refuses older ones anyway); the request bytes are what kafkajs would write for the same
 * messages (test/bus/kafka-record-batch.test.ts checks, byte for byte).
 *
 * A PreparedBatch (see below) carries a whole partition's records, already written, and the producer id, epoch and
 * first sequence its SequenceLedger assigned; the encoder writes those into the batch header. The requests are sent
 * by pipeline.ts (several in flight), which numbers batches in send order and records the broker's answer per
 * partition (trackingResponse) before kafkajs's parse throws on the first partition error and loses the others.
 * A lost or reused sequence would be silent data loss or a dropped batch, so the ledger is tested on its own.
 */
import produce, { type ProduceProtocol, type ProduceProtocolArgs, type ProduceResponse } from 'kafkajs/src/protocol/requests/produce/index.js';
import Encoder from 'kafkajs/src/protocol/encoder.js';
import { encodeRecords, finishBatch, incrementSequence, type EncodedBatch, type RecordInput } from './record-batch.ts';

const PREPARED = Symbol.for('rtwh.kafka.preparedBatch');
const INSTALLED = Symbol.for('rtwh.kafka.produceEncoder');
/** Kafka error codes that mean "these records are in the log". 46 = DUPLICATE_SEQUENCE_NUMBER (pre-2.x brokers). */
const WRITTEN = new Set([0, 46]);

/**
 * A partition's records, written once (see record-batch.ts), as one kafkajs "message" of a Produce request. The
 * producer id, epoch and first sequence are the ones its SequenceLedger assigned (pipeline.ts assigns them in send
 * order, just before the batch first goes out under the current producer id).
 */
export class PreparedBatch {
  readonly [PREPARED] = true;
  readonly value = null;
  producerId = -1n;
  producerEpoch = 0;
  sequence = 0;
  /** The ledger generation the numbers above belong to (-1: none assigned yet). */
  generation = -1;
  /**
   * 'new': not in a request yet; 'sent': in a request with no answer yet; 'written' (the broker has it, at
   * writtenAt); 'refused' (the broker answered errorCode for it).
   */
  state: 'new' | 'sent' | 'written' | 'refused' = 'new';
  /** A request with this batch ended without the broker's answer for it: it may or may not be in the log. */
  uncertain = false;
  errorCode = 0;
  /** The offset of the first record, once the broker has answered that it wrote the batch. */
  writtenAt: number | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly batch: EncodedBatch,
    readonly ledger: SequenceLedger,
    /** How many partitions the topic had when the records were grouped (see producer.ts). */
    readonly partitionCount: number,
  ) {}

  get count(): number {
    return this.batch.count;
  }

  /** Whether this batch may or may not be in the log. */
  get outcomeUnknown(): boolean {
    return this.state !== 'written' && (this.uncertain || this.state === 'sent');
  }
}

export function isPreparedBatch(x: unknown): x is PreparedBatch {
  return typeof x === 'object' && x !== null && (x as { [PREPARED]?: unknown })[PREPARED] === true;
}

/**
 * Idempotent-producer sequence numbers per topic-partition, under one producer id and epoch. Kafka writes a batch
 * whose first sequence is the previous written batch's last + 1, refuses a later one as OUT_OF_ORDER_SEQUENCE_NUMBER
 * (so batches sent while an earlier one failed are never written ahead of it), and answers a resend of one of the
 * last five written batches, with its original sequence, as a success without writing it again.
 *
 * `assign` numbers batches in the order they are handed over — the send order, also with several requests in
 * flight. `answered` records the broker's word per batch. `rewind` (after batches were refused for good and will not
 * be resent) hands out numbers again from the last written batch; it is only correct when no batch's outcome is
 * unknown — otherwise the producer takes a new producer id instead (`reset`).
 */
export class SequenceLedger {
  producerId = -1n;
  producerEpoch = 0;
  /** Bumped by reset() and rewind(): numbers of an older generation are not valid any more. */
  generation = 0;
  private readonly next = new Map<string, number>();
  /** The sequence after the last batch the broker wrote, per partition. */
  private readonly acked = new Map<string, number>();

  get idempotent(): boolean {
    return this.producerId >= 0n;
  }

  /** A new producer id (InitProducerId): every partition starts at sequence 0. */
  reset(producerId: bigint, producerEpoch: number): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.generation++;
    this.next.clear();
    this.acked.clear();
  }

  /** Numbers `b` as the next batch of its partition. Not idempotent: producer id -1, sequence 0 (as kafkajs). */
  assign(b: PreparedBatch): void {
    b.generation = this.generation;
    b.uncertain = false;
    if (b.state !== 'written') b.state = 'new';
    if (!this.idempotent) {
      b.producerId = -1n;
      b.producerEpoch = 0;
      b.sequence = 0;
      return;
    }
    const tp = `${b.topic}\u0000${b.partition}`;
    const sequence = this.next.get(tp) ?? 0;
    b.producerId = this.producerId;
    b.producerEpoch = this.producerEpoch;
    b.sequence = sequence;
    this.next.set(tp, incrementSequence(sequence, b.count));
  }

  /**
   * Whether the broker has written a batch of this partition under the current producer id. Until it has, it keeps
   * no sequence for the producer there and writes a batch with ANY sequence: a second batch sent while the first is
   * out would be written ahead of it if the first failed (a leader not ready yet) — pipeline.ts holds it back.
   */
  confirmed(topic: string, partition: number): boolean {
    return !this.idempotent || this.acked.has(`${topic}\u0000${partition}`);
  }

  /** Every batch not written keeps no number: the next assign() continues after the last written batch. */
  rewind(): void {
    this.generation++;
    for (const tp of this.next.keys()) this.next.set(tp, this.acked.get(tp) ?? 0);
  }

  answered(b: PreparedBatch, errorCode: number, baseOffset?: number): void {
    if (b.generation !== this.generation || b.state === 'written') return;
    if (WRITTEN.has(errorCode)) {
      b.state = 'written';
      b.errorCode = 0;
      if (baseOffset !== undefined) b.writtenAt = baseOffset;
      if (this.idempotent) this.acked.set(`${b.topic}\u0000${b.partition}`, incrementSequence(b.sequence, b.count));
    } else {
      b.state = 'refused';
      b.errorCode = errorCode;
    }
  }
}

function toBigInt(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' || typeof x === 'string') return BigInt(x);
  // kafkajs's Long wraps a bigint in .value
  const v = (x as { value?: unknown } | null)?.value;
  if (typeof v === 'bigint') return v;
  return -1n;
}

/** kafkajs message (key, value, headers, timestamp as string or number) → RecordInput, kafkajs's timestamp rules. */
function plainBatch(messages: unknown[], compression: number): Promise<EncodedBatch> {
  type KafkaJsMessage = { key?: unknown; value?: unknown; headers?: RecordInput['headers']; timestamp?: unknown };
  const now = Date.now();
  let first = Infinity;
  let max = -Infinity;
  for (const m of messages as KafkaJsMessage[]) {
    if (m.timestamp == null) continue;
    const t = Number(m.timestamp);
    if (t < first) first = t;
    if (t > max) max = t;
  }
  if (first === Infinity) first = max = now;
  const records: RecordInput[] = (messages as KafkaJsMessage[]).map((m) => ({
    key: m.key as RecordInput['key'],
    value: m.value as RecordInput['value'],
    headers: m.headers,
    // kafkajs: (message.timestamp || now) - firstTimestamp
    timestamp: m.timestamp ? Number(m.timestamp) : now,
  }));
  return encodeRecords(records, compression, first, max);
}

interface PartitionBytes {
  partition: number;
  batch: Buffer;
  /** Bytes free in front of `batch` (EncodedBatch.room). */
  room: number;
}

async function encodeProduce(args: ProduceProtocolArgs, prepared: PreparedBatch[]): Promise<Encoder> {
  prepared.length = 0;
  const transactionalId = args.transactionalId ?? null;
  const producerId = toBigInt(args.producerId ?? -1n);
  const producerEpoch = args.producerEpoch ?? 0;
  const transactional = transactionalId !== null;
  const topics: Array<{ topic: string; partitions: PartitionBytes[] }> = [];
  let size = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  for (const { topic, partitions } of args.topicData) {
    const out: PartitionBytes[] = [];
    size += 2 + Buffer.byteLength(topic) + 4;
    for (const p of partitions) {
      let batch: Buffer;
      let room = 0;
      const only = p.messages.length === 1 ? p.messages[0] : undefined;
      if (isPreparedBatch(only)) {
        // Numbered by its ledger (pipeline.ts), in send order; kafkajs's own numbers are not used.
        if (only.state !== 'written') only.state = 'sent';
        prepared.push(only);
        batch = finishBatch(only.batch, { producerId: only.producerId, producerEpoch: only.producerEpoch, baseSequence: only.sequence, transactional });
        room = only.batch.room ?? 0;
      } else {
        if (p.messages.some(isPreparedBatch)) throw new Error('internal: a prepared batch must be alone in its partition');
        const encoded = await plainBatch(p.messages, args.compression);
        batch = finishBatch(encoded, { producerId, producerEpoch, baseSequence: p.firstSequence ?? 0, transactional });
      }
      out.push({ partition: p.partition, batch, room });
      size += 4 + 4 + batch.length;
    }
    topics.push({ topic, partitions: out });
  }

  // One batch with room in front of it (record-batch.ts leaves some): the request's other fields go there, so the
  // batch — nearly all of the request — is not copied into a new buffer.
  const alone = topics.length === 1 && topics[0]!.partitions.length === 1 ? topics[0]!.partitions[0]! : undefined;
  const fields = alone ? size - alone.batch.length : 0;
  if (alone && alone.room >= fields + FRONT_ROOM) {
    const b = alone.batch;
    const buf = Buffer.from(b.buffer, b.byteOffset - fields, fields + b.length);
    if (writeFields(buf, args, transactionalId, topics) !== fields) throw new Error(`produce request writer: fields of ${fields} bytes expected`);
    return framed(buf, alone.room - fields);
  }
  // FRONT_ROOM free bytes in front: kafkajs's framing goes there instead of copying the request twice (see below).
  const whole = Buffer.allocUnsafe(FRONT_ROOM + size);
  const buf = whole.subarray(FRONT_ROOM);
  let pos = writeHead(buf, args, transactionalId, topics.length);
  for (const t of topics) {
    pos = buf.writeInt16BE(Buffer.byteLength(t.topic), pos);
    pos += buf.write(t.topic, pos, 'utf8');
    pos = buf.writeInt32BE(t.partitions.length, pos);
    for (const p of t.partitions) {
      pos = buf.writeInt32BE(p.partition, pos);
      pos = buf.writeInt32BE(p.batch.length, pos);
      buf.set(p.batch, pos);
      pos += p.batch.length;
    }
  }
  if (pos !== size) throw new Error(`produce request writer: wrote ${pos} bytes, sized ${size}`);
  return framed(buf, FRONT_ROOM);
}

/** The request's fields up to a lone partition's batch length, written at the start of `buf`; their size. */
function writeFields(buf: Buffer, args: ProduceProtocolArgs, transactionalId: string | null, topics: Array<{ topic: string; partitions: PartitionBytes[] }>): number {
  let pos = writeHead(buf, args, transactionalId, 1);
  const t = topics[0]!;
  pos = buf.writeInt16BE(Buffer.byteLength(t.topic), pos);
  pos += buf.write(t.topic, pos, 'utf8');
  pos = buf.writeInt32BE(1, pos);
  const p = t.partitions[0]!;
  pos = buf.writeInt32BE(p.partition, pos);
  pos = buf.writeInt32BE(p.batch.length, pos);
  return pos;
}

/** transactional_id, acks, timeout_ms and the topic count, at the start of `buf`; where they end. */
function writeHead(buf: Buffer, args: ProduceProtocolArgs, transactionalId: string | null, topicCount: number): number {
  let pos = 0;
  if (transactionalId === null) {
    pos = buf.writeInt16BE(-1, pos);
  } else {
    pos = buf.writeInt16BE(Buffer.byteLength(transactionalId), pos);
    pos += buf.write(transactionalId, pos, 'utf8');
  }
  pos = buf.writeInt16BE(args.acks, pos);
  pos = buf.writeInt32BE(args.timeout, pos);
  return buf.writeInt32BE(topicCount, pos);
}

/** kafkajs frames whatever encode() returns through Encoder.writeEncoder(): hand it our buffer as one. */
function framed(buf: Buffer, room: number): Encoder {
  const enc = new Encoder(0) as FramedEncoder;
  enc.buf = buf;
  enc.offset = buf.length;
  enc[FRONT] = room;
  return enc;
}

/**
 * Bytes kept free in front of a Produce request's body. kafkajs frames every request (protocol/request.js) by
 * writing the header (api key, version, correlation id, client id) into a new Encoder and copying the body after
 * it, then the size into another new Encoder and copying all of it again — two zero-filled power-of-two buffers
 * and two copies of a ~1 MB request (measured ~13% of producing cdc's records). With room in front, the patched
 * writeEncoder() below puts the few header bytes there and takes the body's buffer over instead.
 */
const FRONT_ROOM = 512;
const FRONT = Symbol.for('rtwh.kafka.frontRoom');
type FramedEncoder = Encoder & { [FRONT]?: number };

/**
 * Encoder#writeEncoder(value) for a value with free room in front of its bytes: the bytes written so far move into
 * that room and the encoder continues on the value's buffer — the same bytes as the copy, without it. Anything
 * else (every other request, a client id longer than the room) takes kafkajs's own copy.
 */
function installFraming(): void {
  const proto = Encoder.prototype as unknown as { writeEncoder(this: FramedEncoder, value: FramedEncoder): FramedEncoder; [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  const copy = proto.writeEncoder;
  proto.writeEncoder = function (this: FramedEncoder, value: FramedEncoder): FramedEncoder {
    const room = value?.[FRONT];
    if (room === undefined || !Buffer.isBuffer(value.buf) || !Buffer.isBuffer(this.buf) || this.offset > room) return copy.call(this, value);
    const head = this.offset;
    const merged = Buffer.from(value.buf.buffer, value.buf.byteOffset - head, head + value.offset);
    this.buf.copy(merged, 0, 0, head);
    this.buf = merged;
    this.offset = head + value.offset;
    this[FRONT] = room - head;
    return this;
  };
  proto[INSTALLED] = true;
}

interface DecodedProduce {
  topics?: Array<{ topicName: string; partitions: Array<{ partition: number; errorCode: number; baseOffset?: string }> }>;
}

function trackingResponse(response: ProduceResponse, prepared: PreparedBatch[]): ProduceResponse {
  return {
    decode: (raw) => response.decode(raw),
    parse: (data) => {
      if (prepared.length > 0) {
        // Per partition, before kafkajs's parse throws on the first error of any partition and loses the others.
        const answers = new Map<string, { errorCode: number; baseOffset?: string }>();
        for (const t of (data as DecodedProduce).topics ?? []) {
          for (const p of t.partitions) answers.set(`${t.topicName}\u0000${p.partition}`, p);
        }
        for (const b of prepared) {
          const a = answers.get(`${b.topic}\u0000${b.partition}`);
          // No entry for a partition we sent: treat as unanswered (it stays 'sent', i.e. outcome unknown).
          if (a === undefined) continue;
          b.ledger.answered(b, a.errorCode, a.baseOffset === undefined ? undefined : Number(a.baseOffset));
        }
      }
      return response.parse(data);
    },
  };
}

/** Replace kafkajs's Produce v3–v7 request encoder, process-wide. Idempotent. */
export function installProduceEncoder(): void {
  installFraming();
  const target = produce as typeof produce & { [INSTALLED]?: true };
  if (target[INSTALLED]) return;
  const original = produce.protocol;
  target.protocol = ({ version }) => {
    const make = original({ version });
    if (version < 3 || version > 7) return make;
    const ours: ProduceProtocol = (args) => {
      const built = make(args);
      const prepared: PreparedBatch[] = [];
      return {
        request: { ...built.request, encode: () => encodeProduce(args, prepared) },
        response: trackingResponse(built.response, prepared),
      };
    };
    return ours;
  };
  target[INSTALLED] = true;
}
