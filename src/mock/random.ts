/**
 * The seeded random source every mock generator draws from. Same seed → same sequence on every machine and
 * runtime (pure 32-bit integer arithmetic, no Math.random, no floating-point accumulation), so
 * `--seed` gives byte-identical data.
 *
 * Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32.
 */

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    const next = () => {
      // splitmix32: spreads any seed (even 0 or 1) over the whole state.
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A derived, independent stream: `rng.fork('orders')` does not shift the parent's sequence by more than one draw. */
  fork(label: string): Rng {
    return new Rng((this.u32() ^ hashString(label)) >>> 0);
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive (unbiased by rejection). */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new RangeError(`Rng.int(${min}, ${max})`);
    const span = max - min + 1;
    if (span > 4294967296) throw new RangeError(`Rng.int range too wide: ${span}`);
    const limit = 4294967296 - (4294967296 % span);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return min + (x % span);
  }

  /** True with probability `percent` / 100 (the generator's knobs are percentages). */
  chance(percent: number): boolean {
    return this.int(0, 9999) < Math.round(percent * 100);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Picks by integer weights, like the generator's `30:60:10` ratios. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    if (total <= 0) throw new RangeError('Rng.weighted needs a positive total weight');
    let r = this.int(0, total - 1);
    for (const [item, w] of items) {
      if (r < w) return item;
      r -= w;
    }
    return items[items.length - 1]![0];
  }

  /** `k` distinct items, in random order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = this.int(i, copy.length - 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }

  /** Digits string of a given length, e.g. phone-number tails. */
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }

  /** Lower-case letters and digits. */
  alnum(n: number): string {
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += chars[this.int(0, chars.length - 1)];
    return s;
  }

  /** A version-4-shaped UUID from this stream (deterministic, unlike crypto.randomUUID). */
  uuid(): string {
    const h = (n: number) => n.toString(16).padStart(8, '0');
    const a = h(this.u32());
    const b = h(this.u32());
    const c = h(this.u32());
    const d = h(this.u32());
    const variant = ((parseInt(c[0]!, 16) & 0x3) | 0x8).toString(16);
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  }
}

/** FNV-1a over UTF-16 code units: a stable 32-bit hash for string seeds and fork labels. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Parses a `30:60:10`-style ratio option into weights, naming the flag on error. */
export function parseRatio(flag: string, value: string, parts: number): number[] {
  const ws = value.split(':').map((x) => Number(x));
  if (ws.length !== parts || ws.some((w) => !Number.isInteger(w) || w < 0) || ws.every((w) => w === 0)) {
    throw new RangeError(`invalid ${flag} ${JSON.stringify(value)}: expected ${parts} whole numbers separated by ':' (e.g. ${Array(parts).fill(10).join(':')})`);
  }
  return ws;
}
