/**
 * checkRecord (bytes → format + validity + one reason), decodeChanges (exact values), and the corpus of malformed
 * records: each is rejected with its reason and none throws.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExactDecimal } from '../../src/formats/change';
import { checkRecord, firstInvalidUtf8, reasonText } from '../../src/formats/validate';
import { decodeChanges, keyColumns, parseExact } from '../../src/formats/validated-change';
import { CORPUS, CORPUS_DIR, generatedCorpus } from './corpus/index';
import * as S from './corpus/good';

describe('checkRecord', () => {
  test('valid records of each format', () => {
    for (const [s, f] of [
      [S.MAXWELL_INSERT, 'maxwell'],
      [S.DEBEZIUM_WRAPPED, 'debezium'],
      [S.CANAL_UPDATE, 'canal'],
      [S.APPLOG_PAGE, 'applog'],
    ] as const) {
      const c = checkRecord(Buffer.from(s));
      expect(c).toMatchObject({ ok: true, format: f, text: s });
    }
  });

  test('null and empty values', () => {
    expect(checkRecord(null)).toMatchObject({ ok: false, problem: 'null value' });
    expect(checkRecord(Buffer.alloc(0))).toMatchObject({ ok: false, problem: 'empty value' });
  });

  test('reasonText: the problem, then at most 3 field reasons', () => {
    const c = checkRecord('{"database":1,"table":2,"type":3,"ts":"x","data":5}');
    if (c.ok) throw new Error('expected invalid');
    expect(reasonText(c)).toStartWith('invalid maxwell: type: expected one of');
    expect(reasonText(c)).toMatch(/\(\+\d+ more\)$/);
  });

  test('firstInvalidUtf8 points at the first bad byte', () => {
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe5, 0x8c, 0x97, 0xff]))).toBe(4);
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(firstInvalidUtf8(Buffer.from('北京'))).toBe(-1);
  });
});

describe('corpus of malformed records', () => {
  test('every file is listed', () => {
    const files = readdirSync(CORPUS_DIR).filter((f) => f !== 'README.md' && !f.endsWith('.ts')).sort();
    expect(files).toEqual(Object.keys(CORPUS).sort());
  });

  test.each(Object.entries(CORPUS))('%s', (file, [problem, reason]) => {
    const c = checkRecord(readFileSync(join(CORPUS_DIR, file)));
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.problem as string).toBe(problem);
    expect(reasonText(c, 20)).toContain(reason);
  });

  test.each(Object.entries(generatedCorpus()))('%s', (_name, [bytes, problem, reason]) => {
    const c = checkRecord(bytes);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.problem as string).toBe(problem);
    expect(reasonText(c)).toContain(reason);
    // Decoding never throws either.
    expect(decodeChanges(bytes).ok).toBe(false);
  });
});

describe('decodeChanges: exact values', () => {
  test('the fast path (no fraction, exponent or 16-digit number in the text) and the exact path agree', () => {
    const head = '{"database":"gmall","table":"t","type":"insert","ts":1736812800,"xid":1,"commit":true,"data":';
    const fast = decodeChanges(`${head}{"id":1,"n":-12,"mail":"x@163.com","v":"2.50"}}`);
    const exact = decodeChanges(`${head}{"id":1,"n":-12,"mail":"x@163.com","v":"2.50","d":1299.00,"big":12345678901234567890,"e":1e5}}`);
    if (!fast.ok || !exact.ok) throw new Error('expected both to decode');
    expect(fast.changes[0]!.data).toEqual({ id: 1, n: -12, mail: 'x@163.com', v: '2.50' });
    const d = exact.changes[0]!.data;
    expect(d.d).toEqual(new ExactDecimal('1299.00'));
    expect(d.big).toBe(12345678901234567890n);
    expect(d.e).toBe(100000);
    expect({ id: d.id, n: d.n, mail: d.mail, v: d.v } as Record<string, unknown>).toEqual(fast.changes[0]!.data as Record<string, unknown>);
  });

  test('big integers and decimals keep every digit', () => {
    const d = decodeChanges(S.BIG_NUMBERS);
    if (!d.ok) throw new Error(d.reasons.join('; '));
    const row = d.changes[0]!.data;
    expect(row.id).toBe(9007199254740993n);
    expect(row.u64).toBe(18446744073709551615n);
    expect(row.neg).toBe(-9007199254740993n);
    expect(row.amount).toEqual(new ExactDecimal('123456789012345678901234.123456789'));
    expect((row.tiny as ExactDecimal).text).toBe('0.000000000000000000000000000001');
  });

  test('parseExact: safe integers stay numbers, exponents numbers', () => {
    expect(parseExact('{"a":1,"b":1.5e3,"c":[2.50]}')).toEqual({ a: 1, b: 1500, c: [new ExactDecimal('2.50')] });
  });

  test('maxwell: ts in ms, bootstrap-insert is a snapshot insert, pk from the key', () => {
    const d = decodeChanges(S.MAXWELL_BOOTSTRAP_INSERT, { key: '{"database":"gmall","table":"base_province","pk.id":1}' });
    expect(d).toMatchObject({ ok: true, format: 'maxwell', changes: [{ type: 'insert', snapshot: true, table: 'base_province', ts: 1736821260000, primaryKey: ['id'] }] });
    const u = decodeChanges(S.MAXWELL_UPDATE);
    expect(u).toMatchObject({ ok: true, changes: [{ type: 'update', old: { order_status: '1001', operate_time: null }, xid: 8813, commit: true }] });
    expect(decodeChanges(S.MAXWELL_BOOTSTRAP_START)).toMatchObject({ ok: true, changes: [] });
    expect(decodeChanges(S.MAXWELL_DDL)).toMatchObject({ ok: true, changes: [] });
  });

  test('debezium: op → type, delete carries before, update old = changed columns, wrapper unwrapped', () => {
    expect(decodeChanges(S.DEBEZIUM_WRAPPED)).toMatchObject({ ok: true, format: 'debezium', changes: [{ type: 'insert', database: 'gmall', table: 'base_province', ts: 1736821234000 }] });
    expect(decodeChanges(S.DEBEZIUM_UPDATE)).toMatchObject({ ok: true, changes: [{ type: 'update', data: { order_status: '1002' }, old: { order_status: '1001' } }] });
    expect(decodeChanges(S.DEBEZIUM_DELETE)).toMatchObject({ ok: true, changes: [{ type: 'delete', data: { id: 12, sku_id: 3 } }] });
    // Snapshot rows with source.ts_ms 0 fall back to the payload's ts_ms.
    expect(decodeChanges(S.DEBEZIUM_SNAPSHOT)).toMatchObject({ ok: true, changes: [{ type: 'insert', snapshot: true, ts: 1736821260123 }] });
    expect(keyColumns('{"schema":{},"payload":{"id":1}}')).toEqual(['id']);
  });

  test('canal: one change per row, old aligned, pk from pkNames', () => {
    const d = decodeChanges(S.CANAL_INSERT);
    if (!d.ok) throw new Error('expected ok');
    expect(d.changes.map((c) => c.data.name)).toEqual(['北京', '天津']);
    expect(d.changes[0]).toMatchObject({ type: 'insert', primaryKey: ['id'], ts: 1736821234000 });
    expect(decodeChanges(S.CANAL_UPDATE)).toMatchObject({ ok: true, changes: [{ type: 'update', old: { order_status: '1001' } }] });
    expect(decodeChanges(S.CANAL_DDL)).toMatchObject({ ok: true, changes: [] });
  });

  test('app logs and broken records are not changes', () => {
    expect(decodeChanges(S.APPLOG_START)).toMatchObject({ ok: false, problem: 'not a change' });
    expect(decodeChanges('{"database":')).toMatchObject({ ok: false, problem: 'invalid JSON' });
  });
});
