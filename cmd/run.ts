/** `rtwh run …`: the warehouse jobs. Thin wiring: flags → options, status line, signals, summary. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { openBus } from '../src/bus/index';
import type { Bus } from '../src/bus/types';
import { enqueueBootstrap } from '../src/collect/cdc/bootstrap';
import { openCdcConn } from '../src/collect/cdc/conn';
import { ensureMaxwellSchema } from '../src/collect/cdc/position';
import { dlqTopic } from '../src/bus/dead-letter';
import { serveHttp, type Health, type HttpEndpoint, type Metric } from '../src/cli/http';
import { advertiseEndpoint, endpointFile, newToken, QueryService } from '../src/query/endpoint';
import { formatCount, startProgress, summaryLine } from '../src/cli/progress';
import { stopOnSignals, wantSpinner } from '../src/cli/stop';
import type { Config } from '../src/config/load';
import { q, rtwhError } from '../src/errors';
import { readConfigFile, standardRules, type ParsedRules } from '../src/dim/config';
import { initConfig, mysqlConfigSource, staticConfigSource, type ConfigSource } from '../src/dim/config-source';
import { runDimJob, type DimStatus } from '../src/dim/job';
import { checkRedisUrl, invalidateRedis } from '../src/dim/lookup';
import { dimDetail, dimHealth, dimMetrics } from '../src/dim/metrics';
import { openDimStore } from '../src/dim/store';
import type { DimStore } from '../src/dim/types';
import { checkIdentifier, parseMysqlUrl } from '../src/store/mysql';
import { groupFlag, topicFlag } from '../src/bus/topic-name';
import { wholeNumber } from './flags';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';
import { planned } from './planned';
import { addCommonJobFlags, listJobs, listJobsJson, prepareJobs, registerJobCommand, runJobs, type DimsHandle, type DimsOpenOptions, type JobFlags } from './job-command';
import { DimLookup } from '../src/dim/lookup';
import { dwdLogJob } from '../src/dwd/log';
import { dwdTradeJob } from '../src/dwd/trade';
import type { JobSpec } from '../src/stream/types';
import { DWS_JOBS, dwsShortName, tablesOf } from '../src/dws/index';
import { OFFSETS_DDL, runDuckSink, runSink, type SinkOptions, type SinkResult } from '../src/dws/sink';
import { ddlScript, SQL_DIALECTS, type SqlDialect } from '../src/dws/ddl';
import { openMysqlSink } from '../src/dws/mysql-sink';
import { duckdbDdl } from '../src/dws/tables';
import { maskUrl } from '../src/config/mask';

interface DimFlags {
  topic: string;
  group: string;
  dimStore?: string;
  configFile?: string;
  standardConfig?: boolean;
  configDatabase: string;
  configTable: string;
  initConfig?: boolean;
  configVariant: string;
  database?: string;
  dlq?: string;
  from: string;
  untilIdle?: boolean;
  dropOnDelete?: boolean;
  cache?: string;
  bootstrap?: string;
  schemaDatabase: string;
  http?: string | boolean;
  batch: string;
}

const JOBS = {
  dws: 'the summary-layer issue',
};

export function registerRun(program: Command, ctx: Ctx): void {
  const run = program
    .command('run')
    .description('Run the warehouse jobs: dim (dimension sink), dwd (detail facts), dws (window aggregates)');
  registerDim(run, ctx);
  registerDwd(run, ctx);
  registerDws(run, ctx);
  run.option('--list', 'list the declared stream jobs: inputs, outputs, options and defaults').action((flags: { list?: boolean }, cmd: Command) => {
    if (!flags.list) {
      run.help();
      return;
    }
    const jobs = [...DWD_JOBS, ...DWS_JOBS];
    ctx.out(cmd.optsWithGlobals<GlobalOpts>().json ? listJobsJson(jobs) : listJobs(jobs));
  });
}

const DWD_JOBS: readonly JobSpec[] = [dwdLogJob, dwdTradeJob];

/** The dim lookup client for jobs that name dims (dwd trade): the store `run dim` writes, cached. */
const dimsFrom = async (config: Config, cwd: string, flags: JobFlags, o: DimsOpenOptions): Promise<DimsHandle> => {
  const url = typeof flags.dimStore === 'string' ? flags.dimStore : `sqlite:${resolve(cwd, config.stateDir, 'dim.db')}`;
  const store = await openDimStore(url, { cwd, signal: o.signal, onWaiting: o.onWaiting });
  const lookup = await DimLookup.open(store);
  return {
    reader: lookup,
    close: async () => {
      await lookup.close();
      await store.close();
    },
  };
};

