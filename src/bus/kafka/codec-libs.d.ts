// Type shims for the two pure-JS codec packages, which ship no typings. Only what src/bus/codecs.ts uses.

declare module 'snappyjs' {
  /** Raw (unframed) snappy block → bytes. Returns the same kind of object it was given. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  /** Bytes → one raw (unframed) snappy block. */
  export function compress(uncompressed: Uint8Array): Uint8Array;
}

declare module 'lz4js' {
  /** LZ4 frame (magic 0x184D2204) → bytes. */
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  /** Bytes → one LZ4 frame (4 MiB blocks, dependent-block flag: Kafka refuses it, see kafka/lz4-frame.ts). */
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
}

declare module 'lz4js/xxh32.js' {
  /** xxHash32 of src[index, index+len). */
  export function hash(seed: number, src: Uint8Array, index: number, len: number): number;
}
