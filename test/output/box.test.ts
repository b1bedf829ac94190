import { describe, expect, test } from 'bun:test';
import { renderBox } from '../../src/output/box.ts';
import { orders } from './fixtures.ts';

describe('box', () => {
  test('names over types, numbers right-aligned, exact digits, NULL, CJK counted as 2 columns', () => {
    expect(renderBox(orders)).toBe(
      [
        '┌──────────────────┬─────────┬──────────────────────────────┐',
        '│        id        │  name   │            amount            │',
        '│      bigint      │ varchar │        decimal(38,9)         │',
        '├──────────────────┼─────────┼──────────────────────────────┤',
        '│ 9007199254740993 │ 中文    │ 123456789012345678.123456789 │',
        '│                2 │ NULL    │                 -0.500000000 │',
        '├──────────────────┴─────────┴──────────────────────────────┤',
        '│ 2 rows                                                    │',
        '└───────────────────────────────────────────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  test('every line of a CJK table has the same display width', () => {
    const out = renderBox({ columns: [{ name: '名字', type: 'VARCHAR' }], rows: [['张三'], ['欧阳娜娜'], ['x']] });
    const widths = new Set(out.trimEnd().split('\n').map((l) => Bun.stringWidth(l)));
    expect(widths.size).toBe(1);
    expect(out).toContain('│ 欧阳娜娜 │');
  });

  test('1 row, singular', () => {
    expect(renderBox({ columns: [{ name: 'answer', type: 'INTEGER' }], rows: [[42]] })).toBe(
      ['┌─────────┐', '│ answer  │', '│ integer │', '├─────────┤', '│      42 │', '├─────────┤', '│ 1 row   │', '└─────────┘', ''].join('\n'),
    );
  });

  test('no rows: header and a 0 rows footer', () => {
    const out = renderBox({ columns: [{ name: 'a', type: 'INTEGER' }, { name: 'b', type: 'VARCHAR' }], rows: [] });
    expect(out).toBe(
      ['┌─────────┬─────────┐', '│    a    │    b    │', '│ integer │ varchar │', '├─────────┴─────────┤', '│ 0 rows            │', '└───────────────────┘', ''].join('\n'),
    );
  });

  test('no columns (DDL): only the count', () => {
    expect(renderBox({ columns: [], rows: [] })).toBe('┌────────┐\n│ 0 rows │\n└────────┘\n');
  });

  test('maxRows: first half, a · row, last half, and the footer says how many were shown', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [i]);
    const out = renderBox({ columns: [{ name: 'n', type: 'INTEGER' }], rows }, { maxRows: 4 });
    const body = out.split('\n').slice(4, 9);
    expect(body).toEqual([
      '│                  0 │',
      '│                  1 │',
      '│         ·          │',
      '│                 98 │',
      '│                 99 │',
    ]);
    // The footer is the widest thing here, so it sets the column width.
    expect(out).toContain('│ 100 rows (4 shown) │');
  });

  test('maxRows not exceeded: nothing elided', () => {
    const out = renderBox({ columns: [{ name: 'n', type: 'INTEGER' }], rows: [[1], [2]] }, { maxRows: 2 });
    expect(out).not.toContain('·');
    expect(out).toContain('2 rows ');
    expect(out).not.toContain('shown');
  });

  test('maxWidth: middle columns give way to …, footer counts columns, no line wider than the terminal', () => {
    const columns = Array.from({ length: 8 }, (_, i) => ({ name: `column_${i}`, type: 'INTEGER' }));
    const rows = [Array.from({ length: 8 }, (_, i) => i)];
    const out = renderBox({ columns, rows }, { maxWidth: 50 });
    const lines = out.trimEnd().split('\n');
    for (const l of lines) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(50);
    expect(lines[1]).toBe('│ column_0 │ column_1 │ … │ column_6 │ column_7 │');
    expect(out).toContain('8 columns (4 shown)');
  });

  test('one column wider than the terminal is cut with …', () => {
    const out = renderBox({ columns: [{ name: 's', type: 'VARCHAR' }], rows: [['x'.repeat(200)]] }, { maxWidth: 30 });
    for (const l of out.trimEnd().split('\n')) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(30);
    expect(out).toContain('…');
  });

  test('long values are cut at maxColumnWidth without splitting a wide character, and the footer counts them', () => {
    const out = renderBox({ columns: [{ name: 's', type: 'VARCHAR' }, { name: 'k', type: 'INTEGER' }], rows: [['中文中文中文', 1], ['ok', 2]] }, { maxColumnWidth: 8 });
    // 7 display columns: a 4th wide character would not fit before the …; the header `varchar` sets width 8.
    expect(out).toBe(
      [
        '┌──────────┬──────────────────────┐',
        '│    s     │          k           │',
        '│ varchar  │       integer        │',
        '├──────────┼──────────────────────┤',
        '│ 中文中…  │                    1 │',
        '│ ok       │                    2 │',
        '├──────────┴──────────────────────┤',
        '│ 2 rows                          │',
        '│ 1 value cut short (ending in …) │',
        '└─────────────────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  test('a column widened for the footer shows that much more, and the count follows', () => {
    // The note widens the one column to 31: the 12-wide value then fits whole, so there is nothing to say.
    const out = renderBox({ columns: [{ name: 's', type: 'VARCHAR' }], rows: [['中文中文中文']] }, { maxColumnWidth: 8 });
    expect(out).toContain(`│ 中文中文中文${' '.repeat(19)} │`);
    expect(out).not.toContain('cut short');
  });

  test('newlines, tabs and terminal escape codes in values are shown escaped', () => {
    const out = renderBox({ columns: [{ name: 's', type: 'VARCHAR' }], rows: [['a\nb\tc\u001b[31m']] });
    expect(out).toContain('│ a\\nb\\tc\\x1b[31m │');
  });

  test('nested values print the DuckDB way; booleans and doubles as text', () => {
    const out = renderBox({
      columns: [
        { name: 'l', type: 'VARCHAR[]' },
        { name: 's', type: 'STRUCT(a INTEGER)' },
        { name: 'b', type: 'BOOLEAN' },
        { name: 'd', type: 'DOUBLE' },
      ],
      rows: [[['x', null], { a: 1 }, true, Number.NaN]],
    });
    expect(out).toContain("│ ['x', NULL] │ {'a': 1}          │ true    │    nan │");
  });

  test('without types, numeric values still align right', () => {
    const out = renderBox({ columns: [{ name: 'n', type: '' }], rows: [[1], [12345]] });
    expect(out).toContain('│      1 │\n│  12345 │');
  });
});

describe('box edge cases', () => {
  test('maxRows 0: only the · marker and the count', () => {
    const out = renderBox({ columns: [{ name: 'n', type: 'INTEGER' }], rows: [[1], [2]] }, { maxRows: 0 });
    expect(out).toBe(
      ['┌──────────────────┐', '│        n         │', '│     integer      │', '├──────────────────┤', '│        ·         │', '├──────────────────┤', '│ 2 rows (0 shown) │', '└──────────────────┘', ''].join('\n'),
    );
  });
});

describe('box on a terminal: what is cut is said, names and types never are', () => {
  const wide = { columns: [{ name: 'id', type: 'INTEGER' }, { name: 'note', type: 'VARCHAR' }], rows: [[1, 'y'.repeat(100)], [2, 'short'], [3, 'z'.repeat(41)]] };

  test('cells are cut at 40 columns when the width is limited; the footer counts them and says how to see them whole', () => {
    const out = renderBox(wide, { maxWidth: 120, wholeHint: '--format csv shows them whole' });
    // The note is wider than the table: the last column widens to it, and shows that much more of each value.
    expect(out).toContain(`│ ${'y'.repeat(52)}… │`);
    expect(out).toContain(`│ ${'z'.repeat(41)}${' '.repeat(12)} │`);
    expect(out).toContain('│ 3 rows                                                          │');
    expect(out).toContain('│ 1 value cut short (ending in …); --format csv shows them whole  │');
    for (const l of out.trimEnd().split('\n')) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(120);
  });

  test('without a width limit (absent, 0, negative, NaN, Infinity) nothing is cut and nothing is said', () => {
    for (const maxWidth of [undefined, 0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const out = renderBox(wide, maxWidth === undefined ? {} : { maxWidth });
      expect(out).toContain('y'.repeat(100));
      expect(out).not.toContain('…');
      expect(out).not.toContain('cut short');
    }
  });

  test('maxColumnWidth 0 means no cap, even with a width limit', () => {
    const out = renderBox(wide, { maxWidth: 200, maxColumnWidth: 0 });
    expect(out).toContain('y'.repeat(100));
    expect(out).not.toContain('cut short');
  });

  test('names and types are never cut: a terminal narrower than them makes the line wider instead', () => {
    const out = renderBox({ columns: [{ name: 'a_long_column_name', type: 'DECIMAL(38,9)' }], rows: [['x'.repeat(50)]] }, { maxWidth: 10 });
    expect(out).toContain('│ a_long_column_name │');
    expect(out).toContain('│   decimal(38,9)    │');
    expect(out).toContain(`│ ${'x'.repeat(17)}… │`);
  });

  test('a type longer than the 40-column cap stays whole', () => {
    const type = 'STRUCT(first_field VARCHAR, second_field INTEGER, third BIGINT)';
    const out = renderBox({ columns: [{ name: 's', type }], rows: [[{ first_field: 'a' }]] }, { maxWidth: 200 });
    expect(out).toContain(type.toLowerCase());
    expect(out).not.toContain('cut short');
  });

  test('only shown cells count: values in hidden rows and columns are not cut, they are left out (and counted as such)', () => {
    const columns = [{ name: 'k', type: 'INTEGER' }, ...Array.from({ length: 6 }, (_, i) => ({ name: `long_${i}`, type: 'VARCHAR' }))];
    const rows = Array.from({ length: 10 }, (_, r) => [r, ...Array.from({ length: 6 }, () => 'v'.repeat(60))]);
    const out = renderBox({ columns, rows }, { maxWidth: 100, maxRows: 4 });
    expect(out).toContain('10 rows (4 shown)');
    expect(out).toContain('7 columns (2 shown)');
    // 4 rows × the one long column kept (the first and the last column fit, nothing between).
    expect(out).toContain('4 values cut short (ending in …)');
  });

  test('the note wraps inside the terminal width', () => {
    const out = renderBox({ columns: [{ name: 'n', type: 'INTEGER' }, { name: 's', type: 'VARCHAR' }], rows: [[1, 'w'.repeat(80)]] }, { maxWidth: 60, wholeHint: '--max-width 0 or --format csv shows them whole' });
    const lines = out.trimEnd().split('\n');
    for (const l of lines) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(60);
    const footer = lines.slice(lines.findIndex((l) => l.startsWith('│ 1 row')), -1).map((l) => l.slice(2, -2).trim()).join(' ');
    expect(footer).toBe('1 row 1 value cut short (ending in …); --max-width 0 or --format csv shows them whole');
  });
});