const DIM_STORE_HELP = 'the dim store `rtwh run dim` writes, for dictionary names (default sqlite:<state_dir>/dim.db)';

function registerDwd(run: Command, ctx: Ctx): void {
  const dwd = addCommonJobFlags(withCommonFlags(run.command('dwd')))
    .description('Build the detail layer: `dwd log` (app log splitting) and `dwd trade` (transaction facts); without a subcommand, both in one process')
    .option('--dim-store <url>', DIM_STORE_HELP)
    .addHelpText('after', `\nExamples:\n  rtwh run dwd --until-idle                 both jobs, default topics, to the end of the data\n  rtwh run dwd log --topic-style 2023        the log split only, 2023 topic names\n  rtwh run dwd trade --dim-store mysql://root:…@127.0.0.1:3306/gmall_dim`)
    .action(async (flags: JobFlags, c: Command) => {
      await runJobs(DWD_JOBS, flags, c, ctx, { dims: dimsFrom });
    });
  registerJobCommand(dwd, dwdLogJob, ctx);
  registerJobCommand(dwd, dwdTradeJob, ctx, { dims: dimsFrom }).option('--dim-store <url>', DIM_STORE_HELP);
}

/** `--sink`: duckdb:PATH (default duckdb:<duckdb.path>) or mysql://user:pass@host:port/db. */
type SinkSpec = { kind: 'duckdb'; path: string } | { kind: 'mysql'; url: string; display: string };

