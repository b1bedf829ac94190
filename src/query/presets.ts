/**
 * The ADS layer of gmall, as named SQL over the DWS tables: ADS is never stored, `rtwh query --preset NAME`
 * computes it on demand. Pure: names, descriptions, parameters and SQL builders; running is src/query/run.ts.
 *
 * Parameters are bound safely: the date is validated strictly (YYYY-MM-DD, a real calendar day) and the top-N
 * as a whole number before either reaches SQL, and then only as a typed literal (`DATE '2025-01-14'`,
 * `limit 10`) built from the validated value. The builders never see raw user text.
 *
 * Every figure is an exact SQL type: counts BIGINT, amounts DECIMAL (sums of DECIMAL(16,2) stay DECIMAL, never
 * a double). A day is the DWS `cur_date` (Beijing time); hours are the hour of the window start `stt`
 * (Beijing time). Rankings break ties by the key, so the same data always gives the same rows.
 */
import { closest } from '../config/load';
import { BUSINESS_DATE_HINT, checkBusinessDate, checkDate } from '../config/schema';
import { q, rtwhError } from '../errors';
import { DWS } from './tables';

/** Validated parameter values, already in SQL form. Only `bindParams` makes one. */
export interface BoundParams {
  /** The business date as a SQL literal: `DATE '2025-01-14'`. */
  readonly day: string;
  /** `\nlimit N` (on its own line) or `''` when every row is wanted. */
  readonly limit: string;
}

export interface Preset {
  readonly name: string;
  /** One line for --list-presets and --help. */
  readonly description: string;
  /** What each result row is, and its columns. */
  readonly columns: string;
  /** The DWS tables the SQL reads (all must exist). */
  readonly tables: readonly string[];
  /** Present when the preset ranks rows and takes --top N; `default` undefined means every row. */
  readonly top?: { readonly default?: number };
  readonly sql: (p: BoundParams) => string;
}

export interface PresetArgs {
  /** YYYY-MM-DD. */
  date: string | undefined;
  /** A whole number ≥ 1 (as given on the command line, or a number). */
  top?: string | number | undefined;
}

export interface BoundPreset {
  preset: Preset;
  date: string;
  top: number | undefined;
  sql: string;
}

/** keyword_count is weighted by the page the keyword came from (the gmall publisher's weights). */
export const KEYWORD_SOURCE_WEIGHTS: Readonly<Record<string, number>> = { search: 10, order: 3, cart: 2, click: 1 };
/** Weight of a source not in KEYWORD_SOURCE_WEIGHTS: 0, as the publisher's multiIf(…, 0) gives it. */
export const KEYWORD_OTHER_WEIGHT = 0;

const big = (expr: string): string => `coalesce(${expr}, 0)::BIGINT`;
const amount = (expr: string): string => `coalesce(${expr}, 0)::DECIMAL(38,2)`;

function keywordWeight(): string {
  const whens = Object.entries(KEYWORD_SOURCE_WEIGHTS)
    .map(([source, w]) => `when ${sqlString(source)} then ${w}`)
    .join(' ');
  return `case lower(source) ${whens} else ${KEYWORD_OTHER_WEIGHT} end`;
}

