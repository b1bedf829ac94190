import { describe, expect, test } from 'bun:test';
import { RtwhError } from '../../../src/errors';
import { DEFAULT_OPTIONS, KNOBS, mockDate, mockSeed, parseMockDbOptions } from '../../../src/mock/db/options';
import { initDates } from '../../../src/mock/db/run';
import { rtwhErrorOf } from '../../helpers/errors';

const usage = (f: () => unknown): string => rtwhErrorOf(f, 'USAGE').message;

describe('mock db knobs', () => {
  test("defaults are the generator's", () => {
    expect(DEFAULT_OPTIONS).toMatchObject({
      userMaleRate: 20, userUpdateRate: 20, favorCancelRate: 10, cartUserRate: 10, cartMaxSkuCount: 8, cartMaxSkuNum: 3,
      orderUserRate: 30, orderSkuRate: 50, couponUserCount: 100, paymentRate: 70, paymentType: [30, 60, 10],
      commentAppraiseRate: [30, 10, 10, 50], refundReasonRate: [30, 10, 20, 5, 15, 5, 5], cartSourceTypeRate: [60, 20, 10, 10],
    });
    expect(new Set(KNOBS.map((k) => k.flag)).size).toBe(KNOBS.length);
  });

  test('--scale multiplies the counts, not the rates', () => {
    const o = parseMockDbOptions({ scale: '10' });
    expect(o.userCount).toBe(1000);
    expect(o.initUsers).toBe(10_000);
    expect(o.favorCount).toBe(1000);
    expect(o.couponUserCount).toBe(1000);
    expect(o.cartUserRate).toBe(10);
  });

  test('a bad value names the flag, the value and what was expected', () => {
    expect(usage(() => parseMockDbOptions({ cartUserRate: '120' }))).toBe('invalid --cart-user-rate "120": expected a percentage from 0 to 100 (up to 2 decimals)');
    expect(usage(() => parseMockDbOptions({ userCount: '-1' }))).toContain('--user-count "-1"');
    expect(usage(() => parseMockDbOptions({ paymentType: '30:60' }))).toContain('--payment-type "30:60"');
    expect(usage(() => parseMockDbOptions({ orderUseCoupon: 'yes' }))).toContain('--order-use-coupon "yes": expected 1 or 0');
    expect(usage(() => parseMockDbOptions({ scale: '0' }))).toContain('--scale "0"');
    expect(usage(() => parseMockDbOptions({ cartMaxSkuCount: '0' }))).toContain('--cart-max-sku-count');
  });

  test('dates and seeds', () => {
    expect(mockDate('2025-01-14', undefined)).toBe('2025-01-14');
    expect(mockDate(undefined, '2025-01-15')).toBe('2025-01-15');
    expect(usage(() => mockDate('2025-1-15', undefined))).toBe('invalid --date "2025-1-15": expected YYYY-MM-DD (did you mean 2025-01-15?)');
    expect(usage(() => mockDate(undefined, '2025-02-30'))).toContain('invalid mock.date "2025-02-30"');
    expect(usage(() => mockDate(undefined, undefined))).toContain('missing --date');
    expect(mockSeed('7')).toBe(7);
    expect(usage(() => mockSeed('x'))).toContain('--seed "x"');
    expect(mockSeed(undefined)).toBeGreaterThanOrEqual(0);
  });

  test('dates whose mock times would not fit MySQL DATETIME or Kafka timestamps are refused before anything runs', () => {
    expect(mockDate('1970-01-02', undefined)).toBe('1970-01-02');
    expect(mockDate('9999-11-30', undefined)).toBe('9999-11-30');
    const late = rtwhErrorOf(() => mockDate('9999-12-31', undefined), 'USAGE');
    expect(late.message).toBe('invalid --date "9999-12-31": expected a date from 1970-01-02 to 9999-11-30');
    expect(late.hint).toContain('MySQL DATETIME');
    expect(usage(() => mockDate(undefined, '1970-01-01'))).toBe('invalid mock.date "1970-01-01": expected a date from 1970-01-02 to 9999-11-30');
    expect(usage(() => mockDate('0001-01-01', undefined, 'until'))).toContain('invalid --until "0001-01-01"');
  });

  test('mock init: the first back-dated day must be in range too', () => {
    expect(initDates('1970-01-10', 8)).toEqual(['1970-01-02', '1970-01-03', '1970-01-04', '1970-01-05', '1970-01-06', '1970-01-07', '1970-01-08', '1970-01-09', '1970-01-10']);
    const e = rtwhErrorOf(() => initDates('1970-01-10', 15), 'USAGE');
    expect(e.message).toBe('--days 15 before 1970-01-10 starts on 1969-12-26: expected a first day from 1970-01-02');
    expect(e.hint).toContain('--days 8 or fewer');
    expect(initDates('2025-01-14', 2)).toEqual(['2025-01-12', '2025-01-13', '2025-01-14']);
  });
});
