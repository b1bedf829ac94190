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
 *   p.refuseNextProduce(6, 300)  // the next Produce request (v3–v7) is not passed on: after 300 ms the proxy
 *                                // answers it itself with error code 6 (NOT_LEADER_OR_FOLLOWER) for each partition
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
  refuseNextProduce(errorCode: number, delayMs: number): void;
  /** Produce requests answered by refuseNextProduce so far. */
  readonly refused: number;
  close(): Promise<void>;
}

const PRODUCE = 0;
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

/**
 * The answer to a Produce request frame (v3–v7) refusing every partition in it with `errorCode`: the request is
 * header (api key, version, correlation id, client id), transactional id, acks, timeout, then topics × partitions
 * each with its record bytes; the answer lists the same topics and partitions with the error, offsets -1.
 */
function refusal(request: Buffer, errorCode: number): Buffer {
  const version = request.readInt16BE(6);
  if (version < 3 || version > 7) throw new Error(`kafka-proxy: Produce v${version} is not handled`);
  let at = skipString(request, 12); // size, apiKey, apiVersion, correlationId, client id
  at = skipString(request, at) + 2 + 4; // transactional id, acks, timeout
  const topics: Array<{ name: Buffer; partitions: number[] }> = [];
  const nTopics = request.readInt32BE(at);
  at += 4;
  for (let t = 0; t < nTopics; t++) {
    const end = skipString(request, at);
    const name = request.subarray(at, end);
    at = end;
    const partitions: number[] = [];
    const n = request.readInt32BE(at);
    at += 4;
    for (let i = 0; i < n; i++) {
      partitions.push(request.readInt32BE(at));
      at += 4;
      at += 4 + Math.max(0, request.readInt32BE(at)); // records
    }
    topics.push({ name, partitions });
  }
  const perPartition = 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0);
  const size = 4 + 4 + topics.reduce((n, t) => n + t.name.length + 4 + t.partitions.length * perPartition, 0) + 4;
  const out = Buffer.alloc(4 + size);
  let w = out.writeInt32BE(size, 0);
  w = out.writeInt32BE(request.readInt32BE(8), w); // correlation id
  w = out.writeInt32BE(topics.length, w);
  for (const t of topics) {
    w += t.name.copy(out, w);
    w = out.writeInt32BE(t.partitions.length, w);
    for (const p of t.partitions) {
      w = out.writeInt32BE(p, w);
      w = out.writeInt16BE(errorCode, w);
      w = out.writeBigInt64BE(-1n, w); // base offset
      w = out.writeBigInt64BE(-1n, w); // log append time
      if (version >= 5) w = out.writeBigInt64BE(-1n, w); // log start offset
    }
  }
  out.writeInt32BE(0, w); // throttle time
  return out;
}

export async function startKafkaProxy(host: string, port: number): Promise<KafkaProxy> {
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  let refuse: { errorCode: number; delayMs: number } | null = null;
  let refused = 0;
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
        if (refuse !== null && frame.readInt16BE(4) === PRODUCE) {
          const answer = refusal(frame, refuse.errorCode);
          setTimeout(() => {
            refused++;
            client.write(answer);
          }, refuse.delayMs);
          refuse = null;
          continue;
        }
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
    get refused() {
      return refused;
    },
    refuseNextProduce(errorCode: number, delayMs: number) {
      refuse = { errorCode, delayMs };
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
