/**
 * `rtwh cdc`: binlog → bus, wired together.
 *
 *   BinlogReader ──rows──► TxnBuffer ──commit──► CdcQueue (records + position markers) ──► BusWriter ──► topic
 *        ▲  pause when the queue is full / while a DDL or bootstrap is handled        │ acked → store position
 *        └────────────────────────────── resume below half ───────────────────────────┘
 *
 * The design notes (position rule, back-pressure, DDL, reconnects) are in README.md beside this file.
 */
import type { Bus, Compression, ProducerOptions } from '../../bus/types';
import { registerKafkaCodecs } from '../../bus/codecs';
import { raiseLimitCommand } from '../../bus/kafka/client';
import { CODECS } from '../../bus/kafka/producer';
import { encodeRecords, soloBatchBytes } from '../../bus/kafka/record-batch';
import { rtwhError, RtwhError } from '../../errors';
import type { DebeziumEncodeOptions } from '../../formats/debezium';
import { javaStringHashCode, type MaxwellDdl, type MaxwellPartitionBy } from '../../formats/maxwell';
import { MOCK_UTC_OFFSET_MS } from '../../mock/db/clock';
import { parseMysqlUrl } from '../../store/mysql';
import { bootstrapRequestOf, runSnapshot, type BootstrapRequest } from './bootstrap';
import { openCdcConn, type CdcConn } from './conn';
import { classifyDdl, parseCreateTable, type DdlStatement } from './ddl';
import { createEncoder, type CdcEncoder, type CdcFormat } from './encode';
import { parseFilter, type CdcFilter } from './filter';
import type { CdcStatus } from './metrics';
import { serveMetrics, type HttpEndpoint } from './metrics';
import { ensureMaxwellSchema, formatPosition, LocalPositionStore, MysqlPositionStore, type BinlogPosition, type PositionStore } from './position';
import { CdcQueue, recordKey, recordValue, type OutRecord } from './queue';
import { BinlogReader, type ReaderEvent } from './reader';
import { maxwellTableDef, SchemaCache, SYSTEM_DATABASES } from './schema';
import { TxnBuffer } from './txn';
import { BusWriter } from './writer';
import { ThreadSink, WorkerSink, type RecordSink } from './sink';

export interface CdcOptions {
  /** Source server, mysql://user:pass@host:port[/db]. */
  mysql: string;
  bus: Bus;
  /** The bus URL: when given, records are produced by a worker thread opening its own connection to it. */
  busUrl?: string;
  /** Produce in a worker thread when busUrl is given (default true). */
  busWorker?: boolean;
  /** client id for the worker's bus connection (kafka.client_id). */
  busClientId?: string;
  /** Directory a relative sqlite: bus path is resolved against. */
  cwd?: string;
  topic: string;
  format: CdcFormat;
  partitionBy: MaxwellPartitionBy;
  /** Partitions of the topic when cdc has to create it. */
  partitions: number;
  /**
   * Kafka: the topic's max.message.bytes when cdc creates it (default CDC_DEFAULTS.maxMessageBytes, 16 MiB), so rows
   * over the broker's 1 MB default pass. An existing topic keeps its own; its effective limit is read at start.
   */
  maxMessageBytes?: number;
  /** Maxwell filter, e.g. 'exclude: *.*, include: gmall.*'. */
  filter?: string;
  /** Maxwell output_ddl: DDL records on the topic (Maxwell format only). */
  outputDdl: boolean;
  /** The server_id this replica announces. */
  replicaId: number;
  clientId: string;
  positionStore: 'mysql' | 'local';
  /** Absolute state dir (local position store). */
  stateDir: string;
  /** Maxwell's schema_database: positions and bootstrap tables. */
  schemaDb: string;
  /** Start here, whatever is stored. */
  initPosition?: BinlogPosition;
  /** Business date (mock.date): Maxwell's mock_date, the date part of every ts becomes this date. */
  mockDate?: string;
  producer?: ProducerOptions;
  debezium?: DebeziumEncodeOptions;
  http?: { bind: string; port: number };
  queueBytes?: number;
  queueRecords?: number;
  txnMemoryBytes?: number;
  batchRecords?: number;
  batchBytes?: number;
  /**
   * Least time between two position stores. 0 (default): after every acknowledged batch, so a kill -9 re-sends
   * at most the batch that was in flight. Under load batches grow, so this costs one small write per batch.
   */
  positionIntervalMs?: number;
  statusIntervalMs?: number;
  /** On stop, how long a batch the bus does not answer at all is waited for (default 10 s). */
  stopGraceMs?: number;
  /** Stop after this many rows were read and sent (tests, benchmarks). */
  maxRows?: number;
  signal: AbortSignal;
  onStatus?: (s: CdcStatus) => void;
  /** Called once reading has started (after the start position is stored). */
  onStarted?: (info: { start: BinlogPosition; httpUrl?: string; warnings: string[] }) => void;
  log?: (msg: string) => void;
}

