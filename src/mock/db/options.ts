/**
 * The knobs of `rtwh mock db`, declared once: the flag, the gmall generator's property it mirrors
 * (application.properties of gmall2022-mock: mock.user.count, mock.cart.user-rate …), its default and
 * its kind. The spec drives the command's options, their --help text and the validation.
 *
 * Defaults are the real generator's, except where its shipped properties switch a part of the warehouse
 * off: mock.user.count=0 (no registrations → dwd_user_register stays empty) and mock.order.join-activity /
 * use-coupon=0 (no order_detail_activity / order_detail_coupon rows). rtwh turns those on.
 */
import { BUSINESS_DATE_HINT, checkBusinessDate, checkDate } from '../../config/schema';
import { q, rtwhError } from '../../errors';
import { parseRatio } from '../random';
import { BASE_SKU_COUNT, MAX_SKU_COUNT } from './catalog';

export interface MockDbOptions {
  /** Multiplies the counts below (and the users created by --init): 10 = ten times the default day. */
  scale: number;
  initUsers: number;
  /** SKUs --init puts in sku_info (ids 1..skuCount, ≥ 35); a later day uses those in the data (stateSkuCount). */
  skuCount: number;
  userCount: number;
  userMaleRate: number;
  userUpdateRate: number;
  favorCount: number;
  favorCancelRate: number;
  cartUserRate: number;
  cartMaxSkuCount: number;
  cartMaxSkuNum: number;
  cartNumUpdateRate: number;
  cartSourceTypeRate: readonly number[];
  orderUserRate: number;
  orderSkuRate: number;
  orderJoinActivity: boolean;
  orderUseCoupon: boolean;
  couponUserCount: number;
  paymentRate: number;
  paymentType: readonly number[];
  refundRate: number;
  refundReasonRate: readonly number[];
  commentAppraiseRate: readonly number[];
}

export type KnobKind = 'percent' | 'count' | 'ratio' | 'bool' | 'scale';

export interface KnobSpec {
  key: keyof MockDbOptions;
  /** Long flag without dashes; commander's camelCase of it is `key`. */
  flag: string;
  /** The generator property it mirrors, or undefined for rtwh's own. */
  property?: string;
  doc: string;
  kind: KnobKind;
  /** Number of parts of a ratio. */
  parts?: number;
  default: string;
  /** Counts that --scale multiplies. */
  scaled?: boolean;
  /** count: the least and most accepted (default 0 and no limit), and the hint of the error for a value outside. */
  min?: number;
  max?: number;
  hint?: string;
}

