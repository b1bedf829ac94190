/**
 * rpk-style offset specs for `rtwh tail -o`, parsed once and resolved per partition against its current
 * start/end offsets:
 *
 *   start | end          the first stored offset / the log end (only new records, with -f)
 *   N                    exactly offset N                         +N   N after the start
 *   -N                   N before the end                         a:b  offsets a ≤ o < b (":b" from the start, "a:end")
 *   @T                   the first record with timestamp ≥ T     @T1:T2  timestamps T1 ≤ t < T2 ("@:T2" from the start)
 *
 * T is 13-digit epoch ms, 10-digit epoch seconds, YYYY-MM-DD (UTC day), RFC 3339, or a duration ago (`-1h`, `-30m`,
 * `-1h30m`, `-90s`, `-2d`). As T2, `end` is the current end and a bare duration (`1h`) is counted from T1.
 * An end (b, T2) makes the read bounded: it stops there even with -f. Offsets outside what a partition stores are
 * clamped to it (a deleted offset starts at the first stored one).
 */
import { q, rtwhError } from '../errors.ts';

export type OffsetFrom =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'exact'; offset: number }
  | { kind: 'afterStart'; n: number }
  | { kind: 'beforeEnd'; n: number }
  | { kind: 'time'; ms: number };

export type OffsetUntil = { kind: 'none' } | { kind: 'end' } | { kind: 'exact'; offset: number } | { kind: 'time'; ms: number };

export interface OffsetSpec {
  text: string;
  from: OffsetFrom;
  until: OffsetUntil;
}

/** What one partition is to read: offsets [start, end), end null while following without a bound. */
export interface PartitionPlan {
  partition: number;
  start: number;
  /** Exclusive end offset; null = no end (follow). */
  end: number | null;
  /** Stop at the first record with a timestamp >= this (a time bound not reached yet when the read began). */
  untilTimestamp: number | null;
}

export const OFFSET_FORMS =
  'start, end, N, +N, -N, a:b, :b, a:end, @T or @T1:T2 (T: 13-digit ms, 10-digit s, YYYY-MM-DD, RFC 3339, or -1h/-30m ago)';

