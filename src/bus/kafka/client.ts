/**
 * What every Kafka piece shares: the kafkajs client settings, its (quiet) logger, and the one place kafkajs
 * errors become RtwhErrors.
 */
import { Kafka, logLevel, type Admin as KafkaJsAdmin, type LogEntry, type RetryOptions } from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import { registerKafkaCodecs } from '../codecs.ts';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusOptions {
  /** Shown by the broker and in `rtwh groups`; default "rtwh". */
  clientId?: string;
  /** Consumer group session timeout; default 10 s (the broker's minimum is 6 s). */
  sessionTimeoutMs?: number;
  /** kafkajs's own log lines on stderr. Default 'nothing' (env RTWH_KAFKA_LOG overrides): failures reach the caller as RtwhError instead. */
  logLevel?: KafkaLogLevel;
  /** TCP connect timeout per attempt; default 3000 ms. */
  connectionTimeoutMs?: number;
}

export interface KafkaContext {
  brokers: string[];
  clientId: string;
  sessionTimeoutMs: number;
  /** A fresh kafkajs client. Consumers each get their own: kafkajs caches committed offsets per client and group. */
  newClient(clientId?: string): Kafka;
}

/**
 * Bounded retries: an unreachable broker must fail in about a second (ECONNREFUSED) or a few seconds (timeout),
 * not after kafkajs's default of ~25 s of backoff.
 */
export const RETRY: RetryOptions = { retries: 3, initialRetryTime: 150, maxRetryTime: 1500, factor: 0.2, multiplier: 2 };

const LEVELS: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

function stderrLog(entry: LogEntry): void {
  const { message, timestamp: _ts, logger: _l, ...extra } = entry.log;
  const tail = Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : '';
  process.stderr.write(`[kafkajs ${entry.label}] ${entry.namespace}: ${message}${tail}\n`);
}

let warningFilterInstalled = false;

/**
 * kafkajs 2.2.4 calls setTimeout with a negative delay in its request queue (throttledUntil starts at -1).
 * Bun prints a TimeoutNegativeWarning for it on stderr; the timer still fires (clamped to 1 ms), so the warning is
 * pure noise for a CLI. We drop that one warning name and pass every other warning to the original listeners.
 */
function filterKafkaJsTimerWarning(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const original = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (w.name === 'TimeoutNegativeWarning') return;
    for (const l of original) l(w);
  });
}

export function kafkaContext(brokers: string[], opts: KafkaBusOptions = {}): KafkaContext {
  if (brokers.length === 0) throw new RtwhError('BUS_URL', 'no Kafka broker given');
  registerKafkaCodecs();
  filterKafkaJsTimerWarning();
  const envLevel = process.env.RTWH_KAFKA_LOG as KafkaLogLevel | undefined;
  const level = LEVELS[envLevel && envLevel in LEVELS ? envLevel : (opts.logLevel ?? 'nothing')];
  const clientId = opts.clientId ?? 'rtwh';
  return {
    brokers,
    clientId,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
    newClient: (id = clientId) =>
      new Kafka({
        brokers,
        clientId: id,
        connectionTimeout: opts.connectionTimeoutMs ?? 3000,
        requestTimeout: 30_000,
        retry: RETRY,
        logLevel: level,
        logCreator: () => stderrLog,
      }),
  };
}

/** kafkajs error fields we look at; its classes are not exported as types. */
interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  type?: string;
  cause?: unknown;
  errors?: unknown[];
}

function chain(e: unknown): KafkaJsErrorLike[] {
  const out: KafkaJsErrorLike[] = [];
  const seen = new Set<unknown>();
  const visit = (x: unknown): void => {
    if (!x || typeof x !== 'object' || seen.has(x) || out.length > 20) return;
    seen.add(x);
    const err = x as KafkaJsErrorLike;
    out.push(err);
    visit(err.cause);
    if (Array.isArray(err.errors)) for (const inner of err.errors) visit(inner);
  };
  visit(e);
  return out;
}

const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
]);

/** Errors of a partition whose leader is still being elected (a topic created a moment ago) or has just moved. */
const LEADER_MOVING = new Set(['NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** How long a by-partition admin call waits for leaders; creating a topic elects them in well under a second. */
export const LEADER_WAIT_MS = 10_000;

/**
 * Runs a kafkajs admin call that goes to each partition's leader (ListOffsets), again after a metadata refresh
 * while the leaders are moving. kafkajs retries these only ~1 s and without refreshing what it thinks the leaders
 * are, so asking about a topic another client has just created failed with "not the leader" (seen in CI).
 */
export async function withLeaders<T>(admin: KafkaJsAdmin, topic: string, call: () => Promise<T>, waitMs = LEADER_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      return await call();
    } catch (e) {
      if (!chain(e).some((l) => l.type !== undefined && LEADER_MOVING.has(l.type)) || Date.now() + delay > deadline) throw e;
    }
    await Bun.sleep(delay);
    await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
  }
}

export interface FailureContext {
  /** What we were doing, for the message: "produce to \"ods_db\"". */
  action: string;
  topic?: string;
  group?: string;
}

/** Any kafkajs failure → the RtwhError a user should see (the kafkajs error kept as cause). */
export function kafkaFailure(e: unknown, brokers: string[], ctx: FailureContext): RtwhError {
  const links = chain(e);
  for (const l of links) if (l instanceof RtwhError) return l;
  const root = links[links.length - 1];
  const rootMsg = root?.message ?? String(e);
  const types = links.map((l) => l.type).filter((t): t is string => typeof t === 'string');
  const has = (t: string) => types.includes(t);
  const details = { brokers, ...(ctx.topic ? { topic: ctx.topic } : {}), ...(ctx.group ? { group: ctx.group } : {}) };
  if (links.some((l) => l.name !== undefined && UNREACHABLE.has(l.name))) {
    return new RtwhError('BUS_UNAVAILABLE', `cannot reach Kafka at ${brokers.join(',')}: ${rootMsg}`, { cause: e, details });
  }
  if (has('MESSAGE_TOO_LARGE') || has('RECORD_LIST_TOO_LARGE')) {
    return new RtwhError('MESSAGE_TOO_LARGE', `${ctx.action}: the broker refused a record as too large (${rootMsg})`, { cause: e, details });
  }
  if (has('UNKNOWN_TOPIC_OR_PARTITION') && ctx.topic !== undefined) {
    return new RtwhError('TOPIC_NOT_FOUND', `topic ${q(ctx.topic)} does not exist`, { cause: e, details });
  }
  if (has('TOPIC_ALREADY_EXISTS') && ctx.topic !== undefined) {
    return new RtwhError('TOPIC_EXISTS', `topic ${q(ctx.topic)} already exists`, { cause: e, details });
  }
  if (has('INVALID_TOPIC_EXCEPTION')) {
    return new RtwhError('INVALID_NAME', `invalid topic name ${q(ctx.topic ?? '')}: ${rootMsg}`, { cause: e, details });
  }
  if (has('GROUP_ID_NOT_FOUND') && ctx.group !== undefined) {
    return new RtwhError('GROUP_NOT_FOUND', `consumer group ${q(ctx.group)} does not exist`, { cause: e, details });
  }
  return new RtwhError('BUS_ERROR', `${ctx.action} failed: ${rootMsg}`, { cause: e, details });
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The command that raises a topic's max.message.bytes to `bytes` (the hint of a record its topic refuses). */
export function raiseLimitCommand(servers: string, topic: string, bytes: number): string {
  return `kafka-configs.sh --bootstrap-server ${servers} --alter --entity-type topics --entity-name ${topic} --add-config max.message.bytes=${bytes}`;
}
