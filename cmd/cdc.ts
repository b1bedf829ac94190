/** `rtwh cdc` and `rtwh cdc bootstrap`: thin wiring of src/collect/cdc (flags → options, status line, signals). */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { openBus } from '../src/bus/index';
import { countOf, formatCount, formatSeconds, startProgress, summaryLine } from '../src/cli/progress';
import { bootstrapProgress, enqueueBootstrap } from '../src/collect/cdc/bootstrap';
import { openCdcConn } from '../src/collect/cdc/conn';
import { parseFilter } from '../src/collect/cdc/filter';
import { lagText, type CdcStatus } from '../src/collect/cdc/metrics';
import { ensureMaxwellSchema, formatPosition, parsePosition } from '../src/collect/cdc/position';
import { CDC_DEFAULTS, defaultReplicaId, runCdc } from '../src/collect/cdc/run';
import type { CdcFormat } from '../src/collect/cdc/encode';
import type { Config } from '../src/config/load';
import { checkDatabaseName } from '../src/config/schema';
import { q, rtwhError } from '../src/errors';
import type { MaxwellPartitionBy } from '../src/formats/maxwell';
import { parseMysqlUrl } from '../src/store/mysql';
import { wholeNumber } from './flags';
import { stopOnSignals, wantSpinner } from '../src/cli/stop';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';
import { topicFlag } from '../src/bus/topic-name';

interface CdcFlags {
  format: string;
  topic: string;
  filter?: string;
  partitionBy: string;
  partitions: string;
  outputDdl?: boolean;
  debeziumSchemas?: boolean;
  serverId?: string;
  clientId: string;
  positionStore: string;
  schemaDatabase: string;
  initPosition?: string;
  http?: string | boolean;
  mockDate: boolean;
  maxRows?: string;
  queueMb: string;
  maxMessageBytes: string;
  statusEvery: string;
  batchRecords?: string;
}

interface BootstrapFlags {
  where?: string;
  clientId: string;
  schemaDatabase: string;
  wait: boolean;
  timeout?: string;
}

