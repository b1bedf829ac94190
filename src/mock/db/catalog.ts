/**
 * The fixed part of the gmall base data: regions and provinces, every base_dic code, the category tree, brands,
 * SPUs and SKUs with prices, activities with rules, coupons with ranges. It does not depend on the seed, so
 * SKU 1 is the same phone on every machine (the app-log mock refers to sku ids 1..35 and coupon ids 1..3).
 * `--sku-count N` adds variants of those as SKUs 36..N (skuCatalog), again the same everywhere.
 *
 * Facts (provinces, codes, code meanings) follow the public gmall data; the product texts are written for rtwh.
 */

/** base_dic codes the generator writes. */
export const CODE = {
  orderUnpaid: '1001',
  orderPaid: '1002',
  orderCancelled: '1003',
  orderFinished: '1004',
  orderRefunding: '1005',
  orderRefunded: '1006',
  payAlipay: '1101',
  payWechat: '1102',
  payUnion: '1103',
  appraiseGood: '1201',
  appraiseMid: '1202',
  appraiseBad: '1203',
  appraiseAuto: '1204',
  couponUnused: '1401',
  couponUsing: '1402',
  couponUsed: '1403',
  refundOnlyMoney: '1501',
  refundWithGoods: '1502',
  paymentPaying: '1601',
  paymentSuccess: '1602',
  refundPending: '0701',
  refundApproved: '0702',
  refundDone: '0705',
  sourceQuery: '2401',
  sourcePromotion: '2402',
  sourceRecommend: '2403',
  sourceActivity: '2404',
  activityFullReduce: '3101',
  activityFullDiscount: '3102',
  couponFullReduce: '3201',
  couponFullDiscount: '3202',
  couponCash: '3203',
  rangeCategory3: '3301',
  rangeTrademark: '3302',
  rangeSpu: '3303',
} as const;

export const REFUND_REASONS = ['1301', '1302', '1303', '1304', '1305', '1306', '1307'] as const;

/** [code, name, parent] in the order the original dump lists them. */
export const BASE_DIC: readonly (readonly [string, string, string | null])[] = [
  ['10', '单据状态', null], ['1001', '未支付', '10'], ['1002', '已支付', '10'], ['1003', '已取消', '10'], ['1004', '已完成', '10'],
  ['1005', '退款中', '10'], ['1006', '退款完成', '10'],
  ['11', '支付状态', null], ['1101', '支付宝', '11'], ['1102', '微信', '11'], ['1103', '银联', '11'],
  ['12', '评价', null], ['1201', '好评', '12'], ['1202', '中评', '12'], ['1203', '差评', '12'], ['1204', '自动', '12'],
  ['13', '退货原因', null], ['1301', '质量问题', '13'], ['1302', '商品描述与实际描述不一致', '13'], ['1303', '缺货', '13'],
  ['1304', '号码不合适', '13'], ['1305', '拍错', '13'], ['1306', '不想买了', '13'], ['1307', '其他', '13'],
  ['14', '购物券状态', null], ['1401', '未使用', '14'], ['1402', '使用中', '14'], ['1403', '已使用', '14'],
  ['15', '退款类型', null], ['1501', '仅退款', '15'], ['1502', '退货退款', '15'],
  ['16', '支付流水状态', null], ['1601', '支付中', '16'], ['1602', '支付成功', '16'], ['1603', '支付失败', '16'],
  ['24', '来源类型', ''], ['2401', '用户查询', '24'], ['2402', '商品推广', '24'], ['2403', '智能推荐', '24'], ['2404', '促销活动', '24'],
  ['31', '活动类型', null], ['3101', '满额减价', '31'], ['3102', '满量打折', '31'], ['3103', '直接折扣', '31'],
  ['32', '购物券类型', ''], ['3201', '满额减价', '32'], ['3202', '满量打折', '32'], ['3203', '代金券', '32'],
  ['33', '优惠券范围', null], ['3301', '品类券', '33'], ['3302', '品牌券', '33'], ['3303', '单品(spu)', '33'],
  ['07', '退单状态', null], ['0701', '商家审核中', '07'], ['0702', '商家审核通过', '07'], ['0703', '商家审核未通过', '07'],
  ['0704', '买家已发货', '07'], ['0705', '退单完成', '07'], ['0706', '退单失败', '07'],
];

