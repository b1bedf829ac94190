/**
 * The topic bus: one interface, two implementations.
 *   kafka://host:port[,host:port]  → src/bus/kafka.ts  (kafkajs)
 *   sqlite:PATH                    → src/bus/sqlite.ts (bun:sqlite, WAL, shared by many processes)
 *
 * Semantics follow Kafka's so jobs run unchanged on either:
 * - a topic has N partitions; order is kept within a partition; offsets start at 0 and grow by 1;
 * - a committed offset is the NEXT offset to read (Kafka's convention);
 * - consumers in one group share the partitions of their topics; each partition has one owner at a time;
 * - delivery is at-least-once: a record is read again unless its offset was committed.
 */

/** Headers are UTF-8 strings on the wire. */
export type Headers = Record<string, string>;

export interface ProduceMessage {
  /** Records with the same key go to the same partition (murmur2, Kafka's default partitioner) unless `partition` is set. */
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Headers;
  /** Explicit partition; wins over key hashing. */
  partition?: number;
  /** Event/create time in ms since the epoch; defaults to now. */
  timestamp?: number;
}

export interface ProduceResult {
  topic: string;
  partition: number;
  /** Offset of the first record of this send in that partition. */
  baseOffset: number;
  count: number;
}

export interface BusRecord {
  topic: string;
  partition: number;
  offset: number;
  /** ms since the epoch */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** For commits: the next offset to read. */
  offset: number;
}

export interface PartitionInfo {
  partition: number;
  /** First offset still stored (after retention). */
  startOffset: number;
  /** Log-end offset: the offset the next record will get. */
  endOffset: number;
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
  config?: Record<string, string>;
}

export interface TopicSpec {
  name: string;
  /** default 1 for sqlite; for Kafka the broker default unless given */
  partitions?: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

export interface EnsuredTopic {
  partitions: number;
  /** False when it existed already (or, on Kafka, when another client created it at the same moment). */
  created: boolean;
}

export interface GroupPartitionLag {
  group: string;
  topic: string;
  partition: number;
  /** null when the group never committed for this partition */
  currentOffset: number | null;
  logEndOffset: number;
  /** logEndOffset − currentOffset (or − startOffset when nothing is committed) */
  lag: number;
  /** member that owns the partition now, if any */
  memberId?: string | null;
}

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4';

export interface ProducerOptions {
  compression?: Compression;
  /** Kafka: wait for all in-sync replicas (default true). */
  acks?: 'all' | 'leader';
}

export interface Producer {
  send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]>;
  close(): Promise<void>;
  /** Kafka: keeps batches to `topic` within its max.message.bytes (batches of many small records included). */
  limitTopic?(topic: string, maxMessageBytes: number): void;
}

export type StartFrom = 'earliest' | 'latest';

export interface ConsumerOptions {
  /** Consumer group. Omit for an ephemeral reader that never commits (tail). */
  group?: string;
  topics: string[];
  /** Where to start when the group has no committed offset. Default 'earliest'. */
  startFrom?: StartFrom;
  /** Upper bound of records returned by one poll. Default 500. */
  maxPollRecords?: number;
  /** Identifies this member in `groups` output. */
  clientId?: string;
}

export interface PollOptions {
  /** Longest time poll waits for at least one record. Default 1000 ms. 0 = return what is there. */
  timeoutMs?: number;
  maxRecords?: number;
}

/**
 * A pull consumer. Polling is the back-pressure: nothing is fetched beyond a small bounded buffer
 * until the caller asks for more.
 */
export interface Consumer {
  readonly group: string | undefined;
  poll(opts?: PollOptions): Promise<BusRecord[]>;
  /**
   * Commit offsets (next offset to read). With no argument, commits the position after the last record
   * returned by poll for every assigned partition.
   */
  commit(offsets?: TopicPartitionOffset[]): Promise<void>;
  /**
   * Move the read position of one partition; takes effect on the next poll. An offset past the log end is out
   * of range, and the next poll starts again from `startFrom` (Kafka's auto.offset.reset), never skipping ahead.
   */
  seek(tp: TopicPartitionOffset): Promise<void>;
  /** Move every assigned partition of `topic` to the first record with timestamp >= ts (end if none). */
  seekToTimestamp(topic: string, timestampMs: number): Promise<void>;
  /** Partitions this member owns right now. */
  assignment(): TopicPartition[];
  close(): Promise<void>;
}

export interface Admin {
  /** Kafka: the values the broker applies to a topic (its own setting, else the broker's) for these config names. */
  effectiveTopicConfig?(name: string, names: readonly string[]): Promise<Record<string, string>>;
  listTopics(): Promise<TopicInfo[]>;
  describeTopic(name: string): Promise<TopicInfo>;
  /** Returns false when it already existed. */
  createTopic(spec: TopicSpec): Promise<boolean>;
  /**
   * Makes sure every topic of `specs` exists: those missing are created together (on Kafka in one request, its
   * partitions led before it returns). Gives each topic's partition count, and whether this call created it.
   */
  ensureTopics(specs: readonly TopicSpec[]): Promise<Map<string, EnsuredTopic>>;
  deleteTopic(name: string): Promise<void>;
  /** For each partition, the first offset whose record timestamp >= ts (endOffset when none). */
  offsetsForTimestamp(topic: string, timestampMs: number): Promise<{ partition: number; offset: number }[]>;
  listGroups(): Promise<string[]>;
  groupLag(group: string): Promise<GroupPartitionLag[]>;
  close(): Promise<void>;
}

export interface Bus {
  readonly kind: 'kafka' | 'sqlite';
  /** The URL with any secret masked, for logs and status lines. */
  readonly displayUrl: string;
  producer(opts?: ProducerOptions): Promise<Producer>;
  consumer(opts: ConsumerOptions): Promise<Consumer>;
  admin(): Promise<Admin>;
  close(): Promise<void>;
}
