import { describe, expect, test } from 'bun:test';
import { RtwhError } from '../../../src/errors';
import { DEFAULT_OPTIONS, KNOBS, mockDate, mockSeed, parseMockDbOptions } from '../../../src/mock/db/options';
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
});
