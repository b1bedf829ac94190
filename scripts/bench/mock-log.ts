/**
 * mock log throughput: lines/s and MB/s of one generated day written to rolling files (the --out path), and
 * lines/s produced to the embedded sqlite bus (the --to path). Target: ≥ 500,000 lines/s to a file.
 * Each figure is the best of --runs runs (the machine is shared; the best run is the least disturbed); the file
 * line also lists every run and their median.
 *
 *   bun scripts/bench/mock-log.ts [--startups 150000] [--bus-startups 30000] [--format 2022|2023] [--runs 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBus } from '../../src/bus/index';
import { mockLogOptions } from '../../src/mock/log/options';
import { runMockLog, type MockLogResult } from '../../src/mock/log/run';

const { values: args } = parseArgs({
  options: {
    startups: { type: 'string', default: '150000' },
    'bus-startups': { type: 'string', default: '30000' },
    format: { type: 'string', default: '2022' },
    runs: { type: 'string', default: '3' },
  },
});
const RUNS = Number(args.runs);

function options(startups: string) {
  return mockLogOptions({ date: '2025-01-14', seed: '1', format: args.format, startupCount: startups }, undefined);
}

function best(results: MockLogResult[]): MockLogResult {
  return results.reduce((a, b) => (b.lines / b.seconds > a.lines / a.seconds ? b : a));
}

/** Lines/s of every run in order (the first one includes the JIT's warm-up, as a single CLI run does), and their median. */
function spread(results: MockLogResult[]): string {
  const rates = results.map((r) => r.lines / r.seconds);
  const sorted = [...rates].sort((a, b) => a - b);
  const m = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `runs ${rates.map(fmt).join(' / ')}, median ${fmt(m)}`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** MB as the CLI and --max-file-size count it (1024²). */
const MB = 1024 ** 2;

const fileRuns: MockLogResult[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-log-'));
  try {
    fileRuns.push(await runMockLog(options(args.startups), { kind: 'files', dir, maxFileSize: 100 * 1024 * 1024 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const f = best(fileRuns);
console.log(
  `file   ${args.format}: ${fmt(f.lines)} lines, ${(f.bytes / MB).toFixed(0)} MB in ${f.seconds.toFixed(2)} s → ${fmt(f.lines / f.seconds)} lines/s, ${(f.bytes / MB / f.seconds).toFixed(0)} MB/s (${f.files.length} files, best of ${RUNS}; ${spread(fileRuns)})`,
);

const busRuns: MockLogResult[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-log-'));
  const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
  try {
    const producer = await bus.producer();
    busRuns.push(await runMockLog(options(args['bus-startups']), { kind: 'topic', producer, topic: 'ods_log' }));
    await producer.close();
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const b = best(busRuns);
console.log(
  `sqlite ${args.format}: ${fmt(b.lines)} lines, ${(b.bytes / MB).toFixed(0)} MB in ${b.seconds.toFixed(2)} s → ${fmt(b.lines / b.seconds)} lines/s, ${(b.bytes / MB / b.seconds).toFixed(0)} MB/s (best of ${RUNS})`,
);
