import { describe, expect, test } from 'bun:test';
import { renderJson, renderJsonl } from '../../src/output/json.ts';
import { ExactDecimal } from '../../src/output/result.ts';
import { orders, tricky } from './fixtures.ts';

describe('json', () => {
  test('one document, an array of row objects; big numbers as bare exact digits', () => {
    expect(renderJson(orders)).toBe(
      '[\n' +
        '{"id":9007199254740993,"name":"中文","amount":123456789012345678.123456789},\n' +
        '{"id":2,"name":null,"amount":-0.500000000}\n' +
        ']\n',
    );
  });

  test('is valid JSON, and a big-number-aware reader gets the exact digits back', () => {
    const text = renderJson(orders);
    expect(() => JSON.parse(text)).not.toThrow();
    // The digits in the text are the exact value; a reader that keeps big numbers (jq 1.7, Python) sees them.
    const ids: string[] = [];
    for (const m of text.matchAll(/"id":(-?\d+)/g)) ids.push(m[1] ?? '');
    expect(ids).toEqual(['9007199254740993', '2']);
    expect(BigInt(ids[0] ?? '0')).toBe(9007199254740993n);
  });

  test('empty result is []', () => {
    expect(renderJson({ columns: [{ name: 'a', type: 'INTEGER' }], rows: [] })).toBe('[]\n');
  });

  test('strings are escaped; nested lists and structs nest; NaN becomes a string', () => {
    const out = renderJson({
      columns: [
        { name: 's', type: 'VARCHAR' },
        { name: 'l', type: 'DECIMAL(4,2)[]' },
        { name: 'st', type: 'STRUCT' },
        { name: 'd', type: 'DOUBLE' },
        { name: 'h', type: 'HUGEINT' },
      ],
      rows: [['a"b\n\u2028', [new ExactDecimal('1.50'), null], { k: 170141183460469231731687303715884105727n }, Number.NaN, -1n]],
    });
    expect(out).toBe('[\n{"s":"a\\"b\\n\u2028","l":[1.50,null],"st":{"k":170141183460469231731687303715884105727},"d":"NaN","h":-1}\n]\n');
    expect(JSON.parse(out)).toHaveLength(1);
  });

  test('repeated column names get :1, :2 (nothing overwritten)', () => {
    const out = renderJson({
      columns: [
        { name: 'a', type: 'INTEGER' },
        { name: 'a', type: 'INTEGER' },
        { name: 'a', type: 'INTEGER' },
      ],
      rows: [[1, 2, 3]],
    });
    expect(out).toBe('[\n{"a":1,"a:1":2,"a:2":3}\n]\n');
  });

  test('a decimal text that is not a JSON number is quoted rather than emitted broken', () => {
    const out = renderJson({ columns: [{ name: 'd', type: 'DECIMAL' }], rows: [[new ExactDecimal('.5')]] });
    expect(out).toBe('[\n{"d":".5"}\n]\n');
  });
});

describe('jsonl', () => {
  test('one object per line, newline-terminated, each line valid JSON', () => {
    const out = renderJsonl(tricky);
    const lines = out.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines[2]).toBe('{"k":3,"text":"line1\\nline2"}');
    expect(lines[4]).toBe('{"k":5,"text":null}');
  });

  test('exact big numbers', () => {
    expect(renderJsonl(orders).split('\n')[0]).toBe('{"id":9007199254740993,"name":"中文","amount":123456789012345678.123456789}');
  });

  test('empty result is empty text', () => {
    expect(renderJsonl({ columns: [{ name: 'a', type: 'INTEGER' }], rows: [] })).toBe('');
  });
});
