import { describe, expect, test } from 'bun:test';
import { renderCsv } from '../../src/output/csv.ts';
import { orders, tricky } from './fixtures.ts';

describe('csv', () => {
  test('RFC 4180 quoting: delimiter, quote (doubled), newline; NULL empty, empty string quoted', () => {
    expect(renderCsv(tricky)).toBe(['k,text', '1,"a,b"', '2,"say ""hi"""', '3,"line1\nline2"', '4,""', '5,', '6,a|b', ''].join('\n'));
  });

  test('exact big numbers and decimals, unicode as is', () => {
    expect(renderCsv(orders)).toBe('id,name,amount\n9007199254740993,中文,123456789012345678.123456789\n2,,-0.500000000\n');
  });

  test('CRLF records and another delimiter on request', () => {
    expect(renderCsv(tricky, { eol: '\r\n', delimiter: ';' }).split('\r\n').slice(0, 2)).toEqual(['k;text', '1;a,b']);
  });

  test('header names are quoted too when they need it', () => {
    expect(renderCsv({ columns: [{ name: 'a,b', type: 'INTEGER' }], rows: [] })).toBe('"a,b"\n');
  });

  test('a carriage return alone forces quoting', () => {
    expect(renderCsv({ columns: [{ name: 's', type: 'VARCHAR' }], rows: [['a\rb']] })).toBe('s\n"a\rb"\n');
  });
});
