/**
 * `rtwh query --preset`: every ADS preset through the CLI over a small hand-made warehouse (DWS tables in a temp
 * DuckDB file: several windows, two dates, cents that drift in floats), compared with the same figures computed
 * here in plain TypeScript over the same rows. Decimals are compared by their digits (bigint cents), never floats.
 */
import { describe, expect, test, beforeAll } from 'bun:test';
import { join } from 'node:path';
import { DWS_TABLES, duckdbDdl } from '../../src/dws/tables';
import { PRESETS } from '../../src/query/presets';
import { openDuckDB } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';

// ---------------------------------------------------------------------------------------------------------
// The hand-made DWS rows

type Row = Record<string, string | number | null>;

const D1 = '2025-01-14';
const D2 = '2025-01-15';
const EMPTY_DAY = '2025-01-16';

/** A 10 s window starting at `stt` (Beijing time); cur_date is its day. */
function win(stt: string): Row {
  const start = new Date(`${stt.replace(' ', 'T')}Z`);
  const end = new Date(start.getTime() + 10_000);
  const text = (d: Date): string => d.toISOString().slice(0, 19).replace('T', ' ');
  return { stt, edt: text(end), cur_date: stt.slice(0, 10) };
}

const TM: Record<string, string> = { '1': '小米', '2': '苹果', '3': '华为' };
const CAT3: Record<string, [name: string, c2: string, c2name: string, c1: string, c1name: string]> = {
  '61': ['手机', '13', '手机通讯', '2', '手机'],
  '86': ['平板电视', '16', '大家电', '3', '家用电器'],
  '803': ['口红', '54', '香水彩妆', '8', '个护化妆'],
};
const SPU: Record<string, string> = { '1': '小米12', '2': 'Apple iPhone 12', '3': '华为智慧屏', '4': '索芙特口红' };

function sku(stt: string, tm: string, c3: string, skuId: string, spu: string, orig: string, act: string, coup: string, amount: string, tmName: string | null = TM[tm]!): Row {
  const [c3name, c2, c2name, c1, c1name] = CAT3[c3]!;
  return {
    ...win(stt),
    trademark_id: tm,
    trademark_name: tmName,
    category1_id: c1,
    category1_name: c1name,
    category2_id: c2,
    category2_name: c2name,
    category3_id: c3,
    category3_name: c3name,
    sku_id: skuId,
    sku_name: `sku ${skuId}`,
    spu_id: spu,
    spu_name: SPU[spu]!,
    original_amount: orig,
    activity_reduce_amount: act,
    coupon_reduce_amount: coup,
    order_amount: amount,
  };
}

const SKU_ORDER: Row[] = [
  sku(`${D1} 09:00:00`, '1', '61', '1', '1', '0.30', '0.10', '0.10', '0.10'),
  sku(`${D1} 09:00:00`, '1', '61', '2', '1', '0.20', '0.00', '0.00', '0.20'),
  sku(`${D1} 09:00:10`, '2', '61', '7', '2', '12345678901234.57', '0.01', '0.00', '12345678901234.56'),
  sku(`${D1} 13:30:00`, '3', '86', '10', '3', '99999999999999.99', '0.00', '0.00', '99999999999999.99', null),
  sku(`${D1} 13:30:00`, '4' as string, '803', '20', '4', '0.70', '0.00', '0.00', '0.70', '索芙特'),
  sku(`${D1} 23:59:50`, '3', '86', '11', '3', '0.05', '0.02', '0.00', '0.03'),
  sku(`${D1} 23:59:50`, '1', '803', '21', '4', '0.70', '0.00', '0.00', '0.70'),
  sku(`${D2} 00:00:00`, '2', '61', '7', '2', '5999.00', '500.00', '30.00', '5469.00'),
  sku(`${D2} 08:00:00`, '1', '61', '1', '1', '1999.99', '0.00', '0.00', '1999.99'),
];

const PROVINCE_ORDER: Row[] = [
  { ...win(`${D1} 09:00:00`), province_id: '1', province_name: '北京', order_count: 2, order_amount: '0.10' },
  { ...win(`${D1} 09:00:10`), province_id: '1', province_name: '北京', order_count: 1, order_amount: '0.20' },
  { ...win(`${D1} 09:00:10`), province_id: '2', province_name: '天津', order_count: 1, order_amount: '12345678901234.56' },
  // '10' and '3' tie on amount: the key (as text, '10' < '3') breaks it.
  { ...win(`${D1} 13:30:00`), province_id: '3', province_name: '山西', order_count: 3, order_amount: '0.70' },
  { ...win(`${D1} 23:59:50`), province_id: '10', province_name: '河北', order_count: 1, order_amount: '0.70' },
  { ...win(`${D2} 08:00:00`), province_id: '2', province_name: '天津', order_count: 4, order_amount: '7468.99' },
];

