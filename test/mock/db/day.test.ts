import { describe, expect, test } from 'bun:test';
import { txnEvents, type ChangeTxn } from '../../../src/formats/change';
import { maxwellJson } from '../../../src/formats/maxwell';
import { baseData } from '../../../src/mock/db/base';
import { dayStartMs } from '../../../src/mock/db/clock';
import { collectDay, LIGHT_USER_COLUMNS, userUpdateIndexes } from '../../../src/mock/db/day';
import { mockDbOptions, parseMockDbOptions, type MockDbOptions } from '../../../src/mock/db/options';
import { primaryKeyOf, tableDef, UPDATED_IN_PLACE } from '../../../src/mock/db/schema';
import { streamProblems } from './stream-checks';

const DATE = '2025-01-14';

function day(seed: number, over: Partial<MockDbOptions> = {}, date = DATE) {
  const options = mockDbOptions(over);
  const base = baseData(seed, date, options);
  return { base, ...collectDay({ date, seed, options, state: base.state }) };
}

/** The stream as the bytes a consumer would see. */
function bytes(txns: readonly ChangeTxn[]): string {
  return txns.flatMap((t) => txnEvents(t, 'gmall', primaryKeyOf).map((e) => maxwellJson(e))).join('\n');
}

function counts(txns: readonly ChangeTxn[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const t of txns) for (const ch of t.changes) c[`${ch.table}.${ch.type}`] = (c[`${ch.table}.${ch.type}`] ?? 0) + 1;
  return c;
}

describe('one generated day', () => {
  const d = day(42);
  const c = counts(d.txns);

  test('is deterministic: the same seed, date, options and state give byte-identical changes', () => {
    expect(bytes(day(42).txns)).toBe(bytes(d.txns));
    expect(bytes(day(43).txns)).not.toBe(bytes(d.txns));
    expect(bytes(day(42, {}, '2025-01-15').txns)).not.toBe(bytes(d.txns));
  });

  test('changes the profiles of the users userUpdateIndexes names, and needs only id and nick_name of the others', () => {
    const options = mockDbOptions();
    const users = d.base.state.users;
    const wanted = userUpdateIndexes(42, DATE, users.length, options);
    const updated = new Set(d.txns.flatMap((t) => t.changes).filter((ch) => ch.table === 'user_info' && ch.type === 'update').map((ch) => ch.data.id as number));
    expect(wanted.length).toBeGreaterThan(10);
    // every update of an earlier user is one of them (a profile change may leave every value as it was: no update)
    const earlier = new Set(users.map((u) => u.id as number));
    const updatedEarlier = [...updated].filter((id) => earlier.has(id));
    expect(updatedEarlier.length).toBeGreaterThan(wanted.length / 2);
    expect(updatedEarlier.every((id) => wanted.some((i) => users[i]!.id === id))).toBe(true);
    // a state whose other users hold only the light columns gives the same day, byte for byte
    const keep = new Set(wanted);
    const light = users.map((u, i) => (keep.has(i) ? u : Object.fromEntries(LIGHT_USER_COLUMNS.map((c) => [c, u[c] ?? null]))));
    expect(bytes(collectDay({ date: DATE, seed: 42, options, state: { ...d.base.state, users: light } }).txns)).toBe(bytes(d.txns));
  });

  test('has every kind of business change', () => {
    for (const k of [
      'user_info.insert', 'user_info.update', 'favor_info.insert', 'favor_info.update', 'coupon_use.insert', 'coupon_use.update',
      'cart_info.insert', 'cart_info.update', 'order_info.insert', 'order_info.update', 'order_detail.insert', 'order_detail_activity.insert',
      'order_detail_coupon.insert', 'payment_info.insert', 'payment_info.update', 'order_refund_info.insert', 'order_refund_info.update',
      'refund_payment.insert', 'refund_payment.update', 'comment_info.insert', 'order_status_log.insert',
    ]) {
      expect(c[k] ?? 0, k).toBeGreaterThan(0);
    }
  });

  test('updates only tables created for in-place updates (ROW_FORMAT=REDUNDANT), and every such table is updated', () => {
    const updated = new Set(d.txns.flatMap((t) => t.changes).filter((x) => x.type === 'update').map((x) => x.table));
    expect([...updated].sort()).toEqual([...UPDATED_IN_PLACE].sort());
    for (const t of updated) expect(tableDef(t).rowFormat, t).toBe('REDUNDANT');
  });

  test('is sound: time order, all times on the date, legal status flows, references, amounts, full rows', () => {
    const users = new Set(d.base.state.users.map((u) => u.id as number));
    expect(streamProblems(d.txns, users, DATE)).toEqual([]);
    const start = dayStartMs(DATE);
    expect(d.txns[0]!.ts).toBeGreaterThanOrEqual(start);
    expect(d.txns[d.txns.length - 1]!.ts).toBeLessThan(start + 86_400_000);
    // every order status change is logged
    expect(c['order_status_log.insert']).toBe(c['order_info.insert']! + c['order_info.update']!);
  });

  test('ids continue from the state: AUTO_INCREMENT order, the next day after this one', () => {
    const firstUser = d.txns.flatMap((t) => t.changes).find((x) => x.table === 'user_info' && x.type === 'insert')!;
    expect(firstUser.data.id).toBe(1001);
    const next = collectDay({ date: '2025-01-15', seed: 42, options: mockDbOptions(), state: d.state });
    const orderIds = next.txns.flatMap((t) => t.changes).filter((x) => x.table === 'order_info' && x.type === 'insert').map((x) => x.data.id as number);
    expect(orderIds[0]).toBe(d.state.lastIds.order_info! + 1);
    expect(orderIds).toEqual([...orderIds].sort((a, b) => a - b));
    const users = new Set(d.state.users.map((u) => u.id as number));
    expect(streamProblems(next.txns, users, '2025-01-15')).toEqual([]);
    // the input state is left alone
    expect(d.base.state.users.length).toBe(1000);
  });

  test('one business step is one transaction: an order with its details, activities, coupons, cart updates and log', () => {
    const orderTxn = d.txns.find((t) => t.changes[0]!.table === 'order_info' && t.changes[0]!.type === 'insert' && t.changes.some((x) => x.table === 'order_detail_coupon'))!;
    const tables = [...new Set(orderTxn.changes.map((x) => `${x.table}.${x.type}`))];
    expect(tables[0]).toBe('order_info.insert');
    expect(tables).toContain('order_detail.insert');
    expect(tables).toContain('coupon_use.update');
    expect(tables).toContain('cart_info.update');
    expect(tables[tables.length - 1]).toBe('order_status_log.insert');
  });

  test('default volumes of one day', () => {
    expect(c['user_info.insert']).toBe(100);
    expect(c['user_info.update']).toBe(200);
    expect(c['favor_info.insert']).toBe(100);
    expect(c['coupon_use.insert']).toBe(300);
    expect(c['cart_info.insert']).toBeGreaterThan(250);
    expect(c['order_info.insert']).toBeGreaterThan(10);
  });
});