function bad(spec: string, why?: string): never {
  throw rtwhError('USAGE', `invalid -o ${q(spec)}: ${why ? `${why}; ` : ''}expected ${OFFSET_FORMS}`, {
    hint: 'Examples: -o start, -o -10, -o 100:200, -o @2025-01-14, -o @-1h, -o @2025-01-14T08:00:00+08:00:1h',
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** `1h30m` → ms, or undefined when it is not a duration. */
export function parseDuration(s: string): number | undefined {
  if (!DURATION.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;

/** One timestamp of an @ spec → epoch ms; `from` is T1 when parsing T2 (a bare duration counts from it). */
export function parseTimestamp(t: string, nowMs: number, from?: number): number | undefined {
  if (/^\d{13}$/.test(t)) return Number(t);
  if (/^\d{9,10}$/.test(t)) return Number(t) * 1000;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== t ? undefined : ms;
  }
  if (RFC3339.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (t.startsWith('-')) {
    const d = parseDuration(t.slice(1));
    return d === undefined ? undefined : nowMs - d;
  }
  if (from !== undefined) {
    const d = parseDuration(t);
    return d === undefined ? undefined : from + d;
  }
  return undefined;
}

function offsetNumber(spec: string, s: string): number {
  if (!/^\d+$/.test(s)) bad(spec);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) bad(spec, `${s} is not an offset`);
  return n;
}

/** Parses `-o`; throws USAGE naming the value and the accepted forms. `nowMs` anchors relative times. */
export function parseOffsetSpec(text: string, nowMs: number = Date.now()): OffsetSpec {
  const s = text.trim();
  if (s === '') bad(text);
  if (s.startsWith('@')) return parseTimeSpec(text, s.slice(1), nowMs);
  if (s === 'start' || s === 'oldest' || s === 'beginning') return { text, from: { kind: 'start' }, until: { kind: 'none' } };
  if (s === 'end' || s === 'newest') return { text, from: { kind: 'end' }, until: { kind: 'none' } };
  if (/^\+\d+$/.test(s)) return { text, from: { kind: 'afterStart', n: offsetNumber(text, s.slice(1)) }, until: { kind: 'none' } };
  if (/^-\d+$/.test(s)) return { text, from: { kind: 'beforeEnd', n: offsetNumber(text, s.slice(1)) }, until: { kind: 'none' } };
  const colon = s.indexOf(':');
  if (colon < 0) return { text, from: { kind: 'exact', offset: offsetNumber(text, s) }, until: { kind: 'none' } };
  const a = s.slice(0, colon);
  const b = s.slice(colon + 1);
  const from: OffsetFrom = a === '' || a === 'start' ? { kind: 'start' } : { kind: 'exact', offset: offsetNumber(text, a) };
  const until: OffsetUntil = b === '' ? { kind: 'none' } : b === 'end' ? { kind: 'end' } : { kind: 'exact', offset: offsetNumber(text, b) };
  if (from.kind === 'exact' && until.kind === 'exact' && until.offset < from.offset) bad(text, `the range ends (${until.offset}) before it starts (${from.offset})`);
  return { text, from, until };
}

/** Splits `T1:T2` at the colon that separates them (RFC 3339 times contain colons themselves). */
function splitTimes(body: string): [string, string | undefined] {
  for (let i = 0; i <= body.length; i++) {
    if (i < body.length && body[i] !== ':') continue;
    const left = body.slice(0, i);
    const right = i < body.length ? body.slice(i + 1) : undefined;
    const leftOk = left === '' || parseTimestamp(left, 0) !== undefined;
    const rightOk = right === undefined || right === '' || right === 'end' || parseTimestamp(right, 0, 0) !== undefined;
    if (leftOk && rightOk) return [left, right];
  }
  return [body, undefined];
}

function parseTimeSpec(text: string, body: string, nowMs: number): OffsetSpec {
  const [t1, t2] = splitTimes(body);
  let from: OffsetFrom = { kind: 'start' };
  let fromMs: number | undefined;
  if (t1 !== '') {
    fromMs = parseTimestamp(t1, nowMs);
    if (fromMs === undefined) bad(text, `${q(t1)} is not a timestamp`);
    from = { kind: 'time', ms: fromMs };
  } else if (t2 === undefined) bad(text, 'no timestamp after @');
  let until: OffsetUntil = { kind: 'none' };
  if (t2 !== undefined && t2 !== '') {
    if (t2 === 'end') until = { kind: 'end' };
    else {
      const ms = parseTimestamp(t2, nowMs, fromMs);
      if (ms === undefined) bad(text, `${q(t2)} is not a timestamp${fromMs === undefined ? '' : ' or a duration'}`);
      if (fromMs !== undefined && ms < fromMs) bad(text, 'the time range ends before it starts');
      until = { kind: 'time', ms };
    }
  }
  return { text, from, until };
}

/** Current bounds of one partition. */
export interface PartitionBounds {
  partition: number;
  startOffset: number;
  endOffset: number;
}

/** Looks up, per partition, the first offset with timestamp >= ms (the end offset when there is none). */
export type OffsetsForTime = (ms: number) => Promise<Map<number, number>>;

/**
 * The plan of every partition. Without follow, the read also ends at the end offset of the moment it began
 * (a time bound past the newest record ends there too).
 */
export async function resolvePlans(spec: OffsetSpec, parts: PartitionBounds[], follow: boolean, forTime: OffsetsForTime): Promise<PartitionPlan[]> {
  const fromTimes = spec.from.kind === 'time' ? await forTime(spec.from.ms) : undefined;
  const untilTimes = spec.until.kind === 'time' ? await forTime(spec.until.ms) : undefined;
  return parts.map((p) => {
    const lo = p.startOffset;
    const hi = p.endOffset;
    const clamp = (o: number) => Math.min(Math.max(o, lo), hi);
    let start: number;
    switch (spec.from.kind) {
      case 'start':
        start = lo;
        break;
      case 'end':
        start = hi;
        break;
      case 'exact':
        start = clamp(spec.from.offset);
        break;
      case 'afterStart':
        start = clamp(lo + spec.from.n);
        break;
      case 'beforeEnd':
        start = clamp(hi - spec.from.n);
        break;
      case 'time':
        start = clamp(fromTimes?.get(p.partition) ?? hi);
        break;
    }
    let end: number | null = follow ? null : hi;
    let untilTimestamp: number | null = null;
    switch (spec.until.kind) {
      case 'end':
        end = hi;
        break;
      case 'exact':
        end = follow ? Math.max(spec.until.offset, lo) : Math.min(Math.max(spec.until.offset, lo), hi);
        break;
      case 'time': {
        const o = untilTimes?.get(p.partition) ?? hi;
        if (o < hi) end = o;
        // No record at or after T2 yet: following, stop at the first one that arrives.
        else if (follow) untilTimestamp = spec.until.ms;
        else end = hi;
        break;
      }
      case 'none':
        break;
    }
    if (end !== null && end < start) end = start;
    return { partition: p.partition, start, end, untilTimestamp };
  });
}
