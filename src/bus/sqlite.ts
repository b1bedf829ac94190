/**
 * The embedded bus: Kafka's topic/partition/offset/group semantics in one SQLite file (bun:sqlite,
 * WAL), shared by every rtwh process on the machine. The layout is in sqlite/schema.ts, the group
 * protocol in sqlite/consumer.ts.
 *
 * @example
 *   const bus = openSqliteBus('./.rtwh/bus.db');
 *   const producer = await bus.producer();
 *   await producer.send('ods_db', [{ key: 'order_info:42', value: json }]);
 */
import { rtwhError } from '../errors.ts';
import type { Admin, Bus, Consumer, ConsumerOptions, Producer, ProducerOptions } from './types.ts';
import { SqliteAdmin } from './sqlite/admin.ts';
import { SqliteConsumer } from './sqlite/consumer.ts';
import { SqliteProducer } from './sqlite/producer.ts';
import { SqliteStore } from './sqlite/store.ts';


export interface SqliteBusOptions {
  /** A group member silent this long loses its partitions. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** Lease renewal period; default a fifth of the session timeout, so a few misses are harmless. */
  heartbeatIntervalMs?: number;
  /** How long a write waits for another process's write lock. Default 30 000 ms. */
  busyTimeoutMs?: number;
}

interface Closable {
  close(): Promise<void>;
}

class SqliteBus implements Bus {
  readonly kind = 'sqlite' as const;
  readonly displayUrl: string;
  private readonly store: SqliteStore;
  private readonly open = new Set<Closable>();
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private closed = false;

  constructor(path: string, opts: SqliteBusOptions) {
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.max(10, Math.floor(this.sessionTimeoutMs / 5));
    if (!(this.sessionTimeoutMs > 0) || !(this.heartbeatIntervalMs > 0) || this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw rtwhError('CONFIG_VALUE', `bus heartbeat interval (${this.heartbeatIntervalMs} ms) must be positive and below the session timeout (${this.sessionTimeoutMs} ms)`);
    }
    this.store = new SqliteStore(path, opts.busyTimeoutMs ?? 30_000);
    this.displayUrl = `sqlite:${path}`;
  }

  async producer(_opts?: ProducerOptions): Promise<Producer> {
    // Compression and acks are Kafka wire options; a local file has neither.
    this.ensureOpen();
    const p = new SqliteProducer(this.store, (x) => this.open.delete(x));
    this.open.add(p);
    return p;
  }

  async consumer(opts: ConsumerOptions): Promise<Consumer> {
    this.ensureOpen();
    const c = new SqliteConsumer(
      this.store,
      opts,
      { sessionTimeoutMs: this.sessionTimeoutMs, heartbeatIntervalMs: this.heartbeatIntervalMs },
      (x) => this.open.delete(x),
    );
    c.start();
    this.open.add(c);
    return c;
  }

  async admin(): Promise<Admin> {
    this.ensureOpen();
    const a = new SqliteAdmin(this.store, (x) => this.open.delete(x));
    this.open.add(a);
    return a;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Consumers leave their groups first, so the other members take over at once instead of after a timeout.
    for (const c of [...this.open]) await c.close().catch(() => undefined);
    this.store.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw rtwhError('BUS_ERROR', 'the bus is closed', { hint: 'Open it again with openBus().' });
  }
}

/** Opens (creating if needed, with its parent directory) the bus file at `path`. */
export function openSqliteBus(path: string, opts: SqliteBusOptions = {}): Bus {
  return new SqliteBus(path, opts);
}
