/**
 * The facts the app-log generator draws from, with their weights. Values and weights follow the public
 * gmall mock-log generators (2022: gmall2020-mock-log / gmall2022-mock; 2023: the remake with sid and
 * province ids) so downstream SQL that filters on them (ch = 'Appstore', page_id = 'good_detail' …) behaves
 * as it does on the real data. Where the generator had no rule (hours of the day, logged-in share) the
 * choice is ours and says so.
 */

export type Weighted<T> = readonly (readonly [T, number])[];

/** Weighted page paths of path.json: one is drawn per session (startup). */
export const PATHS: Weighted<readonly string[]> = [
  [['home', 'good_list', 'good_detail', 'cart', 'trade', 'payment'], 20],
  [['home', 'search', 'good_list', 'good_detail', 'login', 'good_detail', 'cart', 'trade', 'payment'], 40],
  [['home', 'mine', 'orders_unpaid', 'trade', 'payment'], 10],
  [['home', 'mine', 'orders_unpaid', 'good_detail', 'good_spec', 'comment', 'trade', 'payment'], 5],
  [['home', 'mine', 'orders_unpaid', 'good_detail', 'good_spec', 'comment', 'home'], 5],
  [['home', 'good_detail'], 10],
  [['home'], 10],
];

/** 2023 renamed the checkout page. */
export const PAGE_RENAMES_2023: Readonly<Record<string, string>> = { trade: 'order' };

/** 2022 `ar`: province area codes (北京, 上海, 黑龙江, 山东, 湖北, 广东, 重庆, 云南). */
export const AREAS_2022: Weighted<string> = [
  ['110000', 30], ['310000', 20], ['230000', 10], ['370000', 10], ['420000', 5], ['440000', 20], ['500000', 5], ['530000', 5],
];

/** 2023 `ar`: base_province ids 1..34, evenly. */
export const PROVINCE_IDS_2023: readonly string[] = Array.from({ length: 34 }, (_, i) => String(i + 1));

/** Phone models; the brand (`ba`) is the first word, iPhones come from the Appstore. */
export const MODELS_2022: Weighted<string> = [
  ['Xiaomi 9', 30], ['Xiaomi 10 Pro', 30], ['Xiaomi Mix2', 30], ['iPhone X', 20], ['iPhone 8', 20], ['iPhone Xs', 20],
  ['iPhone Xs Max', 20], ['Huawei P30', 10], ['Huawei Mate 30', 10], ['Redmi k30', 10], ['Honor 20s', 5], ['vivo iqoo3', 20],
  ['Oneplus 7', 5], ['Samsung Galaxy S20', 3],
];

export const MODELS_2023: Weighted<string> = [
  ['xiaomi 13', 30], ['xiaomi 13 Pro', 30], ['xiaomi 12', 30], ['Redmi k50', 30], ['iPhone 14', 30], ['iPhone 14 Plus', 20],
  ['iPhone 13', 20], ['vivo x90', 20], ['vivo IQOO Z6x', 20], ['realme Neo2', 20], ['SAMSUNG Galaxy s22', 10], ['Honor Magic4', 10],
];

export const ANDROID_CHANNELS: Weighted<string> = [
  ['xiaomi', 30], ['wandoujia', 10], ['web', 10], ['huawei', 5], ['oppo', 20], ['vivo', 5], ['360', 5],
];
export const IOS_CHANNEL = 'Appstore';

export const IOS_VERSIONS: Weighted<string> = [['iOS 13.3.1', 30], ['iOS 13.2.9', 10], ['iOS 13.2.3', 10], ['iOS 12.4.1', 5]];
export const ANDROID_VERSIONS_2022: Weighted<string> = [['Android 11.0', 70], ['Android 10.0', 20], ['Android 9.0', 5], ['Android 8.1', 5]];
export const ANDROID_VERSIONS_2023: Weighted<string> = [['Android 13.0', 50], ['Android 12.0', 30], ['Android 11.0', 15], ['Android 10.1', 5]];

export const APP_VERSIONS: Weighted<string> = [['v2.1.134', 70], ['v2.1.132', 20], ['v2.1.111', 5], ['v2.0.1', 5]];

export const START_ENTRIES: Weighted<string> = [['install', 5], ['icon', 75], ['notice', 20]];

/** mock.search.keyword: comma-separated, Chinese included. */
export const DEFAULT_KEYWORDS: readonly string[] = ['图书', '小米', 'iphone11', '电视', '口红', 'ps5', '苹果手机', '小米盒子', '华为', '联想'];

/** Display types of goods shown on a page (activities are shown separately). */
export const SKU_DISPLAY_TYPES: Weighted<'promotion' | 'query' | 'recommend'> = [['promotion', 30], ['query', 60], ['recommend', 10]];

/** Pages that show activity banners, then goods; and pages that show goods only. */
export const ACTIVITY_DISPLAY_PAGES: ReadonlySet<string> = new Set(['home', 'discovery', 'category']);
export const SKU_DISPLAY_PAGES: ReadonlySet<string> = new Set(['good_detail', 'home', 'category', 'activity', 'good_spec', 'good_list', 'discovery']);
/** Pages about one SKU: they carry item_type sku_id and (2022) a source_type. */
export const SKU_PAGES: ReadonlySet<string> = new Set(['good_detail', 'good_spec', 'comment', 'comment_list']);
/** Checkout pages: item_type sku_ids, "1,5,9". */
export const SKU_IDS_PAGES: ReadonlySet<string> = new Set(['trade', 'payment', 'payment_done']);

/** The generator's fixed rates (percent) and ranges that are not exposed as knobs there either. */
export const RATES = {
  favorAdd: 30,
  favorCancel: 10,
  cartAdd: 10,
  cartAddNum: 10,
  cartMinusNum: 10,
  cartRemove: 10,
  tradeAddAddress: 15,
  /** Ours: share of sessions already logged in at startup (a session through `login` always starts logged out). */
  loggedInAtStart: 50,
  /** Ours: is_new is drawn per session, like the generator, half and half. */
  isNew: 50,
} as const;

export const RANGES = {
  maxActivityCount: 2,
  minDisplayCount: 4,
  maxDisplayCount: 10,
  maxPosId2022: 5,
  maxPosId2023: 10,
  openAdIdMax: 20,
  openAdMs: [1000, 10000],
  loadingTime: [1000, 20000],
  errorCode: [1001, 4001],
  referIdMax: 4,
} as const;

/** Error messages in the generator's style: Java stack text with literal \n and \t sequences. */
export const ERROR_MESSAGES: readonly string[] = [
  ' Exception in thread \\  java.net.SocketTimeoutException\\n \\tat com.atgugu.gmall2020.mock.log.bean.AppError.main(AppError.java:xxxxxx)',
  ' Exception in thread \\  java.net.ConnectException: Connection refused\\n \\tat com.atgugu.gmall2020.mock.log.bean.AppError.main(AppError.java:xxxxxx)',
  ' Exception in thread \\  java.lang.NullPointerException\\n \\tat com.atgugu.gmall2020.mock.log.bean.AppPage.build(AppPage.java:xxxxxx)',
];

/**
 * Ours: how visits spread over a Beijing-time day (relative weight per hour 00..23): quiet at night,
 * a lunch bump, the evening peak around 21:00.
 */
export const HOUR_WEIGHTS: readonly number[] = [4, 2, 1, 1, 1, 2, 4, 7, 9, 10, 10, 11, 12, 11, 10, 10, 10, 11, 12, 14, 16, 17, 14, 8];
