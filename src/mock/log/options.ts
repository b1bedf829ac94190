/**
 * The knobs of `rtwh mock log`, declared once with the real generator's defaults (application.yml of
 * gmall-mock-log: mock.startup.count, mock.max.mid …), and their validation. Flags arrive as strings;
 * a bad one fails with the flag, the value and what was expected.
 */
import { checkBusinessDate, checkDate } from '../../config/schema';
import { q, rtwhError } from '../../errors';
import type { AppLogFormat } from '../../formats/applog';
import { DEFAULT_KEYWORDS } from './catalog';

export interface MockLogOptions {
  /** Business date, YYYY-MM-DD, read as a Beijing-time (UTC+08:00) day. */
  date: string;
  seed: number;
  format: AppLogFormat;
  /** mock.startup.count: sessions (app starts) in the day. */
  startupCount: number;
  /** mock.max.mid: devices are mid_1 .. mid_<maxMid>. */
  maxMid: number;
  /** mock.max.uid: users are 1 .. maxUid. */
  maxUid: number;
  /** mock.max.sku-id */
  maxSkuId: number;
  /** mock.max.coupon-id */
  maxCouponId: number;
  /** mock.page.during-time-ms: a page lasts 1000 .. this many ms. */
  pageDuringTimeMs: number;
  /** mock.error.rate: percent of records that carry err. */
  errorRate: number;
  /** mock.if_get_coupon_rate: percent of goods-detail pages where a coupon is taken. */
  getCouponRate: number;
  /** mock.detail.source-type-rate: query:promotion:recommend:activity. */
  sourceTypeRate: readonly [number, number, number, number];
  /** mock.search.keyword */
  keywords: readonly string[];
}

export const MOCK_LOG_DEFAULTS = {
  format: '2022',
  startupCount: 200,
  maxMid: 1_000_000,
  maxUid: 1000,
  maxSkuId: 35,
  maxCouponId: 3,
  pageDuringTimeMs: 20_000,
  errorRate: 3,
  getCouponRate: 75,
  sourceTypeRate: [40, 25, 15, 20],
  keywords: DEFAULT_KEYWORDS,
  maxFileSize: '100MB',
} as const;

/** What the command line hands over: every value as typed. */
export interface MockLogFlags {
  date?: string;
  seed?: string;
  format?: string;
  startupCount?: string;
  maxMid?: string;
  maxUid?: string;
  maxSkuId?: string;
  maxCouponId?: string;
  pageDuringTimeMs?: string;
  errorRate?: string;
  getCouponRate?: string;
  sourceTypeRate?: string;
  keywords?: string;
}

/** Why business dates have the range they have, for app logs. */
const MOCK_LOG_DATE_HINT = 'Every rtwh mock takes the same business dates: log times become Kafka timestamps (from 1970-01-01), and the same day of business data must fit MySQL DATETIME.';

function bad(flag: string, value: string, expected: string): never {
  throw rtwhError('USAGE', `invalid ${flag} ${q(value)}: expected ${expected}`, { details: { flag, value } });
}

export function wholeNumber(flag: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const v = value.trim().replace(/_/g, '');
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) bad(flag, value, `a whole number from ${min} to ${max}`);
  return Number(v);
}

function percent(flag: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const v = value.trim();
  // Rng.chance resolves 0.01 %, so more decimals would be silently rounded.
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(v) || Number(v) > 100) bad(flag, value, 'a percentage from 0 to 100 (up to 2 decimals)');
  return Number(v);
}