export interface CdcResult {
  rows: number;
  records: number;
  ddl: number;
  bootstrapRows: number;
  seconds: number;
  from: BinlogPosition;
  to: BinlogPosition;
  topic: string;
  format: CdcFormat;
}

export const CDC_DEFAULTS = {
  topic: 'ods_db',
  format: 'maxwell' as CdcFormat,
  partitionBy: 'table' as MaxwellPartitionBy,
  partitions: 1,
  /**
   * max.message.bytes of a topic cdc creates: 16 MiB, MariaDB's default max_allowed_packet (a row's binlog event
   * is about that size at most) — Kafka's own default (1 MiB + 12) refuses wide rows. Maxwell users raise the
   * producer's max.request.size and the topic's max.message.bytes the same way.
   */
  maxMessageBytes: 16 * 1024 * 1024,
  replicaId: 6379,
  clientId: 'maxwell',
  schemaDb: 'maxwell',
  queueBytes: 64 * 1024 * 1024,
  queueRecords: 100_000,
  txnMemoryBytes: 64 * 1024 * 1024,
  batchRecords: 5000,
  batchBytes: 4 * 1024 * 1024,
  positionIntervalMs: 0,
  statusIntervalMs: 1000,
};

/**
 * The server id a replica announces must be unique among the source's replicas, or the server drops one of them.
 * Maxwell's default is 6379; other client ids get their own id derived from the name, so two cdc with different
 * --client-id never clash by default.
 */
export function defaultReplicaId(clientId: string): number {
  if (clientId === CDC_DEFAULTS.clientId) return CDC_DEFAULTS.replicaId;
  return 100_000 + ((javaStringHashCode(clientId) >>> 0) % 1_000_000_000);
}

/**
 * Maxwell's mock_date: an event time takes the mock date as its day and keeps its time of day (Beijing time, the
 * business day's zone), so `ts` and the rows' business dates agree when data for the mock day is written now.
 * Events already dated on or before the mock date keep their time: `rtwh mock db` stamps each transaction with its
 * business time (SET TIMESTAMP), back-dated init days included, and those must not all collapse onto one day.
 * Without a mock date, time passes through.
 */
export function mockDateClock(mockDate: string | undefined): (ms: number) => number {
  if (!mockDate) return (ms) => ms;
  const dayStart = Date.parse(`${mockDate}T00:00:00Z`) - MOCK_UTC_OFFSET_MS;
  const day = 86_400_000;
  const dayEnd = dayStart + day;
  return (ms) => (ms < dayEnd ? ms : dayStart + ((((ms + MOCK_UTC_OFFSET_MS) % day) + day) % day));
}

interface ServerInfo {
  serverId: number;
  version: string;
  warnings: string[];
}

/** The source must write a ROW binlog; FULL row images and metadata are what Maxwell-compatible output needs. */
async function checkServer(conn: CdcConn, replicaId: number): Promise<ServerInfo> {
  const [v] = await conn.query<{ log_bin: number | string; binlog_format: string; row_image: string; server_id: number; version: string }[]>(
    'SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.binlog_format AS binlog_format, @@GLOBAL.binlog_row_image AS row_image, @@GLOBAL.server_id AS server_id, VERSION() AS version',
    [],
    'checking the binlog settings',
  );
  const where = conn.target.display;
  if (!v || String(v.log_bin) === '0' || String(v.log_bin).toUpperCase() === 'OFF') {
    throw rtwhError('MYSQL_ERROR', `${where} writes no binlog (log_bin is off)`, { hint: 'Start the server with log_bin, binlog_format=ROW, binlog_row_image=FULL and a server_id (scripts/stack.sh does).' });
  }
  if (String(v.binlog_format).toUpperCase() !== 'ROW') {
    throw rtwhError('MYSQL_ERROR', `${where} has binlog_format=${v.binlog_format}; cdc needs ROW`, { hint: 'SET GLOBAL binlog_format = ROW (and put binlog_format=ROW in my.cnf); existing sessions keep the old format until they reconnect.' });
  }
  if (Number(v.server_id) === replicaId) {
    throw rtwhError('USAGE', `--server-id ${replicaId} is the server's own server_id`, { hint: 'Give cdc a server id no server or other replica uses (Maxwell uses 6379).' });
  }
  const warnings: string[] = [];
  if (String(v.row_image).toUpperCase() !== 'FULL') {
    warnings.push(`binlog_row_image=${v.row_image}: rows carry only some columns, the others come out as null (set binlog_row_image=FULL)`);
  }
  try {
    const [m] = await conn.query<{ meta: string }[]>('SELECT @@GLOBAL.binlog_row_metadata AS meta');
    if (m && String(m.meta).toUpperCase() !== 'FULL') {
      warnings.push(`binlog_row_metadata=${m.meta}: columns are looked up in information_schema, so rows read again after an ALTER TABLE may be decoded with the newer columns (set binlog_row_metadata=FULL)`);
    }
  } catch {
    // MySQL 5.7 has no such variable; its table maps carry no names either way.
  }
  return { serverId: Number(v.server_id), version: v.version, warnings };
}

