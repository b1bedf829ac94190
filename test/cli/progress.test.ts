import { expect, test } from 'bun:test';
import { formatSeconds, startProgress, summaryLine } from '../../src/cli/progress';

test('the summary line reads like the examples in ux.md', () => {
  expect(summaryLine('inserted', 128400, 'rows', 'into gmall', 1.9)).toBe('inserted 128,400 rows into gmall in 1.9 s (67,579 rows/s)');
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
