import { expect, test } from 'bun:test';
import { countOf, formatSeconds, startProgress, summaryLine } from '../../src/cli/progress';

test('the summary line reads like the examples in ux.md', () => {
  expect(summaryLine('inserted', 128400, 'rows', 'into gmall', 1.9)).toBe('inserted 128,400 rows into gmall in 1.9 s (67,579 rows/s)');
  // one of a thing is singular; the rate stays per rows/s
  expect(summaryLine('shipped', 1, 'lines', 'to ods_log', 0.05)).toBe('shipped 1 line to ods_log in 50 ms (20 lines/s)');
  expect(countOf(1, 'records')).toBe('1 record');
  expect(countOf(0, 'records')).toBe('0 records');
  expect(countOf(1001, 'rows')).toBe('1,001 rows');
  expect(formatSeconds(95)).toBe('95 s');
  expect(formatSeconds(0.02)).toBe('20 ms');
  expect(formatSeconds(185)).toBe('3 min 5 s');
});

test('without a terminal, progress only counts', () => {
  const p = startProgress({ label: 'mock', unit: 'rows', enabled: false });
  p.add(10);
  p.add(5);
  p.stop();
  expect(p.done).toBe(15);
});
