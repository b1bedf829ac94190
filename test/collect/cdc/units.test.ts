/** The pure pieces of cdc: Maxwell's filter language, value conversion, the queue, mock dates, Java number text. */
import { describe, expect, test } from 'bun:test';
import { parseFilter } from '../../../src/collect/cdc/filter';
import { CdcQueue, type OutRecord } from '../../../src/collect/cdc/queue';
import { mockDateClock } from '../../../src/collect/cdc/run';
import { enumMembers } from '../../../src/collect/cdc/schema';
import { TxnBuffer } from '../../../src/collect/cdc/txn';
import { pendingText } from '../../../src/collect/cdc/encode';
import { converterFor, jsonDocument, rowConverter, sameChangeValue } from '../../../src/collect/cdc/values';
import { ExactDecimal, FloatValue, RawJson } from '../../../src/formats/change';
import { javaBigDecimalText, javaFloatText, maxwellColumnDef, maxwellDdlJson, maxwellValue } from '../../../src/formats/maxwell';

describe("Maxwell's filter", () => {
  test('rules in order, the last match wins; everything is included without rules', () => {
    const f = parseFilter('exclude: *.*, include: gmall.*, exclude: gmall.secret');
    expect(f.includesTable('gmall', 'order_info')).toBe(true);
    expect(f.includesTable('gmall', 'secret')).toBe(false);
    expect(f.includesTable('other', 'x')).toBe(false);
    expect(parseFilter(undefined).includesTable('any', 'thing')).toBe(true);
    expect(parseFilter('').includesTable('any', 'thing')).toBe(true);
  });

  test('regexes match anywhere (find), names match whole, quoted names are patterns', () => {
    const f = parseFilter('exclude: *.*, include: shop./order_\\d+/, include: `my-db`.t1');
    expect(f.includesTable('shop', 'order_12')).toBe(true);
    expect(f.includesTable('shop', 'x_order_1_y')).toBe(true);
    expect(f.includesTable('shop', 'order_x')).toBe(false);
    expect(f.includesTable('my-db', 't1')).toBe(true);
    expect(f.includesTable('my-db', 't10')).toBe(false);
    expect(parseFilter('exclude: gmall.order').includesTable('gmall', 'order_info')).toBe(true);
  });

  test('column-value rules decide per row; null matches NULL', () => {
    const f = parseFilter('exclude: *.*.status=9, include: *.*.status=null');
    expect(f.hasColumnRules('a', 'b')).toBe(true);
    expect(f.includesRow('a', 'b', { status: 1 })).toBe(true);
    expect(f.includesRow('a', 'b', { status: 9 })).toBe(false);
    expect(f.includesRow('a', 'b', { status: 19 })).toBe(true); // a bare value matches whole (^9$)
    expect(parseFilter('exclude: *.*.status=/9/').includesRow('a', 'b', { status: 19 })).toBe(false); // a regex finds
    expect(f.includesRow('a', 'b', { status: null })).toBe(true);
    expect(f.includesRow('a', 'b', { other: 9 })).toBe(true);
    const only = parseFilter('exclude: gmall.user_info, include: gmall.user_info.id=/^42$/');
    expect(only.mayInclude('gmall', 'user_info')).toBe(true);
    expect(only.includesRow('gmall', 'user_info', { id: 42 })).toBe(true);
    expect(only.includesRow('gmall', 'user_info', { id: 7 })).toBe(false);
    expect(only.includesRow('gmall', 'user_info', { id: new ExactDecimal('42') })).toBe(true);
  });

  test('blacklist excludes and marks the table untracked; databases for database DDL', () => {
    const f = parseFilter('blacklist: bad.*, exclude: *.*, include: gmall.*');
    expect(f.isBlacklisted('bad', 'x')).toBe(true);
    expect(f.includesTable('bad', 'x')).toBe(false);
    expect(f.includesDatabase('gmall')).toBe(true);
    expect(f.includesDatabase('other')).toBe(false);
  });

  test('errors name the filter and what was expected', () => {
    expect(() => parseFilter('inclde: a.b')).toThrow(/unknown filter keyword "inclde"/);
    expect(() => parseFilter('include a.b')).toThrow(/expected ":"/);
    expect(() => parseFilter('include: a')).toThrow(/expected "."/);
    expect(() => parseFilter('include: a./(/')).toThrow(/bad regular expression/);
    expect(() => parseFilter('include: a./x')).toThrow(/unterminated/);
  });
});

