/**
 * The DWS table names the ADS presets read, in one place. The columns are fixed by the summary layer
 * (stt/edt TIMESTAMP in Beijing time, cur_date DATE, counts BIGINT, amounts DECIMAL(16,2), ids/names VARCHAR).
 * When src/dws/tables.ts (the DDL the dws jobs write with) exists, these names must equal its names.
 */
export const DWS = {
  trafficSourceKeyword: 'dws_traffic_source_keyword_page_view_window',
  trafficVcChArIsNew: 'dws_traffic_vc_ch_ar_is_new_page_view_window',
  trafficHomeDetail: 'dws_traffic_home_detail_page_view_window',
  userLogin: 'dws_user_user_login_window',
  userRegister: 'dws_user_user_register_window',
  tradeCartAdd: 'dws_trade_cart_add_uu_window',
  tradePaymentSuc: 'dws_trade_payment_suc_window',
  tradeOrder: 'dws_trade_order_window',
  tradeSkuOrder: 'dws_trade_sku_order_window',
  tradeProvinceOrder: 'dws_trade_province_order_window',
  tradeTrademarkCategoryUserRefund: 'dws_trade_trademark_category_user_refund_window',
} as const;

export type DwsTable = (typeof DWS)[keyof typeof DWS];
