/**
 * The correctness oracle: for three seeds, the demo pipeline (mock db + log → dim → dwd → dws → DuckDB) runs
 * end to end, and each ADS preset's answer must equal the same figure computed INDEPENDENTLY — DuckDB SQL over the
 * raw inputs on the bus (ods_db's Maxwell records, ods_log's app log lines), never through rtwh's jobs.
 *
 * Exactness: the raw records are loaded with every JSON number turned into its own digits as a string (no float on
 * the way), amounts are summed as DECIMAL in SQL, and both sides are compared as text: the oracle's `::VARCHAR`
 * against the digits the preset printed in its JSON (read with the same lossless number handling).
 *
 * Definitions the oracle uses (gmall rules, /work/shared/reference/gmall.md; the day is the Beijing date, UTC+08:00,
 * of the change's / log line's ts):
 * - an order detail counts on the day of its insert when its order_info insert exists; its amount is
 *   split_total_amount, its original amount order_price × sku_num, its province the order's province_id;
 * - trademark: sku_info.tm_id → base_trademark;
 * - pages are the log lines with `page`; pv = page lines, sv = pages with no last_page_id, and a mid's uv counts
 *   once a day, in the hour of its first page that day (the preset sums the windows' uv_ct, which is exactly that);
 * - order users = distinct order_info.user_id of the day's counted details; paying users = distinct user_id of the
 *   day's payment_info updates to 1602; registrations = user_info inserts of the day;
 * - spu: sku_info.spu_id → spu_info; category: sku_info.category3_id → base_category3 → 2 → 1;
 * - new paying users: paying users with no payment success on an earlier day;
 * - cart adders: distinct user_id of the day's cart_info inserts and updates raising sku_num;
 * - logins: pages with a uid after no page or after 'login', a uid once a day; back = previous login day ≥ 8 days
 *   earlier;
 * - refunds: order_refund_info inserts whose order_info update to 1005 is within 5 s; refund_count = distinct orders
 *   per trademark, category1/2/3, user and 10 s window, summed;
 * - is_new: gmall's correction by mid (first line's day when it says '1', else the day before; '1' on another day
 *   becomes '0'), uv counted under the is_new of the mid's first page of the day;
 * - keywords: page items (item_type keyword, after search or home) split by Intl.Segmenter 'zh' word-like segments
 *   (the only step outside SQL: DuckDB has no Chinese segmenter), each word once per page, source 'search'.
 * Every preset and every user_counts figure is covered.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import { DEFAULT_WINDOW } from '../../src/dws/window';
import { KEYWORD_SOURCE_WEIGHTS } from '../../src/query/presets';
import { openDuckDB, type DuckStore } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';

const DATE = '2025-01-14';
const SEEDS = [1, 2, 3] as const;
const TIMEOUT_MS = 120_000;

/**
 * JSON text with every number token (outside strings) wrapped in quotes, so JSON.parse or DuckDB's JSON reader
 * keep its exact digits.
 */
