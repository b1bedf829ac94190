/** Hot-path draws for the db generator, on top of the shared seeded Rng. */
import type { Rng } from '../random';

/**
 * `n` random decimal digits (trade numbers, phone tails). Nine digits per 32-bit draw instead of one:
 * Rng.digits draws per digit, and order and payment numbers are long. The bias of `u32 % 1e9` is < 0.3 %,
 * invisible in an id-like number.
 */
export function digits(rng: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += String(rng.u32() % 1_000_000_000).padStart(9, '0');
  return s.length === n ? s : s.slice(0, n);
}

/** A weighted choice with its cumulative weights computed once (Rng.weighted sums them on every call). */
export class Weighted<T> {
  private readonly items: T[];
  private readonly cum: number[];
  private readonly total: number;

  constructor(pairs: readonly (readonly [T, number])[]) {
    this.items = pairs.map((p) => p[0]);
    let c = 0;
    this.cum = pairs.map((p) => (c += p[1]));
    this.total = c;
    if (c <= 0) throw new RangeError('Weighted needs a positive total weight');
  }

  pick(rng: Rng): T {
    const r = rng.int(0, this.total - 1);
    let i = 0;
    while (this.cum[i]! <= r) i++;
    return this.items[i]!;
  }
}
