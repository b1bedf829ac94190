/**
 * Debezium values decode to what the Maxwell path gives for the same change: each encoding of
 * src/formats/debezium.ts written and read back through decodeChanges, against the Maxwell record of the same
 * ChangeEvent — without a schema (the gmall catalog types the columns) and with one (--debezium-schemas).
 */
import { describe, expect, test } from 'bun:test';
import { dec, FloatValue, RawJson, type ChangeEvent, type ColumnInfo, type Row } from '../../src/formats/change';
import { debeziumJson, debeziumKey, decimalBase64 } from '../../src/formats/debezium';
import { maxwellJson } from '../../src/formats/maxwell';
import { decodeChanges, warnUntypedOnce, type DecodeResult } from '../../src/formats/validated-change';
import { tableColumns, TABLES } from '../../src/mock/db/schema';

function event(table: string, data: Row, over: Partial<ChangeEvent> = {}): ChangeEvent {
  return { database: 'gmall', table, type: 'insert', ts: 1736821234_000, primaryKey: ['id'], data, ...over };
}

function changes(r: DecodeResult) {
  if (!r.ok) throw new Error(`${r.problem}: ${r.reasons.join('; ')}`);
  return r.changes.map(({ type, table, database, data, old, ts }) => ({ type, table, database, data, old, ts }));
}

/** The change as the jobs read it from Maxwell, and from Debezium (with or without schema). */
function both(ev: ChangeEvent, schemas: boolean) {
  const maxwell = changes(decodeChanges(maxwellJson(ev)));
  const value = debeziumJson(ev, { now: () => ev.ts + 7, schemas })!;
  const untyped: string[] = [];
  const debezium = changes(decodeChanges(value, { key: debeziumKey(ev, { schemas }), onUntyped: (_d, t) => untyped.push(t) }));
  return { maxwell, debezium, value, untyped };
}

/** A row of plausible values for every column of a gmall table (by its catalog type). */
function gmallRow(cols: readonly ColumnInfo[], i: number): Row {
  const row: Row = {};
  for (const c of cols) {
    switch (c.type) {
      case 'decimal':
        row[c.name] = dec((i % 2 === 0 ? -1 : 1) * (12345 + i), c.scale);
        break;
      case 'datetime':
        row[c.name] = `2025-01-14 ${String(i % 24).padStart(2, '0')}:05:09`;
        break;
      case 'date':
        row[c.name] = i % 2 === 0 ? '1965-03-02' : '2025-01-14';
        break;
      case 'bigint':
      case 'int':
      case 'tinyint':
        row[c.name] = i + 1;
        break;
      default:
        row[c.name] = i % 3 === 0 ? null : `v${i} 张三`;
    }
  }
  return row;
}