export const REGIONS: readonly (readonly [string, string])[] = [
  ['1', '华北'], ['2', '华东'], ['3', '东北'], ['4', '华中'], ['5', '华南'], ['6', '西南'], ['7', '西北'],
];

/** [id, name, region_id, area_code, iso_code, iso_3166_2]: the 34 provinces in the original's row order. */
export const PROVINCES: readonly (readonly [number, string, string, string, string, string])[] = [
  [1, '北京', '1', '110000', 'CN-11', 'CN-BJ'], [2, '天津', '1', '120000', 'CN-12', 'CN-TJ'], [3, '山西', '1', '140000', 'CN-14', 'CN-SX'],
  [4, '内蒙古', '1', '150000', 'CN-15', 'CN-NM'], [5, '河北', '1', '130000', 'CN-13', 'CN-HE'], [6, '上海', '2', '310000', 'CN-31', 'CN-SH'],
  [7, '江苏', '2', '320000', 'CN-32', 'CN-JS'], [8, '浙江', '2', '330000', 'CN-33', 'CN-ZJ'], [9, '安徽', '2', '340000', 'CN-34', 'CN-AH'],
  [10, '福建', '2', '350000', 'CN-35', 'CN-FJ'], [11, '江西', '2', '360000', 'CN-36', 'CN-JX'], [12, '山东', '2', '370000', 'CN-37', 'CN-SD'],
  [14, '台湾', '2', '710000', 'CN-71', 'CN-TW'], [15, '黑龙江', '3', '230000', 'CN-23', 'CN-HL'], [16, '吉林', '3', '220000', 'CN-22', 'CN-JL'],
  [17, '辽宁', '3', '210000', 'CN-21', 'CN-LN'], [18, '陕西', '7', '610000', 'CN-61', 'CN-SN'], [19, '甘肃', '7', '620000', 'CN-62', 'CN-GS'],
  [20, '青海', '7', '630000', 'CN-63', 'CN-QH'], [21, '宁夏', '7', '640000', 'CN-64', 'CN-NX'], [22, '新疆', '7', '650000', 'CN-65', 'CN-XJ'],
  [23, '河南', '4', '410000', 'CN-41', 'CN-HA'], [24, '湖北', '4', '420000', 'CN-42', 'CN-HB'], [25, '湖南', '4', '430000', 'CN-43', 'CN-HN'],
  [26, '广东', '5', '440000', 'CN-44', 'CN-GD'], [27, '广西', '5', '450000', 'CN-45', 'CN-GX'], [28, '海南', '5', '460000', 'CN-46', 'CN-HI'],
  [29, '香港', '5', '810000', 'CN-91', 'CN-HK'], [30, '澳门', '5', '820000', 'CN-92', 'CN-MO'], [31, '四川', '6', '510000', 'CN-51', 'CN-SC'],
  [32, '贵州', '6', '520000', 'CN-52', 'CN-GZ'], [33, '云南', '6', '530000', 'CN-53', 'CN-YN'], [13, '重庆', '6', '500000', 'CN-50', 'CN-CQ'],
  [34, '西藏', '6', '540000', 'CN-54', 'CN-XZ'],
];