/** Default seed when --seed is not given: fresh each run (the summary prints it so a run can be repeated). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export function mockLogOptions(flags: MockLogFlags, configDate: string | undefined, seed: () => number = randomSeed): MockLogOptions {
  const date = flags.date ?? configDate;
  if (date === undefined) {
    throw rtwhError('USAGE', 'missing --date: expected YYYY-MM-DD', { hint: 'Pass --date, or set the business date once with `rtwh mock date YYYY-MM-DD`.' });
  }
  const dateProblem = checkBusinessDate(date);
  if (dateProblem) {
    const flag = flags.date === undefined ? 'mock.date' : '--date';
    // a real date outside the range: say why the range is what it is
    if (checkDate(date) === undefined) throw rtwhError('USAGE', `invalid ${flag} ${q(date)}: ${dateProblem}`, { details: { flag, value: date }, hint: MOCK_LOG_DATE_HINT });
    bad(flag, date, dateProblem.replace(/^expected /, ''));
  }

  const format = flags.format ?? MOCK_LOG_DEFAULTS.format;
  if (format !== '2022' && format !== '2023') bad('--format', format, '2022 or 2023');

  let sourceTypeRate: [number, number, number, number] = [...MOCK_LOG_DEFAULTS.sourceTypeRate];
  if (flags.sourceTypeRate !== undefined) {
    const parts = flags.sourceTypeRate.split(':');
    const ws = parts.map((p) => (/^\d{1,6}$/.test(p.trim()) ? Number(p) : NaN));
    if (ws.length !== 4 || ws.some((w) => Number.isNaN(w)) || ws.every((w) => w === 0)) {
      bad('--source-type-rate', flags.sourceTypeRate, 'four whole-number weights query:promotion:recommend:activity, e.g. 40:25:15:20');
    }
    sourceTypeRate = [ws[0]!, ws[1]!, ws[2]!, ws[3]!];
  }

  let keywords: readonly string[] = MOCK_LOG_DEFAULTS.keywords;
  if (flags.keywords !== undefined) {
    keywords = flags.keywords.split(',').map((k) => k.trim());
    if (keywords.some((k) => k.length === 0)) bad('--keywords', flags.keywords, 'comma-separated search words, none empty (e.g. 图书,小米,ps5)');
  }

  return {
    date,
    seed: flags.seed === undefined ? seed() : wholeNumber('--seed', flags.seed, 0, 0, 4294967295),
    format,
    startupCount: wholeNumber('--startup-count', flags.startupCount, MOCK_LOG_DEFAULTS.startupCount, 1, 100_000_000),
    maxMid: wholeNumber('--max-mid', flags.maxMid, MOCK_LOG_DEFAULTS.maxMid, 1, 2_000_000_000),
    maxUid: wholeNumber('--max-uid', flags.maxUid, MOCK_LOG_DEFAULTS.maxUid, 1, 2_000_000_000),
    // 3 at least: checkout pages show up to three distinct SKUs.
    maxSkuId: wholeNumber('--max-sku-id', flags.maxSkuId, MOCK_LOG_DEFAULTS.maxSkuId, 3, 1_000_000),
    maxCouponId: wholeNumber('--max-coupon-id', flags.maxCouponId, MOCK_LOG_DEFAULTS.maxCouponId, 1, 1_000_000),
    // A session of 9 pages must fit in a day, and pages last at least 1 s.
    pageDuringTimeMs: wholeNumber('--page-during-time-ms', flags.pageDuringTimeMs, MOCK_LOG_DEFAULTS.pageDuringTimeMs, 1000, 3_600_000),
    errorRate: percent('--error-rate', flags.errorRate, MOCK_LOG_DEFAULTS.errorRate),
    getCouponRate: percent('--get-coupon-rate', flags.getCouponRate, MOCK_LOG_DEFAULTS.getCouponRate),
    sourceTypeRate,
    keywords,
  };
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** `--max-file-size 100MB`: logback's FileSize syntax (KB/MB/GB are powers of 1024), or plain bytes. */
export function parseFileSize(flag: string, value: string): number {
  const m = /^(\d+)\s*(B|KB|MB|GB)?$/i.exec(value.trim());
  const n = m ? Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toUpperCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n < 1024) bad(flag, value, 'a size of at least 1KB, like 100MB, 512KB or 1048576 (bytes)');
  return n;
}
