/**
 * The producing side of cdc in its own thread. Decoding the binlog and writing JSON keep one core busy; producing
 * (SQLite inserts, or kafkajs batching and compression) is as much work again, so it runs here and the two
 * overlap. Batches are produced strictly in the order they arrive; after a failure every later batch is refused
 * ("skipped") until the main thread says `reset`, so a retry re-sends them in order and a partition never sees
 * a later batch before an earlier one.
 *
 * Protocol (postMessage): main → worker  open | send | reset | close;  worker → main  ready | ack | error | skipped | closed.
 */
import { openBus } from '../../bus/index';
import type { Bus, ProduceMessage, Producer, ProducerOptions } from '../../bus/types';
import { toRtwhError } from '../../errors';

export type ToWorker =
  | { type: 'open'; url: string; cwd: string; clientId?: string; producer?: ProducerOptions; topic: string }
  /** Records as UTF-8 in one buffer; offsets per record: key start, key end (-1 = null key), value end. */
  | { type: 'send'; id: number; bytes: Uint8Array; offsets: Int32Array; partitions: Int32Array; timestamps: Float64Array }
  | { type: 'reset' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; id: number }
  | { type: 'error'; id: number; code: string; message: string }
  | { type: 'skipped'; id: number }
  | { type: 'closed' };

declare const self: Worker;

let bus: Bus | undefined;
let producer: Producer | undefined;
let topic = '';
let producerOptions: ProducerOptions | undefined;
let failed = false;
let openError: { code: string; message: string } | undefined;
let chain: Promise<void> = Promise.resolve();

const post = (m: FromWorker) => self.postMessage(m);

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'open':
      topic = m.topic;
      producerOptions = m.producer;
      try {
        bus = await openBus(m.url, { cwd: m.cwd, ...(m.clientId ? { clientId: m.clientId } : {}) });
      } catch (e) {
        const err = toRtwhError(e);
        openError = { code: err.code, message: err.message };
      }
      return;
    case 'send': {
      if (openError) {
        post({ type: 'error', id: m.id, ...openError });
        return;
      }
      if (failed || !bus) {
        post({ type: 'skipped', id: m.id });
        return;
      }
      const n = m.partitions.length;
      const messages: ProduceMessage[] = new Array(n);
      const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      for (let i = 0; i < n; i++) {
        const start = m.offsets[i * 3]!;
        const keyEnd = m.offsets[i * 3 + 1]!;
        const valueStart = keyEnd < 0 ? start : keyEnd;
        messages[i] = {
          key: keyEnd < 0 ? null : buf.subarray(start, keyEnd),
          value: buf.subarray(valueStart, m.offsets[i * 3 + 2]!),
          partition: m.partitions[i]!,
          timestamp: m.timestamps[i]!,
        };
      }
      try {
        producer ??= await bus.producer(producerOptions);
        await producer.send(topic, messages);
        post({ type: 'ack', id: m.id });
      } catch (e) {
        failed = true;
        const err = toRtwhError(e);
        post({ type: 'error', id: m.id, code: err.code, message: err.message });
      }
      return;
    }
    case 'reset':
      failed = false;
      // A producer that failed may hold a broken connection: the retry gets a fresh one.
      await producer?.close().catch(() => undefined);
      producer = undefined;
      return;
    case 'close':
      await producer?.close().catch(() => undefined);
      producer = undefined;
      await bus?.close().catch(() => undefined);
      bus = undefined;
      post({ type: 'closed' });
      return;
  }
}

self.onmessage = (e: MessageEvent) => {
  const m = e.data as ToWorker;
  chain = chain.then(() => handle(m)).catch((err: unknown) => {
    const r = toRtwhError(err);
    if (m.type === 'send') post({ type: 'error', id: m.id, code: r.code, message: r.message });
  });
};

post({ type: 'ready' });
