/**
 * The gmall business schema: every table of the 2022 gmall mock (gmall-struct-2022.sql of gmall2022-mock), same
 * columns, types and order, stored as utf8mb4 (the original mixes utf8 and utf8mb4; MariaDB's utf8 cannot hold
 * 4-byte characters). Declared as data: the DDL, the INSERT column lists, the primary keys Maxwell puts in its
 * keys and the column order of Maxwell's `data` all come from here.
 */
import type { ColumnInfo } from '../../formats/change';

export interface ColumnDef {
  name: string;
  /** Type and column attributes as in CREATE TABLE: `bigint NOT NULL AUTO_INCREMENT`. */
  sql: string;
  comment?: string;
}

export interface TableDef {
  name: string;
  comment: string;
  columns: readonly ColumnDef[];
  /** Empty for the tables the original declares without one (base_dic, base_province, base_region). */
  primaryKey: readonly string[];
  /** Extra index clauses. */
  indexes?: readonly string[];
  /** InnoDB ROW_FORMAT, when not the server's default (see UPDATED_IN_PLACE). */
  rowFormat?: 'REDUNDANT';
}

type Col = readonly [name: string, sql: string, comment?: string];

function table(name: string, comment: string, primaryKey: readonly string[], cols: readonly Col[], indexes?: readonly string[]): TableDef {
  return {
    name,
    comment,
    primaryKey,
    columns: cols.map(([n, sql, c]) => (c === undefined ? { name: n, sql } : { name: n, sql, comment: c })),
    ...(indexes ? { indexes } : {}),
  };
}

const ID = (c = '编号'): Col => ['id', 'bigint NOT NULL AUTO_INCREMENT', c];
const V = (n: number) => `varchar(${n}) DEFAULT NULL`;
const BIG = 'bigint DEFAULT NULL';
const INT = 'int DEFAULT NULL';
const DT = 'datetime DEFAULT NULL';
const DEC = (p: number, s: number) => `decimal(${p},${s}) DEFAULT NULL`;

/**
 * The tables whose rows a mock day updates. They are created ROW_FORMAT=REDUNDANT: most of the day's updates
 * give a NULL column a value (cart_info.is_ordered and order_time, order_info.operate_time, user_info.
 * operate_time, payment_info.callback_time …). In the default DYNAMIC (and COMPACT) format a NULL takes no
 * room in the record, so such an update makes the record longer and InnoDB deletes and re-inserts it; in
 * REDUNDANT a NULL of a fixed-size type keeps its room, and the update is done in place. Measured on MariaDB
 * 10.11: such updates of cart_info (LOAD DATA … REPLACE) take ~8 µs/row instead of 20–30, and over a 100×
 * day the server's CPU per written row falls from ~10.5 µs to ~7.5 µs. The format is
 * invisible to SQL and to binlog readers (same columns, same row events). The insert-only tables keep the
 * default, as the original schema has it.
 */
export const UPDATED_IN_PLACE: ReadonlySet<string> = new Set([
  'cart_info', 'coupon_use', 'favor_info', 'order_info', 'order_refund_info', 'payment_info', 'refund_payment', 'user_info',
]);