describe('without a schema: the gmall catalog types the columns', () => {
  for (const t of TABLES) {
    test(`${t.name}: every column decodes to the Maxwell value`, () => {
      const cols = tableColumns(t.name)!;
      for (const i of [0, 1, 3]) {
        const ev = event(t.name, gmallRow(cols, i), { columns: cols, primaryKey: t.primaryKey });
        const { maxwell, debezium, untyped } = both(ev, false);
        expect(debezium).toEqual(maxwell);
        expect(untyped).toEqual([]);
      }
    });
  }

  test('the encodings as the audit found them on ods_db: DECIMAL base64, DATETIME epoch ms, DATE days', () => {
    const cols = tableColumns('sku_info')!;
    const ev = event('sku_info', { ...gmallRow(cols, 1), weight: dec(24), price: dec(-5, 0), create_time: '2025-01-14 10:00:00' }, { columns: cols });
    const { debezium, value } = both(ev, false);
    const after = (JSON.parse(value) as { after: Record<string, unknown> }).after;
    expect(after.weight).toBe('GA==');
    expect(after.create_time).toBe(Date.UTC(2025, 0, 14, 10));
    expect(debezium[0]!.data.weight).toEqual(dec(24));
    expect(debezium[0]!.data.price).toBe(-5);
    expect(debezium[0]!.data.create_time).toBe('2025-01-14 10:00:00');
    const user = tableColumns('user_info')!;
    const u = both(event('user_info', { ...gmallRow(user, 1), birthday: '1931-12-31' }, { columns: user }), false);
    expect((JSON.parse(u.value) as { after: Record<string, unknown> }).after.birthday).toBeLessThan(0);
    expect(u.debezium[0]!.data.birthday).toBe('1931-12-31');
  });

  test('an update: before and after decoded, old = the changed columns with their decoded previous values', () => {
    const cols = tableColumns('order_info')!;
    const data = { ...gmallRow(cols, 1), total_amount: dec(100050), order_status: '1002', operate_time: '2025-01-14 11:00:00' };
    const ev = event('order_info', data, { type: 'update', columns: cols, old: { total_amount: dec(-100), order_status: '1001', operate_time: null } });
    const { maxwell, debezium } = both(ev, false);
    expect(debezium).toEqual(maxwell);
    expect(debezium[0]!.old).toEqual({ total_amount: dec(-100), order_status: '1001', operate_time: null });
  });

  test('NULLs stay null; a delete decodes the deleted row', () => {
    const cols = tableColumns('cart_info')!;
    const data: Row = Object.fromEntries(cols.map((c) => [c.name, null]));
    data.id = 9;
    for (const type of ['insert', 'delete'] as const) {
      const { maxwell, debezium } = both(event('cart_info', data, { type, columns: cols }), false);
      expect(debezium).toEqual(maxwell);
    }
  });

  test('a table outside the catalog passes as it came, and onUntyped names it', () => {
    const ev = event('not_gmall', { id: 1, amount: dec(1250), at: '2025-01-14 10:00:00' }, { columns: [{ name: 'id', type: 'bigint' }, { name: 'amount', type: 'decimal', precision: 10, scale: 2 }, { name: 'at', type: 'datetime', fsp: 0 }] });
    const { debezium, untyped } = both(ev, false);
    expect(debezium[0]!.data).toEqual({ id: 1, amount: decimalBase64('12.50'), at: Date.UTC(2025, 0, 14, 10) });
    expect(untyped).toEqual(['not_gmall']);
  });

  test('a value that does not decode makes the record invalid, with a reason naming the column, the value and what was expected', () => {
    const cols = tableColumns('sku_info')!;
    const value = debeziumJson(event('sku_info', { ...gmallRow(cols, 1), weight: dec(24) }, { columns: cols }))!;
    const bad = decodeChanges(value.replace('"weight":"GA=="', '"weight":"GA=!"'));
    expect(bad).toEqual({ ok: false, problem: 'invalid debezium', reasons: ['after.weight: expected DECIMAL(10,2) as base64 of its unscaled integer, got string "GA=!"'] });
    const text = decodeChanges(value.replace('"weight":"GA=="', '"weight":"0.24"'));
    expect(text.ok).toBe(false);
    if (!text.ok) expect(text.reasons).toEqual(['after.weight: expected DECIMAL(10,2) as base64 of its unscaled integer, got string "0.24"']);
    const date = decodeChanges(value.replace(/"create_time":\d+/, '"create_time":"2025-01-14 10:00:00"'));
    expect(date.ok).toBe(false);
    if (!date.ok) expect(date.reasons).toEqual(['after.create_time: expected DATETIME as epoch milliseconds, got string "2025-01-14 10:00:00"']);
  });

  test('warnUntypedOnce says it once per table, naming the cdc option that fixes it', () => {
    const said: string[] = [];
    const warn = warnUntypedOnce((m) => said.push(m));
    const value = debeziumJson(event('not_gmall', { id: 1 }))!;
    for (let i = 0; i < 5; i++) decodeChanges(value, { onUntyped: warn });
    decodeChanges(debeziumJson(event('other', { id: 1 }))!, { onUntyped: warn });
    expect(said.length).toBe(2);
    expect(said[0]).toStartWith('gmall.not_gmall: Debezium records without a schema');
    expect(said[0]).toContain('--debezium-schemas');
  });
});

