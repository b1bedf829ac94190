/**
 * Kafka's default key partitioner, so a key lands on the same partition whether the bus is Kafka or
 * SQLite, and a job moved between the two keeps per-key order and co-partitioning.
 *
 * Keyed: `toPositive(murmur2(keyBytes)) % numPartitions` (Java client's `Utils.murmur2`, seed 0x9747b28c).
 * Keyless: round-robin per topic, as kafkajs's DefaultPartitioner does.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

const utf8 = new TextEncoder();

/** Java's `Utils.murmur2`: a signed 32-bit result, bit-for-bit the same as the Java client. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  // Java works in wrapping int32 arithmetic: Math.imul and `| 0` reproduce it; `>>>` is Java's `>>>`.
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // Java's switch falls through 3 → 2 → 1; the multiply happens once, only when a tail exists.
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, so MIN_VALUE maps to 0). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

export function keyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? utf8.encode(key) : key;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: string | Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(keyBytes(key))) % numPartitions;
}

export type PartitionerKey = string | Uint8Array | null | undefined;

/** Chooses a partition for one record of `topic`; stateful only for keyless records. */
export type Partitioner = (topic: string, key: PartitionerKey, numPartitions: number) => number;

/**
 * The default partitioner: murmur2 for keyed records, round-robin for keyless ones. Each topic's
 * counter starts at a random point so many short-lived producers don't all pile onto partition 0.
 */
export function createDefaultPartitioner(): Partitioner {
  const counters = new Map<string, number>();
  return (topic, key, numPartitions) => {
    if (key !== null && key !== undefined) return partitionForKey(key, numPartitions);
    const next = ((counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1) | 0;
    counters.set(topic, next);
    return toPositive(next) % numPartitions;
  };
}
