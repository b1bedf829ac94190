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

describe('--etl by the topic\'s role', () => {
  const SEED_MINIMAL = '{"common":{"mid":"m1"},"ts":1736841600000}';
  const NO_DURATION = S.APPLOG_PAGE.replace('"during_time":10267,', '');
  const VALUES = [
    S.APPLOG_START,
    SEED_MINIMAL,
    NO_DURATION,
    '{"common":{"mid":"m1"},"ts":1736841600}',
    '{"common":"m1","ts":1736841600000}',
    '{"common":{"mid":"m1"},"ts":"1736841600000"}',
    '{"page":{"page_id":"home"},"ts":1736841600000}',
    S.MAXWELL_INSERT,
    S.MAXWELL_BOOTSTRAP_INSERT,
    S.DEBEZIUM_CREATE,
    '[1]',
    '{"common":',
  ].map((s) => Buffer.from(s));
  const reasons = (v: ReturnType<typeof judgeBatch>) => [...v.problemAt].map((i, j) => [i, v.problems[j]![1]]);

  test('log (ods_log): every JSON object with an object common and a numeric ts is kept; the rest is not an app log', () => {
    const v = judgeBatch(VALUES, 'gmall', { role: 'log' });
    expect([...v.rejected]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(reasons(v)).toEqual([
      [4, 'not an app log: common: expected an object, got string "m1"'],
      [5, 'not an app log: ts: expected a number, got string "1736841600000"'],
      [6, 'not an app log: common: expected an object, got nothing'],
      [7, 'not an app log: common: expected an object, got nothing'],
      [8, 'not an app log: common: expected an object, got nothing'],
      [9, 'not an app log: common: expected an object, got nothing; ts: expected a number, got nothing'],
      [10, 'not an app log: (record): expected a JSON object, got an array'],
      [11, v.problems[7]![1]],
    ]);
    expect(v.problems[7]![1]).toStartWith('invalid JSON: ');
    // What the app-log format finds beyond the ETL's rule: warnings on kept records, not rejections.
    expect([...v.warnAt]).toEqual([1, 2, 3]);
    expect(v.warnings).toEqual([
      ['invalid applog', 'invalid applog: start, page: expected one of them, got neither'],
      ['invalid applog', 'invalid applog: page.during_time: expected a whole number >= 0, got nothing'],
      ['invalid applog', 'invalid applog: ts: expected epoch milliseconds (13 digits), got number 1736841600; start, page: expected one of them, got neither'],
    ]);
    expect([...v.kind].slice(0, 4).map((k) => v.kinds[k])).toEqual([['applog', 'start'], ['applog', 'other'], ['applog', 'page'], ['applog', 'other']]);
    expect(v.retype.length).toBe(0);
  });

  test('db (ods_db): app logs are the wrong format; rows as before, a bootstrap-insert marked for its edit', () => {
    const v = judgeBatch(VALUES, 'gmall', { role: 'db' });
    expect([...v.rejected]).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1]);
    expect(v.problems[0]![1]).toStartWith('wrong format: an app log, not a row change');
    expect(v.problems.map((p) => p[0])).toEqual(['wrong format', 'wrong format', 'wrong format', 'wrong format', 'wrong format', 'wrong format', 'wrong format', 'unknown format', 'invalid JSON']);
    const b = S.MAXWELL_BOOTSTRAP_INSERT.indexOf('"bootstrap-insert"');
    expect([...v.retype]).toEqual([8, b, b + '"bootstrap-insert"'.length]);
    expect(v.warnAt.length).toBe(0);
  });

  test('auto (other topics, files): each record by its format; the general path marks the same edit as the scanner', () => {
    const v = judgeBatch(VALUES, 'gmall', { role: 'auto' });
    expect([...v.rejected]).toEqual([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1]);
    expect([...v.warnAt]).toEqual([1, 2, 3]);
    expect([...judgeBatch(VALUES, 'gmall', { role: 'auto', scan: false }).retype]).toEqual([...v.retype]);
    // Without --etl nothing is edited and the app-log format is checked as before.
    const plain = judgeBatch(VALUES, null);
    expect(plain.retype.length).toBe(0);
    expect(plain.problems.find((p) => p[1].includes('neither'))?.[1]).toBe('invalid applog: start, page: expected one of them, got neither');
  });

  test('the worker: same verdicts with a role, and the edited envelope', async () => {
    const checker = openChecker(1);
    const deadline = Date.now() + 10_000;
    while (checker.depth < 3 && Date.now() < deadline) await Bun.sleep(20);
    try {
      const recs: EnvelopeRecord[] = VALUES.map((value, offset) => ({ topic: 'ods_log', partition: 0, offset, timestamp: null, key: null, headers: {}, value }));
      for (const job of [{ etl: 'gmall', role: 'log' as const }, { etl: 'gmall', role: 'db' as const, envelope: { metaOnly: false } }]) {
        const text = (v: { out?: Uint8Array }) => ({ ...v, out: v.out && Buffer.from(v.out).toString() });
        expect(text(await checker.submit(recs, job))).toEqual(text(judgeRecords(recs, job)));
      }
      const out = Buffer.from(judgeRecords(recs, { etl: 'gmall', role: 'db', envelope: { metaOnly: false } }).out!).toString();
      expect(out).toContain(`"value":${S.MAXWELL_BOOTSTRAP_INSERT.replace('"bootstrap-insert"', '"insert"')}}`);
    } finally {
      checker.close();
    }
  });
});