describe('with a schema (--debezium-schemas): every column decoded by its field schema', () => {
  const columns: ColumnInfo[] = [
    { name: 'id', type: 'bigint', nullable: false },
    { name: 'i', type: 'int' },
    { name: 'iu', type: 'int', unsigned: true },
    { name: 'bu', type: 'bigint', unsigned: true },
    { name: 'bs', type: 'bigint' },
    { name: 'd2', type: 'decimal', precision: 16, scale: 2 },
    { name: 'd0', type: 'decimal', precision: 10, scale: 0 },
    { name: 'd65', type: 'decimal', precision: 65, scale: 30 },
    { name: 'f', type: 'float' },
    { name: 'db', type: 'double' },
    { name: 'dt', type: 'datetime', fsp: 0 },
    { name: 'dt3', type: 'datetime', fsp: 3 },
    { name: 'dt6', type: 'datetime', fsp: 6 },
    { name: 'ts', type: 'timestamp', fsp: 3 },
    { name: 'dd', type: 'date' },
    { name: 'tm', type: 'time', fsp: 0 },
    { name: 'tm6', type: 'time', fsp: 6 },
    { name: 'yr', type: 'year' },
    { name: 'vc', type: 'varchar', charset: 'utf8mb4' },
    { name: 'bl', type: 'blob', charset: null },
    { name: 'js', type: 'json' },
    { name: 'en', type: 'enum', enumValues: ['a', 'b'] },
    { name: 'st', type: 'set', enumValues: ['x', 'y', 'z'] },
    { name: 'bt', type: 'bit', bits: 1 },
    { name: 'b12', type: 'bit', bits: 12 },
  ];
  const D65 = '12345678901234567890123456789012345.123456789012345678901234567890';
  const rows: Row[] = [
    {
      id: 1, i: -2147483648, iu: 4294967295, bu: 18446744073709551615n, bs: -9223372036854775808n,
      d2: dec(-129950), d0: dec(10, 0), d65: dec(BigInt(D65.replace('.', '')), 30), f: new FloatValue(1.100000023841858, true), db: new FloatValue(3.141592653589793, false),
      dt: '2025-01-14 10:20:30', dt3: '2025-01-14 10:20:30.500', dt6: '1969-12-31 23:59:59.999999', ts: '2025-01-14 02:20:30.250', dd: '1965-03-02',
      tm: '-01:02:03', tm6: '01:02:03.000004', yr: 2025, vc: '张三 "quoted"\nnew line', bl: new Uint8Array([0, 255, 16]),
      js: new RawJson('{"b":[1,2.5,"x"],"a":{"n":null,"big":12345678901234567890}}'), en: 'b', st: ['x', 'z'], bt: 1, b12: 2730,
    },
    { id: 2, i: 0, iu: 0, bu: 0, bs: 0, d2: dec(0), d0: dec(-7, 0), d65: dec(0, 30), f: new FloatValue(0.000123, true), db: new FloatValue(1e10, false),
      dt: '1900-01-01 00:00:00', dt3: '2025-01-14 10:20:30.000', dt6: '2025-01-14 10:20:30.000000', ts: '1970-01-01 00:00:01.000', dd: '0001-01-01',
      tm: '838:59:59', tm6: '-00:00:00.000001', yr: 0, vc: '', bl: new Uint8Array(0), js: new RawJson('[]'), en: 'a', st: [], bt: 0, b12: 1 },
    Object.fromEntries(columns.map((c) => [c.name, c.name === 'id' ? 3 : null])),
  ];

  rows.forEach((data, n) => {
    test(`row ${n + 1}: insert and update decode to the Maxwell values (no catalog involved)`, () => {
      const ev = event('types', data, { columns });
      const ins = both(ev, true);
      expect(ins.debezium).toEqual(ins.maxwell);
      expect(ins.untyped).toEqual([]);
      const upd = both({ ...ev, type: 'update', data: { ...data, d2: dec(1), dt6: '2024-12-31 23:59:59.999999' }, old: { d2: data.d2!, dt6: data.dt6! } }, true);
      expect(upd.debezium).toEqual(upd.maxwell);
    });
  });

  test('the values are those MySQL holds: DECIMAL(65,30), DATETIME(6) before 1970, TIMESTAMP(3), BIT, SET, JSON', () => {
    const { debezium } = both(event('types', rows[0]!, { columns }), true);
    const d = debezium[0]!.data;
    expect(d.d65).toEqual(dec(BigInt(D65.replace('.', '')), 30));
    expect(d.d2).toEqual(dec(-129950));
    expect(d.bu).toBe(18446744073709551615n);
    expect(d.dt6).toBe('1969-12-31 23:59:59.999999');
    expect(d.ts).toBe('2025-01-14 02:20:30.250');
    expect(d.dd).toBe('1965-03-02');
    expect(d.tm).toBe('-01:02:03');
    expect(d.bt).toBe(1);
    expect(d.b12).toBe(2730);
    expect(d.st).toEqual(['x', 'z']);
    expect((d.js as Record<string, unknown>).a).toEqual({ n: null, big: 12345678901234567890n });
  });

  test('the envelope: schema and payload, the Value struct with each column\'s Kafka Connect type; the key too', () => {
    const ev = event('types', rows[0]!, { columns });
    const o = JSON.parse(debeziumJson(ev, { schemas: true })!) as { schema: { name: string; fields: { field: string; fields?: Record<string, unknown>[] }[] }; payload: Record<string, unknown> };
    expect(Object.keys(o)).toEqual(['schema', 'payload']);
    expect(o.schema.name).toBe('mysql_binlog_source.gmall.types.Envelope');
    expect(o.schema.fields.map((f) => f.field)).toEqual(['before', 'after', 'source', 'op', 'ts_ms', 'transaction']);
    const after = Object.fromEntries(o.schema.fields[1]!.fields!.map((f) => [f.field, f]));
    expect(after.d2).toMatchObject({ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '16' } });
    expect(after.dt).toMatchObject({ type: 'int64', name: 'io.debezium.time.Timestamp' });
    expect(after.dt6).toMatchObject({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' });
    expect(after.ts).toMatchObject({ type: 'string', name: 'io.debezium.time.ZonedTimestamp', parameters: { '__debezium.source.column.length': '3' } });
    expect(after.dd).toMatchObject({ type: 'int32', name: 'io.debezium.time.Date' });
    expect(after.tm).toMatchObject({ type: 'int64', name: 'io.debezium.time.MicroTime' });
    expect(after.b12).toMatchObject({ type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '12' } });
    expect(after.bu).toMatchObject({ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '0' } });
    expect(after.id).toMatchObject({ type: 'int64', optional: false });
    expect(o.payload.op).toBe('c');
    expect(JSON.parse(debeziumKey(ev, { schemas: true })!)).toEqual({
      schema: { type: 'struct', fields: [{ type: 'int64', optional: false, parameters: { '__debezium.source.column.type': 'BIGINT' }, field: 'id' }], optional: false, name: 'mysql_binlog_source.gmall.types.Key' },
      payload: { id: 1 },
    });
  });

  test('the schema decides, not the catalog: a gmall table\'s column typed otherwise by its schema is read by the schema', () => {
    // sku_info.weight is DECIMAL(10,2) in the catalog; this source has it as DECIMAL(10,3)
    const cols: ColumnInfo[] = [{ name: 'id', type: 'bigint' }, { name: 'weight', type: 'decimal', precision: 10, scale: 3 }];
    const { maxwell, debezium } = both(event('sku_info', { id: 1, weight: dec(1500, 3) }, { columns: cols }), true);
    expect(debezium).toEqual(maxwell);
    expect(debezium[0]!.data.weight).toEqual(dec(1500, 3));
  });

  test('a value of the wrong type for its schema, or bad base64, is a bad record naming the column, the value and the type', () => {
    const value = debeziumJson(event('types', rows[0]!, { columns }), { schemas: true })!;
    const d2 = decimalBase64('-1299.50');
    const cases: [string, string][] = [
      [value.replace(`"d2":"${d2}"`, '"d2":"@@@@"'), 'payload.after.d2: expected DECIMAL(16,2) as base64 of its unscaled integer, got string "@@@@"'],
      [value.replace(`"d2":"${d2}"`, '"d2":-1299.5'), 'payload.after.d2: expected DECIMAL(16,2) as base64 of its unscaled integer, got number -1299.5'],
      [value.replace(/"dd":-?\d+/, '"dd":"1965-03-02"'), 'payload.after.dd: expected days since 1970-01-01 (a whole number), got string "1965-03-02"'],
      [value.replace('"ts":"2025-01-14T02:20:30.25Z"', '"ts":1736821230250'), 'payload.after.ts: expected an ISO-8601 UTC timestamp ("…Z"), got number 1736821230250'],
      [value.replace('"bt":true', '"bt":1'), 'payload.after.bt: expected true or false, got number 1'],
      [value.replace('"i":-2147483648', '"i":"x"'), 'payload.after.i: expected a whole number, got string "x"'],
    ];
    for (const [v, reason] of cases) {
      expect(v).not.toBe(value);
      expect(decodeChanges(v)).toEqual({ ok: false, problem: 'invalid debezium', reasons: [reason] });
    }
  });

  test('a schema that lists no columns is read like no schema: by the catalog, else as it came', () => {
    const cols = tableColumns('sku_info')!;
    const ev = event('sku_info', { ...gmallRow(cols, 1), weight: dec(24) }, { columns: cols });
    const payload = (JSON.parse(debeziumJson(ev)!) as Record<string, unknown>);
    const r = changes(decodeChanges(JSON.stringify({ schema: { type: 'struct', fields: [] }, payload })));
    expect(r[0]!.data.weight).toEqual(dec(24));
    const untyped: string[] = [];
    const other = changes(decodeChanges(JSON.stringify({ schema: null, payload: { ...payload, source: { ...(payload.source as object), table: 'x' } } }), { onUntyped: (_d, t) => untyped.push(t) }));
    expect(other[0]!.data.weight).toBe('GA==');
    expect(untyped).toEqual(['x']);
  });
});