async function binlogEnd(conn: CdcConn): Promise<BinlogPosition> {
  const rows = await conn.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS', [], 'reading the binlog position');
  const r = rows[0];
  if (!r) throw rtwhError('MYSQL_ERROR', `${conn.target.display} reports no binlog position (SHOW MASTER STATUS is empty)`, { hint: 'Is log_bin on? cdc needs the binlog.' });
  return { file: r.File, pos: Number(r.Position) };
}

/** Binlog files and sizes, for lag. */
async function binlogFiles(conn: CdcConn): Promise<{ name: string; size: number }[]> {
  const rows = await conn.query<{ Log_name: string; File_size: number | string }[]>('SHOW BINARY LOGS');
  return rows.map((r) => ({ name: r.Log_name, size: Number(r.File_size) }));
}

interface TopicFacts {
  partitions: number;
  /** Kafka: the largest record batch the topic takes (its effective max.message.bytes); undefined: no limit known. */
  maxMessageBytes?: number;
}

/**
 * The output topic: created when missing (on Kafka with max.message.bytes = `maxMessageBytes`), its partition count,
 * and on Kafka the limit it applies — its own setting or else the broker's message.max.bytes.
 */
async function prepareTopic(bus: Bus, topic: string, partitions: number, maxMessageBytes: number, log?: (m: string) => void): Promise<TopicFacts> {
  const admin = await bus.admin();
  try {
    let n: number;
    try {
      n = (await admin.describeTopic(topic)).partitions.length;
    } catch (e) {
      if (!(e instanceof RtwhError) || e.code !== 'TOPIC_NOT_FOUND') throw e;
      const kafka = bus.kind === 'kafka';
      const created = await admin.createTopic({ name: topic, partitions, ...(kafka ? { config: { 'max.message.bytes': String(maxMessageBytes) } } : {}) });
      if (created) log?.(`created topic ${topic} with ${partitions} partition${partitions === 1 ? '' : 's'}${kafka ? ` (max.message.bytes ${maxMessageBytes})` : ''}`);
      n = (await admin.describeTopic(topic)).partitions.length;
    }
    if (!admin.effectiveTopicConfig) return { partitions: n };
    const limit = Number((await admin.effectiveTopicConfig(topic, ['max.message.bytes']))['max.message.bytes']);
    if (!Number.isFinite(limit) || limit <= 0) return { partitions: n };
    return { partitions: n, maxMessageBytes: limit };
  } finally {
    await admin.close();
  }
}

/**
 * The size of a Kafka record batch holding this record alone, uncompressed (record-batch.ts's soloBatchBytes, the
 * producer's own measure): what the broker compares with max.message.bytes. The producer puts a record over its
 * batch size (1 MB) in a batch of its own, so this is the size the broker sees.
 */
export function recordBatchBytes(r: OutRecord): number {
  return soloBatchBytes({ key: recordKey(r), value: recordValue(r), timestamp: 0 });
}

/** "gmall.big (primary key id=2)" for a record: from Maxwell's key, or Debezium's key and source. */
export function describeRecord(r: OutRecord): string {
  const key = recordKey(r);
  const keyText = key === null ? '' : key.toString();
  try {
    const k = keyText === '' ? {} : (JSON.parse(keyText) as Record<string, unknown>);
    if (typeof k.database === 'string') {
      const pk = Object.entries(k).filter(([n]) => n.startsWith('pk.')).map(([n, v]) => `${n.slice(3)}=${JSON.stringify(v)}`);
      return `${k.database}${typeof k.table === 'string' ? `.${k.table}` : ''} (${pk.length > 0 ? `primary key ${pk.join(', ')}` : 'no primary key'})`;
    }
    const value = JSON.parse(recordValue(r).toString()) as Record<string, unknown>;
    const v = (value.payload ?? value) as { source?: { db?: string; table?: string }; database?: string; table?: string; type?: string };
    const db = v.source?.db ?? v.database;
    const table = v.source?.table ?? v.table;
    const payloadKey = (k.payload ?? k) as Record<string, unknown>;
    const pk = Object.entries(payloadKey).map(([n, x]) => `${n}=${JSON.stringify(x)}`);
    const what = v.source === undefined && v.type !== undefined && !('data' in v) ? ` (${v.type} DDL record)` : pk.length > 0 ? ` (primary key ${pk.join(', ')})` : ' (no primary key)';
    if (db !== undefined) return `${db}${table ? `.${table}` : ''}${what}`;
  } catch {
    // not JSON: the key itself says most
  }
  return keyText === '' ? 'a record without key' : `key ${keyText.slice(0, 200)}`;
}

