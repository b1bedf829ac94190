import { describe, expect, test } from 'bun:test';
import { dec, ExactDecimal, FloatValue, RawJson, type ChangeEvent, type ColumnInfo } from '../../src/formats/change';
import {
  debeziumJson, debeziumKey, debeziumValue, decimalBase64, encodeDebezium, epochDays, epochMicros, epochMillis, isoTimestamp,
  timeMicros, twosComplementBytes,
} from '../../src/formats/debezium';

const columns: ColumnInfo[] = [
  { name: 'id', type: 'bigint' },
  { name: 'name', type: 'varchar', charset: 'utf8mb4' },
  { name: 'amount', type: 'decimal', precision: 16, scale: 2 },
  { name: 'create_time', type: 'datetime', fsp: 0 },
];

function ev(over: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    database: 'gmall',
    table: 'order_info',
    type: 'insert',
    ts: 1736821234_000,
    primaryKey: ['id'],
    data: { id: 7, name: '张三', amount: dec(129900), create_time: '2025-01-14 10:20:34' },
    columns,
    source: { file: 'mysql-bin.000003', pos: 1234, row: 0, serverId: 1, gtid: '0-1-99', thread: null, snapshot: 'false' },
    ...over,
  };
}

describe('debezium envelope', () => {
  test('insert: before null, after the row, source with binlog coordinates, op c, field order of Flink CDC', () => {
    const json = debeziumJson(ev(), { now: () => 1736821299_123 })!;
    const o = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['before', 'after', 'source', 'op', 'ts_ms', 'transaction']);
    expect(o.before).toBeNull();
    expect(o.op).toBe('c');
    expect(o.ts_ms).toBe(1736821299_123);
    expect(o.transaction).toBeNull();
    expect(o.after).toEqual({ id: 7, name: '张三', amount: 'Afts', create_time: Date.UTC(2025, 0, 14, 10, 20, 34) });
    const src = o.source as Record<string, unknown>;
    expect(Object.keys(src)).toEqual(['version', 'connector', 'name', 'ts_ms', 'snapshot', 'db', 'sequence', 'table', 'server_id', 'gtid', 'file', 'pos', 'row', 'thread', 'query']);
    expect(src).toEqual({
      version: '1.9.8.Final', connector: 'mysql', name: 'mysql_binlog_source', ts_ms: 1736821234_000, snapshot: 'false', db: 'gmall',
      sequence: null, table: 'order_info', server_id: 1, gtid: '0-1-99', file: 'mysql-bin.000003', pos: 1234, row: 0, thread: null, query: null,
    });
  });

  test('update: before is the whole row before (data with old put back), after the row', () => {
    const o = JSON.parse(debeziumJson(ev({ type: 'update', data: { id: 7, name: 'b', amount: dec(1), create_time: null }, old: { name: 'a' } }))!);
    expect(o.op).toBe('u');
    expect(o.before).toEqual({ id: 7, name: 'a', amount: 'AQ==', create_time: null });
    expect(o.after).toEqual({ id: 7, name: 'b', amount: 'AQ==', create_time: null });
  });

  test('delete: op d, after null', () => {
    const o = JSON.parse(debeziumJson(ev({ type: 'delete' }))!);
    expect(o.op).toBe('d');
    expect(o.after).toBeNull();
    expect(o.before.id).toBe(7);
  });

  test('snapshot rows: op r with source.snapshot true/last; bootstrap start/complete have no Debezium record', () => {
    const o = JSON.parse(debeziumJson(ev({ bootstrap: 'insert', source: undefined }))!);
    expect(o.op).toBe('r');
    expect(o.source.snapshot).toBe('true');
    const last = JSON.parse(debeziumJson(ev({ bootstrap: 'insert', source: { file: '', pos: 0, row: 0, serverId: 1, gtid: null, thread: null, snapshot: 'last' } }))!);
    expect(last.source.snapshot).toBe('last');
    expect(debeziumJson(ev({ bootstrap: 'start', data: {} }))).toBeNull();
    expect(encodeDebezium(ev({ bootstrap: 'complete', data: {} }))).toBeNull();
  });

  test('key: the primary key as an object; null without one', () => {
    expect(debeziumKey(ev())).toBe('{"id":7}');
    expect(debeziumKey(ev({ primaryKey: [] }))).toBeNull();
  });
});

