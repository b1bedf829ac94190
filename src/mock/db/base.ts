/**
 * The base data `--init` loads: the fixed catalog (catalog.ts) plus the users, as one transaction per table,
 * and the state a first day starts from. Users are drawn from the seed; everything else is the same on every run.
 */
import { dec, type ChangeTxn, type Row, type RowChange } from '../../formats/change';
import { Rng } from '../random';
import {
  ACTIVITIES, ACTIVITY_WINDOW, BASE_DIC, CATEGORIES, COUPON_WINDOW, COUPONS, PROVINCES, REGIONS, skuCatalog, SPUS, TRADEMARKS,
} from './catalog';
import { addDays, datetimeText, dayStartMs, DAY_SECONDS } from './clock';
import { email, givenName, nickName, phone, surname } from './names';
import type { MockDbOptions } from './options';
import type { MockState } from './state';

const CATALOG_TIME = '2020-01-01 00:00:00';

/** A user_info row: profile drawn from `rng`, registered at `createTime`, 15–55 years old on `date`. */
export function userRow(rng: Rng, id: number, createTime: string, date: string, maleRate: number): Row {
  const gender = rng.chance(maleRate) ? 'M' : 'F';
  const given = givenName(rng, gender);
  const mail = email(rng);
  const age = rng.int(15, 55);
  return {
    id,
    login_name: mail.slice(0, mail.indexOf('@')),
    nick_name: nickName(rng, gender, given),
    passwd: null,
    name: surname(rng) + given,
    phone_num: phone(rng),
    email: mail,
    head_img: null,
    user_level: rng.weighted([['1', 7], ['2', 2], ['3', 1]] as const),
    birthday: addDays(date, -(age * 365 + rng.int(0, 364))),
    gender,
    create_time: createTime,
    operate_time: null,
    status: null,
  };
}

function insertTxn(table: string, rows: Row[]): RowChange[] {
  return rows.map((data) => ({ table, type: 'insert', data }));
}

