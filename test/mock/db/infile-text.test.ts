/** The byte-level LOAD DATA text equals the text infileField gives, value by value, UTF-8 encoded. */
import { describe, expect, test } from 'bun:test';
import { ExactDecimal, type Row } from '../../../src/formats/change';
import { baseData } from '../../../src/mock/db/base';
import { collectDay } from '../../../src/mock/db/day';
import { InfileText } from '../../../src/mock/db/infile-text';
import { mockDbOptions } from '../../../src/mock/db/options';
import { infileField } from '../../../src/store/mysql';

function expected(rows: readonly Row[], columns: readonly string[]): Buffer {
  return Buffer.from(rows.map((r) => `${columns.map((c) => infileField(r[c]!)).join('\t')}\n`).join(''));
}

function built(rows: readonly Row[], columns: readonly string[], capacity?: number): Buffer {
  const t = new InfileText(capacity);
  t.addRows(rows, columns);
  return Buffer.from(t.bytes());
}

describe('InfileText', () => {
  test('escapes, NULLs, numbers, decimals and non-ASCII text as infileField does', () => {
    const rows: Row[] = [
      { a: 'plain', b: null, c: 42, d: new ExactDecimal('-12.50'), e: '' },
      { a: 'tab\there', b: 'new\nline\r', c: -7, d: new ExactDecimal('0'), e: 'back\\slash and NUL\0' },
      { a: '北京市海淀区', b: '混合 ascii 和 中文\t制表', c: 2 ** 60, d: 1.5, e: '😀 emoji' },
      { a: 'NULL', b: '\\N', c: 12345678901234567890n, d: new ExactDecimal('99999999.99'), e: '\x01\x1f control' },
    ];
    expect(built(rows, ['a', 'b', 'c', 'd', 'e'])).toEqual(expected(rows, ['a', 'b', 'c', 'd', 'e']));
    // a tiny starting buffer grows on the way
    expect(built(rows, ['e', 'd', 'c', 'b', 'a'], 1)).toEqual(expected(rows, ['e', 'd', 'c', 'b', 'a']));
  });

  test('refuses what infileField refuses', () => {
    expect(() => built([{ a: Number.NaN }], ['a'])).toThrow(RangeError);
    expect(() => built([{ a: new ExactDecimal('1e5') }], ['a'])).toThrow(RangeError);
  });

  test('a generated day: every table\'s rows give the same bytes', () => {
    const options = mockDbOptions({});
    const base = baseData(7, '2025-01-14', options);
    const { txns } = collectDay({ date: '2025-01-14', seed: 7, options, state: base.state });
    const byTable = new Map<string, Row[]>();
    for (const t of [...base.txns, ...txns]) {
      for (const c of t.changes) {
        const rows = byTable.get(c.table);
        if (rows) rows.push(c.data);
        else byTable.set(c.table, [c.data]);
      }
    }
    expect(byTable.size).toBeGreaterThan(15);
    for (const rows of byTable.values()) {
      const columns = Object.keys(rows[0]!);
      expect(built(rows, columns)).toEqual(expected(rows, columns));
    }
  });
});
