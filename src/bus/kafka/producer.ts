/**
 * Bus Producer over a kafkajs producer.
 *
 * Partitioning is kafkajs's DefaultPartitioner (murmur2, the Java client's algorithm) for keyed records, so a key
 * lands on the same partition whichever client wrote it — and the same one src/bus/partitioner.ts picks on sqlite.
 * Records without key and partition go, per send() call, all to one partition chosen round-robin (the Java client's
 * "sticky" idea): one batch per call instead of one per record.
 */
import {
  CompressionTypes,
  Partitioners,
  type Kafka,
  type Message,
  type PartitionerArgs,
  type Producer as KafkaJsProducer,
} from 'kafkajs';
import { RtwhError, q } from '../../errors.ts';
import type { Compression, ProduceMessage, ProduceResult, Producer, ProducerOptions } from '../types.ts';
import { checkTopicName, kafkaFailure, RETRY, type KafkaContext } from './client.ts';

const CODECS: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/** Per send() call: where its key-less records go. */
interface SendScope {
  sticky?: number;
}

/** Records per kafkajs send call (see send()). */
const SEND_CHUNK = 500;

/** Broker answers that mean "this producer id's sequence state is gone" (topic recreated, producer state expired). */
const FENCED_SEQUENCE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

export class KafkaProducer implements Producer {
  /** Partition chosen for each message object we hand to kafkajs: it gives the counts of a ProduceResult. */
  private readonly chosen = new WeakMap<Message, number>();
  private readonly scopes = new WeakMap<Message, SendScope>();
  private readonly roundRobin = new Map<string, number>();
  private readonly acks: number;
  private readonly compression: CompressionTypes;
  private producer: KafkaJsProducer;
  private closed = false;

  private constructor(
    private readonly ctx: KafkaContext,
    private readonly client: Kafka,
    opts: ProducerOptions,
  ) {
    this.acks = (opts.acks ?? 'all') === 'all' ? -1 : 1;
    this.compression = CODECS[opts.compression ?? 'none'];
    this.producer = this.create();
  }

  static async open(ctx: KafkaContext, client: Kafka, opts: ProducerOptions = {}): Promise<KafkaProducer> {
    const p = new KafkaProducer(ctx, client, opts);
    try {
      await p.producer.connect();
    } catch (e) {
      throw kafkaFailure(e, ctx.brokers, { action: 'connect producer' });
    }
    return p;
  }

  private create(): KafkaJsProducer {
    const idempotent = this.acks === -1;
    return this.client.producer({
      // Idempotence makes kafkajs's own retries safe (no duplicate on a lost ack); kafkajs requires acks=all for it
      // and serialises requests per broker (maxInFlightRequests 1) so sequence numbers stay in order.
      idempotent,
      maxInFlightRequests: idempotent ? 1 : undefined,
      allowAutoTopicCreation: true,
      retry: RETRY,
      createPartitioner: () => this.partitioner(),
    });
  }

  private partitioner(): (args: PartitionerArgs) => number {
    const murmur2 = Partitioners.DefaultPartitioner();
    return (args) => {
      const { topic, partitionMetadata, message } = args;
      let p: number;
      if (message.partition !== undefined && message.partition !== null) {
        p = message.partition;
        if (!partitionMetadata.some((m) => m.partitionId === p)) {
          throw new RtwhError('BUS_ERROR', `topic ${q(topic)} has no partition ${p} (it has ${partitionMetadata.length})`, {
            hint: 'Send without a partition, or create the topic with more partitions.',
          });
        }
      } else if (message.key !== undefined && message.key !== null) {
        p = murmur2(args);
      } else {
        const scope = this.scopes.get(message) ?? {};
        if (scope.sticky === undefined || !partitionMetadata.some((m) => m.partitionId === scope.sticky)) {
          const live = partitionMetadata.filter((m) => m.leader >= 0);
          const pool = live.length > 0 ? live : partitionMetadata;
          const n = (this.roundRobin.get(topic) ?? Math.floor(Math.random() * 1024)) + 1;
          this.roundRobin.set(topic, n);
          scope.sticky = (pool[n % pool.length] as (typeof pool)[number]).partitionId;
        }
        p = scope.sticky;
      }
      this.chosen.set(message, p);
      return p;
    };
  }

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    if (this.closed) throw new RtwhError('BUS_ERROR', `produce to ${q(topic)}: the producer is closed`);
    checkTopicName(topic);
    if (messages.length === 0) return [];
    const scope: SendScope = {};
    const batch: Message[] = messages.map((m) => {
      const km: Message = {
        key: m.key ?? null,
        value: m.value,
        partition: m.partition,
        headers: m.headers,
        timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
      };
      this.scopes.set(km, scope);
      return km;
    });
    // kafkajs groups a send's records per partition by copying the group array for every record (quadratic):
    // 2000 records per call produce at a third of the speed of 500. Big sends go out as consecutive chunks.
    const results: ProduceResult[] = [];
    for (let i = 0; i < batch.length; i += SEND_CHUNK) {
      for (const r of await this.sendChunk(topic, batch.slice(i, i + SEND_CHUNK))) {
        const prev = results.find((x) => x.partition === r.partition && x.baseOffset + x.count === r.baseOffset);
        // Chunks of one send are contiguous per partition unless another producer wrote in between; then the
        // result honestly has two ranges for that partition.
        if (prev) prev.count += r.count;
        else results.push(r);
      }
    }
    return results.sort((a, b) => a.partition - b.partition || a.baseOffset - b.baseOffset);
  }

  private async sendChunk(topic: string, batch: Message[]): Promise<ProduceResult[]> {
    let metadata;
    try {
      metadata = await this.sendOnce(topic, batch);
    } catch (e) {
      const types = collectTypes(e);
      if (!types.some((t) => FENCED_SEQUENCE.has(t))) throw kafkaFailure(e, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
      // The broker forgot this producer id (e.g. the topic was deleted and recreated). The batch was refused, so
      // a new producer id and one resend is safe; kafkajs itself cannot bump the epoch.
      await this.producer.disconnect().catch(() => {});
      this.producer = this.create();
      try {
        await this.producer.connect();
        metadata = await this.sendOnce(topic, batch);
      } catch (e2) {
        throw kafkaFailure(e2, this.ctx.brokers, { action: `produce to ${q(topic)}`, topic });
      }
    }
    const counts = new Map<number, number>();
    for (const m of batch) {
      const p = this.chosen.get(m);
      if (p !== undefined) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return metadata
      .filter((r) => r.topicName === topic)
      .map((r) => ({ topic, partition: r.partition, baseOffset: Number(r.baseOffset), count: counts.get(r.partition) ?? 0 }));
  }

  private sendOnce(topic: string, batch: Message[]) {
    return this.producer.send({ topic, messages: batch, acks: this.acks, compression: this.compression });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect().catch(() => {});
  }
}

function collectTypes(e: unknown): string[] {
  const out: string[] = [];
  let x: unknown = e;
  for (let i = 0; i < 10 && x && typeof x === 'object'; i++) {
    const t = (x as { type?: unknown }).type;
    if (typeof t === 'string') out.push(t);
    x = (x as { cause?: unknown }).cause;
  }
  return out;
}