/** host:port list of a kafka:// URL, for the kafka-configs command in a hint. */
function bootstrapServers(busUrl: string | undefined, bus: Bus): string {
  const url = busUrl?.startsWith('kafka://') ? busUrl : bus.displayUrl;
  return url.replace(/^kafka:\/\//, '').replace(/^[^@/]*@/, '').replace(/[/?].*$/, '');
}

/** The size of the record batch holding this record alone, compressed as the producer will: what the broker checks. */
async function compressedBatchBytes(r: OutRecord, compression: Compression): Promise<number> {
  if (compression === 'none') return recordBatchBytes(r);
  registerKafkaCodecs();
  const now = Date.now();
  const batch = await encodeRecords([{ key: recordKey(r), value: recordValue(r), timestamp: now }], CODECS[compression], now, now);
  return batch.bytes.length;
}

function tooLarge(o: {
  record: OutRecord;
  size: number;
  /** The topic's max.message.bytes as read at start; undefined when unknown. */
  limit: number | undefined;
  topic: string;
  servers: string;
  at: BinlogPosition;
  /** cdc found it over the limit before sending it, or the broker refused it (a limit lowered since the start). */
  refusedBy: 'cdc' | 'broker';
  compression: string;
}): RtwhError {
  const mib = 1024 * 1024;
  const raise = Math.max(CDC_DEFAULTS.maxMessageBytes, Math.ceil((o.size + 1) / mib) * mib);
  const n = (x: number) => x.toLocaleString('en-US');
  const what = describeRecord(o.record);
  const limit = o.limit === undefined ? `the topic's max.message.bytes` : `${n(o.limit)} bytes (max.message.bytes)`;
  const msg =
    o.refusedBy === 'cdc'
      ? `a record of ${what} is ${n(o.size)} bytes${o.compression !== 'none' ? ` ${o.compression}-compressed` : ''}, over the ${limit} topic ${o.topic} takes; cdc stopped before sending it`
      : `Kafka refused a record of ${what} as too large (${n(o.size)} bytes${o.compression !== 'none' ? ' before compression' : ''}); topic ${o.topic} took ${limit} when cdc started`;
  return rtwhError('MESSAGE_TOO_LARGE', `${msg}. Nothing was skipped: the stored position stays at ${formatPosition(o.at)}, before it`, {
    hint:
      `Raise the topic's limit, then start cdc again (it resumes at this record): ${raiseLimitCommand(o.servers, o.topic, raise)}`,
    details: { topic: o.topic, record: what, bytes: o.size, maxMessageBytes: o.limit ?? null, position: formatPosition(o.at) },
  });
}


function startupStatus(o: CdcOptions, at: BinlogPosition, waitingFor: string): CdcStatus {
  const d = CDC_DEFAULTS;
  return {
    state: 'waiting', waitingFor, clientId: o.clientId, topic: o.topic, rows: 0, recordsSent: 0, rowsPerSecond: 0, ddl: 0, bootstrapRows: 0,
    reconnects: 0, read: at, committed: at, lagBytes: null, lagSeconds: null, queueRecords: 0, queueBytes: 0,
    queueMaxRecords: o.queueRecords ?? d.queueRecords, queueMaxBytes: o.queueBytes ?? d.queueBytes,
    inflightBatches: 0, inflightRecords: 0, inflightBytes: 0, inflightMaxBatches: 0, startedAt: Date.now(),
  };
}

/** The oldest batch in flight unacknowledged this long: status says cdc waits for the bus. */
const BUS_SLOW_MS = 5000;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runCdc(o: CdcOptions): Promise<CdcResult> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const target = parseMysqlUrl(o.mysql);
  const filter: CdcFilter = parseFilter(o.filter);
  const d = CDC_DEFAULTS;
  let store: PositionStore | undefined;
  let lockName: string | undefined;
  const conn = await openCdcConn(target, {
    noBinlog: true,
    // The named lock belonged to the connection the server dropped; take it again on the new one.
    onReconnect: async (query) => {
      if (!lockName) return;
      const rows = (await query('SELECT GET_LOCK(?, 0) AS got', [lockName])) as { got: number | null }[];
      if (rows[0]?.got !== 1) log(`warning: could not take the cdc lock ${lockName} again after reconnecting; is another cdc with this client id running?`);
    },
  });
  let http: HttpEndpoint | undefined;
  let reader: BinlogReader | undefined;
  let sinkToClose: RecordSink | undefined;
  try {
    const server = await checkServer(conn, o.replicaId);
    for (const w of server.warnings) log(`warning: ${w}`);
    try {
      await ensureMaxwellSchema(conn, o.schemaDb);
    } catch (e) {
      if (o.positionStore === 'mysql') throw e;
      log(`warning: cannot create ${o.schemaDb}.bootstrap (${(e as Error).message}); bootstrap requests are not available`);
    }
    if (o.positionStore === 'mysql') {
      const s = new MysqlPositionStore(conn, o.schemaDb, server.serverId, o.clientId);
      await s.lock();
      lockName = `rtwh-cdc:${server.serverId}:${o.clientId}`;
      store = s;
    } else {
      const s = new LocalPositionStore(LocalPositionStore.pathFor(o.stateDir, o.clientId), server.serverId, o.clientId);
      s.lock();
      store = s;
    }
    const stored = await store.load();
    const start = o.initPosition ?? stored ?? (await binlogEnd(conn));
    if (!stored || o.initPosition) await store.save(start);
    if (o.initPosition && stored) log(`starting at --init-position ${formatPosition(start)} instead of the stored ${formatPosition(stored)}`);

    const schema = new SchemaCache(conn);
    await schema.loadAll();
    // An absent bus at start is waited for like one that goes away later (with status "waiting").
    let partitions = 0;
    let topicLimit: number | undefined;
    for (let attempt = 0; partitions === 0; attempt++) {
      try {
        const facts = await prepareTopic(o.bus, o.topic, o.partitions, o.maxMessageBytes ?? d.maxMessageBytes, log);
        partitions = facts.partitions;
        topicLimit = facts.maxMessageBytes;
      } catch (e) {
        if (!(e instanceof RtwhError) || (e.code !== 'BUS_UNAVAILABLE' && e.code !== 'BUS_ERROR')) throw e;
        if (attempt === 0) log(`waiting for the bus: ${e.message}`);
        o.onStatus?.(startupStatus(o, start, `the bus: ${e.message}`));
        if (o.signal.aborted) return { rows: 0, records: 0, ddl: 0, bootstrapRows: 0, seconds: (performance.now() - t0) / 1000, from: start, to: start, topic: o.topic, format: o.format };
        await abortableSleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)), o.signal);
      }
    }
    if (topicLimit !== undefined && topicLimit < (o.maxMessageBytes ?? d.maxMessageBytes)) {
      log(`topic ${o.topic} takes records up to ${topicLimit.toLocaleString('en-US')} bytes (max.message.bytes); a larger one stops cdc, before it, until the limit is raised`);
    }
    const eventTime = mockDateClock(o.mockDate);
    const encoder = createEncoder({ format: o.format, partitionBy: o.partitionBy, partitions, ...(o.debezium ? { debezium: o.debezium } : {}) });
    const queue = new CdcQueue(o.queueBytes ?? d.queueBytes, o.queueRecords ?? d.queueRecords);
    const txn = new TxnBuffer(o.txnMemoryBytes ?? d.txnMemoryBytes);
    // Producing in a worker thread overlaps it with decoding; in-process buses (tests) and builds without the
    // worker produce in this thread.
    let sink: RecordSink | undefined;
    if (o.busUrl !== undefined && o.busWorker !== false) {
      sink = await WorkerSink.start({ url: o.busUrl, cwd: o.cwd ?? process.cwd(), topic: o.topic, ...(o.busClientId ? { clientId: o.busClientId } : {}), ...(o.producer ? { producer: o.producer } : {}), ...(topicLimit !== undefined ? { maxMessageBytes: topicLimit } : {}) });
      if (!sink) log('producing in the main thread (the bus worker is not available in this build)');
    }
    // batches of many small records are kept under a topic limit below the producer's batch size
    sink ??= new ThreadSink(o.bus, o.topic, o.producer, topicLimit);
    sinkToClose = sink;
    const maxInflight = sink.maxInflight;
    const servers = bootstrapServers(o.busUrl, o.bus);
    const compression = o.producer?.compression ?? 'none';
    const writer: BusWriter = new BusWriter({
      sink,
      queue,
      store,
      initial: start,
      batchRecords: o.batchRecords ?? d.batchRecords,
      batchBytes: o.batchBytes ?? d.batchBytes,
      positionIntervalMs: o.positionIntervalMs ?? d.positionIntervalMs,
      // Acknowledged records' bytes are written again (the encoder's arena; see maxwell-bytes.ts).
      onAcknowledged: (records) => encoder.acknowledged(records[records.length - 1]!),
      // A record over the topic's limit is found here, before it is sent: the broker would refuse it, and (a quirk of
      // idempotent producers) could still write the batches sent behind it.
      ...(topicLimit !== undefined
        ? {
            checkBatch: (records: readonly OutRecord[]) => {
              const limit = topicLimit!;
              let over: OutRecord[] | undefined;
              for (const r of records) {
                // r.bytes counts UTF-16 units for text records: at most 3 bytes each.
                if ((r.buf !== undefined ? r.bytes : r.bytes * 3) + 64 <= limit) continue;
                if (recordBatchBytes(r) > limit) (over ??= []).push(r);
              }
              if (over === undefined) return undefined;
              const found = over;
              return (async () => {
                for (const r of found) {
                  const size = await compressedBatchBytes(r, compression);
                  if (size > limit) {
                    return tooLarge({ record: r, size, limit, topic: o.topic, servers, at: writer.committed, refusedBy: 'cdc', compression });
                  }
                }
                return undefined;
              })();
            },
          }
        : {}),
      explainFailure: (err, records) => {
        if (err.code !== 'MESSAGE_TOO_LARGE' || records.length === 0) return err;
        let biggest = records[0]!;
        for (const r of records) if (r.bytes > biggest.bytes) biggest = r;
        return tooLarge({ record: biggest, size: recordBatchBytes(biggest), limit: topicLimit, topic: o.topic, servers, at: writer.committed, refusedBy: 'broker', compression });
      },
      log,
    });

    const counters = { rows: 0, ddl: 0, bootstrapRows: 0, reconnects: 0 };
    let readerState: { state: 'connecting' | 'reading' | 'waiting'; detail?: string } = { state: 'connecting' };
    let connects = 0;
    let fatal: unknown;
    let wakeMain: (() => void) | undefined;
    const stopMain = () => wakeMain?.();

    const stopAll = new AbortController();
    const handler = new TxnHandler({ encoder, queue, txn, schema, filter, conn, o, eventTime, log, counters, reader: () => reader!, signal: stopAll.signal });
    reader = new BinlogReader({
      target,
      replicaId: o.replicaId,
      start,
      filter,
      schemaDb: o.schemaDb,
      schema,
      eventTime,
      withSource: o.format === 'debezium',
      sourceServerId: server.serverId,
      handle: (e) => handler.handle(e),
      onFatal: (e) => {
        fatal = e;
        stopMain();
      },
      onState: (state, detail) => {
        if (state === 'connecting' && connects++ > 0) counters.reconnects++;
        readerState = detail === undefined ? { state } : { state, detail };
      },
      log,
    });
    queue.onDrained = () => reader?.resume('queue');

    // Lag: where the server's binlog ends, sampled; "how long ago was the server where we read now".
    const samples: { t: number; file: string; end: number }[] = [];
    let lagBytes: number | null = null;
    let lagSeconds: number | null = null;
    let polling = false;
    const pollLag = async () => {
      if (polling || !reader) return;
      polling = true;
      try {
        const files = await binlogFiles(conn);
        const last = files[files.length - 1];
        if (!last) return;
        samples.push({ t: Date.now(), file: last.name, end: last.size });
        if (samples.length > 600) samples.shift();
        const at = reader.position;
        let behind = 0;
        let seen = false;
        for (const f of files) {
          if (f.name === at.file) {
            seen = true;
            behind += Math.max(0, f.size - at.pos);
          } else if (seen) behind += f.size;
        }
        lagBytes = seen ? behind : null;
        if (lagBytes === 0) lagSeconds = 0;
        else {
          const reached = samples.find((s) => s.file > at.file || (s.file === at.file && s.end > at.pos));
          lagSeconds = reached ? Math.max(0, (Date.now() - reached.t) / 1000) : null;
        }
      } catch {
        lagBytes = null;
        lagSeconds = null;
      } finally {
        polling = false;
      }
    };

    let lastRows = 0;
    let lastTick = performance.now();
    let rate = 0;
    let stopping = false;
    const status = (): CdcStatus => {
      // A bus that does not answer at all (no error yet: requests time out after 30 s) also makes cdc wait.
      const unanswered = writer.oldestInflightMs;
      const busSlow = unanswered >= BUS_SLOW_MS ? `no acknowledgement for ${Math.floor(unanswered / 1000)} s` : undefined;
      const waitingFor =
        readerState.state === 'waiting' ? `MySQL: ${readerState.detail ?? ''}` : writer.waiting !== undefined ? `the bus: ${writer.waiting}` : busSlow !== undefined ? `the bus: ${busSlow}` : undefined;
      return {
        state: stopping ? 'stopping' : waitingFor ? 'waiting' : readerState.state === 'connecting' && connects <= 1 ? 'starting' : 'reading',
        ...(waitingFor ? { waitingFor } : {}),
        clientId: o.clientId,
        topic: o.topic,
        rows: counters.rows,
        recordsSent: writer.recordsSent,
        rowsPerSecond: rate,
        ddl: counters.ddl,
        bootstrapRows: counters.bootstrapRows,
        reconnects: counters.reconnects,
        read: reader!.position,
        committed: writer.committed,
        lagBytes,
        lagSeconds,
        queueRecords: queue.depth,
        queueBytes: queue.bytes,
        queueMaxRecords: queue.maxRecords,
        queueMaxBytes: queue.maxBytes,
        inflightBatches: writer.inflightBatches,
        inflightRecords: writer.inflightRecords,
        inflightBytes: writer.inflightBytes,
        inflightMaxBatches: maxInflight,
        startedAt: Date.now() - (performance.now() - t0),
      };
    };
    if (o.http) {
      http = serveMetrics(o.http.bind, o.http.port, status);
      log(`metrics on ${http.url}/metrics, health on ${http.url}/healthz`);
    }
    const ticker = setInterval(() => {
      const now = performance.now();
      rate = ((counters.rows - lastRows) * 1000) / Math.max(1, now - lastTick);
      lastRows = counters.rows;
      lastTick = now;
      void pollLag();
      o.onStatus?.(status());
      if (o.maxRows !== undefined && writer.recordsSent >= o.maxRows) stopMain();
    }, o.statusIntervalMs ?? d.statusIntervalMs);

    const writerDone = writer.run().catch((e: unknown) => {
      fatal = e;
      stopMain();
    });
    await reader.start();
    o.onStarted?.({ start, ...(http ? { httpUrl: http.url } : {}), warnings: server.warnings });

    await new Promise<void>((resolve) => {
      wakeMain = resolve;
      if (o.signal.aborted) resolve();
      o.signal.addEventListener('abort', () => resolve(), { once: true });
    });

    // Shutdown: stop reading, drop the unfinished transaction, send what is queued, store the position.
    stopping = true;
    stopAll.abort();
    queue.release();
    await reader.stop();
    txn.clear();
    writer.stop(true, o.stopGraceMs ?? 10_000);
    await writerDone;
    clearInterval(ticker);
    if (fatal) throw fatal;
    return {
      rows: counters.rows,
      records: writer.recordsSent,
      ddl: counters.ddl,
      bootstrapRows: counters.bootstrapRows,
      seconds: (performance.now() - t0) / 1000,
      from: start,
      to: writer.stored,
      topic: o.topic,
      format: o.format,
    };
  } finally {
    await reader?.stop().catch(() => undefined);
    await sinkToClose?.close().catch(() => undefined);
    http?.stop();
    await store?.close().catch(() => undefined);
    await conn.close();
  }
}

