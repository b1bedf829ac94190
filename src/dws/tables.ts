/**
 * The eleven DWS tables: columns in order, their types, and the primary key (stt, edt, key columns) that makes a
 * reload idempotent. The DWS jobs emit records whose value has exactly these columns (in this order) to a topic
 * named like the table; the sink (sink.ts) loads them into DuckDB with `duckdbDdl`; `rtwh query` and the ADS
 * presets read the same tables.
 *
 * Identity: (stt, edt, the key columns) — a reload replaces the rows of that identity (delete + insert in one
 * transaction, keys compared with IS NOT DISTINCT FROM: a dimension id may be null after a lookup miss, so there
 * is no PRIMARY KEY constraint, which would forbid nulls).
 *
 * Types: stt/edt TIMESTAMP ('YYYY-MM-DD HH:mm:ss', Beijing time), cur_date DATE, key columns VARCHAR (ids too:
 * they come as text or numbers and are compared as given), counts BIGINT, amounts DECIMAL(16,2).
 */

export type DwsColumnType = 'TIMESTAMP' | 'DATE' | 'VARCHAR' | 'BIGINT' | 'DECIMAL(16,2)';

export interface DwsColumn {
  name: string;
  type: DwsColumnType;
  /** Part of the row's identity (stt, edt and the grouping keys). */
  key: boolean;
}

export interface DwsTable {
  name: string;
  columns: readonly DwsColumn[];
}

const c = (name: string, type: DwsColumnType, key = false): DwsColumn => ({ name, type, key });
const head = [c('stt', 'TIMESTAMP', true), c('edt', 'TIMESTAMP', true), c('cur_date', 'DATE')];
const k = (...names: string[]) => names.map((n) => c(n, 'VARCHAR', true));
/** Name columns that follow a key (a dimension's name): not part of the key. */
const v = (...names: string[]) => names.map((n) => c(n, 'VARCHAR'));
const n = (...names: string[]) => names.map((x) => c(x, 'BIGINT'));
const d = (...names: string[]) => names.map((x) => c(x, 'DECIMAL(16,2)'));

function table(name: string, ...cols: DwsColumn[][]): DwsTable {
  return { name, columns: [...head, ...cols.flat()] };
}

/** id + name pairs (trademark, categories): the id is a key when `key`, the name never. */
const idName = (key: boolean, ...bases: string[]) => bases.flatMap((b) => [c(`${b}_id`, 'VARCHAR', key), c(`${b}_name`, 'VARCHAR')]);

export const DWS_TABLES: readonly DwsTable[] = [
  table('dws_traffic_source_keyword_page_view_window', k('source', 'keyword'), n('keyword_count')),
  table('dws_traffic_vc_ch_ar_is_new_page_view_window', k('vc', 'ch', 'ar', 'is_new'), n('uv_ct', 'sv_ct', 'pv_ct', 'dur_sum')),
  table('dws_traffic_home_detail_page_view_window', n('home_uv_ct', 'good_detail_uv_ct')),
  table('dws_user_user_login_window', n('back_ct', 'uu_ct')),
  table('dws_user_user_register_window', n('register_ct')),
  table('dws_trade_cart_add_uu_window', n('cart_add_uu_ct')),
  table('dws_trade_payment_suc_window', n('payment_suc_unique_user_count', 'payment_suc_new_user_count')),
  table('dws_trade_order_window', n('order_unique_user_count', 'order_new_user_count')),
  table(
    'dws_trade_sku_order_window',
    // The sku decides its spu, trademark and categories: sku_id alone is the key.
    idName(false, 'trademark', 'category1', 'category2', 'category3'),
    [c('sku_id', 'VARCHAR', true), c('sku_name', 'VARCHAR'), c('spu_id', 'VARCHAR'), c('spu_name', 'VARCHAR')],
    d('original_amount', 'activity_reduce_amount', 'coupon_reduce_amount', 'order_amount'),
  ),
  table('dws_trade_province_order_window', k('province_id'), v('province_name'), n('order_count'), d('order_amount')),
  table('dws_trade_trademark_category_user_refund_window', idName(true, 'trademark', 'category1', 'category2', 'category3'), k('user_id'), n('refund_count')),
];

export const DWS_TABLE_NAMES: readonly string[] = DWS_TABLES.map((t) => t.name);

/** The table of that name, or undefined. */
export function dwsTable(name: string): DwsTable | undefined {
  return DWS_TABLES.find((t) => t.name === name);
}

/** The identity columns: stt, edt, then the grouping keys. */
export function keyColumns(t: DwsTable): string[] {
  return t.columns.filter((x) => x.key).map((x) => x.name);
}

/** CREATE TABLE IF NOT EXISTS for DuckDB (stt and edt NOT NULL; identity kept by the sink, see above). */
export function duckdbDdl(t: DwsTable): string {
  const cols = t.columns.map((x) => `  ${x.name} ${x.type}${x.name === 'stt' || x.name === 'edt' ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${t.name} (\n${cols.join(',\n')}\n)`;
}
