/**
 * The dimension job (`rtwh run dim`): ods_db changes → dim tables, routed by the table_process rules, which it
 * follows live.
 *
 * Delivery: the dim store is the job's state. Each batch's writes and the input offsets they came from are applied
 * in ONE store transaction; when a partition is assigned, reading starts from the offset stored there (the bus
 * group's committed offset is only a mirror, for `rtwh groups`). So a kill -9 at any point loses nothing and
 * applies nothing twice: the records after the stored offset are read again, the ones before it never. Dead
 * letters are sent before the batch is applied: after a crash between the two they are sent again (their headers
 * name topic, partition and offset, so they can be told apart); rows are never lost for them.
 *
 * Two jobs may run at once (same group: they share the partitions; different groups: each routes everything).
 * DDL is idempotent in the store (create if missing, add missing columns), so neither job's CREATE breaks the
 * other — the seed's "broadcast state creates the table twice" problem does not arise.
 *
 * Config changes are applied between batches: a new rule routes from the next batch on, a rule with new columns
 * first adds them to the dim table (never drops any), a deleted rule stops routing (with dropOnDelete it also drops
 * the table, if this group created it and no other rule writes it; at a start, the tables this group created that
 * no config row names any more). A rule the store refuses for good (a reserved name, a table keyed by another
 * column) is rejected like an invalid row: reported, not routed, and the job goes on with the others.
 */
import type { Admin, Bus, BusRecord, Consumer, Producer, TopicPartitionOffset } from '../bus/types';
import { deadLetter } from '../bus/dead-letter';
import { q, RtwhError } from '../errors';
import type { RejectedRule } from './config';
import type { ConfigChange, ConfigSource } from './config-source';
import { abortable, transient } from '../stream/retry';
import { routeRecord } from './decode';
import { warnUntypedOnce } from '../formats/validated-change';
import type { DimStore, DimWrite, EnsureResult, StoredOffset, TableProcess } from './types';

export interface DimJobOptions {
  bus: Bus;
  /** Input topic (ods_db). */
  topic: string;
  /** Consumer group; also the key of the offsets stored in the dim store. */
  group: string;
  store: DimStore;
  config: ConfigSource;
  /** Only changes of this source database are routed ('*' = any). */
  database: string;
  /** Dead-letter topic. */
  dlq: string;
  /** Where to start a partition the store has no offset for. */
  startFrom: 'earliest' | 'latest';
  untilIdle: boolean;
  dropOnDelete: boolean;
  /** Records per poll and per store transaction (default 5000). */
  batchRecords?: number;
  /**
   * Asks the capture for a snapshot of a source table (like `rtwh cdc bootstrap`), so a rule added or widened
   * while the job runs fills its dim table with the rows that exist, not only the ones that change from now on.
   */
  bootstrap?: (sourceTable: string) => Promise<void>;
  /** Called after each applied batch (Redis invalidation). Failures are logged, never stop the job. */
  afterApply?: (writes: readonly DimWrite[]) => Promise<void>;
  signal?: AbortSignal;
  log: (message: string) => void;
  onStatus?: (s: DimStatus) => void;
  statusIntervalMs?: number;
}

export interface TableCounts {
  upserts: number;
  deletes: number;
}

export interface DimStatus {
  state: 'starting' | 'running' | 'waiting' | 'stopping' | 'stopped';
  waitingFor?: string;
  group: string;
  topic: string;
  /** Input records read (after the stored offsets). */
  records: number;
  recordsPerSecond: number;
  /** Per dim table. */
  tables: Record<string, TableCounts>;
  /** Changes of other databases, of tables without a rule, and records that are not row changes. */
  skippedOtherDatabase: number;
  skippedUnconfigured: number;
  controlRecords: number;
  deadLetters: number;
  /** Increases with every config change applied (1 after the initial load). */
  configVersion: number;
  rules: number;
  rejectedRules: number;
  configState: ConfigSource['state'];
  /** Records in the assigned partitions not routed yet; null until known. */
  lag: number | null;
  startedAt: number;
}

export interface DimJobResult {
  status: DimStatus;
  seconds: number;
}

const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