interface HandlerContext {
  encoder: CdcEncoder;
  queue: CdcQueue;
  txn: TxnBuffer;
  schema: SchemaCache;
  filter: CdcFilter;
  conn: CdcConn;
  o: CdcOptions;
  eventTime: (ms: number) => number;
  log: (m: string) => void;
  counters: { rows: number; ddl: number; bootstrapRows: number };
  reader: () => BinlogReader;
  signal: AbortSignal;
}

/** What the reader's events do to the transaction buffer and the queue. */
class TxnHandler {
  private bootstraps: BootstrapRequest[] = [];

  constructor(private readonly c: HandlerContext) {}

  handle(e: ReaderEvent): void | Promise<void> {
    const c = this.c;
    switch (e.kind) {
      case 'begin':
        return;
      case 'rows':
        for (const ev of e.events) {
          const p = c.encoder.pending(ev);
          if (p) c.txn.add(p);
        }
        c.counters.rows += e.events.length;
        return;
      case 'bootstrap-request': {
        const r = bootstrapRequestOf(e.row, c.o.clientId);
        if (r) this.bootstraps.push(r);
        return;
      }
      case 'rollback':
        c.txn.clear();
        this.bootstraps = [];
        return;
      case 'commit':
        return this.commit(e);
      case 'rotate':
        c.queue.pushMarker({ position: e.position, own: false, ts: c.reader().lastEventTime });
        this.backPressure();
        return;
      case 'statement':
        return this.statement(e);
    }
  }

