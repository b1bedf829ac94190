/**
 * Event-time join building blocks for stream jobs (src/stream/types.ts), kept in the job's keyed state.
 *
 * - `KeyedBuffer`: items grouped by a join key, each kept until the watermark passes its own event time +
 *   `retainMs` (an exact event-time timer per item). `expire()` hands the item back
 *   when its timer fires, so a caller can emit it (a left join after its wait) or count it as dropped.
 * - `IntervalJoin`: left ⋈ right on a key where right.ts ∈ [left.ts + lowerMs, left.ts + upperMs] (Flink's
 *   interval join). Matches are emitted as soon as both sides are there, in either arrival order, so the result
 *   does not depend on how partitions interleave; a left item that never matched is reported when it expires.
 *   With `inOrder` they are emitted when the left item expires instead (see there).
 *
 * One state entry per (buffer, key) holds that key's items (a handful per order), so lookups never scan; the
 * per-item timers are what removes them (see KeyedBuffer on TTLs).
 * Values must be plain JSON (see `freezeRow`): the runtime persists state as JSON text.
 */
import { ExactDecimal } from '../output/result';
import type { JobContext } from '../stream/types';

export interface Item<V> {
  id: string;
  /** Event time (ms). */
  ts: number;
  v: V;
  /** IntervalJoin left side: matches so far. */
  m?: number;
  /** IntervalJoin left side, `inOrder`: the rights matched so far, emitted when the left item leaves. */
  p?: Item<unknown>[];
}

/** Ids compare as numbers when both are whole numbers. */
export function idLess(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length !== b.length ? a.length < b.length : a < b;
  return a < b;
}

/** Splits a timer key `<key>|<id>` (ids never contain '|'; keys may). */
function splitTimerKey(tk: string): [string, string] {
  const i = tk.lastIndexOf('|');
  return [tk.slice(0, i), tk.slice(i + 1)];
}

export class KeyedBuffer<V> {
  /**
   * @param name state namespace and timer name (unique per job)
   * @param retainMs an item stays until the watermark reaches ts + retainMs (its timer removes it)
   * @param ttlMs optional backstop state TTL (event time after the last write to the key). Off by default: the
   *   engine fires a batch's timers after the watermark has moved to its new value, and a state read in onTimer
   *   judges TTLs against that value — an entry whose TTL ends between the timer's time and the new watermark is
   *   already invisible to the timer. With exact per-item timers a TTL only has to exceed the largest
   *   watermark jump of one batch, which the job cannot know.
   */
  constructor(
    readonly name: string,
    readonly retainMs: number,
    readonly ttlMs?: number,
  ) {}

  items(ctx: JobContext, key: string): Item<V>[] {
    return ctx.state.get<Item<V>[]>(this.name, key) ?? [];
  }

  /** Adds an item; an item with the same id already there is kept and false returned (a duplicate). */
  add(ctx: JobContext, key: string, item: Item<V>): boolean {
    const list = this.items(ctx, key);
    if (list.some((x) => x.id === item.id)) return false;
    this.write(ctx, key, [...list, item]);
    ctx.timers.register(this.name, `${key}|${item.id}`, item.ts + this.retainMs);
    return true;
  }

  /** Replaces the stored items of a key (same ids; e.g. a match counter changed). */
  write(ctx: JobContext, key: string, list: Item<V>[]): void {
    if (list.length === 0) ctx.state.delete(this.name, key);
    else ctx.state.put(this.name, key, list, this.ttlMs);
  }

  /** Removes an item before its time (its timer is cancelled). */
  remove(ctx: JobContext, key: string, id: string): void {
    const list = this.items(ctx, key);
    const it = list.find((x) => x.id === id);
    if (!it) return;
    ctx.timers.cancel(this.name, `${key}|${id}`, it.ts + this.retainMs);
    this.write(ctx, key, list.filter((x) => x !== it));
  }

  /** For the job's onTimer: removes and returns the item whose time has come. */
  expire(ctx: JobContext, timerKey: string): { key: string; item: Item<V> } | undefined {
    const [key, id] = splitTimerKey(timerKey);
    const list = this.items(ctx, key);
    const item = list.find((x) => x.id === id);
    if (!item) return undefined;
    this.write(ctx, key, list.filter((x) => x !== item));
    return { key, item };
  }
}

