/** Format recognition, and validation of Maxwell and Debezium with reasons that name the field. */
import { describe, expect, test } from 'bun:test';
import { detectFormat, validateAs } from '../../src/formats/detect';
import { validateDebezium } from '../../src/formats/validate-debezium';
import { validateMaxwell } from '../../src/formats/validate-maxwell';
import * as S from './corpus/good';

type Obj = Record<string, any>;
const obj = (s: string): Obj => JSON.parse(s) as Obj;
function edited(s: string, edit: (o: Obj) => void): Obj {
  const o = obj(s);
  edit(o);
  return o;
}

describe('detectFormat', () => {
  test.each([
    ['maxwell insert', S.MAXWELL_INSERT, 'maxwell'],
    ['maxwell update', S.MAXWELL_UPDATE, 'maxwell'],
    ['maxwell bootstrap-start', S.MAXWELL_BOOTSTRAP_START, 'maxwell'],
    ['maxwell DDL', S.MAXWELL_DDL, 'maxwell'],
    ['debezium create', S.DEBEZIUM_CREATE, 'debezium'],
    ['debezium delete', S.DEBEZIUM_DELETE, 'debezium'],
    ['debezium with schema wrapper', S.DEBEZIUM_WRAPPED, 'debezium'],
    ['canal insert', S.CANAL_INSERT, 'canal'],
    ['canal DDL', S.CANAL_DDL, 'canal'],
    ['app log start', S.APPLOG_START, 'applog'],
    ['app log page', S.APPLOG_PAGE, 'applog'],
  ])('%s', (_name, text, format) => {
    const o = obj(text);
    expect(detectFormat(o)).toBe(format as never);
    expect(validateAs(format as never, o)).toEqual([]);
  });

  test('a broken record is still recognised, so validation can say what is wrong', () => {
    expect(detectFormat(edited(S.MAXWELL_INSERT, (o) => (o.type = 'upsert')))).toBe('maxwell');
    expect(detectFormat(edited(S.DEBEZIUM_CREATE, (o) => (o.op = 'x')))).toBe('debezium');
    expect(detectFormat(edited(S.CANAL_INSERT, (o) => delete o.isDdl))).toBe('canal');
    // data as an array is Canal's shape, but a lower-case type and xid are Maxwell's: said as a Maxwell problem
    const mx = edited(S.MAXWELL_INSERT, (o) => (o.data = [1, 2]));
    expect(detectFormat(mx)).toBe('maxwell');
    expect(validateAs('maxwell', mx)).toEqual([expect.stringContaining('data')]);
    expect(detectFormat(edited(S.CANAL_INSERT, (o) => (delete o.isDdl, delete o.pkNames, delete o.mysqlType, delete o.sqlType)))).toBe('canal');
  });

  test.each([[[1, 2]], ['text'], [42], [null], [{}], [{ hello: 'world' }]])('%p is no known format', (v) => {
    expect(detectFormat(v)).toBeUndefined();
  });
});

