/**
 * `rtwh run dwd trade`: the transaction fact streams of the detail layer, from the row changes on ods_db
 * (Maxwell or Debezium records, decoded exactly by decodeChanges). Pure logic: the runtime feeds records and
 * persists state, timers and outputs.
 *
 * Event time is the change's ts (binlog time, ms). Every fact is one JSON record keyed by its id, with the
 * columns of the gmall 2022 Flink SQL tables; values keep the source types and digits (ids as numbers,
 * DECIMALs as exact numbers), `ts` is the event time in ms, `date_id` the date of the fact's business time.
 *
 * | topic                            | from                                                                  |
 * |----------------------------------|-----------------------------------------------------------------------|
 * | dwd_trade_cart_add               | cart_info insert; update raising sku_num → sku_num = the increase      |
 * | dwd_trade_order_detail           | order_detail insert ⋈ order_info insert, ⟕ order_detail_activity, ⟕ order_detail_coupon; each side within ±wait; emitted once the wait is over |
 * | dwd_trade_order_cancel_detail    | order_info update 1001→1003 ⋈ the order's details (detail ts ∈ [cancel − 30 min, cancel + 5 s]); emitted in cancel time order once that range is in |
 * | dwd_trade_order_pay_suc_detail   | payment_info update → 1602 ⋈ the order's details (detail ts ∈ [pay − 30 min, pay + 5 s]), payment type name; emitted in payment time order once that range is in |
 * | dwd_trade_order_refund           | order_refund_info insert ⋈ order_info update → 1005 (±wait); refund type and reason names |
 * | dwd_trade_refund_pay_suc_detail  | refund_payment update → 1602 ⋈ order_info update → 1006 ⋈ order_refund_info update → 0705 (±wait) |
 * | dwd_interaction_comment_info     | comment_info insert, appraise name                                    |
 * | dwd_interaction_favor_add        | favor_info insert                                                      |
 * | dwd_tool_coupon_get              | coupon_use insert                                                      |
 * | dwd_tool_coupon_use              | coupon_use update setting used_time (the coupon is used = the order is paid) |
 * | dwd_user_register                | user_info insert                                                       |
 *
 * Joins live in keyed state (join.ts): a side waits the documented time for the other, then the fact is
 * emitted (left joins) or dropped and counted (`join_dropped_<topic>`). A record arriving after the time its
 * partner could wait for it is still processed and counted (`late` by the engine, `join_late_<topic>` here).
 * base_dic names come from the dim store (dim_base_dic), prefetched per batch in prepare(); a code without a
 * name gives null and counts `dic_missing`.
 */
import { ExactDecimal } from '../output/result';
import { decodeChanges, warnUntypedOnce, type DecodedChange, type DecodedRow, type DecodedValue, type DecodeResult } from '../formats/validated-change';
import type { InputRecord, JobContext, JobLogic, JobSpec, Json } from '../stream/types';
import { freezeRow, idLess, IntervalJoin, KeyedBuffer, thawRow, type ExactRow, type Item } from './join';
import { topicNameProblem } from '../bus/topic-name';
import { kind } from '../formats/validate-check';

/** A value in a dead-letter reason: an exact number as written, anything else as the validators show it. */
const shownValue = (v: DecodedValue | undefined): string => (v instanceof ExactDecimal ? `number ${v.text}` : kind(v));

/** Logical output names = default topic names. */
export const TRADE_OUTPUTS = [
  'dwd_trade_cart_add',
  'dwd_trade_order_detail',
  'dwd_trade_order_cancel_detail',
  'dwd_trade_order_pay_suc_detail',
  'dwd_trade_order_refund',
  'dwd_trade_refund_pay_suc_detail',
  'dwd_interaction_comment_info',
  'dwd_interaction_favor_add',
  'dwd_tool_coupon_get',
  'dwd_tool_coupon_use',
  'dwd_user_register',
] as const;
export type TradeOutput = (typeof TRADE_OUTPUTS)[number];

/** The topic option of an output: dwd_trade_cart_add → cart-add-topic. */
export function topicOptionOf(output: TradeOutput): string {
  return `${output.replace(/^dwd_(trade_|interaction_|tool_|user_)?/, '').replace(/_/g, '-')}-topic`;
}