const DECLARED: readonly TableDef[] = [
  table('activity_info', '活动表', ['id'], [
    ID('活动id'), ['activity_name', V(200), '活动名称'], ['activity_type', V(10), '活动类型（1：满减，2：折扣）'],
    ['activity_desc', V(2000), '活动描述'], ['start_time', DT, '开始时间'], ['end_time', DT, '结束时间'], ['create_time', DT, '创建时间'],
  ]),
  table('activity_rule', '优惠规则', ['id'], [
    ['id', 'int NOT NULL AUTO_INCREMENT', '编号'], ['activity_id', INT, '类型'], ['activity_type', V(20), '活动类型'],
    ['condition_amount', DEC(16, 2), '满减金额'], ['condition_num', BIG, '满减件数'], ['benefit_amount', DEC(16, 2), '优惠金额'],
    ['benefit_discount', DEC(10, 2), '优惠折扣'], ['benefit_level', BIG, '优惠级别'],
  ]),
  table('activity_sku', '活动参与商品', ['id'], [
    ID(), ['activity_id', BIG, '活动id '], ['sku_id', BIG, 'sku_id'], ['create_time', DT, '创建时间'],
  ]),
  table('base_attr_info', '属性表', ['id'], [
    ID(), ['attr_name', 'varchar(100) NOT NULL', '属性名称'], ['category_id', BIG, '分类id'], ['category_level', INT, '分类层级'],
  ]),
  table('base_attr_value', '属性值表', ['id'], [
    ID(), ['value_name', 'varchar(100) NOT NULL', '属性值名称'], ['attr_id', BIG, '属性id'],
  ]),
  table('base_category1', '一级分类表', ['id'], [ID(), ['name', 'varchar(10) NOT NULL', '分类名称']]),
  table('base_category2', '二级分类表', ['id'], [ID(), ['name', 'varchar(200) NOT NULL', '二级分类名称'], ['category1_id', BIG, '一级分类编号']]),
  table('base_category3', '三级分类表', ['id'], [ID(), ['name', 'varchar(200) NOT NULL', '三级分类名称'], ['category2_id', BIG, '二级分类编号']]),
  table('base_dic', '', [], [
    ['dic_code', 'varchar(10) NOT NULL', '编号'], ['dic_name', V(100), '编码名称'], ['parent_code', V(10), '父编号'],
    ['create_time', DT, '创建日期'], ['operate_time', DT, '修改日期'],
  ]),
  table('base_frontend_param', '前端数据保护表', ['id'], [ID(), ['code', 'varchar(100) NOT NULL', '属性名称'], ['delete_id', BIG, '分类id']]),
  table('base_province', '', [], [
    ['id', 'bigint DEFAULT NULL', 'id'], ['name', V(20), '省名称'], ['region_id', V(20), '大区id'], ['area_code', V(20), '行政区位码'],
    ['iso_code', V(20), '国际编码'], ['iso_3166_2', V(20), 'ISO3166编码'],
  ]),
  table('base_region', '', [], [['id', V(20), '大区id'], ['region_name', V(20), '大区名称']]),
  table('base_sale_attr', '基本销售属性表', ['id'], [ID(), ['name', 'varchar(20) NOT NULL', '销售属性名称']]),
  table('base_trademark', '品牌表', ['id'], [ID(), ['tm_name', 'varchar(100) NOT NULL', '属性值'], ['logo_url', V(200), '品牌logo的图片路径']]),
  table('cart_info', '购物车表 用户登录系统时更新冗余', ['id'], [
    ID(), ['user_id', V(200), '用户id'], ['sku_id', BIG, 'skuid'], ['cart_price', DEC(10, 2), '放入购物车时价格'], ['sku_num', INT, '数量'],
    ['img_url', V(200), '图片文件'], ['sku_name', V(200), 'sku名称 (冗余)'], ['is_checked', INT], ['create_time', DT, '创建时间'],
    ['operate_time', DT, '修改时间'], ['is_ordered', BIG, '是否已经下单'], ['order_time', DT, '下单时间'], ['source_type', V(20), '来源类型'],
    ['source_id', BIG, '来源编号'],
  ]),
  table('cms_banner', '首页banner表', ['id'], [
    ['id', 'bigint NOT NULL AUTO_INCREMENT', 'ID'], ['title', "varchar(20) DEFAULT ''", '标题'], ['image_url', "varchar(500) NOT NULL DEFAULT ''", '图片地址'],
    ['link_url', "varchar(500) DEFAULT ''", '链接地址'], ['sort', "int unsigned NOT NULL DEFAULT '0'", '排序'],
  ]),
  table('comment_info', '商品评论表', ['id'], [
    ID(), ['user_id', BIG, '用户id'], ['nick_name', V(20), '用户昵称'], ['head_img', V(200)], ['sku_id', BIG, 'skuid'], ['spu_id', BIG, '商品id'],
    ['order_id', BIG, '订单编号'], ['appraise', V(10), '评价 1 好评 2 中评 3 差评'], ['comment_txt', V(2000), '评价内容'], ['create_time', DT, '创建时间'],
    ['operate_time', DT, '修改时间'],
  ]),
  table('coupon_info', '优惠券表', ['id'], [
    ID('购物券编号'), ['coupon_name', V(100), '购物券名称'], ['coupon_type', V(10), '购物券类型 1 现金券 2 折扣券 3 满减券 4 满件打折券'],
    ['condition_amount', DEC(10, 2), '满额数（3）'], ['condition_num', BIG, '满件数（4）'], ['activity_id', BIG, '活动编号'],
    ['benefit_amount', DEC(16, 2), '减金额（1 3）'], ['benefit_discount', DEC(10, 2), '折扣（2 4）'], ['create_time', DT, '创建时间'],
    ['range_type', V(10), '范围类型 1、商品(spuid) 2、品类(三级分类id) 3、品牌'], ['limit_num', "int NOT NULL DEFAULT '0'", '最多领用次数'],
    ['taken_count', "int NOT NULL DEFAULT '0'", '已领用次数'], ['start_time', DT, '可以领取的开始日期'], ['end_time', DT, '可以领取的结束日期'],
    ['operate_time', DT, '修改时间'], ['expire_time', DT, '过期时间'], ['range_desc', V(500), '范围描述'],
  ]),
  table('coupon_range', '优惠券范围表', ['id'], [
    ID('购物券编号'), ['coupon_id', "bigint NOT NULL DEFAULT '0'", '优惠券id'],
    ['range_type', "varchar(10) NOT NULL DEFAULT ''", '范围类型 1、商品(spuid) 2、品类(三级分类id) 3、品牌'], ['range_id', "bigint NOT NULL DEFAULT '0'"],
  ]),
  table('coupon_use', '优惠券领用表', ['id'], [
    ID(), ['coupon_id', BIG, '购物券ID'], ['user_id', BIG, '用户ID'], ['order_id', BIG, '订单ID'], ['coupon_status', V(10), '购物券状态（1：未使用 2：已使用）'],
    ['create_time', DT, '创建时间'], ['get_time', DT, '获取时间'], ['using_time', DT, '使用时间'], ['used_time', DT, '支付时间'], ['expire_time', DT, '过期时间'],
  ]),
  table('dim_day', '', ['id'], [
    ['id', 'int NOT NULL AUTO_INCREMENT'], ['day_key', V(255)], ['day', V(255)], ['isworkday', INT], ['week', INT], ['week_name', V(255)],
    ['weekofday', INT], ['weekofday_name', V(255)], ['month', INT], ['month_name', V(255)], ['season', INT], ['season_name', V(255)],
    ['year', INT], ['year_name', V(255)], ['month_yyyy_mm', V(255)], ['week_yyyy_ww', V(255)],
  ]),
  table('favor_info', '商品收藏表', ['id'], [
    ID(), ['user_id', BIG, '用户名称'], ['sku_id', BIG, 'skuid'], ['spu_id', BIG, '商品id'], ['is_cancel', V(1), '是否已取消 0 正常 1 已取消'],
    ['create_time', DT, '创建时间'], ['cancel_time', DT, '修改时间'],
  ]),
  table('financial_sku_cost', '', ['id'], [
    ['id', 'varchar(20) NOT NULL'], ['sku_id', BIG, 'sku_id'], ['sku_name', V(20), '商品名称'], ['busi_date', V(20), '业务日期'],
    ['is_lastest', V(2), '是否最近'], ['sku_cost', DEC(16, 2), '商品结算成本'], ['create_time', DT, '创建时间'],
  ]),
  table('order_detail', '订单明细表', ['id'], [
    ID(), ['order_id', BIG, '订单编号'], ['sku_id', BIG, 'sku_id'], ['sku_name', V(200), 'sku名称（冗余)'], ['img_url', V(200), '图片名称（冗余)'],
    ['order_price', DEC(10, 2), '购买价格(下单时sku价格）'], ['sku_num', BIG, '购买个数'], ['create_time', DT, '创建时间'], ['source_type', V(20), '来源类型'],
    ['source_id', BIG, '来源编号'], ['split_total_amount', DEC(16, 2)], ['split_activity_amount', DEC(16, 2)], ['split_coupon_amount', DEC(16, 2)],
  ]),
  table('order_detail_activity', '订单明细购物券表', ['id'], [
    ID(), ['order_id', BIG, '订单id'], ['order_detail_id', BIG, '订单明细id'], ['activity_id', BIG, '活动ID'], ['activity_rule_id', BIG, '活动规则'],
    ['sku_id', BIG, 'skuID'], ['create_time', DT, '获取时间'],
  ]),
  table('order_detail_coupon', '订单明细购物券表', ['id'], [
    ID(), ['order_id', BIG, '订单id'], ['order_detail_id', BIG, '订单明细id'], ['coupon_id', BIG, '购物券ID'], ['coupon_use_id', BIG, '购物券领用id'],
    ['sku_id', BIG, 'skuID'], ['create_time', DT, '获取时间'],
  ]),
  table('order_info', '订单表 订单表', ['id'], [
    ID(), ['consignee', V(100), '收货人'], ['consignee_tel', V(20), '收件人电话'], ['total_amount', DEC(10, 2), '总金额'], ['order_status', V(20), '订单状态'],
    ['user_id', BIG, '用户id'], ['payment_way', V(20), '付款方式'], ['delivery_address', V(1000), '送货地址'], ['order_comment', V(200), '订单备注'],
    ['out_trade_no', V(50), '订单交易编号（第三方支付用)'], ['trade_body', V(200), '订单描述(第三方支付用)'], ['create_time', DT, '创建时间'],
    ['operate_time', DT, '操作时间'], ['expire_time', DT, '失效时间'], ['process_status', V(20), '进度状态'], ['tracking_no', V(100), '物流单编号'],
    ['parent_order_id', BIG, '父订单编号'], ['img_url', V(200), '图片路径'], ['province_id', INT, '地区'], ['activity_reduce_amount', DEC(16, 2), '促销金额'],
    ['coupon_reduce_amount', DEC(16, 2), '优惠券'], ['original_total_amount', DEC(16, 2), '原价金额'], ['feight_fee', DEC(16, 2), '运费'],
    ['feight_fee_reduce', DEC(16, 2), '运费减免'], ['refundable_time', DT, '可退款日期（签收后30天）'],
  ]),
  table('order_refund_info', '退单表', ['id'], [
    ID(), ['user_id', BIG, '用户id'], ['order_id', BIG, '订单id'], ['sku_id', BIG, 'skuid'], ['refund_type', V(20), '退款类型'], ['refund_num', BIG, '退货件数'],
    ['refund_amount', DEC(16, 2), '退款金额'], ['refund_reason_type', V(200), '原因类型'], ['refund_reason_txt', V(20), '原因内容'],
    ['refund_status', V(10), '退款状态（0：待审批 1：已退款）'], ['create_time', DT, '创建时间'],
  ]),
  table('order_status_log', '', ['id'], [
    ['id', 'bigint NOT NULL AUTO_INCREMENT'], ['order_id', BIG], ['order_status', V(11)], ['operate_time', DT],
  ]),
  table('payment_info', '支付信息表', ['id'], [
    ['id', 'int NOT NULL AUTO_INCREMENT', '编号'], ['out_trade_no', V(50), '对外业务编号'], ['order_id', BIG, '订单编号'], ['user_id', BIG],
    ['payment_type', V(20), '支付类型（微信 支付宝）'], ['trade_no', V(50), '交易编号'], ['total_amount', DEC(10, 2), '支付金额'], ['subject', V(200), '交易内容'],
    ['payment_status', V(20), '支付状态'], ['create_time', DT, '创建时间'], ['callback_time', DT, '回调时间'], ['callback_content', 'text', '回调信息'],
  ]),
  table('refund_payment', '退款信息表', ['id'], [
    ['id', 'int NOT NULL AUTO_INCREMENT', '编号'], ['out_trade_no', V(50), '对外业务编号'], ['order_id', BIG, '订单编号'], ['sku_id', BIG],
    ['payment_type', V(20), '支付类型（微信 支付宝）'], ['trade_no', V(50), '交易编号'], ['total_amount', DEC(10, 2), '退款金额'], ['subject', V(200), '交易内容'],
    ['refund_status', V(30), '退款状态'], ['create_time', DT, '创建时间'], ['callback_time', DT, '回调时间'], ['callback_content', 'text', '回调信息'],
  ], ['KEY `idx_out_trade_no` (`out_trade_no`)', 'KEY `idx_order_id` (`order_id`)']),
  table('seckill_goods', '', ['id'], [
    ['id', 'bigint NOT NULL AUTO_INCREMENT'], ['spu_id', BIG, 'spu_id'], ['sku_id', BIG, 'sku_id'], ['sku_name', V(100), '标题'], ['sku_default_img', V(150), '商品图片'],
    ['price', DEC(10, 2), '原价格'], ['cost_price', DEC(10, 2), '秒杀价格'], ['create_time', DT, '添加日期'], ['check_time', DT, '审核日期'], ['status', V(1), '审核状态'],
    ['start_time', DT, '开始时间'], ['end_time', DT, '结束时间'], ['num', INT, '秒杀商品数'], ['stock_count', INT, '剩余库存数'], ['sku_desc', V(2000), '描述'],
  ]),
  table('sku_attr_value', 'sku平台属性值关联表', ['id'], [
    ID(), ['attr_id', BIG, '属性id（冗余)'], ['value_id', BIG, '属性值id'], ['sku_id', BIG, 'skuid'], ['attr_name', V(30), '属性名'], ['value_name', V(30), '属性值名称'],
  ]),
  table('sku_image', '库存单元图片表', ['id'], [
    ID(), ['sku_id', BIG, '商品id'], ['img_name', V(200), '图片名称（冗余）'], ['img_url', V(300), '图片路径(冗余)'], ['spu_img_id', BIG, '商品图片id'],
    ['is_default', V(4000), '是否默认'],
  ]),
  table('sku_info', '库存单元表', ['id'], [
    ID('库存id(itemID)'), ['spu_id', BIG, '商品id'], ['price', DEC(10, 0), '价格'], ['sku_name', V(200), 'sku名称'], ['sku_desc', V(2000), '商品规格描述'],
    ['weight', DEC(10, 2), '重量'], ['tm_id', BIG, '品牌(冗余)'], ['category3_id', BIG, '三级分类id（冗余)'], ['sku_default_img', V(300), '默认显示图片(冗余)'],
    ['is_sale', "tinyint NOT NULL DEFAULT '0'", '是否销售（1：是 0：否）'], ['create_time', DT, '创建时间'],
  ]),
  table('sku_sale_attr_value', 'sku销售属性值', ['id'], [
    ['id', 'bigint NOT NULL AUTO_INCREMENT', 'id'], ['sku_id', BIG, '库存单元id'], ['spu_id', INT, 'spu_id(冗余)'], ['sale_attr_value_id', BIG, '销售属性值id'],
    ['sale_attr_id', BIG], ['sale_attr_name', V(30)], ['sale_attr_value_name', V(30)],
  ]),
  table('spu_image', '商品图片表', ['id'], [ID(), ['spu_id', BIG, '商品id'], ['img_name', V(200), '图片名称'], ['img_url', V(300), '图片路径']]),
  table('spu_info', '商品表', ['id'], [
    ID('商品id'), ['spu_name', V(200), '商品名称'], ['description', V(1000), '商品描述(后台简述）'], ['category3_id', BIG, '三级分类id'], ['tm_id', BIG, '品牌id'],
  ]),
  table('spu_poster', '商品海报表', ['id'], [
    ID(), ['spu_id', BIG, '商品id'], ['img_name', V(200), '文件名称'], ['img_url', V(200), '文件路径'], ['create_time', 'datetime NOT NULL', '创建时间'],
    ['update_time', 'datetime NOT NULL', '更新时间'], ['is_deleted', "tinyint NOT NULL DEFAULT '0'", '逻辑删除 1（true）已删除， 0（false）未删除'],
  ]),
  table('spu_sale_attr', 'spu销售属性', ['id'], [
    ID('编号(业务中无关联)'), ['spu_id', BIG, '商品id'], ['base_sale_attr_id', BIG, '销售属性id'], ['sale_attr_name', V(20), '销售属性名称(冗余)'],
  ]),
  table('spu_sale_attr_value', 'spu销售属性值', ['id'], [
    ID('销售属性值编号'), ['spu_id', BIG, '商品id'], ['base_sale_attr_id', BIG, '销售属性id'], ['sale_attr_value_name', V(20), '销售属性值名称'],
    ['sale_attr_name', V(20), '销售属性名称(冗余)'],
  ]),
  table('user_address', '用户地址表', ['id'], [
    ID(), ['user_id', BIG, '用户id'], ['province_id', BIG, '省份id'], ['user_address', V(500), '用户地址'], ['consignee', V(40), '收件人'],
    ['phone_num', V(40), '联系方式'], ['is_default', V(1), '是否是默认'],
  ]),
  table('user_info', '', ['id'], [
    ID(), ['login_name', V(200), '用户名称'], ['nick_name', V(200), '用户昵称'], ['passwd', V(200), '用户密码'], ['name', V(200), '用户姓名'],
    ['phone_num', V(200), '手机号'], ['email', V(200), '邮箱'], ['head_img', V(200), '头像'], ['user_level', V(200), '用户级别'],
    ['birthday', 'date DEFAULT NULL', '用户生日'], ['gender', V(1), '性别 M男,F女'], ['create_time', DT, '创建时间'], ['operate_time', DT, '修改时间'],
    ['status', V(200), '状态'],
  ]),
  table('ware_info', '', ['id'], [['id', 'bigint NOT NULL'], ['name', V(200)], ['address', V(200)], ['areacode', V(20)]]),
  table('ware_order_task', '库存工作单表 库存工作单表', ['id'], [
    ID(), ['order_id', BIG, '订单编号'], ['consignee', V(100), '收货人'], ['consignee_tel', V(20), '收货人电话'], ['delivery_address', V(1000), '送货地址'],
    ['order_comment', V(200), '订单备注'], ['payment_way', V(2), '付款方式 1:在线付款 2:货到付款'], ['task_status', V(20), '工作单状态'], ['order_body', V(200), '订单描述'],
    ['tracking_no', V(200), '物流单号'], ['create_time', DT, '创建时间'], ['ware_id', BIG, '仓库编号'], ['task_comment', V(500), '工作单备注'],
  ]),
  table('ware_order_task_detail', '库存工作单明细表 库存工作单明细表', ['id'], [
    ID(), ['sku_id', BIG, 'sku_id'], ['sku_name', V(200), 'sku名称'], ['sku_num', INT, '购买个数'], ['task_id', BIG, '工作单编号'], ['refund_status', V(20)],
  ]),
  table('ware_sku', 'sku与仓库关联表', ['id'], [
    ID(), ['sku_id', BIG, 'skuid'], ['warehouse_id', BIG, '仓库id'], ['stock', INT, '库存数'], ['stock_name', V(200), '存货名称'], ['stock_locked', INT, '锁定库存数'],
  ]),
];

