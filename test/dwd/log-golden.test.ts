/**
 * Golden test of `dwd log`: a seeded mock day from the real generator (`rtwh mock log`, in-process) through the
 * job (runInMemory), compared for EVERY output with an independent computation in DuckDB SQL over the generated
 * file (read_text + the built-in json functions; no extension is downloaded). The SQL states each rule in closed
 * form instead of replaying state:
 *   - is_new: a mid's first-visit state is set by its FIRST line only (is_new "1" → that day, else the day
 *     before) and never changes afterwards, so a line's is_new "1" becomes "0" iff it is not the mid's first
 *     line and that date differs from its own day;
 *   - unique visitor: row_number() = 1 per (mid, Beijing day) among page lines;
 *   - user jump: a session start is a jump iff its next page by ts (same mid) is missing, ≥ 10 s later, or
 *     another session start.
 * Records are compared as sets of (key, ts, canonical JSON with sorted keys).
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dwdLogJob } from '../../src/dwd/log';
import { inputRecords, runInMemory } from '../../src/stream/engine';
import { openDuckDB } from '../../src/store/duckdb';
import { cli, tempDir } from '../helpers/cli';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

const row = (key: string | null, ts: number, json: string): string => `${key}\t${ts}\t${JSON.stringify(canonical(JSON.parse(json)))}`;

const sqlLit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The expected records of every output, by output name, computed by DuckDB over the log file. */
async function expectedBySql(file: string): Promise<Record<string, string[]>> {
  const db = await openDuckDB(':memory:', { config: { threads: '1' } });
  try {
    await db.query(`
      create table lines as
        select g.i as i, t.l[g.i]::JSON as j
        from (select string_split(content, chr(10)) as l from read_text(${sqlLit(file)})) t, generate_series(1, len(t.l)) g(i)
        where t.l[g.i] <> '';
      create table base as
        select i, j,
          j->>'$.common.mid' as mid,
          (j->>'$.ts')::BIGINT as ts,
          j->>'$.common.is_new' as is_new,
          (j->'$.err') is not null and json_type(j, '$.err') <> 'NULL' as has_err,
          (j->'$.start') is not null as is_start,
          (j->'$.page') is not null as is_page,
          coalesce(j->>'$.page.last_page_id', '') = '' as session_start,
          cast(epoch_ms((j->>'$.ts')::BIGINT + 8 * 3600 * 1000) as DATE) as day
        from lines;
      create table firsts as
        select *,
          first_value(is_new) over w as first_is_new,
          first_value(day) over w as first_day,
          row_number() over w as n
        from base window w as (partition by mid order by i);
      create table fixed as
        select *,
          case when is_new = '1' and n > 1 and (case when first_is_new = '1' then first_day else first_day - 1 end) <> day
               then json_merge_patch(j, '{"common":{"is_new":"0"}}') else j end as fj
        from firsts;
      create table pages as
        select i, mid, ts, day, session_start, json_merge_patch(fj, '{"err":null,"displays":null,"actions":null}') as rec
        from fixed where is_page;
    `);
    const q = async (sql: string): Promise<string[]> => {
      const res = await db.query(sql);
      return res.rows.map((r) => row(r[0] as string, Number(r[1]), r[2] as string));
    };
    return {
      err: await q(`select mid, ts, fj from fixed where has_err`),
      start: await q(`select mid, ts, json_merge_patch(fj, '{"err":null}') from fixed where is_start`),
      page: await q(`select mid, ts, rec from pages`),
      display: await q(`
        select mid, ts, json_object('common', fj->'$.common', 'page', fj->'$.page', 'display', d, 'ts', ts)
        from (select mid, ts, fj, unnest(json_extract(fj, '$.displays[*]')) as d from fixed where is_page)`),
      action: await q(`
        select mid, (a->>'$.ts')::BIGINT, json_object('common', fj->'$.common', 'page', fj->'$.page', 'action', a)
        from (select mid, fj, unnest(json_extract(fj, '$.actions[*]')) as a from fixed where is_page)`),
      unique_visitor: await q(`
        select mid, ts, rec from (select *, row_number() over (partition by mid, day order by i) as k from pages) where k = 1`),
      user_jump: await q(`
        select mid, ts, rec from (
          select *, lead(ts) over w as next_ts, lead(session_start) over w as next_start
          from pages window w as (partition by mid order by ts, i))
        where session_start and not (next_ts is not null and next_ts - ts < 10000 and not next_start)`),
    };
  } finally {
    db.close();
  }
}

async function golden(args: string[]): Promise<{ lines: number; counts: Record<string, number>; counters: Record<string, number> }> {
  const dir = tempDir('rtwh-dwd-log-');
  const gen = await cli(['mock', 'log', '--date', '2025-01-14', '--out', dir, ...args], { cwd: dir });
  expect(gen.code).toBe(0);
  expect(gen.stderr).toContain('wrote ');
  const files = readdirSync(dir).filter((f) => f.startsWith('app.'));
  expect(files).toEqual(['app.2025-01-14.log']);
  const file = join(dir, files[0]!);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);

  const r = await runInMemory(dwdLogJob, inputRecords('ods_log', 'ods_log', lines), { batch: 1000 });
  expect(r.deadLetters).toEqual([]);
  expect(r.counters.user_jump_late ?? 0).toBe(0);
  const got: Record<string, string[]> = {};
  for (const o of dwdLogJob.outputs) got[o.name] = [];
  for (const o of r.outputs) got[o.output]!.push(row(o.key, o.ts, o.value));

  const want = await expectedBySql(file);
  const counts: Record<string, number> = {};
  for (const name of Object.keys(got)) {
    expect({ name, records: got[name]!.sort() }).toEqual({ name, records: want[name]!.sort() });
    counts[name] = got[name]!.length;
  }
  if (process.env.RTWH_GOLDEN_VERBOSE) console.log(args.join(' '), lines.length, counts, r.counters);
  return { lines: lines.length, counts, counters: r.counters };
}

describe('dwd log golden: the job vs DuckDB SQL over a generated day', () => {
  test('2022 shape, seed 3, generator defaults', async () => {
    const { lines, counts } = await golden(['--seed', '3']);
    expect(lines).toBeGreaterThan(1000);
    for (const n of ['start', 'page', 'display', 'action', 'err', 'unique_visitor', 'user_jump']) expect(counts[n]).toBeGreaterThan(0);
  }, 60_000);

  test('2022 shape, few devices and many sessions: is_new corrections, repeat visitors, overlapping sessions', async () => {
    const { counts, counters } = await golden(['--seed', '11', '--startup-count', '3000', '--max-mid', '300']);
    expect(counts.unique_visitor).toBeLessThanOrEqual(300);
    expect(counters.is_new_fixed).toBeGreaterThan(100);
    expect(counts.user_jump).toBeGreaterThan(0);
  }, 60_000);

  test('2023 shape (sid, refer_id, pos_seq)', async () => {
    const { counts, counters } = await golden(['--seed', '5', '--format', '2023', '--startup-count', '1500', '--max-mid', '200']);
    expect(counts.display).toBeGreaterThan(0);
    expect(counters.is_new_fixed).toBeGreaterThan(0);
  }, 60_000);
});