export const KNOBS: readonly KnobSpec[] = [
  { key: 'scale', flag: 'scale', kind: 'scale', default: '1', doc: 'multiply the volume (users, favorites, coupons; --init users too)' },
  { key: 'initUsers', flag: 'init-users', kind: 'count', default: '1000', scaled: true, doc: 'users --init creates (the app-log mock uses uids 1..1000)' },
  {
    key: 'skuCount', flag: 'sku-count', kind: 'count', default: String(BASE_SKU_COUNT), min: BASE_SKU_COUNT, max: MAX_SKU_COUNT,
    hint: `The ${BASE_SKU_COUNT} SKUs of the gmall data are always there (activities, activity_sku and the app-log mock refer to them); --sku-count N adds variants of them as SKUs ${BASE_SKU_COUNT + 1}..N.`,
    doc: `SKUs --init creates, ${BASE_SKU_COUNT}..${MAX_SKU_COUNT}: the ${BASE_SKU_COUNT} of the gmall data, then variants of them (not multiplied by --scale); later days use the SKUs in the data`,
  },
  { key: 'userCount', flag: 'user-count', property: 'mock.user.count', kind: 'count', default: '100', scaled: true, doc: 'users registering this day (the shipped properties say 0)' },
  { key: 'userMaleRate', flag: 'user-male-rate', property: 'mock.user.male-rate', kind: 'percent', default: '20', doc: 'percent of new users who are male' },
  { key: 'userUpdateRate', flag: 'user-update-rate', property: 'mock.user.update-rate', kind: 'percent', default: '20', doc: 'percent of existing users who change their profile' },
  { key: 'favorCount', flag: 'favor-count', property: 'mock.favor.count', kind: 'count', default: '100', scaled: true, doc: 'favorites added' },
  { key: 'favorCancelRate', flag: 'favor-cancel-rate', property: 'mock.favor.cancel-rate', kind: 'percent', default: '10', doc: 'percent of favorites cancelled later the same day' },
  { key: 'cartUserRate', flag: 'cart-user-rate', property: 'mock.cart.user-rate', kind: 'percent', default: '10', doc: 'percent of users who fill a cart' },
  { key: 'cartMaxSkuCount', flag: 'cart-max-sku-count', property: 'mock.cart.max-sku-count', kind: 'count', default: '8', doc: 'most products one user puts in the cart' },
  { key: 'cartMaxSkuNum', flag: 'cart-max-sku-num', property: 'mock.cart.max-sku-num', kind: 'count', default: '3', doc: 'most pieces of one product' },
  { key: 'cartNumUpdateRate', flag: 'cart-num-update-rate', kind: 'percent', default: '20', doc: 'percent of cart lines whose quantity is changed afterwards' },
  { key: 'cartSourceTypeRate', flag: 'cart-source-type-rate', property: 'mock.cart.source-type-rate', kind: 'ratio', parts: 4, default: '60:20:10:10', doc: 'cart source query:promotion:recommend:activity' },
  { key: 'orderUserRate', flag: 'order-user-rate', property: 'mock.order.user-rate', kind: 'percent', default: '30', doc: 'percent of cart users who place an order' },
  { key: 'orderSkuRate', flag: 'order-sku-rate', property: 'mock.order.sku-rate', kind: 'percent', default: '50', doc: 'percent of cart lines that go into the order' },
  { key: 'orderJoinActivity', flag: 'order-join-activity', property: 'mock.order.join-activity', kind: 'bool', default: '1', doc: 'orders take part in activities, 1 or 0 (shipped: 0)' },
  { key: 'orderUseCoupon', flag: 'order-use-coupon', property: 'mock.order.use-coupon', kind: 'bool', default: '1', doc: 'orders use coupons, 1 or 0 (shipped: 0)' },
  { key: 'couponUserCount', flag: 'coupon-user-count', property: 'mock.coupon.user-count', kind: 'count', default: '100', scaled: true, doc: 'users who get each coupon' },
  { key: 'paymentRate', flag: 'payment-rate', property: 'mock.payment.rate', kind: 'percent', default: '70', doc: 'percent of orders paid (the rest are cancelled when they expire)' },
  { key: 'paymentType', flag: 'payment-type', property: 'mock.payment.payment-type', kind: 'ratio', parts: 3, default: '30:60:10', doc: 'payment alipay:wechat:unionpay' },
  { key: 'refundRate', flag: 'refund-rate', property: 'mock.refund.rate', kind: 'percent', default: '30', doc: 'percent of paid orders refunded (the rest finish)' },
  { key: 'refundReasonRate', flag: 'refund-reason-rate', property: 'mock.refund.reason-rate', kind: 'ratio', parts: 7, default: '30:10:20:5:15:5:5', doc: 'refund reasons 1301..1307' },
  { key: 'commentAppraiseRate', flag: 'comment-appraise-rate', property: 'mock.comment.appraise-rate', kind: 'ratio', parts: 4, default: '30:10:10:50', doc: 'appraise good:mid:bad:auto' },
];

function bad(flag: string, value: string, expected: string, hint?: string): never {
  throw rtwhError('USAGE', `invalid --${flag} ${q(value)}: ${expected}`, hint === undefined ? undefined : { hint });
}