/** Payment success ⋈ order details: detail ts ∈ [pay ts − 30 min, pay ts + 5 s] (gmall 2022/2023). */
export const PAY_LOWER_MS = -30 * 60_000;
export const PAY_UPPER_MS = 5_000;
/** Cancellation ⋈ order details: the order is cancelled 15 min after it was placed; the join keeps details 30 min (+5 s), as the 2023 cancel job's state retention. */
export const CANCEL_LOWER_MS = -30 * 60_000;
export const CANCEL_UPPER_MS = 5_000;
/** Default wait for the rows of one business transaction (order ⋈ details ⋈ activity/coupon; refund ⋈ order; refund payment ⋈ …): the 5 s state retention of the 2022 jobs. */
export const DEFAULT_JOIN_WAIT_MS = 5_000;

const CODE = {
  unpaid: '1001',
  cancelled: '1003',
  refunding: '1005',
  refunded: '1006',
  paySuccess: '1602',
  refundDone: '0705',
} as const;

const wholeMs = (v: string): string | undefined => (/^\d{1,10}$/.test(v) ? undefined : 'expected a whole number of milliseconds');
const nonEmpty = (v: string): string | undefined => (v.trim() === '' ? 'expected a name' : undefined);

// ------------------------------------------------------------------------------------------ value helpers

function val(row: DecodedRow | undefined, col: string): DecodedValue {
  const v = row?.[col];
  return v === undefined ? null : v;
}

function has(row: DecodedRow | undefined, col: string): boolean {
  return row !== undefined && Object.prototype.hasOwnProperty.call(row, col);
}

/** An update that sets `column` to `code` (the column changed, and is that code now). */
function statusSetTo(c: DecodedChange, column: string, code: string): boolean {
  return has(c.old, column) && text(val(c.data, column)) === code;
}

function text(v: DecodedValue): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof ExactDecimal) return v.text;
  if (typeof v === 'object') return null;
  return String(v);
}

/** 'YYYY-MM-DD' of a DATETIME text. */
function dateOf(v: unknown): string | null {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null;
}

