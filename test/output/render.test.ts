import { describe, expect, test } from 'bun:test';
import { OUTPUT_FORMATS, isOutputFormat, render } from '../../src/output/render.ts';
import { orders } from './fixtures.ts';

describe('render', () => {
  test('every format ends in a newline and keeps the exact id', () => {
    for (const f of OUTPUT_FORMATS) {
      const out = render(orders, f);
      expect(out.endsWith('\n')).toBe(true);
      expect(out).toContain('9007199254740993');
    }
  });

  test('terminal limits only touch box', () => {
    const rows = Array.from({ length: 50 }, (_, i) => [i]);
    const r = { columns: [{ name: 'n', type: 'INTEGER' }], rows };
    expect(render(r, 'box', { maxRows: 10 })).toContain('50 rows (10 shown)');
    expect(render(r, 'jsonl', { maxRows: 10 }).split('\n')).toHaveLength(51);
  });

  test('isOutputFormat', () => {
    expect(isOutputFormat('markdown')).toBe(true);
    expect(isOutputFormat('xml')).toBe(false);
  });
});
