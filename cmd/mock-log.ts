/** `rtwh mock log`: one business day of app logs to rolling files, a topic, or stdout. */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { openBus } from '../src/bus/index';
import { formatCount, startProgress, summaryLine } from '../src/cli/progress';
import { rtwhError } from '../src/errors';
import { MOCK_LOG_DEFAULTS, mockLogOptions, parseFileSize, type MockLogFlags } from '../src/mock/log/options';
import { runMockLog, type MockLogResult, type MockLogTarget } from '../src/mock/log/run';
import { publishMarkerPath, publishing } from '../src/mock/publish-marker';
import { withCommonFlags, type Ctx } from './context';
import { topicFlag } from '../src/bus/topic-name';

interface MockLogCmdOpts extends MockLogFlags {
  out?: string;
  to?: string;
  maxFileSize: string;
}

export function registerMockLog(mock: Command, ctx: Ctx): void {
  const d = MOCK_LOG_DEFAULTS;
  withCommonFlags(mock.command('log'))
    .description('Write one day of app logs (start, page, displays, actions, err) to rolling files, onto a topic, or to stdout')
    .option('--date <YYYY-MM-DD>', 'business date, a Beijing-time (UTC+08:00) day (default: mock.date of the config)')
    .option('--out <dir>', 'write DIR/app.<date>.log, rolling to .1, .2 … at --max-file-size')
    .option('--to <topic>', 'produce each line to TOPIC on the bus (key mid; record timestamp = when produced, the line keeps its ts), e.g. ods_log')
    .option('--seed <n>', 'random seed 0..4294967295: the same seed and options give byte-identical output (default: random, printed)')
    .option('--format <2022|2023>', 'record shape: 2022 (area codes, source_type) or 2023 (sid, province ids, pos_seq, refer_id)', d.format)
    .option('--startup-count <n>', 'sessions (app starts) in the day (mock.startup.count)', String(d.startupCount))
    .option('--max-mid <n>', 'devices are mid_1 .. mid_N (mock.max.mid)', String(d.maxMid))
    .option('--max-uid <n>', 'users are 1 .. N (mock.max.uid)', String(d.maxUid))
    .option('--max-sku-id <n>', 'SKUs are 1 .. N (mock.max.sku-id)', String(d.maxSkuId))
    .option('--max-coupon-id <n>', 'coupons taken are 1 .. N (mock.max.coupon-id)', String(d.maxCouponId))
    .option('--page-during-time-ms <ms>', 'a page lasts 1000 .. MS ms (mock.page.during-time-ms)', String(d.pageDuringTimeMs))
    .option('--error-rate <percent>', 'share of records with an err object (mock.error.rate)', String(d.errorRate))
    .option('--get-coupon-rate <percent>', 'share of goods pages where a coupon is taken (mock.if_get_coupon_rate)', String(d.getCouponRate))
    .option('--source-type-rate <q:p:r:a>', 'how visitors reach goods: query:promotion:recommend:activity (mock.detail.source-type-rate)', d.sourceTypeRate.join(':'))
    .option('--keywords <list>', 'search words, comma-separated (mock.search.keyword)', d.keywords.join(','))
    .option('--max-file-size <size>', 'roll to the next file before this size (KB/MB/GB or bytes)', d.maxFileSize)
    .addHelpText(
      'after',
      `
Without --out or --to the lines go to stdout. ts is epoch ms; lines come out in ts order.

Files: app.<date>.log, then app.<date>.log.1, .2 … (higher = newer). A file is never renamed or truncated,
and never ends mid-line; a second run for the same date appends to the newest file.

Topic: a --to run stopped part-way leaves the topic with part of its day; the next --to run onto that topic is
refused, rather than publishing that part a second time, and says how to go on.

Examples:
  rtwh mock log --date 2025-01-14 --out applog/
  rtwh mock log --date 2025-01-14 --to ods_log --startup-count 10000
  rtwh mock log --date 2025-01-14 --format 2023 --seed 7 | head -3`,
    )
    .action(async (opts: MockLogCmdOpts, cmd: Command) => {
      const { config } = ctx.config(cmd);
      if (opts.out !== undefined && opts.to !== undefined) {
        throw rtwhError('USAGE', '--out and --to are exclusive: write files or produce to a topic, not both');
      }
      if (opts.to !== undefined) topicFlag('--to', opts.to);
      const options = mockLogOptions(opts, config.mock.date);
      const maxFileSize = parseFileSize('--max-file-size', opts.maxFileSize);
      const json = Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json);
      const toStdout = opts.out === undefined && opts.to === undefined;
      const progress = startProgress({ label: `mock log ${options.date}`, unit: 'lines', enabled: ctx.io.isTTY && !toStdout });

      let result: MockLogResult;
      let where: string;
      let extra = '';
      try {
        if (opts.out !== undefined) {
          const dir = resolve(ctx.io.cwd, opts.out);
          result = await runMockLog(options, { kind: 'files', dir, maxFileSize }, (n) => progress.add(n - progress.done));
          where = `to ${describeFiles(ctx.io.cwd, result.files)}`;
          if (result.files.length > 1) extra = `${formatCount(result.files.length)} files, `;
        } else if (opts.to !== undefined) {
          const bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
          try {
            // (publish-marker.ts: a run killed part-way is not published a second time without a word)
            const marker = publishMarkerPath(resolve(ctx.io.cwd, config.stateDir), 'mock-log', bus.displayUrl, opts.to);
            const topic = opts.to;
            let sent = 0;
            result = await publishing(marker, { command: 'mock log', topic, dates: options.date, seed: options.seed }, () => sent, async () => {
              const producer = await bus.producer({ compression: config.kafka.compression });
              try {
                const target: MockLogTarget = { kind: 'topic', producer, topic };
                return await runMockLog(options, target, (n) => {
                  sent = n;
                  progress.add(n - progress.done);
                });
              } finally {
                await producer.close();
              }
            });
          } finally {
            await bus.close();
          }
          where = `to ${opts.to} on ${bus.displayUrl}`;
        } else {
          const utf8 = new TextDecoder();
          result = await runMockLog(options, { kind: 'stream', write: ctx.io.stdoutBytes ?? ((b) => ctx.io.stdout(utf8.decode(b))) });
          where = 'to stdout';
        }
      } finally {
        progress.stop();
      }

      if (json) {
        const doc = JSON.stringify({
          date: options.date,
          format: options.format,
          seed: result.seed,
          lines: result.lines,
          bytes: result.bytes,
          ...(opts.out !== undefined ? { files: result.files } : {}),
          ...(opts.to !== undefined ? { topic: opts.to } : {}),
          seconds: Number(result.seconds.toFixed(3)),
          lines_per_second: Math.round(result.lines / Math.max(result.seconds, 1e-3)),
        });
        if (toStdout) ctx.err(doc);
        else ctx.out(doc);
        return;
      }
      ctx.err(summaryLine('wrote', result.lines, 'lines', `${where} (${extra}${formatBytes(result.bytes)}, seed ${result.seed})`, result.seconds));
    });
}

/** `applog/app.2025-01-14.log` or `applog/app.2025-01-14.log … .log.3` */
function describeFiles(cwd: string, files: string[]): string {
  if (files.length === 0) return '(no files)';
  const rel = relative(cwd, files[0]!);
  // Inside the working directory a relative path reads best; elsewhere the absolute one.
  const first = rel && !rel.startsWith('..') ? rel : files[0]!;
  if (files.length === 1) return first;
  const last = files[files.length - 1]!;
  return `${first} … ${last.slice(last.lastIndexOf('.log'))}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