/** Sum of the sku order amounts of one day, grouped by one dimension (id + name, name taken as the largest seen). */
function skuGmvBy(keys: readonly [id: string, name: string][]): (p: BoundParams) => string {
  return (p) => {
    const select = keys.map(([id, name]) => `${id}, max(${name}) as ${name}`).join(', ');
    const group = keys.map(([id]) => id).join(', ');
    return `select ${select}, ${amount('sum(order_amount)')} as order_amount
from ${DWS.tradeSkuOrder}
where cur_date = ${p.day}
group by ${group}
order by order_amount desc, ${group}${p.limit}`;
  };
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'gmv',
    description: 'GMV and orders of the day: the sum of order_amount over the sku order windows (with the amounts it comes from), and the orders counted by the province order windows',
    columns: 'one row: cur_date, gmv, order_count, original_amount, activity_reduce_amount, coupon_reduce_amount',
    tables: [DWS.tradeSkuOrder, DWS.tradeProvinceOrder],
    // gmall's ADS: GMV from the sku windows; the order count from the province windows (distinct orders per
    // province and window, summed: an order has one province, and its details share its create time).
    sql: (p) => `with
  s as (select sum(order_amount) as gmv, sum(original_amount) as original, sum(activity_reduce_amount) as activity,
          sum(coupon_reduce_amount) as coupon
        from ${DWS.tradeSkuOrder} where cur_date = ${p.day}),
  o as (select sum(order_count) as n from ${DWS.tradeProvinceOrder} where cur_date = ${p.day})
select ${p.day} as cur_date,
  ${amount('s.gmv')} as gmv,
  ${big('o.n')} as order_count,
  ${amount('s.original')} as original_amount,
  ${amount('s.activity')} as activity_reduce_amount,
  ${amount('s.coupon')} as coupon_reduce_amount
from s, o`,
  },
  {
    name: 'gmv_by_province',
    description: 'GMV by province (the map): order amount and distinct orders per province, largest first',
    columns: 'a row per province: province_id, province_name, order_amount, order_count',
    tables: [DWS.tradeProvinceOrder],
    top: {},
    sql: (p) => `select province_id, max(province_name) as province_name,
  ${amount('sum(order_amount)')} as order_amount, ${big('sum(order_count)')} as order_count
from ${DWS.tradeProvinceOrder}
where cur_date = ${p.day}
group by province_id
order by order_amount desc, province_id${p.limit}`,
  },
  {
    name: 'gmv_by_trademark',
    description: 'GMV by trademark, largest first',
    columns: 'a row per trademark: trademark_id, trademark_name, order_amount',
    tables: [DWS.tradeSkuOrder],
    top: {},
    sql: skuGmvBy([['trademark_id', 'trademark_name']]),
  },
  {
    name: 'gmv_by_spu',
    description: 'GMV by spu (product), largest first',
    columns: 'a row per spu: spu_id, spu_name, order_amount',
    tables: [DWS.tradeSkuOrder],
    top: {},
    sql: skuGmvBy([['spu_id', 'spu_name']]),
  },
  {
    name: 'gmv_by_category',
    description: 'GMV by category (level 1 / 2 / 3), largest first',
    columns: 'a row per category3: category1_id, category1_name, category2_id, category2_name, category3_id, category3_name, order_amount',
    tables: [DWS.tradeSkuOrder],
    top: {},
    sql: skuGmvBy([
      ['category1_id', 'category1_name'],
      ['category2_id', 'category2_name'],
      ['category3_id', 'category3_name'],
    ]),
  },
  {
    name: 'traffic_hourly',
    description: 'Traffic by hour of the day: page views, unique visitors and sessions (all 24 hours, 0 where none)',
    columns: 'a row per hour 0..23: hour, pv, uv, sv',
    tables: [DWS.trafficVcChArIsNew],
    sql: (p) => `with h as (
  select hour(stt)::INTEGER as hour, sum(pv_ct) as pv, sum(uv_ct) as uv, sum(sv_ct) as sv
  from ${DWS.trafficVcChArIsNew}
  where cur_date = ${p.day}
  group by 1
)
select r.range::INTEGER as hour, ${big('h.pv')} as pv, ${big('h.uv')} as uv, ${big('h.sv')} as sv
from range(24) r left join h on h.hour = r.range
order by hour`,
  },
  {
    name: 'visitors_new_old',
    description: 'New vs returning visitors of the day: unique visitors, page views, sessions and time on page (ms); by hour: visitors_new_old_hourly',
    columns: "a row per is_new value, '1' (new) and '0' (old) always, 0 where none: is_new, visitor (new|old), uv, pv, sv, dur_sum",
    tables: [DWS.trafficVcChArIsNew],
    // As the hourly split: new and old both, even on a day without one of them (or without data).
    sql: (p) => `with
  d as (
    select is_new, sum(uv_ct) as uv, sum(pv_ct) as pv, sum(sv_ct) as sv, sum(dur_sum) as dur_sum
    from ${DWS.trafficVcChArIsNew}
    where cur_date = ${p.day}
    group by is_new
  ),
  k as (select '1' as is_new union select '0' union select is_new from d)
select k.is_new,
  case k.is_new when '1' then 'new' when '0' then 'old' else k.is_new end as visitor,
  ${big('d.uv')} as uv, ${big('d.pv')} as pv, ${big('d.sv')} as sv, ${big('d.dur_sum')} as dur_sum
from k left join d on d.is_new is not distinct from k.is_new
order by k.is_new desc`,
  },
  {
    name: 'visitors_new_old_hourly',
    description: 'New vs returning visitors by hour of the day (all 24 hours for new and old, 0 where none): the hourly split of visitors_new_old',
    columns: "a row per hour 0..23 and is_new value ('1' first): hour, is_new, visitor (new|old), uv, pv, sv, dur_sum",
    tables: [DWS.trafficVcChArIsNew],
    // Every hour has a '1' and a '0' row; any other is_new value of the day gets its 24 rows too, so the rows of
    // an is_new value add up to its visitors_new_old row.
    sql: (p) => `with
  h as (
    select hour(stt)::INTEGER as hour, is_new, sum(uv_ct) as uv, sum(pv_ct) as pv, sum(sv_ct) as sv, sum(dur_sum) as dur_sum
    from ${DWS.trafficVcChArIsNew}
    where cur_date = ${p.day}
    group by 1, 2
  ),
  k as (select '1' as is_new union select '0' union select is_new from h)
select r.range::INTEGER as hour, k.is_new,
  case k.is_new when '1' then 'new' when '0' then 'old' else k.is_new end as visitor,
  ${big('h.uv')} as uv, ${big('h.pv')} as pv, ${big('h.sv')} as sv, ${big('h.dur_sum')} as dur_sum
from range(24) r cross join k
  left join h on h.hour = r.range and h.is_new is not distinct from k.is_new
order by hour, k.is_new desc`,
  },
  {
    name: 'channel_top',
    description: 'Top-N channels by unique visitors (default 10)',
    columns: 'a row per channel: ch, uv',
    tables: [DWS.trafficVcChArIsNew],
    top: { default: 10 },
    sql: (p) => `select ch, ${big('sum(uv_ct)')} as uv
from ${DWS.trafficVcChArIsNew}
where cur_date = ${p.day}
group by ch
order by uv desc, ch${p.limit}`,
  },
  {
    name: 'keyword_scores',
    description: `Search keywords scored for the word cloud: keyword_count weighted by source (${Object.entries(KEYWORD_SOURCE_WEIGHTS)
      .map(([s, w]) => `${s} ${w}`)
      .join(', ')}, other ${KEYWORD_OTHER_WEIGHT})`,
    columns: 'a row per keyword: keyword, score, keyword_count',
    tables: [DWS.trafficSourceKeyword],
    top: {},
    sql: (p) => `select keyword, ${big(`sum(keyword_count * ${keywordWeight()})`)} as score, ${big('sum(keyword_count)')} as keyword_count
from ${DWS.trafficSourceKeyword}
where cur_date = ${p.day}
group by keyword
order by score desc, keyword${p.limit}`,
  },
  {
    name: 'user_counts',
    description: 'User counts of the day: ordering, paying (new), refunding, logging in (returning), registering, adding to cart',
    columns:
      'one row: cur_date, order_uu, order_new_uu, payment_uu, payment_new_uu, refund_uu, refund_count, login_uu, back_uu, register_ct, cart_add_uu',
    tables: [DWS.tradeOrder, DWS.tradePaymentSuc, DWS.tradeTrademarkCategoryUserRefund, DWS.userLogin, DWS.userRegister, DWS.tradeCartAdd],
    // One scan per table (single-row aggregates, cross-joined), not one per figure.
    sql: (p) => `with
  o as (select sum(order_unique_user_count) as uu, sum(order_new_user_count) as nu from ${DWS.tradeOrder} where cur_date = ${p.day}),
  pay as (select sum(payment_suc_unique_user_count) as uu, sum(payment_suc_new_user_count) as nu from ${DWS.tradePaymentSuc} where cur_date = ${p.day}),
  r as (select count(distinct user_id) as uu, sum(refund_count) as n from ${DWS.tradeTrademarkCategoryUserRefund} where cur_date = ${p.day}),
  l as (select sum(uu_ct) as uu, sum(back_ct) as back from ${DWS.userLogin} where cur_date = ${p.day}),
  reg as (select sum(register_ct) as n from ${DWS.userRegister} where cur_date = ${p.day}),
  c as (select sum(cart_add_uu_ct) as uu from ${DWS.tradeCartAdd} where cur_date = ${p.day})
select ${p.day} as cur_date,
  ${big('o.uu')} as order_uu, ${big('o.nu')} as order_new_uu,
  ${big('pay.uu')} as payment_uu, ${big('pay.nu')} as payment_new_uu,
  ${big('r.uu')} as refund_uu, ${big('r.n')} as refund_count,
  ${big('l.uu')} as login_uu, ${big('l.back')} as back_uu,
  ${big('reg.n')} as register_ct, ${big('c.uu')} as cart_add_uu
from o, pay, r, l, reg, c`,
  },
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