/** The category tree: level 1 → level 2 → level 3 names. Ids are given in this order (1, 2, 3 … per level). */
const CATEGORY_TREE: readonly (readonly [string, readonly (readonly [string, readonly string[]])[]])[] = [
  ['图书、音像、电子书刊', [
    ['电子书刊', ['电子书', '网络原创', '数字杂志', '多媒体图书']],
    ['音像', ['音乐', '影视', '教育音像']],
    ['文艺', ['小说', '文学', '青春文学', '传记', '艺术']],
    ['科技', ['计算机与互联网', '科普读物', '医学']],
  ]],
  ['手机', [
    ['手机通讯', ['手机', '游戏手机', '老人机', '对讲机']],
    ['运营商', ['合约机', '选号中心', '装宽带']],
    ['手机配件', ['手机壳', '贴膜', '数据线', '充电器', '移动电源']],
  ]],
  ['家用电器', [
    ['电视', ['超薄电视', '全面屏电视', '智能电视', 'OLED电视', '4K超清电视']],
    ['空调', ['壁挂式空调', '柜式空调', '中央空调']],
    ['洗衣机', ['滚筒洗衣机', '洗烘一体机', '波轮洗衣机']],
    ['冰箱', ['多门', '对开门', '三门', '双门']],
  ]],
  ['数码', [
    ['摄影摄像', ['数码相机', '微单相机', '单反相机', '运动相机']],
    ['智能设备', ['智能手环', '智能手表', '智能家居']],
    ['影音娱乐', ['耳机/耳麦', '音箱/音响', '麦克风']],
  ]],
  ['家居家装', [
    ['家纺', ['床品套件', '被子', '枕芯']],
    ['灯具', ['吸顶灯', '台灯', '落地灯']],
    ['生活日用', ['收纳用品', '雨伞雨具', '净化除味']],
  ]],
  ['电脑办公', [
    ['电脑整机', ['笔记本', '游戏本', '平板电脑', '台式机']],
    ['电脑配件', ['显示器', 'CPU', '主板', '显卡', '硬盘', '内存']],
    ['外设产品', ['鼠标', '键盘', '移动硬盘', 'U盘']],
  ]],
  ['厨具', [
    ['烹饪锅具', ['炒锅', '煎锅', '压力锅', '蒸锅']],
    ['刀剪菜板', ['菜刀', '剪刀', '砧板']],
    ['水具酒具', ['保温杯', '茶具', '酒具']],
  ]],
  ['个护化妆', [
    ['面部护肤', ['补水保湿', '卸妆', '洁面', '面膜', '乳液/面霜']],
    ['香水彩妆', ['香水', '口红', '粉底液/粉饼', '眼影']],
    ['身体护理', ['沐浴露', '润肤乳', '洗发护发']],
  ]],
  ['服饰内衣', [
    ['女装', ['连衣裙', '针织衫', '羽绒服', '牛仔裤']],
    ['男装', ['T恤', '衬衫', '夹克', '休闲裤']],
    ['内衣', ['文胸', '睡衣/家居服', '袜子']],
  ]],
  ['钟表', [['腕表', ['男表', '女表', '儿童手表']]]],
  ['鞋靴', [
    ['流行男鞋', ['商务休闲鞋', '休闲鞋', '帆布鞋']],
    ['时尚女鞋', ['高跟鞋', '单鞋', '短靴']],
  ]],
  ['母婴', [
    ['奶粉', ['婴幼奶粉', '孕妈奶粉']],
    ['尿裤湿巾', ['婴儿尿裤', '拉拉裤', '婴儿湿巾']],
    ['喂养用品', ['奶瓶奶嘴', '吸奶器', '辅食料理机']],
  ]],
  ['礼品箱包', [
    ['潮流女包', ['单肩包', '手提包', '钱包']],
    ['精品男包', ['商务公文包', '双肩包', '男士钱包']],
    ['礼品', ['鲜花', '创意礼品', '工艺礼品']],
  ]],
  ['食品饮料、保健食品', [
    ['粮油调味', ['米面杂粮', '食用油', '调味品', '南北干货']],
    ['饮料冲调', ['饮用水', '牛奶酸奶', '咖啡/奶茶', '茶叶']],
    ['休闲食品', ['坚果炒货', '饼干蛋糕', '糖果/巧克力']],
  ]],
  ['珠宝', [
    ['时尚饰品', ['项链', '手链/脚链', '戒指', '耳饰']],
    ['黄金', ['黄金吊坠', '黄金项链', '金条']],
  ]],
  ['汽车用品', [
    ['维修保养', ['机油', '轮胎', '雨刷', '车灯']],
    ['车载电器', ['行车记录仪', '车载充电器', '车载蓝牙']],
    ['美容清洗', ['洗车机', '车蜡', '玻璃水']],
  ]],
  ['运动健康', [
    ['运动鞋包', ['跑步鞋', '篮球鞋', '运动包']],
    ['健身训练', ['跑步机', '动感单车', '哑铃']],
    ['户外装备', ['帐篷/垫子', '睡袋/吊床', '登山攀岩']],
  ]],
];

export interface Category { id: number; name: string; parentId: number }

function flattenCategories(): { c1: Category[]; c2: Category[]; c3: Category[] } {
  const c1: Category[] = [];
  const c2: Category[] = [];
  const c3: Category[] = [];
  for (const [n1, subs] of CATEGORY_TREE) {
    const id1 = c1.length + 1;
    c1.push({ id: id1, name: n1, parentId: 0 });
    for (const [n2, leaves] of subs) {
      const id2 = c2.length + 1;
      c2.push({ id: id2, name: n2, parentId: id1 });
      for (const n3 of leaves) c3.push({ id: c3.length + 1, name: n3, parentId: id2 });
    }
  }
  return { c1, c2, c3 };
}