function sinkSpec(flag: string | undefined, config: Config, cwd: string): SinkSpec {
  if (flag === undefined) return { kind: 'duckdb', path: resolve(cwd, config.duckdb.path) };
  if (flag.startsWith('duckdb:') && flag.length > 'duckdb:'.length) return { kind: 'duckdb', path: resolve(cwd, flag.slice('duckdb:'.length)) };
  if (/^mysql:\/\//i.test(flag)) return { kind: 'mysql', url: flag, display: parseMysqlUrl(flag).display };
  throw rtwhError('DWS_SINK_URL', `invalid --sink ${q(maskUrl(flag))}: expected duckdb:PATH or mysql://user:pass@host:port/db`);
}

const DWS_NAMES = DWS_JOBS.map(dwsShortName);

function registerDws(run: Command, ctx: Ctx): void {
  const dws = addCommonJobFlags(withCommonFlags(run.command('dws')))
    .description('Aggregate DWD streams in tumbling event-time windows into the DWS tables (embedded DuckDB warehouse, or MySQL/MariaDB)')
    .argument('[jobs...]', `the window jobs to run (default: all): ${DWS_NAMES.join(', ')}`)
    .option('--sink <url>', 'where the DWS tables go: duckdb:PATH (default duckdb:<duckdb.path>, .rtwh/warehouse.duckdb) or mysql://user:pass@host:port/db (MySQL, MariaDB)')
    .addOption(new Option('--dialect <d>', 'SQL dialect of a MySQL-protocol sink; doris and starrocks: --print-ddl only').choices([...SQL_DIALECTS]))
    .option('--print-ddl', 'print the CREATE TABLE statements of the tables (for --dialect, else of the sink) and exit')
    .option('--dim-store <url>', DIM_STORE_HELP);
  const seen = new Set<string>();
  for (const spec of DWS_JOBS) {
    for (const o of spec.options) {
      if (seen.has(o.name)) continue;
      seen.add(o.name);
      dws.option(`--${o.name} <value>`, o.description, o.default);
    }
  }
  dws
    .addHelpText(
      'after',
      `
Examples:
  rtwh run dws --until-idle                                   every window job and the sink, to the end of the data
  rtwh run dws traffic_vc_ch_ar_is_new --window 5s            one job, 5-second windows
  rtwh run dws --sink duckdb:/tmp/wh.duckdb                   another warehouse file

Windows: tumbling in event time (the records' ts), stt/edt in Beijing time; watermark = max event time − 3 s;
each window is emitted once when the watermark passes its end (an idle input stops holding it back after 5 s;
--until-idle moves it to the end of time once the inputs are drained, so every open window is emitted).
A record for a window already emitted is counted (window_late), not added.

Queries: DuckDB lets one process open the warehouse file, so while this runs it answers \`rtwh query\` itself:
POST /query on http.bind (127.0.0.1) at an ephemeral port (--http PORT: that port, with /metrics and /healthz),
advertised with a random bearer token in <warehouse>.endpoint (mode 0600, removed on a clean exit).

Delivery: each job commits its state, timers, input offsets and outputs in one transaction of its state file
(<state_dir>/jobs/dws_<job>.db) and forwards its windows to the topic named like the table, exactly once. The
sink loads those topics into DuckDB, the rows and the topic offsets in one DuckDB transaction, idempotent by
(stt, edt, keys): kill -9 at any point and restart gives the tables of an uninterrupted run.

MySQL-protocol sink: --sink mysql://user:pass@host:port/db loads MySQL or MariaDB (InnoDB) the same way: the rows
(REPLACE by rtwh_key, the SHA-256 of the row identity) and the offsets (table rtwh_sink_offsets) in one transaction.
Doris and StarRocks speak the same protocol, but rtwh has no such server to test against, so it does not load them:
--dialect doris|starrocks --print-ddl prints their aggregate-key DDL (AGGREGATE KEY(stt, edt, cur_date, keys…),
metrics REPLACE, dynamic daily partitions par<yyyyMMdd>), untested against a real server.`,
    )
    .action(async (jobs: string[], flags: JobFlags & { sink?: string; dialect?: SqlDialect; printDdl?: boolean }, c: Command) => {
      const { config } = ctx.config(c);
      const unknown = jobs.filter((j) => !DWS_NAMES.includes(j));
      if (unknown.length > 0) throw rtwhError('USAGE', `unknown dws job${unknown.length === 1 ? '' : 's'} ${unknown.map(q).join(', ')}: expected ${DWS_NAMES.join(', ')}`);
      const specs = jobs.length === 0 ? DWS_JOBS : DWS_JOBS.filter((s) => jobs.includes(dwsShortName(s)));
      const sinkTo = sinkSpec(flags.sink, config, ctx.io.cwd);
      const tables = tablesOf(specs);
      if (flags.printDdl) {
        if (flags.dialect !== undefined) ctx.out(ddlScript(tables, flags.dialect));
        else ctx.out(sinkTo.kind === 'mysql' ? ddlScript(tables, 'mysql') : `${[...tables.map(duckdbDdl), OFFSETS_DDL].join(';\n\n')};\n`);
        return;
      }
      if (flags.dialect !== undefined && sinkTo.kind !== 'mysql') throw rtwhError('USAGE', `--dialect ${flags.dialect} applies to a MySQL-protocol sink (--sink mysql://…) or to --print-ddl`);
      if (flags.dialect === 'doris' || flags.dialect === 'starrocks') {
        throw rtwhError('NOT_BUILT', `loading ${flags.dialect === 'doris' ? 'Doris' : 'StarRocks'} is not built: rtwh has no ${flags.dialect} server to test it against`, {
          hint: `Create the tables with \`rtwh run dws --dialect ${flags.dialect} --print-ddl\`; --sink mysql://… loads MySQL and MariaDB.`,
        });
      }
      const say = (m: string) => ctx.err(`dws sink: ${m}`);
      // Every flag is checked before the HTTP server, the bus and the sink are opened: a bad one creates nothing.
      const checked = prepareJobs(specs, flags, c, ctx);
      // the query endpoint: --http's port, or any free one
      const port = checked.http?.port ?? 0;
      const sinkStop = new AbortController();
      const jobsStop = new AbortController();
      const onSignal = () => sinkStop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let jobsDone = false;
      let sinkBus: Bus | undefined;
      // One HTTP server: the jobs' /metrics and /healthz, and (DuckDB) /query for `rtwh query` while this holds the file.
      const token = newToken();
      const queries = new QueryService(token);
      let metrics: () => readonly Metric[] = () => [];
      let health: () => Health = () => ({ ok: true, body: { status: 'starting' } });
      const http = sinkTo.kind === 'duckdb' || flags.http !== undefined ? serveHttp(config.http.bind, port, () => metrics(), () => health(), sinkTo.kind === 'duckdb' ? queries.route : undefined) : undefined;
      if (http && flags.http !== undefined) ctx.err(`dws: metrics on ${http.url}/metrics`);
      try {
        sinkBus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
        const where = sinkTo.kind === 'duckdb' ? `duckdb:${sinkTo.path}` : sinkTo.display;
        say(`${tables.map((t) => t.name).join(', ')} on ${sinkBus.displayUrl} → ${where}`);
        const common: SinkOptions = {
          tables,
          startFrom: flags.from as 'earliest' | 'latest',
          untilIdle: Boolean(flags.untilIdle),
          producersDone: () => jobsDone,
          batchRecords: checked.batch,
          signal: sinkStop.signal,
          log: say,
        };
        const busNow = sinkBus;
        const sink =
          sinkTo.kind === 'mysql'
            ? openMysqlSink(sinkTo.url).then((target) => runSink(busNow, target, common))
            : runDuckSink(busNow, {
                ...common,
                path: sinkTo.path,
                share: async (connect) => {
                  queries.attach(await connect());
                  const remove = advertiseEndpoint({ pid: process.pid, bind: config.http.bind, port: http!.port, token, warehouse: sinkTo.path, started: new Date().toISOString() });
                  say(`queries: rtwh query asks this job at ${http!.url}/query while it runs (${endpointFile(sinkTo.path)})`);
                  return async () => {
                    remove();
                    await queries.detach();
                  };
                },
              });
        // A failing sink stops the jobs the way Ctrl-C does (they finish the batch and commit).
        const sinkFailed = sink.then(
          () => undefined,
          (e: unknown) => {
            jobsStop.abort();
            return e;
          },
        );
        let jobError: unknown;
        try {
          await runJobs(
            specs,
            flags,
            c,
            ctx,
            {
              dims: dimsFrom,
              signal: jobsStop.signal,
              metricsTo: (m, h) => {
                metrics = m;
                health = h;
              },
            },
            checked,
          );
        } catch (e) {
          jobError = e;
          sinkStop.abort();
        } finally {
          jobsDone = true;
        }
        const sinkError = await sinkFailed;
        if (jobError !== undefined) throw jobError;
        if (sinkError !== undefined) throw sinkError;
        const r: SinkResult = await sink;
        const rows = Object.entries(r.status.rows).filter(([, n]) => n > 0);
        ctx.err(
          `${summaryLine('loaded', r.status.records, 'records', `into ${where}`, r.seconds)} · ${rows.length ? rows.map(([t, n]) => `${t} ${formatCount(n)}`).join(', ') : 'no rows'}${r.status.bad ? ` · ${formatCount(r.status.bad)} bad` : ''} · lag ${r.status.lag ?? '?'}`,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        http?.stop();
        await sinkBus?.close().catch(() => undefined);
      }
    });
}

export function registerServe(program: Command): void {
  planned(program, 'serve', 'Dashboard, query API and /metrics over the warehouse, bound to 127.0.0.1', JOBS.dws);
}

function registerDim(run: Command, ctx: Ctx): void {
  withCommonFlags(run.command('dim'))
    .description('Route dimension changes from ods_db into the dim store, driven live by table_process')
    .option('--topic <topic>', 'input topic of row changes (Maxwell or Debezium JSON)', 'ods_db')
    .option('--group <name>', 'consumer group; also names the offsets kept in the dim store', 'rtwh-dim')
    .option('--dim-store <url>', 'sqlite:PATH or mysql://user:pass@host:port/db (default sqlite:<state_dir>/dim.db)')
    .option('--config-file <file>', 'table_process rows from a .csv or .json file instead of MySQL')
    .option('--standard-config', 'use the standard gmall rows shipped with rtwh, even when --mysql is set')
    .option('--config-database <name>', 'database of the config table in the --mysql server', 'gmall_config')
    .option('--config-table <name>', 'the config table', 'table_process')
    .option('--init-config', 'create the config table in the --mysql server and load the standard rows, then run')
    .addOption(new Option('--config-variant <v>', 'columns of the config table --init-config creates').choices(['2022', '2023']).default('2022'))
    .option('--database <name>', 'route changes of this source database only; * for any (default etl.database)')
    .option('--dlq <topic>', 'dead-letter topic (default <topic>_dlq)')
    .addOption(new Option('--from <where>', 'where to start a partition the dim store has no offset for').choices(['earliest', 'latest']).default('earliest'))
    .option('--until-idle', 'stop once the input is drained: commit and exit 0 (tests, batch runs, the demo)')
    .option('--drop-on-delete', 'drop the dim table when its table_process row is deleted, live or while the job was down (only tables this --group created; default: keep it)')
    .option('--cache <url>', 'redis://host:port: delete <sink_table>:<id> keys of updated and deleted rows (the seed\'s Redis cache)')
    .option('--bootstrap <cdc-client-id>', 'when a rule is added or gains columns, ask that running `rtwh cdc` for a snapshot of the source table (Maxwell bootstrap)')
    .option('--schema-database <name>', "with --bootstrap: Maxwell's schema_database of that cdc", 'maxwell')
    .option('--http [port]', 'serve /metrics and /healthz on http.bind (127.0.0.1) : port (default http.port)')
    .option('--batch <n>', 'records per store transaction', '5000')
    .addHelpText(
      'after',
      `
Examples:
  rtwh run dim --mysql mysql://root:secret@127.0.0.1:3306/gmall --init-config
  rtwh run dim --bus sqlite:.rtwh/bus.db --until-idle
  rtwh run dim --dim-store mysql://root:secret@127.0.0.1:3306/gmall_dim --cache redis://127.0.0.1:6379 --http

Config: --config-file, else the table_process table of the --mysql server (followed live through its binlog:
insert a row and routing starts with the next batch, add columns and the dim table gains them, delete it and
routing stops), else the standard gmall rows. Names from the config must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$
(sink_table not starting with _rtwh_ or sqlite_), sink_columns at most 2,000 characters; a bad row, or one the
dim store refuses (a table keyed by another column), is reported and skipped while the other rules go on.
sink_extend (Phoenix's SALT_BUCKETS …) is recorded, never executed.

Delivery: the dim rows and the input offsets are written in one store transaction, and reading resumes from
the stored offsets, so kill -9 at any moment neither loses nor repeats a change. Records that are not valid
row changes go to the dead-letter topic with the reason. Ctrl-C or SIGTERM: finish the batch, commit, exit 0.`,
    )
    .action(async (flags: DimFlags, cmd: Command) => {
      const { config } = ctx.config(cmd);
      const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);
      const batch = wholeNumber('--batch', flags.batch, 1, 100_000);
      const database = flags.database === undefined ? config.etl.database : flags.database === '*' ? '*' : checkIdentifier(flags.database, '--database');
      const configDb = checkIdentifier(flags.configDatabase, '--config-database');
      const configTable = checkIdentifier(flags.configTable, '--config-table');
      if (flags.initConfig && (flags.configFile || flags.standardConfig)) throw rtwhError('USAGE', '--init-config writes the config table in MySQL; it cannot be combined with --config-file or --standard-config');
      if (flags.cache !== undefined) checkRedisUrl(flags.cache, '--cache');
      // Every flag is checked before the dim store, the config source and the bus are opened: a bad one creates nothing.
      topicFlag('--topic', flags.topic);
      if (flags.dlq !== undefined) topicFlag('--dlq', flags.dlq);
      groupFlag('--group', flags.group);
      if (flags.initConfig && !config.mysql) throw rtwhError('USAGE', '--init-config needs a MySQL server: give --mysql (or RTWH_MYSQL)');
      const schemaDb = flags.bootstrap === undefined ? undefined : checkBootstrap(config, flags.bootstrap, flags.schemaDatabase, database);
      const fileConfig = flags.configFile === undefined ? undefined : readConfigFile(resolve(ctx.io.cwd, flags.configFile));
      const http = flags.http === undefined ? undefined : { bind: config.http.bind, port: flags.http === true ? config.http.port : wholeNumber('--http', String(flags.http), 0, 65535) };
      const storeUrl = flags.dimStore ?? `sqlite:${resolve(ctx.io.cwd, config.stateDir, 'dim.db')}`;
      const say = (m: string) => ctx.err(`dim: ${m}`);

      const stop = stopOnSignals(() => say('stopping: finishing the batch and committing (Ctrl-C again to quit at once)'));
      let store: DimStore | undefined;
      let bootstrapper: Awaited<ReturnType<typeof snapshotRequester>> | undefined;
      let source: ConfigSource | undefined;
      let bus: Bus | undefined;
      let endpoint: HttpEndpoint | undefined;
      let last: DimStatus | undefined;
      const spinner = wantSpinner(ctx.io.isTTY);
      const progress = startProgress({ label: `dim ← ${flags.topic}`, unit: 'records', enabled: spinner });
      let lastLine = Date.now();
      try {
        store = await openDimStore(storeUrl, { cwd: ctx.io.cwd, signal: stop.signal, onWaiting: (why) => say(`waiting for the dim store: ${why}`) });
        if (flags.bootstrap !== undefined && schemaDb !== undefined) bootstrapper = await snapshotRequester(config, flags.bootstrap, schemaDb, database);
        source = await configSource(flags, fileConfig, config, configDb, configTable, say);
        bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
        say(`routing ${flags.topic} on ${bus.displayUrl} into ${store.description} (group ${flags.group}, database ${database})`);
        if (http) {
          endpoint = serveHttp(http.bind, http.port, () => (last ? dimMetrics(last) : []), () => (last ? dimHealth(last) : { ok: true, body: { status: 'starting' } }));
          say(`metrics on ${endpoint.url}/metrics`);
        }
        const redis = flags.cache;
        const result = await runDimJob({
          bus,
          topic: flags.topic,
          group: flags.group,
          store,
          config: source,
          database,
          dlq: flags.dlq ?? dlqTopic(flags.topic),
          startFrom: flags.from as 'earliest' | 'latest',
          untilIdle: Boolean(flags.untilIdle),
          dropOnDelete: Boolean(flags.dropOnDelete),
          batchRecords: batch,
          ...(bootstrapper ? { bootstrap: bootstrapper.request } : {}),
          ...(redis ? { afterApply: (writes) => invalidateRedis(redis, writes) } : {}),
          signal: stop.signal,
          log: say,
          onStatus: (s) => {
            last = s;
            progress.add(s.records - progress.done, dimDetail(s));
            if (!spinner && Date.now() - lastLine >= 30_000) {
              lastLine = Date.now();
              say(`${formatCount(s.records)} records (${formatCount(s.recordsPerSecond)}/s) · ${dimDetail(s)}`);
            }
          },
        });
        progress.stop();
        const s = result.status;
        const tables = Object.entries(s.tables).filter(([, c]) => c.upserts + c.deletes > 0);
        if (json) ctx.out(JSON.stringify({ records: s.records, seconds: Number(result.seconds.toFixed(3)), tables: s.tables, dead_letters: s.deadLetters, skipped_other_database: s.skippedOtherDatabase, skipped_unconfigured: s.skippedUnconfigured, control_records: s.controlRecords, config_version: s.configVersion, rules: s.rules, rejected_rules: s.rejectedRules }));
        const extra = [`${tables.length} dim table${tables.length === 1 ? '' : 's'} written`, dimDetail(s)];
        if (s.skippedUnconfigured + s.skippedOtherDatabase) extra.push(`${formatCount(s.skippedUnconfigured + s.skippedOtherDatabase)} changes not configured`);
        ctx.err(`${summaryLine('routed', s.records, 'records', `from ${flags.topic} into ${store.description}`, result.seconds)} · ${extra.join(' · ')}`);
      } finally {
        progress.stop();
        stop.dispose();
        endpoint?.stop();
        await source?.close().catch(() => undefined);
        await store?.close().catch(() => undefined);
        await bootstrapper?.close().catch(() => undefined);
        await bus?.close().catch(() => undefined);
      }
    });
}

async function configSource(
  flags: DimFlags,
  fileConfig: ParsedRules | undefined,
  config: Config,
  database: string,
  table: string,
  say: (m: string) => void,
): Promise<ConfigSource> {
  if (flags.configFile !== undefined && fileConfig !== undefined) return staticConfigSource(fileConfig.rules, fileConfig.rejected, flags.configFile);
  if (config.mysql && !flags.standardConfig) {
    const target = parseMysqlUrl(config.mysql);
    if (flags.initConfig) {
      const n = await initConfig(target, { database, table, variant: flags.configVariant as '2022' | '2023' });
      say(`config ${database}.${table}: ${n ? `added ${n} standard row${n === 1 ? '' : 's'}` : 'the standard rows are there already'}`);
    }
    let said: string | undefined;
    return mysqlConfigSource(target, {
      database,
      table,
      onWarning: say,
      onState: (state, detail) => {
        const line = `config ${database}.${table}: ${state}${detail ? ` (${detail})` : ''}`;
        if (line !== said) say(line);
        said = line;
      },
    });
  }
  if (flags.initConfig) throw rtwhError('USAGE', '--init-config needs a MySQL server: give --mysql (or RTWH_MYSQL)');
  return staticConfigSource(standardRules(), [], 'the standard gmall rules (fixtures/table_process.json)');
}


/** The flags `--bootstrap` needs, checked before anything is opened; returns the schema database. */
function checkBootstrap(config: Config, clientId: string, schemaDatabase: string, database: string): string {
  if (!config.mysql) throw rtwhError('USAGE', '--bootstrap needs the source MySQL server: give --mysql (or RTWH_MYSQL)');
  if (database === '*') throw rtwhError('USAGE', '--bootstrap needs one source database: give --database NAME');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(clientId)) throw rtwhError('USAGE', `invalid --bootstrap ${q(clientId)}: expected a cdc client id (1–64 letters, digits, ".", "_" or "-")`);
  return checkIdentifier(schemaDatabase, '--schema-database');
}

/** `--bootstrap`: files snapshot requests in `<schema db>.bootstrap` for the running cdc, as `rtwh cdc bootstrap` does. */
async function snapshotRequester(config: Config, clientId: string, schemaDb: string, database: string) {
  if (!config.mysql) throw rtwhError('USAGE', '--bootstrap needs the source MySQL server: give --mysql (or RTWH_MYSQL)');
  const conn = await openCdcConn(parseMysqlUrl(config.mysql));
  await ensureMaxwellSchema(conn, schemaDb);
  return {
    request: async (table: string) => {
      await enqueueBootstrap(conn, { database, table, clientId, schemaDb });
    },
    close: () => conn.close(),
  };
}
