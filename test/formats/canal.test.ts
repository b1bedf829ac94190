/** Canal flat messages: valid ones pass, broken ones fail with reasons naming the field. */
import { describe, expect, test } from 'bun:test';
import { validateCanal } from '../../src/formats/canal';
import { CANAL_DDL, CANAL_INSERT, CANAL_UPDATE } from './corpus/good';

type Obj = Record<string, any>;
function edited(s: string, edit: (o: Obj) => void): Obj {
  const o = JSON.parse(s) as Obj;
  edit(o);
  return o;
}

describe('validateCanal', () => {
  test('insert (two rows), update with old, DDL', () => {
    for (const s of [CANAL_INSERT, CANAL_UPDATE, CANAL_DDL]) expect(validateCanal(JSON.parse(s))).toEqual([]);
  });

  test.each([
    ['a number value', CANAL_INSERT, (o: Obj) => (o.data[1].id = 2), 'data[1].id: expected a string or null (Canal writes values as text), got number 2'],
    ['lower-case type', CANAL_INSERT, (o: Obj) => (o.type = 'insert'), 'type: expected one of INSERT, UPDATE, DELETE'],
    ['es in seconds', CANAL_INSERT, (o: Obj) => (o.es = 1736821234), 'es: looks like seconds (10 digits, 1736821234), expected epoch milliseconds (13 digits)'],
    ['isDdl missing', CANAL_INSERT, (o: Obj) => delete o.isDdl, 'isDdl: expected true or false, got nothing'],
    ['data an object', CANAL_INSERT, (o: Obj) => (o.data = { id: '1' }), 'data: expected an array of rows or null, got an object'],
    ['row change without data', CANAL_INSERT, (o: Obj) => (o.data = null), 'data: expected an array of rows, got null'],
    ['old not aligned', CANAL_UPDATE, (o: Obj) => o.old.push({ x: '1' }), 'old: expected 1 entries (one per data row), got 2'],
    ['old on an insert', CANAL_INSERT, (o: Obj) => (o.old = [{}, {}]), 'old: only updates carry old, got one on INSERT'],
    ['pkNames a string', CANAL_INSERT, (o: Obj) => (o.pkNames = 'id'), 'pkNames: expected an array of strings, got string "id"'],
    ['sqlType a name', CANAL_INSERT, (o: Obj) => (o.sqlType.id = 'BIGINT'), 'sqlType.id: expected a java.sql.Types code'],
    ['DDL flag on an insert', CANAL_INSERT, (o: Obj) => (o.isDdl = true), 'isDdl: a INSERT is not DDL'],
  ])('%s', (_name, text, edit, reason) => {
    const reasons = validateCanal(edited(text, edit));
    expect(reasons.some((r) => r.startsWith(reason))).toBe(true);
  });
});