export const CATEGORIES = flattenCategories();

function category3(name: string): number {
  const c = CATEGORIES.c3.find((x) => x.name === name);
  if (!c) throw new Error(`catalog: no category3 ${name}`);
  return c.id;
}

export const TRADEMARKS: readonly (readonly [number, string])[] = [
  [1, '三星'], [2, '苹果'], [3, '华为'], [4, 'TCL'], [5, '小米'], [6, '长粒香'], [7, '金沙河'], [8, '索芙特'], [9, 'CAREMiLLE'], [10, '欧莱雅'], [11, '香奈儿'],
];

export interface Spu { id: number; name: string; description: string; category3Id: number; tmId: number }

const PHONE = category3('手机');
const TV = category3('智能电视');
const RICE = category3('米面杂粮');
const LIPSTICK = category3('口红');
const PERFUME = category3('香水');

export const SPUS: readonly Spu[] = [
  { id: 1, name: '小米10', description: '小米10 骁龙865 1亿像素 5G手机', category3Id: PHONE, tmId: 5 },
  { id: 2, name: 'Redmi 10X', description: 'Redmi 10X 天玑820 双5G待机 4800万流光相机', category3Id: PHONE, tmId: 5 },
  { id: 3, name: 'Apple iPhone 12', description: 'Apple iPhone 12 A14仿生芯片 超瓷晶面板 5G手机', category3Id: PHONE, tmId: 2 },
  { id: 4, name: 'HUAWEI P40', description: '华为 HUAWEI P40 麒麟990 5G SoC 超感知徕卡三摄', category3Id: PHONE, tmId: 3 },
  { id: 5, name: 'TCL 智能电视', description: 'TCL 4K超高清 AI声控 液晶平板电视', category3Id: TV, tmId: 4 },
  { id: 6, name: '小米电视', description: '小米电视 4K HDR 远场语音 金属全面屏', category3Id: TV, tmId: 5 },
  { id: 7, name: '长粒香大米', description: '十月稻田 长粒香大米 东北大米 新米', category3Id: RICE, tmId: 6 },
  { id: 8, name: '金沙河面条', description: '金沙河 挂面 原味宽面 家用面条', category3Id: RICE, tmId: 7 },
  { id: 9, name: '索芙特口红', description: '索芙特 i-Softto 口红 不掉色唇膏 保湿滋润', category3Id: LIPSTICK, tmId: 8 },
  { id: 10, name: 'CAREMiLLE口红', description: 'CAREMiLLE 珂曼奶油小方口红 雾面滋润保湿', category3Id: LIPSTICK, tmId: 9 },
  { id: 11, name: '欧莱雅口红', description: '欧莱雅 LOREAL 奢华倾慕 唇膏', category3Id: LIPSTICK, tmId: 10 },
  { id: 12, name: '香奈儿香水', description: '香奈儿 Chanel 女士香水 持久留香', category3Id: PERFUME, tmId: 11 },
];

export interface Sku {
  id: number;
  spuId: number;
  /** sku_info.price is decimal(10,0): whole yuan. */
  price: number;
  name: string;
  desc: string;
  /** kg, two decimals, as integer hundredths. */
  weight: number;
  tmId: number;
  category3Id: number;
  img: string;
  createTime: string;
}