describe('debezium value encodings', () => {
  test('DATE → days since the epoch; zero dates null', () => {
    expect(epochDays('1970-01-02')).toBe(1);
    expect(epochDays('2025-01-14')).toBe(20102);
    expect(epochDays('1969-12-31')).toBe(-1);
    expect(epochDays('0000-00-00')).toBeNull();
    expect(debeziumValue('2025-01-14', { name: 'd', type: 'date' })).toBe('20102');
  });

  test('DATETIME(0–3) → epoch ms, DATETIME(4–6) → epoch µs, the wall clock read as UTC', () => {
    expect(epochMillis('2025-01-14 10:20:34')).toBe(Date.UTC(2025, 0, 14, 10, 20, 34));
    expect(epochMillis('2025-01-14 10:20:34.123')).toBe(Date.UTC(2025, 0, 14, 10, 20, 34, 123));
    expect(epochMicros('2025-01-14 10:20:34.123456')).toBe(Date.UTC(2025, 0, 14, 10, 20, 34) * 1000 + 123456);
    expect(debeziumValue('2025-01-14 10:20:34.5', { name: 'x', type: 'datetime', fsp: 1 })).toBe(String(Date.UTC(2025, 0, 14, 10, 20, 34, 500)));
    expect(debeziumValue('2025-01-14 10:20:34.000001', { name: 'x', type: 'datetime', fsp: 6 })).toBe(String(Date.UTC(2025, 0, 14, 10, 20, 34) * 1000 + 1));
    expect(debeziumValue('0000-00-00 00:00:00', { name: 'x', type: 'datetime' })).toBe('null');
  });

  test('TIMESTAMP → ISO-8601 in UTC with Z, fraction only as long as needed', () => {
    expect(isoTimestamp('2025-01-14 02:20:34')).toBe('"2025-01-14T02:20:34Z"');
    expect(isoTimestamp('2025-01-14 02:20:34.120000')).toBe('"2025-01-14T02:20:34.12Z"');
    expect(debeziumValue('2025-01-14 02:20:34', { name: 't', type: 'timestamp' })).toBe('"2025-01-14T02:20:34Z"');
  });

  test('TIME → µs, negative and beyond 24 h', () => {
    expect(timeMicros('00:00:01')).toBe(1_000_000);
    expect(timeMicros('838:59:59')).toBe(((838 * 60 + 59) * 60 + 59) * 1_000_000);
    expect(timeMicros('-01:00:00.5')).toBe(-3_600_500_000);
  });

  test('DECIMAL → base64 of the unscaled two\'s-complement integer (BigInteger.toByteArray)', () => {
    expect([...twosComplementBytes(0n)]).toEqual([0]);
    expect([...twosComplementBytes(127n)]).toEqual([127]);
    expect([...twosComplementBytes(128n)]).toEqual([0, 128]);
    expect([...twosComplementBytes(-1n)]).toEqual([255]);
    expect([...twosComplementBytes(-128n)]).toEqual([128]);
    expect([...twosComplementBytes(-129n)]).toEqual([255, 127]);
    expect(decimalBase64('1299.00')).toBe(Buffer.from([0x01, 0xfb, 0x6c]).toString('base64'));
    expect(decimalBase64('-0.05')).toBe(Buffer.from([0xfb]).toString('base64'));
    // DECIMAL(65,30): 35 + 30 digits, all kept.
    const big = `${'9'.repeat(35)}.${'9'.repeat(30)}`;
    const bytes = Buffer.from(decimalBase64(big), 'base64');
    expect(BigInt(`0x${bytes.toString('hex')}`)).toBe(BigInt('9'.repeat(65)));
  });

  test('BIGINT UNSIGNED (precise) → base64 bytes; signed BIGINT a number', () => {
    const max = 18446744073709551615n;
    const b = Buffer.from(JSON.parse(debeziumValue(max, { name: 'u', type: 'bigint', unsigned: true })) as string, 'base64');
    expect([...b]).toEqual([0, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(debeziumValue(5, { name: 'u', type: 'bigint', unsigned: true })).toBe('"BQ=="');
    expect(debeziumValue(-9223372036854775808n, { name: 's', type: 'bigint' })).toBe('-9223372036854775808');
  });

  test('BIT(1) → boolean, BIT(n) → little-endian bytes', () => {
    expect(debeziumValue(1, { name: 'b', type: 'bit', bits: 1 })).toBe('true');
    expect(debeziumValue(0, { name: 'b', type: 'bit', bits: 1 })).toBe('false');
    expect(debeziumValue(0x0102, { name: 'b', type: 'bit', bits: 16 })).toBe(`"${Buffer.from([2, 1]).toString('base64')}"`);
  });

  test('JSON → string, SET → "a,b", ENUM string, BLOB base64, floats as Java prints them', () => {
    expect(debeziumValue(new RawJson('{"a":[1,2]}'), { name: 'j', type: 'json' })).toBe('"{\\"a\\":[1,2]}"');
    expect(debeziumValue(['a', 'b'], { name: 's', type: 'set' })).toBe('"a,b"');
    expect(debeziumValue([], { name: 's', type: 'set' })).toBe('""');
    expect(debeziumValue('x', { name: 'e', type: 'enum' })).toBe('"x"');
    expect(debeziumValue(new Uint8Array([0, 1, 255]), { name: 'b', type: 'blob' })).toBe('"AAH/"');
    expect(debeziumValue(new FloatValue(1, false), { name: 'd', type: 'double' })).toBe('1.0');
    expect(debeziumValue(new ExactDecimal('1.5'))).toBe('"Dw=="');
  });
});
