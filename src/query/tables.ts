/**
 * The DWS tables the ADS presets read, by role. The names come from src/dws/tables.ts (the DDL the dws jobs
 * create and write); looking each one up there makes a rename on that side fail loudly at load, not at query time.
 */
import { dwsTable } from '../dws/tables';

function table(name: string): string {
  const t = dwsTable(name);
  if (!t) throw new Error(`src/query/tables.ts: no DWS table ${name} in src/dws/tables.ts`);
  return t.name;
}

export const DWS = {
  trafficSourceKeyword: table('dws_traffic_source_keyword_page_view_window'),
  trafficVcChArIsNew: table('dws_traffic_vc_ch_ar_is_new_page_view_window'),
  trafficHomeDetail: table('dws_traffic_home_detail_page_view_window'),
  userLogin: table('dws_user_user_login_window'),
  userRegister: table('dws_user_user_register_window'),
  tradeCartAdd: table('dws_trade_cart_add_uu_window'),
  tradePaymentSuc: table('dws_trade_payment_suc_window'),
  tradeOrder: table('dws_trade_order_window'),
  tradeSkuOrder: table('dws_trade_sku_order_window'),
  tradeProvinceOrder: table('dws_trade_province_order_window'),
  tradeTrademarkCategoryUserRefund: table('dws_trade_trademark_category_user_refund_window'),
} as const;
