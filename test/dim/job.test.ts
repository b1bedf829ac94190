/**
 * `rtwh run dim` on the embedded path (sqlite bus, sqlite dim store, the standard rules): a mock day goes through
 * the job and every dim table must equal the projection of its source table — computed here independently, by
 * folding the topic's Maxwell records (insert/update/delete) per primary key.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus, BusRecord } from '../../src/bus/types';
import { DLQ_HEADER } from '../../src/bus/dead-letter';
import { standardRules } from '../../src/dim/config';
import { openDimStore } from '../../src/dim/store';
import type { DimRow, DimStore, TableProcess } from '../../src/dim/types';
import { cli, tempDir } from '../helpers/cli';
import { readAll } from '../helpers/bus';

type Table = Map<string, DimRow>;


/** A JSON number's source text, so 4988.00 stays "4988.00" as MySQL prints it. */
function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Maxwell JSON with numbers kept as their source text. */
function parseKeepingNumbers(s: string): Record<string, unknown> {
  return JSON.parse(s, (_k, v: unknown, ctx?: { source?: string }) => (typeof v === 'number' && ctx?.source !== undefined ? new NumberText(ctx.source) : v) as unknown) as Record<string, unknown>;
}

class NumberText {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

function cell(v: unknown): string | null {
  return v instanceof NumberText ? v.text : textOf(v);
}

/** The oracle: dim tables as the projection of the source rows the records describe. */
function expectedTables(records: BusRecord[], rules: TableProcess[], database: string): Map<string, Table> {
  const byTable = new Map(rules.map((r) => [r.sourceTable, r]));
  const out = new Map<string, Table>(rules.map((r) => [r.sinkTable, new Map()]));
  for (const r of records) {
    let m: Record<string, unknown>;
    try {
      m = parseKeepingNumbers(r.value!.toString());
    } catch {
      continue;
    }
    if (m.database !== database) continue;
    const rule = byTable.get(String(m.table));
    if (!rule) continue;
    const data = m.data as Record<string, unknown> | undefined;
    if (!data) continue;
    const t = out.get(rule.sinkTable)!;
    const id = cell(data[rule.sinkPk]);
    if (id === null) continue;
    if (m.type === 'delete') {
      t.delete(id);
    } else if (m.type === 'insert' || m.type === 'update' || m.type === 'bootstrap-insert') {
      const old = m.old as Record<string, unknown> | undefined;
      if (old && rule.sinkPk in old) t.delete(cell(old[rule.sinkPk])!);
      const row: DimRow = {};
      for (const c of rule.sinkColumns) row[c] = cell(data[c]);
      t.set(id, row);
    }
  }
  return out;
}

async function actualTables(store: DimStore, rules: TableProcess[]): Promise<Map<string, Table>> {
  const out = new Map<string, Table>();
  for (const r of rules) {
    const rows = await store.scan(r.sinkTable);
    out.set(r.sinkTable, new Map(rows.map((row) => [row[r.sinkPk]!, row])));
  }
  return out;
}

function sorted(t: Table): [string, DimRow][] {
  return [...t.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

let dir: string;
let busUrl: string;
let bus: Bus;
const rules = standardRules();

beforeAll(async () => {
  dir = tempDir('rtwh-dim-');
  busUrl = `sqlite:${join(dir, 'bus.db')}`;
  const mock = await cli(['mock', 'db', '--to', 'ods_db', '--bus', busUrl, '--date', '2025-01-14', '--seed', '11', '--init', '--partitions', '3'], { cwd: dir });
  expect(mock.stderr).toContain('wrote');
  expect(mock.code).toBe(0);
  bus = await openBus(busUrl);
});

afterAll(async () => {
  await bus.close();
});

describe('run dim on the embedded path', () => {
  test('a mock day: every dim table equals the projection of its source table', async () => {
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle'], { cwd: dir });
    expect(run.stderr).toContain('routed');
    expect(run.code).toBe(0);
    // the base data's 17 bootstraps: named in a line per batch, not a line per start and complete record
    const lines = run.stderr.split('\n');
    expect(lines.filter((l) => /bootstrap-(start|complete)/.test(l))).toEqual([]);
    const named = lines.filter((l) => l.startsWith('dim: bootstrap complete: ')).join(' ');
    expect(named).toContain('gmall.base_region');
    expect(named).toMatch(/gmall\.activity_info|\+\d+ more/);
    const store = await openDimStore(`sqlite:${join(dir, '.rtwh', 'dim.db')}`, { cwd: dir });
    try {
      const want = expectedTables(await readAll(bus, 'ods_db'), rules, 'gmall');
      const got = await actualTables(store, rules);
      let rows = 0;
      for (const r of rules) {
        expect({ table: r.sinkTable, rows: sorted(got.get(r.sinkTable)!) }).toEqual({ table: r.sinkTable, rows: sorted(want.get(r.sinkTable)!) });
        rows += want.get(r.sinkTable)!.size;
      }
      expect(want.get('dim_user_info')!.size).toBeGreaterThan(1000);
      expect(want.get('dim_base_province')!.size).toBe(34);
      expect(rows).toBeGreaterThan(1500);
      // A decimal keeps its digits as MySQL prints them.
      const amounts = [...got.get('dim_activity_rule')!.values()].map((r) => r.condition_amount).filter((v) => v !== null);
      expect(amounts.length).toBeGreaterThan(0);
      for (const v of amounts) expect(v).toMatch(/^\d+\.\d\d$/);
    } finally {
      await store.close();
    }
  });

  test('a second run routes nothing: the offsets are stored with the rows', async () => {
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { records: number };
    expect(summary.records).toBe(0);
  });

  test('bad records go to the dead-letter topic with their reason; the good ones around them are routed', async () => {
    const p = await bus.producer();
    const good = (id: number, name: string) => JSON.stringify({ database: 'gmall', table: 'base_trademark', type: 'insert', ts: 1736784000, xid: 1, commit: true, data: { id, tm_name: name, logo_url: null } });
    await p.send('ods_db', [
      { value: good(9001, 'before bad') },
      { value: '{"database":"gmall","table":"base_trademark","type":"insert","ts":17' },
      { value: JSON.stringify({ database: 'gmall', table: 'base_trademark', type: 'insert', ts: 1736784000, xid: 2, commit: true, data: { tm_name: 'no id' } }) },
      { value: JSON.stringify({ common: { mid: 'mid_1' }, page: { page_id: 'home' }, ts: 1736784000000 }) },
      { value: good(9002, 'after bad') },
    ]);
    await p.close();
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { records: number; dead_letters: number };
    expect(summary).toMatchObject({ records: 5, dead_letters: 3 });
    const dead = await readAll(bus, 'ods_db_dlq');
    expect(dead).toHaveLength(3);
    const reasons = dead.map((d) => d.headers[DLQ_HEADER.reason]!);
    // Keyless records spread over the partitions: the order between them is not defined.
    expect(reasons.filter((r) => /JSON/i.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => r.includes('no value for the key column id'))).toHaveLength(1);
    expect(reasons.filter((r) => /applog|app log|not a change/.test(r))).toHaveLength(1);
    expect(dead.every((d) => d.headers[DLQ_HEADER.topic] === 'ods_db' && d.headers[DLQ_HEADER.stage] === 'run dim')).toBe(true);
    const store = await openDimStore(`sqlite:${join(dir, '.rtwh', 'dim.db')}`, { cwd: dir });
    try {
      expect((await store.get('dim_base_trademark', '9001'))?.tm_name).toBe('before bad');
      expect((await store.get('dim_base_trademark', '9002'))?.tm_name).toBe('after bad');
    } finally {
      await store.close();
    }
  });

  test('a record is applied whole or not at all: a Canal message with one bad row writes none of its rows', async () => {
    const canal = (rows: Record<string, string | null>[]) =>
      JSON.stringify({
        data: rows, database: 'gmall', es: 1736784000000, id: 3, isDdl: false, old: null, pkNames: ['id'], sql: '', table: 'base_trademark', ts: 1736784000001, type: 'INSERT',
        mysqlType: { id: 'bigint', tm_name: 'varchar(100)', logo_url: 'varchar(200)' }, sqlType: { id: -5, tm_name: 12, logo_url: 12 },
      });
    const p = await bus.producer();
    await p.send('ods_db', [{ value: canal([{ id: '9003', tm_name: 'beside a bad row', logo_url: null }, { id: null, tm_name: 'no id', logo_url: null }]) }]);
    await p.close();
    const before = (await readAll(bus, 'ods_db_dlq')).length;
    const run = await cli(['run', 'dim', '--bus', busUrl, '--until-idle', '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ records: 1, dead_letters: 1 });
    const dead = (await readAll(bus, 'ods_db_dlq')).slice(before);
    expect(dead.map((d) => d.headers[DLQ_HEADER.reason])).toEqual([expect.stringContaining('no value for the key column id (sink_pk of dim_base_trademark) (one of its 2 rows; none of them written)')]);
    const store = await openDimStore(`sqlite:${join(dir, '.rtwh', 'dim.db')}`, { cwd: dir });
    try {
      // replayed once mended, the message writes 9003 then; written now, a replay would put it back over later changes
      expect(await store.get('dim_base_trademark', '9003')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