describe('knobs change the volumes', () => {
  test('no registrations, no carts, no payments, no activities, no coupons', () => {
    const none = counts(day(1, { userCount: 0, cartUserRate: 0 }).txns);
    expect(none['user_info.insert']).toBeUndefined();
    expect(none['cart_info.insert']).toBeUndefined();
    expect(none['order_info.insert']).toBeUndefined();

    const unpaid = day(1, { paymentRate: 0 });
    const u = counts(unpaid.txns);
    expect(u['payment_info.insert']).toBeUndefined();
    const statuses = unpaid.txns.flatMap((t) => t.changes).filter((x) => x.table === 'order_info' && x.type === 'update').map((x) => x.data.order_status);
    expect(new Set(statuses)).toEqual(new Set(['1003']));

    const plain = counts(day(1, { orderJoinActivity: false, orderUseCoupon: false }).txns);
    expect(plain['order_detail_activity.insert']).toBeUndefined();
    expect(plain['order_detail_coupon.insert']).toBeUndefined();
    expect(plain['coupon_use.update']).toBeUndefined();
  });

  test('refund-rate 100 refunds every paid order; 0 finishes them all', () => {
    const all = day(1, { refundRate: 100 }).txns;
    expect(counts(all)['order_refund_info.insert']).toBeGreaterThan(0);
    expect(countFinished(all)).toBe(0);
    const none = day(1, { refundRate: 0 }).txns;
    expect(counts(none)['order_refund_info.insert']).toBeUndefined();
    expect(countFinished(none)).toBeGreaterThan(0);
  });

  test('--scale 10 gives about ten times the rows', () => {
    const one = day(5).txns.reduce((s, t) => s + t.changes.length, 0);
    const ten = day(5, parseMockDbOptions({ scale: '10' })).txns.reduce((s, t) => s + t.changes.length, 0);
    expect(ten / one).toBeGreaterThan(8);
    expect(ten / one).toBeLessThan(12);
  });
});

function countFinished(txns: readonly ChangeTxn[]): number {
  return txns.flatMap((t) => t.changes).filter((x) => x.table === 'order_info' && x.old?.order_status === '1002' && x.data.order_status === '1004').length;
}