function traffic(stt: string, vc: string, ch: string, ar: string, isNew: string, uv: number, sv: number, pv: number, dur: number): Row {
  return { ...win(stt), vc, ch, ar, is_new: isNew, uv_ct: uv, sv_ct: sv, pv_ct: pv, dur_sum: dur };
}

const TRAFFIC: Row[] = [
  traffic(`${D1} 00:00:00`, 'v2.1.134', 'xiaomi', '110000', '1', 3, 3, 9, 81_000),
  traffic(`${D1} 00:00:00`, 'v2.1.134', 'oppo', '110000', '0', 1, 1, 2, 30_500),
  traffic(`${D1} 09:00:00`, 'v2.1.132', 'xiaomi', '310000', '0', 2, 2, 7, 12_345),
  traffic(`${D1} 09:00:10`, 'v2.1.134', 'Appstore', '310000', '1', 5, 4, 11, 99_999),
  traffic(`${D1} 09:59:50`, 'v2.1.134', 'wandoujia', '110000', '1', 2, 2, 3, 1_000),
  traffic(`${D1} 13:30:00`, 'v2.1.111', 'oppo', '440000', '1', 4, 5, 20, 250_000),
  traffic(`${D1} 23:59:50`, 'v2.1.134', 'Appstore', '110000', '0', 1, 1, 1, 7),
  traffic(`${D2} 00:00:00`, 'v2.1.134', 'xiaomi', '110000', '1', 6, 6, 12, 70_000),
  traffic(`${D2} 08:00:00`, 'v2.1.134', 'huawei', '110000', '0', 9, 8, 30, 300_000),
];

const KEYWORDS: Row[] = [
  { ...win(`${D1} 09:00:00`), source: 'search', keyword: '手机', keyword_count: 3 },
  { ...win(`${D1} 09:00:00`), source: 'search', keyword: '口红', keyword_count: 1 },
  { ...win(`${D1} 09:00:10`), source: 'cart', keyword: '口红', keyword_count: 10 },
  { ...win(`${D1} 13:30:00`), source: 'order', keyword: '电视', keyword_count: 5 },
  { ...win(`${D1} 13:30:00`), source: 'click', keyword: '手机', keyword_count: 2 },
  { ...win(`${D1} 23:59:50`), source: 'home', keyword: '小米', keyword_count: 4 },
  { ...win(`${D1} 23:59:50`), source: 'SEARCH', keyword: '电视', keyword_count: 1 },
  { ...win(`${D2} 08:00:00`), source: 'search', keyword: '苹果', keyword_count: 7 },
];

const ORDER: Row[] = [
  { ...win(`${D1} 09:00:00`), order_unique_user_count: 3, order_new_user_count: 1 },
  { ...win(`${D1} 13:30:00`), order_unique_user_count: 4, order_new_user_count: 2 },
  { ...win(`${D2} 08:00:00`), order_unique_user_count: 8, order_new_user_count: 0 },
];
const PAYMENT: Row[] = [
  { ...win(`${D1} 09:00:10`), payment_suc_unique_user_count: 2, payment_suc_new_user_count: 1 },
  { ...win(`${D1} 23:59:50`), payment_suc_unique_user_count: 1, payment_suc_new_user_count: 1 },
  { ...win(`${D2} 00:00:00`), payment_suc_unique_user_count: 5, payment_suc_new_user_count: 3 },
];
function refund(stt: string, tm: string, c3: string, user: string, n: number): Row {
  const [c3name, c2, c2name, c1, c1name] = CAT3[c3]!;
  return {
    ...win(stt),
    trademark_id: tm,
    trademark_name: TM[tm]!,
    category1_id: c1,
    category1_name: c1name,
    category2_id: c2,
    category2_name: c2name,
    category3_id: c3,
    category3_name: c3name,
    user_id: user,
    refund_count: n,
  };
}
const REFUND: Row[] = [
  refund(`${D1} 09:00:00`, '1', '61', '101', 1),
  refund(`${D1} 09:00:00`, '2', '61', '101', 2),
  refund(`${D1} 13:30:00`, '3', '86', '202', 1),
  refund(`${D1} 23:59:50`, '1', '803', '101', 1),
  refund(`${D2} 08:00:00`, '1', '61', '303', 5),
];
const LOGIN: Row[] = [
  { ...win(`${D1} 09:00:00`), back_ct: 1, uu_ct: 6 },
  { ...win(`${D1} 09:00:10`), back_ct: 0, uu_ct: 2 },
  { ...win(`${D2} 00:00:00`), back_ct: 2, uu_ct: 3 },
];
const REGISTER: Row[] = [
  { ...win(`${D1} 09:00:00`), register_ct: 2 },
  { ...win(`${D1} 13:30:00`), register_ct: 1 },
  { ...win(`${D2} 08:00:00`), register_ct: 4 },
];
const CART: Row[] = [
  { ...win(`${D1} 09:00:10`), cart_add_uu_ct: 3 },
  { ...win(`${D1} 23:59:50`), cart_add_uu_ct: 2 },
  { ...win(`${D2} 08:00:00`), cart_add_uu_ct: 1 },
];