export function registerCdc(program: Command, ctx: Ctx): void {
  const cdc = withCommonFlags(program.command('cdc'))
    .description('Capture MySQL/MariaDB binlog changes into ods_db as Maxwell or Debezium JSON')
    .addOption(new Option('--format <format>', 'record format').choices(['maxwell', 'debezium']).default(CDC_DEFAULTS.format))
    .option('--topic <topic>', 'topic for the records', CDC_DEFAULTS.topic)
    .option('--filter <spec>', "Maxwell filter: rules 'include|exclude|blacklist: db.table' in order, the last match wins (e.g. 'exclude: *.*, include: gmall.*')")
    .addOption(new Option('--partition-by <what>', 'partition records by (Maxwell producer_partition_by)').choices(['table', 'database', 'primary_key']).default(CDC_DEFAULTS.partitionBy))
    .option('--partitions <n>', 'partitions of the topic if cdc creates it', String(CDC_DEFAULTS.partitions))
    .option('--output-ddl', 'also write DDL records (table-create, table-alter, …) like Maxwell output_ddl (Maxwell format)')
    .option('--debezium-schemas', 'Debezium: wrap key and value in Kafka Connect\'s {"schema","payload"} (JsonConverter schemas.enable=true), so readers decode every column of any table by its type')
    .option('--server-id <n>', 'server_id this replica announces to the source, unique among its replicas (default 6379 for client id maxwell, else derived from --client-id)')
    .option('--client-id <name>', 'names this capture: its stored position and bootstrap requests', CDC_DEFAULTS.clientId)
    .addOption(new Option('--position-store <where>', 'where the position lives: mysql = <schema-database>.positions in the source (Maxwell\'s table), local = <state_dir>/cdc/').choices(['mysql', 'local']).default('mysql'))
    .option('--schema-database <name>', "Maxwell's schema_database: positions and bootstrap tables", CDC_DEFAULTS.schemaDb)
    .option('--init-position <file:pos>', 'start here instead of the stored position (default without one: the end of the binlog)')
    .option('--http [port]', 'serve /metrics and /healthz on http.bind (127.0.0.1) : port (default http.port)')
    .option('--no-mock-date', 'keep binlog times as they are even when mock.date is set')
    .option('--queue-mb <n>', 'memory for records waiting for the bus; reading pauses when it is full', '64')
    .option('--max-message-bytes <n>', "Kafka: max.message.bytes of the topic when cdc creates it (an existing topic keeps its own)", String(CDC_DEFAULTS.maxMessageBytes))
    .option('--status-every <seconds>', 'without a terminal, log the status line this often', '30')
    .addOption(new Option('--max-rows <n>', 'stop after this many records were sent (tests, benchmarks)').hideHelp())
    .addOption(new Option('--batch-records <n>', 'records per batch sent to the bus (tests)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  rtwh cdc --mysql mysql://root:secret@127.0.0.1:3306/gmall --bus kafka://127.0.0.1:9092
  rtwh cdc --filter 'exclude: *.*, include: gmall.*' --partition-by primary_key --output-ddl
  rtwh cdc --format debezium --topic ods_db_debezium --http
  rtwh cdc --format debezium --debezium-schemas
  rtwh cdc bootstrap gmall.base_province

Reads the ROW binlog (binlog_format=ROW, binlog_row_image=FULL; binlog_row_metadata=FULL recommended) and writes
one record per row change: Maxwell JSON byte for byte (key {"database","table","pk.id"}, partition like
producer_partition_by), or Flink CDC's Debezium JSON (without schemas; --debezium-schemas adds each record's
schema, which rtwh's jobs need to decode DECIMAL, DATETIME and DATE values of tables outside the gmall schema).
With mock.date set, changes dated after the mock day take
the mock date and keep their time of day (Maxwell's mock_date); changes already dated on or before it (rtwh mock
db stamps business times) keep their ts.

The position is stored after the bus acknowledged everything up to a transaction boundary, in Maxwell's
positions table (or --position-store local), while the next batches go out. After kill -9 a restart never skips
a change and resends at most the batches that were on the bus without their position stored: 4, of at most
${CDC_DEFAULTS.batchRecords.toLocaleString('en-US')} records / ${CDC_DEFAULTS.batchBytes / 1024 / 1024} MB each, plus the first part of a transaction that began before them (a position
exists only between transactions). Without a stored position cdc starts at the end of the binlog.
A full queue pauses reading (a slow or absent bus makes cdc wait); a lost MySQL connection is retried with
backoff. A record larger than the topic's max.message.bytes (read at start) stops cdc before it, naming the row
and the kafka-configs command that raises the limit. Ctrl-C or SIGTERM: stop reading, send what is queued, store
the position, exit 0.`,
    )
    .action(async (flags: CdcFlags, cmd: Command) => {
      const { config } = ctx.config(cmd);
      const mysql = requireMysql(config);
      const format = flags.format as CdcFormat;
      const replicaId = flags.serverId === undefined ? defaultReplicaId(checkClientId(flags.clientId)) : wholeNumber('--server-id', flags.serverId, 1, 4294967295);
      const partitions = wholeNumber('--partitions', flags.partitions, 1, 10_000);
      const queueMb = wholeNumber('--queue-mb', flags.queueMb, 1, 65_536);
      const maxMessageBytes = wholeNumber('--max-message-bytes', flags.maxMessageBytes, 1024, 2_147_483_647);
      const statusEveryMs = wholeNumber('--status-every', flags.statusEvery, 1, 86_400) * 1000;
      const batchRecords = flags.batchRecords === undefined ? undefined : wholeNumber('--batch-records', flags.batchRecords, 1, 1_000_000);
      const clientId = checkClientId(flags.clientId);
      const schemaDb = schemaDatabaseFlag(flags.schemaDatabase);
      topicFlag('--topic', flags.topic);
      parseFilter(flags.filter); // a bad filter fails before any connection is opened
      const initPosition = flags.initPosition === undefined ? undefined : parsePosition(flags.initPosition);
      const maxRows = flags.maxRows === undefined ? undefined : wholeNumber('--max-rows', flags.maxRows, 1, Number.MAX_SAFE_INTEGER);
      if (flags.outputDdl && format !== 'maxwell') throw rtwhError('USAGE', '--output-ddl is a Maxwell option; Debezium records carry no DDL here', { hint: 'Drop --output-ddl, or use --format maxwell.' });
      if (flags.debeziumSchemas && format !== 'debezium') throw rtwhError('USAGE', '--debezium-schemas is a Debezium option; Maxwell records carry no schema', { hint: 'Add --format debezium, or drop --debezium-schemas.' });
      const http = flags.http === undefined ? undefined : { bind: config.http.bind, port: flags.http === true ? config.http.port : wholeNumber('--http', String(flags.http), 0, 65535) };
      const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);

      const bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
      const spinner = wantSpinner(ctx.io.isTTY);
      const progress = startProgress({ label: `cdc → ${flags.topic}`, unit: 'rows', enabled: spinner });
      // First Ctrl-C or SIGTERM: finish cleanly; the second leaves at once.
      const stop = stopOnSignals(() => ctx.err('cdc: stopping: sending what is queued and storing the position (Ctrl-C again to quit at once)'));
      let lastLine = 0;
      let lastState: string | undefined;
      try {
        const result = await runCdc({
          mysql,
          bus,
          busUrl: config.bus,
          busClientId: config.kafka.clientId,
          cwd: ctx.io.cwd,
          topic: flags.topic,
          format,
          partitionBy: flags.partitionBy as MaxwellPartitionBy,
          partitions,
          maxMessageBytes,
          ...(batchRecords !== undefined ? { batchRecords } : {}),
          ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
          outputDdl: Boolean(flags.outputDdl),
          ...(flags.debeziumSchemas ? { debezium: { schemas: true } } : {}),
          replicaId,
          clientId,
          positionStore: flags.positionStore as 'mysql' | 'local',
          stateDir: resolve(ctx.io.cwd, config.stateDir),
          schemaDb,
          ...(initPosition ? { initPosition } : {}),
          ...(flags.mockDate && config.mock.date ? { mockDate: config.mock.date } : {}),
          producer: { compression: config.kafka.compression },
          ...(http ? { http } : {}),
          queueBytes: queueMb * 1024 * 1024,
          ...(maxRows !== undefined ? { maxRows } : {}),
          signal: stop.signal,
          log: (m) => ctx.err(`cdc: ${m}`),
          onStarted: (info) => {
            ctx.err(`cdc: reading ${parseMysqlUrl(mysql).display} from ${formatPosition(info.start)} into ${flags.topic} on ${bus.displayUrl} (${format}${flags.debeziumSchemas ? ' with schemas' : ''}${config.mock.date && flags.mockDate ? `, mock date ${config.mock.date}` : ''})`);
          },
          onStatus: (s) => {
            progress.add(s.rows - progress.done, statusDetail(s));
            if (s.state !== lastState) {
              if (lastState !== undefined || s.state === 'waiting') ctx.err(`cdc: ${s.state}${s.waitingFor ? ` for ${s.waitingFor}` : ''}`);
              lastState = s.state;
            }
            // Without a terminal: one line every --status-every seconds (a log, not an animation). Statuses come
            // every second, give or take a timer's jitter: a line 999 ms after the last one is not skipped for it.
            if (!spinner && Date.now() - lastLine >= statusEveryMs - 250) {
              lastLine = Date.now();
              ctx.err(`cdc: ${formatCount(s.rows)} rows (${formatCount(s.rowsPerSecond)} rows/s) · ${statusDetail(s)}`);
            }
          },
        });
        progress.stop();
        if (json) ctx.out(JSON.stringify({ ...result, from: formatPosition(result.from), to: formatPosition(result.to) }));
        const extra = [`${formatPosition(result.from)} → ${formatPosition(result.to)}`];
        if (result.ddl > 0) extra.push(`${formatCount(result.ddl)} DDL`);
        if (result.bootstrapRows > 0) extra.push(`${formatCount(result.bootstrapRows)} bootstrap rows`);
        ctx.err(`${summaryLine('captured', result.rows, 'rows', `into ${result.topic} (${result.format}, ${countOf(result.records, 'records')})`, result.seconds)} · ${extra.join(' · ')}`);
      } finally {
        progress.stop();
        stop.dispose();
        await bus.close();
      }
    });

  withCommonFlags(cdc.command('bootstrap'))
    .description('Full snapshot of a table, like maxwell-bootstrap: the running cdc writes bootstrap-start, every row, bootstrap-complete')
    .argument('<database.table>', 'the table to snapshot, e.g. gmall.base_province')
    .option('--where <sql>', 'only rows matching this SQL condition')
    .option('--client-id <name>', 'the cdc that carries it out (its --client-id)', CDC_DEFAULTS.clientId)
    .option('--schema-database <name>', "Maxwell's schema_database holding the bootstrap table", CDC_DEFAULTS.schemaDb)
    .option('--no-wait', 'queue the request and return; the running cdc carries it out')
    .option('--timeout <seconds>', 'give up waiting after this long (the request stays queued)')
    .addHelpText(
      'after',
      `
Examples:
  rtwh cdc bootstrap gmall.base_province
  rtwh cdc bootstrap gmall.user_info --where "create_time >= '2025-01-01'"

Like maxwell-bootstrap, this inserts a request into <schema-database>.bootstrap; the running \`rtwh cdc\` with the
same --client-id sees it in the binlog and writes the snapshot in binlog order (changes made meanwhile follow it),
Maxwell: bootstrap-start, one bootstrap-insert per row ordered by primary key, bootstrap-complete; Debezium: op "r"
records. Without a running cdc the request waits for one.`,
    )
    .action(async (name: string, flags: BootstrapFlags, cmd: Command) => {
      const { config } = ctx.config(cmd);
      const mysql = requireMysql(config);
      const m = /^([^.]+)\.([^.]+)$/.exec(name);
      if (!m || checkDatabaseName(m[1]!) || checkDatabaseName(m[2]!)) {
        throw rtwhError('USAGE', `invalid table ${q(name)}: expected database.table, each letters, digits and _ (e.g. gmall.base_province)`);
      }
      const database = m[1]!;
      const table = m[2]!;
      if (flags.where !== undefined && flags.where.trim() === '') {
        // Stored empty, it would mean no condition: a snapshot of every row.
        throw rtwhError('USAGE', `invalid --where ${q(flags.where)}: expected an SQL condition (leave --where out to snapshot every row)`);
      }
      const clientId = checkClientId(explicit(cmd, 'clientId', flags.clientId));
      const schemaDb = schemaDatabaseFlag(explicit(cmd, 'schemaDatabase', flags.schemaDatabase));
      const timeoutS = flags.timeout === undefined ? undefined : wholeNumber('--timeout', flags.timeout, 1, 10_000_000);
      if (timeoutS !== undefined && !flags.wait) throw rtwhError('USAGE', `--timeout ${q(flags.timeout!)} limits the wait, and --no-wait does not wait: expected one of them`);
      const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);
      const conn = await openCdcConn(parseMysqlUrl(mysql));
      const spinner = wantSpinner(ctx.io.isTTY);
      const progress = startProgress({ label: `bootstrap ${database}.${table}`, unit: 'rows', enabled: spinner });
      const t0 = performance.now();
      try {
        await ensureMaxwellSchema(conn, schemaDb);
        const id = await enqueueBootstrap(conn, { database, table, ...(flags.where !== undefined ? { where: flags.where } : {}), clientId, schemaDb });
        if (!flags.wait) {
          if (json) ctx.out(JSON.stringify({ id, database, table, queued: true }));
          ctx.err(`queued bootstrap #${id} of ${database}.${table} for cdc client ${clientId}`);
          return;
        }
        ctx.err(`queued bootstrap #${id} of ${database}.${table}; waiting for the cdc with client id ${clientId} to carry it out (Ctrl-C leaves it queued)`);
        let warned = false;
        for (;;) {
          const p = await bootstrapProgress(conn, schemaDb, id);
          if (!p) throw rtwhError('MYSQL_ERROR', `bootstrap request #${id} disappeared from ${schemaDb}.bootstrap`);
          progress.add(p.insertedRows - progress.done, p.started ? `of ${formatCount(p.totalRows)}` : 'waiting for cdc');
          if (p.isComplete) {
            progress.stop();
            const secs = (performance.now() - t0) / 1000;
            if (json) ctx.out(JSON.stringify({ id, database, table, rows: p.insertedRows, seconds: Number(secs.toFixed(3)), comment: p.comment }));
            ctx.err(`${summaryLine('bootstrapped', p.insertedRows, 'rows', `of ${database}.${table} (request #${id})`, secs)}${p.comment ? ` · ${p.comment}` : ''}`);
            return;
          }
          const waited = (performance.now() - t0) / 1000;
          if (!p.started && !warned && waited > 10) {
            warned = true;
            ctx.err(`no cdc has picked up request #${id} after ${formatSeconds(waited)}; is \`rtwh cdc --client-id ${clientId}\` running?`);
          }
          if (timeoutS !== undefined && waited > timeoutS) {
            throw rtwhError('MYSQL_UNAVAILABLE', `bootstrap #${id} not finished after ${timeoutS} s (${formatCount(p.insertedRows)} rows so far); it stays queued`, {
              hint: `Start \`rtwh cdc --client-id ${clientId}\`, or follow it later in ${schemaDb}.bootstrap.`,
            });
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        progress.stop();
        await conn.close();
      }
    });
}

/**
 * `cdc` and `cdc bootstrap` share option names, and commander hands an option after the subcommand to whichever
 * command it meets first (the parent): take the value the user gave, wherever it landed.
 */
function explicit(cmd: Command, key: string, own: string): string {
  if (cmd.getOptionValueSource(key) === 'cli') return own;
  const parent = cmd.parent;
  if (parent && parent.getOptionValueSource(key) === 'cli') return String(parent.opts()[key]);
  return own;
}

function statusDetail(s: CdcStatus): string {
  const parts = [s.state === 'waiting' ? `waiting for ${s.waitingFor ?? '?'}` : formatPosition(s.read), lagText(s), `queue ${formatCount(s.queueRecords)}`];
  if (s.reconnects > 0) parts.push(`${s.reconnects} reconnect${s.reconnects === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function requireMysql(config: Config): string {
  if (!config.mysql) {
    throw rtwhError('USAGE', 'no source database to read the binlog of', {
      hint: 'Pass --mysql mysql://user:pass@host:port/gmall (or set RTWH_MYSQL, or mysql in rtwh.toml).',
    });
  }
  return config.mysql;
}

function schemaDatabaseFlag(v: string): string {
  const problem = checkDatabaseName(v);
  if (problem) throw rtwhError('USAGE', `invalid --schema-database ${q(v)}: ${problem}`);
  return v;
}

function checkClientId(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw rtwhError('USAGE', `invalid --client-id ${q(v)}: expected 1–64 letters, digits, ".", "_" or "-"`);
  return v;
}