  private backPressure(): void {
    if (this.c.queue.full) this.c.reader().pause('queue');
  }

  private commit(e: Extract<ReaderEvent, { kind: 'commit' }>): void | Promise<void> {
    const c = this.c;
    const n = c.txn.count;
    const bootstraps = this.bootstraps;
    this.bootstraps = [];
    if (!c.txn.spilled && bootstraps.length === 0) {
      let i = 0;
      for (const p of c.txn.drain()) {
        c.queue.push(c.encoder.finish(p, e.xid, i, i === n - 1));
        i++;
      }
      c.queue.pushMarker({ position: e.position, own: e.own, ts: e.ts });
      this.backPressure();
      return;
    }
    return (async () => {
      let i = 0;
      for (const p of c.txn.drain()) {
        c.queue.push(c.encoder.finish(p, e.xid, i, i === n - 1));
        i++;
        if (c.queue.full) await c.queue.waitForRoom();
        if (c.signal.aborted) return;
      }
      const completions: (() => Promise<void>)[] = [];
      for (const req of bootstraps) {
        const state = await c.conn.query<{ is_complete: number }[]>(`SELECT is_complete FROM \`${c.o.schemaDb}\`.\`bootstrap\` WHERE id = ?`, [req.id]);
        // Read again after a restart: a request completed before it is not repeated.
        if (!state[0] || state[0].is_complete === 1) continue;
        const r = await runSnapshot(req, {
          conn: c.conn,
          schema: c.schema,
          schemaDb: c.o.schemaDb,
          encoder: c.encoder,
          queue: c.queue,
          eventTime: c.eventTime,
          log: c.log,
          onRows: (k) => (c.counters.bootstrapRows += k),
          signal: c.signal,
        });
        completions.push(r.complete);
      }
      c.queue.pushMarker({
        position: e.position,
        own: e.own && completions.length === 0,
        ts: e.ts,
        ...(completions.length > 0 ? { onCommitted: async () => { for (const f of completions) await f(); } } : {}),
      });
      this.backPressure();
    })();
  }

