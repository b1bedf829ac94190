/** Batches shared by the renderer tests: exact big numbers, NULLs, CJK text, characters that need quoting. */
import { ExactDecimal, type QueryResult } from '../../src/output/result.ts';

export const orders: QueryResult = {
  columns: [
    { name: 'id', type: 'BIGINT' },
    { name: 'name', type: 'VARCHAR' },
    { name: 'amount', type: 'DECIMAL(38,9)' },
  ],
  rows: [
    [9007199254740993n, '中文', new ExactDecimal('123456789012345678.123456789')],
    [2n, null, new ExactDecimal('-0.500000000')],
  ],
};

export const tricky: QueryResult = {
  columns: [
    { name: 'k', type: 'INTEGER' },
    { name: 'text', type: 'VARCHAR' },
  ],
  rows: [
    [1, 'a,b'],
    [2, 'say "hi"'],
    [3, 'line1\nline2'],
    [4, ''],
    [5, null],
    [6, 'a|b'],
  ],
};