function intOf(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

/** A bigint back to the smallest exact JS value: number when safe. */
function intValue(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** price × count exactly, at the price's scale (DECIMAL(16,2) × INT stays DECIMAL(·,2)); null when either is not a plain number. */
export function multiplyExact(price: unknown, count: unknown): ExactDecimal | null {
  const n = intOf(count);
  const p = price instanceof ExactDecimal ? price.text : typeof price === 'number' && Number.isFinite(price) ? String(price) : typeof price === 'string' ? price : null;
  if (n === null || p === null) return null;
  const m = DECIMAL.exec(p);
  if (!m) return null;
  const frac = m[3] ?? '';
  const units = BigInt(`${m[1]}${m[2]}${frac}`) * n;
  const neg = units < 0n;
  let digits = (neg ? -units : units).toString();
  if (frac.length === 0) return new ExactDecimal(`${neg ? '-' : ''}${digits}`);
  digits = digits.padStart(frac.length + 1, '0');
  return new ExactDecimal(`${neg ? '-' : ''}${digits.slice(0, -frac.length)}.${digits.slice(-frac.length)}`);
}

/** A change's id as a state/record key. */
function idKey(v: DecodedValue): string | null {
  if (v === null || v === undefined || typeof v === 'object') return v instanceof ExactDecimal ? v.text : null;
  return String(v);
}

// ------------------------------------------------------------------------------------------------ the job

interface DetailWait {
  /** The order_detail part of the fact, frozen (exact values as plain JSON). */
  od: Record<string, unknown>;
}

type Frozen = Record<string, unknown>;

class TradeLogic implements JobLogic {
  private readonly database: string;
  private readonly wait: number;
  /** Output topic per logical output (the runtime maps them; kept for the record). */
  private readonly dic = new Map<string, string>();
  private readonly decoded = new Map<InputRecord, DecodeResult>();
  /** Debezium records of a table without schema or catalog types: warned once per table (set on first use). */
  private untyped: ((database: string, table: string) => void) | undefined;

  // order detail ⋈ order_info ⟕ activity ⟕ coupon: the detail waits `wait`, its partners are kept 2 × wait.
  private readonly detailWait: KeyedBuffer<DetailWait>;
  private readonly orderInfo: KeyedBuffer<Frozen>;
  private readonly activity: KeyedBuffer<Frozen>;
  private readonly coupon: KeyedBuffer<Frozen>;
  private readonly pay: IntervalJoin<Frozen, Frozen>;
  private readonly cancel: IntervalJoin<Frozen, Frozen>;
  private readonly refund: IntervalJoin<Frozen, Frozen>;
  private readonly refundPay: IntervalJoin<Frozen, Frozen>;
  private readonly refundPay2: IntervalJoin<Frozen, Frozen>;

  constructor(options: Readonly<Record<string, string>>) {
    this.database = options.database ?? 'gmall';
    this.wait = Number(options['join-wait-ms'] ?? DEFAULT_JOIN_WAIT_MS);
    const w = this.wait;
    this.detailWait = new KeyedBuffer('od.wait', w);
    this.orderInfo = new KeyedBuffer('od.oi', 2 * w + 1);
    this.activity = new KeyedBuffer('od.act', 2 * w + 1);
    this.coupon = new KeyedBuffer('od.cou', 2 * w + 1);
    this.pay = new IntervalJoin<Frozen, Frozen>({
      name: 'pay',
      lowerMs: PAY_LOWER_MS,
      upperMs: PAY_UPPER_MS,
      // details join the payment once complete, `wait` after their own time
      graceMs: w + 1,
      // facts stamped with the payment's time, in its order (a detail completes up to 5 s + wait after it)
      inOrder: true,
      onMatch: (ctx, p, d) => this.emitPaySuc(ctx, p, d),
      onLeftExpired: (ctx, _p, matched) => {
        if (matched === 0) ctx.count('join_dropped_dwd_trade_order_pay_suc_detail');
      },
    });
    this.cancel = new IntervalJoin<Frozen, Frozen>({
      name: 'cancel',
      lowerMs: CANCEL_LOWER_MS,
      upperMs: CANCEL_UPPER_MS,
      graceMs: w + 1,
      inOrder: true,
      onMatch: (ctx, c, d) => this.emitCancel(ctx, c, d),
      onLeftExpired: (ctx, _c, matched) => {
        if (matched === 0) ctx.count('join_dropped_dwd_trade_order_cancel_detail');
      },
    });
    this.refund = new IntervalJoin<Frozen, Frozen>({
      name: 'refund',
      lowerMs: -w,
      upperMs: w,
      once: true,
      onMatch: (ctx, r, o) => this.emitRefund(ctx, r, o),
      onLeftExpired: (ctx, _r, matched) => {
        if (matched === 0) ctx.count('join_dropped_dwd_trade_order_refund');
      },
    });
    // refund_payment ⋈ order_info 1006 (by order), then ⋈ order_refund_info 0705 (by order and sku)
    this.refundPay = new IntervalJoin<Frozen, Frozen>({
      name: 'rpay',
      lowerMs: -w,
      upperMs: w,
      once: true,
      onMatch: (ctx, rp, oi) => {
        const v = { ...rp.v, user_id: oi.v.user_id ?? null, province_id: oi.v.province_id ?? null };
        this.refundPay2.addLeft(ctx, String(rp.v.k2), { id: rp.id, ts: rp.ts, v });
      },
      onLeftExpired: (ctx, _rp, matched) => {
        if (matched === 0) ctx.count('join_dropped_dwd_trade_refund_pay_suc_detail');
      },
    });
    this.refundPay2 = new IntervalJoin<Frozen, Frozen>({
      name: 'rpay2',
      lowerMs: -w,
      upperMs: w,
      once: true,
      onMatch: (ctx, rp, ri) => this.emitRefundPay(ctx, rp, ri),
      onLeftExpired: (ctx, _rp, matched) => {
        if (matched === 0) ctx.count('join_dropped_dwd_trade_refund_pay_suc_detail');
      },
    });
  }

  // ---------------------------------------------------------------------------------- dims

  private static readonly DIC_COLUMNS: Record<string, readonly string[]> = {
    cart_info: ['source_type'],
    order_detail: ['source_type'],
    payment_info: ['payment_type'],
    order_refund_info: ['refund_type', 'refund_reason_type'],
    refund_payment: ['payment_type'],
    comment_info: ['appraise'],
  };

  private decode(r: InputRecord, ctx: JobContext): DecodeResult {
    this.untyped ??= warnUntypedOnce((m) => ctx.warn(m));
    return decodeChanges(r.value, { key: r.key, onUntyped: this.untyped });
  }

  async prepare(records: readonly InputRecord[], ctx: JobContext): Promise<void> {
    this.decoded.clear();
    const need = new Set<string>();
    for (const r of records) {
      const d = this.decode(r, ctx);
      this.decoded.set(r, d);
      if (!d.ok) continue;
      for (const c of d.changes) {
        const cols = TradeLogic.DIC_COLUMNS[c.table];
        if (!cols || c.database !== this.database) continue;
        for (const col of cols) {
          const code = text(val(c.data, col));
          if (code !== null && !this.dic.has(code)) need.add(code);
        }
      }
    }
    if (need.size === 0 || !ctx.dims) return;
    const rows = await ctx.dims.getMany('dim_base_dic', [...need]);
    for (const [code, row] of rows) {
      const name = row.dic_name;
      if (typeof name === 'string') this.dic.set(code, name);
    }
  }

  private dicName(ctx: JobContext, code: DecodedValue): string | null {
    const c = text(code);
    if (c === null) return null;
    const name = this.dic.get(c);
    if (name === undefined) {
      ctx.count('dic_missing');
      return null;
    }
    return name;
  }

  // ---------------------------------------------------------------------------------- records

  process(record: InputRecord, ctx: JobContext): void {
    const d = this.decoded.get(record) ?? this.decode(record, ctx);
    this.decoded.delete(record);
    if (!d.ok) {
      ctx.deadLetter(d.reasons.length > 0 ? `${d.problem}: ${d.reasons.slice(0, 3).join('; ')}` : d.problem);
      return;
    }
    // A record is processed whole or not at all. A Canal message carries several rows: with one of them bad, the
    // others processed and the message in the dead letters, replaying it would process them a second time.
    for (const c of d.changes) {
      const problem = this.problem(c);
      if (problem !== undefined) return ctx.deadLetter(problem);
    }
    for (const c of d.changes) {
      ctx.observe(c.ts);
      if (c.database !== this.database) {
        ctx.count('skipped_other_database');
        continue;
      }
      if (c.snapshot) {
        // A snapshot row (bootstrap / Debezium op r) is state, not a business event.
        ctx.count('skipped_snapshot');
        continue;
      }
      this.change(c, ctx);
    }
  }

  /**
   * Why a change cannot be processed (its record then goes to the dead letters, none of its changes processed);
   * undefined when it can, or when the job has no use for it. The handlers below rely on what is checked here.
   */
  private problem(c: DecodedChange): string | undefined {
    if (!(Number.isFinite(c.ts) && c.ts > 0)) return `${c.table} ${c.type}: no event time (ts)`;
    if (c.database !== this.database || c.snapshot || !HANDLED[c.table]?.includes(c.type)) return undefined;
    const data = c.data;
    if (idKey(val(data, 'id')) === null) return `${c.table} ${c.type} without an id`;
    switch (c.table) {
      case 'order_detail_activity':
      case 'order_detail_coupon':
        return idKey(val(data, 'order_detail_id')) === null ? `${c.table} insert without order_detail_id` : undefined;
      case 'order_detail':
      case 'order_refund_info':
        return idKey(val(data, 'order_id')) === null ? `${c.table} ${c.type} without order_id` : undefined;
      case 'payment_info':
        return statusSetTo(c, 'payment_status', CODE.paySuccess) && idKey(val(data, 'order_id')) === null ? 'payment_info update without order_id' : undefined;
      case 'refund_payment':
        return statusSetTo(c, 'refund_status', CODE.paySuccess) && idKey(val(data, 'order_id')) === null ? 'refund_payment update without order_id' : undefined;
      case 'cart_info': {
        // as the update's increase: a count the DWS sums, so a value that is not one stops here
        if (c.type === 'insert') {
          const num = val(data, 'sku_num');
          return num !== null && intOf(num) === null ? `cart_info insert: sku_num: expected a whole number, got ${shownValue(num)}` : undefined;
        }
        if (!has(c.old, 'sku_num') || (intOf(val(data, 'sku_num')) !== null && intOf(val(c.old, 'sku_num')) !== null)) return undefined;
        return `cart_info update: sku_num: expected whole numbers, got ${shownValue(val(c.old, 'sku_num'))} → ${shownValue(val(data, 'sku_num'))}`;
      }
    }
    return undefined;
  }

  /** One change that problem() passed. */
  private change(c: DecodedChange, ctx: JobContext): void {
    const ins = c.type === 'insert';
    if (!HANDLED[c.table]?.includes(c.type)) return;
    const key = idKey(val(c.data, 'id'))!;
    const data = c.data;
    const old = c.old;
    switch (c.table) {
      case 'cart_info':
        return this.cartInfo(c, key, ctx);
      case 'order_info': {
        const orderKey = key;
        if (ins) {
          if (c.ts + this.wait <= ctx.watermark) ctx.count('join_late_dwd_trade_order_detail');
          this.orderInfo.add(ctx, orderKey, { id: key, ts: c.ts, v: freezeRow({ user_id: val(data, 'user_id'), province_id: val(data, 'province_id') }) });
          return;
        }
        if (!has(old, 'order_status')) return;
        const status = text(val(data, 'order_status'));
        const part = freezeRow({ user_id: val(data, 'user_id'), province_id: val(data, 'province_id'), operate_time: val(data, 'operate_time') });
        const id = `${key}@${c.ts}`;
        if (status === CODE.cancelled && text(val(old, 'order_status')) === CODE.unpaid) this.cancel.addLeft(ctx, orderKey, { id, ts: c.ts, v: part });
        else if (status === CODE.refunding) this.refund.addRight(ctx, orderKey, { id, ts: c.ts, v: part });
        else if (status === CODE.refunded) this.refundPay.addRight(ctx, orderKey, { id, ts: c.ts, v: part });
        return;
      }
      case 'order_detail':
        return this.orderDetail(c, key, ctx);
      case 'order_detail_activity': {
        const detail = idKey(val(data, 'order_detail_id'))!;
        if (c.ts + this.wait <= ctx.watermark) ctx.count('join_late_dwd_trade_order_detail');
        this.activity.add(ctx, detail, { id: key, ts: c.ts, v: freezeRow({ activity_id: val(data, 'activity_id'), activity_rule_id: val(data, 'activity_rule_id') }) });
        return;
      }
      case 'order_detail_coupon': {
        const detail = idKey(val(data, 'order_detail_id'))!;
        if (c.ts + this.wait <= ctx.watermark) ctx.count('join_late_dwd_trade_order_detail');
        this.coupon.add(ctx, detail, { id: key, ts: c.ts, v: freezeRow({ coupon_id: val(data, 'coupon_id') }) });
        return;
      }
      case 'payment_info': {
        if (!statusSetTo(c, 'payment_status', CODE.paySuccess)) return;
        const order = idKey(val(data, 'order_id'))!;
        const v = freezeRow({
          user_id: val(data, 'user_id'),
          payment_type_code: val(data, 'payment_type'),
          payment_type_name: this.dicName(ctx, val(data, 'payment_type')),
          callback_time: val(data, 'callback_time'),
        });
        this.pay.addLeft(ctx, order, { id: key, ts: c.ts, v });
        return;
      }
      case 'order_refund_info': {
        const order = idKey(val(data, 'order_id'))!;
        if (ins) {
          const v = freezeRow({
            id: val(data, 'id'),
            user_id: val(data, 'user_id'),
            order_id: val(data, 'order_id'),
            sku_id: val(data, 'sku_id'),
            create_time: val(data, 'create_time'),
            refund_type_code: val(data, 'refund_type'),
            refund_type_name: this.dicName(ctx, val(data, 'refund_type')),
            refund_reason_type_code: val(data, 'refund_reason_type'),
            refund_reason_type_name: this.dicName(ctx, val(data, 'refund_reason_type')),
            refund_reason_txt: val(data, 'refund_reason_txt'),
            refund_num: val(data, 'refund_num'),
            refund_amount: val(data, 'refund_amount'),
          });
          this.refund.addLeft(ctx, order, { id: key, ts: c.ts, v });
          return;
        }
        if (!has(old, 'refund_status') || text(val(data, 'refund_status')) !== CODE.refundDone) return;
        this.refundPay2.addRight(ctx, `${order}|${String(text(val(data, 'sku_id')))}`, { id: `${key}@${c.ts}`, ts: c.ts, v: freezeRow({ refund_num: val(data, 'refund_num') }) });
        return;
      }
      case 'refund_payment': {
        if (!statusSetTo(c, 'refund_status', CODE.paySuccess)) return;
        const order = idKey(val(data, 'order_id'))!;
        const v = freezeRow({
          id: val(data, 'id'),
          order_id: val(data, 'order_id'),
          sku_id: val(data, 'sku_id'),
          payment_type_code: val(data, 'payment_type'),
          payment_type_name: this.dicName(ctx, val(data, 'payment_type')),
          callback_time: val(data, 'callback_time'),
          refund_amount: val(data, 'total_amount'),
          // the key of the second join (order_refund_info by order and sku)
          k2: `${order}|${String(text(val(data, 'sku_id')))}`,
        });
        this.refundPay.addLeft(ctx, order, { id: key, ts: c.ts, v });
        return;
      }
      case 'comment_info':
        return this.out(ctx, 'dwd_interaction_comment_info', key, c.ts, {
          id: val(data, 'id'),
          user_id: val(data, 'user_id'),
          sku_id: val(data, 'sku_id'),
          order_id: val(data, 'order_id'),
          date_id: dateOf(val(data, 'create_time')),
          create_time: val(data, 'create_time'),
          appraise_code: val(data, 'appraise'),
          appraise_name: this.dicName(ctx, val(data, 'appraise')),
        });
      case 'favor_info':
        return this.out(ctx, 'dwd_interaction_favor_add', key, c.ts, {
          id: val(data, 'id'),
          user_id: val(data, 'user_id'),
          sku_id: val(data, 'sku_id'),
          date_id: dateOf(val(data, 'create_time')),
          create_time: val(data, 'create_time'),
        });
      case 'coupon_use':
        if (ins) {
          return this.out(ctx, 'dwd_tool_coupon_get', key, c.ts, {
            id: val(data, 'id'),
            coupon_id: val(data, 'coupon_id'),
            user_id: val(data, 'user_id'),
            date_id: dateOf(val(data, 'get_time')),
            get_time: val(data, 'get_time'),
          });
        }
        if (!has(old, 'used_time') || val(data, 'used_time') === null) return;
        return this.out(ctx, 'dwd_tool_coupon_use', key, c.ts, {
          id: val(data, 'id'),
          coupon_id: val(data, 'coupon_id'),
          user_id: val(data, 'user_id'),
          order_id: val(data, 'order_id'),
          date_id: dateOf(val(data, 'used_time')),
          using_time: val(data, 'using_time'),
          used_time: val(data, 'used_time'),
        });
      case 'user_info':
        return this.out(ctx, 'dwd_user_register', key, c.ts, {
          user_id: val(data, 'id'),
          date_id: dateOf(val(data, 'create_time')),
          create_time: val(data, 'create_time'),
        });
    }
  }

  private out(ctx: JobContext, output: TradeOutput, key: string, ts: number, row: ExactRow): void {
    row.ts = ts;
    ctx.emit(output, key, row as Json, ts);
  }

  private cartInfo(c: DecodedChange, key: string, ctx: JobContext): void {
    const data = c.data;
    let num: DecodedValue;
    if (c.type === 'insert') {
      num = val(data, 'sku_num');
    } else {
      if (!has(c.old, 'sku_num')) return;
      const now = intOf(val(data, 'sku_num'))!;
      const before = intOf(val(c.old, 'sku_num'))!;
      if (now <= before) return;
      num = intValue(now - before);
    }
    const time = c.type === 'insert' ? val(data, 'create_time') : (val(data, 'operate_time') ?? val(data, 'create_time'));
    this.out(ctx, 'dwd_trade_cart_add', key, c.ts, {
      id: val(data, 'id'),
      user_id: val(data, 'user_id'),
      sku_id: val(data, 'sku_id'),
      date_id: dateOf(time),
      create_time: time,
      source_id: val(data, 'source_id'),
      source_type_code: val(data, 'source_type'),
      source_type_name: this.dicName(ctx, val(data, 'source_type')),
      sku_num: num,
    });
  }

  private orderDetail(c: DecodedChange, key: string, ctx: JobContext): void {
    const data = c.data;
    const order = idKey(val(data, 'order_id'))!;
    const original = multiplyExact(val(data, 'order_price'), val(data, 'sku_num'));
    if (original === null) ctx.count('order_detail_amount_unknown');
    const od = freezeRow({
      id: val(data, 'id'),
      order_id: val(data, 'order_id'),
      sku_id: val(data, 'sku_id'),
      sku_name: val(data, 'sku_name'),
      create_time: val(data, 'create_time'),
      source_id: val(data, 'source_id'),
      source_type_code: val(data, 'source_type'),
      source_type_name: this.dicName(ctx, val(data, 'source_type')),
      sku_num: val(data, 'sku_num'),
      split_original_amount: original,
      split_activity_amount: val(data, 'split_activity_amount'),
      split_coupon_amount: val(data, 'split_coupon_amount'),
      split_total_amount: val(data, 'split_total_amount'),
    });
    if (c.ts + this.wait <= ctx.watermark) ctx.count('join_late_dwd_trade_order_detail');
    if (!this.detailWait.add(ctx, order, { id: key, ts: c.ts, v: { od } })) ctx.count('duplicate_order_detail');
  }

  /** The wait of an order detail is over: join what arrived, emit, hand the detail to the pay and cancel joins. */
  private completeDetail(ctx: JobContext, order: string, it: Item<DetailWait>): void {
    const near = <T>(list: Item<T>[]): Item<T> | undefined => {
      let best: Item<T> | undefined;
      for (const x of list) {
        if (Math.abs(x.ts - it.ts) > this.wait) continue;
        if (!best || idLess(x.id, best.id)) best = x;
      }
      return best;
    };
    const oi = near(this.orderInfo.items(ctx, order));
    if (!oi) {
      ctx.count('join_dropped_dwd_trade_order_detail');
      return;
    }
    const act = near(this.activity.items(ctx, it.id));
    const cou = near(this.coupon.items(ctx, it.id));
    const od = thawRow(it.v.od);
    const row: ExactRow = {
      id: od.id,
      order_id: od.order_id,
      user_id: thawRow(oi.v).user_id ?? null,
      sku_id: od.sku_id,
      sku_name: od.sku_name,
      province_id: thawRow(oi.v).province_id ?? null,
      activity_id: act ? (thawRow(act.v).activity_id ?? null) : null,
      activity_rule_id: act ? (thawRow(act.v).activity_rule_id ?? null) : null,
      coupon_id: cou ? (thawRow(cou.v).coupon_id ?? null) : null,
      date_id: dateOf(od.create_time),
      create_time: od.create_time,
      source_id: od.source_id,
      source_type_code: od.source_type_code,
      source_type_name: od.source_type_name,
      sku_num: od.sku_num,
      split_original_amount: od.split_original_amount,
      split_activity_amount: od.split_activity_amount,
      split_coupon_amount: od.split_coupon_amount,
      split_total_amount: od.split_total_amount,
    };
    this.out(ctx, 'dwd_trade_order_detail', it.id, it.ts, { ...row });
    const frozen = freezeRow(row);
    this.pay.addRight(ctx, order, { id: it.id, ts: it.ts, v: frozen });
    this.cancel.addRight(ctx, order, { id: it.id, ts: it.ts, v: frozen });
  }

  private emitPaySuc(ctx: JobContext, p: Item<Frozen>, d: Item<Frozen>): void {
    const pay = thawRow(p.v);
    const od = thawRow(d.v);
    this.out(ctx, 'dwd_trade_order_pay_suc_detail', d.id, p.ts, {
      id: od.id,
      order_id: od.order_id,
      user_id: pay.user_id,
      sku_id: od.sku_id,
      province_id: od.province_id,
      activity_id: od.activity_id,
      activity_rule_id: od.activity_rule_id,
      coupon_id: od.coupon_id,
      payment_type_code: pay.payment_type_code,
      payment_type_name: pay.payment_type_name,
      date_id: dateOf(pay.callback_time),
      callback_time: pay.callback_time,
      source_id: od.source_id,
      source_type_code: od.source_type_code,
      source_type_name: od.source_type_name,
      sku_num: od.sku_num,
      split_original_amount: od.split_original_amount,
      split_activity_amount: od.split_activity_amount,
      split_coupon_amount: od.split_coupon_amount,
      split_payment_amount: od.split_total_amount,
    });
  }

  private emitCancel(ctx: JobContext, c: Item<Frozen>, d: Item<Frozen>): void {
    const oc = thawRow(c.v);
    const od = thawRow(d.v);
    this.out(ctx, 'dwd_trade_order_cancel_detail', d.id, c.ts, {
      id: od.id,
      order_id: od.order_id,
      user_id: oc.user_id,
      sku_id: od.sku_id,
      province_id: oc.province_id,
      activity_id: od.activity_id,
      activity_rule_id: od.activity_rule_id,
      coupon_id: od.coupon_id,
      date_id: dateOf(oc.operate_time),
      cancel_time: oc.operate_time,
      source_id: od.source_id,
      source_type_code: od.source_type_code,
      source_type_name: od.source_type_name,
      sku_num: od.sku_num,
      split_original_amount: od.split_original_amount,
      split_activity_amount: od.split_activity_amount,
      split_coupon_amount: od.split_coupon_amount,
      split_total_amount: od.split_total_amount,
    });
  }

  private emitRefund(ctx: JobContext, r: Item<Frozen>, o: Item<Frozen>): void {
    const ri = thawRow(r.v);
    const oi = thawRow(o.v);
    this.out(ctx, 'dwd_trade_order_refund', r.id, r.ts, {
      id: ri.id,
      user_id: ri.user_id,
      order_id: ri.order_id,
      sku_id: ri.sku_id,
      province_id: oi.province_id,
      date_id: dateOf(ri.create_time),
      create_time: ri.create_time,
      refund_type_code: ri.refund_type_code,
      refund_type_name: ri.refund_type_name,
      refund_reason_type_code: ri.refund_reason_type_code,
      refund_reason_type_name: ri.refund_reason_type_name,
      refund_reason_txt: ri.refund_reason_txt,
      refund_num: ri.refund_num,
      refund_amount: ri.refund_amount,
    });
  }

  private emitRefundPay(ctx: JobContext, rp: Item<Frozen>, ri: Item<Frozen>): void {
    const p = thawRow(rp.v);
    this.out(ctx, 'dwd_trade_refund_pay_suc_detail', rp.id, rp.ts, {
      id: p.id,
      user_id: p.user_id,
      order_id: p.order_id,
      sku_id: p.sku_id,
      province_id: p.province_id,
      payment_type_code: p.payment_type_code,
      payment_type_name: p.payment_type_name,
      date_id: dateOf(p.callback_time),
      callback_time: p.callback_time,
      refund_num: thawRow(ri.v).refund_num ?? null,
      refund_amount: p.refund_amount,
    });
  }

  // ---------------------------------------------------------------------------------- timers

  onTimer(name: string, key: string, _time: number, ctx: JobContext): void {
    if (name === this.detailWait.name) {
      const e = this.detailWait.expire(ctx, key);
      if (e) this.completeDetail(ctx, e.key, e.item);
      return;
    }
    if (name === this.orderInfo.name) return void this.orderInfo.expire(ctx, key);
    if (name === this.activity.name) return void this.activity.expire(ctx, key);
    if (name === this.coupon.name) return void this.coupon.expire(ctx, key);
    for (const j of [this.pay, this.cancel, this.refund, this.refundPay, this.refundPay2]) if (j.onTimer(ctx, name, key)) return;
  }
}

/** The change types each source table contributes. */
const HANDLED: Record<string, readonly string[]> = {
  cart_info: ['insert', 'update'],
  order_info: ['insert', 'update'],
  order_detail: ['insert'],
  order_detail_activity: ['insert'],
  order_detail_coupon: ['insert'],
  payment_info: ['update'],
  order_refund_info: ['insert', 'update'],
  refund_payment: ['update'],
  comment_info: ['insert'],
  favor_info: ['insert'],
  coupon_use: ['insert', 'update'],
  user_info: ['insert'],
};

export const dwdTradeJob: JobSpec = {
  name: 'dwd trade',
  description: 'ods_db row changes → the transaction fact topics (cart adds, orders, cancellations, payments, refunds, comments, favorites, coupons, registrations)',
  inputs: [{ name: 'ods_db', topicOption: 'input-topic' }],
  outputs: TRADE_OUTPUTS.map((o) => ({ name: o, topicOption: topicOptionOf(o) })),
  options: [
    { name: 'input-topic', description: 'topic of the business-database changes (Maxwell or Debezium JSON)', default: 'ods_db', check: topicNameProblem },
    { name: 'database', description: 'only changes of this database count', default: 'gmall', check: nonEmpty },
    {
      name: 'join-wait-ms',
      description: 'event time the rows of one business transaction wait for each other (order ⋈ details ⋈ activity/coupon, refund ⋈ order, refund payment ⋈ refund ⋈ order)',
      default: String(DEFAULT_JOIN_WAIT_MS),
      check: wholeMs,
    },
    ...TRADE_OUTPUTS.map((o) => ({ name: topicOptionOf(o), description: `topic of ${o}`, default: o, check: topicNameProblem })),
  ],
  needsDims: true,
  create: (options) => new TradeLogic(options),
};
