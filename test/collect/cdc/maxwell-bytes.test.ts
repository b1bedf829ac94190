import { describe, expect, test } from 'bun:test';
import { createEncoder } from '../../../src/collect/cdc/encode';
import { recordKey, recordValue } from '../../../src/collect/cdc/queue';
import { ByteArena, writeMaxwellRecord } from '../../../src/collect/cdc/maxwell-bytes';
import { TxnBuffer } from '../../../src/collect/cdc/txn';
import { ExactDecimal, FloatValue, RawJson, type ChangeEvent, type ChangeValue, type ColumnInfo, type Row } from '../../../src/formats/change';
import { maxwellJsonBody, maxwellJsonHead, maxwellKey, maxwellTxnFields } from '../../../src/formats/maxwell';

/** The string encoder's record (src/formats/maxwell.ts, checked against Maxwell's output in test/formats). */
function expected(ev: ChangeEvent, xid: number | bigint | string | undefined, xoffset: number, last: boolean): { key: string; value: string } {
  return { key: maxwellKey(ev), value: maxwellJsonHead(ev) + maxwellTxnFields(xid, xoffset, last) + maxwellJsonBody(ev) };
}

const STRINGS = [
  '', 'a', '1002', 'He said "hi"', 'back\\slash', 'tab\there', 'line\nbreak', '\u0000\u001f\u007f', 'é', '小米手机 Redmi 10X 4G',
  'mixed ascii then 中文 then "quote"', '😀 emoji pair', 'lone \ud800 high', 'lone \udc00 low', '\u2028\u2029', 'x'.repeat(300),
  '中'.repeat(400) + '"', 'end with é', '\ud83d',
];

const DECIMALS = ['0', '-0', '1299.00', '-1299.00', '0.00', '123456789012345678901234567890.123456', '0.0000001', '-0.000000000000000000000000000001', '0E-30'.replace('E-30', '.' + '0'.repeat(30)), '99999999.999999999'];

const NUMBERS = [0, -0, 1, -1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, -98765, 999_999_999, 1e9, 1_000_000_001, 2 ** 31 - 1, 1736821234567, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -2.25, 1e21, 2 ** 53 + 2];

function values(): ChangeValue[] {
  return [
    null,
    ...STRINGS,
    ...DECIMALS.map((d) => new ExactDecimal(d)),
    ...NUMBERS,
    0n, 18446744073709551615n, -9223372036854775808n,
    new FloatValue(1.1, true), new FloatValue(1e10, false), new FloatValue(-0, false), new FloatValue(0.0001, false), new FloatValue(3.4028234663852886e38, true),
    new Uint8Array([0, 1, 2, 255]), new Uint8Array(0), Buffer.from('blob bytes'),
    new RawJson('{"a":[1,2,{"b":"中文"}],"n":123456789012345678901234567890}'), new RawJson('"s"'),
    [], ['a'], ['a', 'b "c"', '中'],
  ];
}

const columns = (names: string[]): ColumnInfo[] => names.map((name) => ({ name, type: 'varchar' }));

function event(data: Row, o: Partial<ChangeEvent> = {}): ChangeEvent {
  return { database: 'gmall', table: 'order_info', type: 'insert', ts: 1736821234567, primaryKey: ['id'], data, ...o };
}

function events(): ChangeEvent[] {
  const out: ChangeEvent[] = [];
  const vs = values();
  // Every value in a row with a column list, as the pk and as a plain column.
  const cols = columns(['id', 'v', 'w']);
  for (const v of vs) out.push(event({ id: v, v, w: 'x' }, { columns: cols }));
  // All values in one wide row.
  const wide: Row = {};
  vs.forEach((v, i) => (wide[`c${i}`] = v));
  out.push(event(wide, { columns: columns(Object.keys(wide)), primaryKey: ['c1', 'c2'] }));
  // Rows that are not exactly their column list take the general path.
  out.push(event({ id: 1, v: 'a' }, { columns: columns(['id', 'v', 'w']) }));
  out.push(event({ v: 'a', id: 1 }, { columns: columns(['id', 'v']) }));
  out.push(event({ id: 1, v: 'a' }));
  out.push(event({ id: 1, v: 'a' }, { columns: [] }));
  // Names that need escaping, upper-case pk names, no primary key.
  out.push(event({ 'we"ird': 1, 'Ü': 2, ID: 3 }, { primaryKey: ['ID'], database: 'gm"all', table: '表' }));
  out.push(event({ a: 1 }, { primaryKey: [] }));
  // Updates with and without changed columns, deletes, bootstrap rows, odd timestamps.
  out.push(event({ id: 1, s: '1002' }, { type: 'update', old: { s: '1001', t: null } }));
  out.push(event({ id: 1, s: '1002' }, { type: 'update', old: {} }));
  out.push(event({ id: 7 }, { type: 'delete', ts: 999 }));
  out.push(event({ id: 7 }, { bootstrap: 'insert', ts: 0 }));
  // Big rows (over one arena chunk).
  out.push(event({ id: 1, big: 'y'.repeat(1_500_000), blob: new Uint8Array(700_000).fill(7) }, { columns: columns(['id', 'big', 'blob']) }));
  return out;
}

const TXN: [number | bigint | string | undefined, number, boolean][] = [
  [8812, 0, false], [8812, 41, false], [8812, 3, true], [undefined, 2, false], [undefined, 0, true], [18446744073709551615n, 1, false], ['77', 5, true], [2 ** 53 + 2, 0, false],
];

