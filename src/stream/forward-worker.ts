/**
 * Forwarding of committed outbox chunks in a worker thread (forward-thread.ts is the other side). A job's thread
 * polls, runs the logic and commits; turning its outputs into record batches and Kafka requests is as much work
 * again, so it runs here and the two overlap on two cores.
 *
 * One producer serves every job of the process. Each `send` is a producer call per topic made in arrival order, so
 * per partition the bus sees the chunks in the order the jobs committed them (the Kafka producer keeps the call
 * order of concurrent sends per partition); each is answered `ack` or `error` once the bus answered. A failed send
 * fails alone, as with a producer in the job's thread: the job then reads the tails and re-sends what is missing.
 *
 * A job may also hand its state file over (store-open): its commits then come here too (commit), are written in
 * arrival order, and the chunks of each are sent once its transaction is done — so the job's thread neither waits
 * for SQLite nor for the bus. A commit that fails leaves the file as the last good one and refuses every later
 * commit of that file (each builds on the one before); the job stops on the error and a restart goes on from there.
 *
 * A commit may come `hold`: written, and its chunks not sent (one holds a record over its topic's limit: limits.ts;
 * they stay in the outbox). `limit` tells the producer a topic's max.message.bytes, so that batches of many records
 * stay under it (KafkaProducer.limitTopic).
 *
 * Protocol (postMessage): main → worker  open | limit | send | store-open | commit | store-close | close;
 * worker → main  ready | ack | error | closed.
 */
import { openBus } from '../bus/index';
import type { Bus, Producer } from '../bus/types';
import { q, RtwhError, rtwhError, toRtwhError } from '../errors';
import { sendChunks } from './outbox';
import { StateStore, type OutboxChunk, type WireCommit } from './state-store';

/** A chunk as it travels: its stored bytes (encodeRecordsBinary) and the producer names they index. */
export interface WireChunk {
  topic: string;
  partition: number;
  firstSeq: number;
  producers: readonly string[];
  bytes: Uint8Array;
}

export type ToForwarder =
  | { type: 'open'; url: string; cwd: string; clientId?: string }
  | { type: 'limit'; topic: string; maxMessageBytes: number }
  | { type: 'send'; id: number; chunks: WireChunk[] }
  | { type: 'store-open'; id: number; sid: number; path: string; job: string; bus: string }
  | { type: 'commit'; id: number; sid: number; commit: WireCommit; hold?: boolean }
  | { type: 'store-close'; id: number; sid: number }
  | { type: 'close' };

export type FromForwarder = { type: 'ready' } | { type: 'ack'; id: number } | { type: 'error'; id: number; code: string; message: string } | { type: 'closed' };

declare const self: Worker;

let opened: Extract<ToForwarder, { type: 'open' }> | undefined;
let bus: Promise<Bus> | undefined;
let producer: Promise<Producer> | undefined;
const outstanding = new Set<Promise<void>>();
const post = (m: FromForwarder) => self.postMessage(m);
const postError = (id: number, e: unknown) => {
  const err = toRtwhError(e);
  post({ type: 'error', id, code: err.code, message: err.message });
};

/** Topics' max.message.bytes as the jobs read them: given to the producer (limitTopic), also to one made later. */
const limits = new Map<string, number>();

function applyLimits(p: Producer, only?: string): void {
  if (!p.limitTopic) return;
  for (const [topic, bytes] of limits) if (only === undefined || topic === only) p.limitTopic(topic, bytes);
}

/** State files handed over by jobs, and the error that ended the commits of one. */
const stores = new Map<number, { store: StateStore; failed?: RtwhError }>();

function commit(id: number, sid: number, w: WireCommit, hold: boolean): void {
  const s = stores.get(sid);
  if (!s) return postError(id, new RtwhError('INTERNAL', `state file ${sid} is not open in the forwarding thread`));
  if (s.failed) return postError(id, s.failed);
  try {
    s.store.write(w);
  } catch (e) {
    s.failed = e instanceof RtwhError ? e : rtwhError('JOB_STATE', `cannot write the state file ${q(s.store.path)}: ${(e as Error).message}`, { cause: e });
    return postError(id, s.failed);
  }
  if (w.chunks.length === 0 || hold) return post({ type: 'ack', id });
  track(send(id, w.chunks));
}

function track(p: Promise<void>): void {
  outstanding.add(p);
  void p.finally(() => outstanding.delete(p));
}

/** The producer, made on first use; a bus or producer that could not be made is tried again by the next send. */
function theProducer(): Promise<Producer> {
  if (producer) return producer;
  if (!bus) {
    const o = opened!;
    const b = openBus(o.url, { cwd: o.cwd, ...(o.clientId ? { clientId: o.clientId } : {}) });
    bus = b;
    b.catch(() => {
      if (bus === b) bus = undefined;
    });
  }
  const p = bus.then(async (b) => {
    const made = await b.producer();
    applyLimits(made);
    return made;
  });
  producer = p;
  p.catch(() => {
    if (producer === p) producer = undefined;
  });
  return p;
}

function send(id: number, wire: WireChunk[]): Promise<void> {
  // Decoded where the producer is called (in arrival order too), so a damaged chunk is answered as an error.
  const chunks = (): OutboxChunk[] =>
    wire.map((w) => ({ id: 0, topic: w.topic, partition: w.partition, firstSeq: w.firstSeq, records: [], stored: { bytes: w.bytes, producers: w.producers } }));
  const p = theProducer().then((pr) => sendChunks(pr, chunks()));
  return p.then(
    () => post({ type: 'ack', id }),
    (e: unknown) => postError(id, e),
  );
}

self.onmessage = (e: MessageEvent) => {
  const m = e.data as ToForwarder;
  switch (m.type) {
    case 'open':
      opened = m;
      return;
    case 'limit':
      limits.set(m.topic, m.maxMessageBytes);
      // A producer being made gets it when made; one made already now (before any send posted after this).
      void producer?.then((p) => applyLimits(p, m.topic)).catch(() => undefined);
      return;
    case 'send':
      // Called synchronously in arrival order: the producer numbers the calls in that order.
      track(send(m.id, m.chunks));
      return;
    case 'store-open':
      try {
        stores.set(m.sid, { store: StateStore.open(m.path, m.job, m.bus) });
        post({ type: 'ack', id: m.id });
      } catch (e) {
        postError(m.id, e);
      }
      return;
    case 'commit':
      commit(m.id, m.sid, m.commit, m.hold === true);
      return;
    case 'store-close': {
      const s = stores.get(m.sid);
      stores.delete(m.sid);
      try {
        s?.store.close();
        post({ type: 'ack', id: m.id });
      } catch (e) {
        postError(m.id, e);
      }
      return;
    }
    case 'close':
      void (async () => {
        await Promise.allSettled([...outstanding]);
        for (const s of stores.values()) s.store.close();
        stores.clear();
        await producer?.then((p) => p.close()).catch(() => undefined);
        await bus?.then((b) => b.close()).catch(() => undefined);
        post({ type: 'closed' });
      })();
      return;
  }
};

post({ type: 'ready' });
