import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dwdLogJob } from '../../src/dwd/log';
import {
  dwsTradeCartAddUuJob,
  dwsTrafficHomeDetailJob,
  dwsTrafficSourceKeywordJob,
  dwsTrafficVcChArIsNewJob,
  dwsUserLoginJob,
  dwsUserRegisterJob,
  splitKeyword,
} from '../../src/dws/traffic';
import { Engine, inputRecords, resolveOptions, runInMemory, type Checkpoint } from '../../src/stream/engine';
import type { JobSpec } from '../../src/stream/types';
import { openDuckDB } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';

const T0 = Date.UTC(2025, 0, 13, 16, 0, 0); // 2025-01-14 00:00:00 Beijing
const DAY = 86_400_000;

interface Page {
  mid?: string;
  uid?: string | null;
  vc?: string;
  ch?: string;
  ar?: string;
  is_new?: string;
  page_id?: string;
  last?: string | null;
  during?: number;
  item?: string;
  item_type?: string;
}

const page = (ts: number, p: Page): string =>
  JSON.stringify({
    common: { ar: p.ar ?? '11', ch: p.ch ?? 'xiaomi', is_new: p.is_new ?? '1', mid: p.mid ?? 'mid_1', uid: p.uid ?? null, vc: p.vc ?? 'v2.1.134' },
    page: { during_time: p.during ?? 1000, page_id: p.page_id ?? 'home', ...(p.last ? { last_page_id: p.last } : {}), ...(p.item ? { item: p.item, item_type: p.item_type ?? 'keyword' } : {}) },
    ts,
  });

async function rows(spec: JobSpec, input: string, values: string[], batch?: number): Promise<Record<string, unknown>[]> {
  const r = await runInMemory(spec, inputRecords(input, 'x', values), batch ? { batch } : {});
  expect(r.deadLetters).toEqual([]);
  return r.outputs.map((o) => {
    const v = JSON.parse(o.value) as Record<string, unknown>;
    expect(o.output).toBe(spec.outputs[0]!.name);
    return v;
  });
}