describe('Maxwell records as bytes', () => {
  test('the byte encoder writes exactly what the string encoder writes: every value kind, escapes, odd names, big rows', () => {
    const enc = createEncoder({ format: 'maxwell', partitionBy: 'table', partitions: 3 });
    let n = 0;
    for (const ev of events()) {
      for (const [xid, xoffset, last] of TXN) {
        const p = enc.pending(ev)!;
        const r = enc.finish(p, xid, xoffset, last);
        const want = expected(ev, xid, xoffset, last);
        expect(r.buf).toBeDefined();
        if (ev.primaryKey.length > 0) expect(String(recordKey(r))).toBe(want.key);
        else expect(String(recordKey(r))).toMatch(/^\{"database":"gmall","table":"order_info","_uuid":"[0-9a-f-]{36}"\}$/);
        expect(Buffer.from(recordValue(r)).equals(Buffer.from(want.value))).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThan(500);
  });

  test('records written into tiny chunks move whole to the next chunk and keep their bytes', () => {
    const w = new ByteArena(64);
    const evs = events().slice(0, 80);
    const got: string[] = [];
    for (const ev of evs) {
      const o = writeMaxwellRecord(w, ev, true, 12, 3, false, () => 'a-uuid');
      got.push(`${w.buf.toString('utf8', o.start, o.keyEnd)}|${w.buf.toString('utf8', o.keyEnd, o.end)}`);
    }
    expect(got).toEqual(evs.map((ev) => `${maxwellKey(ev, { uuid: () => 'a-uuid' })}|${maxwellJsonHead(ev)}${maxwellTxnFields(12, 3, false)}${maxwellJsonBody(ev)}`));
  });

  test('acknowledged chunks are written again; records not yet acknowledged keep their bytes', () => {
    const w = new ByteArena(256);
    const written: { buf: Buffer; start: number; end: number; text: string }[] = [];
    const write = (i: number) => {
      const ev = event({ id: i, s: `row ${i} ${'中'.repeat(i % 7)}` }, { columns: columns(['id', 's']) });
      const o = writeMaxwellRecord(w, ev, true, 1, i, false);
      written.push({ buf: w.buf, start: o.start, end: o.end, text: `${maxwellKey(ev)}${maxwellJsonHead(ev)}${maxwellTxnFields(1, i, false)}${maxwellJsonBody(ev)}` });
    };
    for (let i = 0; i < 100; i++) write(i);
    const chunksBefore = new Set(written.map((r) => r.buf));
    expect(chunksBefore.size).toBeGreaterThan(20);
    // Records 0..49 acknowledged.
    w.recycle(written[49]!.buf);
    for (let i = 100; i < 200; i++) write(i);
    const reused = written.slice(100).filter((r) => chunksBefore.has(r.buf));
    expect(reused.length).toBeGreaterThan(0);
    // Everything from record 50 on reads back as written (an acknowledged record's bytes may be overwritten).
    for (const r of written.slice(50)) expect(r.buf.toString('utf8', r.start, r.end)).toBe(r.text);
    // A chunk is recycled once only; an unknown buffer changes nothing.
    w.recycle(written[49]!.buf);
    w.recycle(Buffer.alloc(10));
    w.recycle(written[199]!.buf);
    for (let i = 200; i < 300; i++) write(i);
    for (const r of written.slice(200)) expect(r.buf.toString('utf8', r.start, r.end)).toBe(r.text);
  });

  test('single (bootstrap) records are the whole value without transaction fields', () => {
    const enc = createEncoder({ format: 'maxwell', partitionBy: 'table', partitions: 1 });
    for (const ev of events().slice(0, 40)) {
      const r = enc.single(ev)!;
      expect(String(recordValue(r))).toBe(maxwellJsonHead(ev) + maxwellJsonBody(ev));
      expect(String(recordKey(r))).toBe(maxwellKey(ev));
    }
  });

  test('a decimal that is not plain digits is refused, as the string encoder refuses it', () => {
    const enc = createEncoder({ format: 'maxwell', partitionBy: 'table', partitions: 1 });
    for (const bad of ['1e5', '1.', '.5', '-', '1.2.3', 'NaN', '', '12a']) {
      expect(() => enc.finish(enc.pending(event({ id: 1, d: new ExactDecimal(bad) }, { columns: columns(['id', 'd']) }))!, 1, 0, true)).toThrow(/not a decimal/);
    }
    expect(() => enc.finish(enc.pending(event({ id: 1, d: Number.NaN }))!, 1, 0, true)).toThrow(/cannot encode NaN/);
  });

  test('rows spilled by a big transaction come back as text and finish to the same record', () => {
    const enc = createEncoder({ format: 'maxwell', partitionBy: 'table', partitions: 1 });
    const t = new TxnBuffer(2000);
    const evs = events().slice(0, 60);
    for (const ev of evs) t.add(enc.pending(ev)!);
    expect(t.spilled).toBe(true);
    const out = [...t.drain()].map((p, i) => enc.finish(p, 5, i, i === evs.length - 1));
    expect(out.map((r) => String(recordValue(r)))).toEqual(evs.map((ev, i) => expected(ev, 5, i, i === evs.length - 1).value));
    expect(out.map((r) => String(recordKey(r)))).toEqual(evs.map((ev) => maxwellKey(ev)));
  });
});
