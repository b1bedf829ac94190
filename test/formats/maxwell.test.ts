import { describe, expect, test } from 'bun:test';
import { dec, decimalUnits, ExactDecimal, txnEvents, updateOf, type ChangeEvent, type ChangeTxn } from '../../src/formats/change';
import {
  encodeMaxwell, javaStringHashCode, maxwellJson, maxwellKey, maxwellPartition, maxwellValue,
} from '../../src/formats/maxwell';

const before = { id: 935, order_status: '1005', total_amount: dec(129900), operate_time: null, user_id: 7 };

function ev(over: Partial<ChangeEvent> = {}): ChangeEvent {
  return { database: 'gmall', table: 'order_info', type: 'insert', ts: 1730107879_999, primaryKey: ['id'], data: before, ...over };
}

describe('maxwell value', () => {
  test('fields come in Maxwell order: database, table, type, ts, xid, xoffset|commit, data, old', () => {
    const upd = updateOf('order_info', before, { order_status: '1006', operate_time: '2025-01-14 10:00:00' })!;
    const json = maxwellJson(ev({ ...upd, xid: 29508, xoffset: 0, commit: true }));
    expect(json).toBe(
      '{"database":"gmall","table":"order_info","type":"update","ts":1730107879,"xid":29508,"commit":true,' +
        '"data":{"id":935,"order_status":"1006","total_amount":1299.00,"operate_time":"2025-01-14 10:00:00","user_id":7},' +
        '"old":{"order_status":"1005","operate_time":null}}',
    );
    expect(Object.keys(JSON.parse(json))).toEqual(['database', 'table', 'type', 'ts', 'xid', 'commit', 'data', 'old']);
  });

  test('ts is the event time in whole seconds', () => {
    expect(JSON.parse(maxwellJson(ev({ ts: 1736821234_999 }))).ts).toBe(1736821234);
    expect(JSON.parse(maxwellJson(ev({ ts: 1736821234_000 }))).ts).toBe(1736821234);
  });

  test('xoffset on every row but the last of a transaction, commit:true only on the last', () => {
    const txn: ChangeTxn = {
      xid: 77,
      ts: 1736821234_000,
      changes: [
        { table: 'order_info', type: 'insert', data: { id: 1 } },
        { table: 'order_detail', type: 'insert', data: { id: 10, order_id: 1 } },
        { table: 'order_detail', type: 'insert', data: { id: 11, order_id: 1 } },
      ],
    };
    const out = txnEvents(txn, 'gmall', () => ['id']).map((e) => JSON.parse(maxwellJson(e)) as Record<string, unknown>);
    expect(out.map((o) => [o.xid, o.xoffset, o.commit])).toEqual([[77, 0, undefined], [77, 1, undefined], [77, undefined, true]]);
    expect(Object.keys(out[0]!)).toEqual(['database', 'table', 'type', 'ts', 'xid', 'xoffset', 'data']);
    // output_xoffset=false and output_commit_info=false drop them as Maxwell does.
    const e0 = txnEvents(txn, 'gmall', () => ['id'])[0]!;
    expect(maxwellJson(e0, { xoffset: false })).not.toContain('xoffset');
    expect(maxwellJson(e0, { commitInfo: false })).not.toContain('xid');
  });

  test('old holds only the columns that changed, and is left out when nothing did', () => {
    const upd = updateOf('order_info', before, { order_status: '1005', total_amount: dec(129900), user_id: 8 })!;
    expect(upd.old).toEqual({ user_id: 7 });
    expect(updateOf('order_info', before, { order_status: '1005' })).toBeUndefined();
    expect(maxwellJson(ev({ type: 'update', old: {} }))).not.toContain('"old"');
    expect(() => updateOf('order_info', before, { nope: 1 })).toThrow(/no column nope/);
  });

  test('decimals keep every digit and their scale; nulls are written', () => {
    const big = new ExactDecimal('12345678901234567890.12');
    const json = maxwellJson(ev({ data: { id: 1, a: big, b: dec(5), c: dec(-5), d: dec(1299, 0), e: null } }));
    expect(json).toContain('"data":{"id":1,"a":12345678901234567890.12,"b":0.05,"c":-0.05,"d":1299,"e":null}');
    expect(decimalUnits(dec(129900))).toBe(129900);
    expect(decimalUnits('12.5')).toBe(1250);
    expect(() => maxwellValue(new ExactDecimal('1e5'))).toThrow(/not a decimal/);
  });

  test('strings are JSON-escaped, Chinese text stays as it is', () => {
    expect(maxwellValue('张三 "q"\n\\')).toBe('"张三 \\"q\\"\\n\\\\"');
    expect(maxwellValue(9007199254740993n)).toBe('9007199254740993');
  });
});

describe('maxwell key and partition', () => {
  test('the key is the hash form with pk.<column>', () => {
    expect(maxwellKey(ev())).toBe('{"database":"gmall","table":"order_info","pk.id":935}');
    expect(maxwellKey(ev({ primaryKey: ['ID', 'user_id'], data: { ID: 'a', user_id: 7 } }))).toBe(
      '{"database":"gmall","table":"order_info","pk.id":"a","pk.user_id":7}',
    );
  });

  test('a table without a primary key gets a _uuid', () => {
    const k = JSON.parse(maxwellKey(ev({ table: 'base_dic', primaryKey: [] }), { uuid: () => 'u-1' }));
    expect(k).toEqual({ database: 'gmall', table: 'base_dic', _uuid: 'u-1' });
    expect(JSON.parse(maxwellKey(ev({ table: 'base_dic', primaryKey: [] })))._uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('encodeMaxwell gives key and value', () => {
    const r = encodeMaxwell(ev({ xid: 1, xoffset: 0, commit: true }));
    expect(JSON.parse(r.key)['pk.id']).toBe(935);
    expect(JSON.parse(r.value).data.id).toBe(935);
  });

  test("Java's String.hashCode", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'));
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
  });

  test('partition by table is abs(hashCode % n), the same for every row of a table', () => {
    const n = 3;
    const p = maxwellPartition(ev(), n);
    expect(p).toBe(Math.abs(javaStringHashCode('order_info') % n));
    expect(maxwellPartition(ev({ data: { id: 1 } }), n)).toBe(p);
    // Integer.MIN_VALUE % 3 = -2 in Java and JS alike; abs → 2 (never negative).
    expect(maxwellPartition(ev({ table: 'polygenelubricants' }), 3)).toBe(2);
    expect(maxwellPartition(ev(), 1)).toBe(0);
    expect(() => maxwellPartition(ev(), 0)).toThrow();
  });

  test('partition by database and by primary key', () => {
    expect(maxwellPartition(ev(), 7, 'database')).toBe(Math.abs(javaStringHashCode('gmall') % 7));
    expect(maxwellPartition(ev(), 7, 'primary_key')).toBe(Math.abs(javaStringHashCode('935') % 7));
    expect(maxwellPartition(ev({ primaryKey: [] }), 7, 'primary_key')).toBe(Math.abs(javaStringHashCode('gmallorder_info') % 7));
  });
});
