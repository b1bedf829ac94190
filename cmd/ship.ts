/** `rtwh ship log`: thin wiring of src/collect/taildir (flags → options, progress, summary, signals). */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { openBus } from '../src/bus/index';
import { startProgress, summaryLine, formatCount } from '../src/cli/progress';
import { checkGroupDir, parseFileGroup } from '../src/collect/taildir/file-group';
import { checkPositionPath } from '../src/collect/taildir/position-file';
import { SHIP_DEFAULTS, shipLog, type ShipProgress } from '../src/collect/taildir/shipper';
import { q, rtwhError } from '../src/errors';
import { wholeNumber } from './flags';
import { stopOnSignals, wantSpinner } from '../src/cli/stop';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';
import { topicFlag } from '../src/bus/topic-name';

interface ShipLogFlags {
  path?: string[];
  topic: string;
  dlq?: string;
  position?: string;
  once?: boolean;
  batchSize: string;
  pollInterval: string;
  statusEvery: string;
  key?: string;
  sourceHeader: boolean;
}

export function registerShip(program: Command, ctx: Ctx): void {
  const ship = program.command('ship').description('Ship files onto the bus like Flume TAILDIR (positions survive restarts)');

  withCommonFlags(ship.command('log'))
    .description('Tail app log files (rotation-aware) and produce each JSON line to ods_log; other lines go to the dead-letter topic')
    .option('--path <dir/pattern>', 'file group: a directory and a file-name glob (applog/app.*), or regex:DIR/REGEX like Flume; repeatable', collect)
    .option('--topic <topic>', 'topic for the lines', 'ods_log')
    .option('--dlq <topic>', 'dead-letter topic for lines that are not JSON objects (default <topic>_dlq)')
    .option('--position <file>', 'Flume-format position file (default <state_dir>/ship/taildir_position.json)')
    .option('--once', 'ship the complete lines there now and exit (a last line without newline waits for the next run)')
    .option('--batch-size <n>', 'records per send (Flume batchSize)', String(SHIP_DEFAULTS.batchSize))
    .option('--poll-interval <ms>', 'how often directories are listed and files checked while following', String(SHIP_DEFAULTS.pollIntervalMs))
    .option('--status-every <seconds>', 'without a terminal, while following, log the status line this often (also when no lines come)', '30')
    .option('--key <text>', 'record key of every line (default none, like Flume\'s Kafka channel; a key keeps all lines in one partition)')
    .option('--no-source-header', 'no rtwh.src header on records (exactly Flume\'s raw records); restarts become at-least-once')
    .addHelpText(
      'after',
      `
Examples:
  rtwh ship log --path 'applog/app.*' --topic ods_log
  rtwh ship log --path 'applog/app.*' --once --bus kafka://127.0.0.1:9092
  rtwh ship log --path 'regex:/var/log/app/app\\.\\d{4}-\\d{2}-\\d{2}\\.log' --path 'logs/*.log'

Files are read oldest modification first and tracked by inode: rotation (rename + new file) and truncation
are followed. Positions are saved after the bus acknowledges, atomically; each record carries a rtwh.src header
so a restart after kill -9 sends every line exactly once. Ctrl-C finishes the batch in flight and saves.`,
    )
    .action(async (flags: ShipLogFlags, cmd: Command) => {
      if (!flags.path || flags.path.length === 0) throw rtwhError('USAGE', 'missing --path: expected a directory and a file-name pattern, e.g. --path \'applog/app.*\'');
      const cwd = ctx.io.cwd;
      const groups = flags.path.map((p) => parseFileGroup(p, cwd));
      // Before the bus is opened: a wrong --path should not create a bus file or wait for a broker.
      for (const g of groups) checkGroupDir(g);
      if (flags.dlq !== undefined && flags.dlq === flags.topic) {
        throw rtwhError('USAGE', `--dlq ${q(flags.dlq)} is the --topic: rejected lines would be mixed into the lines they were rejected from`, {
          hint: 'Give the dead-letter topic another name, or leave --dlq out for <topic>_dlq.',
        });
      }
      topicFlag('--topic', flags.topic);
      if (flags.dlq !== undefined) topicFlag('--dlq', flags.dlq);
      const batchSize = wholeNumber('--batch-size', flags.batchSize, 1, 100_000);
      const pollIntervalMs = wholeNumber('--poll-interval', flags.pollInterval, 10, 3_600_000);
      const statusEveryMs = wholeNumber('--status-every', flags.statusEvery, 1, 86_400) * 1000;
      const { config } = ctx.config(cmd);
      const positionFile = flags.position ? resolve(cwd, flags.position) : join(resolve(cwd, config.stateDir), 'ship', 'taildir_position.json');
      const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);
      // before the bus is opened: a position file that cannot be one should not leave a bus file behind
      if (flags.position !== undefined) checkPositionPath(positionFile, '--position', flags.position);

      const bus = await openBus(config.bus, { cwd, clientId: config.kafka.clientId });
      const spinner = wantSpinner(ctx.io.isTTY);
      const progress = startProgress({ label: `shipping to ${flags.topic}`, unit: 'lines', enabled: spinner });
      // First Ctrl-C or SIGTERM: finish cleanly; the second leaves at once.
      const stop = stopOnSignals(() => undefined);
      let shown = 0;
      /** The last progress shipLog reported; undefined before its first batch. */
      let last: ShipProgress | undefined;
      // lines/s over the last status interval, not since the start (which drifts to 0 while the files are quiet)
      let rateFrom = { at: Date.now(), lines: 0 };
      const recentRate = (lines: number): number => {
        const now = Date.now();
        const r = ((lines - rateFrom.lines) * 1000) / Math.max(1, now - rateFrom.at);
        rateFrom = { at: now, lines };
        return r;
      };
      // Not on a terminal (a service's log), following: a status line every --status-every, quiet files or not,
      // so the log shows the shipper is alive and how far behind it is.
      const status =
        !spinner && !flags.once
          ? setInterval(() => {
              const lines = last?.lines ?? 0;
              ctx.err(`ship log: ${formatCount(lines)} lines (${formatCount(recentRate(lines))}/s) · ${last ? detail(last) : 'waiting for lines'}`);
            }, statusEveryMs)
          : undefined;
      status?.unref();
      try {
        const result = await shipLog({
          bus,
          groups,
          topic: flags.topic,
          ...(flags.dlq ? { dlqTopic: flags.dlq } : {}),
          positionFile,
          once: Boolean(flags.once),
          batchSize,
          pollIntervalMs,
          key: flags.key ?? null,
          sourceHeader: flags.sourceHeader,
          producer: { compression: config.kafka.compression },
          signal: stop.signal,
          onProgress: (p) => {
            progress.add(p.lines - shown, detail(p));
            shown = p.lines;
            last = p;
          },
          log: (m) => ctx.err(`ship log: ${m}`),
        });
        progress.stop();
        if (json) {
          ctx.out(JSON.stringify(result));
        }
        const extra = [`${formatCount(result.bytes)} bytes`, `${formatCount(result.rejected)} rejected → ${result.dlqTopic}`];
        if (result.skipped > 0) extra.push(`${formatCount(result.skipped)} already on the bus`);
        const held = result.positions.filter((p) => p.held > 0);
        if (held.length > 0) extra.push(`${held.length} unfinished last line${held.length === 1 ? '' : 's'} held`);
        ctx.err(`${summaryLine('shipped', result.lines, 'lines', `to ${result.topic}`, result.seconds)} · ${extra.join(' · ')}`);
        // (a mistyped pattern otherwise looks just like files with nothing new)
        if (result.positions.length === 0) ctx.err(`ship log: no file matched ${flags.path.map((x) => JSON.stringify(x)).join(', ')}`);
      } finally {
        clearInterval(status);
        progress.stop();
        stop.dispose();
        await bus.close();
      }
    });
}

function detail(p: ShipProgress): string {
  const parts = [`${formatCount(p.bytes)} bytes`, `${formatCount(p.rejected)} rejected`];
  if (p.file) parts.push(`${p.file.path.split('/').pop() ?? p.file.path} @ ${formatCount(p.file.pos)}/${formatCount(p.file.size)}`);
  if (p.files > 1) parts.push(`${p.files} files`);
  parts.push(`${formatCount(p.behind)} bytes behind`);
  return parts.join(' · ');
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

