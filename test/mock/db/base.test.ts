import { describe, expect, test } from 'bun:test';
import type { Row } from '../../../src/formats/change';
import { baseData } from '../../../src/mock/db/base';
import { CODE, SKUS } from '../../../src/mock/db/catalog';
import { mockDbOptions, parseMockDbOptions } from '../../../src/mock/db/options';
import { columnNames, createTableSql, schemaSql, TABLES, tableDef } from '../../../src/mock/db/schema';

function tables(seed = 1, date = '2025-01-14') {
  const b = baseData(seed, date, mockDbOptions());
  const by = new Map<string, Row[]>();
  for (const t of b.txns) by.set(t.changes[0]!.table, t.changes.map((c) => c.data));
  return { b, by };
}

describe('base data', () => {
  const { b, by } = tables();

  test('the 34 provinces, 7 regions and every base_dic code', () => {
    expect(by.get('base_province')!.length).toBe(34);
    expect(by.get('base_region')!.length).toBe(7);
    expect(by.get('base_province')!.find((p) => p.id === 1)).toEqual({ id: 1, name: '北京', region_id: '1', area_code: '110000', iso_code: 'CN-11', iso_3166_2: 'CN-BJ' });
    const codes = new Set(by.get('base_dic')!.map((d) => d.dic_code));
    for (const code of [
      ...Object.values(CODE), '1301', '1302', '1303', '1304', '1305', '1306', '1307', '1603', '0703', '0704', '0706', '3103',
    ]) {
      expect(codes.has(code), code).toBe(true);
    }
  });

  test('a category tree, brands, 12 SPUs and 35 SKUs with prices, activities and coupons', () => {
    expect(by.get('base_category1')!.length).toBe(17);
    const c2 = new Set(by.get('base_category2')!.map((c) => c.id));
    const c3 = new Set(by.get('base_category3')!.map((c) => c.id));
    expect(by.get('base_category3')!.every((c) => c2.has(c.category2_id!))).toBe(true);
    expect(by.get('spu_info')!.length).toBe(12);
    const skus = by.get('sku_info')!;
    expect(skus.map((s) => s.id)).toEqual(SKUS.map((s) => s.id));
    expect(skus.length).toBe(35);
    expect(skus.every((s) => c3.has(s.category3_id!) && /^\d+$/.test(String(s.price)))).toBe(true);
    expect(by.get('activity_info')!.length).toBe(3);
    expect(by.get('activity_rule')!.length).toBe(6);
    expect(by.get('activity_sku')!.length).toBeGreaterThan(10);
    expect(by.get('coupon_info')!.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(by.get('coupon_range')!.length).toBe(3);
  });

  test('users: --init-users of them, registered before the date, ids in registration order', () => {
    const users = by.get('user_info')!;
    expect(users.length).toBe(1000);
    expect(users.map((u) => u.id)).toEqual(users.map((_, i) => i + 1));
    expect(users.every((u) => String(u.create_time) < '2025-01-14')).toBe(true);
    const times = users.map((u) => String(u.create_time));
    expect(times).toEqual([...times].sort());
    expect(users.every((u) => /^[\u4e00-\u9fa5]{2,4}$/.test(String(u.name)) && /^13\d{9}$/.test(String(u.phone_num)))).toBe(true);
    const males = users.filter((u) => u.gender === 'M').length;
    expect(males).toBeGreaterThan(120);
    expect(males).toBeLessThan(280);
    expect(b.state.lastIds.user_info).toBe(1000);
    expect(baseData(1, '2025-01-14', parseMockDbOptions({ scale: '10' })).state.users.length).toBe(10_000);
  });

  test('rows have their table columns in order; the same seed gives the same users', () => {
    for (const t of b.txns) for (const c of t.changes) expect(Object.keys(c.data)).toEqual([...columnNames(c.table)]);
    expect(tables(1).b.state.users).toEqual(b.state.users);
    expect(tables(2).b.state.users).not.toEqual(b.state.users);
  });
});

describe('schema', () => {
  /** The business tables and columns the warehouse reads (../shared/reference/gmall.md). */
  const READ: Record<string, string> = {
    order_info: 'id, consignee, consignee_tel, total_amount, order_status, user_id, payment_way, delivery_address, order_comment, out_trade_no, trade_body, create_time, operate_time, expire_time, process_status, tracking_no, parent_order_id, img_url, province_id, activity_reduce_amount, coupon_reduce_amount, original_total_amount, feight_fee, feight_fee_reduce, refundable_time',
    order_detail: 'id, order_id, sku_id, sku_name, img_url, order_price, sku_num, create_time, source_type, source_id, split_total_amount, split_activity_amount, split_coupon_amount',
    order_detail_activity: 'id, order_id, order_detail_id, activity_id, activity_rule_id, sku_id, create_time',
    order_detail_coupon: 'id, order_id, order_detail_id, coupon_id, coupon_use_id, sku_id, create_time',
    payment_info: 'id, out_trade_no, order_id, user_id, payment_type, trade_no, total_amount, subject, payment_status, create_time, callback_time, callback_content',
    order_refund_info: 'id, user_id, order_id, sku_id, refund_type, refund_num, refund_amount, refund_reason_type, refund_reason_txt, refund_status, create_time',
    refund_payment: 'id, out_trade_no, order_id, sku_id, payment_type, trade_no, total_amount, subject, refund_status, create_time, callback_time, callback_content',
    cart_info: 'id, user_id, sku_id, cart_price, sku_num, img_url, sku_name, is_checked, create_time, operate_time, is_ordered, order_time, source_type, source_id',
    comment_info: 'id, user_id, nick_name, head_img, sku_id, spu_id, order_id, appraise, comment_txt, create_time, operate_time',
    favor_info: 'id, user_id, sku_id, spu_id, is_cancel, create_time, cancel_time',
    coupon_use: 'id, coupon_id, user_id, order_id, coupon_status, create_time, get_time, using_time, used_time, expire_time',
    user_info: 'id, login_name, nick_name, passwd, name, phone_num, email, head_img, user_level, birthday, gender, create_time, operate_time, status',
    base_dic: 'dic_code, dic_name, parent_code, create_time, operate_time',
    base_province: 'id, name, region_id, area_code, iso_code, iso_3166_2',
    base_region: 'id, region_name',
    activity_info: 'id, activity_name, activity_type, activity_desc, start_time, end_time, create_time',
    activity_rule: 'id, activity_id, activity_type, condition_amount, condition_num, benefit_amount, benefit_discount, benefit_level',
    activity_sku: 'id, activity_id, sku_id, create_time',
    base_category1: 'id, name',
    base_category2: 'id, name, category1_id',
    base_category3: 'id, name, category2_id',
    base_trademark: 'id, tm_name',
    coupon_info: 'id, coupon_name, coupon_type, condition_amount, condition_num, activity_id, benefit_amount, benefit_discount, create_time, range_type, limit_num, taken_count, start_time, end_time, operate_time, expire_time, range_desc',
    coupon_range: 'id, coupon_id, range_type, range_id',
    financial_sku_cost: 'id, sku_id, sku_name, busi_date, is_lastest, sku_cost, create_time',
    sku_info: 'id, spu_id, price, sku_name, sku_desc, weight, tm_id, category3_id, sku_default_img, is_sale, create_time',
    spu_info: 'id, spu_name, description, category3_id, tm_id',
  };

  test('every table the warehouse reads, with its columns in the 2022 order', () => {
    for (const [t, cols] of Object.entries(READ)) {
      const have = columnNames(t);
      const want = cols.split(', ');
      // base_trademark also has logo_url; every listed column is there, in this order
      expect(have.filter((c) => want.includes(c)), t).toEqual(want);
    }
    expect(TABLES.length).toBe(47);
  });

  test('DDL is utf8mb4 with the primary keys of the original', () => {
    for (const sql of schemaSql().slice(0, -1)) expect(sql).toContain('DEFAULT CHARSET=utf8mb4');
    expect(createTableSql(tableDef('order_info'))).toContain('PRIMARY KEY (`id`)');
    expect(createTableSql(tableDef('base_dic'))).not.toContain('PRIMARY KEY');
    expect(createTableSql(tableDef('refund_payment'))).toContain('KEY `idx_order_id` (`order_id`)');
  });
});