/** [spu, price, name, weight in 1/100 kg] for sku ids 1..35. */
const SKU_ROWS: readonly (readonly [number, number, string, number])[] = [
  [1, 5999, '小米10 至尊纪念版 双模5G 骁龙865 120HZ高刷新率 120倍长焦 8GB+128GB 陶瓷黑 5G手机', 24],
  [1, 6499, '小米10 至尊纪念版 双模5G 骁龙865 120HZ高刷新率 120倍长焦 12GB+256GB 透明版 5G手机', 24],
  [1, 6999, '小米10 至尊纪念版 双模5G 骁龙865 120HZ高刷新率 120倍长焦 16GB+512GB 陶瓷黑 5G手机', 24],
  [2, 1299, 'Redmi 10X 4G Helio G85游戏芯 4800万超清四摄 5020mAh大电量 4GB+128GB 明月灰 游戏智能手机', 22],
  [2, 1499, 'Redmi 10X 4G Helio G85游戏芯 4800万超清四摄 5020mAh大电量 6GB+128GB 冰雾白 游戏智能手机', 22],
  [2, 1599, 'Redmi 10X 5G 天玑820 双5G待机 6GB+128GB 松石绿 游戏智能手机', 21],
  [2, 1899, 'Redmi 10X 5G 天玑820 双5G待机 8GB+256GB 凝夜紫 游戏智能手机', 21],
  [3, 6799, 'Apple iPhone 12 (A2404) 64GB 黑色 支持移动联通电信5G 双卡双待手机', 16],
  [3, 6799, 'Apple iPhone 12 (A2404) 64GB 白色 支持移动联通电信5G 双卡双待手机', 16],
  [3, 7299, 'Apple iPhone 12 (A2404) 128GB 蓝色 支持移动联通电信5G 双卡双待手机', 16],
  [3, 7299, 'Apple iPhone 12 (A2404) 128GB 红色 支持移动联通电信5G 双卡双待手机', 16],
  [3, 8299, 'Apple iPhone 12 (A2404) 256GB 绿色 支持移动联通电信5G 双卡双待手机', 16],
  [4, 4188, '华为 HUAWEI P40 麒麟990 5G SoC芯片 5000万超感知徕卡三摄 6GB+128GB 冰霜银 全网通5G手机', 18],
  [4, 4488, '华为 HUAWEI P40 麒麟990 5G SoC芯片 5000万超感知徕卡三摄 8GB+128GB 亮黑色 全网通5G手机', 18],
  [4, 4988, '华为 HUAWEI P40 麒麟990 5G SoC芯片 5000万超感知徕卡三摄 8GB+256GB 零度白 全网通5G手机', 18],
  [4, 5488, '华为 HUAWEI P40 Pro 麒麟990 5G SoC芯片 5000万超感知徕卡四摄 8GB+256GB 深海蓝 全网通5G手机', 21],
  [5, 2699, 'TCL 55A360 55英寸 4K超高清 AI声控 全面屏 智能网络液晶平板电视机', 1350],
  [5, 3499, 'TCL 65Q10 65英寸 QLED原色量子点 4K超高清 AI声控 智慧屏 全面屏电视', 2200],
  [5, 5999, 'TCL 75C8 75英寸 QLED原色量子点 120Hz 4K超高清 安桥音响 液晶平板电视', 3400],
  [6, 1999, '小米电视4A 50英寸 4K超高清 HDR 人工智能 网络液晶平板电视 L50M5-AD', 1090],
  [6, 2999, '小米电视E65X 65英寸 4K超高清 全面屏 人工智能 教育电视 L65M5-EA', 1790],
  [7, 39, '十月稻田 长粒香大米 东北大米 东北香米 5kg', 500],
  [7, 69, '十月稻田 长粒香大米 东北大米 五常稻花香 10kg', 1000],
  [8, 11, '金沙河面条 原味银丝挂面 龙须面 方便速食拉面 清汤面 900克', 90],
  [8, 23, '金沙河面条 家用挂面 宽面条 原味 2kg', 200],
  [9, 69, '索芙特i-Softto 口红不掉色唇膏保湿滋润 璀璨金钻哑光唇膏 Z02少女红', 5],
  [9, 69, '索芙特i-Softto 口红不掉色唇膏保湿滋润 璀璨金钻哑光唇膏 Z03女王红', 5],
  [10, 99, 'CAREMiLLE珂曼奶油小方口红 雾面滋润保湿持久丝缎唇膏 M01醉蔷薇', 4],
  [10, 99, 'CAREMiLLE珂曼奶油小方口红 雾面滋润保湿持久丝缎唇膏 M02干玫瑰', 4],
  [11, 129, '欧莱雅 LOREAL 奢华倾慕唇膏 滋润保湿 G102杏色', 4],
  [11, 129, '欧莱雅 LOREAL 奢华倾慕唇膏 滋润保湿 R302红棕', 4],
  [12, 1100, '香奈儿 Chanel 女士香水 可可小姐淡香精 50ml', 30],
  [12, 1450, '香奈儿 Chanel 女士香水 邂逅柔情淡香水 100ml', 45],
  [6, 3999, '小米电视 大师 65英寸 OLED 4K超高清 HDR 杜比视界 全面屏 游戏电视', 2300],
  [6, 1099, '小米电视4A 32英寸 高清 人工智能 网络液晶平板电视 L32M5-AZ', 420],
];

