/**
 * The raw inputs of a pipeline run as DuckDB relations of the oracle's own, for figures computed independently of
 * rtwh's jobs: the Maxwell changes of ods_db and the app log lines of ods_log, read back from the embedded bus and
 * loaded with every JSON number kept as its own digits (a string: no float on the way).
 *
 * Every relation carries `d`, the Beijing date (UTC+08:00) of its change's / line's ts, so a figure of one day is
 * a `where d = DATE '…'` and a figure that looks back (new users, returning users) reads the earlier days.
 * Used by the correctness oracle (oracle.test.ts) and by the demo's test (test/cmd/demo.test.ts).
 */
import { expect } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { DuckStore } from '../../src/store/duckdb';

/**
 * JSON text with every number token (outside strings) wrapped in quotes, so JSON.parse or DuckDB's JSON reader
 * keep its exact digits.
 */
export function numbersAsStrings(json: string): string {
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

/** Every record value of a bus topic, as text, read from the start with an ephemeral consumer. */
export async function readTopic(busPath: string, topic: string): Promise<string[]> {
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

export const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * Loads the raw inputs into `db` and defines the oracle's relations over them (all values text unless cast):
 * - raw_db(j), raw_log(n, j): the records; n = a log line's position on its topic;
 * - chg(tbl, typ, bj, d, data, old): the Maxwell records (bj = Beijing time of ts, in seconds); ins: the inserts
 *   among them, business events (a bootstrap-insert is state, not an event);
 * - page(n, mid, ch, uid, is_new, last_page_id, page_id, item_type, item, during_time, bj, d): the page lines;
 * - first_visit(mid, d) and page_new(… , is_new fixed, dur): gmall's is_new correction by mid (below);
 * - keyword_word(item, word): the words of each page item (Intl.Segmenter, brand names kept whole; the one step outside SQL);
 * - oi, od, counted_od (an order detail with its order's user and province, on the detail's day);
 * - snap: every row as it first arrived, for the dims: as a snapshot (bootstrap-insert, how `mock db --init --to`
 *   publishes the base data, as cdc's bootstrap does) or as a change (insert);
 * - dim_province, dim_sku (id, tm_id, spu_id, category3_id), dim_tm, dim_spu, dim_c3/c2/c1 (over snap: the base data).
 */
export async function loadRaw(db: DuckStore, dir: string, odsDb: string[], odsLog: string[]): Promise<void> {
  const dbFile = join(dir, 'oracle-ods-db.jsonl');
  const logFile = join(dir, 'oracle-ods-log.jsonl');
  writeFileSync(dbFile, `${odsDb.map(numbersAsStrings).join('\n')}\n`);
  // Each log line with its position on the topic (n): the is_new correction and "a mid's first page" depend on it.
  writeFileSync(logFile, `${odsLog.map((line, n) => `{"n":${n},"v":${numbersAsStrings(line)}}`).join('\n')}\n`);
  // The words of every page item. DuckDB has no Chinese segmenter, so this one step runs here, with the ECMAScript
  // Intl.Segmenter ('zh', word granularity, word-like segments) on the raw log lines — our own call, not rtwh's job
  // code; the counting and scoring stay in SQL.
  // Brand names are words even where the segmenter's dictionary lacks them (华为 → 华 | 为), as gmall's IK keeps them:
  // the tm_name of every base_trademark row in ods_db is kept whole, the text around it segmented.
  const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });
  const brands = new Set<string>();
  for (const line of odsDb) {
    const v = JSON.parse(line) as { table?: unknown; data?: { tm_name?: unknown } };
    if (v.table === 'base_trademark' && typeof v.data?.tm_name === 'string' && v.data.tm_name !== '') brands.add(v.data.tm_name);
  }
  const brandList = [...brands].sort((x, y) => y.length - x.length);
  const wordsOf = (text: string): string[] => {
    for (let i = 0; i < text.length; i++) {
      const b = brandList.find((name) => text.startsWith(name, i));
      if (b !== undefined) return [...wordsOf(text.slice(0, i)), b, ...wordsOf(text.slice(i + b.length))];
    }
    return [...segmenter.segment(text)].filter((seg) => seg.isWordLike).map((seg) => seg.segment);
  };
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
    for (const word of wordsOf(item)) wordRows.push(JSON.stringify({ item, word }));
  }
  writeFileSync(wordsFile, `${wordRows.join('\n')}\n`);
  // A Beijing calendar time from epoch ms: epoch_ms gives a plain TIMESTAMP, shifted by +08:00.
  await db.query(`
create table raw_db as select json as j from read_json_objects(${sqlText(dbFile)}, format = 'newline_delimited');
create table raw_log as
  select (json->>'$.n')::BIGINT as n, json->'$.v' as j from read_json_objects(${sqlText(logFile)}, format = 'newline_delimited');
create table keyword_word as
  select json->>'$.item' as item, json->>'$.word' as word from read_json_objects(${sqlText(wordsFile)}, format = 'newline_delimited');
create table chg as
  select j->>'$.table' as tbl, j->>'$.type' as typ, epoch_ms((j->>'$.ts')::BIGINT * 1000 + 8 * 3600 * 1000) as bj,
         epoch_ms((j->>'$.ts')::BIGINT * 1000 + 8 * 3600 * 1000)::DATE as d, j->'$.data' as data, j->'$.old' as old
  from raw_db;
create view ins as select * from chg where typ = 'insert';
create view snap as select * from chg where typ in ('insert', 'bootstrap-insert');
create table page as
  select n, j->>'$.common.mid' as mid, j->>'$.common.ch' as ch, nullif(j->>'$.common.uid', '') as uid,
         j->>'$.common.is_new' as is_new, j->>'$.page.last_page_id' as last_page_id, j->>'$.page.page_id' as page_id,
         j->>'$.page.item_type' as item_type, j->>'$.page.item' as item, j->>'$.page.during_time' as during_time,
         epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as bj, epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000)::DATE as d
  from raw_log where json_type(json_extract(j, '$.page')) = 'OBJECT';
-- gmall's is_new correction (by mid): the first visit day is the day of the mid's first start/page line when that
-- line says is_new '1', else the day before it; a later line saying '1' on another day than that is old ('0').
create table first_visit as
  select mid, case when arg_min(is_new, n) = '1' then min_by(d, n) else min_by(d, n) - 1 end as d
  from (select n, j->>'$.common.mid' as mid, j->>'$.common.is_new' as is_new,
               epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000)::DATE as d
        from raw_log
        where coalesce(json_type(json_extract(j, '$.page')) = 'OBJECT', false) <> coalesce(json_type(json_extract(j, '$.start')) = 'OBJECT', false))
  group by mid;
create table page_new as
  select p.n, p.mid, p.ch, p.is_new as raw_is_new, case when p.is_new = '1' and f.d <> p.d then '0' else p.is_new end as is_new,
         p.last_page_id, coalesce(try_cast(p.during_time as BIGINT), 0) as dur, p.bj, p.d
  from page p join first_visit f using (mid);
create view oi as
  select (data->>'$.id') as order_id, (data->>'$.user_id') as user_id, (data->>'$.province_id') as province_id
  from ins where tbl = 'order_info';
create view od as
  select (data->>'$.id') as detail_id, (data->>'$.order_id') as order_id, (data->>'$.sku_id') as sku_id,
         (data->>'$.split_total_amount')::DECIMAL(16,2) as total,
         (data->>'$.order_price')::DECIMAL(16,2) * (data->>'$.sku_num')::BIGINT as original,
         (data->>'$.split_activity_amount')::DECIMAL(16,2) as activity,
         (data->>'$.split_coupon_amount')::DECIMAL(16,2) as coupon,
         bj, d
  from ins where tbl = 'order_detail';
create table counted_od as select od.*, oi.user_id, oi.province_id from od join oi using (order_id);
create view dim_province as select data->>'$.id' as id, data->>'$.name' as name from snap where tbl = 'base_province';
create view dim_sku as
  select data->>'$.id' as id, data->>'$.tm_id' as tm_id, data->>'$.spu_id' as spu_id, data->>'$.category3_id' as category3_id
  from snap where tbl = 'sku_info';
create view dim_tm as select data->>'$.id' as id, data->>'$.tm_name' as name from snap where tbl = 'base_trademark';
create view dim_spu as select data->>'$.id' as id, data->>'$.spu_name' as name from snap where tbl = 'spu_info';
create view dim_c3 as select data->>'$.id' as id, data->>'$.name' as name, data->>'$.category2_id' as parent from snap where tbl = 'base_category3';
create view dim_c2 as select data->>'$.id' as id, data->>'$.name' as name, data->>'$.category1_id' as parent from snap where tbl = 'base_category2';
create view dim_c1 as select data->>'$.id' as id, data->>'$.name' as name from snap where tbl = 'base_category1';
`);
}

export type TextRow = Record<string, string | null>;

/** Rows of an oracle query, every column cast to text by the SQL itself. */
export async function textRows(db: DuckStore, sql: string): Promise<TextRow[]> {
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
