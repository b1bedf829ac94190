/**
 * The judge: the same verdicts inline and in the worker (envelopes included), the Latin-1 fast path agreeing with
 * the exact path on non-ASCII names, and packing that keeps every byte.
 */
import { describe, expect, test } from 'bun:test';
import { openChecker } from '../../src/tail/checker';
import type { EnvelopeRecord } from '../../src/tail/envelope';
import { judgeBatch, judgeRecords, packBytes, packRecords, unpackBytes, unpackRecords, unpackValues } from '../../src/tail/judge';
import * as S from '../formats/corpus/good';

const VALUES: (string | Buffer | null)[] = [
  S.MAXWELL_INSERT,
  S.MAXWELL_DELETE,
  '{"database":"商城","table":"订单","type":"insert","ts":1736821234,"data":{"名字":"北京"}}',
  S.BIG_NUMBERS,
  '{"broken":',
  null,
  Buffer.from([0x7b, 0xff, 0x7d]),
  S.CANAL_INSERT,
  S.APPLOG_PAGE,
  'plain text',
];

function records(): EnvelopeRecord[] {
  // Values in shared memory like the Kafka reader's, and plain ones like the embedded bus's.
  return VALUES.map((v, i) => {
    let value: Buffer | null = v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
    if (value !== null && i % 2 === 0) {
      const shared = Buffer.from(new SharedArrayBuffer(value.length + 8));
      value.copy(shared, 4);
      value = shared.subarray(4, 4 + value.length);
    }
    return { topic: 'ods_db', partition: i % 3, offset: 100 + i, timestamp: i === 3 ? null : 1736821234000 + i, key: i === 1 ? Buffer.from('{"pk.id":1}') : null, headers: (i === 2 ? { h: 'v' } : {}) as Record<string, string>, value };
  });
}

describe('judge', () => {
  test('plain validation: kinds, problems, JSON flags', () => {
    const v = judgeBatch(records().map((r) => r.value), null);
    expect([...v.invalid]).toEqual([0, 0, 0, 0, 1, 1, 1, 0, 0, 1]);
    expect([...v.rejected]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...v.json]).toEqual([1, 1, 1, 1, 0, 0, 0, 1, 1, 0]);
    expect(v.problems.map((p) => p[0])).toEqual(['invalid JSON', 'null value', 'invalid UTF-8', 'invalid JSON']);
    // The Latin-1 fast path gives names back as UTF-8.
    expect(v.kinds).toContainEqual(['订单', 'insert']);
  });

  test('--etl with a non-ASCII database keeps its records', () => {
    const v = judgeBatch(records().map((r) => r.value), '商城');
    expect([...v.rejected]).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 0, 1]);
    expect(v.kinds).toEqual([['订单', 'insert'], ['applog', 'page']]);
    expect(v.problems[0]).toEqual(['wrong database', 'wrong database: database "gmall", expected "商城"']);
  });

  test('packing keeps every byte, shared or copied', () => {
    const recs = records();
    const p = packBytes(recs.map((r) => r.value));
    expect(p.shared.length).toBeGreaterThan(0);
    expect(p.bytes.length).toBeGreaterThan(0);
    const text = (list: (Uint8Array | null)[]) => list.map((b) => (b === null ? null : Buffer.from(b).toString('latin1')));
    expect(text(unpackBytes(p))).toEqual(text(recs.map((r) => r.value)));
    expect(text(unpackValues(packRecords(recs, { etl: null })))).toEqual(text(recs.map((r) => r.value)));
    const back = unpackRecords(packRecords(recs, { etl: null, envelope: { metaOnly: false } }));
    const plain = (r: EnvelopeRecord) => ({ ...r, key: r.key?.toString() ?? null, value: r.value?.toString('latin1') ?? null });
    expect(back.map(plain)).toEqual(recs.map(plain));
  });

  test('the worker gives the same verdicts as inline judging', async () => {
    const checker = openChecker(2);
    const deadline = Date.now() + 10_000;
    while (checker.depth < 5 && Date.now() < deadline) await Bun.sleep(20);
    expect(checker.depth).toBe(5);
    try {
      const text = (v: { out?: Uint8Array }) => ({ ...v, out: v.out && Buffer.from(v.out).toString() });
      for (const job of [{ etl: null }, { etl: 'gmall' }, { etl: '商城', envelope: { metaOnly: true } }, { etl: null, envelope: { metaOnly: false } }]) {
        expect(text(await checker.submit(records(), job))).toEqual(text(judgeRecords(records(), job)));
      }
      // The envelopes the worker writes: exact values, non-JSON as strings, headers kept.
      const out = Buffer.from((await checker.submit(records(), { etl: null, envelope: { metaOnly: false } })).out!).toString();
      expect(out).toContain(`"value":${S.BIG_NUMBERS}}`);
      expect(out).toContain('"value":"plain text"}');
      expect(out).toContain('"headers":{"h":"v"}');
      expect(out.trim().split('\n')).toHaveLength(VALUES.length);
    } finally {
      checker.close();
    }
  });
});
