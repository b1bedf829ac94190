/**
 * Buffer's own string writers, `buf.utf8Write(s, at[, length])` and `buf.latin1Write(…)`: Node and Bun both have
 * them (not in @types/node), and they skip write()'s encoding lookup and argument checks — about half the time of
 * `buf.write(s, at, 'utf8')` for a value of a few hundred characters, ~4x for short ones. Where a runtime lacks
 * them, write() does the same. Each returns the number of bytes written.
 */

interface FastWrites {
  utf8Write?(s: string, offset: number, length?: number): number;
  latin1Write?(s: string, offset: number, length?: number): number;
}

const proto = Buffer.prototype as unknown as FastWrites;

export const utf8Write: (buf: Buffer<ArrayBufferLike>, s: string, at: number, length?: number) => number =
  typeof proto.utf8Write === 'function'
    ? (buf, s, at, length) => (buf as unknown as Required<FastWrites>).utf8Write(s, at, length ?? buf.length - at)
    : (buf, s, at, length) => buf.write(s, at, length ?? buf.length - at, 'utf8');

/** Latin-1 bytes of `s` (for text known to be ASCII, its UTF-8 bytes). */
export const latin1Write: (buf: Buffer<ArrayBufferLike>, s: string, at: number, length?: number) => number =
  typeof proto.latin1Write === 'function'
    ? (buf, s, at, length) => (buf as unknown as Required<FastWrites>).latin1Write(s, at, length ?? buf.length - at)
    : (buf, s, at, length) => buf.write(s, at, length ?? buf.length - at, 'latin1');