function sku(id: number, spuId: number, price: number, name: string, weight: number): Sku {
  const spu = SPUS[spuId - 1]!;
  return {
    id,
    spuId,
    price,
    name,
    desc: name,
    weight,
    tmId: spu.tmId,
    category3Id: spu.category3Id,
    img: `http://img.gmall.com/sku/${String(id).padStart(3, '0')}.jpg`,
    createTime: `2021-01-${String((id % 28) + 1).padStart(2, '0')} 10:${String((id * 7) % 60).padStart(2, '0')}:00`,
  };
}

export const SKUS: readonly Sku[] = SKU_ROWS.map(([spuId, price, name, weight], i) => sku(i + 1, spuId, price, name, weight));

/** The SKUs of the gmall data (ids 1..35): activities and the app-log mock refer to them, so every catalog has them. */
export const BASE_SKU_COUNT = SKUS.length;

/** Most SKUs --sku-count allows: base data is loaded as one INSERT per table. */
export const MAX_SKU_COUNT = 100_000;

/** [what the variant adds to the name, price in % of the base SKU's, weight in % of the base SKU's]. */
type VariantSpec = readonly [string, number, number];

const PHONE_VARIANTS: readonly VariantSpec[] = [
  ['快充套装', 104, 115], ['碎屏险套装', 106, 100], ['原装耳机套装', 105, 120], ['礼盒版', 108, 140],
  ['以旧换新版', 95, 100], ['移动专享版', 98, 100], ['教育优惠版', 94, 100], ['保护壳套装', 102, 110],
];
const TV_VARIANTS: readonly VariantSpec[] = [
  ['挂架套装', 103, 108], ['落地支架套装', 106, 125], ['送装一体版', 104, 100], ['延保三年版', 107, 100],
  ['游戏加速版', 110, 100], ['护眼版', 105, 100], ['会员版', 102, 100], ['回音壁音响套装', 118, 130],
];
const FOOD_VARIANTS: readonly VariantSpec[] = [
  ['两袋装', 195, 200], ['三袋装', 285, 300], ['家庭装', 380, 400], ['礼盒装', 150, 120],
  ['量贩装', 460, 500], ['整箱装', 900, 1000], ['组合装', 240, 250], ['尝鲜装', 60, 50],
];
const LIPSTICK_VARIANTS: readonly VariantSpec[] = [
  ['礼盒装', 115, 150], ['双支装', 190, 200], ['迷你装', 55, 50], ['限定版', 120, 100],
  ['节日礼盒', 130, 160], ['替换芯', 70, 80], ['丝绒款', 100, 100], ['镜面款', 100, 100],
];
const PERFUME_VARIANTS: readonly VariantSpec[] = [
  ['礼盒装', 110, 130], ['旅行装', 55, 40], ['限量版', 125, 100], ['节日限定版', 120, 110],
  ['香氛套装', 140, 160], ['七夕礼盒', 115, 130], ['小样套装', 45, 30], ['专柜版', 100, 100],
];

/** The variants of each SPU's SKUs, by spu id (phones, TVs, rice and noodles, lipsticks, perfume). */
const VARIANTS_BY_SPU: Readonly<Record<number, readonly VariantSpec[]>> = {
  1: PHONE_VARIANTS, 2: PHONE_VARIANTS, 3: PHONE_VARIANTS, 4: PHONE_VARIANTS, 5: TV_VARIANTS, 6: TV_VARIANTS,
  7: FOOD_VARIANTS, 8: FOOD_VARIANTS, 9: LIPSTICK_VARIANTS, 10: LIPSTICK_VARIANTS, 11: LIPSTICK_VARIANTS, 12: PERFUME_VARIANTS,
};

/**
 * SKU `id` > 35: a variant of base SKU ((id − 36) mod 35) + 1, the same SPU, brand and category3, in its round
 * (id − 36) div 35: round r adds the SPU's variant r mod 8 to the name ("… 陶瓷黑 5G手机 快充套装", "… 5kg 两袋装"), and from
 * round 8 on a model year as well ("2022款"; past 2030 a code with the id), so every name is different.
 * Price and weight are the base SKU's times the variant's percentages, 2 % dearer per model year.
 * It depends on the id only: the same SKU on every machine and every day.
 */