export const TABLES: readonly TableDef[] = DECLARED.map((t) => (UPDATED_IN_PLACE.has(t.name) ? { ...t, rowFormat: 'REDUNDANT' } : t));

export const TABLE_INDEX: ReadonlyMap<string, TableDef> = new Map(TABLES.map((t) => [t.name, t]));

export function tableDef(name: string): TableDef {
  const t = TABLE_INDEX.get(name);
  if (!t) throw new RangeError(`unknown gmall table ${JSON.stringify(name)}`);
  return t;
}

export function primaryKeyOf(table: string): readonly string[] {
  return TABLE_INDEX.get(table)?.primaryKey ?? [];
}

export function columnNames(table: string): readonly string[] {
  return tableDef(table).columns.map((c) => c.name);
}

const SQL_TYPE = /^(\w+)(?:\((\d+)(?:,(\d+))?\))?( unsigned)?/i;

/**
 * A column as a binlog reader describes it (ColumnInfo), from its CREATE TABLE text: what the Debezium encoder
 * needs to write the column's values and the decoder to read them back without a schema in the record.
 */
export function columnInfo(c: ColumnDef): ColumnInfo {
  const m = SQL_TYPE.exec(c.sql);
  if (!m) throw new RangeError(`cannot read the type of ${c.name}: ${JSON.stringify(c.sql)}`);
  const type = m[1]!.toLowerCase();
  const info: ColumnInfo = { name: c.name, type, nullable: !/NOT NULL/i.test(c.sql) };
  if (m[4]) info.unsigned = true;
  if (type === 'decimal') {
    info.precision = m[2] === undefined ? 10 : Number(m[2]);
    info.scale = m[3] === undefined ? 0 : Number(m[3]);
  } else if (type === 'datetime' || type === 'timestamp' || type === 'time') info.fsp = m[2] === undefined ? 0 : Number(m[2]);
  else if (type === 'bit') info.bits = m[2] === undefined ? 1 : Number(m[2]);
  return info;
}