/** The preset called `name`; USAGE naming the value (with a did-you-mean) when there is none. */
export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (preset) return preset;
  const guess = closest(name, PRESET_NAMES);
  throw rtwhError('USAGE', `unknown preset ${q(name)}${guess ? ` (did you mean ${guess}?)` : ''}; presets: ${PRESET_NAMES.join(', ')}`, {
    hint: 'List them with `rtwh query --list-presets`.',
  });
}

/** Throws USAGE naming the value unless it is a real YYYY-MM-DD day within BUSINESS_DATES. Returns the date. */
export function validatePresetDate(value: string | undefined): string {
  if (value === undefined || value === '') {
    throw rtwhError('USAGE', 'a preset needs --date YYYY-MM-DD (or mock.date in rtwh.toml / RTWH_MOCK_DATE)', {
      hint: 'e.g. rtwh query --preset gmv --date 2025-01-14',
    });
  }
  const problem = checkBusinessDate(value);
  if (problem) {
    throw rtwhError('USAGE', `invalid --date ${q(value)}: ${problem}`, {
      hint: checkDate(value) ? 'Dates are YYYY-MM-DD with leading zeros, e.g. 2025-01-14.' : `No business day outside that range reaches the warehouse. ${BUSINESS_DATE_HINT}`,
    });
  }
  return value;
}

