/**
 * Mock business time. A business date is a Beijing-time day (Asia/Shanghai, a fixed UTC+08:00 — China has no
 * DST), as in gmall and as `mock log` reads it: DATETIME columns hold Beijing wall-clock text, and an event's
 * epoch time (Maxwell `ts`, the binlog timestamp) is that wall-clock moment in UTC+08:00.
 */
import type { Rng } from '../random';
import { Weighted } from './draw';

export const MOCK_UTC_OFFSET_MS = 8 * 3600 * 1000;
export const DAY_SECONDS = 86_400;

/** Epoch ms of 00:00:00 Beijing time on `date` (YYYY-MM-DD). */
export function dayStartMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) - MOCK_UTC_OFFSET_MS;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** "YYYY-MM-DD hh:mm:ss" Beijing wall-clock text of an epoch ms. */
export function datetimeText(ms: number): string {
  const d = new Date(ms + MOCK_UTC_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** `date` moved by `days` (negative goes back). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_SECONDS * 1000).toISOString().slice(0, 10);
}

/**
 * "hh:mm:ss" of the seconds of a day, each formatted the first time it is asked for: the generator formats a time
 * for nearly every row (building all 86,400 at once took ~25 ms of a cold 10× run that needs far fewer).
 */
const CLOCK: (string | undefined)[] = new Array<string | undefined>(DAY_SECONDS);
function clockText(sec: number): string {
  return (CLOCK[sec] ??= `${pad2(Math.floor(sec / 3600))}:${pad2(Math.floor(sec / 60) % 60)}:${pad2(sec % 60)}`);
}

/** Seconds-of-day → text and epoch ms for one business date; the hot path only pads three numbers. */
export class DayClock {
  readonly startMs: number;
  private readonly prefix: string;

  constructor(readonly date: string) {
    this.startMs = dayStartMs(date);
    this.prefix = `${date} `;
  }

  /** Wall-clock text of second `sec` of the day (sec may run past midnight for expiry times). */
  text(sec: number): string {
    if (sec < 0 || sec >= DAY_SECONDS) return datetimeText(this.ms(sec));
    return this.prefix + clockText(sec);
  }

  ms(sec: number): number {
    return this.startMs + sec * 1000;
  }
}

/** Shoppers by hour of the day: quiet at night, busy late morning and in the evening. */
const HOURS = new Weighted(
  [2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 8, 8, 8, 8, 8, 9, 11, 12, 12, 9, 5].map((w, h) => [h, w] as const),
);

/** A second of the day, at least `from`, spread like shop traffic. */
export function busySecond(rng: Rng, from = 0): number {
  const sec = HOURS.pick(rng) * 3600 + rng.int(0, 3599);
  if (sec >= from) return sec;
  // Someone who appears late (a user registered at 21:00) acts soon after, not at a random earlier hour.
  return Math.min(DAY_SECONDS - 1, from + rng.int(60, 1800));
}
