/**
 * Producer for the embedded bus. A send is ONE write transaction: every record of it becomes visible
 * at once, offsets stay dense per partition even with producers in other processes, and the per-commit
 * cost is paid once per batch instead of once per record.
 */
import { q, rtwhError } from '../../errors.ts';
import { createDefaultPartitioner, type Partitioner } from '../partitioner.ts';
import type { ProduceMessage, ProduceResult, Producer } from '../types.ts';
import { type PartitionRow, type SqliteStore } from './store.ts';
import { checkTopicName } from '../topic-name.ts';

const utf8 = new TextEncoder();

interface Prepared {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: string | null;
  partition: number | undefined;
  timestamp: number;
}

export function toBytes(v: string | Uint8Array | null | undefined, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  // TextEncoder measured ~3x faster than Buffer.from(string) in Bun, and SQLite only needs the bytes.
  if (typeof v === 'string') return utf8.encode(v);
  if (v instanceof Uint8Array) return v;
  throw rtwhError('BUS_ERROR', `a record ${what} must be a string, a Buffer or null, got ${typeof v}`, {
    hint: 'Serialize the value (e.g. JSON.stringify) before sending.',
  });
}

function encodeHeaders(h: ProduceMessage['headers']): string | null {
  if (h === undefined || h === null) return null;
  const keys = Object.keys(h);
  if (keys.length === 0) return null;
  for (const k of keys) {
    if (typeof h[k] !== 'string') {
      throw rtwhError('BUS_ERROR', `header ${q(k)} must be a string, got ${typeof h[k]}`, { hint: 'Headers are UTF-8 strings on the wire.' });
    }
  }
  return JSON.stringify(h);
}

function prepare(m: ProduceMessage, now: number): Prepared {
  let timestamp = now;
  if (m.timestamp !== undefined && m.timestamp !== null) {
    if (!Number.isFinite(m.timestamp)) throw rtwhError('BUS_ERROR', `record timestamp ${q(m.timestamp)} is not a number of ms`);
    timestamp = Math.trunc(m.timestamp);
  }
  return {
    key: toBytes(m.key, 'key'),
    value: toBytes(m.value, 'value'),
    headers: encodeHeaders(m.headers),
    partition: m.partition ?? undefined,
    timestamp,
  };
}

interface Touched {
  row: PartitionRow;
  baseOffset: number;
  next: number;
  maxTs: number | null;
}

export class SqliteProducer implements Producer {
  private readonly partitioner: Partitioner = createDefaultPartitioner();
  private closed = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly onClose: (p: SqliteProducer) => void,
  ) {}

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    if (this.closed) throw rtwhError('BUS_ERROR', 'send on a closed producer', { hint: 'Create a new producer with bus.producer().' });
    checkTopicName(topic);
    if (messages.length === 0) return [];
    const now = Date.now();
    // Encoding happens before the write lock is taken, so other producers wait as little as possible.
    const prepared = messages.map((m) => prepare(m, now));
    const store = this.store;
    const insert = store.stmt('INSERT INTO messages(pid, off, ts, key, value, headers) VALUES (?, ?, ?, ?, ?, ?)');
    await store.yieldIfHogging();
    await store.yieldToEventLoop();
    // Closed meanwhile (bus.close() from a timer or signal handler that just ran): the file is gone.
    if (this.closed) throw rtwhError('BUS_ERROR', 'send on a closed producer', { hint: 'Create a new producer with bus.producer().' });
    return store.write(() => {
      let parts = store.partitionsOf(topic);
      if (parts.length === 0) {
        // Kafka's auto.create.topics.enable: the first send creates the topic with one partition.
        store.createTopicInTx(topic, 1, {});
        parts = store.partitionsOf(topic);
      }
      const n = parts.length;
      const touched = new Map<number, Touched>();
      const order: Touched[] = [];
      for (const m of prepared) {
        let p: number;
        if (m.partition !== undefined) {
          if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= n) {
            throw rtwhError('BUS_ERROR', `partition ${q(m.partition)} does not exist in topic ${q(topic)} (it has ${n})`, {
              hint: `Use a partition from 0 to ${n - 1}, or leave it out to partition by key.`,
            });
          }
          p = m.partition;
        } else {
          p = this.partitioner(topic, m.key, n);
        }
        let t = touched.get(p);
        if (t === undefined) {
          const row = parts[p]!;
          t = { row, baseOffset: row.nextOffset, next: row.nextOffset, maxTs: row.maxTs };
          touched.set(p, t);
          order.push(t);
        }
        insert.run(t.row.id, t.next, m.timestamp, m.key, m.value, m.headers);
        t.next++;
        if (t.maxTs === null || m.timestamp > t.maxTs) t.maxTs = m.timestamp;
      }
      const advance = store.stmt('UPDATE partitions SET next_offset = ?, max_ts = ? WHERE id = ?');
      const index = store.stmt('INSERT INTO time_index(pid, max_ts, base_offset) VALUES (?, ?, ?)');
      for (const t of order) {
        advance.run(t.next, t.maxTs, t.row.id);
        // Only a batch that raised the running max can be the answer to a timestamp lookup.
        if (t.maxTs !== null && (t.row.maxTs === null || t.maxTs > t.row.maxTs)) index.run(t.row.id, t.maxTs, t.baseOffset);
      }
      return order.map((t) => ({ topic, partition: t.row.part, baseOffset: t.baseOffset, count: t.next - t.baseOffset }));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}