  private statement(e: Extract<ReaderEvent, { kind: 'statement' }>): void | Promise<void> {
    const c = this.c;
    const ddl = classifyDdl(e.sql, e.database);
    // Schema changes of databases and tables the filter leaves out need no re-read (other tenants' DDL is frequent).
    const tracked = (db: string, table: string | undefined) =>
      !SYSTEM_DATABASES.has(db) && db !== c.o.schemaDb && (table === undefined ? c.filter.includesDatabase(db) : c.filter.mayInclude(db, table) && !c.filter.isBlacklisted(db, table));
    const relevant = ddl?.targets.some((t) => tracked(t.database, t.table) || (t.to !== undefined && tracked(t.to.database, t.to.table)));
    if (!ddl || !relevant || ddl.kind === 'table-truncate') {
      c.queue.pushMarker({ position: e.position, own: false, ts: e.ts });
      this.backPressure();
      return;
    }
    return (async () => {
      const records = await this.applyDdl(ddl, e.sql, e.ts);
      c.reader().invalidateTables();
      if (records.length > 0) c.counters.ddl++;
      if (c.o.outputDdl && c.encoder.format === 'maxwell') for (const r of records) c.queue.push(c.encoder.ddl(r));
      c.queue.pushMarker({ position: e.position, own: false, ts: e.ts });
      this.backPressure();
    })();
  }