// The DDL the summary layer uses (types fixed by the issue), written out here independently of src/.
const W = 'stt TIMESTAMP, edt TIMESTAMP, cur_date DATE';
const DIMS = 'trademark_id VARCHAR, trademark_name VARCHAR, category1_id VARCHAR, category1_name VARCHAR, category2_id VARCHAR, category2_name VARCHAR, category3_id VARCHAR, category3_name VARCHAR';
const TABLES: Record<string, [ddl: string, rows: Row[]]> = {
  dws_traffic_source_keyword_page_view_window: [`${W}, source VARCHAR, keyword VARCHAR, keyword_count BIGINT`, KEYWORDS],
  dws_traffic_vc_ch_ar_is_new_page_view_window: [
    `${W}, vc VARCHAR, ch VARCHAR, ar VARCHAR, is_new VARCHAR, uv_ct BIGINT, sv_ct BIGINT, pv_ct BIGINT, dur_sum BIGINT`,
    TRAFFIC,
  ],
  dws_traffic_home_detail_page_view_window: [`${W}, home_uv_ct BIGINT, good_detail_uv_ct BIGINT`, []],
  dws_user_user_login_window: [`${W}, back_ct BIGINT, uu_ct BIGINT`, LOGIN],
  dws_user_user_register_window: [`${W}, register_ct BIGINT`, REGISTER],
  dws_trade_cart_add_uu_window: [`${W}, cart_add_uu_ct BIGINT`, CART],
  dws_trade_payment_suc_window: [`${W}, payment_suc_unique_user_count BIGINT, payment_suc_new_user_count BIGINT`, PAYMENT],
  dws_trade_order_window: [`${W}, order_unique_user_count BIGINT, order_new_user_count BIGINT`, ORDER],
  dws_trade_sku_order_window: [
    `${W}, ${DIMS}, sku_id VARCHAR, sku_name VARCHAR, spu_id VARCHAR, spu_name VARCHAR, original_amount DECIMAL(16,2), activity_reduce_amount DECIMAL(16,2), coupon_reduce_amount DECIMAL(16,2), order_amount DECIMAL(16,2)`,
    SKU_ORDER,
  ],
  dws_trade_province_order_window: [`${W}, province_id VARCHAR, province_name VARCHAR, order_count BIGINT, order_amount DECIMAL(16,2)`, PROVINCE_ORDER],
  dws_trade_trademark_category_user_refund_window: [`${W}, ${DIMS}, user_id VARCHAR, refund_count BIGINT`, REFUND],
};

function literal(v: string | number | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return String(v);
  return `'${v.replaceAll("'", "''")}'`;
}

