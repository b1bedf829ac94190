import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus } from '../../src/bus/types';
import { flatRowText, loadSinkOffsets, parseRowText, parseRowTextGeneral, runDuckSink, SINK_OFFSETS_TABLE, type TextRow } from '../../src/dws/sink';
import { DWS_TABLES, dwsTable } from '../../src/dws/tables';
import { openDuckDB } from '../../src/store/duckdb';
import { tempDir } from '../helpers/cli';

const VC = 'dws_traffic_vc_ch_ar_is_new_page_view_window';
const KW = 'dws_traffic_source_keyword_page_view_window';
const SKU = 'dws_trade_sku_order_window';
const TABLES = DWS_TABLES.slice(0, 2); // keyword, vc/ch/ar/is_new

const stt = (i: number) => {
  const s = new Date(Date.UTC(2025, 0, 13, 16, 0, 0) + Math.floor(i / 20) * 10_000 + 8 * 3_600_000).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 19)}`;
};
const edt = (i: number) => stt(i + 20);
const vcRow = (i: number, pv = i) => JSON.stringify({ stt: stt(i), edt: edt(i), cur_date: stt(i).slice(0, 10), vc: `v${i % 20}`, ch: 'xiaomi', ar: i % 3 === 0 ? null : '11', is_new: '1', uv_ct: 1, sv_ct: 0, pv_ct: pv, dur_sum: 1000 + i });
const kwRow = (i: number) => JSON.stringify({ stt: stt(i), edt: edt(i), cur_date: stt(i).slice(0, 10), source: 'search', keyword: `词${i % 20}`, keyword_count: i });

async function produce(bus: Bus, topic: string, values: string[]): Promise<void> {
  const p = await bus.producer();
  for (let i = 0; i < values.length; i += 1000) await p.send(topic, values.slice(i, i + 1000).map((value) => ({ key: null, value })));
  await p.close();
}

async function dump(path: string): Promise<string[]> {
  const db = await openDuckDB(path, { readOnly: true });
  try {
    const out: string[] = [];
    for (const t of [VC, KW]) {
      const r = await db.query(`select * from ${t} order by all`);
      out.push(...r.rows.map((row) => `${t}\t${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`));
    }
    return out;
  } finally {
    db.close();
  }
}

const sink = (bus: Bus, path: string, batch = 500) => runDuckSink(bus, { path, tables: TABLES, startFrom: 'earliest', untilIdle: true, batchRecords: batch, log: () => undefined });

describe('dws DuckDB sink', () => {
  test('numbers keep their source text; rows, DDL types and null keys', async () => {
    expect(parseRowText('{"a":12345678901234.57,"b":null,"c":"x","d":9007199254740993}')).toEqual({ a: '12345678901234.57', b: null, c: 'x', d: '9007199254740993' });
    const dir = tempDir('rtwh-dws-sink-');
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      const row = { stt: '2025-01-14 00:00:00', edt: '2025-01-14 00:00:10', cur_date: '2025-01-14', trademark_id: null, trademark_name: null, category1_id: '2', category1_name: '手机', category2_id: '13', category2_name: 'n', category3_id: '61', category3_name: 'n3', sku_id: '1', sku_name: "O'Brien", spu_id: '1', spu_name: 's', original_amount: 12345678901234.57, activity_reduce_amount: 0, coupon_reduce_amount: 0.1, order_amount: 12345678901234.47 };
      await produce(bus, SKU, [JSON.stringify(row), JSON.stringify({ ...row, order_amount: 1.5 }), JSON.stringify({ ...row, sku_id: '2' })]);
      const path = join(dir, 'w.duckdb');
      const r = await runDuckSink(bus, { path, tables: [dwsTable(SKU)!], startFrom: 'earliest', untilIdle: true, log: () => undefined });
      expect(r.status.records).toBe(3);
      const db = await openDuckDB(path, { readOnly: true });
      try {
        const q = await db.query(`select sku_id, sku_name, trademark_id, original_amount::VARCHAR, order_amount::VARCHAR, typeof(stt), typeof(cur_date), typeof(original_amount) from ${SKU} order by sku_id`);
        // The same identity twice in one batch: the last one wins.
        expect(q.rows).toEqual([
          ['1', "O'Brien", null, '12345678901234.57', '1.50', 'TIMESTAMP', 'DATE', 'DECIMAL(16,2)'],
          ['2', "O'Brien", null, '12345678901234.57', '12345678901234.47', 'TIMESTAMP', 'DATE', 'DECIMAL(16,2)'],
        ]);
      } finally {
        db.close();
      }
    } finally {
      await bus.close();
    }
  });

  test('the warehouse file is made where it is asked for, its missing directories too (with a Kafka bus nothing had made .rtwh/)', async () => {
    const dir = tempDir('rtwh-dws-sink-');
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      await produce(bus, SKU, []);
      const path = join(dir, 'not', 'yet', 'w.duckdb');
      const r = await runDuckSink(bus, { path, tables: [dwsTable(SKU)!], startFrom: 'earliest', untilIdle: true, log: () => undefined });
      expect(r.status.records).toBe(0);
      expect(existsSync(path)).toBe(true);
    } finally {
      await bus.close();
    }
  });

  test('idempotent: offsets live in the same file; reloading every record again replaces, never doubles', async () => {
    const dir = tempDir('rtwh-dws-sink-');
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      await produce(bus, VC, Array.from({ length: 2000 }, (_, i) => vcRow(i)));
      await produce(bus, KW, Array.from({ length: 300 }, (_, i) => kwRow(i)));
      const path = join(dir, 'w.duckdb');
      expect((await sink(bus, path)).status.records).toBe(2300);
      const first = await dump(path);
      expect(first.length).toBe(2300);
      // Nothing new: a second run loads nothing.
      expect((await sink(bus, path)).status.records).toBe(0);
      let db = await openDuckDB(path);
      try {
        expect([...(await loadSinkOffsets(db)).entries()].sort()).toEqual([[`${KW}:0`, 300], [`${VC}:0`, 2000]]);
        // Forget the offsets: everything is read and loaded again, replacing the rows of the same identities.
        await db.query(`delete from ${SINK_OFFSETS_TABLE}`);
      } finally {
        db.close();
      }
      expect((await sink(bus, path, 777)).status.records).toBe(2300);
      expect(await dump(path)).toEqual(first);
      // A corrected row of an identity already loaded (a re-delivery after a replay) replaces it.
      await produce(bus, VC, [vcRow(5, 123456)]);
      await sink(bus, path);
      const after = await dump(path);
      expect(after.length).toBe(2300);
      expect(after.filter((l) => l.includes('"123456"')).length).toBe(1);
      db = await openDuckDB(path, { readOnly: true });
      db.close();
    } finally {
      await bus.close();
    }
  });

  test('a row that does not fit fails the batch: neither its rows nor its offsets are committed', async () => {
    const dir = tempDir('rtwh-dws-sink-');
    const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
    try {
      const path = join(dir, 'w.duckdb');
      await produce(bus, VC, [vcRow(0), vcRow(1)]);
      await sink(bus, path);
      await produce(bus, VC, [vcRow(2), JSON.stringify({ ...JSON.parse(vcRow(3)), pv_ct: 'many' })]);
      await expect(sink(bus, path)).rejects.toThrow(/pv_ct: expected a whole number/);
      const db = await openDuckDB(path, { readOnly: true });
      try {
        expect((await db.query(`select count(*)::INTEGER from ${VC}`)).rows).toEqual([[2]]);
        expect((await db.query(`select next_offset::INTEGER from ${SINK_OFFSETS_TABLE} where topic = '${VC}'`)).rows).toEqual([[2]]);
      } finally {
        db.close();
      }
    } finally {
      await bus.close();
    }
  });

  test('kill -9 of the loading process at random points, then a run to the end = one clean run', async () => {
    const dir = tempDir('rtwh-dws-sink-kill-');
    const busUrl = `sqlite:${join(dir, 'bus.db')}`;
    const bus = await openBus(busUrl);
    try {
      await produce(bus, VC, Array.from({ length: 40_000 }, (_, i) => vcRow(i, i % 7)));
      await produce(bus, KW, Array.from({ length: 8000 }, (_, i) => kwRow(i)));
    } finally {
      await bus.close();
    }
    const clean = join(dir, 'clean.duckdb');
    const killed = join(dir, 'killed.duckdb');
    const child = (path: string, untilIdle: boolean) =>
      Bun.spawn([process.execPath, join(import.meta.dir, 'sink-child.ts'), JSON.stringify({ bus: busUrl, path, batch: 400, untilIdle })], { stdout: 'pipe', stderr: 'pipe' });
    const ok = child(clean, true);
    expect(await ok.exited).toBe(0);
    const cleanRows = await dump(clean);
    expect(cleanRows.length).toBe(48_000);

    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const c = child(killed, false);
      await Bun.sleep(300 + Math.floor(Math.random() * 1200));
      c.kill('SIGKILL');
      await c.exited;
      kills++;
    }
    const last = child(killed, true);
    expect(await last.exited).toBe(0);
    expect(kills).toBe(6);
    const loaded = Number((await new Response(last.stdout).text()).trim());
    expect(loaded).toBeLessThan(48_000); // the killed runs loaded part of it
    expect(await dump(killed)).toEqual(cleanRows);
  }, 120_000);
});

describe('parseRowText: the one-pass reader of flat rows = the JSON.parse path', () => {
  const same = (text: string) => {
    const fast = flatRowText(text);
    const general = parseRowTextGeneral(text);
    if (fast !== null) expect({ text, row: fast }).toEqual({ text, row: general as TextRow });
    expect(parseRowText(text)).toEqual(general);
    return fast !== null;
  };

  test('hand-made rows: taken ones equal, anything unusual left to the general path', () => {
    const taken = [
      '{"stt":"2025-01-14 00:00:00","edt":"2025-01-14 00:00:10","uv_ct":1,"amount":"12.30","x":null,"b":true,"c":false}',
      '{"n":-0.50,"e":1E+400,"f":-1e-7,"big":123456789012345678901234567890,"zero":0}',
      ' { "a" : "小米" , "b" :\t1 ,\n"c":\r\nnull } ',
      '{}',
      '{"a":1,"a":"again"}',
      '{"":""}',
    ];
    for (const t of taken) expect(same(t)).toBe(true);
    const left = [
      '{"a":"x\\"y"}',
      '{"a\\u0041":1}',
      '{"a":{"n":"5"}}',
      '{"a":[1,2]}',
      '{"__proto__":1}',
      '[1]',
      '"text"',
      '12',
      'null',
      '',
      '{',
      '{"a":1,}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":tru}',
      '{"a":"tab\there"}',
      '{"a":1} x',
      '{"a" 1}',
      '{a:1}',
      '\uFEFF{"a":1}',
    ];
    for (const t of left) expect(same(t)).toBe(false);
  });

  test('random rows and byte mutations of them: the same answer on both paths', () => {
    let seed = 7; // xorshift32
    const rnd = (k: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % k;
    };
    const pieces = ['"stt"', '"2025-01-14 00:00:00"', ':', ',', '{', '}', '[', ']', '1', '-0.5', '1e3', 'null', 'true', 'false', ' ', '"', '\\', '小', '\n', '0', '.', 'e', '-'];
    let taken = 0;
    for (let k = 0; k < 20_000; k++) {
      const row: Record<string, unknown> = {};
      const cols = 1 + rnd(8);
      for (let c = 0; c < cols; c++) {
        const r = rnd(7);
        row[`c${rnd(10)}`] = r === 0 ? null : r === 1 ? rnd(1000) - 500 : r === 2 ? (rnd(100000) - 50000) / 100 : r === 3 ? rnd(2) === 0 : r === 4 ? `词${rnd(50)}` : r === 5 ? '' : `v2.1.${rnd(200)}`;
      }
      let text = JSON.stringify(row);
      if (rnd(2) === 0) {
        const at = rnd(text.length + 1);
        const op = rnd(3);
        const piece = pieces[rnd(pieces.length)]!;
        text = op === 0 ? text.slice(0, at) + piece + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + piece + text.slice(at + 1);
      }
      if (same(text)) taken++;
    }
    // Every unmutated row and some mutated ones are taken; the rest was compared on the general path.
    expect(taken).toBeGreaterThan(10_000);
    expect(taken).toBeLessThan(20_000);
  });
});