const infos = new Map<string, readonly ColumnInfo[]>();

/** The columns of a gmall table as ColumnInfo, in order; undefined for a table not in the catalog. */
export function tableColumns(table: string): readonly ColumnInfo[] | undefined {
  let cols = infos.get(table);
  if (cols === undefined) {
    const t = TABLE_INDEX.get(table);
    if (!t) return undefined;
    infos.set(table, (cols = t.columns.map(columnInfo)));
  }
  return cols;
}

/** MySQL string literal for a COMMENT: the texts here are ours, but quotes are escaped all the same. */
function commentSql(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function createTableSql(t: TableDef): string {
  const lines = t.columns.map((c) => `  \`${c.name}\` ${c.sql}${c.comment ? ` COMMENT ${commentSql(c.comment)}` : ''}`);
  if (t.primaryKey.length > 0) lines.push(`  PRIMARY KEY (${t.primaryKey.map((k) => `\`${k}\``).join(', ')})`);
  for (const ix of t.indexes ?? []) lines.push(`  ${ix}`);
  const comment = t.comment ? ` COMMENT=${commentSql(t.comment)}` : '';
  const format = t.rowFormat ? ` ROW_FORMAT=${t.rowFormat}` : '';
  return `CREATE TABLE \`${t.name}\` (\n${lines.join(',\n')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci${format}${comment}`;
}

/** The category view of the original schema (used by the admin pages and some ADS queries). */
export const CATEGORY_VIEW_SQL =
  'CREATE VIEW `base_category_view` AS SELECT c3.id AS id, c1.id AS category1_id, c1.name AS category1_name, ' +
  'c2.id AS category2_id, c2.name AS category2_name, c3.id AS category3_id, c3.name AS category3_name ' +
  'FROM base_category1 c1 JOIN base_category2 c2 ON c1.id = c2.category1_id JOIN base_category3 c3 ON c2.id = c3.category2_id';

/** The whole schema as a script: what `--init` runs (after dropping the old tables). */
export function schemaSql(): string[] {
  return [...TABLES.map(createTableSql), CATEGORY_VIEW_SQL];
}