function parseKnob(spec: KnobSpec, value: string): number | boolean | number[] {
  const v = value.trim();
  switch (spec.kind) {
    case 'percent': {
      // Rng.chance resolves 0.01 %, so more decimals would be silently rounded.
      if (!/^\d{1,3}(\.\d{1,2})?$/.test(v) || Number(v) > 100) bad(spec.flag, value, 'expected a percentage from 0 to 100 (up to 2 decimals)');
      return Number(v);
    }
    case 'count': {
      const min = spec.min ?? 0;
      const expected = spec.max === undefined ? `expected a whole number ≥ ${min}` : `expected a whole number from ${min} to ${spec.max}`;
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min || Number(v) > (spec.max ?? Infinity)) bad(spec.flag, value, expected, spec.hint);
      return Number(v);
    }
    case 'scale': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || n <= 0 || n > 10_000) bad(spec.flag, value, 'expected a number > 0 (e.g. 10 for ten times the default volume)');
      return n;
    }
    case 'bool':
      if (v === '1' || v === 'true') return true;
      if (v === '0' || v === 'false') return false;
      return bad(spec.flag, value, 'expected 1 or 0');
    case 'ratio':
      try {
        return parseRatio(`--${spec.flag}`, v, spec.parts ?? 1);
      } catch (e) {
        throw rtwhError('USAGE', e instanceof Error ? e.message : String(e));
      }
  }
}

/**
 * Flags as typed (commander's camelCase keys; undefined = not given) → validated options with --scale applied.
 * The error of a bad value names the flag, the value and what was expected.
 */
export function parseMockDbOptions(flags: Partial<Record<keyof MockDbOptions, string | undefined>> = {}): MockDbOptions {
  const out: Record<string, number | boolean | number[]> = {};
  for (const spec of KNOBS) out[spec.key] = parseKnob(spec, flags[spec.key] ?? spec.default);
  const scale = out.scale as number;
  for (const spec of KNOBS) if (spec.scaled) out[spec.key] = Math.round((out[spec.key] as number) * scale);
  const opts = out as unknown as MockDbOptions;
  if (opts.cartMaxSkuCount < 1) bad('cart-max-sku-count', String(opts.cartMaxSkuCount), 'expected a whole number ≥ 1');
  if (opts.cartMaxSkuNum < 1) bad('cart-max-sku-num', String(opts.cartMaxSkuNum), 'expected a whole number ≥ 1');
  return opts;
}

export const DEFAULT_OPTIONS: MockDbOptions = parseMockDbOptions();

/** Options with a few values replaced (tests, benchmarks): the replacements are taken as already scaled. */
export function mockDbOptions(over: Partial<MockDbOptions> = {}): MockDbOptions {
  return { ...DEFAULT_OPTIONS, ...over };
}

/** --date, else mock.date of the config; a bad value names where it came from and the fixed form. */
export function mockDate(flag: string | undefined, configDate: string | undefined, flagName = 'date'): string {
  const date = flag ?? configDate;
  if (date === undefined) {
    throw rtwhError('USAGE', `missing --${flagName}: expected YYYY-MM-DD`, {
      hint: `Pass --${flagName}, or set the business date once with \`rtwh mock date YYYY-MM-DD\`.`,
    });
  }
  const problem = checkBusinessDate(date);
  if (problem) {
    throw rtwhError('USAGE', `invalid ${flag === undefined ? 'mock.date' : `--${flagName}`} ${q(date)}: ${problem}`, checkDate(date) ? {} : { hint: BUSINESS_DATE_HINT });
  }
  return date;
}

/** --seed: 0..4294967295; without it a fresh one each run (the summary prints it, so a run can be repeated). */
export function mockSeed(flag: string | undefined): number {
  if (flag === undefined) return crypto.getRandomValues(new Uint32Array(1))[0]!;
  const v = flag.trim();
  if (!/^\d+$/.test(v) || Number(v) > 4294967295) bad('seed', flag, 'expected a whole number from 0 to 4294967295');
  return Number(v);
}
