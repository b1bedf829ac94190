/**
 * The trade windows of the summary layer (`rtwh run dws`): five jobs over the dwd trade facts, each a JobSpec that
 * emits, for every closed tumbling event-time window (`--window`, default 10 s), one record per group to a topic
 * named like its table (window.ts: key `stt|edt|<key columns>`, value = exactly the table's columns of tables.ts).
 *
 * | table                                           | input                           | per window                                  |
 * |-------------------------------------------------|---------------------------------|---------------------------------------------|
 * | dws_trade_payment_suc_window                    | dwd_trade_order_pay_suc_detail  | users paying for the first time that day / ever |
 * | dws_trade_order_window                          | dwd_trade_order_detail          | users ordering for the first time that day / ever |
 * | dws_trade_sku_order_window                      | dwd_trade_order_detail          | by sku: split amounts summed exactly, names sku → spu → trademark → category3 → 2 → 1 |
 * | dws_trade_province_order_window                 | dwd_trade_order_detail          | by province: distinct orders, sum(split_total_amount), province name |
 * | dws_trade_trademark_category_user_refund_window | dwd_trade_order_refund          | by trademark, category, user: distinct refunded orders |
 *
 * Rules (those of the gmall 2022 jobs):
 * - Event time is the fact's `ts` (ms). "The day" is the Beijing date of `ts`.
 * - Unique users: a user counts in the window of their first fact of the day (keyed state: the last day seen);
 *   new = no fact of that user ever before (the state has no TTL). A fact whose window was emitted already is
 *   not counted and leaves the state as it was (`window_late`), so the user still counts with their next fact.
 * - Order details are deduplicated by detail id, as the seed's "emit current minus last": the amounts last seen
 *   for an id are kept (1 day of event time); a repeat adds only the difference (nothing for an exact duplicate,
 *   counted `duplicate_order_detail`), and never counts its order again.
 * - refund_count = distinct order ids of the group's refunds in the window (the 2022 job's order id set); a refund
 *   id seen before (1 day) is counted `duplicate_refund` and skipped.
 * - Amounts are exact: DECIMAL digits summed as integers of the smallest unit, never floats.
 * - Names come from the dims (ctx.dims, the dim store's cached client), prefetched per batch in prepare(). An id
 *   not found is asked again a few times (`--dim-retries`, `--dim-retry-ms`), then the row is emitted with null
 *   names (and null ids further down the chain) and `dim_miss` is counted. An id that missed is not waited for
 *   again for a while, so a missing dim row never stalls the job.
 * - A record that is not a JSON object, or has no usable `ts`, goes to the dead letters.
 */
import { ExactDecimal } from '../output/result';
import { parseExact } from '../formats/validated-change';
import { kind } from '../formats/validate-check';
import type { DimReader, InputRecord, JobContext, JobOption, JobSpec, Json } from '../stream/types';
import { dwsTable, type DwsTable } from './tables';
import { beijingDay, DAY_MS, dwsJob, shownValue, TumblingWindow, WindowLogic, type DwsInput } from './window';

export const PAYMENT_SUC_TABLE = 'dws_trade_payment_suc_window';
export const ORDER_TABLE = 'dws_trade_order_window';
export const SKU_ORDER_TABLE = 'dws_trade_sku_order_window';
export const PROVINCE_ORDER_TABLE = 'dws_trade_province_order_window';
export const REFUND_TABLE = 'dws_trade_trademark_category_user_refund_window';

/** How long (event time) a detail's last amounts / a refund id are kept for deduplication. */
export const DEDUPE_TTL_MS = DAY_MS;
/** Wall time an id that missed (after its retries) is not retried again. */
const MISS_QUIET_MS = 30_000;

// -------------------------------------------------------------------------------------------- exact decimals

const DEC = /^(-?)(\d+)(?:\.(\d+))?$/;

/** A decimal as an integer of units of 10^-scale. */
interface Units {
  units: bigint;
  scale: number;
}

