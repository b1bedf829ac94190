/** Checks over a generated change stream, shared by the generator tests and the MySQL/bus tests. */
import { decimalUnits, ExactDecimal, type ChangeTxn, type ChangeValue, type Row } from '../../../src/formats/change';
import { columnNames, primaryKeyOf } from '../../../src/mock/db/schema';

/** Legal status moves per table and column (insert value → updates). */
export const FLOWS: Record<string, { column: string; first: string; moves: readonly string[] }> = {
  order_info: { column: 'order_status', first: '1001', moves: ['1001>1002', '1001>1003', '1002>1004', '1002>1005', '1005>1006'] },
  payment_info: { column: 'payment_status', first: '1601', moves: ['1601>1602'] },
  coupon_use: { column: 'coupon_status', first: '1401', moves: ['1401>1402', '1402>1403', '1402>1401'] },
  order_refund_info: { column: 'refund_status', first: '0701', moves: ['0701>0702', '0702>0705'] },
  refund_payment: { column: 'refund_status', first: '1601', moves: ['1601>1602'] },
};

/** Every problem found, as text; an empty list means the stream is sound. */
export function streamProblems(txns: readonly ChangeTxn[], existingUsers: ReadonlySet<number>, date: string): string[] {
  const problems: string[] = [];
  const rows = new Map<string, Map<string, Row>>();
  const has = (table: string, id: ChangeValue) => rows.get(table)?.has(String(id)) ?? false;
  const users = new Set(existingUsers);
  let lastTs = -Infinity;
  let lastXid = -Infinity;
  const say = (s: string) => {
    if (problems.length < 50) problems.push(s);
  };

  for (const txn of txns) {
    if (txn.ts < lastTs) say(`txn ${txn.xid} goes back in time`);
    if (txn.xid <= lastXid) say(`xid ${txn.xid} after ${lastXid}`);
    lastTs = txn.ts;
    lastXid = txn.xid;
    for (const c of txn.changes) {
      const cols = columnNames(c.table);
      if (Object.keys(c.data).join() !== cols.join()) say(`${c.table} row has columns ${Object.keys(c.data).join()}`);
      const pk = primaryKeyOf(c.table);
      const key = pk.map((k) => String(c.data[k])).join('|');
      let tbl = rows.get(c.table);
      if (!tbl) rows.set(c.table, (tbl = new Map()));
      const flow = FLOWS[c.table];
      if (c.type === 'insert') {
        if (tbl.has(key)) say(`${c.table} ${key} inserted twice`);
        if (flow && c.data[flow.column] !== flow.first) say(`${c.table} ${key} starts at ${String(c.data[flow.column])}`);
        if (c.table === 'user_info') users.add(c.data.id as number);
      } else if (c.type === 'update') {
        const prev = tbl.get(key) ?? (c.table === 'user_info' && users.has(c.data.id as number) ? undefined : null);
        if (prev === null) say(`${c.table} ${key} updated before it was inserted`);
        const old = c.old ?? {};
        if (Object.keys(old).length === 0) say(`${c.table} ${key} update without old`);
        for (const [k, v] of Object.entries(old)) {
          if (same(v, c.data[k]!)) say(`${c.table} ${key} old.${k} equals the new value`);
          if (prev && !same(prev[k]!, v)) say(`${c.table} ${key} old.${k} is not the previous value`);
        }
        if (flow && flow.column in old) {
          const move = `${String(old[flow.column])}>${String(c.data[flow.column])}`;
          if (!flow.moves.includes(move)) say(`${c.table} ${key} illegal status move ${move}`);
        }
      }
      tbl.set(key, c.data);
      checkRefs(c.table, c.data, has, users, say);
      for (const col of ['create_time', 'operate_time', 'get_time', 'using_time', 'used_time', 'cancel_time', 'order_time', 'callback_time']) {
        const v = c.data[col];
        if (c.table === 'user_info' && col === 'create_time' && c.type === 'update') continue;
        if (typeof v === 'string' && c.table !== 'user_info' && !v.startsWith(date)) say(`${c.table} ${key} ${col} ${v} is not on ${date}`);
        if (typeof v === 'string' && c.table === 'user_info' && (c.type === 'insert' || col === 'operate_time') && !v.startsWith(date)) {
          say(`user_info ${key} ${col} ${v} is not on ${date}`);
        }
      }
    }
  }
  // Amounts of every order add up.
  for (const o of rows.get('order_info')?.values() ?? []) {
    const details = [...(rows.get('order_detail')?.values() ?? [])].filter((d) => d.order_id === o.id);
    if (details.length === 0) say(`order ${o.id} has no details`);
    const sum = (col: string) => details.reduce((s, d) => s + decimalUnits(d[col] as ExactDecimal), 0);
    const original = decimalUnits(o.original_total_amount as ExactDecimal);
    const act = decimalUnits(o.activity_reduce_amount as ExactDecimal);
    const cou = decimalUnits(o.coupon_reduce_amount as ExactDecimal);
    const freight = decimalUnits(o.feight_fee as ExactDecimal);
    if (details.reduce((s, d) => s + decimalUnits(d.order_price as ExactDecimal) * (d.sku_num as number), 0) !== original) say(`order ${o.id} original total`);
    if (sum('split_activity_amount') !== act) say(`order ${o.id} activity split`);
    if (sum('split_coupon_amount') !== cou) say(`order ${o.id} coupon split`);
    if (sum('split_total_amount') !== original - act - cou) say(`order ${o.id} split totals`);
    if (decimalUnits(o.total_amount as ExactDecimal) !== original - act - cou + freight) say(`order ${o.id} total_amount`);
  }
  return problems;
}

function same(a: ChangeValue, b: ChangeValue): boolean {
  if (a instanceof ExactDecimal || b instanceof ExactDecimal) return String(a) === String(b);
  return a === b;
}

/** Each reference points at a row that exists by then. */
function checkRefs(table: string, d: Row, has: (t: string, id: ChangeValue) => boolean, users: ReadonlySet<number>, say: (s: string) => void): void {
  const ref = (col: string, target: string) => {
    const v = d[col];
    if (v !== null && v !== undefined && !has(target, v)) say(`${table} ${String(d.id)} ${col}=${String(v)} has no ${target}`);
  };
  const user = (col: string) => {
    const v = Number(d[col]);
    if (!users.has(v)) say(`${table} ${String(d.id)} ${col}=${String(d[col])} is no user`);
  };
  switch (table) {
    case 'order_detail':
      ref('order_id', 'order_info');
      break;
    case 'order_detail_activity':
      ref('order_id', 'order_info');
      ref('order_detail_id', 'order_detail');
      break;
    case 'order_detail_coupon':
      ref('order_id', 'order_info');
      ref('order_detail_id', 'order_detail');
      ref('coupon_use_id', 'coupon_use');
      break;
    case 'payment_info':
    case 'refund_payment':
    case 'order_refund_info':
    case 'comment_info':
    case 'order_status_log':
      ref('order_id', 'order_info');
      if (table !== 'order_status_log' && table !== 'refund_payment') user('user_id');
      break;
    case 'coupon_use':
      ref('order_id', 'order_info');
      user('user_id');
      break;
    case 'order_info':
    case 'favor_info':
    case 'cart_info':
      user('user_id');
      break;
  }
}