export interface IntervalJoinOptions<L, R> {
  name: string;
  /** right.ts ≥ left.ts + lowerMs */
  lowerMs: number;
  /** right.ts ≤ left.ts + upperMs */
  upperMs: number;
  /**
   * Event time both sides are kept beyond their last possible match: for sides that are produced after a
   * wait of their own (an order detail is complete only `wait` after it arrived).
   */
  graceMs?: number;
  /** A left item matches at most one right item (the first found). */
  once?: boolean;
  /**
   * Matches are kept with the left item and emitted when it leaves the join (once every right that can match
   * it is in), in the rights' time order. For outputs stamped with the left's time: timers fire in time order,
   * so they then come out in the left side's time order, whenever each right arrived. Emitted on arrival, a
   * right that completes late (an order detail after its own wait) follows outputs of later lefts, and a
   * windowed consumer of the output with a few seconds of out-of-orderness drops those as late. The cost is
   * latency: upperMs + graceMs of event time.
   */
  inOrder?: boolean;
  onMatch(ctx: JobContext, left: Item<L>, right: Item<R>): void;
  /** A left item leaves the join; `matched` is how many rights it met. */
  onLeftExpired?(ctx: JobContext, left: Item<L>, matched: number): void;
}

export class IntervalJoin<L, R> {
  readonly left: KeyedBuffer<L>;
  readonly right: KeyedBuffer<R>;

  constructor(readonly o: IntervalJoinOptions<L, R>) {
    if (o.lowerMs > o.upperMs) throw new RangeError(`${o.name}: lower bound ${o.lowerMs} above upper bound ${o.upperMs}`);
    const grace = o.graceMs ?? 0;
    // A left item can meet rights up to ts + upper; a right item lefts down to ts - upper … ts - lower.
    this.left = new KeyedBuffer<L>(`${o.name}.l`, Math.max(0, o.upperMs) + grace);
    this.right = new KeyedBuffer<R>(`${o.name}.r`, Math.max(0, -o.lowerMs) + grace);
  }

  /** The timer names this join registers (route them to `onTimer`). */
  get timerNames(): string[] {
    return [this.left.name, this.right.name];
  }

  private fits(l: number, r: number): boolean {
    return r >= l + this.o.lowerMs && r <= l + this.o.upperMs;
  }

  addLeft(ctx: JobContext, key: string, item: Item<L>): boolean {
    if (this.left.items(ctx, key).some((x) => x.id === item.id)) return false;
    let m = 0;
    const p: Item<unknown>[] = [];
    for (const r of this.right.items(ctx, key)) {
      if (this.o.once && m > 0) break;
      if (!this.fits(item.ts, r.ts)) continue;
      m++;
      if (this.o.inOrder) p.push(r);
      else this.o.onMatch(ctx, item, r);
    }
    return this.left.add(ctx, key, { ...item, m, ...(this.o.inOrder ? { p } : {}) });
  }

  addRight(ctx: JobContext, key: string, item: Item<R>): boolean {
    if (this.right.items(ctx, key).some((x) => x.id === item.id)) return false;
    const lefts = this.left.items(ctx, key);
    let changed = false;
    for (const l of lefts) {
      if (this.o.once && (l.m ?? 0) > 0) continue;
      if (!this.fits(l.ts, item.ts)) continue;
      l.m = (l.m ?? 0) + 1;
      changed = true;
      if (this.o.inOrder) (l.p ??= []).push(item);
      else this.o.onMatch(ctx, l, item);
    }
    if (changed) this.left.write(ctx, key, lefts);
    return this.right.add(ctx, key, item);
  }

  /** Handles this join's timers; false when the timer is not this join's. */
  onTimer(ctx: JobContext, name: string, timerKey: string): boolean {
    if (name === this.left.name) {
      const e = this.left.expire(ctx, timerKey);
      if (!e) return true;
      const { p, ...left } = e.item;
      if (p) {
        // (state written by a version without inOrder has no `p`: its matches were emitted already)
        const rights = (p as Item<R>[]).sort((a, b) => a.ts - b.ts || (idLess(a.id, b.id) ? -1 : idLess(b.id, a.id) ? 1 : 0));
        for (const r of rights) this.o.onMatch(ctx, left, r);
      }
      this.o.onLeftExpired?.(ctx, left, left.m ?? 0);
      return true;
    }
    if (name === this.right.name) {
      this.right.expire(ctx, timerKey);
      return true;
    }
    return false;
  }
}

// ------------------------------------------------------------------------------------- state-safe values

/** A flat row of exact values (as decodeChanges gives them, and as facts are emitted). */
export type ExactRow = Record<string, unknown>;

/**
 * A row as plain JSON for keyed state: ExactDecimal → {"$dec": text}, bigint → {"$big": text}. The runtime
 * persists state as JSON text and reads it back with JSON.parse, which would turn both into doubles.
 */
export function freezeRow(row: ExactRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof ExactDecimal) out[k] = { $dec: v.text };
    else if (typeof v === 'bigint') out[k] = { $big: v.toString() };
    else out[k] = v;
  }
  return out;
}

/** The inverse of freezeRow. */
export function thawRow(row: Record<string, unknown>): ExactRow {
  const out: ExactRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$dec === 'string') {
        out[k] = new ExactDecimal(o.$dec);
        continue;
      }
      if (typeof o.$big === 'string') {
        out[k] = BigInt(o.$big);
        continue;
      }
    }
    out[k] = v;
  }
  return out;
}