function toUnits(text: string): Units | undefined {
  if (!DEC.test(text)) return undefined;
  const dot = text.indexOf('.');
  if (dot < 0) return { units: BigInt(text), scale: 0 };
  return { units: BigInt(text.slice(0, dot) + text.slice(dot + 1)), scale: text.length - dot - 1 };
}

const POW10: bigint[] = [];
function pow10(n: number): bigint {
  return (POW10[n] ??= 10n ** BigInt(n));
}

function rescale(u: Units, scale: number): bigint {
  return u.scale === scale ? u.units : u.units * pow10(scale - u.scale);
}

function unitsText(units: bigint, scale: number): string {
  const neg = units < 0n;
  const digits = (neg ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${text}` : text;
}

const UNITS_ZERO: Units = { units: 0n, scale: 0 };

/** a + b − c (decimal texts), exactly, at the larger scale (at least 2: DECIMAL(16,2)). */
export function decimalAdd(a: string, b: string, minus = '0'): string {
  const x = toUnits(a);
  const y = toUnits(b);
  const z = minus === '0' ? UNITS_ZERO : toUnits(minus);
  if (!x || !y || !z) throw new RangeError(`not a decimal: ${[a, b, minus].find((t) => !DEC.test(t))}`);
  const scale = Math.max(2, x.scale, y.scale, z.scale);
  return unitsText(rescale(x, scale) + rescale(y, scale) - rescale(z, scale), scale);
}

function isZero(text: string): boolean {
  return /^-?0+(?:\.0+)?$/.test(text);
}

/** A fact's amount as decimal text: exact numbers keep their digits; null/absent is 0; anything else undefined. */
function amountText(v: unknown): string | undefined {
  if (v === null || v === undefined) return '0';
  if (v instanceof ExactDecimal) return DEC.test(v.text) ? v.text : undefined;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && DEC.test(v)) return v;
  return undefined;
}

// -------------------------------------------------------------------------------------------- records

type Fact = Record<string, unknown>;

/** An id-like value as text (ids come as numbers from the facts and as text from the dims). */
function idText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof ExactDecimal) return v.text;
  return null;
}

/** Parses a fact (exact numbers) and observes its event time; dead-letters it and returns undefined when unusable. */
function readFact(record: InputRecord, ctx: JobContext, parsed?: Fact | null): Fact | undefined {
  let fact = parsed;
  if (fact === undefined) fact = parseFact(record.value);
  if (fact === null) {
    const v = record.value;
    ctx.deadLetter(`(record): expected a JSON object, got ${v === null ? 'no value' : JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`);
    return undefined;
  }
  const ts = fact.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts <= 0) {
    ctx.deadLetter(`ts: expected the event time in epoch milliseconds, got ${ts instanceof ExactDecimal ? `number ${ts.text}` : kind(ts)}`);
    return undefined;
  }
  ctx.observe(ts);
  return fact;
}

/** Columns whose numbers must keep their digits (decimals); ids must be exact too. */
const AMOUNT_COLUMNS = ['split_original_amount', 'split_activity_amount', 'split_coupon_amount', 'split_total_amount', 'split_payment_amount', 'refund_amount'];
const ID_COLUMNS = ['id', 'order_id', 'user_id', 'sku_id', 'province_id'];
/** The source text of a column's number: `"col":` then the number (not followed by more of a number). */
const AMOUNT_SOURCE = AMOUNT_COLUMNS.map((c): [string, RegExp] => [c, new RegExp(`"${c}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?)(?![\\d.eE])`)]);

/**
 * A fact as an object with exact numbers. Fast path: plain JSON.parse, with each decimal column's digits taken
 * from its source text (a key followed by ':' cannot occur inside a JSON string, where the quote is escaped);
 * anything else (an unsafe integer id, a number not found as written) goes through parseExact.
 */
function parseFact(value: string | null): Fact | null {
  if (value === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const fact = v as Fact;
  for (const c of ID_COLUMNS) {
    const x = fact[c];
    if (typeof x === 'number' && !Number.isSafeInteger(x)) return exactFact(value);
  }
  for (const [c, source] of AMOUNT_SOURCE) {
    const x = fact[c];
    if (typeof x !== 'number') continue;
    const m = source.exec(value);
    if (!m) return exactFact(value);
    const digits = m[1]!;
    if (digits.includes('.')) fact[c] = new ExactDecimal(digits);
    else if (!Number.isSafeInteger(x)) return exactFact(value);
  }
  return fact;
}

function exactFact(value: string): Fact | null {
  try {
    const v = parseExact(value);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fact) : null;
  } catch {
    return null;
  }
}

// -------------------------------------------------------------------------------------------- dims

type DimRow = Record<string, string | null>;

/** What a sku resolves to through the dims; a link missing leaves its id and name (and what follows) null. */
export interface SkuNames {
  trademark_id: string | null;
  trademark_name: string | null;
  category1_id: string | null;
  category1_name: string | null;
  category2_id: string | null;
  category2_name: string | null;
  category3_id: string | null;
  category3_name: string | null;
  sku_name: string | null;
  spu_id: string | null;
  spu_name: string | null;
  /** Dim tables whose row was not found (empty: complete). */
  missing: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Batch dim lookups with brief retries for misses; ids that missed recently are asked once, not waited for. */
class DimFetcher {
  private readonly quiet = new Map<string, number>();

  constructor(
    private readonly retries: number,
    private readonly retryMs: number,
  ) {}

  async fetch(dims: DimReader | undefined, table: string, ids: Iterable<string>): Promise<Map<string, DimRow>> {
    const out = new Map<string, DimRow>();
    const want = [...new Set(ids)];
    if (!dims || want.length === 0) return out;
    const now = Date.now();
    let missing = want;
    for (let attempt = 0; ; attempt++) {
      const rows = await dims.getMany(table, missing);
      for (const [id, row] of rows) out.set(id, row);
      missing = missing.filter((id) => !rows.has(id));
      // Only ids that did not miss a moment ago are worth waiting for.
      missing = attempt === 0 ? missing.filter((id) => (this.quiet.get(`${table}\0${id}`) ?? 0) <= now) : missing;
      if (missing.length === 0 || attempt >= this.retries) break;
      await sleep(this.retryMs);
    }
    for (const id of want) {
      const k = `${table}\0${id}`;
      if (out.has(id)) this.quiet.delete(k);
      else this.quiet.set(k, Date.now() + MISS_QUIET_MS);
    }
    if (this.quiet.size > 100_000) this.quiet.clear();
    return out;
  }

  /** sku → spu, trademark, category3 → category2 → category1, for every sku id. */
  async skus(dims: DimReader | undefined, skuIds: Iterable<string>): Promise<Map<string, SkuNames>> {
    const sku = await this.fetch(dims, 'dim_sku_info', skuIds);
    const col = (rows: Iterable<DimRow>, c: string) => [...rows].map((r) => r[c]).filter((x): x is string => typeof x === 'string');
    const [spu, tm, c3] = await Promise.all([
      this.fetch(dims, 'dim_spu_info', col(sku.values(), 'spu_id')),
      this.fetch(dims, 'dim_base_trademark', col(sku.values(), 'tm_id')),
      this.fetch(dims, 'dim_base_category3', col(sku.values(), 'category3_id')),
    ]);
    const c2 = await this.fetch(dims, 'dim_base_category2', col(c3.values(), 'category2_id'));
    const c1 = await this.fetch(dims, 'dim_base_category1', col(c2.values(), 'category1_id'));
    const out = new Map<string, SkuNames>();
    for (const id of new Set(skuIds)) {
      const missing: string[] = [];
      const link = (rows: Map<string, DimRow>, table: string, key: string | null | undefined): DimRow | undefined => {
        if (key === null || key === undefined) return undefined;
        const row = rows.get(key);
        if (!row) missing.push(table);
        return row;
      };
      const s = sku.get(id);
      if (!s) missing.push('dim_sku_info');
      const p = link(spu, 'dim_spu_info', s?.spu_id);
      const t = link(tm, 'dim_base_trademark', s?.tm_id);
      const r3 = link(c3, 'dim_base_category3', s?.category3_id);
      const r2 = link(c2, 'dim_base_category2', r3?.category2_id);
      const r1 = link(c1, 'dim_base_category1', r2?.category1_id);
      out.set(id, {
        trademark_id: s?.tm_id ?? null,
        trademark_name: t?.tm_name ?? null,
        category1_id: r2?.category1_id ?? null,
        category1_name: r1?.name ?? null,
        category2_id: r3?.category2_id ?? null,
        category2_name: r2?.name ?? null,
        category3_id: s?.category3_id ?? null,
        category3_name: r3?.name ?? null,
        sku_name: s?.sku_name ?? null,
        spu_id: s?.spu_id ?? null,
        spu_name: p?.spu_name ?? null,
        missing,
      });
    }
    return out;
  }
}

const EMPTY_SKU: SkuNames = {
  trademark_id: null,
  trademark_name: null,
  category1_id: null,
  category1_name: null,
  category2_id: null,
  category2_name: null,
  category3_id: null,
  category3_name: null,
  sku_name: null,
  spu_id: null,
  spu_name: null,
  missing: ['dim_sku_info'],
};

/** The ids and names of a resolved sku as columns (the accumulator keeps those the table has beyond its keys). */
function skuColumns(names: SkuNames): Record<string, string | null> {
  const { missing: _missing, ...columns } = names;
  return columns;
}

/** Counts a lookup that did not resolve completely. */
function countMiss(ctx: JobContext, names: SkuNames): void {
  if (names.missing.length === 0) return;
  ctx.count('dim_miss');
  for (const t of names.missing) ctx.count(`dim_miss_${t}`);
}

// -------------------------------------------------------------------------------------------- table rows

function tableOf(name: string): DwsTable {
  const t = dwsTable(name);
  if (!t) throw new Error(`internal: no DWS table ${name}`);
  return t;
}

/** The table's columns after stt, edt, cur_date; and its grouping key columns (primary key minus stt, edt). */
function layout(name: string): { columns: string[]; keys: string[] } {
  const t = tableOf(name);
  const rest = t.columns.filter((c) => c.name !== 'stt' && c.name !== 'edt' && c.name !== 'cur_date');
  return { columns: rest.map((c) => c.name), keys: rest.filter((c) => c.key).map((c) => c.name) };
}

/** A window that groups by the table's key columns and emits exactly the table's columns (in table order). */
function tableWindow<A>(table: string, sizeMs: number, values: (acc: A) => Record<string, Json>): { win: TumblingWindow<A>; keys: string[] } {
  const { columns, keys } = layout(table);
  const win = new TumblingWindow<A>({
    name: table,
    output: table,
    sizeMs,
    row: (keyValues, acc) => {
      const byName: Record<string, Json> = { ...values(acc) };
      keys.forEach((k, i) => {
        byName[k] = keyValues[i] ?? null;
      });
      const row: Record<string, Json> = {};
      for (const c of columns) row[c] = byName[c] ?? null;
      return row;
    },
  });
  return { win, keys };
}

// -------------------------------------------------------------------------------------------- options

const count = (v: string, max: number): string | undefined => (/^\d+$/.test(v) && Number(v) <= max ? undefined : `expected a whole number up to ${max}`);

const DIM_OPTIONS: JobOption[] = [
  { name: 'dim-retries', description: 'times a dim id not found is asked again (then names are null and dim_miss is counted)', default: '2', check: (v) => count(v, 20) },
  { name: 'dim-retry-ms', description: 'wait between those retries (ms)', default: '100', check: (v) => count(v, 60_000) },
];

function fetcher(options: Readonly<Record<string, string>>): DimFetcher {
  return new DimFetcher(Number(options['dim-retries'] ?? '2'), Number(options['dim-retry-ms'] ?? '100'));
}

/**
 * The batch's facts, parsed once in prepare() (to learn the ids to prefetch) and handed to process() one by one,
 * so no record is parsed twice.
 */
class ParsedBatch {
  private readonly facts = new Map<InputRecord, Fact | null>();

  /** Parses every record; returns the ids in `column`, for the dim prefetch. */
  load(records: readonly InputRecord[], column: string): Set<string> {
    this.facts.clear();
    const ids = new Set<string>();
    for (const r of records) {
      const f = parseFact(r.value);
      this.facts.set(r, f);
      const id = f ? idText(f[column]) : null;
      if (id !== null) ids.add(id);
    }
    return ids;
  }

  /** The fact parsed for `record` (undefined when it was not in the batch: readFact parses it then). */
  take(record: InputRecord): Fact | null | undefined {
    const f = this.facts.get(record);
    this.facts.delete(record);
    return f;
  }
}

// -------------------------------------------------------------------------------------------- unique users

/** [unique users, new users] */
type UuAcc = [number, number];

/** First fact of a user per Beijing day (and first ever) → one window row of counts. */
class UniqueUserLogic extends WindowLogic<UuAcc> {

  constructor(table: string, metrics: readonly [string, string], sizeMs: number) {
    super();
    this.win = tableWindow<UuAcc>(table, sizeMs, (a) => ({ [metrics[0]]: a[0], [metrics[1]]: a[1] })).win;
  }

  process(record: InputRecord, ctx: JobContext): void {
    const fact = readFact(record, ctx);
    if (!fact) return;
    const user = idText(fact.user_id);
    if (user === null) {
      ctx.count('no_user_id');
      return;
    }
    const ts = fact.ts as number;
    const day = beijingDay(ts);
    const last = ctx.state.get<number>('user', user);
    if (last !== undefined && last >= day) return;
    const isNew = last === undefined ? 1 : 0;
    const added = this.win.add(ctx, ts, [], () => [0, 0], (a) => {
      a[0] += 1;
      a[1] += isNew;
      return a;
    });
    if (added) ctx.state.put('user', user, day);
  }
}

// -------------------------------------------------------------------------------------------- sku orders

/** Amounts of a detail: [original, activity, coupon, total] as decimal texts. */
type Amounts = [string, string, string, string];
const ZERO: Amounts = ['0', '0', '0', '0'];

/**
 * Most digits before the point of one amount: what DECIMAL(16,2), the column the windows sum amounts into, holds. A
 * longer one made the sink refuse the whole batch on every restart, and nothing loaded. (A window summing several
 * amounts near that size could still overflow it: 10^14 yuan.)
 */
const MAX_AMOUNT_DIGITS = 14;
const AMOUNT_RANGE = new RegExp(`^-?\\d{1,${MAX_AMOUNT_DIGITS}}(\\.\\d+)?$`);

/** The amounts of an order detail fact, or undefined (dead-lettered) when one is not a number that fits. */
function detailAmounts(fact: Fact, ctx: JobContext): Amounts | undefined {
  const cols = ['split_original_amount', 'split_activity_amount', 'split_coupon_amount', 'split_total_amount'] as const;
  const out: string[] = [];
  for (const c of cols) {
    const t = amountText(fact[c]);
    if (t === undefined) {
      ctx.deadLetter(`${c}: expected an exact decimal number, got ${shownValue(fact[c])}`);
      return undefined;
    }
    if (!AMOUNT_RANGE.test(t)) {
      ctx.deadLetter(`${c}: expected an amount of at most ${MAX_AMOUNT_DIGITS} digits before the point, got ${shownValue(fact[c])}`);
      return undefined;
    }
    out.push(t);
  }
  return out as Amounts;
}

/** The detail's amounts minus those last seen for its id (all of them when first seen); null for an exact repeat. */
function detailDelta(ctx: JobContext, ns: string, id: string, now: Amounts): { delta: Amounts; first: boolean } | null {
  const last = ctx.state.get<Amounts>(ns, id);
  if (last === undefined) return { delta: now, first: true };
  const delta = now.map((x, i) => decimalAdd(x, '0', last[i])) as Amounts;
  if (delta.every(isZero)) return null;
  return { delta, first: false };
}

/**
 * The order detail fact of a record with its id, the `other` id column, its amounts and their change since the id was
 * last seen; undefined when the record is dead-lettered (no id, not a number) or is an exact repeat (counted).
 */
function detailChange(
  record: InputRecord,
  ctx: JobContext,
  parsed: Fact | null | undefined,
  other: 'sku_id' | 'order_id',
): { fact: Fact; id: string; other: string; amounts: Amounts; d: { delta: Amounts; first: boolean } } | undefined {
  const fact = readFact(record, ctx, parsed);
  if (!fact) return undefined;
  const id = idText(fact.id);
  const otherId = idText(fact[other]);
  if (id === null || otherId === null) {
    ctx.deadLetter(`order detail without id or ${other}`);
    return undefined;
  }
  const amounts = detailAmounts(fact, ctx);
  if (!amounts) return undefined;
  const d = detailDelta(ctx, 'detail', id, amounts);
  if (d === null) {
    ctx.count('duplicate_order_detail');
    return undefined;
  }
  return { fact, id, other: otherId, amounts, d };
}

/** Sku window accumulator: the names of the sku (first seen in the window) and the four sums. */
interface SkuAcc {
  names: Record<string, string | null>;
  sums: Amounts;
}

class SkuOrderLogic extends WindowLogic<SkuAcc> {
  private readonly keys: string[];
  private readonly dims: DimFetcher;
  private skus = new Map<string, SkuNames>();
  private readonly batch = new ParsedBatch();

  constructor(options: Readonly<Record<string, string>>, sizeMs: number) {
    super();
    const w = tableWindow<SkuAcc>(SKU_ORDER_TABLE, sizeMs, (a) => ({
      ...a.names,
      original_amount: new ExactDecimal(a.sums[0]),
      activity_reduce_amount: new ExactDecimal(a.sums[1]),
      coupon_reduce_amount: new ExactDecimal(a.sums[2]),
      order_amount: new ExactDecimal(a.sums[3]),
    }));
    this.win = w.win;
    this.keys = w.keys;
    this.dims = fetcher(options);
  }

  async prepare(records: readonly InputRecord[], ctx: JobContext): Promise<void> {
    this.skus = await this.dims.skus(ctx.dims, this.batch.load(records, 'sku_id'));
  }

  process(record: InputRecord, ctx: JobContext): void {
    const c = detailChange(record, ctx, this.batch.take(record), 'sku_id');
    if (!c) return;
    const { fact, id, other: sku, amounts, d } = c;
    const names = this.skus.get(sku) ?? EMPTY_SKU;
    const columns: Record<string, string | null> = { ...skuColumns(names), sku_id: sku };
    const keyValues = this.keys.map((k) => columns[k] ?? null);
    const ts = fact.ts as number;
    const added = this.win.add(
      ctx,
      ts,
      keyValues,
      () => ({ names: columns, sums: [...ZERO] }),
      (a) => {
        a.sums = a.sums.map((s, i) => decimalAdd(s, d.delta[i]!)) as Amounts;
        return a;
      },
    );
    if (!added) return;
    countMiss(ctx, names);
    ctx.state.put('detail', id, amounts, DEDUPE_TTL_MS);
  }
}

// -------------------------------------------------------------------------------------------- province orders

/** Province window accumulator: province name (first seen), distinct order ids, sum of split_total_amount. */
interface ProvinceAcc {
  name: string | null;
  orders: string[];
  amount: string;
}

class ProvinceOrderLogic extends WindowLogic<ProvinceAcc> {
  private readonly dims: DimFetcher;
  private provinces = new Map<string, DimRow>();
  private readonly batch = new ParsedBatch();

  constructor(options: Readonly<Record<string, string>>, sizeMs: number) {
    super();
    this.win = tableWindow<ProvinceAcc>(PROVINCE_ORDER_TABLE, sizeMs, (a) => ({
      province_name: a.name,
      order_count: a.orders.length,
      order_amount: new ExactDecimal(a.amount),
    })).win;
    this.dims = fetcher(options);
  }

  async prepare(records: readonly InputRecord[], ctx: JobContext): Promise<void> {
    this.provinces = await this.dims.fetch(ctx.dims, 'dim_base_province', this.batch.load(records, 'province_id'));
  }

  process(record: InputRecord, ctx: JobContext): void {
    const c = detailChange(record, ctx, this.batch.take(record), 'order_id');
    if (!c) return;
    const { fact, id, other: order, amounts, d } = c;
    const province = idText(fact.province_id);
    const row = province === null ? undefined : this.provinces.get(province);
    const name = row?.name ?? null;
    const added = this.win.add(
      ctx,
      fact.ts as number,
      [province],
      () => ({ name, orders: [], amount: '0' }),
      (a) => {
        // A revised detail corrects the amount; its order was counted with the first version.
        if (d.first && !a.orders.includes(order)) a.orders.push(order);
        a.amount = decimalAdd(a.amount, d.delta[3]);
        return a;
      },
    );
    if (!added) return;
    if (row === undefined) {
      ctx.count('dim_miss');
      ctx.count('dim_miss_dim_base_province');
    }
    ctx.state.put('detail', id, amounts, DEDUPE_TTL_MS);
  }
}

// -------------------------------------------------------------------------------------------- refunds

/** Refund window accumulator: the names (first seen) and the distinct refunded order ids. */
interface RefundAcc {
  names: Record<string, string | null>;
  orders: string[];
}


class RefundLogic extends WindowLogic<RefundAcc> {
  private readonly keys: string[];
  private readonly dims: DimFetcher;
  private skus = new Map<string, SkuNames>();
  private readonly batch = new ParsedBatch();

  constructor(options: Readonly<Record<string, string>>, sizeMs: number) {
    super();
    const w = tableWindow<RefundAcc>(REFUND_TABLE, sizeMs, (a) => ({ ...a.names, refund_count: a.orders.length }));
    this.win = w.win;
    this.keys = w.keys;
    this.dims = fetcher(options);
  }

  async prepare(records: readonly InputRecord[], ctx: JobContext): Promise<void> {
    this.skus = await this.dims.skus(ctx.dims, this.batch.load(records, 'sku_id'));
  }

  process(record: InputRecord, ctx: JobContext): void {
    const fact = readFact(record, ctx, this.batch.take(record));
    if (!fact) return;
    const id = idText(fact.id);
    const order = idText(fact.order_id);
    const user = idText(fact.user_id);
    const sku = idText(fact.sku_id);
    if (id === null || order === null || user === null || sku === null) {
      ctx.deadLetter('refund without id, order_id, user_id or sku_id');
      return;
    }
    if (ctx.state.get('refund', id) !== undefined) {
      ctx.count('duplicate_refund');
      return;
    }
    const names = this.skus.get(sku) ?? EMPTY_SKU;
    const columns: Record<string, string | null> = { ...skuColumns(names), user_id: user };
    const added = this.win.add(
      ctx,
      fact.ts as number,
      this.keys.map((k) => columns[k] ?? null),
      () => ({ names: columns, orders: [] }),
      (a) => {
        if (!a.orders.includes(order)) a.orders.push(order);
        return a;
      },
    );
    if (!added) return;
    countMiss(ctx, names);
    ctx.state.put('refund', id, 1, DEDUPE_TTL_MS);
  }
}

// -------------------------------------------------------------------------------------------- the jobs

const ORDER_DETAIL_INPUT: DwsInput = { name: 'order_detail', option: 'order-detail-topic', topic: 'dwd_trade_order_detail', description: 'order details from `run dwd trade`' };
const PAY_SUC_INPUT: DwsInput = { name: 'pay_suc', option: 'pay-suc-detail-topic', topic: 'dwd_trade_order_pay_suc_detail', description: 'payment successes (per order detail) from `run dwd trade`' };
const REFUND_INPUT: DwsInput = { name: 'refund', option: 'order-refund-topic', topic: 'dwd_trade_order_refund', description: 'refunds from `run dwd trade`' };

/** `dws trade_…`: the table name without `dws_` and `_window`. */
const shortOf = (table: string) => table.replace(/^dws_/, '').replace(/_window$/, '');

export const dwsTradePaymentSucWindowJob: JobSpec = dwsJob({
  short: shortOf(PAYMENT_SUC_TABLE),
  table: PAYMENT_SUC_TABLE,
  description: 'payment successes → users paying for the first time that day (and ever) per window',
  inputs: [PAY_SUC_INPUT],
  create: (_o, sizeMs) => new UniqueUserLogic(PAYMENT_SUC_TABLE, ['payment_suc_unique_user_count', 'payment_suc_new_user_count'], sizeMs),
});

export const dwsTradeOrderWindowJob: JobSpec = dwsJob({
  short: shortOf(ORDER_TABLE),
  table: ORDER_TABLE,
  description: 'order details → users ordering for the first time that day (and ever) per window',
  inputs: [ORDER_DETAIL_INPUT],
  create: (_o, sizeMs) => new UniqueUserLogic(ORDER_TABLE, ['order_unique_user_count', 'order_new_user_count'], sizeMs),
});

export const dwsTradeSkuOrderWindowJob: JobSpec = dwsJob({
  short: shortOf(SKU_ORDER_TABLE),
  table: SKU_ORDER_TABLE,
  description: 'order details (deduplicated by id) → amounts per sku and window, with sku/spu/trademark/category names',
  inputs: [ORDER_DETAIL_INPUT],
  options: DIM_OPTIONS,
  needsDims: true,
  create: (o, sizeMs) => new SkuOrderLogic(o, sizeMs),
});

export const dwsTradeProvinceOrderWindowJob: JobSpec = dwsJob({
  short: shortOf(PROVINCE_ORDER_TABLE),
  table: PROVINCE_ORDER_TABLE,
  description: 'order details (deduplicated by id) → distinct orders and amount per province and window, with the province name',
  inputs: [ORDER_DETAIL_INPUT],
  options: DIM_OPTIONS,
  needsDims: true,
  create: (o, sizeMs) => new ProvinceOrderLogic(o, sizeMs),
});

export const dwsTradeTrademarkCategoryUserRefundWindowJob: JobSpec = dwsJob({
  short: shortOf(REFUND_TABLE),
  table: REFUND_TABLE,
  description: 'refunds → distinct refunded orders per trademark, category, user and window',
  inputs: [REFUND_INPUT],
  options: DIM_OPTIONS,
  needsDims: true,
  create: (o, sizeMs) => new RefundLogic(o, sizeMs),
});

/** The five trade window jobs (registered under `rtwh run dws`). */
export const DWS_TRADE_JOBS: JobSpec[] = [
  dwsTradePaymentSucWindowJob,
  dwsTradeOrderWindowJob,
  dwsTradeSkuOrderWindowJob,
  dwsTradeProvinceOrderWindowJob,
  dwsTradeTrademarkCategoryUserRefundWindowJob,
];
