/** `rtwh tail`: thin wiring of src/tail (flags → source + options, progress, summary, signals). */
import { Option, type Command } from 'commander';
import { openBus, parseBusUrl } from '../src/bus/index';
import type { Bus } from '../src/bus/types';
import { startProgress } from '../src/cli/progress';
import { checkDatabaseName } from '../src/config/schema';
import { q, rtwhError } from '../src/errors';
import { openBusSource } from '../src/tail/bus-source';
import { ETL_ROLES, etlRoleOf, type EtlRole } from '../src/tail/etl';
import { openInputSource } from '../src/tail/input';
import { openKafkaFetchSource } from '../src/tail/kafka-fetch';
import { parseOffsetSpec, type OffsetSpec } from '../src/tail/offsets';
import { runTail, TAIL_FORMATS, type TailFormat } from '../src/tail/run';
import type { TailSource } from '../src/tail/source';
import { wholeNumber } from './flags';
import { stopOnSignals, wantSpinner } from '../src/cli/stop';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';
import { groupFlag, topicFlag } from '../src/bus/topic-name';

interface TailFlags {
  etl?: boolean;
  etlAs?: EtlRole;
  offset?: string;
  num?: string;
  follow?: boolean;
  format?: TailFormat;
  partition?: string;
  group?: string;
  input?: string;
  quiet?: boolean;
  metaOnly?: boolean;
  database?: string;
}