function variantSku(id: number): Sku {
  const k = id - BASE_SKU_COUNT - 1;
  const base = SKUS[k % BASE_SKU_COUNT]!;
  const round = Math.floor(k / BASE_SKU_COUNT);
  const specs = VARIANTS_BY_SPU[base.spuId]!;
  const [tag, pricePct, weightPct] = specs[round % specs.length]!;
  const batch = Math.floor(round / specs.length);
  const model = batch === 0 ? '' : batch <= 9 ? ` ${2021 + batch}款` : ` 定制款K${id}`;
  const price = Math.max(1, Math.round((base.price * pricePct * (100 + 2 * batch)) / 10_000));
  const weight = Math.max(1, Math.round((base.weight * weightPct) / 100));
  return sku(id, base.spuId, price, `${base.name} ${tag}${model}`, weight);
}

const catalogs = new Map<number, readonly Sku[]>([[BASE_SKU_COUNT, SKUS]]);

/** SKUs 1..count: the 35 of gmall, then their variants (variantSku). `count` is at least 35. */
export function skuCatalog(count: number): readonly Sku[] {
  if (!Number.isSafeInteger(count) || count < BASE_SKU_COUNT) throw new RangeError(`skuCatalog: ${count} SKUs, expected at least ${BASE_SKU_COUNT}`);
  let c = catalogs.get(count);
  if (!c) {
    const more = Array.from({ length: count - BASE_SKU_COUNT }, (_, i) => variantSku(BASE_SKU_COUNT + 1 + i));
    c = [...SKUS, ...more];
    catalogs.set(count, c);
  }
  return c;
}

export interface ActivityRule {
  id: number;
  /** 3101: condition amount in yuan; 3102: condition count. */
  condition: number;
  /** 3101: yuan off; 3102: the 折 (9 = 10 % off), stored as benefit_discount 9.00. */
  benefit: number;
  level: number;
}

export interface Activity {
  id: number;
  name: string;
  type: '3101' | '3102';
  desc: string;
  skuIds: readonly number[];
  rules: readonly ActivityRule[];
}

/** Active for the whole mock period: the generator does not check dates (the original does not either). */
export const ACTIVITY_WINDOW = { start: '2020-01-01 00:00:00', end: '2030-12-31 23:59:59', created: '2020-12-01 10:00:00' } as const;

export const ACTIVITIES: readonly Activity[] = [
  {
    id: 1, name: '小米手机专场', type: '3101', desc: '小米手机满5000减300，满8000减600', skuIds: [1, 2, 3, 4, 5, 6, 7],
    rules: [{ id: 1, condition: 5000, benefit: 300, level: 1 }, { id: 2, condition: 8000, benefit: 600, level: 2 }],
  },
  {
    id: 2, name: 'Apple品牌日', type: '3101', desc: 'Apple品牌日满5000减200，满10000减500', skuIds: [8, 9, 10, 11, 12],
    rules: [{ id: 3, condition: 5000, benefit: 200, level: 1 }, { id: 4, condition: 10000, benefit: 500, level: 2 }],
  },
  {
    id: 3, name: '女神节', type: '3102', desc: '美妆满2件9折，满3件8折', skuIds: [26, 27, 28, 29, 30, 31, 32, 33],
    rules: [{ id: 5, condition: 2, benefit: 9, level: 1 }, { id: 6, condition: 3, benefit: 8, level: 2 }],
  },
];

export interface Coupon {
  id: number;
  name: string;
  type: '3201' | '3202' | '3203';
  /** 3201: yuan; 3202: pieces; 3203: none. */
  condition: number | null;
  /** 3201/3203: yuan off; 3202: the 折. */
  benefit: number;
  rangeType: '3301' | '3302' | '3303';
  rangeIds: readonly number[];
  rangeDesc: string;
  limitNum: number;
}

export const COUPON_WINDOW = { start: '2020-06-10 00:00:00', end: '2030-12-31 23:59:59', created: '2020-10-23 12:37:05' } as const;

export const COUPONS: readonly Coupon[] = [
  { id: 1, name: '口红品类券', type: '3201', condition: 99, benefit: 30, rangeType: '3301', rangeIds: [LIPSTICK], rangeDesc: '口红品类满99减30', limitNum: 100 },
  { id: 2, name: '小米品牌满2件9折券', type: '3202', condition: 2, benefit: 9, rangeType: '3302', rangeIds: [5], rangeDesc: '小米品牌商品满2件打9折', limitNum: 100 },
  { id: 3, name: '长粒香大米代金券', type: '3203', condition: null, benefit: 5, rangeType: '3303', rangeIds: [7], rangeDesc: '长粒香大米立减5元', limitNum: 100 },
];
