/**
 * `rtwh run <group> <job>` for declared stream jobs (src/stream/types.ts JobSpec): the spec's options become flags
 * (defaults shown in --help), plus the common job flags; the action runs the job with src/stream/runtime.ts.
 * Thin wiring like `run dim` (cmd/run.ts): flags → RunOptions, status line, signals, summary.
 *
 * `registerJobCommand(dwd, spec, ctx)` adds `log` under the `dwd` command the caller passes for spec 'dwd log'.
 * `runJobs` runs several specs in one process (one bus, one Ctrl-C, one summary line each) so `rtwh run dwd` can
 * run both parts later; `listJobs` is the text of `rtwh run --list`.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { openBus } from '../src/bus/index';
import type { Bus } from '../src/bus/types';
import { serveHttp, type Health, type HttpEndpoint, type Metric } from '../src/cli/http';
import { formatCount, startProgress, summaryLine, type Progress } from '../src/cli/progress';
import { stopOnSignals, wantSpinner } from '../src/cli/stop';
import type { Config } from '../src/config/load';
import { q, rtwhError } from '../src/errors';
import { resolveOptions } from '../src/stream/engine';
import { ForwardThread } from '../src/stream/forward-thread';
import { parseDuration } from '../src/tail/offsets';
import { jobDetail, jobHealth, jobMetrics } from '../src/stream/metrics';
import { jobSlug, resolveTopics, runJob } from '../src/stream/runtime';
import type { DimReader, JobResult, JobSpec, JobStatus } from '../src/stream/types';
import { groupFlag, topicFlag } from '../src/bus/topic-name';
import { wholeNumber } from './flags';
import { withCommonFlags, type Ctx, type GlobalOpts } from './context';

/** Flags every job command has (their names are reserved: a spec option may not use them). */
const COMMON = ['until-idle', 'from', 'state', 'batch', 'out-of-orderness', 'http', 'dlq', 'group', 'config', 'bus', 'mysql', 'json', 'help'];

export interface JobFlags {
  untilIdle?: boolean;
  from: string;
  state?: string;
  batch: string;
  outOfOrderness?: string;
  http?: string | boolean;
  dlq?: string;
  group?: string;
  [option: string]: unknown;
}

export interface DimsHandle {
  reader: DimReader;
  close(): Promise<void>;
}

/** How a dim store that is away is waited for: said on stderr, and given up when the jobs are stopped. */
export interface DimsOpenOptions {
  signal: AbortSignal;
  onWaiting: (why: string) => void;
}