describe('dws traffic_vc_ch_ar_is_new', () => {
  test('uv per mid per day, sv = no last page, pv, dur_sum; grouped by vc/ch/ar/is_new', async () => {
    const out = await rows(dwsTrafficVcChArIsNewJob, 'page', [
      page(T0 + 1000, { mid: 'a', during: 100 }),
      page(T0 + 2000, { mid: 'a', last: 'home', page_id: 'good_detail', during: 200 }),
      page(T0 + 3000, { mid: 'b', ch: 'oppo', during: 300 }),
      page(T0 + 11_000, { mid: 'a', during: 5 }), // next window, same day: no uv, a new session
      page(T0 + DAY + 1000, { mid: 'a', last: 'home', during: 7 }), // next day: uv again
    ]);
    expect(out).toEqual([
      { stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', vc: 'v2.1.134', ch: 'oppo', ar: '11', is_new: '1', uv_ct: 1, sv_ct: 1, pv_ct: 1, dur_sum: 300 },
      { stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', vc: 'v2.1.134', ch: 'xiaomi', ar: '11', is_new: '1', uv_ct: 1, sv_ct: 1, pv_ct: 2, dur_sum: 300 },
      { stt: '2025-01-14 00:00:10', edt: '2025-01-14 00:00:20', cur_date: '2025-01-14', vc: 'v2.1.134', ch: 'xiaomi', ar: '11', is_new: '1', uv_ct: 0, sv_ct: 1, pv_ct: 1, dur_sum: 5 },
      { stt: '2025-01-15 00:00:00', edt: '2025-01-15 00:00:10', cur_date: '2025-01-15', vc: 'v2.1.134', ch: 'xiaomi', ar: '11', is_new: '1', uv_ct: 1, sv_ct: 0, pv_ct: 1, dur_sum: 7 },
    ]);
  });

  test('bad records go to the dead-letter topic, the rest is counted', async () => {
    const r = await runInMemory(dwsTrafficVcChArIsNewJob, inputRecords('page', 'x', ['nope', '{"common":{},"page":{},"ts":"x"}', page(T0, {})]));
    expect(r.deadLetters.map((d) => d.reason)).toEqual(['(record): not JSON', 'ts: expected epoch milliseconds, got string "x"']);
    expect(r.outputs.length).toBe(1);
  });

  test('a time on page that is not a whole number of ms within a day is a dead letter naming it, not summed (one 1e20 stopped the sink for good)', async () => {
    const withDuring = (during: unknown, mid: string) => JSON.stringify({ common: { ar: '11', ch: 'xiaomi', is_new: '1', mid, vc: 'v1' }, page: { page_id: 'home', during_time: during }, ts: T0 + 1000 });
    const r = await runInMemory(
      dwsTrafficVcChArIsNewJob,
      inputRecords('page', 'x', [withDuring(1e20, 'a'), withDuring(-5, 'b'), withDuring('abc', 'c'), withDuring(1.5, 'd'), withDuring(86_400_001, 'e'), withDuring(4000, 'f'), withDuring('250', 'g'), withDuring(null, 'h')]),
    );
    expect(r.deadLetters.map((d) => d.reason)).toEqual([
      'page.during_time: expected a whole number of ms from 0 to 86400000, got 100000000000000000000',
      'page.during_time: expected a whole number of ms from 0 to 86400000, got -5',
      'page.during_time: expected a whole number of ms from 0 to 86400000, got "abc"',
      'page.during_time: expected a whole number of ms from 0 to 86400000, got 1.5',
      'page.during_time: expected a whole number of ms from 0 to 86400000, got 86400001',
    ]);
    const out = r.outputs.map((o) => JSON.parse(o.value) as { pv_ct: number; dur_sum: number });
    expect(out.map((x) => [x.pv_ct, x.dur_sum])).toEqual([[3, 4250]]);
  });
  test('uv: a mid counted once per day across batches and a restart (state read back), again once its day state expired', async () => {
    const recs = (vals: [number, string][], from: number) => inputRecords('page', 'x', vals.map(([ts, mid]) => page(ts, { mid }))).map((r, i) => ({ ...r, offset: from + i }));
    const uvOf = (cp: Checkpoint) => cp.outputs.map((o) => JSON.parse(o.value) as { stt: string; uv_ct: number; pv_ct: number }).map((v) => [v.stt, v.uv_ct, v.pv_ct]);
    const a = new Engine(dwsTrafficVcChArIsNewJob, resolveOptions(dwsTrafficVcChArIsNewJob), { now: () => 0 });
    await a.processBatch(recs([[T0 + 1000, 'a'], [T0 + 2000, 'a']], 0));
    a.advance();
    const cp1 = a.checkpoint();
    await a.processBatch(recs([[T0 + 3000, 'a'], [T0 + 4000, 'b']], 2));
    a.advance();
    const cp2 = a.checkpoint();
    // A new process: the uv state comes back from the checkpoints.
    const b = new Engine(dwsTrafficVcChArIsNewJob, resolveOptions(dwsTrafficVcChArIsNewJob), { now: () => 0 });
    b.restore([...cp1.state, ...cp2.state], [...cp1.timersAdded, ...cp2.timersAdded], cp2.partitionTimes, cp2.watermark);
    await b.processBatch(recs([[T0 + 5000, 'a'], [T0 + 6000, 'c']], 4));
    b.advance();
    // Next day for a, b; then far enough on that their first-day state expired, and a again in that late day.
    await b.processBatch(recs([[T0 + DAY + 1000, 'a'], [T0 + DAY + 2000, 'a']], 6));
    b.advance();
    await b.processBatch(recs([[T0 + 2 * DAY + 20_000, 'b'], [T0 + 2 * DAY + 30_000, 'a'], [T0 + 2 * DAY + 30_001, 'a']], 8));
    b.drain();
    expect([...uvOf(b.checkpoint())]).toEqual([
      ['2025-01-14 00:00:00', 3, 6], // a (four pages, one of them after the restart), b, c
      ['2025-01-15 00:00:00', 1, 2],
      ['2025-01-16 00:00:20', 1, 1],
      ['2025-01-16 00:00:30', 1, 2],
    ]);
    expect(a.counters.earlier_day ?? 0).toBe(0);
  });
});

describe('dws traffic_source_keyword', () => {
  test('Intl.Segmenter splits Chinese keywords into words', () => {
    expect(splitKeyword('小米手机')).toEqual(['小米', '手机']);
    expect(splitKeyword('iphone 15 手机')).toEqual(['iphone', '15', '手机']);
  });

  test('brand names the segmenter’s dictionary lacks stay whole, and the text around them is split as before', () => {
    expect(splitKeyword('华为')).toEqual(['华为']);
    expect(splitKeyword('华为mate60')).toEqual(['华为', 'mate60']);
    expect(splitKeyword('华为手机')).toEqual(['华为', '手机']);
    expect(splitKeyword('欧莱雅口红')).toEqual(['欧莱雅', '口红']);
    expect(splitKeyword('买索芙特和香奈儿')).toEqual(['买', '索芙特', '和', '香奈儿']);
    expect(splitKeyword('小米盒子')).toEqual(['小米', '盒子']);
    expect(splitKeyword('')).toEqual([]);
  });

  test('pages after search or home with item_type keyword; words counted; source search', async () => {
    const out = await rows(dwsTrafficSourceKeywordJob, 'page', [
      page(T0 + 1000, { last: 'search', page_id: 'good_list', item: '小米手机' }),
      page(T0 + 2000, { last: 'home', page_id: 'good_list', item: '手机' }),
      page(T0 + 3000, { last: 'good_detail', page_id: 'good_list', item: '手机' }), // not after search/home
      page(T0 + 4000, { last: 'search', page_id: 'good_list', item: '手机', item_type: 'sku_id' }), // not a keyword
    ]);
    expect(out.map((v) => [v.source, v.keyword, v.keyword_count])).toEqual([
      ['search', '小米', 1],
      ['search', '手机', 2],
    ]);
  });
});

describe('dws traffic_home_detail', () => {
  test("a mid's first home and first good_detail page per day", async () => {
    const out = await rows(dwsTrafficHomeDetailJob, 'page', [
      page(T0 + 1000, { mid: 'a', page_id: 'home' }),
      page(T0 + 2000, { mid: 'a', page_id: 'home' }),
      page(T0 + 3000, { mid: 'a', page_id: 'good_detail' }),
      page(T0 + 4000, { mid: 'b', page_id: 'good_detail' }),
      page(T0 + 5000, { mid: 'b', page_id: 'cart' }),
      page(T0 + 20_000, { mid: 'a', page_id: 'home' }), // same day: nothing (no window row at all)
      page(T0 + DAY, { mid: 'a', page_id: 'home' }),
    ]);
    expect(out.map((v) => [v.stt, v.home_uv_ct, v.good_detail_uv_ct])).toEqual([
      ['2025-01-14 00:00:00', 1, 2],
      ['2025-01-15 00:00:00', 1, 0],
    ]);
  });
});

describe('dws user_login', () => {
  test('uu = first login of a uid per day; back = previous login day ≥ 8 days before', async () => {
    const out = await rows(dwsUserLoginJob, 'page', [
      page(T0 + 1000, { uid: 'u1' }), // first ever: uu
      page(T0 + 2000, { uid: 'u1', last: 'login' }), // same day: no
      page(T0 + 3000, { uid: 'u2', last: 'home' }), // not a login page
      page(T0 + 4000, { uid: null }), // no uid
      page(T0 + 7 * DAY + 1000, { uid: 'u1' }), // 7 days later: uu, not back
      page(T0 + 7 * DAY + 2000, { uid: 'u3', last: 'login' }),
      page(T0 + 15 * DAY + 1000, { uid: 'u1' }), // 8 days after the last login: back
      page(T0 + 15 * DAY + 2000, { uid: 'u3' }), // 8 days too
    ]);
    expect(out.map((v) => [v.cur_date, v.back_ct, v.uu_ct])).toEqual([
      ['2025-01-14', 0, 1],
      ['2025-01-21', 0, 2],
      ['2025-01-29', 2, 2],
    ]);
  });
});

describe('dws user_register and trade_cart_add_uu', () => {
  test('registrations per window', async () => {
    const out = await rows(dwsUserRegisterJob, 'register', [1, 2, 3].map((i) => JSON.stringify({ user_id: i, date_id: '2025-01-14', create_time: '2025-01-14 00:00:01', ts: T0 + i * 4000 })));
    expect(out.map((v) => [v.stt, v.register_ct])).toEqual([
      ['2025-01-14 00:00:00', 2],
      ['2025-01-14 00:00:10', 1],
    ]);
  });

  test("a user's first cart add per day", async () => {
    const add = (ts: number, user: number) => JSON.stringify({ id: ts, user_id: user, sku_id: 1, sku_num: 1, ts });
    const out = await rows(dwsTradeCartAddUuJob, 'cart_add', [add(T0 + 1000, 7), add(T0 + 2000, 7), add(T0 + 3000, 8), add(T0 + 15_000, 7), add(T0 + DAY + 1, 7)]);
    expect(out.map((v) => [v.stt, v.cart_add_uu_ct])).toEqual([
      ['2025-01-14 00:00:00', 2],
      ['2025-01-15 00:00:00', 1],
    ]);
  });
});

describe('golden: a generated day through dwd log, then dws traffic windows = DuckDB SQL over the page records', () => {
  test('vc/ch/ar/is_new, home/detail and login windows', async () => {
    const dir = tempDir('rtwh-dws-golden-');
    const gen = await cli(['mock', 'log', '--date', '2025-01-14', '--out', dir, '--seed', '7'], { cwd: dir });
    expect(gen.code).toBe(0);
    const lines: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.startsWith('app.')).sort()) lines.push(...readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    const dwd = await runInMemory(dwdLogJob, inputRecords('ods_log', 'ods_log', lines), { batch: 1000 });
    const pages = dwd.outputs.filter((o) => o.output === 'page').map((o) => o.value);
    expect(pages.length).toBeGreaterThan(500);

    // One batch: nothing is late, so every page counts (the SQL has no notion of a watermark).
    const got = async (spec: JobSpec) => (await runInMemory(spec, inputRecords('page', 'dwd_traffic_page', pages))).outputs.map((o) => `${o.key}\t${o.value}`).sort();

    const pageFile = join(dir, 'pages.jsonl');
    await Bun.write(pageFile, pages.join('\n') + '\n');
    const db = await openDuckDB(':memory:', { config: { threads: '1' } });
    try {
      await db.query(`
        create table p as
          select row_number() over () as i, j->>'$.common.mid' mid, j->>'$.common.uid' uid, j->>'$.common.vc' vc, j->>'$.common.ch' ch,
                 j->>'$.common.ar' ar, j->>'$.common.is_new' is_new, j->>'$.page.page_id' page_id, j->>'$.page.last_page_id' last_page_id,
                 coalesce((j->>'$.page.during_time')::BIGINT, 0) during, (j->>'$.ts')::BIGINT ts,
                 cast(epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as DATE) bday,
                 (j->>'$.ts')::BIGINT // 10000 * 10000 as w
          from (select json(column0) j from read_csv(${`'${pageFile}'`}, header = false, columns = {'column0': 'VARCHAR'}, delim = '\\x01', quote = '', escape = ''));
        create macro fmt(ms) as strftime(epoch_ms(ms + 8 * 3600 * 1000), '%Y-%m-%d %H:%M:%S');
      `);
      const sqlRows = async (sql: string) => (await db.query(sql)).rows.map((r) => `${r[0]}\t${r[1]}`).sort();

      const vc = await sqlRows(`
        with f as (select *, row_number() over (partition by mid, bday order by i) = 1 as first from p)
        select fmt(w) || '|' || fmt(w + 10000) || '|' || vc || '|' || ch || '|' || ar || '|' || is_new,
               to_json({stt: fmt(w), edt: fmt(w + 10000), cur_date: fmt(w)[1:10], vc: vc, ch: ch, ar: ar, is_new: is_new,
                        uv_ct: count(*) filter (where first), sv_ct: count(*) filter (where last_page_id is null), pv_ct: count(*), dur_sum: sum(during)})::VARCHAR
        from f group by w, vc, ch, ar, is_new`);
      expect(await got(dwsTrafficVcChArIsNewJob)).toEqual(vc);

      const hd = await sqlRows(`
        with f as (select *, row_number() over (partition by mid, page_id, bday order by i) = 1 as first from p where page_id in ('home', 'good_detail'))
        select fmt(w) || '|' || fmt(w + 10000),
               to_json({stt: fmt(w), edt: fmt(w + 10000), cur_date: fmt(w)[1:10],
                        home_uv_ct: count(*) filter (where page_id = 'home'), good_detail_uv_ct: count(*) filter (where page_id = 'good_detail')})::VARCHAR
        from f where first group by w`);
      expect(hd.length).toBeGreaterThan(10);
      expect(await got(dwsTrafficHomeDetailJob)).toEqual(hd);

      // One generated day: a uid's first login page of the day counts, none is back.
      const login = await sqlRows(`
        with f as (select *, row_number() over (partition by uid, bday order by i) = 1 as first from p
                   where uid is not null and (last_page_id is null or last_page_id = 'login'))
        select fmt(w) || '|' || fmt(w + 10000),
               to_json({stt: fmt(w), edt: fmt(w + 10000), cur_date: fmt(w)[1:10], back_ct: 0, uu_ct: count(*)})::VARCHAR
        from f where first group by w`);
      expect(login.length).toBeGreaterThan(5);
      expect(await got(dwsUserLoginJob)).toEqual(login);
    } finally {
      db.close();
    }
  }, 60_000);
});
