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
 * Protocol (postMessage): main → worker  open | send | close;  worker → main  ready | ack | error | closed.
 */
import { openBus } from '../bus/index';
import type { Bus, Producer } from '../bus/types';
import { toRtwhError } from '../errors';
import { sendChunks } from './outbox';
import { decodeRecordsBinary, type OutboxChunk } from './state-store';

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
  | { type: 'send'; id: number; chunks: WireChunk[] }
  | { type: 'close' };

export type FromForwarder = { type: 'ready' } | { type: 'ack'; id: number } | { type: 'error'; id: number; code: string; message: string } | { type: 'closed' };

declare const self: Worker;

let opened: Extract<ToForwarder, { type: 'open' }> | undefined;
let bus: Promise<Bus> | undefined;
let producer: Promise<Producer> | undefined;
const outstanding = new Set<Promise<void>>();
const post = (m: FromForwarder) => self.postMessage(m);

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
  const p = bus.then((b) => b.producer());
  producer = p;
  p.catch(() => {
    if (producer === p) producer = undefined;
  });
  return p;
}

function send(id: number, wire: WireChunk[]): Promise<void> {
  // Decoded where the producer is called (in arrival order too), so a damaged chunk is answered as an error.
  const decode = (): OutboxChunk[] => wire.map((w) => ({ id: 0, topic: w.topic, partition: w.partition, firstSeq: w.firstSeq, records: decodeRecordsBinary(w.bytes, w.producers) }));
  const p = theProducer().then((pr) => sendChunks(pr, decode()));
  return p.then(
    () => post({ type: 'ack', id }),
    (e: unknown) => {
      const err = toRtwhError(e);
      post({ type: 'error', id, code: err.code, message: err.message });
    },
  );
}

self.onmessage = (e: MessageEvent) => {
  const m = e.data as ToForwarder;
  switch (m.type) {
    case 'open':
      opened = m;
      return;
    case 'send': {
      // Called synchronously in arrival order: the producer numbers the calls in that order.
      const p = send(m.id, m.chunks);
      outstanding.add(p);
      void p.finally(() => outstanding.delete(p));
      return;
    }
    case 'close':
      void (async () => {
        await Promise.allSettled([...outstanding]);
        await producer?.then((p) => p.close()).catch(() => undefined);
        await bus?.then((b) => b.close()).catch(() => undefined);
        post({ type: 'closed' });
      })();
      return;
  }
};

post({ type: 'ready' });
