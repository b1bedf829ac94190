/**
 * The producing side of cdc in its own thread. Decoding the binlog and writing JSON keep one core busy; producing
 * (SQLite inserts, or record batches and Kafka requests) is as much work again, so it runs here and the two
 * overlap. Batches are produced strictly in the order they arrive; after a failure every later batch is refused
 * ("skipped") until the main thread says `reset`, so a retry re-sends them in order and a partition never sees
 * a later batch before an earlier one.
 *
 * On Kafka the batches are handed to the producer without waiting for the one before (the writer keeps several in
 * flight): the producer numbers them in arrival order, keeps several requests in flight, settles them in order, and
 * (made fail-stop: sink.ts failStop) when one fails, fails the ones behind it that it had not written, which are
 * answered here as skipped. The sqlite producer is driven one batch at a time.
 *
 * Protocol (postMessage): main → worker  open | send | reset | close;  worker → main  ready | ack | error | skipped | closed.
 */
import { openBus } from '../../bus/index';
import type { Bus, ProduceMessage, Producer, ProducerOptions } from '../../bus/types';
import { toRtwhError } from '../../errors';
import { failStop } from './sink';

export type ToWorker =
  | { type: 'open'; url: string; cwd: string; clientId?: string; producer?: ProducerOptions; topic: string; maxMessageBytes?: number }
  /**
   * Records as UTF-8 in one buffer; offsets per record: key start, key end (-1 = null key), value end. No
   * timestamps: the worker stamps the batch with the time it hands it to the producer.
   */
  | { type: 'send'; id: number; bytes: Uint8Array; offsets: Int32Array; partitions: Int32Array }
  | { type: 'reset' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  /** `buffer`: the batch's bytes handed back (transferred) for the next batch, so that memory stays mapped. */
  | { type: 'ack'; id: number; buffer?: ArrayBuffer }
  | { type: 'error'; id: number; code: string; message: string }
  | { type: 'skipped'; id: number }
  | { type: 'closed' };

declare const self: Worker;

let bus: Bus | undefined;
let producer: Producer | undefined;
/** The producer is Kafka's, fail-stop: batches go without waiting for the one before. */
let pipelined = false;
let topic = '';
let producerOptions: ProducerOptions | undefined;
let maxMessageBytes: number | undefined;
let failed = false;
let openError: { code: string; message: string } | undefined;
let chain: Promise<void> = Promise.resolve();
/** Sends handed to the Kafka producer and not settled yet. */
const outstanding = new Set<Promise<void>>();

const post = (m: FromWorker) => self.postMessage(m);

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'open':
      topic = m.topic;
      producerOptions = m.producer;
      maxMessageBytes = m.maxMessageBytes;
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
      // CreateTime = now, as Maxwell's producer: the binlog (business) time stays in the value's ts.
      const timestamp = Date.now();
      for (let i = 0; i < n; i++) {
        const start = m.offsets[i * 3]!;
        const keyEnd = m.offsets[i * 3 + 1]!;
        const valueStart = keyEnd < 0 ? start : keyEnd;
        messages[i] = {
          key: keyEnd < 0 ? null : buf.subarray(start, keyEnd),
          value: buf.subarray(valueStart, m.offsets[i * 3 + 2]!),
          partition: m.partitions[i]!,
          timestamp,
        };
      }
      try {
        if (!producer) {
          producer = await bus.producer(producerOptions);
          if (maxMessageBytes !== undefined) producer.limitTopic?.(topic, maxMessageBytes);
          pipelined = failStop(producer);
        }
      } catch (e) {
        failed = true;
        const err = toRtwhError(e);
        post({ type: 'error', id: m.id, code: err.code, message: err.message });
        return;
      }
      const sent = producer.send(topic, messages).then(
        () => {
          // The producer is done with the records' bytes (written into its request, acknowledged).
          const buffer = m.bytes.buffer;
          if (buffer instanceof ArrayBuffer) self.postMessage({ type: 'ack', id: m.id, buffer } satisfies FromWorker, [buffer]);
          else post({ type: 'ack', id: m.id });
        },
        (e: unknown) => {
          if (failed) {
            // Behind the batch that failed: not written, sent again after the reset.
            post({ type: 'skipped', id: m.id });
            return;
          }
          failed = true;
          const err = toRtwhError(e);
          post({ type: 'error', id: m.id, code: err.code, message: err.message });
        },
      );
      // Kafka: the next batch may go while this one is on its way (see above).
      if (!pipelined) {
        await sent;
      } else {
        outstanding.add(sent);
        void sent.finally(() => outstanding.delete(sent));
      }
      return;
    }
    case 'reset':
      await Promise.all(outstanding);
      failed = false;
      // A producer that failed may hold a broken connection: the retry gets a fresh one.
      await producer?.close().catch(() => undefined);
      producer = undefined;
      return;
    case 'close':
      await Promise.all(outstanding);
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
