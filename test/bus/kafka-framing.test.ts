import { describe, expect, test } from 'bun:test';
import Encoder from 'kafkajs/src/protocol/encoder.js';
import { installProduceEncoder } from '../../src/bus/kafka/produce-request.ts';

installProduceEncoder();

/** kafkajs's request framing (protocol/request.js), loaded by name: it has no type declarations. */
async function frame(clientId: string, body: Encoder): Promise<Buffer> {
  const name = 'kafkajs/src/protocol/request.js';
  const { default: createRequest } = (await import(name)) as {
    default: (o: { correlationId: number; clientId: string; request: { apiKey: number; apiVersion: number; encode: () => Promise<Encoder> } }) => Promise<Encoder>;
  };
  const r = await createRequest({ correlationId: 4242, clientId, request: { apiKey: 0, apiVersion: 7, encode: async () => body } });
  framedInPlace = r.buf.buffer === body.buf.buffer;
  return Buffer.from(r.buffer);
}

/** Whether the last frame() wrote the header into the body's own buffer (no copy of the body). */
let framedInPlace = false;

/** The bytes Kafka expects: size, api key, api version, correlation id, client id, body. */
function expected(clientId: string, body: Buffer): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  head.writeInt32BE(2 + 2 + 4 + 2 + id.length + body.length, 0);
  head.writeInt16BE(0, 4);
  head.writeInt16BE(7, 6);
  head.writeInt32BE(4242, 8);
  head.writeInt16BE(id.length, 12);
  return Buffer.concat([head, id, body]);
}

/** A request body as encodeProduce() leaves it: room in front of its bytes. */
function bodyWithRoom(body: Buffer, room: number): Encoder {
  const whole = Buffer.alloc(room + body.length, 0xee);
  body.copy(whole, room);
  const enc = new Encoder(0) as Encoder & Record<symbol, number>;
  enc.buf = whole.subarray(room);
  enc.offset = body.length;
  enc[Symbol.for('rtwh.kafka.frontRoom')] = room;
  return enc;
}

describe('Produce request framing', () => {
  const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));

  test('with room in front the framed request is byte for byte what kafkajs writes by copying', async () => {
    for (const clientId of ['rtwh', 'rtwh-cdc-工作', 'x'.repeat(400)]) {
      const plain = new Encoder(0);
      plain.buf = Buffer.from(body);
      plain.offset = body.length;
      const copied = await frame(clientId, plain);
      expect(framedInPlace).toBe(false);
      const framed = await frame(clientId, bodyWithRoom(body, 512));
      expect(framedInPlace).toBe(true);
      expect(copied.equals(expected(clientId, body))).toBe(true);
      expect(framed.equals(expected(clientId, body))).toBe(true);
    }
  });

  test('a client id longer than the room takes the copy, with the same bytes', async () => {
    const clientId = 'y'.repeat(600);
    expect((await frame(clientId, bodyWithRoom(body, 512))).equals(expected(clientId, body))).toBe(true);
    expect(framedInPlace).toBe(false);
    expect((await frame('short', bodyWithRoom(body, 0))).equals(expected('short', body))).toBe(true);
    expect(framedInPlace).toBe(false);
  });
});
