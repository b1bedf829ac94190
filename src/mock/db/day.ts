/**
 * One business day of gmall, as the ordered stream of database transactions it causes.
 *
 * The day is a small discrete-event simulation on a clock of seconds (00:00:00 … 23:59:59 Beijing time):
 * registrations, profile changes, favorites (some cancelled later), coupons taken, cart sessions (lines added,
 * quantities changed) and orders. An order schedules what follows it:
 *
 *   order 1001 ─ pay (payment_info 1601 → 1602, coupon_use 1402 → 1403) → 1002 ─┬─ finish → 1004 → comments
 *             └─ not paid within 15 min → 1003 (coupon back to 1401)           └─ refund → 1005: order_refund_info
 *                0701 → 0702 → refund_payment 1601 → 1602, refund 0705, order 1006
 *
 * Every business step is ONE transaction (an order with its details, activity/coupon rows, cart updates and
 * status log; a payment callback with the order, coupon and status log updates …), emitted in time order.
 * Steps that would fall after midnight do not happen today (the entity stays in its state), so every
 * create/operate time lies on the date.
 *
 * Ids are given out when a row is inserted, in time order, continuing from `state.lastIds` — as
 * AUTO_INCREMENT would. All randomness comes from one seeded Rng (forked per concern), and events run in a
 * fixed order: the same (seed, date, options, state) gives the same transactions, byte for byte.
 */
import { dec, updateOf, type ChangeTxn, type Row, type RowChange } from '../../formats/change';
import { Rng } from '../random';
import { ACTIVITIES, CODE, COUPONS, REFUND_REASONS, skuCatalog, type Activity, type Coupon, type Sku } from './catalog';
import { busySecond, DayClock, DAY_SECONDS } from './clock';
import { userRow } from './base';
import { commentText, deliveryAddress, fullName, givenName, nickName, email, phone, refundText } from './names';
import { digits, Weighted } from './draw';
import type { MockDbOptions } from './options';
import { stateSkuCount, type MockState } from './state';

export interface DayInput {
  date: string;
  seed: number | string;
  options: MockDbOptions;
  state: MockState;
}

// ---------------------------------------------------------------- the event queue

type EventFn = (t: number) => RowChange[];

interface QueuedEvent {
  t: number;
  seq: number;
  fn: EventFn;
}

/**
 * Events on (time, sequence): equal times run in the order they were scheduled. Most of the day is planned up
 * front, so those events are sorted once; the follow-ups scheduled while the day runs (payments, refunds …)
 * go into a binary heap, and the two are merged on the way out.
 */
class EventQueue {
  private planned: QueuedEvent[] = [];
  private next = 0;
  private running = false;
  private readonly heap: QueuedEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.planned.length - this.next + this.heap.length;
  }

  /** Schedules `fn` at second `t`; a step after midnight does not happen today (returns false). */
  at(t: number, fn: EventFn): boolean {
    if (t >= DAY_SECONDS) return false;
    if (!Number.isInteger(t) || t < 0) throw new RangeError(`an event at second ${t} of the day: expected a whole second from 0`);
    const ev: QueuedEvent = { t, seq: this.seq++, fn };
    if (!this.running) {
      this.planned.push(ev);
      return true;
    }
    // Sift the hole up instead of swapping pairs: no temporary arrays on the hot path.
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(ev, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = ev;
    return true;
  }

  pop(): QueuedEvent {
    if (!this.running) {
      this.running = true;
      this.planned = bySecond(this.planned);
    }
    const p = this.planned[this.next];
    const h = this.heap;
    if (p !== undefined && (h.length === 0 || before(p, h[0]!))) {
      this.next++;
      return p;
    }
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[m]!, last)) break;
        h[i] = h[m]!;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

/**
 * The planned events in (time, sequence) order. They were planned in sequence order, so a stable counting sort
 * on the second of the day is that order: one pass to count, one to place (sorting ~20,000 events of a 10× day
 * with a comparator took a quarter of the time before the day's first transaction).
 */