/** Throws USAGE naming the value unless it is a whole number ≥ 1. */
export function validateTop(value: string | number): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw rtwhError('USAGE', `invalid --top ${q(value)}: expected a whole number ≥ 1`, { hint: 'e.g. --top 10' });
  }
  return n;
}

/** The validated values in SQL form: the only way a user's date or N reaches SQL. */
export function bindParams(date: string, top: number | undefined): BoundParams {
  const d = validatePresetDate(date);
  const n = top === undefined ? undefined : validateTop(top);
  return { day: `DATE '${d}'`, limit: n === undefined ? '' : `\nlimit ${n}` };
}

/**
 * Validates the arguments against the preset and builds its SQL.
 * @example
 *   bindPreset('channel_top', { date: '2025-01-14', top: '5' }).sql // … where cur_date = DATE '2025-01-14' … limit 5
 */
export function bindPreset(name: string, args: PresetArgs): BoundPreset {
  const preset = findPreset(name);
  const date = validatePresetDate(args.date);
  let top: number | undefined;
  if (args.top !== undefined) {
    if (!preset.top) {
      const ranked = PRESETS.filter((p) => p.top).map((p) => p.name);
      throw rtwhError('USAGE', `preset ${q(preset.name)} takes no --top (it is not a ranking); --top applies to ${ranked.join(', ')}`);
    }
    top = validateTop(args.top);
  } else top = preset.top?.default;
  return { preset, date, top, sql: preset.sql(bindParams(date, top)) };
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