describe('validateMaxwell', () => {
  test('every kind of record Maxwell writes is valid', () => {
    for (const s of [S.MAXWELL_INSERT, S.MAXWELL_UPDATE, S.MAXWELL_DELETE, S.MAXWELL_BOOTSTRAP_START, S.MAXWELL_BOOTSTRAP_INSERT, S.MAXWELL_DDL, S.BIG_NUMBERS]) {
      expect(validateMaxwell(obj(s))).toEqual([]);
    }
  });

  test('ts in ms on a row is named as such', () => {
    expect(validateMaxwell(edited(S.MAXWELL_INSERT, (o) => (o.ts = 1736821234000)))).toEqual([
      'ts: looks like ms (13 digits, 1736821234000), expected epoch seconds (10 digits)',
    ]);
  });

  test('DDL ts is ms: seconds there are named too', () => {
    expect(validateMaxwell(edited(S.MAXWELL_DDL, (o) => (o.ts = 1736821270)))).toEqual([
      'ts: looks like seconds (10 digits, 1736821270), expected epoch milliseconds (13 digits)',
    ]);
  });

  test.each([
    ['missing database', (o: Obj) => delete o.database, 'database: expected a non-empty string, got nothing'],
    ['table a number', (o: Obj) => (o.table = 5), 'table: expected a non-empty string, got number 5'],
    ['unknown type', (o: Obj) => (o.type = 'upsert'), 'type: expected one of insert, update, delete, bootstrap-insert'],
    ['ts a string', (o: Obj) => (o.ts = '1736821234'), 'ts: expected epoch seconds (a whole number), got string "1736821234"'],
    ['ts too small', (o: Obj) => (o.ts = 17368), 'ts: expected epoch seconds (10 digits), got number 17368'],
    ['data an array', (o: Obj) => (o.data = [1]), 'data: expected an object, got an array'],
    ['data missing', (o: Obj) => delete o.data, 'data: expected an object, got nothing'],
    ['xid negative', (o: Obj) => (o.xid = -1), 'xid: expected a whole number >= 0, got number -1'],
    ['commit false', (o: Obj) => (o.commit = false), 'commit: Maxwell writes commit only as true'],
    ['old on an insert', (o: Obj) => (o.old = { id: 1 }), 'old: only updates carry old, got one on an insert'],
  ])('%s', (_name, edit, reason) => {
    const reasons = validateMaxwell(edited(S.MAXWELL_INSERT, edit));
    expect(reasons.some((r) => r.startsWith(reason))).toBe(true);
  });

  test('old names only columns of data', () => {
    expect(validateMaxwell(edited(S.MAXWELL_UPDATE, (o) => (o.old.nope = 1)))).toEqual([
      'old.nope: not a column of data (old holds previous values of data columns)',
    ]);
  });
});

describe('validateDebezium', () => {
  test('c, u, d, r and the schema wrapper are valid', () => {
    for (const s of [S.DEBEZIUM_CREATE, S.DEBEZIUM_UPDATE, S.DEBEZIUM_DELETE, S.DEBEZIUM_SNAPSHOT, S.DEBEZIUM_WRAPPED]) expect(validateDebezium(obj(s))).toEqual([]);
  });

  test.each([
    ['unknown op', S.DEBEZIUM_CREATE, (o: Obj) => (o.op = 'x'), 'op: expected one of c, u, d, r, t, m, got string "x"'],
    ['create without after', S.DEBEZIUM_CREATE, (o: Obj) => (o.after = null), 'after: expected an object (the inserted row), got null'],
    ['delete with after', S.DEBEZIUM_DELETE, (o: Obj) => (o.after = { id: 1 }), 'after: expected null on a delete'],
    ['delete without before', S.DEBEZIUM_DELETE, (o: Obj) => (o.before = null), 'before: expected an object (the deleted row), got null'],
    ['ts_ms in seconds', S.DEBEZIUM_CREATE, (o: Obj) => (o.ts_ms = 1736821234), 'ts_ms: looks like seconds (10 digits, 1736821234), expected epoch milliseconds (13 digits)'],
    ['source.ts_ms in seconds', S.DEBEZIUM_CREATE, (o: Obj) => (o.source.ts_ms = 1736821234), 'source.ts_ms: looks like seconds'],
    ['source without db', S.DEBEZIUM_CREATE, (o: Obj) => delete o.source.db, 'source.db: expected a non-empty string, got nothing'],
    ['no source', S.DEBEZIUM_CREATE, (o: Obj) => delete o.source, 'source: expected an object, got nothing'],
    ['bad snapshot', S.DEBEZIUM_CREATE, (o: Obj) => (o.source.snapshot = 'maybe'), 'source.snapshot: expected one of true, false'],
  ])('%s', (_name, text, edit, reason) => {
    const reasons = validateDebezium(edited(text, edit));
    expect(reasons.some((r) => r.startsWith(reason))).toBe(true);
  });

  test('reasons inside the wrapper say payload.', () => {
    const o = obj(S.DEBEZIUM_WRAPPED);
    o.payload.op = 'x';
    expect(validateDebezium(o)[0]).toStartWith('payload.op: expected one of');
    expect(validateDebezium({ schema: {}, payload: 'x' })).toEqual(['payload: expected an object, got string "x"']);
  });
});