export function registerTail(program: Command, ctx: Ctx): void {
  withCommonFlags(program.command('tail'))
    .description('Read a topic (rpk-style offsets), recognise and validate Maxwell/Debezium/Canal/app-log records')
    .argument('[topic]', 'topic to read (not needed with --input)')
    .option('--etl', 'apply the ODS ETL of the topic: ods_db keeps rows of etl.database (insert, update, bootstrap-insert printed as insert) with data; ods_log keeps JSON objects with common and ts')
    .addOption(new Option('--etl-as <role>', 'which ETL (implies --etl): db, log, or auto = by each record\'s format [default: db for ods_db, log for ods_log, else auto]').choices(ETL_ROLES))
    .option('-o, --offset <spec>', 'where to start (and stop): start, end, N, +N, -N, a:b, @T, @T1:T2 (T: ms, s, YYYY-MM-DD, RFC 3339, -1h)')
    .option('-n, --num <n>', 'stop after N records')
    .option('-f, --follow', 'keep reading new records (otherwise stop at the end offsets of the moment tail started)')
    .addOption(new Option('--format <format>', 'output: json (pretty), jsonl (one envelope per line), table, raw (value bytes) [default: json on a terminal, else jsonl]').choices(TAIL_FORMATS))
    .option('--partition <p>', 'only this partition')
    .option('--group <group>', 'read as this consumer group and commit its offsets (default: an ephemeral reader that commits nothing)')
    .option('--input <file>', 'read a JSONL file (- for stdin) instead of a topic: offline validation')
    .option('--quiet', 'count rejected records instead of printing each reason')
    .option('--meta-only', 'envelopes without the value')
    .option('--database <name>', 'business database the ETL keeps (config etl.database, default gmall)')
    .addHelpText(
      'after',
      `
Examples:
  rtwh tail ods_db --etl                     check everything in ods_db, print what the ODS ETL keeps
  rtwh tail ods_db -o -10                    the last 10 records of each partition
  rtwh tail ods_db -o @-1h -f                from an hour ago, then follow
  rtwh tail ods_db -o 100:200 --partition 0  offsets 100..199 of partition 0
  rtwh tail ods_log --format raw | head      the values only
  rtwh tail --input dump.jsonl --etl --quiet offline check of a file (one record value, or envelope, per line)
  rtwh tail my_logs --etl-as log             the ods_log ETL on a topic with another name

Every record is printed as {topic, partition, offset, timestamp, key, headers, value}; value is the record's JSON
with every digit as written (big integers and decimals are never rounded), or a string. Reasons for rejected or
invalid records and the closing summary (counts per table × type and per reason, records/s) go to stderr.

--etl is the seed's ODS ETL, chosen by the topic's role: ods_db (or --etl-as db) keeps Maxwell/Debezium/Canal rows of
etl.database that are insert, update or bootstrap-insert with data, and prints a bootstrap-insert with "type":"insert"
(only those bytes change); app logs there are rejected as "wrong format". ods_log (or --etl-as log) keeps every JSON
object with an object "common" and a numeric "ts"; a kept app log that its format's validator finds fault with (no
start/page, no page.during_time, ts in seconds…) is reported as a warning, not rejected. Other topics and --input
use auto: each record by the format it is recognised as.

Each rejected record is reported on one stderr line: where, reason, then the record itself (bytes that are not UTF-8
as \\xNN); on a terminal cut with its size noted, otherwise whole. --quiet only counts. --format table shortens cells
only on a terminal, and says how many.`,
    )
    .action(async (topic: string | undefined, flags: TailFlags, cmd: Command) => {
      const now = Date.now();
      const spec: OffsetSpec | undefined = flags.offset === undefined ? undefined : parseOffsetSpec(flags.offset, now);
      const limit = flags.num === undefined ? null : wholeNumber('-n', flags.num, 1);
      const partition = flags.partition === undefined ? undefined : wholeNumber('--partition', flags.partition, 0);
      if (flags.input === undefined && (topic === undefined || topic === '')) {
        throw rtwhError('USAGE', 'missing topic: expected `rtwh tail TOPIC` (or --input FILE to check a file)');
      }
      if (flags.input === undefined) topicFlag('topic', topic!);
      if (flags.group !== undefined) groupFlag('--group', flags.group);
      if (flags.input !== undefined) {
        for (const [flag, set] of [['--follow', flags.follow], ['--group', flags.group], ['--partition', flags.partition]] as const) {
          if (set !== undefined && set !== false) throw rtwhError('USAGE', `${flag} needs a topic; it cannot be used with --input`);
        }
      }
      if (flags.metaOnly && flags.format === 'raw') throw rtwhError('USAGE', '--meta-only leaves the value out, and --format raw prints only the value: pick one');
      const { config } = ctx.config(cmd);
      const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);
      const format: TailFormat = flags.format ?? (ctx.io.isTTY ? 'json' : 'jsonl');
      const database = flags.database ?? config.etl.database;
      const etlRole: EtlRole = flags.etlAs ?? (flags.input !== undefined ? 'auto' : etlRoleOf(topic));
      const etlOn = Boolean(flags.etl) || flags.etlAs !== undefined;
      const dbProblem = checkDatabaseName(database);
      if (dbProblem) throw rtwhError('USAGE', `invalid --database ${q(database)}: ${dbProblem}`);

      let bus: Bus | undefined;
      let source: TailSource;
      const follow = Boolean(flags.follow);
      if (flags.input !== undefined) {
        source = openInputSource({ path: flags.input, cwd: ctx.io.cwd, ...(spec ? { spec } : {}) });
      } else {
        const read = { topic: topic!, follow, ...(spec ? { spec } : {}), ...(partition === undefined ? {} : { partition }), ...(flags.group ? { group: flags.group } : {}) };
        const loc = parseBusUrl(config.bus, ctx.io.cwd);
        if (loc.kind === 'kafka' && flags.group === undefined) {
          // Kafka without a group: read the partitions directly (no group join, no kafkajs: the fast path).
          source = await openKafkaFetchSource(loc.brokers, read, config.kafka.clientId);
        } else {
          bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId, mustExist: true });
          try {
            source = await openBusSource(bus, read);
          } catch (e) {
            await bus.close();
            throw e;
          }
        }
      }

      const spinner = wantSpinner(ctx.io.isTTY);
      const progress = startProgress({ label: `reading ${source.name}`, unit: 'records', enabled: spinner });
      // First Ctrl-C or SIGTERM: finish cleanly; the second leaves at once.
      const stop = stopOnSignals(() => undefined);
      const write = ctx.io.stdoutBytes;
      const utf8 = new TextDecoder();
      try {
        let shown = 0;
        const stats = await runTail({
          source,
          format,
          etl: etlOn ? { database, role: etlRole } : null,
          limit,
          metaOnly: Boolean(flags.metaOnly),
          quiet: Boolean(flags.quiet),
          write: async (chunk) => {
            if (write) await write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
            else ctx.io.stdout(typeof chunk === 'string' ? chunk : utf8.decode(chunk));
          },
          warn: (line) => {
            progress.stop();
            ctx.err(line);
          },
          signal: stop.signal,
          // Shortened only for a person at a terminal (the spinner's rule): a pipe or a file gets every byte.
          ...(ctx.io.isTTY ? { tableWidth: ctx.io.columns ?? 120 } : {}),
          ...(spinner ? { recordWidth: Math.max(80, (process.stderr.columns ?? 120) * 2) } : {}),
          onBatch: (s) => {
            progress.add(s.read - shown);
            shown = s.read;
          },
        });
        progress.stop();
        const from = flags.input !== undefined ? `from ${flags.input === '-' ? 'stdin' : flags.input}` : `from ${source.name}`;
        if (json) ctx.err(JSON.stringify({ summary: stats.toJSON() }));
        else ctx.io.stderr(stats.render(from, etlOn ? 'kept' : 'valid'));
      } finally {
        progress.stop();
        stop.dispose();
        await source.close().catch(() => {});
        await bus?.close();
      }
    });
}