async function makeWarehouse(file: string, only?: readonly string[]): Promise<void> {
  const db = await openDuckDB(file);
  try {
    for (const [table, [ddl, rows]] of Object.entries(TABLES)) {
      if (only && !only.includes(table)) continue;
      await db.query(`create table ${table}(${ddl})`);
      if (rows.length === 0) continue;
      const cols = Object.keys(rows[0]!);
      const values = rows.map((r) => `(${cols.map((c) => literal(r[c]!)).join(', ')})`).join(',\n');
      await db.query(`insert into ${table}(${cols.join(', ')}) values ${values}`);
    }
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Independent figures: plain TypeScript over the rows above; amounts in bigint cents.

function cents(s: string | number | null): bigint {
  const m = /^(\d+)\.(\d{2})$/.exec(String(s));
  if (!m) throw new Error(`not an amount with cents: ${String(s)}`);
  return BigInt(m[1]!) * 100n + BigInt(m[2]!);
}
function money(c: bigint): string {
  return `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
}
const onDay = (rows: Row[], day: string): Row[] => rows.filter((r) => r.cur_date === day);
const sumInt = (rows: Row[], col: string): number => rows.reduce((a, r) => a + Number(r[col]), 0);
const sumCents = (rows: Row[], col: string): bigint => rows.reduce((a, r) => a + cents(r[col]!), 0n);
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function groupBy(rows: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}
/** The largest non-null value (as SQL max() does), or null. */
function maxText(rows: Row[], col: string): string | null {
  const vs = rows.map((r) => r[col]).filter((v): v is string => typeof v === 'string');
  return vs.length === 0 ? null : vs.reduce((a, b) => (b > a ? b : a));
}

type Out = Record<string, string | null>;

function expectGmv(day: string): Out[] {
  const rows = onDay(SKU_ORDER, day);
  return [
    {
      cur_date: day,
      gmv: money(sumCents(rows, 'order_amount')),
      // The orders come from the province windows (distinct orders per province and window), not the sku ones.
      order_count: String(sumInt(onDay(PROVINCE_ORDER, day), 'order_count')),
      original_amount: money(sumCents(rows, 'original_amount')),
      activity_reduce_amount: money(sumCents(rows, 'activity_reduce_amount')),
      coupon_reduce_amount: money(sumCents(rows, 'coupon_reduce_amount')),
    },
  ];
}

function expectSkuGmv(day: string, keys: [string, string][], top?: number): Out[] {
  const groups = [...groupBy(onDay(SKU_ORDER, day), (r) => keys.map(([id]) => String(r[id])).join('\u0000')).values()];
  const out = groups.map((rows) => ({ rows, amount: sumCents(rows, 'order_amount') }));
  out.sort((a, b) => {
    const c = cmpBig(b.amount, a.amount);
    if (c !== 0) return c;
    for (const [id] of keys) {
      const k = byText(String(a.rows[0]![id]), String(b.rows[0]![id]));
      if (k !== 0) return k;
    }
    return 0;
  });
  return out.slice(0, top ?? out.length).map(({ rows, amount }) => {
    const o: Out = {};
    for (const [id, name] of keys) {
      o[id] = String(rows[0]![id]);
      o[name] = maxText(rows, name);
    }
    o.order_amount = money(amount);
    return o;
  });
}

function expectProvince(day: string, top?: number): Out[] {
  const groups = [...groupBy(onDay(PROVINCE_ORDER, day), (r) => String(r.province_id)).entries()].map(([id, rows]) => ({
    id,
    rows,
    amount: sumCents(rows, 'order_amount'),
  }));
  groups.sort((a, b) => cmpBig(b.amount, a.amount) || byText(a.id, b.id));
  return groups.slice(0, top ?? groups.length).map((g) => ({
    province_id: g.id,
    province_name: maxText(g.rows, 'province_name'),
    order_amount: money(g.amount),
    order_count: String(sumInt(g.rows, 'order_count')),
  }));
}

function expectHourly(day: string): Out[] {
  const rows = onDay(TRAFFIC, day);
  return Array.from({ length: 24 }, (_, hour) => {
    const inHour = rows.filter((r) => Number(String(r.stt).slice(11, 13)) === hour);
    return { hour: String(hour), pv: String(sumInt(inHour, 'pv_ct')), uv: String(sumInt(inHour, 'uv_ct')), sv: String(sumInt(inHour, 'sv_ct')) };
  });
}

/** A row per is_new value, '1' and '0' always (zeros where none). */
function expectNewOld(day: string): Out[] {
  const byIsNew = groupBy(onDay(TRAFFIC, day), (r) => String(r.is_new));
  for (const k of ['1', '0']) if (!byIsNew.has(k)) byIsNew.set(k, []);
  const groups = [...byIsNew.entries()].sort(([a], [b]) => byText(b, a));
  return groups.map(([isNew, rows]) => ({
    is_new: isNew,
    visitor: isNew === '1' ? 'new' : 'old',
    uv: String(sumInt(rows, 'uv_ct')),
    pv: String(sumInt(rows, 'pv_ct')),
    sv: String(sumInt(rows, 'sv_ct')),
    dur_sum: String(sumInt(rows, 'dur_sum')),
  }));
}

/** Per hour 0..23, a row for '1' (new) then '0' (old), zeros where none. */
function expectNewOldHourly(day: string): Out[] {
  const rows = onDay(TRAFFIC, day);
  return Array.from({ length: 24 }, (_, hour) =>
    ['1', '0'].map((isNew) => {
      const inHour = rows.filter((r) => Number(String(r.stt).slice(11, 13)) === hour && r.is_new === isNew);
      return {
        hour: String(hour),
        is_new: isNew,
        visitor: isNew === '1' ? 'new' : 'old',
        uv: String(sumInt(inHour, 'uv_ct')),
        pv: String(sumInt(inHour, 'pv_ct')),
        sv: String(sumInt(inHour, 'sv_ct')),
        dur_sum: String(sumInt(inHour, 'dur_sum')),
      };
    }),
  ).flat();
}

function expectChannels(day: string, top: number): Out[] {
  const groups = [...groupBy(onDay(TRAFFIC, day), (r) => String(r.ch)).entries()].map(([ch, rows]) => ({ ch, uv: sumInt(rows, 'uv_ct') }));
  groups.sort((a, b) => b.uv - a.uv || byText(a.ch, b.ch));
  return groups.slice(0, top).map((g) => ({ ch: g.ch, uv: String(g.uv) }));
}

/** The gmall publisher's weights; any other source weighs 0. */
const WEIGHT: Record<string, number> = { search: 10, order: 3, cart: 2, click: 1 };
function expectKeywords(day: string, top?: number): Out[] {
  const groups = [...groupBy(onDay(KEYWORDS, day), (r) => String(r.keyword)).entries()].map(([keyword, rows]) => ({
    keyword,
    score: rows.reduce((a, r) => a + Number(r.keyword_count) * (WEIGHT[String(r.source).toLowerCase()] ?? 0), 0),
    count: sumInt(rows, 'keyword_count'),
  }));
  groups.sort((a, b) => b.score - a.score || byText(a.keyword, b.keyword));
  return groups.slice(0, top ?? groups.length).map((g) => ({ keyword: g.keyword, score: String(g.score), keyword_count: String(g.count) }));
}

function expectUserCounts(day: string): Out[] {
  const refunds = onDay(REFUND, day);
  return [
    {
      cur_date: day,
      order_uu: String(sumInt(onDay(ORDER, day), 'order_unique_user_count')),
      order_new_uu: String(sumInt(onDay(ORDER, day), 'order_new_user_count')),
      payment_uu: String(sumInt(onDay(PAYMENT, day), 'payment_suc_unique_user_count')),
      payment_new_uu: String(sumInt(onDay(PAYMENT, day), 'payment_suc_new_user_count')),
      refund_uu: String(new Set(refunds.map((r) => r.user_id)).size),
      refund_count: String(sumInt(refunds, 'refund_count')),
      login_uu: String(sumInt(onDay(LOGIN, day), 'uu_ct')),
      back_uu: String(sumInt(onDay(LOGIN, day), 'back_ct')),
      register_ct: String(sumInt(onDay(REGISTER, day), 'register_ct')),
      cart_add_uu: String(sumInt(onDay(CART, day), 'cart_add_uu_ct')),
    },
  ];
}

const TM_KEYS: [string, string][] = [['trademark_id', 'trademark_name']];
const SPU_KEYS: [string, string][] = [['spu_id', 'spu_name']];
const CAT_KEYS: [string, string][] = [
  ['category1_id', 'category1_name'],
  ['category2_id', 'category2_name'],
  ['category3_id', 'category3_name'],
];

// ---------------------------------------------------------------------------------------------------------
// Reading the CLI's JSON with every number kept as its digits

/** JSON.parse after turning every bare number into a string (outside string literals), so no digit is lost. */
function parseExact(text: string): Out[] {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[-\d]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i))!;
      out += JSON.stringify(m[0]);
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out) as Out[];
}

let dir = '';
let file = '';

async function preset(name: string, date: string, ...more: string[]): Promise<Out[]> {
  const r = await cli(['query', '--preset', name, '--date', date, '--duckdb', file, '--format', 'json', ...more], { cwd: dir });
  if (r.code !== 0) throw new Error(`rtwh query --preset ${name} exited ${r.code}: ${r.stderr}`);
  return parseExact(r.stdout);
}

beforeAll(async () => {
  dir = tempDir('rtwh-presets-');
  file = join(dir, 'warehouse.duckdb');
  await makeWarehouse(file);
});

describe('every preset equals the figures computed independently', () => {
  for (const day of [D1, D2, EMPTY_DAY]) {
    describe(day, () => {
      test('gmv', async () => {
        expect(await preset('gmv', day)).toEqual(expectGmv(day));
      });
      test('gmv_by_province', async () => {
        expect(await preset('gmv_by_province', day)).toEqual(expectProvince(day));
      });
      test('gmv_by_trademark', async () => {
        expect(await preset('gmv_by_trademark', day)).toEqual(expectSkuGmv(day, TM_KEYS));
      });
      test('gmv_by_spu', async () => {
        expect(await preset('gmv_by_spu', day)).toEqual(expectSkuGmv(day, SPU_KEYS));
      });
      test('gmv_by_category', async () => {
        expect(await preset('gmv_by_category', day)).toEqual(expectSkuGmv(day, CAT_KEYS));
      });
      test('traffic_hourly', async () => {
        expect(await preset('traffic_hourly', day)).toEqual(expectHourly(day));
      });
      test('visitors_new_old', async () => {
        expect(await preset('visitors_new_old', day)).toEqual(expectNewOld(day));
      });
      test('visitors_new_old_hourly', async () => {
        expect(await preset('visitors_new_old_hourly', day)).toEqual(expectNewOldHourly(day));
      });
      test('channel_top (default 10)', async () => {
        expect(await preset('channel_top', day)).toEqual(expectChannels(day, 10));
      });
      test('keyword_scores', async () => {
        expect(await preset('keyword_scores', day)).toEqual(expectKeywords(day));
      });
      test('user_counts', async () => {
        expect(await preset('user_counts', day)).toEqual(expectUserCounts(day));
      });
    });
  }

  test('the hand-made day really has cents that drift in floats, and a tie broken by the key', async () => {
    const [row] = await preset('gmv', D1);
    expect(row!.gmv).toBe('112345678901236.28');
    // spu 1 sold 0.10 + 0.20 that day: 0.30000000000000004 in doubles.
    const spu1 = SKU_ORDER.filter((r) => r.cur_date === D1 && r.spu_id === '1');
    const floatSum = spu1.reduce((a, r) => a + Number(r.order_amount), 0);
    expect(String(floatSum)).not.toBe('0.3');
    expect((await preset('gmv_by_spu', D1)).find((r) => r.spu_id === '1')!.order_amount).toBe('0.30');
    const provinces = await preset('gmv_by_province', D1);
    expect(provinces.map((p) => p.province_id)).toEqual(['2', '10', '3', '1']);
    expect(row!.order_count).toBe('8');
  });

  test('visitors_new_old_hourly adds up to visitors_new_old, and splits a day across hours and new/old', async () => {
    const hourly = await preset('visitors_new_old_hourly', D1);
    expect(hourly).toHaveLength(48);
    const totals = await preset('visitors_new_old', D1);
    for (const t of totals) {
      const mine = hourly.filter((h) => h.is_new === t.is_new);
      for (const col of ['uv', 'pv', 'sv', 'dur_sum']) expect(String(mine.reduce((a, h) => a + Number(h[col]), 0))).toBe(t[col]!);
    }
    // Hour 0 has both new and old visitors, hour 9 too (two windows of 09:00, one of 09:59); hour 13 only new.
    expect(hourly.filter((h) => h.hour === '9').map((h) => [h.is_new, h.uv])).toEqual([['1', '7'], ['0', '2']]);
    expect(hourly.filter((h) => h.hour === '13').map((h) => [h.is_new, h.uv])).toEqual([['1', '4'], ['0', '0']]);
  });

  test('--top N cuts every ranking after N rows', async () => {
    expect(await preset('channel_top', D1, '--top', '2')).toEqual(expectChannels(D1, 2));
    expect(await preset('gmv_by_province', D1, '--top', '1')).toEqual(expectProvince(D1, 1));
    expect(await preset('gmv_by_trademark', D1, '--top', '2')).toEqual(expectSkuGmv(D1, TM_KEYS, 2));
    expect(await preset('gmv_by_spu', D1, '--top', '3')).toEqual(expectSkuGmv(D1, SPU_KEYS, 3));
    expect(await preset('gmv_by_category', D1, '--top', '1')).toEqual(expectSkuGmv(D1, CAT_KEYS, 1));
    expect(await preset('keyword_scores', D1, '--top', '2')).toEqual(expectKeywords(D1, 2));
  });

  test('the date defaults to mock.date (RTWH_MOCK_DATE)', async () => {
    const r = await cli(['query', '--preset', 'gmv', '--duckdb', file, '--format', 'json'], { cwd: dir, env: { RTWH_MOCK_DATE: D2 } });
    expect(r.code).toBe(0);
    expect(parseExact(r.stdout)).toEqual(expectGmv(D2));
  });
});

describe('the presets fit the DDL the dws jobs create (src/dws/tables.ts)', () => {
  test('the hand-made tables have the same columns and types', async () => {
    const db = await openDuckDB(file, { readOnly: true });
    try {
      for (const t of DWS_TABLES) {
        const { rows } = await db.query(`select column_name, data_type from information_schema.columns where table_name = '${t.name}' order by ordinal_position`);
        expect(rows.map((r) => `${String(r[0])} ${String(r[1])}`)).toEqual(t.columns.map((c) => `${c.name} ${c.type}`));
      }
    } finally {
      db.close();
    }
  });

  test('every preset runs on the tables duckdbDdl creates', async () => {
    const real = join(dir, 'ddl.duckdb');
    const db = await openDuckDB(real);
    try {
      for (const t of DWS_TABLES) await db.query(duckdbDdl(t));
    } finally {
      db.close();
    }
    for (const p of PRESETS) {
      const r = await cli(['query', '--preset', p.name, '--date', D1, '--duckdb', real, '--format', 'json'], { cwd: dir });
      expect(`${p.name}: ${r.code} ${r.stderr}`).toBe(`${p.name}: 0 `);
    }
  });
});

describe('output like `rtwh query "SQL"`', () => {
  test('csv, jsonl, markdown and box carry the exact decimals and the SQL types', async () => {
    const args = ['query', '--preset', 'gmv_by_province', '--date', D1, '--duckdb', file];
    const csv = await cli([...args, '--format', 'csv'], { cwd: dir });
    expect(csv.stdout.split('\n')[0]).toBe('province_id,province_name,order_amount,order_count');
    expect(csv.stdout).toContain('2,天津,12345678901234.56,1');
    const jsonl = await cli([...args, '--format', 'jsonl'], { cwd: dir });
    expect(jsonl.stdout.split('\n')[0]).toBe('{"province_id":"2","province_name":"天津","order_amount":12345678901234.56,"order_count":1}');
    const md = await cli([...args, '--format', 'markdown'], { cwd: dir });
    expect(md.stdout).toContain('12345678901234.56');
    const box = await cli(args, { cwd: dir, isTTY: true });
    expect(box.code).toBe(0);
    expect(box.stdout).toContain('decimal(38,2)');
    expect(box.stdout).toContain('4 rows');
    expect(box.stdout).toContain('12345678901234.56');
  });

  test('the same SQL typed by hand answers the same as the preset', async () => {
    const shown = await cli(['query', '--preset', 'keyword_scores', '--date', D1, '--top', '2', '--show-sql'], { cwd: dir });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`cur_date = DATE '${D1}'`);
    expect(shown.stdout).toContain('limit 2');
    const sql = shown.stdout.split('\n').filter((l) => !l.startsWith('--')).join('\n');
    const r = await cli(['query', sql, '--duckdb', file, '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(parseExact(r.stdout)).toEqual(expectKeywords(D1, 2));
  });

  test('--list-presets names every preset with its parameters and tables', async () => {
    const r = await cli(['query', '--list-presets', '--format', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { preset: string; parameters: string; tables: string }[];
    expect(list.map((p) => p.preset)).toEqual([
      'gmv',
      'gmv_by_province',
      'gmv_by_trademark',
      'gmv_by_spu',
      'gmv_by_category',
      'traffic_hourly',
      'visitors_new_old',
      'visitors_new_old_hourly',
      'channel_top',
      'keyword_scores',
      'user_counts',
    ]);
    expect(list.find((p) => p.preset === 'channel_top')!.parameters).toBe('--date D [--top N, default 10]');
    expect(list.find((p) => p.preset === 'gmv')!.parameters).toBe('--date D');
    expect(list.find((p) => p.preset === 'user_counts')!.tables).toContain('dws_trade_trademark_category_user_refund_window');
  });
});

describe('bad input gets a clear usage error naming the value', () => {
  async function usage(args: string[], env: Record<string, string> = {}): Promise<{ code: string; message: string; hint: string; exit: number }> {
    const r = await cli(['query', ...args, '--duckdb', file, '--json'], { cwd: dir, env });
    expect(r.stdout).toBe('');
    return JSON.parse(r.stderr).error;
  }

  test('a bad date', async () => {
    for (const [date, says] of [
      ['2025-1-14', 'invalid --date "2025-1-14": expected YYYY-MM-DD (did you mean 2025-01-14?)'],
      ['2025-02-30', 'invalid --date "2025-02-30": expected a real calendar date'],
      ["2025-01-14' or 1=1 --", `invalid --date "2025-01-14' or 1=1 --"`],
      ['yesterday', 'invalid --date "yesterday"'],
      // a calendar day no business data can have: before event times (epoch ms) begin, or past what the mocks make
      ['0000-01-01', 'invalid --date "0000-01-01": expected a date from 1970-01-02 to 9999-11-30'],
      ['9999-12-31', 'invalid --date "9999-12-31": expected a date from 1970-01-02 to 9999-11-30'],
    ]) {
      const e = await usage(['--preset', 'gmv', '--date', date!]);
      expect(e.code).toBe('USAGE');
      expect(e.exit).toBe(2);
      expect(e.message).toContain(says!);
    }
  });

  test('no date at all', async () => {
    const e = await usage(['--preset', 'gmv']);
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('--date YYYY-MM-DD');
  });

  test('a bad N', async () => {
    for (const n of ['0', '-3', '2.5', 'ten', '1e3', '10; drop table x', '99999999999999999999']) {
      const e = await usage(['--preset', 'channel_top', '--date', D1, '--top', n]);
      expect(e.code).toBe('USAGE');
      expect(e.message).toBe(`invalid --top ${JSON.stringify(n)}: expected a whole number ≥ 1`);
    }
  });

  test('--top on a preset that is no ranking', async () => {
    const e = await usage(['--preset', 'gmv', '--date', D1, '--top', '3']);
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('preset "gmv" takes no --top');
  });

  test('an unknown preset, with a did-you-mean', async () => {
    const e = await usage(['--preset', 'gvm', '--date', D1]);
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('unknown preset "gvm" (did you mean gmv?)');
    expect(e.hint).toContain('--list-presets');
  });

  test('SQL and a preset together, or preset flags without a preset', async () => {
    expect((await usage(['select 1', '--preset', 'gmv', '--date', D1])).message).toContain('not both');
    expect((await usage(['select 1', '--date', D1])).message).toContain('--date belongs to --preset NAME');
    expect((await usage(['select 1', '--top', '3'])).message).toContain('--top belongs to --preset NAME');
  });
});

describe('a missing table', () => {
  test('names the table and says to run `rtwh run dws`, not a DuckDB stack', async () => {
    const partial = join(dir, 'partial.duckdb');
    await makeWarehouse(partial, ['dws_trade_sku_order_window', 'dws_trade_order_window']);
    const ok = await cli(['query', '--preset', 'gmv_by_trademark', '--date', D1, '--duckdb', partial, '--format', 'json'], { cwd: dir });
    expect(parseExact(ok.stdout)).toEqual(expectSkuGmv(D1, TM_KEYS));

    // gmv reads the sku windows (there) and the province windows (its order count; missing).
    const r = await cli(['query', '--preset', 'gmv', '--date', D1, '--duckdb', partial, '--json'], { cwd: dir });
    expect(r.code).toBe(6);
    const e = JSON.parse(r.stderr).error as { code: string; message: string; hint: string; details: { missing: string[] } };
    expect(e.code).toBe('DWS_TABLE_NOT_FOUND');
    expect(e.message).toContain('dws_trade_province_order_window');
    expect(e.details.missing).toEqual(['dws_trade_province_order_window']);
    expect(e.hint).toContain('rtwh run dws');
    expect(e.message).not.toContain('Catalog Error');

    const many = await cli(['query', '--preset', 'user_counts', '--date', D1, '--duckdb', partial, '--json'], { cwd: dir });
    const m = JSON.parse(many.stderr).error as { message: string; details: { missing: string[] } };
    expect(m.details.missing).toEqual([
      'dws_trade_payment_suc_window',
      'dws_trade_trademark_category_user_refund_window',
      'dws_user_user_login_window',
      'dws_user_user_register_window',
      'dws_trade_cart_add_uu_window',
    ]);

    const human = await cli(['query', '--preset', 'gmv_by_province', '--date', D1, '--duckdb', partial], { cwd: dir });
    expect(human.stderr).toContain('dws_trade_province_order_window');
    expect(human.stderr).toContain('hint: The dws job creates the DWS tables: run `rtwh run dws`');
    expect(human.stderr).not.toMatch(/\n\s+at /);
  });

  test('no warehouse file at all: the same error, and no file is created', async () => {
    const r = await cli(['query', '--preset', 'traffic_hourly', '--date', D1, '--json'], { cwd: dir });
    expect(r.code).toBe(6);
    const e = JSON.parse(r.stderr).error as { code: string; message: string; hint: string };
    expect(e.code).toBe('DWS_TABLE_NOT_FOUND');
    expect(e.message).toContain('dws_traffic_vc_ch_ar_is_new_page_view_window');
    expect(e.message).toContain('no warehouse at ".rtwh/warehouse.duckdb"');
    expect(e.hint).toContain('rtwh run dws');
    expect(await Bun.file(join(dir, '.rtwh/warehouse.duckdb')).exists()).toBe(false);
  });
});
