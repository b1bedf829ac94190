/**
 * Compression codecs for kafkajs, which only ships gzip. Without these, a consumer of a topic written by a
 * Java producer with compression.type=snappy|lz4|zstd crashes on the first batch.
 *
 * Pure JS (snappyjs, lz4js) or built into Bun (zstd via node:zlib), so `bun build --compile` needs no native addon.
 *
 * @example
 *   import { registerKafkaCodecs } from './codecs.ts';
 *   registerKafkaCodecs(); // once, before the first produce/fetch
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import * as lz4 from 'lz4js';
import * as snappy from 'snappyjs';
import { lz4FrameCompress } from './kafka/lz4-frame.ts';

/** Byte codec: what a Kafka record batch's `records` section goes through. */
export interface ByteCodec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

/** xerial snappy-java stream header: magic (8 bytes), version (int32 BE), min compatible version (int32 BE). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LEN = 16;
/** snappy-java's SnappyOutputStream default; the Java client writes chunks of this input size. */
const XERIAL_BLOCK = 32 * 1024;

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export function isXerialFramed(data: Uint8Array): boolean {
  if (data.byteLength < XERIAL_HEADER_LEN) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/**
 * Kafka snappy. We WRITE xerial frames, which is what the Java producer writes and what every client reads
 * (Java's SnappyInputStream, librdkafka, sarama, kafkajs-snappy). We READ both xerial frames and a bare snappy
 * block (what kafkajs-snappy and some older clients write; the Java reader also falls back to it).
 */
export const snappyCodec: ByteCodec = {
  compress(data: Buffer): Buffer {
    const parts: Buffer[] = [];
    const header = Buffer.alloc(XERIAL_HEADER_LEN);
    XERIAL_MAGIC.copy(header, 0);
    header.writeInt32BE(1, 8); // version
    header.writeInt32BE(1, 12); // minimum compatible version
    parts.push(header);
    for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK) {
      const block = asBuffer(snappy.compress(data.subarray(pos, pos + XERIAL_BLOCK)));
      const len = Buffer.alloc(4);
      len.writeInt32BE(block.length, 0);
      parts.push(len, block);
    }
    return Buffer.concat(parts);
  },

  decompress(data: Buffer): Buffer {
    if (!isXerialFramed(data)) return asBuffer(snappy.uncompress(data));
    const parts: Buffer[] = [];
    let pos = XERIAL_HEADER_LEN;
    while (pos < data.length) {
      if (pos + 4 > data.length) throw new Error(`truncated xerial snappy chunk header at byte ${pos}`);
      const len = data.readInt32BE(pos);
      pos += 4;
      if (len < 0 || pos + len > data.length) throw new Error(`bad xerial snappy chunk length ${len} at byte ${pos - 4}`);
      parts.push(asBuffer(snappy.uncompress(data.subarray(pos, pos + len))));
      pos += len;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  },
};

/**
 * Kafka lz4 (record format v2) is the standard LZ4 frame format. lz4js reads every variant; writing uses our own
 * frame writer because the broker refuses lz4js's frames (see kafka/lz4-frame.ts).
 */
export const lz4Codec: ByteCodec = {
  compress(data: Buffer): Buffer {
    return lz4FrameCompress(data);
  },
  decompress(data: Buffer): Buffer {
    return asBuffer(lz4.decompress(data));
  },
};

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

/** kafkajs's codec shape: a factory returning async compress(encoder) / decompress(buffer). */
interface KafkaJsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function kafkaJsCodec(codec: ByteCodec): () => KafkaJsCodec {
  const impl: KafkaJsCodec = {
    compress: async (encoder) => codec.compress(encoder.buffer),
    decompress: async (buffer) => codec.decompress(buffer),
  };
  return () => impl;
}

let registered = false;

/** Install snappy, lz4 and zstd into kafkajs's process-wide codec table. Idempotent. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = kafkaJsCodec(snappyCodec);
  CompressionCodecs[CompressionTypes.LZ4] = kafkaJsCodec(lz4Codec);
  // zstd is not a bus Compression option (yet) but Java producers use it; decoding it costs nothing with Bun.
  const zstd: KafkaJsCodec = {
    compress: async (encoder) => zstdCompress(encoder.buffer),
    decompress: async (buffer) => zstdDecompress(buffer),
  };
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstd;
}