function catalogTables(skuCount: number): [string, Row[]][] {
  const skus = skuCatalog(skuCount);
  const activitySku: Row[] = [];
  for (const a of ACTIVITIES) {
    for (const skuId of a.skuIds) activitySku.push({ id: activitySku.length + 1, activity_id: a.id, sku_id: skuId, create_time: ACTIVITY_WINDOW.created });
  }
  const couponRange: Row[] = [];
  for (const c of COUPONS) {
    for (const rid of c.rangeIds) couponRange.push({ id: couponRange.length + 1, coupon_id: c.id, range_type: c.rangeType, range_id: rid });
  }
  return [
    ['base_region', REGIONS.map(([id, name]) => ({ id, region_name: name }))],
    ['base_province', PROVINCES.map(([id, name, region, area, iso, iso2]) => ({ id, name, region_id: region, area_code: area, iso_code: iso, iso_3166_2: iso2 }))],
    ['base_dic', BASE_DIC.map(([code, name, parent]) => ({ dic_code: code, dic_name: name, parent_code: parent, create_time: CATALOG_TIME, operate_time: CATALOG_TIME }))],
    ['base_category1', CATEGORIES.c1.map((c) => ({ id: c.id, name: c.name }))],
    ['base_category2', CATEGORIES.c2.map((c) => ({ id: c.id, name: c.name, category1_id: c.parentId }))],
    ['base_category3', CATEGORIES.c3.map((c) => ({ id: c.id, name: c.name, category2_id: c.parentId }))],
    ['base_trademark', TRADEMARKS.map(([id, name]) => ({ id, tm_name: name, logo_url: '/static/default.jpg' }))],
    ['base_sale_attr', ['颜色', '版本', '尺码', '类别'].map((name, i) => ({ id: i + 1, name }))],
    ['spu_info', SPUS.map((s) => ({ id: s.id, spu_name: s.name, description: s.description, category3_id: s.category3Id, tm_id: s.tmId }))],
    ['sku_info', skus.map((s) => ({
      id: s.id, spu_id: s.spuId, price: dec(s.price, 0), sku_name: s.name, sku_desc: s.desc, weight: dec(s.weight), tm_id: s.tmId,
      category3_id: s.category3Id, sku_default_img: s.img, is_sale: 1, create_time: s.createTime,
    }))],
    ['activity_info', ACTIVITIES.map((a) => ({
      id: a.id, activity_name: a.name, activity_type: a.type, activity_desc: a.desc, start_time: ACTIVITY_WINDOW.start,
      end_time: ACTIVITY_WINDOW.end, create_time: ACTIVITY_WINDOW.created,
    }))],
    ['activity_rule', ACTIVITIES.flatMap((a) => a.rules.map((r) => ({
      id: r.id, activity_id: a.id, activity_type: a.type,
      condition_amount: a.type === '3101' ? dec(r.condition * 100) : null,
      condition_num: a.type === '3102' ? r.condition : null,
      benefit_amount: a.type === '3101' ? dec(r.benefit * 100) : null,
      benefit_discount: a.type === '3102' ? dec(r.benefit * 100) : null,
      benefit_level: r.level,
    })))],
    ['activity_sku', activitySku],
    ['coupon_info', COUPONS.map((c) => ({
      id: c.id, coupon_name: c.name, coupon_type: c.type,
      condition_amount: c.type === '3201' && c.condition !== null ? dec(c.condition * 100) : null,
      condition_num: c.type === '3202' ? c.condition : null,
      activity_id: null,
      benefit_amount: c.type === '3202' ? null : dec(c.benefit * 100),
      benefit_discount: c.type === '3202' ? dec(c.benefit * 100) : null,
      create_time: COUPON_WINDOW.created, range_type: c.rangeType, limit_num: c.limitNum, taken_count: 0,
      start_time: COUPON_WINDOW.start, end_time: COUPON_WINDOW.end, operate_time: null, expire_time: null, range_desc: c.rangeDesc,
    }))],
    ['coupon_range', couponRange],
    ['financial_sku_cost', skus.map((s) => ({
      id: String(s.id), sku_id: s.id, sku_name: s.name.slice(0, 20), busi_date: '2021-01-01', is_lastest: '1',
      sku_cost: dec(s.price * 70), create_time: s.createTime,
    }))],
  ];
}

export interface BaseData {
  /** One transaction per table, base tables first, users last. */
  txns: ChangeTxn[];
  /** The state the first generated day starts from. */
  state: MockState;
}

/**
 * Base data for a warehouse initialised on `date`: the catalog (with `options.skuCount` SKUs), and `options.initUsers` users who registered
 * during the year before it. The transactions are stamped 00:00:00 of `date` (they happen before the day).
 */
export function baseData(seed: number | string, date: string, options: MockDbOptions): BaseData {
  const rng = new Rng(`${seed}:base`);
  const start = dayStartMs(date);
  const users: Row[] = [];
  // Registration times first, sorted, so user ids grow with their create_time as auto-increment ids do.
  const times = Array.from({ length: options.initUsers }, () => start - rng.int(1, 365 * DAY_SECONDS) * 1000).sort((a, b) => a - b);
  times.forEach((ms, i) => users.push(userRow(rng, i + 1, datetimeText(ms), date, options.userMaleRate)));

  const tables = catalogTables(options.skuCount);
  tables.push(['user_info', users]);
  const lastIds: Record<string, number> = {};
  const txns: ChangeTxn[] = [];
  for (const [table, rows] of tables) {
    if (rows.length === 0) continue;
    const last = rows.reduce((m, r) => (typeof r.id === 'number' && r.id > m ? r.id : m), 0);
    if (last > 0) lastIds[table] = last;
    txns.push({ xid: txns.length + 1, ts: start, changes: insertTxn(table, rows) });
  }
  return { txns, state: { lastIds, xid: txns.length, users } };
}

