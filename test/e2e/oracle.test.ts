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
 *   day's payment_info updates to 1602; registrations = user_info inserts of the day.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
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
  writeFileSync(logFile, `${odsLog.map(numbersAsStrings).join('\n')}\n`);
  // A Beijing calendar time from epoch ms: epoch_ms gives a plain TIMESTAMP, shifted by +08:00.
  await db.query(`
create table raw_db as select json as j from read_json_objects(${sqlText(dbFile)}, format = 'newline_delimited');
create table raw_log as select json as j from read_json_objects(${sqlText(logFile)}, format = 'newline_delimited');
create view chg as
  select j->>'$.table' as tbl, j->>'$.type' as typ, epoch_ms((j->>'$.ts')::BIGINT * 1000 + 8 * 3600 * 1000) as bj,
         j->'$.data' as data, j->'$.old' as old
  from raw_db;
create view ins as select * from chg where typ = 'insert';
create view page as
  select j->>'$.common.mid' as mid, j->>'$.common.ch' as ch, j->>'$.page.last_page_id' as last_page_id,
         epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as bj
  from raw_log where json_type(json_extract(j, '$.page')) = 'OBJECT';
create view day_page as select * from page where bj::DATE = DATE '${DATE}';
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
  });
}
