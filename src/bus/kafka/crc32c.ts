/**
 * CRC-32C (Castagnoli): the checksum of a Kafka record batch (v2, magic 2), over the bytes from `attributes` to the
 * end of the batch.
 *
 * Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; check value crc32c("123456789") =
 * 0xE3069283. NOT the CRC-32 of zlib / `Bun.hash.crc32` / `zlib.crc32` (polynomial 0xEDB88320): Bun has no native
 * CRC-32C, so this is table-driven "slice-by-8" (8 tables of 256 entries; 8 input bytes per step), ~4x kafkajs's
 * byte-at-a-time loop.
 *
 * @example
 *   crc32c(Buffer.from('123456789')) === 0xe3069283
 */

const POLY = 0x82f63b78;

/** T[k*256 + b]: the CRC of byte b followed by k zero bytes. */
const T = new Int32Array(256 * 8);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let b = 0; b < 256; b++) {
  let c = T[b]!;
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + b] = c;
  }
}

/** CRC-32C of data[start, end), as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  let crc = ~0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  for (; i < end8; i += 8) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + data[i + 4]!]! ^
      T[512 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = T[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