  /** Re-reads what the statement changed and returns Maxwell's DDL records for the included tables. */
  private async applyDdl(ddl: DdlStatement, sql: string, ts: number): Promise<MaxwellDdl[]> {
    const { schema, filter } = this.c;
    const out: MaxwellDdl[] = [];
    for (const t of ddl.targets) {
      if (SYSTEM_DATABASES.has(t.database) || t.database === this.c.o.schemaDb) continue;
      switch (ddl.kind) {
        case 'database-create':
        case 'database-alter': {
          const charset = await schema.refreshDatabase(t.database);
          if (filter.includesDatabase(t.database)) out.push({ type: ddl.kind, database: t.database, charset: charset ?? 'utf8mb4', ts, sql });
          break;
        }
        case 'database-drop':
          schema.forget(t.database);
          if (filter.includesDatabase(t.database)) out.push({ type: 'database-drop', database: t.database, ts, sql });
          break;
        case 'table-create': {
          let def = await schema.refreshTable(t.database, t.table!);
          if (!def) {
            // Gone again before cdc got here (or read again after a restart): the statement itself describes it.
            const parsed = parseCreateTable(sql);
            if (parsed) {
              def = {
                database: t.database,
                table: t.table!,
                charset: parsed.charset ?? schema.databaseCharset(t.database) ?? 'utf8mb4',
                columns: parsed.columns.map((c) => (c.charset === null && /char|text/.test(c.type) ? { ...c, charset: schema.databaseCharset(t.database) ?? 'utf8mb4' } : c)),
                primaryKey: parsed.primaryKey,
                jsonColumns: new Set(),
              };
            }
          }
          if (def && filter.includesTable(t.database, t.table!) && !filter.isBlacklisted(t.database, t.table!)) {
            out.push({ type: 'table-create', database: t.database, table: t.table!, def: maxwellTableDef(def), ts, sql });
          }
          break;
        }
        case 'table-drop':
          schema.forget(t.database, t.table);
          if (filter.includesTable(t.database, t.table!)) out.push({ type: 'table-drop', database: t.database, table: t.table!, ts, sql });
          break;
        case 'table-alter':
        case 'table-rename': {
          const before = schema.get(t.database, t.table!);
          const to = t.to ?? { database: t.database, table: t.table! };
          if (t.to) schema.forget(t.database, t.table);
          const after = await schema.refreshTable(to.database, to.table);
          if (after && filter.includesTable(t.database, t.table!)) {
            out.push({
              type: 'table-alter',
              database: t.database,
              table: t.table!,
              ...(before ? { old: maxwellTableDef(before) } : {}),
              def: maxwellTableDef(after),
              ts,
              sql,
            });
          }
          break;
        }
        default:
          break;
      }
    }
    return out;
  }
}