export async function runDimJob(o: DimJobOptions): Promise<DimJobResult> {
  const batch = o.batchRecords ?? 5000;
  const status: DimStatus = {
    state: 'starting',
    group: o.group,
    topic: o.topic,
    records: 0,
    recordsPerSecond: 0,
    tables: {},
    skippedOtherDatabase: 0,
    skippedUnconfigured: 0,
    controlRecords: 0,
    deadLetters: 0,
    configVersion: 0,
    rules: 0,
    rejectedRules: 0,
    configState: o.config.state,
    lag: null,
    startedAt: Date.now(),
  };
  const rules = new Map<string, TableProcess>();
  // Debezium records that neither a schema nor the gmall catalog types: said once per table, not per record.
  const onUntyped = warnUntypedOnce(o.log);
  const createdAtStart: string[] = [];
  const extendedAtStart: string[] = [];
  const pending: ConfigChange[] = [];
  let followError: unknown;

  const noteRejected = (r: RejectedRule) => {
    status.rejectedRules++;
    o.log(`table_process row ${JSON.stringify(r.sourceTable)} rejected: ${r.reason}; the other rules go on`);
  };

  /** Retries `fn` while the error is transient (store or bus down), reporting the wait in the status. */
  const patiently = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    let delay = 250;
    for (;;) {
      try {
        const r = await fn();
        if (status.state === 'waiting') {
          status.state = 'running';
          delete status.waitingFor;
          o.log(`${what}: available again`);
        }
        return r;
      } catch (e) {
        if (!transient(e) || o.signal?.aborted) throw e;
        if (status.state !== 'waiting') o.log(`${what}: ${(e as Error).message}; retrying`);
        status.state = 'waiting';
        status.waitingFor = what;
        await abortable(delay, o.signal);
        delay = Math.min(delay * 2, 5000);
      }
    }
  };

  const requestBootstrap = async (rule: TableProcess, why: string) => {
    if (!o.bootstrap) return;
    await patiently(`bootstrap request for ${rule.sourceTable}`, () => o.bootstrap!(rule.sourceTable));
    o.log(`requested a snapshot of ${rule.sourceTable} (${why})`);
  };

  /**
   * Why the store refuses a rule for good (a reserved or bad name, a table keyed by another column, a definition
   * the server refuses), or undefined for any other error (the job stops on those; transient ones were waited out).
   */
  const refusal = (e: unknown): string | undefined =>
    e instanceof RtwhError && (e.code === 'INVALID_NAME' || e.code === 'DIM_SCHEMA') ? `the dim store refuses it: ${e.message}` : undefined;

  /** A rule in force (other than `sourceTable`'s) that writes `sinkTable` keyed by another column. */
  const keyConflict = (rule: TableProcess): TableProcess | undefined => {
    const t = rule.sinkTable.toLowerCase();
    const pk = rule.sinkPk.toLowerCase();
    for (const r of rules.values()) if (r.sourceTable !== rule.sourceTable && r.sinkTable.toLowerCase() === t && r.sinkPk.toLowerCase() !== pk) return r;
    return undefined;
  };

  /**
   * Puts a rule in force: creates its table or adds its columns first. A rule the dim store refuses (or that keys
   * a table another rule writes by another column) is rejected like an invalid config row: reported, not routed
   * (its records count as unconfigured), and the rule it would replace, if any, stays in force. Returns whether
   * the rule is in force.
   */
  const applyRule = async (rule: TableProcess, initial: boolean): Promise<boolean> => {
    const before = rules.get(rule.sourceTable);
    const keptNote = before ? `; its previous rule (→ ${before.sinkTable}, key ${before.sinkPk}) stays in force` : '';
    const rejectRule = (reason: string) => noteRejected({ sourceTable: rule.sourceTable, sinkTable: rule.sinkTable, reason: `${reason}${keptNote}` });
    const other = keyConflict(rule);
    if (other) {
      rejectRule(`sink_table ${q(rule.sinkTable)} is written by the rule of ${q(other.sourceTable)} keyed by ${q(other.sinkPk)}, this rule keys it by ${q(rule.sinkPk)}: expected one key column per dim table`);
      return false;
    }
    // A live change asks for the snapshot BEFORE the table changes: a crash in between repeats the request at
    // the restart (the store then still lacks the columns), never loses it.
    const widened = before !== undefined && before.sinkTable === rule.sinkTable && rule.sinkColumns.some((c) => !before.sinkColumns.includes(c));
    const bootstrapWhy = !initial && (!before || before.sinkTable !== rule.sinkTable || widened) ? (before ? 'its rule changed' : 'a new rule') : undefined;
    if (bootstrapWhy) await requestBootstrap(rule, bootstrapWhy);
    let r: EnsureResult;
    try {
      r = await patiently(`dim store ${o.store.description}`, () => o.store.ensureTable(rule, { owner: o.group }));
    } catch (e) {
      const why = refusal(e);
      if (why === undefined || o.signal?.aborted) throw e;
      rejectRule(why);
      return false;
    }
    if (before && before.sinkTable !== rule.sinkTable) await dropRule(rule.sourceTable, 'moved to another sink table');
    if (initial && r.added.length) await requestBootstrap(rule, `its dim table gained ${r.added.join(', ')}`);
    rules.set(rule.sourceTable, rule);
    status.tables[rule.sinkTable] ??= { upserts: 0, deletes: 0 };
    if (initial) {
      if (r.created) createdAtStart.push(rule.sinkTable);
      if (r.added.length) o.log(`${rule.sinkTable}: added column${r.added.length > 1 ? 's' : ''} ${r.added.join(', ')}`);
      if (rule.sinkExtend) extendedAtStart.push(rule.sinkTable);
      return true;
    }
    const extend = rule.sinkExtend ? ` (sink_extend ${JSON.stringify(rule.sinkExtend)} is Phoenix-only: recorded, not applied)` : '';
    if (r.created) o.log(`created ${rule.sinkTable} for ${rule.sourceTable} (${rule.sinkColumns.length} columns, key ${rule.sinkPk})${extend}`);
    else if (r.added.length) o.log(`${rule.sinkTable}: added column${r.added.length > 1 ? 's' : ''} ${r.added.join(', ')}`);
    else if (!before) o.log(`routing ${rule.sourceTable} → ${rule.sinkTable} (table already there)`);
    return true;
  };

  /** Whether this job's group created `table` (a table it did not create is never dropped). */
  const createdHere = async (table: string): Promise<boolean> => {
    const managed = await patiently(`dim store ${o.store.description}`, () => o.store.managedTables());
    return managed.some((m) => m.table === table && m.createdBy === o.group);
  };

  /** Stops routing a source table; with dropOnDelete drops its dim table when no rule writes it and this group created it. */
  const dropRule = async (sourceTable: string, why: string) => {
    const rule = rules.get(sourceTable);
    if (!rule) return;
    rules.delete(sourceTable);
    const stillUsed = [...rules.values()].some((r) => r.sinkTable === rule.sinkTable);
    if (o.dropOnDelete && !stillUsed) {
      if (await createdHere(rule.sinkTable)) {
        await patiently(`dim store ${o.store.description}`, () => o.store.dropTable(rule.sinkTable));
        o.log(`stopped routing ${sourceTable} (${why}); dropped ${rule.sinkTable}`);
      } else {
        o.log(`stopped routing ${sourceTable} (${why}); ${rule.sinkTable} is kept: group ${o.group} did not create it (--drop-on-delete drops only its own tables)`);
      }
    } else {
      o.log(`stopped routing ${sourceTable} (${why}); ${rule.sinkTable} is kept${o.dropOnDelete ? ' (another rule writes it)' : ''}`);
    }
  };

  /**
   * --drop-on-delete at a start: the dim tables this group created whose config row went while the job was
   * down. A table any config row still names (valid or rejected) is kept, and so is every table another group
   * or no dim job created.
   */
  const dropOrphans = async (named: Set<string>) => {
    const managed = await patiently(`dim store ${o.store.description}`, () => o.store.managedTables());
    for (const m of managed) {
      if (m.createdBy !== o.group || named.has(m.table.toLowerCase())) continue;
      await patiently(`dim store ${o.store.description}`, () => o.store.dropTable(m.table));
      o.log(`dropped ${m.table}: no table_process row names it any more (--drop-on-delete; its row was deleted while the job was down)`);
    }
  };

  const applyConfig = async (c: ConfigChange) => {
    if (c.kind === 'upsert') await applyRule(c.rule, false);
    else if (c.kind === 'delete') await dropRule(c.sourceTable, 'its table_process row was deleted');
    else noteRejected(c.rejected);
    status.configVersion++;
    status.rules = rules.size;
  };

  // 1. The config as it is now, then its changes as they happen.
  const loaded = await patiently(`config ${o.config.description}`, () => o.config.load());
  for (const r of loaded.rejected) noteRejected(r);
  for (const r of loaded.rules) await applyRule(r, true);
  if (o.dropOnDelete) {
    const named = new Set<string>();
    for (const r of loaded.rules) named.add(r.sinkTable.toLowerCase());
    for (const r of loaded.rejected) if (r.sinkTable !== undefined) named.add(r.sinkTable.toLowerCase());
    await dropOrphans(named);
  }
  status.configVersion = 1;
  status.rules = rules.size;
  o.log(`config ${o.config.description}: ${rules.size} rule${rules.size === 1 ? '' : 's'}${status.rejectedRules ? `, ${status.rejectedRules} rejected` : ''}`);
  if (createdAtStart.length) o.log(`created ${createdAtStart.length} dim table${createdAtStart.length === 1 ? '' : 's'}: ${createdAtStart.join(', ')}`);
  if (extendedAtStart.length) o.log(`sink_extend of ${extendedAtStart.join(', ')} is Phoenix-only: recorded, not applied`);
  if (rules.size === 0) o.log('no table_process rule yet: nothing is routed until one is added (`rtwh run dim --init-config` loads the standard rows)');
  const following = o.config
    .follow((c) => {
      pending.push(c);
    })
    .catch((e: unknown) => {
      followError = e;
    });

  // 2. The input, from the offsets stored with the dim rows.
  let consumer: Consumer | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  const next = new Map<string, number>(); // partition key → next offset to route
  const storedAt = new Map<string, number | null>(); // partition key → the offset the store holds (fencing)
  const t0 = performance.now();
  let lastStatus = 0;
  let lastRecords = 0;
  let lastStatusAt = t0;
  let aborted = false;
  o.signal?.addEventListener('abort', () => (aborted = true), { once: true });

  const report = async (force = false) => {
    const now = performance.now();
    if (!force && now - lastStatus < (o.statusIntervalMs ?? 1000)) return;
    lastStatus = now;
    status.recordsPerSecond = ((status.records - lastRecords) * 1000) / Math.max(now - lastStatusAt, 1);
    lastRecords = status.records;
    lastStatusAt = now;
    status.configState = o.config.state;
    status.lag = await lag().catch(() => null);
    o.onStatus?.({ ...status, tables: { ...status.tables } });
  };

  const ends = async (): Promise<Map<number, { start: number; end: number }> | null> => {
    try {
      const info = await admin!.describeTopic(o.topic);
      return new Map(info.partitions.map((p) => [p.partition, { start: p.startOffset, end: p.endOffset }]));
    } catch (e) {
      if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') return null;
      throw e;
    }
  };

  const lag = async (): Promise<number | null> => {
    const e = await ends();
    if (!e || !consumer) return null;
    let total = 0;
    for (const tp of consumer.assignment()) {
      const n = next.get(tpKey(tp.topic, tp.partition));
      const pe = e.get(tp.partition);
      if (n === undefined || !pe) return null;
      total += Math.max(0, pe.end - n);
    }
    return total;
  };

  /** Newly assigned partitions start at the stored offset (or startFrom); this poll's records of them are dropped. */
  const sync = async (): Promise<Set<string>> => {
    const assigned = consumer!.assignment();
    const fresh = new Set<string>();
    const keys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const k of [...next.keys()]) {
      if (keys.has(k)) continue;
      next.delete(k);
      storedAt.delete(k);
    }
    const unsynced = assigned.filter((tp) => !next.has(tpKey(tp.topic, tp.partition)));
    if (unsynced.length === 0) return fresh;
    const stored = await patiently(`dim store ${o.store.description}`, () => o.store.offsets(o.group));
    const e = await patiently(`bus ${o.bus.displayUrl}`, ends);
    for (const tp of unsynced) {
      const k = tpKey(tp.topic, tp.partition);
      const pe = e?.get(tp.partition);
      const from = pe ? (o.startFrom === 'earliest' ? pe.start : pe.end) : 0;
      let at = stored.get(k);
      storedAt.set(k, at ?? null);
      if (at !== undefined && pe && (at > pe.end || at < pe.start)) {
        o.log(`the stored offset ${at} of ${k} is outside the topic (${pe.start}…${pe.end}; recreated or expired?): starting at ${o.startFrom} (${from})`);
        at = from;
      }
      at ??= from;
      await consumer!.seek({ ...tp, offset: at });
      next.set(k, at);
      fresh.add(k);
    }
    return fresh;
  };

  const sendDeadLetters = async (msgs: ReturnType<typeof deadLetter>[]) => {
    if (msgs.length === 0) return;
    await patiently(`dead-letter topic ${o.dlq}`, async () => {
      producer ??= await o.bus.producer();
      await producer.send(o.dlq, msgs);
    });
    status.deadLetters += msgs.length;
  };

  /** Applies the batch; a write the store refuses for good is retried alone and dead-lettered if it fails again. */
  const applyBatch = async (writes: DimWrite[], origins: BusRecord[], offsets: StoredOffset[]) => {
    try {
      await patiently(`dim store ${o.store.description}`, () => o.store.apply(writes, offsets));
      return;
    } catch (e) {
      if (aborted || transient(e) || writes.length === 0 || (e instanceof RtwhError && e.code === 'DIM_OFFSET_FENCED')) throw e;
      o.log(`a batch was refused (${(e as Error).message}); applying its writes one by one`);
    }
    const dead: ReturnType<typeof deadLetter>[] = [];
    for (let i = 0; i < writes.length; i++) {
      try {
        await patiently(`dim store ${o.store.description}`, () => o.store.apply([writes[i]!], []));
      } catch (e) {
        if (transient(e)) throw e;
        const r = origins[i]!;
        dead.push(deadLetter(r.value ?? '', `the dim store refused the ${writes[i]!.op} of ${writes[i]!.table} id ${writes[i]!.id}: ${(e as Error).message}`, 'run dim', { topic: r.topic, partition: r.partition, offset: r.offset }, r.key));
      }
    }
    await sendDeadLetters(dead);
    await patiently(`dim store ${o.store.description}`, () => o.store.apply([], offsets));
  };

  try {
    consumer = await patiently(`bus ${o.bus.displayUrl}`, () => o.bus.consumer({ group: o.group, topics: [o.topic], startFrom: o.startFrom, maxPollRecords: batch }));
    admin = await patiently(`bus ${o.bus.displayUrl}`, () => o.bus.admin());
    status.state = 'running';
    let idlePolls = 0;
    while (!aborted) {
      if (followError) throw followError;
      while (pending.length) await applyConfig(pending.shift()!);

      const records = await patiently(`bus ${o.bus.displayUrl}`, () => consumer!.poll({ timeoutMs: o.untilIdle ? 200 : 500, maxRecords: batch }));
      const fresh = await sync();
      const writes: DimWrite[] = [];
      const origins: BusRecord[] = [];
      const dead: ReturnType<typeof deadLetter>[] = [];
      const bootstraps = new Bootstraps();
      const advanced = new Set<string>();
      // A poll returns runs of one partition: its key string is made once per run, not per record.
      let k = '';
      let kTopic = '';
      let kPartition = -1;
      for (const r of records) {
        if (r.partition !== kPartition || r.topic !== kTopic) {
          kTopic = r.topic;
          kPartition = r.partition;
          k = tpKey(kTopic, kPartition);
        }
        const at = next.get(k);
        if (at === undefined || fresh.has(k) || r.offset < at) continue;
        next.set(k, r.offset + 1);
        advanced.add(k);
        status.records++;
        const routed = routeRecord(r.value, r.key, o.database, rules, { onUntyped });
        // A record is applied whole or not at all: a Canal message carries several rows, and with one of them bad
        // the message goes to the dead letters as it is — replayed once mended, it must not write its other rows
        // over what changed since.
        const refused = routed.find((res): res is { kind: 'invalid' | 'bad'; reason: string } => res.kind === 'invalid' || res.kind === 'bad');
        if (refused) {
          const rows = routed.length > 1 ? ` (one of its ${routed.length} rows; none of them written)` : '';
          dead.push(deadLetter(r.value ?? '', `${refused.reason}${rows}`, 'run dim', { topic: r.topic, partition: r.partition, offset: r.offset }, r.key));
          continue;
        }
        for (const res of routed) {
          switch (res.kind) {
            case 'writes':
              for (const w of res.writes) {
                writes.push(w);
                origins.push(r);
                const t = (status.tables[w.table] ??= { upserts: 0, deletes: 0 });
                if (w.op === 'upsert') t.upserts++;
                else t.deletes++;
              }
              break;
            case 'other-database':
              status.skippedOtherDatabase++;
              break;
            case 'unconfigured':
            case 'empty':
              status.skippedUnconfigured++;
              break;
            case 'control':
              status.controlRecords++;
              bootstraps.note(r);
              break;
            case 'invalid':
            case 'bad':
              break; // (refused above)
          }
        }
      }
      if (advanced.size > 0) {
        idlePolls = 0;
        const offsets: StoredOffset[] = [...advanced].map((k) => {
          const i = k.lastIndexOf(':');
          return { group: o.group, topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: next.get(k)!, expected: storedAt.get(k) ?? null };
        });
        await sendDeadLetters(dead);
        try {
          await applyBatch(writes, origins, offsets);
        } catch (e) {
          if (!(e instanceof RtwhError && e.code === 'DIM_OFFSET_FENCED')) throw e;
          // Another job (same group) took these partitions and moved on: drop this batch, start again from what
          // the store holds when they come back.
          o.log(`${e.message}; this batch is dropped and the partitions are read again from the store`);
          for (const k of advanced) {
            next.delete(k);
            storedAt.delete(k);
          }
          continue;
        }
        for (const x of offsets) storedAt.set(tpKey(x.topic, x.partition), x.offset);
        bootstraps.report(o.log);
        if (o.afterApply && writes.length) await o.afterApply(writes).catch((e: unknown) => o.log(`cache invalidation failed: ${(e as Error).message}`));
        // The bus group mirrors the stored offsets so `rtwh groups` shows the lag; a failure here loses nothing.
        await consumer.commit(offsets.map((x): TopicPartitionOffset => ({ topic: x.topic, partition: x.partition, offset: x.offset }))).catch(() => undefined);
      } else if (records.length === 0 && fresh.size === 0) {
        idlePolls++;
        if (o.untilIdle && idlePolls >= 2 && pending.length === 0 && (await drained())) break;
      }
      await report();
    }
    status.state = 'stopping';
  } finally {
    await o.config.close().catch(() => undefined);
    await following;
    await consumer?.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await report(true).catch(() => undefined);
    await admin?.close().catch(() => undefined);
    status.state = 'stopped';
  }
  return { status: { ...status, tables: { ...status.tables } }, seconds: (performance.now() - t0) / 1000 };

  /** Every assigned partition routed up to its end (a missing topic counts as drained: nothing to route). */
  async function drained(): Promise<boolean> {
    const e = await ends();
    if (e === null) return true;
    const assigned = consumer!.assignment();
    if (assigned.length === 0) return [...e.values()].every((p) => p.end === p.start);
    return assigned.every((tp) => {
      const n = next.get(tpKey(tp.topic, tp.partition));
      const pe = e.get(tp.partition);
      return pe !== undefined && n !== undefined && n >= pe.end;
    });
  }
}