function bySecond(events: readonly QueuedEvent[]): QueuedEvent[] {
  const starts = new Uint32Array(DAY_SECONDS + 1);
  for (const ev of events) starts[ev.t + 1] = starts[ev.t + 1]! + 1;
  for (let s = 1; s <= DAY_SECONDS; s++) starts[s] = starts[s]! + starts[s - 1]!;
  const out = new Array<QueuedEvent>(events.length);
  for (const ev of events) out[starts[ev.t]!++] = ev;
  return out;
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

// ---------------------------------------------------------------- entities of the day

/** A row the day inserted and may update later: `row` is always its current value. */
interface Entity {
  row: Row;
}

interface Shopper {
  /** 0 until the user's registration has run. */
  id: number;
  /** The first second the user exists (0 for users from earlier days). */
  from: number;
  /** When the user starts filling a cart today, if they do. */
  session?: number;
  /** Where the user's row is in the day's `users` (set at registration for today's users). */
  index: number;
  /** The coupons the user took today (most take none). */
  coupons?: Entity[];
}

interface CartLine extends Entity {
  sku: Sku;
  inserted: boolean;
}

interface Detail extends Entity {
  sku: Sku;
  num: number;
  source: Row[string];
  sourceId: Row[string];
  /** order_price × sku_num in cents. */
  amount: number;
  activity: number;
  coupon: number;
}

interface Order extends Entity {
  shopper: Shopper;
  details: Detail[];
  coupons: Entity[];
  payment?: Entity;
  refund?: Entity;
  refundPayment?: Entity;
}

/** Splits `total` cents over `weights` in proportion (half-up), the last part taking the remainder. */
function split(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts: number[] = [];
  let given = 0;
  weights.forEach((w, i) => {
    const p = i === weights.length - 1 ? total - given : Math.floor((2 * total * w + sum) / (2 * sum));
    parts.push(p);
    given += p;
  });
  return parts;
}

/** `amount` cents at `zhe` 折 (9 = pay 90 %): the cents taken off, half-up. */
function discountOff(amount: number, zhe: number): number {
  return Math.floor((2 * amount * (10 - zhe) + 10) / 20);
}

function weighted<T>(items: readonly T[], weights: readonly number[]): Weighted<T> {
  return new Weighted(items.map((x, i) => [x, weights[i] ?? 0] as const));
}

// ---------------------------------------------------------------- the day

/**
 * The day's first draws from its `updates` stream: which of the users from earlier days change their profile
 * (indexes, ascending). The draws of `rng.sample` over the indexes 0…existing-1, in typed arrays and put in order
 * by marking instead of sorting (the same indexes; ~1 ms instead of ~7 ms in a fresh process at --scale 10).
 */
function sampleUserUpdates(rng: Rng, existing: number, ratePercent: number): number[] {
  const n = Math.min(Math.floor((existing * ratePercent) / 100), existing);
  const order = new Int32Array(existing);
  for (let i = 0; i < existing; i++) order[i] = i;
  for (let i = 0; i < n; i++) {
    const j = rng.int(i, existing - 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const picked = new Uint8Array(existing);
  for (let i = 0; i < n; i++) picked[order[i]!] = 1;
  const out: number[] = [];
  for (let i = 0; i < existing; i++) if (picked[i] === 1) out.push(i);
  return out;
}

/**
 * Indexes into `state.users` (ordered by id) of the users from earlier days whose profile the day of (seed, date)
 * changes: the only earlier user rows the day needs whole. Of the others it reads only id and nick_name
 * (LIGHT_USER_COLUMNS: a comment shows the nick name), so a state read from MySQL can leave the rest out
 * (mysql-writer's loadStateFromMysql).
 * The same draws as generateDay's, in the same order.
 */
export function userUpdateIndexes(seed: number, date: string, existing: number, options: MockDbOptions): number[] {
  return sampleUserUpdates(dayRngs(seed, date).updates, existing, options.userUpdateRate);
}

/** The day's random streams, forked from its root in one fixed order (generateDay and userUpdateIndexes share them). */
function dayRngs(seed: number | string, date: string) {
  const root = new Rng(`${seed}:${date}`);
  return {
    users: root.fork('users'),
    updates: root.fork('updates'),
    favors: root.fork('favors'),
    coupons: root.fork('coupons'),
    carts: root.fork('carts'),
    orders: root.fork('orders'),
  };
}

/** The columns of an earlier user that the day reads unless it changes the user's profile (see userUpdateIndexes). */
export const LIGHT_USER_COLUMNS = ['id', 'nick_name'] as const;

/**
 * Yields the day's transactions in time order; returns the state the next day starts from.
 * Nothing in `input` is modified.
 */
export function* generateDay(input: DayInput): Generator<ChangeTxn, MockState> {
  const { date, options: o } = input;
  const clock = new DayClock(date);
  const r = dayRngs(input.seed, date);
  const q = new EventQueue();
  const ids: Record<string, number> = { ...input.state.lastIds };
  const nextId = (table: string): number => (ids[table] = (ids[table] ?? 0) + 1);
  const users: Row[] = input.state.users.slice();
  const T = (t: number) => clock.text(t);
  /** The SKUs in the data (the --sku-count of the --init): favorites and carts draw from all of them. */
  const skus = skuCatalog(stateSkuCount(input.state));

  const ins = (table: string, data: Row): RowChange => ({ table, type: 'insert', data });
  /** Applies `set` to an entity and returns the update (nothing when no value changes). */
  const upd = (table: string, e: Entity, set: Row, out: RowChange[]): void => {
    const c = updateOf(table, e.row, set);
    if (!c) return;
    e.row = c.data;
    out.push(c);
  };
  const statusLog = (orderId: number, status: string, t: number): RowChange =>
    ins('order_status_log', { id: nextId('order_status_log'), order_id: orderId, order_status: status, operate_time: T(t) });

  // ---- registrations
  const pool: Shopper[] = users.map((u, index) => ({ id: u.id as number, from: 0, index }));
  for (let i = 0; i < o.userCount; i++) {
    const t = busySecond(r.users);
    const shopper: Shopper = { id: 0, from: t, index: -1 };
    pool.push(shopper);
    const profile = new Rng(r.users.u32());
    q.at(t, () => {
      const id = nextId('user_info');
      shopper.id = id;
      const row = userRow(profile, id, T(t), date, o.userMaleRate);
      shopper.index = users.length;
      users.push(row);
      return [ins('user_info', row)];
    });
  }

  // ---- profile changes of users from earlier days (the original's updateUsers: nick, level, email, phone)
  const existing = input.state.users.length;
  const updates = sampleUserUpdates(r.updates, existing, o.userUpdateRate);
  for (const idx of updates) {
    const t = busySecond(r.updates);
    const k = r.updates.int(2, 7);
    const draw = new Rng(r.updates.u32());
    q.at(t, () => {
      const before = users[idx]!;
      const gender = String(before.gender ?? 'F');
      const set: Row = {};
      if (k % 2 === 0) set.nick_name = nickName(draw, gender, givenName(draw, gender));
      if (k % 3 === 0) set.user_level = draw.weighted([['1', 7], ['2', 2], ['3', 1]] as const);
      if (k % 5 === 0) set.email = email(draw);
      if (k % 7 === 0) set.phone_num = phone(draw);
      set.operate_time = T(t);
      const c = updateOf('user_info', before, set);
      if (!c) return [];
      users[idx] = c.data;
      return [c];
    });
  }

  // ---- favorites
  for (let i = 0; i < o.favorCount && pool.length > 0; i++) {
    const shopper = r.favors.pick(pool);
    const sku = r.favors.pick(skus);
    const t = busySecond(r.favors, shopper.from);
    const cancelAt = r.favors.chance(o.favorCancelRate) ? t + r.favors.int(60, 7200) : -1;
    q.at(t, () => {
      const fav: Entity = {
        row: { id: nextId('favor_info'), user_id: shopper.id, sku_id: sku.id, spu_id: sku.spuId, is_cancel: '0', create_time: T(t), cancel_time: null },
      };
      if (cancelAt > 0) {
        q.at(cancelAt, (tc) => {
          const out: RowChange[] = [];
          upd('favor_info', fav, { is_cancel: '1', cancel_time: T(tc) }, out);
          return out;
        });
      }
      return [ins('favor_info', fav.row)];
    });
  }

  // ---- cart sessions, and the orders placed from them
  const sources = weighted([CODE.sourceQuery, CODE.sourcePromotion, CODE.sourceRecommend, CODE.sourceActivity], o.cartSourceTypeRate);
  for (const shopper of pool) {
    if (!r.carts.chance(o.cartUserRate)) continue;
    let t = busySecond(r.carts, shopper.from);
    shopper.session = t;
    const picks: number[] = [];
    const n = r.carts.int(1, o.cartMaxSkuCount);
    for (let i = 0; i < n; i++) {
      const j = r.carts.int(0, skus.length - 1);
      if (!picks.includes(j)) picks.push(j);
    }
    const lines: CartLine[] = [];
    let last = t;
    for (const j of picks) {
      const sku = skus[j]!;
      const line: CartLine = { sku, row: {}, inserted: false };
      lines.push(line);
      const num = r.carts.int(1, o.cartMaxSkuNum);
      const source = sources.pick(r.carts);
      const sourceId = source === CODE.sourcePromotion ? r.carts.int(10, 100) : source === CODE.sourceActivity ? r.carts.pick(ACTIVITIES).id : null;
      const at = t;
      q.at(at, () => {
        line.inserted = true;
        line.row = {
          id: nextId('cart_info'), user_id: String(shopper.id), sku_id: sku.id, cart_price: dec(sku.price * 100), sku_num: num, img_url: sku.img,
          sku_name: sku.name, is_checked: null, create_time: T(at), operate_time: null, is_ordered: 0, order_time: null, source_type: source,
          source_id: sourceId,
        };
        return [ins('cart_info', line.row)];
      });
      if (r.carts.chance(o.cartNumUpdateRate)) {
        const tu = at + r.carts.int(10, 300);
        const up = r.carts.chance(60);
        const step = r.carts.int(1, 2);
        q.at(tu, (tc) => {
          const out: RowChange[] = [];
          if (!line.inserted || line.row.is_ordered === 1) return out;
          const cur = line.row.sku_num as number;
          upd('cart_info', line, { sku_num: up || cur <= 1 ? cur + step : cur - 1, operate_time: T(tc) }, out);
          return out;
        });
        last = Math.max(last, tu);
      }
      last = Math.max(last, at);
      t = at + r.carts.int(15, 240);
    }
    if (!r.carts.chance(o.orderUserRate)) continue;
    const chosen = lines.filter(() => r.carts.chance(o.orderSkuRate));
    if (chosen.length === 0) continue;
    const to = last + r.carts.int(60, 1800);
    q.at(to, (tc) => placeOrder(shopper, chosen.filter((l) => l.inserted && l.row.is_ordered === 0), tc));
  }

  // ---- coupons taken: half of the takers are today's shoppers, who take it while browsing, before they fill the cart
  const shoppersToday = pool.filter((s) => s.session !== undefined);
  for (const coupon of COUPONS) {
    const takers = new Set(r.coupons.sample(shoppersToday, Math.floor(o.couponUserCount / 2)));
    for (const s of r.coupons.sample(pool, o.couponUserCount)) {
      if (takers.size >= o.couponUserCount) break;
      takers.add(s);
    }
    for (const shopper of takers) {
      const t = shopper.session !== undefined ? Math.max(shopper.from, shopper.session - r.coupons.int(60, 900)) : busySecond(r.coupons, shopper.from);
      q.at(t, () => {
        const cu: Entity = {
          row: {
            id: nextId('coupon_use'), coupon_id: coupon.id, user_id: shopper.id, order_id: null, coupon_status: CODE.couponUnused,
            create_time: T(t), get_time: T(t), using_time: null, used_time: null, expire_time: null,
          },
        };
        (shopper.coupons ??= []).push(cu);
        return [ins('coupon_use', cu.row)];
      });
    }
  }

  // ---- orders and what follows them
  const rng = r.orders;
  const paymentTypes = weighted([CODE.payAlipay, CODE.payWechat, CODE.payUnion], o.paymentType);
  const appraises = weighted([CODE.appraiseGood, CODE.appraiseMid, CODE.appraiseBad, CODE.appraiseAuto], o.commentAppraiseRate);
  const reasons = weighted(REFUND_REASONS, o.refundReasonRate);
  const refundTypes = new Weighted([[CODE.refundOnlyMoney, 30], [CODE.refundWithGoods, 60]] as const);

  function placeOrder(shopper: Shopper, lines: CartLine[], t: number): RowChange[] {
    if (lines.length === 0) return [];
    const orderId = nextId('order_info');
    const details: Detail[] = lines.map((l) => {
      const num = l.row.sku_num as number;
      return { sku: l.sku, num, source: l.row.source_type ?? null, sourceId: l.row.source_id ?? null, amount: l.sku.price * 100 * num, activity: 0, coupon: 0, row: {} };
    });
    const out: RowChange[] = [];
    const activityRows: Row[] = [];
    const detailIds = details.map(() => nextId('order_detail'));
    if (o.orderJoinActivity) {
      for (const a of ACTIVITIES) applyActivity(a, details, detailIds, orderId, t, activityRows);
    }
    const couponRows: Row[] = [];
    const couponsUsed: Entity[] = [];
    if (o.orderUseCoupon) applyCoupon(shopper, details, detailIds, orderId, t, couponRows, couponsUsed);

    const original = details.reduce((s, d) => s + d.amount, 0);
    const act = details.reduce((s, d) => s + d.activity, 0);
    const cou = details.reduce((s, d) => s + d.coupon, 0);
    const freight = rng.int(5, 20) * 100;
    const first = details[0]!.sku;
    const body = `${first.name}等${details.length}件商品`;
    const order: Order = {
      shopper,
      details,
      coupons: couponsUsed,
      row: {
        id: orderId, consignee: fullName(rng, rng.chance(50) ? 'M' : 'F'), consignee_tel: phone(rng), total_amount: dec(original - act - cou + freight),
        order_status: CODE.orderUnpaid, user_id: shopper.id, payment_way: null, delivery_address: deliveryAddress(rng),
        order_comment: `描述${digits(rng, 6)}`, out_trade_no: digits(rng, 15), trade_body: body, create_time: T(t), operate_time: null,
        expire_time: T(t + 900), process_status: null, tracking_no: null, parent_order_id: null, img_url: first.img,
        province_id: rng.int(1, 34), activity_reduce_amount: dec(act), coupon_reduce_amount: dec(cou), original_total_amount: dec(original),
        feight_fee: dec(freight), feight_fee_reduce: null, refundable_time: null,
      },
    };
    out.push(ins('order_info', order.row));
    details.forEach((d, i) => {
      d.row = {
        id: detailIds[i]!, order_id: orderId, sku_id: d.sku.id, sku_name: d.sku.name, img_url: d.sku.img, order_price: dec(d.sku.price * 100),
        sku_num: d.num, create_time: T(t), source_type: d.source, source_id: d.sourceId,
        split_total_amount: dec(d.amount - d.activity - d.coupon), split_activity_amount: dec(d.activity), split_coupon_amount: dec(d.coupon),
      };
      out.push(ins('order_detail', d.row));
    });
    for (const row of activityRows) out.push(ins('order_detail_activity', row));
    for (const row of couponRows) out.push(ins('order_detail_coupon', row));
    for (const cu of couponsUsed) upd('coupon_use', cu, { coupon_status: CODE.couponUsing, using_time: T(t), order_id: orderId }, out);
    for (const l of lines) upd('cart_info', l, { operate_time: T(t), is_ordered: 1, order_time: T(t) }, out);
    out.push(statusLog(orderId, CODE.orderUnpaid, t));

    if (rng.chance(o.paymentRate)) q.at(t + rng.int(30, 840), (tp) => createPayment(order, tp));
    else q.at(t + 900, (tc) => cancelOrder(order, tc));
    return out;
  }

  /** The activity's best rule the order reaches; its reduction is split over the activity's lines. */
  function applyActivity(a: Activity, details: Detail[], detailIds: number[], orderId: number, t: number, rows: Row[]): void {
    const idx = details.flatMap((d, i) => (a.skuIds.includes(d.sku.id) ? [i] : []));
    if (idx.length === 0) return;
    const amount = idx.reduce((s, i) => s + details[i]!.amount, 0);
    const num = idx.reduce((s, i) => s + details[i]!.num, 0);
    const rule = [...a.rules].sort((x, y) => y.level - x.level).find((ru) => (a.type === '3101' ? amount >= ru.condition * 100 : num >= ru.condition));
    if (!rule) return;
    const off = a.type === '3101' ? Math.min(amount, rule.benefit * 100) : discountOff(amount, rule.benefit);
    split(off, idx.map((i) => details[i]!.amount)).forEach((p, k) => {
      const i = idx[k]!;
      details[i]!.activity = p;
      rows.push({
        id: nextId('order_detail_activity'), order_id: orderId, order_detail_id: detailIds[i]!, activity_id: a.id, activity_rule_id: rule.id,
        sku_id: details[i]!.sku.id, create_time: T(t),
      });
    });
  }

  function couponMatches(c: Coupon, sku: Sku): boolean {
    const key = c.rangeType === CODE.rangeCategory3 ? sku.category3Id : c.rangeType === CODE.rangeTrademark ? sku.tmId : sku.spuId;
    return c.rangeIds.includes(key);
  }

  /** The user's unused coupon that takes the most off (the original's matchRule), split over the lines it covers. */
  function applyCoupon(shopper: Shopper, details: Detail[], detailIds: number[], orderId: number, t: number, rows: Row[], used: Entity[]): void {
    let best: { cu: Entity; coupon: Coupon; idx: number[]; off: number } | undefined;
    for (const cu of shopper.coupons ?? []) {
      if (cu.row.coupon_status !== CODE.couponUnused) continue;
      const coupon = COUPONS.find((c) => c.id === cu.row.coupon_id)!;
      const idx = details.flatMap((d, i) => (couponMatches(coupon, d.sku) ? [i] : []));
      if (idx.length === 0) continue;
      const amount = idx.reduce((s, i) => s + details[i]!.amount - details[i]!.activity, 0);
      const num = idx.reduce((s, i) => s + details[i]!.num, 0);
      let off = 0;
      if (coupon.type === CODE.couponFullReduce) off = amount >= (coupon.condition ?? 0) * 100 ? coupon.benefit * 100 : 0;
      else if (coupon.type === CODE.couponFullDiscount) off = num >= (coupon.condition ?? 0) ? discountOff(amount, coupon.benefit) : 0;
      else off = coupon.benefit * 100;
      off = Math.min(off, amount);
      if (off > 0 && (!best || off > best.off)) best = { cu, coupon, idx, off };
    }
    if (!best) return;
    const b = best;
    split(b.off, b.idx.map((i) => details[i]!.amount - details[i]!.activity)).forEach((p, k) => {
      const i = b.idx[k]!;
      details[i]!.coupon = p;
      rows.push({
        id: nextId('order_detail_coupon'), order_id: orderId, order_detail_id: detailIds[i]!, coupon_id: b.coupon.id,
        coupon_use_id: b.cu.row.id!, sku_id: details[i]!.sku.id, create_time: T(t),
      });
    });
    used.push(b.cu);
  }

  function cancelOrder(order: Order, t: number): RowChange[] {
    const out: RowChange[] = [];
    upd('order_info', order, { order_status: CODE.orderCancelled, operate_time: T(t) }, out);
    // The coupon goes back to the user when the order is cancelled.
    for (const cu of order.coupons) upd('coupon_use', cu, { coupon_status: CODE.couponUnused, using_time: null, order_id: null }, out);
    out.push(statusLog(order.row.id as number, CODE.orderCancelled, t));
    return out;
  }

  function createPayment(order: Order, t: number): RowChange[] {
    const o2 = order.row;
    order.payment = {
      row: {
        id: nextId('payment_info'), out_trade_no: o2.out_trade_no!, order_id: o2.id!, user_id: o2.user_id!, payment_type: paymentTypes.pick(rng),
        trade_no: null, total_amount: o2.total_amount!, subject: o2.trade_body!, payment_status: CODE.paymentPaying, create_time: T(t),
        callback_time: null, callback_content: null,
      },
    };
    const tradeNo = digits(rng, 28);
    q.at(t + rng.int(3, 60), (tc) => paymentCallback(order, tradeNo, tc));
    return [ins('payment_info', order.payment.row)];
  }

  function paymentCallback(order: Order, tradeNo: string, t: number): RowChange[] {
    const out: RowChange[] = [];
    upd('payment_info', order.payment!, { trade_no: tradeNo, payment_status: CODE.paymentSuccess, callback_time: T(t) }, out);
    upd('order_info', order, { order_status: CODE.orderPaid, operate_time: T(t) }, out);
    for (const cu of order.coupons) upd('coupon_use', cu, { coupon_status: CODE.couponUsed, used_time: T(t) }, out);
    out.push(statusLog(order.row.id as number, CODE.orderPaid, t));
    if (rng.chance(o.refundRate)) q.at(t + rng.int(600, 6 * 3600), (tr) => requestRefund(order, tr));
    else q.at(t + rng.int(3600, 10 * 3600), (tf) => finishOrder(order, tf));
    return out;
  }

  function finishOrder(order: Order, t: number): RowChange[] {
    const out: RowChange[] = [];
    upd('order_info', order, { order_status: CODE.orderFinished, operate_time: T(t), refundable_time: T(t + 30 * DAY_SECONDS) }, out);
    out.push(statusLog(order.row.id as number, CODE.orderFinished, t));
    for (const d of order.details) {
      const appraise = appraises.pick(rng);
      q.at(t + rng.int(600, 4 * 3600), (tc) => {
        const user = users[order.shopper.index];
        return [
          ins('comment_info', {
            id: nextId('comment_info'), user_id: order.shopper.id, nick_name: user?.nick_name ?? null, head_img: null, sku_id: d.sku.id,
            spu_id: d.sku.spuId, order_id: order.row.id!, appraise, comment_txt: commentText(rng, appraise), create_time: T(tc), operate_time: null,
          }),
        ];
      });
    }
    return out;
  }

  function requestRefund(order: Order, t: number): RowChange[] {
    const d = rng.pick(order.details);
    const reason = reasons.pick(rng);
    order.refund = {
      row: {
        id: nextId('order_refund_info'), user_id: order.shopper.id, order_id: order.row.id!, sku_id: d.sku.id, refund_type: refundTypes.pick(rng),
        refund_num: d.row.sku_num!, refund_amount: d.row.split_total_amount!, refund_reason_type: reason, refund_reason_txt: refundText(rng, reason),
        refund_status: CODE.refundPending, create_time: T(t),
      },
    };
    const out: RowChange[] = [ins('order_refund_info', order.refund.row)];
    upd('order_info', order, { order_status: CODE.orderRefunding, operate_time: T(t) }, out);
    out.push(statusLog(order.row.id as number, CODE.orderRefunding, t));
    q.at(t + rng.int(600, 3 * 3600), (ta) => {
      const o3: RowChange[] = [];
      upd('order_refund_info', order.refund!, { refund_status: CODE.refundApproved }, o3);
      q.at(ta + rng.int(60, 1800), (tp) => refundPayment(order, d, tp));
      return o3;
    });
    return out;
  }

  function refundPayment(order: Order, d: Detail, t: number): RowChange[] {
    const pay = order.payment!.row;
    order.refundPayment = {
      row: {
        id: nextId('refund_payment'), out_trade_no: order.row.out_trade_no!, order_id: order.row.id!, sku_id: d.sku.id, payment_type: pay.payment_type!,
        trade_no: pay.trade_no!, total_amount: order.refund!.row.refund_amount!, subject: '退款', refund_status: CODE.paymentPaying, create_time: T(t),
        callback_time: null, callback_content: null,
      },
    };
    q.at(t + rng.int(5, 60), (tc) => {
      const out: RowChange[] = [];
      upd('refund_payment', order.refundPayment!, { refund_status: CODE.paymentSuccess, callback_time: T(tc) }, out);
      upd('order_refund_info', order.refund!, { refund_status: CODE.refundDone }, out);
      upd('order_info', order, { order_status: CODE.orderRefunded, operate_time: T(tc) }, out);
      out.push(statusLog(order.row.id as number, CODE.orderRefunded, tc));
      return out;
    });
    return [ins('refund_payment', order.refundPayment.row)];
  }

  // ---- run the day
  let xid = input.state.xid;
  while (q.size > 0) {
    const ev = q.pop();
    const changes = ev.fn(ev.t);
    if (changes.length > 0) yield { xid: ++xid, ts: clock.ms(ev.t), changes };
  }
  return { lastIds: ids, xid, users };
}

/** The whole day at once (tests, small days). */
export function collectDay(input: DayInput): { txns: ChangeTxn[]; state: MockState } {
  const it = generateDay(input);
  const txns: ChangeTxn[] = [];
  for (;;) {
    const n = it.next();
    if (n.done) return { txns, state: n.value };
    txns.push(n.value);
  }
}
