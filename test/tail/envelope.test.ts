/** The JSON envelope `tail` writes per record (src/tail/envelope.ts appendEnvelope, a line each): every line parses. */
import { describe, expect, test } from 'bun:test';
import { appendEnvelope, ByteOut, type EnvelopeRecord } from '../../src/tail/envelope';

const rec = (offset: number, timestamp: number | null): EnvelopeRecord => ({
  topic: 't',
  partition: 0,
  offset,
  timestamp,
  key: null,
  headers: {},
  value: Buffer.from('{"a":1}'),
});

describe('envelope', () => {
  test('timestamps: -1 (Kafka: none), repeated ones, null and epoch ms are written as themselves', () => {
    const stamps = [-1, -1, 5, 5, null, 1_736_812_800_123, 1_736_812_800_123, -1, 0];
    const out = new ByteOut();
    for (const [i, ts] of stamps.entries()) {
      appendEnvelope(out, rec(i, ts), { text: '{"a":1}', json: true }, false); // one line each
    }
    const lines = out.take().toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { timestamp: number | null }).timestamp)).toEqual(stamps);
  });
});