/** bootstrap-start / bootstrap-complete and DDL records route nothing; the bootstrap ones are worth a log line. */
/**
 * The bootstrap-start/-complete records of a batch, logged in one line each kind once the batch is applied: a base
 * data load bootstraps every table at once, and a line per record was 34 lines for the gmall tables.
 */
class Bootstraps {
  private readonly started: string[] = [];
  private readonly completed: string[] = [];

  note(r: BusRecord): void {
    if (!r.value || r.value.length > 100_000) return;
    try {
      const o = JSON.parse(r.value.toString('utf8')) as { type?: unknown; database?: unknown; table?: unknown };
      const name = `${String(o.database)}.${String(o.table)}`;
      if (o.type === 'bootstrap-start') this.started.push(name);
      else if (o.type === 'bootstrap-complete') this.completed.push(name);
    } catch {
      // not JSON: routeRecord would have rejected it
    }
  }

  report(log: (m: string) => void): void {
    const open = this.started.filter((t) => !this.completed.includes(t));
    if (this.completed.length > 0) log(`bootstrap complete: ${names(this.completed)}`);
    if (open.length > 0) log(`bootstrap started: ${names(open)}`);
  }
}

/** Up to 8 names, then how many more. */
function names(list: readonly string[]): string {
  return list.length <= 8 ? list.join(', ') : `${list.slice(0, 8).join(', ')} +${list.length - 8} more`;
}
