import { describe, expect, test } from 'bun:test';
import { renderMarkdown } from '../../src/output/markdown.ts';
import { orders, tricky } from './fixtures.ts';

describe('markdown', () => {
  test('GFM table, numeric columns right-aligned, padded by display width (CJK = 2)', () => {
    expect(renderMarkdown(orders)).toBe(
      [
        '|               id | name |                       amount |',
        '| ---------------: | ---- | ---------------------------: |',
        '| 9007199254740993 | 中文 | 123456789012345678.123456789 |',
        '|                2 | NULL |                 -0.500000000 |',
        '',
      ].join('\n'),
    );
  });

  test('pipes escaped, newlines as <br>', () => {
    const out = renderMarkdown(tricky);
    expect(out).toContain('|   6 | a\\|b           |');
    expect(out).toContain('| line1<br>line2 |');
  });

  test('no columns: nothing', () => {
    expect(renderMarkdown({ columns: [], rows: [] })).toBe('');
  });
});