export interface JobCommandOptions {
  /** Opens the dim lookup client for jobs that declare needsDims (the caller knows the dim store flags). */
  dims?: (config: Config, cwd: string, flags: JobFlags, o: DimsOpenOptions) => Promise<DimsHandle>;
  /** Extra help text after the generated one (examples). */
  help?: string;
  /** Stops the jobs the way Ctrl-C does (finish the batch, commit, forward) when it aborts. */
  signal?: AbortSignal;
  /**
   * The caller serves HTTP itself (`rtwh run dws`: one server for /metrics, /healthz and /query): the jobs hand it
   * their metrics and health instead of starting a server of their own on --http.
   */
  metricsTo?: (metrics: () => readonly Metric[], health: () => Health) => void;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The topic an input/output has by default: its fixed name, or its option's default. */
function defaultTopic(spec: JobSpec, x: { topic?: string; topicOption?: string }): string {
  if (x.topic !== undefined) return x.topic;
  const o = spec.options.find((y) => y.name === x.topicOption);
  return o ? o.default : `<--${x.topicOption ?? '?'}>`;
}

/** Adds the spec's options and the common job flags to `cmd`. */
export function addJobFlags(cmd: Command, spec: JobSpec): Command {
  for (const o of spec.options) {
    if (COMMON.includes(o.name)) throw rtwhError('INTERNAL', `job ${q(spec.name)} declares option --${o.name}, which is a common job flag`);
    cmd.option(`--${o.name} <value>`, o.description, o.default);
  }
  return addCommonJobFlags(cmd, jobSlug(spec));
}

/** The flags every job command has; `slug` names the default state file (none: one per job). */
export function addCommonJobFlags(cmd: Command, slug?: string): Command {
  return cmd
    .option('--until-idle', 'stop once every input is drained and every timer has fired: commit and exit 0 (tests, batch runs, the demo)')
    .addOption(new Option('--from <where>', 'where to start an input partition the state file has no offset for').choices(['earliest', 'latest']).default('earliest'))
    .option('--state <file>', slug ? `the job's state file (default <state_dir>/jobs/${slug}.db)` : "a job's state file (one job only; default <state_dir>/jobs/<job>.db)")
    .option('--batch <n>', 'records per poll and per state-file transaction', '5000')
    .option(
      '--out-of-orderness <duration>',
      "how far the watermark stays behind the newest event time (e.g. 3s, 500ms, 0s): smaller emits windows and fires timers sooner, and makes records that arrive later than it count as late (default: the job's, 3s)",
    )
    .option('--http [port]', 'serve /metrics and /healthz on http.bind (127.0.0.1) : port (default http.port)')
    .option('--dlq <topic>', 'dead-letter topic for every input (default <input topic>_dlq)')
    .option('--group <name>', `consumer group that mirrors the stored offsets for \`rtwh groups\` (default rtwh-${slug ?? '<job>'})`);
}

/** `rtwh run <parent> <last word of spec.name>`. */
export function registerJobCommand(parent: Command, spec: JobSpec, ctx: Ctx, opts: JobCommandOptions = {}): Command {
  const words = spec.name.trim().split(/\s+/);
  const name = words[words.length - 1]!;
  const topics = (xs: { topic?: string; topicOption?: string }[]) => xs.map((x) => defaultTopic(spec, x)).join(', ');
  const cmd = addJobFlags(withCommonFlags(parent.command(name)).description(spec.description), spec).addHelpText(
    'after',
    `
Reads ${topics(spec.inputs)} → writes ${topics(spec.outputs)} (default topic names; options may rename them).

Delivery: state, timers, input offsets and outputs are committed in one transaction of the state file, and outputs
are forwarded with rtwh.producer/rtwh.seq headers; after kill -9 the tails of the output partitions are read back,
so every output reaches its topic exactly once. Bad input goes to the dead-letter topic with the reason.
Ctrl-C or SIGTERM: finish the batch, commit, forward, exit 0.${opts.help ? `\n${opts.help}` : ''}`,
  );
  cmd.action(async (flags: JobFlags, c: Command) => {
    await runJobs([spec], withParentFlags(flags, c), c, ctx, opts);
  });
  return cmd;
}

/**
 * A parent command with the same flags (`rtwh run dwd` has the common job flags too) may have been handed a flag
 * given after the subcommand: commander gives it to the first command that knows it. Take what the user gave,
 * wherever it landed.
 */
function withParentFlags(flags: JobFlags, c: Command): JobFlags {
  const parent = c.parent;
  if (!parent) return flags;
  const merged: JobFlags = { ...flags };
  for (const [k, v] of Object.entries(parent.opts())) {
    if (parent.getOptionValueSource(k) === 'cli' && c.getOptionValueSource(k) !== 'cli') merged[k] = v;
  }
  return merged;
}

/** The flags of a job run, checked: what runJobs needs before it opens anything. */
export interface PreparedJobs {
  config: Config;
  batch: number;
  outOfOrdernessMs: number | undefined;
  http: { bind: string; port: number } | undefined;
  prepared: { spec: JobSpec; options: Record<string, string>; topics: ReturnType<typeof resolveTopics>; statePath: string }[];
}

/**
 * Checks every flag of a job run (numbers, durations, topic and group names, the jobs' own options) without
 * opening or creating anything: a bad flag leaves no bus file, state file or warehouse behind. `rtwh run dws` calls
 * it before it starts its sink; runJobs calls it when not given the result.
 */
export function prepareJobs(specs: readonly JobSpec[], flags: JobFlags, cmd: Command, ctx: Ctx): PreparedJobs {
  const { config } = ctx.config(cmd);
  const batch = wholeNumber('--batch', flags.batch, 1, 100_000);
  const outOfOrdernessMs = flags.outOfOrderness === undefined ? undefined : parseDuration(flags.outOfOrderness);
  if (flags.outOfOrderness !== undefined && (outOfOrdernessMs === undefined || outOfOrdernessMs > 86_400_000)) {
    throw rtwhError('USAGE', `--out-of-orderness ${q(flags.outOfOrderness)}: expected a duration of at most a day, such as 3s, 500ms, 1m or 0s`);
  }
  const http = flags.http === undefined ? undefined : { bind: config.http.bind, port: flags.http === true ? config.http.port : wholeNumber('--http', String(flags.http), 0, 65535) };
  if (specs.length > 1 && (flags.state !== undefined || flags.group !== undefined)) throw rtwhError('USAGE', '--state and --group name one job; run the jobs one at a time to give them');
  if (flags.dlq !== undefined) topicFlag('--dlq', flags.dlq);
  if (flags.group !== undefined) groupFlag('--group', flags.group);
  const prepared = specs.map((spec) => {
    const given: Record<string, string> = {};
    for (const o of spec.options) {
      const v = flags[camel(o.name)];
      if (typeof v === 'string') given[o.name] = v;
    }
    let options: Record<string, string>;
    try {
      options = resolveOptions(spec, given);
    } catch (e) {
      throw rtwhError('USAGE', (e as Error).message);
    }
    const t = resolveTopics(spec, options);
    return { spec, options, topics: t, statePath: flags.state !== undefined ? resolve(ctx.io.cwd, flags.state) : resolve(ctx.io.cwd, config.stateDir, 'jobs', `${jobSlug(spec)}.db`) };
  });
  return { config, batch, outOfOrdernessMs, http, prepared };
}

/** Runs `specs` side by side in this process with the same flags; one summary line each. */
export async function runJobs(specs: readonly JobSpec[], flags: JobFlags, cmd: Command, ctx: Ctx, opts: JobCommandOptions = {}, checked?: PreparedJobs): Promise<JobResult[]> {
  const { config, batch, outOfOrdernessMs, http, prepared } = checked ?? prepareJobs(specs, flags, cmd, ctx);
  const json = Boolean(cmd.optsWithGlobals<GlobalOpts>().json);

  const stop = stopOnSignals(() => ctx.err(`${specs.map((s) => s.name).join(', ')}: stopping: finishing the batch, committing and forwarding (Ctrl-C again to quit at once)`));
  const spinner = wantSpinner(ctx.io.isTTY);
  let bus: Bus | undefined;
  let endpoint: HttpEndpoint | undefined;
  let dims: DimsHandle | undefined;
  let forwarder: ForwardThread | undefined;
  const last = new Map<string, JobStatus>();
  const progress: Progress[] = [];
  try {
    if (specs.some((s) => s.needsDims)) {
      if (!opts.dims) throw rtwhError('INTERNAL', `job ${q(specs.find((s) => s.needsDims)!.name)} needs dim lookups, but its command has no dim store wired`);
      const names = specs.map((s) => s.name).join(', ');
      dims = await opts.dims(config, ctx.io.cwd, flags, { signal: stop.signal, onWaiting: (why) => ctx.err(`${names}: waiting for the dim store: ${why}`) });
    }
    bus = await openBus(config.bus, { cwd: ctx.io.cwd, clientId: config.kafka.clientId });
    if (bus.kind === 'kafka') {
      forwarder = await ForwardThread.start({ url: config.bus, cwd: ctx.io.cwd, clientId: config.kafka.clientId });
      if (!forwarder) ctx.err(`${specs.map((s) => s.name).join(', ')}: forwarding in the jobs' own thread (the forwarding worker is not available in this build)`);
    }
    const metrics = () => [...last.values()].flatMap((s) => jobMetrics(s));
    const health = (): Health => {
      const all = [...last.values()].map((s) => jobHealth(s));
      if (all.length === 0) return { ok: true, body: { status: 'starting' } };
      return all.length === 1 ? all[0]! : { ok: all.every((h) => h.ok), body: { jobs: all.map((h) => h.body) } };
    };
    if (opts.metricsTo) opts.metricsTo(metrics, health);
    else if (http) {
      endpoint = serveHttp(http.bind, http.port, metrics, health);
      ctx.err(`${specs.map((s) => s.name).join(', ')}: metrics on ${endpoint.url}/metrics`);
    }
    const openBusNow = bus;
    const results = await Promise.all(
      prepared.map(async (p) => {
        const say = (m: string) => ctx.err(`${p.spec.name}: ${m}`);
        const inputs = [...new Set(p.topics.inputs.values())].join(', ');
        const outputs = [...new Set(p.topics.outputs.values())].join(', ');
        say(`${inputs} → ${outputs} on ${openBusNow.displayUrl} (state ${p.statePath})`);
        const bar = startProgress({ label: `${p.spec.name} ← ${inputs}`, unit: 'records', enabled: spinner && prepared.length === 1 });
        progress.push(bar);
        let lastLine = Date.now();
        const result = await runJob(p.spec, openBusNow, {
          options: p.options,
          statePath: p.statePath,
          ...(flags.dlq !== undefined ? { dlq: () => flags.dlq! } : {}),
          ...(flags.group !== undefined ? { group: flags.group } : {}),
          startFrom: flags.from as 'earliest' | 'latest',
          untilIdle: Boolean(flags.untilIdle),
          batchRecords: batch,
          ...(outOfOrdernessMs !== undefined ? { outOfOrdernessMs } : {}),
          signal: opts.signal ? AbortSignal.any([stop.signal, opts.signal]) : stop.signal,
          log: say,
          ...(dims ? { dims: dims.reader } : {}),
          ...(forwarder ? { forwarder } : {}),
          onStatus: (s) => {
            last.set(p.spec.name, s);
            bar.add(s.records - bar.done, jobDetail(s));
            if ((!spinner || prepared.length > 1) && Date.now() - lastLine >= 30_000) {
              lastLine = Date.now();
              say(`${formatCount(s.records)} records (${formatCount(s.recordsPerSecond)}/s) · ${jobDetail(s)}`);
            }
          },
        });
        bar.stop();
        const s = result.status;
        if (json) {
          ctx.out(
            JSON.stringify({
              job: s.job,
              records: s.records,
              seconds: Number(result.seconds.toFixed(3)),
              emitted: s.emitted,
              dead_letters: s.deadLetters,
              counters: s.counters,
              lag: s.lag,
              watermark: Number.isFinite(s.watermark) ? s.watermark : null,
              state_entries: s.stateEntries,
              timers: s.timersPending,
            }),
          );
        }
        ctx.err(`${summaryLine('processed', s.records, 'records', `from ${inputs} into ${outputs}`, result.seconds)} · ${jobDetail(s)}`);
        return result;
      }),
    );
    return results;
  } finally {
    for (const b of progress) b.stop();
    stop.dispose();
    endpoint?.stop();
    await dims?.close().catch(() => undefined);
    await forwarder?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
  }
}

/** `run --list --json`: what listJobs prints, as data, one object per job. */
export function listJobsJson(specs: readonly JobSpec[]): string {
  return JSON.stringify(
    specs.map((spec) => ({
      name: spec.name,
      description: spec.description,
      inputs: spec.inputs.map((x) => defaultTopic(spec, x)),
      outputs: spec.outputs.map((x) => defaultTopic(spec, x)),
      options: spec.options.map((o) => ({ name: `--${o.name}`, description: o.description, default: o.default })),
    })),
  );
}

/** `rtwh run --list`: every job with its description, inputs → outputs and options with defaults. */
export function listJobs(specs: readonly JobSpec[]): string {
  const out: string[] = [];
  for (const spec of specs) {
    const topics = (xs: { name: string; topic?: string; topicOption?: string }[]) => xs.map((x) => defaultTopic(spec, x)).join(', ');
    out.push(`${spec.name} — ${spec.description}`);
    out.push(`  ${topics(spec.inputs)} → ${topics(spec.outputs)}`);
    const width = Math.max(0, ...spec.options.map((o) => o.name.length + 2));
    for (const o of spec.options) out.push(`  --${o.name.padEnd(width - 2)}  ${o.description} (default: ${o.default === '' ? '""' : o.default})`);
    out.push('');
  }
  return out.join('\n');
}
