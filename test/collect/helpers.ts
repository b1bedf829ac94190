/** Shared bits of the ship log tests: temp dirs, reading a whole topic back, the real broker check. */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtwhError } from '../../src/errors';
import type { Bus, BusRecord } from '../../src/bus/types';

export const KAFKA_URL = process.env.RTWH_TEST_KAFKA ?? 'kafka://127.0.0.1:9092';

export function tempDir(prefix = 'rtwh-ship-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Topic names unique per run (Kafka keeps topics between runs). */
export function uniqueTopic(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Every record of a topic (all partitions, up to the end offsets seen now), in partition then offset order. */
export async function readTopic(bus: Bus, topic: string, waitMs = 30_000): Promise<BusRecord[]> {
  const admin = await bus.admin();
  let ends: Map<number, number>;
  try {
    const info = await admin.describeTopic(topic);
    ends = new Map(info.partitions.map((p) => [p.partition, p.endOffset]));
  } catch (e) {
    if (e instanceof RtwhError && e.code === 'TOPIC_NOT_FOUND') return [];
    throw e;
  } finally {
    await admin.close();
  }
  const want = [...ends.values()].reduce((a, b) => a + b, 0);
  if (want === 0) return [];
  const consumer = await bus.consumer({ topics: [topic], maxPollRecords: 5000 });
  const out: BusRecord[] = [];
  try {
    const deadline = Date.now() + waitMs;
    const done = () => [...ends].every(([p, end]) => end === 0 || out.some((r) => r.partition === p && r.offset === end - 1));
    while (!done() && Date.now() < deadline) out.push(...(await consumer.poll({ timeoutMs: 500, maxRecords: 5000 })));
  } finally {
    await consumer.close();
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export const text = (r: BusRecord): string => r.value?.toString('utf8') ?? '';

/** Fails (never skips) when the broker is down, saying how to start it. */
export async function requireKafka(): Promise<void> {
  const hosts = KAFKA_URL.replace(/^kafka:\/\//, '').split(',');
  const errors = await Promise.all(
    hosts.map(
      (hp) =>
        new Promise<string | null>((resolve) => {
          const i = hp.lastIndexOf(':');
          const s = connect({ host: hp.slice(0, i), port: Number(hp.slice(i + 1)) });
          const done = (err: string | null) => {
            clearTimeout(timer);
            s.destroy();
            resolve(err);
          };
          const timer = setTimeout(() => done('no answer within 3000 ms'), 3000);
          s.once('connect', () => done(null));
          s.once('error', (e) => done(e.message));
        }),
    ),
  );
  if (errors.every((e) => e !== null)) {
    throw new Error(`Kafka is not reachable at ${KAFKA_URL} (${errors.join('; ')}). Start it with \`scripts/stack.sh up\` (then \`source .stack/env\`), or set RTWH_TEST_KAFKA.`);
  }
}
