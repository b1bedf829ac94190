/**
 * The Kafka bus (kafkajs 2.2.4, tested against Apache Kafka 4.1 KRaft).
 *
 * @example
 *   const bus = openKafkaBus(['127.0.0.1:9092']);
 *   const producer = await bus.producer({ compression: 'lz4' });
 *   await producer.send('ods_db', [{ key: '42', value: JSON.stringify(change) }]);
 *   const consumer = await bus.consumer({ group: 'dwd', topics: ['ods_db'] });
 *   const records = await consumer.poll({ timeoutMs: 500 });
 *   await consumer.commit();
 *   await bus.close();
 *
 * Pieces: kafka/client.ts (settings, quiet logs, error mapping), kafka/producer.ts, kafka/consumer.ts (the pull
 * adapter over kafkajs's push consumer), kafka/admin.ts; codecs.ts adds snappy/lz4/zstd to kafkajs. The produce path
 * writes record batches itself: kafka/record-batch.ts (batch v2 writer), kafka/crc32c.ts, and kafka/produce-request.ts
 * (our encoder behind kafkajs's Produce request, plus the idempotent sequence ledger) — ~4x kafkajs's own encoding —
 * and kafka/pipeline.ts (several Produce requests in flight per broker, retried in order).
 */
import type { Kafka } from 'kafkajs';
import { RtwhError } from '../errors.ts';
import type { Admin, Bus, Consumer, ConsumerOptions, Producer, ProducerOptions } from './types.ts';
import { KafkaAdmin } from './kafka/admin.ts';
import { kafkaContext, type KafkaBusOptions, type KafkaContext } from './kafka/client.ts';
import { KafkaConsumer } from './kafka/consumer.ts';
import { KafkaProducer } from './kafka/producer.ts';

export type { KafkaBusOptions, KafkaLogLevel } from './kafka/client.ts';

interface Closable {
  close(): Promise<void>;
}

class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  readonly displayUrl: string;
  private readonly ctx: KafkaContext;
  /** Producers and admins share one kafkajs client (one metadata cache); consumers get their own. */
  private shared: Kafka | null = null;
  private readonly open = new Set<Closable>();
  private closed = false;

  constructor(brokers: string[], opts: KafkaBusOptions) {
    this.ctx = kafkaContext(brokers, opts);
    this.displayUrl = `kafka://${brokers.join(',')}`;
  }

  private client(): Kafka {
    this.shared ??= this.ctx.newClient();
    return this.shared;
  }

  /** Remember what is open so bus.close() can close it; forget it when it is closed on its own. */
  private async track<T extends Closable>(x: T): Promise<T> {
    if (this.closed) {
      // bus.close() ran while this one was connecting: do not leave it open behind the caller's back.
      await x.close().catch(() => {});
      this.ensureOpen();
    }
    this.open.add(x);
    const close = x.close.bind(x);
    x.close = async () => {
      this.open.delete(x);
      await close();
    };
    return x;
  }

  async producer(opts?: ProducerOptions): Promise<Producer> {
    this.ensureOpen();
    return this.track(await KafkaProducer.open(this.ctx, this.client(), opts));
  }

  async consumer(opts: ConsumerOptions): Promise<Consumer> {
    this.ensureOpen();
    return this.track(await KafkaConsumer.open(this.ctx, opts));
  }

  async admin(): Promise<Admin> {
    this.ensureOpen();
    return this.track(await KafkaAdmin.open(this.ctx, this.client()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.open].map((x) => x.close().catch(() => {})));
  }

  private ensureOpen(): void {
    if (this.closed) throw new RtwhError('BUS_ERROR', 'the bus is closed', { hint: 'Open it again with openBus().' });
  }
}

/** A Bus on the Kafka cluster reachable through `brokers` ("host:port"). Connects lazily, per producer/consumer/admin. */
export function openKafkaBus(brokers: string[], opts: KafkaBusOptions = {}): Bus {
  return new KafkaBus(brokers, opts);
}
