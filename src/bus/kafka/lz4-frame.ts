/**
 * LZ4 frame writer for Kafka record batches.
 *
 * Why not lz4js.compress: it writes the frame flag "dependent blocks" (FLG bit 5 clear), which the broker refuses
 * ("Dependent block stream is unsupported": Kafka's KafkaLZ4BlockInputStream only reads independent blocks), and
 * its block compressor may start a match closer than 12 bytes to the block end, which the reference LZ4 decoder
 * (lz4-java's JNI path) rejects. This writer follows the LZ4 block spec limits (MFLIMIT 12, LASTLITERALS 5),
 * compresses each 64 KiB block on its own (like the Java client), and writes no checksums but the header one.
 * Reading stays with lz4js.decompress, which handles every frame variant Kafka clients write.
 */

const MAGIC = 0x184d2204;
/** FLG: version 01, block independence. */
const FLG = 0x60;
/** BD: max block size id 4 = 64 KiB (Kafka's Java producer uses the same). */
const BD = 0x40;
/** Header checksum = (xxh32(FLG BD, seed 0) >> 8) & 0xff, constant for the fixed FLG/BD above (pinned by a test). */
export const LZ4_HEADER_CHECKSUM = 0x82;
const BLOCK = 64 * 1024;

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
const HASH_LOG = 14;

function readU32(b: Uint8Array, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
}

/** Writes a length continuation (the 255-run encoding of LZ4 sequences). */
function writeLength(dst: Uint8Array, d: number, n: number): number {
  while (n >= 255) {
    dst[d++] = 255;
    n -= 255;
  }
  dst[d++] = n;
  return d;
}

/** Compresses src[start, end) as one independent LZ4 block into dst at d; returns the end position in dst. */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number, table: Int32Array): number {
  table.fill(-1);
  let anchor = start;
  let ip = start;
  const matchStartLimit = end - MF_LIMIT; // a match must start before this
  const matchEndLimit = end - LAST_LITERALS; // and end at or before this
  let misses = 0;
  while (ip < matchStartLimit) {
    const seq = readU32(src, ip);
    const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
    const ref = table[h] as number;
    table[h] = ip;
    if (ref < start || ip - ref > MAX_DISTANCE || readU32(src, ref) !== seq) {
      // Skip faster through incompressible data, as the reference compressor does.
      ip += 1 + (misses++ >> 6);
      continue;
    }
    misses = 0;
    let len = MIN_MATCH;
    while (ip + len < matchEndLimit && src[ip + len] === src[ref + len]) len++;
    const literals = ip - anchor;
    const ml = len - MIN_MATCH;
    dst[d++] = ((literals < 15 ? literals : 15) << 4) | (ml < 15 ? ml : 15);
    if (literals >= 15) d = writeLength(dst, d, literals - 15);
    dst.set(src.subarray(anchor, ip), d);
    d += literals;
    const offset = ip - ref;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >> 8;
    if (ml >= 15) d = writeLength(dst, d, ml - 15);
    ip += len;
    anchor = ip;
  }
  const literals = end - anchor;
  dst[d++] = (literals < 15 ? literals : 15) << 4;
  if (literals >= 15) d = writeLength(dst, d, literals - 15);
  dst.set(src.subarray(anchor, end), d);
  return d + literals;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

let table: Int32Array | null = null;

/** Bytes → one LZ4 frame with independent 64 KiB blocks. */
export function lz4FrameCompress(src: Uint8Array): Buffer {
  table ??= new Int32Array(1 << HASH_LOG);
  const blocks = Math.max(1, Math.ceil(src.length / BLOCK));
  // Worst case per block: stored raw (4-byte size + data); compressed output is only kept when smaller.
  const out = Buffer.allocUnsafe(7 + blocks * (4 + BLOCK + Math.ceil(BLOCK / 255) + 16) + 4);
  writeU32(out, 0, MAGIC);
  out[4] = FLG;
  out[5] = BD;
  out[6] = LZ4_HEADER_CHECKSUM;
  let d = 7;
  for (let pos = 0; pos < src.length; pos += BLOCK) {
    const end = Math.min(src.length, pos + BLOCK);
    const size = compressBlock(src, pos, end, out, d + 4, table) - (d + 4);
    if (size < end - pos) {
      writeU32(out, d, size);
      d += 4 + size;
    } else {
      // Incompressible: store raw, high bit of the size set.
      writeU32(out, d, (end - pos) | 0x80000000);
      out.set(src.subarray(pos, end), d + 4);
      d += 4 + (end - pos);
    }
  }
  writeU32(out, d, 0); // end mark
  return out.subarray(0, d + 4);
}
