/**
 * A loopback TCP proxy in front of the test broker that a test can make slow or unreachable, without touching the
 * broker other test files use.
 *
 * Kafka clients connect to the bootstrap address only to ask for metadata, then to each broker's ADVERTISED address
 * (here the real broker's 127.0.0.1:9092): a plain proxy would be bypassed after the first request. So the proxy reads
 * the Kafka framing (int32 size, then the request header apiKey, apiVersion, correlationId) and rewrites the port in
 * the answers that name brokers — Metadata (apiKey 3, v0–v8, the ones kafkajs 2.2.4 speaks: v0–v6) and
 * FindCoordinator (apiKey 10, v0–v3) — to its own. Everything else passes byte for byte.
 *
 *   const p = await startKafkaProxy('127.0.0.1', 9092);
 *   p.url          // kafka://127.0.0.1:<port>
 *   p.stall()      // bytes are held in both directions (a broker that does not answer), connections stay open
 *   p.cut()        // every connection is reset and new ones are closed at once (broker unreachable)
 *   p.resume()     // held bytes flow, new connections are served again
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'stall' | 'down';

export interface KafkaProxy {
  readonly port: number;
  readonly url: string;
  readonly mode: ProxyMode;
  /** Connections accepted so far. */
  readonly accepted: number;
  stall(): void;
  cut(): void;
  resume(): void;
  close(): Promise<void>;
}

const METADATA = 3;
const FIND_COORDINATOR = 10;

/** Reads whole Kafka frames (int32 length + payload) out of a byte stream. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) break;
      out.push(this.buf.subarray(0, 4 + size));
      this.buf = this.buf.subarray(4 + size);
    }
    return out;
  }
}

/** Skips a STRING / NULLABLE_STRING (int16 length, -1 = null). */
function skipString(b: Buffer, at: number): number {
  const n = b.readInt16BE(at);
  return at + 2 + Math.max(0, n);
}

/** Rewrites, in place, the port of every broker named in a Metadata or FindCoordinator response frame. */
function rewritePorts(frame: Buffer, apiKey: number, version: number, from: number, to: number): void {
  let at = 8; // size, correlationId
  const fix = (portAt: number) => {
    if (frame.readInt32BE(portAt) === from) frame.writeInt32BE(to, portAt);
  };
  if (apiKey === METADATA) {
    if (version > 8) throw new Error(`kafka-proxy: Metadata v${version} (flexible) is not handled`);
    if (version >= 3) at += 4; // throttle_time_ms
    const brokers = frame.readInt32BE(at);
    at += 4;
    for (let i = 0; i < brokers; i++) {
      at += 4; // node_id
      at = skipString(frame, at); // host
      fix(at);
      at += 4;
      if (version >= 1) at = skipString(frame, at); // rack
    }
  } else if (apiKey === FIND_COORDINATOR) {
    if (version > 3) throw new Error(`kafka-proxy: FindCoordinator v${version} (flexible) is not handled`);
    if (version >= 1) at += 4; // throttle_time_ms
    at += 2; // error_code
    if (version >= 1) at = skipString(frame, at); // error_message
    at += 4; // node_id
    at = skipString(frame, at); // host
    fix(at);
  }
}

export async function startKafkaProxy(host: string, port: number): Promise<KafkaProxy> {
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  const pairs = new Set<{ client: Socket; upstream: Socket; held: { toUp: Buffer[]; toClient: Buffer[] } }>();
  let ownPort = 0;

  const server: Server = createServer((client) => {
    accepted++;
    if (mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    const held = { toUp: [] as Buffer[], toClient: [] as Buffer[] };
    const pair = { client, upstream, held };
    pairs.add(pair);
    /** correlationId → [apiKey, apiVersion] of requests waiting for their answer. */
    const asked = new Map<number, [number, number]>();
    const fromClient = new Framer();
    const fromBroker = new Framer();
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (chunk: Buffer) => {
      for (const frame of fromClient.push(chunk)) {
        asked.set(frame.readInt32BE(8), [frame.readInt16BE(4), frame.readInt16BE(6)]);
        if (mode === 'stall') held.toUp.push(frame);
        else upstream.write(frame);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of fromBroker.push(chunk)) {
        const id = frame.readInt32BE(4);
        const req = asked.get(id);
        asked.delete(id);
        if (req && (req[0] === METADATA || req[0] === FIND_COORDINATOR)) rewritePorts(frame, req[0], req[1], port, ownPort);
        if (mode === 'stall') held.toClient.push(frame);
        else client.write(frame);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  ownPort = (server.address() as { port: number }).port;

  return {
    port: ownPort,
    url: `kafka://127.0.0.1:${ownPort}`,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    stall() {
      mode = 'stall';
    },
    cut() {
      mode = 'down';
      for (const p of [...pairs]) {
        p.client.resetAndDestroy?.();
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
    },
    resume() {
      mode = 'pass';
      for (const p of pairs) {
        for (const f of p.held.toUp.splice(0)) p.upstream.write(f);
        for (const f of p.held.toClient.splice(0)) p.client.write(f);
      }
    },
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