function numbersAsStrings(json: string): string {
  let out = '';
  let i = 0;
  while (i < json.length) {
    const ch = json[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      out += json.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      let j = i + 1;
      while (j < json.length && /[0-9eE.+-]/.test(json[j]!)) j++;
      out += `"${json.slice(i, j)}"`;
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

type TextRow = Record<string, string | null>;

/** Every record value of a bus topic, as text, read from the start with an ephemeral consumer. */
async function readTopic(busPath: string, topic: string): Promise<string[]> {
  const bus = await openBus(`sqlite:${busPath}`);
  try {
    const admin = await bus.admin();
    const info = await admin.describeTopic(topic);
    await admin.close();
    const total = info.partitions.reduce((n, p) => n + (p.endOffset - p.startOffset), 0);
    const consumer = await bus.consumer({ topics: [topic], startFrom: 'earliest' });
    const values: string[] = [];
    try {
      for (let idle = 0; values.length < total && idle < 20; ) {
        const batch = await consumer.poll({ timeoutMs: 200, maxRecords: 5000 });
        if (batch.length === 0) idle++;
        for (const r of batch) if (r.value !== null) values.push(r.value.toString('utf8'));
      }
    } finally {
      await consumer.close();
    }
    expect(values.length).toBe(total);
    return values;
  } finally {
    await bus.close();
  }
}

const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The raw inputs as DuckDB relations of our own: the Maxwell changes and the app log lines, all values as text. */
async function loadRaw(db: DuckStore, dir: string, odsDb: string[], odsLog: string[]): Promise<void> {
  const dbFile = join(dir, 'oracle-ods-db.jsonl');
  const logFile = join(dir, 'oracle-ods-log.jsonl');
  writeFileSync(dbFile, `${odsDb.map(numbersAsStrings).join('\n')}\n`);
  // Each log line with its position on the topic (n): the is_new correction depends on a mid's first line.
  writeFileSync(logFile, `${odsLog.map((line, n) => `{"n":${n},"v":${numbersAsStrings(line)}}`).join('\n')}\n`);
  // The words of every keyword page item. DuckDB has no Chinese segmenter, so this one step runs here, with the
  // ECMAScript Intl.Segmenter ('zh', word granularity, word-like segments) on the raw log lines — our own call, not
  // rtwh's job code; the counting and scoring stay in SQL.
  const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });
  const items = new Set<string>();
  for (const line of odsLog) {
    const v: unknown = JSON.parse(line);
    const page = typeof v === 'object' && v !== null ? (v as { page?: unknown }).page : undefined;
    const item = typeof page === 'object' && page !== null ? (page as { item?: unknown }).item : undefined;
    if (typeof item === 'string' && item !== '') items.add(item);
  }
  const wordsFile = join(dir, 'oracle-keyword-words.jsonl');
  const wordRows: string[] = [];
  for (const item of items) {
    for (const seg of segmenter.segment(item)) if (seg.isWordLike) wordRows.push(JSON.stringify({ item, word: seg.segment }));
  }
  writeFileSync(wordsFile, `${wordRows.join('\n')}\n`);
  // A Beijing calendar time from epoch ms: epoch_ms gives a plain TIMESTAMP, shifted by +08:00.
  await db.query(`
create table raw_db as select json as j from read_json_objects(${sqlText(dbFile)}, format = 'newline_delimited');
create table raw_log as
  select (json->>'$.n')::BIGINT as n, json->'$.v' as j from read_json_objects(${sqlText(logFile)}, format = 'newline_delimited');
create table keyword_word as
  select json->>'$.item' as item, json->>'$.word' as word from read_json_objects(${sqlText(wordsFile)}, format = 'newline_delimited');
create view chg as
  select j->>'$.table' as tbl, j->>'$.type' as typ, epoch_ms((j->>'$.ts')::BIGINT * 1000 + 8 * 3600 * 1000) as bj,
         j->'$.data' as data, j->'$.old' as old
  from raw_db;
create view ins as select * from chg where typ = 'insert';
create view page as
  select j->>'$.common.mid' as mid, j->>'$.common.ch' as ch, nullif(j->>'$.common.uid', '') as uid,
         j->>'$.page.last_page_id' as last_page_id,
         epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as bj
  from raw_log where json_type(json_extract(j, '$.page')) = 'OBJECT';
create view day_page as select * from page where bj::DATE = DATE '${DATE}';
-- gmall's is_new correction (by mid): the first visit day is the day of the mid's first start/page line when that
-- line says is_new '1', else the day before it; a later line saying '1' on another day than that is old ('0').
create view first_visit as
  select mid, case when arg_min(is_new, n) = '1' then min_by(d, n) else min_by(d, n) - 1 end as d
  from (select n, j->>'$.common.mid' as mid, j->>'$.common.is_new' as is_new,
               epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000)::DATE as d
        from raw_log
        where coalesce(json_type(json_extract(j, '$.page')) = 'OBJECT', false) <> coalesce(json_type(json_extract(j, '$.start')) = 'OBJECT', false))
  group by mid;
create view day_page_new as
  select n, p.mid, case when p.is_new = '1' and f.d <> p.bj::DATE then '0' else p.is_new end as is_new,
         p.last_page_id, coalesce(try_cast(p.during_time as BIGINT), 0) as dur
  from (select n, j->>'$.common.mid' as mid, j->>'$.common.is_new' as is_new, j->>'$.page.last_page_id' as last_page_id,
               j->>'$.page.during_time' as during_time, epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as bj
        from raw_log where json_type(json_extract(j, '$.page')) = 'OBJECT') p
  join first_visit f using (mid)
  where p.bj::DATE = DATE '${DATE}';
create view oi as
  select (data->>'$.id') as order_id, (data->>'$.user_id') as user_id, (data->>'$.province_id') as province_id
  from ins where tbl = 'order_info';
create view od as
  select (data->>'$.id') as detail_id, (data->>'$.order_id') as order_id, (data->>'$.sku_id') as sku_id,
         (data->>'$.split_total_amount')::DECIMAL(16,2) as total,
         (data->>'$.order_price')::DECIMAL(16,2) * (data->>'$.sku_num')::BIGINT as original,
         (data->>'$.split_activity_amount')::DECIMAL(16,2) as activity,
         (data->>'$.split_coupon_amount')::DECIMAL(16,2) as coupon,
         bj
  from ins where tbl = 'order_detail';
create view day_od as
  select od.*, oi.user_id, oi.province_id from od join oi using (order_id) where od.bj::DATE = DATE '${DATE}';
create view dim_province as select data->>'$.id' as id, data->>'$.name' as name from ins where tbl = 'base_province';
create view dim_sku as select data->>'$.id' as id, data->>'$.tm_id' as tm_id from ins where tbl = 'sku_info';
create view dim_tm as select data->>'$.id' as id, data->>'$.tm_name' as name from ins where tbl = 'base_trademark';
create view dim_sku_full as
  select data->>'$.id' as id, data->>'$.spu_id' as spu_id, data->>'$.category3_id' as category3_id from ins where tbl = 'sku_info';
create view dim_spu as select data->>'$.id' as id, data->>'$.spu_name' as name from ins where tbl = 'spu_info';
create view dim_c3 as select data->>'$.id' as id, data->>'$.name' as name, data->>'$.category2_id' as parent from ins where tbl = 'base_category3';
create view dim_c2 as select data->>'$.id' as id, data->>'$.name' as name, data->>'$.category1_id' as parent from ins where tbl = 'base_category2';
create view dim_c1 as select data->>'$.id' as id, data->>'$.name' as name from ins where tbl = 'base_category1';
`);
}

/** Rows of the oracle query, every column cast to text by the SQL itself. */
async function oracle(db: DuckStore, sql: string): Promise<TextRow[]> {
  const res = await db.query(sql);
  return res.rows.map((row) => {
    const o: TextRow = {};
    res.columns.forEach((c, i) => {
      const v = row[i];
      if (v !== null && typeof v !== 'string') throw new Error(`oracle column ${c.name} is not text: ${String(v)}`);
      o[c.name] = v ?? null;
    });
    return o;
  });
}

/** The preset's JSON answer, numbers kept as their printed digits. */
async function preset(dir: string, name: string, extra: string[] = []): Promise<TextRow[]> {
  const r = await cli(['query', '--preset', name, '--date', DATE, '--format', 'json', ...extra], { cwd: dir });
  if (r.code !== 0) throw new Error(`rtwh query --preset ${name} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(numbersAsStrings(r.stdout)) as TextRow[];
}

/** Only the named columns of each row (the preset may print more, e.g. ids the oracle also checks elsewhere). */
const pick = (rows: TextRow[], cols: readonly string[]): TextRow[] => rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])));

for (const seed of SEEDS) {
  describe(`oracle, seed ${seed}`, () => {
    let dir = '';
    let db: DuckStore | undefined;
    const duck = (): DuckStore => {
      if (!db) throw new Error('oracle DuckDB not open');
      return db;
    };

    beforeAll(async () => {
      dir = tempDir('rtwh-oracle-');
      const run = await cli(['demo', '--dir', dir, '--seed', String(seed), '--date', DATE]);
      if (run.code !== 0) throw new Error(`rtwh demo --seed ${seed} failed (${run.code}): ${run.stderr}`);
      const busPath = join(dir, '.rtwh', 'bus.db');
      const [odsDb, odsLog] = [await readTopic(busPath, 'ods_db'), await readTopic(busPath, 'ods_log')];
      db = await openDuckDB(':memory:');
      await loadRaw(db, dir, odsDb, odsLog);
    }, TIMEOUT_MS);

    afterAll(() => {
      db?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('the raw day has orders and pages (the oracle is not vacuous)', async () => {
      const [n] = await oracle(duck(), `select count(*)::VARCHAR as details, (select count(*) from day_page)::VARCHAR as pages from day_od`);
      expect(Number(n!.details)).toBeGreaterThan(0);
      expect(Number(n!.pages)).toBeGreaterThan(0);
    });

    test('gmv', async () => {
      const want = await oracle(
        duck(),
        `select '${DATE}' as cur_date,
           coalesce(sum(total), 0)::DECIMAL(38,2)::VARCHAR as gmv,
           coalesce(sum(original), 0)::DECIMAL(38,2)::VARCHAR as original_amount,
           coalesce(sum(activity), 0)::DECIMAL(38,2)::VARCHAR as activity_reduce_amount,
           coalesce(sum(coupon), 0)::DECIMAL(38,2)::VARCHAR as coupon_reduce_amount
         from day_od`,
      );
      expect(await preset(dir, 'gmv')).toEqual(want);
    });

    test('gmv_by_province', async () => {
      const want = await oracle(
        duck(),
        `select d.province_id::VARCHAR as province_id, max(p.name) as province_name,
           sum(d.total)::DECIMAL(38,2)::VARCHAR as order_amount, count(distinct d.order_id)::VARCHAR as order_count
         from day_od d left join dim_province p on p.id = d.province_id
         group by d.province_id
         order by sum(d.total) desc, d.province_id::VARCHAR`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'gmv_by_province')).toEqual(want);
    });

    test('gmv_by_trademark', async () => {
      const want = await oracle(
        duck(),
        `select s.tm_id::VARCHAR as trademark_id, max(t.name) as trademark_name, sum(d.total)::DECIMAL(38,2)::VARCHAR as order_amount
         from day_od d join dim_sku s on s.id = d.sku_id left join dim_tm t on t.id = s.tm_id
         group by s.tm_id
         order by sum(d.total) desc, s.tm_id::VARCHAR`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'gmv_by_trademark')).toEqual(want);
    });

    test('gmv_by_spu', async () => {
      const want = await oracle(
        duck(),
        `select s.spu_id::VARCHAR as spu_id, max(p.name) as spu_name, sum(d.total)::DECIMAL(38,2)::VARCHAR as order_amount
         from day_od d join dim_sku_full s on s.id = d.sku_id left join dim_spu p on p.id = s.spu_id
         group by s.spu_id
         order by sum(d.total) desc, s.spu_id::VARCHAR`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'gmv_by_spu')).toEqual(want);
    });

    test('gmv_by_category', async () => {
      const want = await oracle(
        duck(),
        `with x as (
           select c2.parent as c1_id, c1.name as c1_name, c3.parent as c2_id, c2.name as c2_name,
                  s.category3_id as c3_id, c3.name as c3_name, d.total
           from day_od d join dim_sku_full s on s.id = d.sku_id
             left join dim_c3 c3 on c3.id = s.category3_id
             left join dim_c2 c2 on c2.id = c3.parent
             left join dim_c1 c1 on c1.id = c2.parent)
         select c1_id::VARCHAR as category1_id, max(c1_name) as category1_name, c2_id::VARCHAR as category2_id, max(c2_name) as category2_name,
           c3_id::VARCHAR as category3_id, max(c3_name) as category3_name, sum(total)::DECIMAL(38,2)::VARCHAR as order_amount
         from x
         group by c1_id, c2_id, c3_id
         order by sum(total) desc, c1_id::VARCHAR, c2_id::VARCHAR, c3_id::VARCHAR`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'gmv_by_category')).toEqual(want);
    });

    test('visitors_new_old', async () => {
      // A mid's uv counts under the is_new of its first page of the day.
      const want = await oracle(
        duck(),
        `with firsts as (select mid, arg_min(is_new, n) as is_new from day_page_new group by mid),
           u as (select is_new, count(*) as uv from firsts group by is_new),
           p as (select is_new, count(*) as pv, count(*) filter (where last_page_id is null) as sv, sum(dur) as dur_sum
                 from day_page_new group by is_new)
         select p.is_new, case p.is_new when '1' then 'new' when '0' then 'old' else p.is_new end as visitor,
           coalesce(u.uv, 0)::VARCHAR as uv, p.pv::VARCHAR as pv, p.sv::VARCHAR as sv, p.dur_sum::VARCHAR as dur_sum
         from p left join u using (is_new)
         order by p.is_new desc`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'visitors_new_old')).toEqual(want);
    });

    test('keyword_scores (every keyword)', async () => {
      // Keyword pages: after search or home, item_type keyword; each word of the item counts once per page, source
      // 'search' (weighted as the preset's KEYWORD_SOURCE_WEIGHTS says).
      const want = await oracle(
        duck(),
        `with kp as (
           select j->>'$.page.item' as item from raw_log
           where json_type(json_extract(j, '$.page')) = 'OBJECT'
             and (j->>'$.page.last_page_id') in ('search', 'home') and (j->>'$.page.item_type') = 'keyword'
             and epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000)::DATE = DATE '${DATE}')
         select w.word as keyword, (count(*) * ${KEYWORD_SOURCE_WEIGHTS.search})::VARCHAR as score, count(*)::VARCHAR as keyword_count
         from kp join keyword_word w using (item)
         group by w.word
         order by count(*) desc, w.word`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'keyword_scores', ['--top', String(want.length + 1)])).toEqual(want);
    });

    test('channel_top (every channel)', async () => {
      const want = await oracle(
        duck(),
        `select ch, count(distinct mid)::VARCHAR as uv from day_page group by ch order by count(distinct mid) desc, ch`,
      );
      expect(want.length).toBeGreaterThan(0);
      expect(await preset(dir, 'channel_top', ['--top', String(want.length + 1)])).toEqual(want);
    });

    test('traffic_hourly', async () => {
      const want = await oracle(
        duck(),
        `with firsts as (select mid, min(bj) as bj from day_page group by mid),
           h as (select hour(bj) as hour, count(*) as pv, count(*) filter (where last_page_id is null) as sv from day_page group by 1),
           u as (select hour(bj) as hour, count(*) as uv from firsts group by 1)
         select r.range::VARCHAR as hour, coalesce(h.pv, 0)::VARCHAR as pv, coalesce(u.uv, 0)::VARCHAR as uv, coalesce(h.sv, 0)::VARCHAR as sv
         from range(24) r left join h on h.hour = r.range left join u on u.hour = r.range
         order by r.range`,
      );
      expect(await preset(dir, 'traffic_hourly')).toEqual(want);
    });

    test('user_counts: order_uu, order_new_uu, payment_uu, register_ct', async () => {
      const want = await oracle(
        duck(),
        `select
           (select count(distinct user_id) from day_od)::VARCHAR as order_uu,
           (select count(distinct user_id) from day_od)::VARCHAR as order_new_uu,
           (select count(distinct json_extract_string(data, '$.user_id')) from chg
             where tbl = 'payment_info' and typ = 'update' and json_extract_string(data, '$.payment_status') = '1602'
               and json_exists(old, '$.payment_status') and bj::DATE = DATE '${DATE}')::VARCHAR as payment_uu,
           (select count(*) from ins where tbl = 'user_info' and bj::DATE = DATE '${DATE}')::VARCHAR as register_ct`,
      );
      const got = await preset(dir, 'user_counts');
      expect(pick(got, ['order_uu', 'order_new_uu', 'payment_uu', 'register_ct'])).toEqual(want);
    });

    test('user_counts: payment_new_uu', async () => {
      // A paying user is new on the day when they have no payment success (payment_info update to 1602) before it.
      const want = await oracle(
        duck(),
        `with pay as (
           select data->>'$.user_id' as user_id, bj::DATE as d from chg
           where tbl = 'payment_info' and typ = 'update' and (data->>'$.payment_status') = '1602' and json_exists(old, '$.payment_status'))
         select count(distinct user_id)::VARCHAR as payment_new_uu from pay
         where d = DATE '${DATE}' and user_id not in (select user_id from pay where d < DATE '${DATE}')`,
      );
      expect(pick(await preset(dir, 'user_counts'), ['payment_new_uu'])).toEqual(want);
    });

    test('user_counts: refund_uu, refund_count', async () => {
      // A refund is an order_refund_info insert whose order has an order_info update to 1005 within 5 s of it (either
      // side). refund_count = distinct refunded orders per trademark, category1/2/3, user and 10 s window of the
      // refund's time (rtwh's default --window, which demo uses), summed; refund_uu = distinct refunding users.
      expect(DEFAULT_WINDOW).toBe('10s');
      const want = await oracle(
        duck(),
        `with ri as (
           select data->>'$.id' as id, data->>'$.order_id' as order_id, data->>'$.user_id' as user_id,
                  data->>'$.sku_id' as sku_id, bj
           from ins where tbl = 'order_refund_info'),
         o1005 as (
           select data->>'$.id' as order_id, bj from chg
           where tbl = 'order_info' and typ = 'update' and json_exists(old, '$.order_status') and (data->>'$.order_status') = '1005'),
         r as (
           select distinct ri.id, ri.order_id, ri.user_id, ri.sku_id, ri.bj from ri join o1005 o using (order_id)
           where abs(epoch(o.bj) - epoch(ri.bj)) <= 5 and ri.bj::DATE = DATE '${DATE}'),
         g as (
           select distinct time_bucket(INTERVAL 10 SECOND, r.bj) as w, t.tm_id, c2.parent as c1, c3.parent as c2, s.category3_id as c3,
                  r.user_id, r.order_id
           from r left join dim_sku_full s on s.id = r.sku_id left join dim_sku t on t.id = r.sku_id
             left join dim_c3 c3 on c3.id = s.category3_id left join dim_c2 c2 on c2.id = c3.parent)
         select (select count(distinct user_id) from r)::VARCHAR as refund_uu, (select count(*) from g)::VARCHAR as refund_count`,
      );
      expect(pick(await preset(dir, 'user_counts'), ['refund_uu', 'refund_count'])).toEqual(want);
    });

    test('user_counts: login_uu, back_uu', async () => {
      // A login is a page with a uid after no page or after 'login'; a user counts once a day, and is "back" when
      // their previous login day (any earlier day in the log) is at least 8 days before.
      const want = await oracle(
        duck(),
        `with login as (select uid, bj::DATE as d from page where uid is not null and (last_page_id is null or last_page_id = 'login')),
           today as (select distinct uid from login where d = DATE '${DATE}'),
           prev as (select uid, max(d) as d from login where d < DATE '${DATE}' group by uid)
         select count(*)::VARCHAR as login_uu,
           count(*) filter (where DATE '${DATE}' - p.d >= 8)::VARCHAR as back_uu
         from today t left join prev p using (uid)`,
      );
      expect(pick(await preset(dir, 'user_counts'), ['login_uu', 'back_uu'])).toEqual(want);
    });

    test('user_counts: cart_add_uu', async () => {
      // A cart add is a cart_info insert, or an update raising sku_num; a user counts once a day.
      const want = await oracle(
        duck(),
        `select count(distinct data->>'$.user_id')::VARCHAR as cart_add_uu
         from chg
         where tbl = 'cart_info' and bj::DATE = DATE '${DATE}'
           and (typ = 'insert'
                or (typ = 'update' and json_exists(old, '$.sku_num')
                    and (data->>'$.sku_num')::BIGINT > (old->>'$.sku_num')::BIGINT))`,
      );
      expect(pick(await preset(dir, 'user_counts'), ['cart_add_uu'])).toEqual(want);
    });
  });
}