describe('values from the wire', () => {
  const conv = (type: string, v: unknown, extra = {}) => converterFor({ name: 'c', type, ...extra })?.(v) ?? v;

  test('decimals exact, big integers exact, YEAR 0000, BIT, SET, ENUM, floats', () => {
    expect(conv('decimal', '-0.50')).toEqual(new ExactDecimal('-0.50'));
    expect(conv('bigint', '18446744073709551615')).toBe(18446744073709551615n);
    expect(conv('bigint', 5)).toBe(5);
    expect(conv('year', 1900)).toBe(0);
    expect(conv('year', 2025)).toBe(2025);
    expect(conv('bit', Buffer.from([0x0a, 0xaa]))).toBe(2730);
    expect(conv('bit', Buffer.alloc(8, 0xff))).toBe(18446744073709551615n);
    expect(conv('set', 'a,c')).toEqual(['a', 'c']);
    expect(conv('set', '')).toEqual([]);
    expect(conv('enum', undefined)).toBe('');
    expect(conv('float', 1.100000023841858)).toEqual(new FloatValue(1.100000023841858, true));
    expect(conv('double', 2.5)).toEqual(new FloatValue(2.5, false));
  });

  test('JSON: validated, whitespace between tokens removed, strings kept; invalid text stays a string', () => {
    expect(jsonDocument('{ "a" : [1, "x y"],\n "b": {"n": null} }')).toEqual(new RawJson('{"a":[1,"x y"],"b":{"n":null}}'));
    expect(jsonDocument('{"s":"a \\" b"}')).toEqual(new RawJson('{"s":"a \\" b"}'));
    expect(jsonDocument('{not json')).toBe('{not json');
  });

  test('a row converter fills absent columns with null and converts in place', () => {
    const f = rowConverter([{ name: 'id', type: 'int' }, { name: 'amt', type: 'decimal' }, { name: 'gone', type: 'varchar' }]);
    const row: Record<string, unknown> = { id: 1, amt: '2.50' };
    expect(f(row)).toEqual({ id: 1, amt: new ExactDecimal('2.50'), gone: null });
  });

  test('equality for old: bytes, decimals, sets, floats', () => {
    expect(sameChangeValue(Buffer.from([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameChangeValue(new ExactDecimal('1.00'), new ExactDecimal('1.00'))).toBe(true);
    expect(sameChangeValue(new ExactDecimal('1.00'), new ExactDecimal('1.0'))).toBe(false);
    expect(sameChangeValue(['a'], ['a'])).toBe(true);
    expect(sameChangeValue(new FloatValue(1, true), new FloatValue(1, true))).toBe(true);
    expect(sameChangeValue(null, 0)).toBe(false);
  });

  test("enum members from a COLUMN_TYPE, quotes and commas included", () => {
    expect(enumMembers("enum('a','b''c','d,e')")).toEqual(['a', "b'c", 'd,e']);
  });
});

describe('Java number text (what Maxwell and Debezium print)', () => {
  test('BigDecimal.toString: plain, or scientific below 1e-6 of scale', () => {
    expect(javaBigDecimalText('1299.00')).toBe('1299.00');
    expect(javaBigDecimalText('0.000000000000000000000000000000')).toBe('0E-30');
    expect(javaBigDecimalText('0.000000001500')).toBe('1.500E-9');
    expect(javaBigDecimalText('-0.000000001500')).toBe('-1.500E-9');
    expect(javaBigDecimalText('0.0000010')).toBe('0.0000010');
    expect(javaBigDecimalText('12345678901234567890123456789012345.123456789012345678901234567890')).toBe('12345678901234567890123456789012345.123456789012345678901234567890');
  });

  test('Float.toString / Double.toString', () => {
    expect(javaFloatText(new FloatValue(Math.fround(1.1), true))).toBe('1.1');
    expect(javaFloatText(new FloatValue(Math.fround(0.000123), true))).toBe('1.23E-4');
    expect(javaFloatText(new FloatValue(1, false))).toBe('1.0');
    expect(javaFloatText(new FloatValue(1e10, false))).toBe('1.0E10');
    expect(javaFloatText(new FloatValue(12345678, false))).toBe('1.2345678E7');
    expect(javaFloatText(new FloatValue(1234567, false))).toBe('1234567.0');
    expect(javaFloatText(new FloatValue(0.001, false))).toBe('0.001');
    expect(javaFloatText(new FloatValue(-0, false))).toBe('-0.0');
  });

  test('Maxwell values of the binlog kinds', () => {
    expect(maxwellValue(new Uint8Array([0, 255, 16]))).toBe('"AP8Q"');
    expect(maxwellValue(['x', 'z'])).toBe('["x","z"]');
    expect(maxwellValue(new RawJson('{"a":1}'))).toBe('{"a":1}');
    expect(maxwellValue(new FloatValue(2.5, false))).toBe('2.5');
  });

  test('Maxwell DDL records: field order and column definitions', () => {
    expect(maxwellColumnDef({ name: 'c', type: 'timestamp', fsp: 6 })).toEqual({ type: 'timestamp', name: 'c', 'column-length': 6 });
    expect(maxwellColumnDef({ name: 'b', type: 'blob' })).toEqual({ type: 'blob', name: 'b', charset: 'binary' });
    expect(maxwellColumnDef({ name: 'u', type: 'bigint', unsigned: true })).toEqual({ type: 'bigint', name: 'u', signed: false });
    expect(maxwellDdlJson({ type: 'table-drop', database: 'd', table: 't', ts: 1000, sql: 'DROP TABLE t' })).toBe('{"type":"table-drop","database":"d","table":"t","ts":1000,"sql":"DROP TABLE t"}');
  });
});

describe('the queue', () => {
  const rec = (n: number, bytes = 10): OutRecord => ({ key: null, value: String(n), partition: 0, bytes });

  test('bounded by bytes and records; drained below half wakes the reader; markers come with the records before them', () => {
    const q = new CdcQueue(100, 1000);
    let drained = 0;
    q.onDrained = () => drained++;
    for (let i = 0; i < 10; i++) q.push(rec(i));
    q.pushMarker({ position: { file: 'f', pos: 10 }, own: false, ts: 0 });
    expect(q.full).toBe(true);
    const b1 = q.take(4, 1_000_000);
    expect(b1.records.map((r) => r.value)).toEqual(['0', '1', '2', '3']);
    expect(b1.markers).toEqual([]);
    expect(drained).toBe(0);
    const b2 = q.take(100, 25);
    expect(b2.records.length).toBe(2);
    expect(drained).toBe(1);
    const b3 = q.take(100, 1_000_000);
    expect(b3.records.length).toBe(4);
    expect(b3.markers.map((m) => m.position.pos)).toEqual([10]);
    expect(q.empty).toBe(true);
  });

  test('waitForRoom resolves below half, or at once after release()', async () => {
    const q = new CdcQueue(20, 1000);
    q.push(rec(1));
    q.push(rec(2));
    let woke = false;
    const w = q.waitForRoom().then(() => (woke = true));
    await Bun.sleep(5);
    expect(woke).toBe(false);
    q.take(2, 1000);
    await w;
    expect(woke).toBe(true);
    q.push(rec(3));
    q.push(rec(4));
    q.release();
    await q.waitForRoom();
  });
});

describe('the transaction buffer', () => {
  test('spills past its memory to a file and gives the rows back in order', () => {
    const t = new TxnBuffer(1000);
    for (let i = 0; i < 500; i++) t.add({ key: `k${i}`, partition: i % 3, head: `{"n":${i}`, tail: `,"s":"数据${i}"}`, bytes: 100 });
    expect(t.spilled).toBe(true);
    expect(t.count).toBe(500);
    const out = [...t.drain()];
    expect(out.map((p) => pendingText(p).head)).toEqual(Array.from({ length: 500 }, (_, i) => `{"n":${i}`));
    expect(out.map((p) => p.partition)).toEqual(Array.from({ length: 500 }, (_, i) => i % 3));
    expect(pendingText(out[499]!).tail).toBe(',"s":"数据499"}');
    expect(t.count).toBe(0);
    expect(t.spilled).toBe(false);
  });
});

describe('mock dates', () => {
  test("later days become the mock date (Beijing time), the time of day stays (Maxwell's mock_date)", () => {
    const clock = mockDateClock('2025-01-14');
    expect(clock(Date.parse('2031-06-30T23:59:58Z'))).toBe(Date.parse('2025-01-14T07:59:58+08:00'));
    expect(clock(Date.parse('2025-01-14T10:00:00+08:00'))).toBe(Date.parse('2025-01-14T10:00:00+08:00'));
    // Times on or before the mock day are business times already (rtwh mock db stamps them): kept.
    expect(clock(Date.parse('2025-01-03T09:30:00+08:00'))).toBe(Date.parse('2025-01-03T09:30:00+08:00'));
    expect(clock(Date.parse('2025-01-14T23:59:59+08:00'))).toBe(Date.parse('2025-01-14T23:59:59+08:00'));
    expect(clock(Date.parse('2025-01-15T00:00:01+08:00'))).toBe(Date.parse('2025-01-14T00:00:01+08:00'));
    expect(mockDateClock(undefined)(123)).toBe(123);
  });
});

describe('the writer', () => {
  test('a failing bus: batches are retried in order behind the failed one, positions only move past acknowledged records', async () => {
    const { BusWriter } = await import('../../../src/collect/cdc/writer');
    const { SkippedBatch } = await import('../../../src/collect/cdc/sink');
    const { RtwhError } = await import('../../../src/errors');
    const delivered: string[] = [];
    const saved: number[] = [];
    let failNext = 2;
    let failedState = false;
    // A sink like the worker: up to three batches in flight; after a failure it refuses the ones behind until reset.
    const sink = {
      kind: 'worker' as const,
      maxInflight: 3,
      async send(records: readonly OutRecord[]) {
        await Bun.sleep(1);
        if (failedState) throw new SkippedBatch();
        if (failNext > 0 && records[0]!.value === '3') {
          failNext--;
          failedState = true;
          throw new RtwhError('BUS_UNAVAILABLE', 'broker down');
        }
        for (const r of records) delivered.push(String(r.value));
      },
      async reset() {
        failedState = false;
      },
      async close() {},
    };
    const q = new CdcQueue(1_000_000, 1_000_000);
    const store = { where: 'memory', load: async () => undefined, save: async (p: { pos: number }) => void saved.push(p.pos), close: async () => {} };
    const w = new BusWriter({ sink, queue: q, store, initial: { file: 'f', pos: 4 }, batchRecords: 2, batchBytes: 1_000_000, positionIntervalMs: 0 });
    const run = w.run();
    for (let i = 1; i <= 9; i++) {
      q.push(rec(i));
      q.pushMarker({ position: { file: 'f', pos: 100 + i }, own: false, ts: 0 });
    }
    await waitForWriter(() => delivered.length === 9);
    w.stop(false);
    await run;
    expect(delivered).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(saved).toEqual([...saved].sort((x, y) => x - y));
    expect(saved[saved.length - 1]).toBe(109);
    expect(w.recordsSent).toBe(9);
  });

  function rec(n: number): OutRecord {
    return { key: null, value: String(n), partition: 0, bytes: 1 };
  }
  async function waitForWriter(f: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !f(); i++) await Bun.sleep(5);
  }
});
