/**
 * The single-pass Maxwell scanner (scan-maxwell.ts) against the general path: judgeBatch with and without it must
 * give the same verdicts — every typed array, kind and reason — over hand-made records, generated records and
 * thousands of mutations of them (bytes changed, cut, inserted), with and without an ETL database. And the
 * scanner must actually answer for the common records (else the comparison would prove nothing).
 */
import { describe, expect, test } from 'bun:test';
import { judgeBatch, type Verdicts } from '../../src/tail/judge';
import { MaxwellScanner, VALID } from '../../src/tail/scan-maxwell';
import * as S from '../formats/corpus/good';

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HAND: string[] = [
  S.MAXWELL_INSERT,
  S.MAXWELL_UPDATE,
  S.MAXWELL_DELETE,
  S.MAXWELL_BOOTSTRAP_START,
  S.MAXWELL_BOOTSTRAP_INSERT,
  S.MAXWELL_DDL,
  S.BIG_NUMBERS,
  S.CANAL_INSERT,
  S.DEBEZIUM_CREATE,
  S.APPLOG_PAGE,
  '{"database":"商城","table":"订单","type":"insert","ts":1736821234,"data":{"名字":"北京"}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234.0,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1.736821234e9,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"data":{"a":2}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"xoffset":1,"commit":true,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"commit":false,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"update","ts":1736821234,"data":{"a":1,"b":2},"old":{"b":1}}',
  '{"database":"gmall","table":"t","type":"update","ts":1736821234,"data":{"a":1},"old":{"b":1}}',
  '{"database":"gmall","table":"t","type":"update","ts":1736821234,"data":{"a":1},"old":{"toString":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"old":{"a":0}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"j":{"x":[1,2,{"y":null}],"z":"\\u00e9\\n"}}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"es":1}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":[{"a":"1"}]}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"position":"mysql-bin.000001:4","gtid":null,"server_id":1,"thread_id":7,"schema_id":3,"push_ts":1736821234,"comment":"","primary_key_columns":["a"]}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"position":"","gtid":""}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},"primary_key_columns":["a",1]}',
  '{"database":"other","table":"t","type":"insert","ts":1736821234,"data":{"a":1}}',
  '{"database":"gm\\u0061ll","table":"t","type":"insert","ts":1736821234,"data":{"a":1}}',
  '{"database":"gmall","table":"t\\u0031","type":"insert","ts":1736821234,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"table-create","ts":1736821234000,"sql":"create table t (a int)","def":{}}',
  ' \r\n{ "database" : "gmall" ,\n"table":"t", "type":"insert","ts":1736821234,"data":{ "a" : [ 1 , 2 ] } }\n ',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":-0.5e+3,"b":0,"c":-0,"d":1E5,"e":true,"f":false,"g":null}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":01}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1.}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":"\\x"}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"xid":123456789012345678901,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"xid":1234567890123456,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"xid":-1,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":999999999,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234123,"data":{"a":1}}',
  `{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":${'['.repeat(40)}${']'.repeat(40)}}}`,
  '{"__proto__":{},"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"__proto__":1}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":"tab\there"}}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1}} x',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1},}',
  '{"database":"gmall","table":"t","type":"insert","ts":1736821234,"data":{"a":1,}}',
];

const TABLES = ['order_info', 'order_detail', 'user_info', '商品', 'sku_info'];
const TYPES = ['insert', 'update', 'delete', 'bootstrap-insert', 'bootstrap-start', 'table-alter', 'Insert'];
const STRINGS = ['', 'abc', '小米12S Ultra 骁龙8+', 'q"uote', 'back\\slash', 'line\nbreak', '\u0001', 'tab\t', '😀', '\u00e9'];

/** A Maxwell-like record with random fields, values and order. */
function generated(r: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const val = (depth = 0): unknown => {
    const k = r();
    if (k < 0.3) return pick(STRINGS);
    if (k < 0.55) return Math.floor(r() * 1e6);
    if (k < 0.65) return r() < 0.5 ? null : r() < 0.5;
    if (k < 0.75) return JSON.parse(`${(r() * 1e4).toFixed(2)}`);
    if (k < 0.8 && depth < 3) return { x: val(depth + 1), y: [val(depth + 1)] };
    return `${Math.floor(r() * 1e8)}`;
  };
  const data: Record<string, unknown> = {};
  const cols = Math.floor(r() * 8);
  for (let i = 0; i < cols; i++) data[`c${Math.floor(r() * 10)}`] = val();
  const o: Record<string, unknown> = {
    database: r() < 0.85 ? 'gmall' : pick(['gmall2022', '', 'other']),
    table: pick(TABLES),
    type: pick(TYPES),
    ts: r() < 0.9 ? 1736821234 + Math.floor(r() * 1e6) : pick([1736821234000, 12, -5, '1736821234']),
  };
  if (r() < 0.7) o.xid = Math.floor(r() * 1e7);
  if (r() < 0.5) o.xoffset = Math.floor(r() * 5);
  else if (r() < 0.5) o.commit = r() < 0.9;
  if (r() < 0.95) o.data = r() < 0.05 ? [] : data;
  if (r() < 0.3) {
    const old: Record<string, unknown> = {};
    const keys = Object.keys(data);
    if (keys.length > 0) old[pick(keys)] = val();
    if (r() < 0.2) old.zz = 1;
    o.old = old;
  }
  if (r() < 0.1) o.position = pick(['mysql-bin.000003:1234', '']);
  if (r() < 0.1) o.gtid = pick([null, 'abc', '', 3]);
  if (r() < 0.1) o.primary_key_columns = pick([['id'], [], ['id', 2]]);
  if (r() < 0.05) o.extra = 1;
  // Random member order.
  const entries = Object.entries(o);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  return r() < 0.1 ? text.replace(/,/g, ' ,\n ') : text;
}

const SPECIAL = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x30, 0x39, 0x2e, 0x65, 0x2d, 0x20, 0x0a, 0x01, 0x74, 0x6e, 0x80, 0xe4, 0xff];

/** The record with one to three bytes changed, inserted, removed, or the end cut. */
function mutated(b: Buffer, r: () => number): Buffer {
  let out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n && out.length > 0; k++) {
    const at = Math.floor(r() * out.length);
    const byte = r() < 0.7 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : Math.floor(r() * 256);
    const m = r();
    if (m < 0.4) out[at] = byte;
    else if (m < 0.7) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
    else if (m < 0.9) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else out = out.subarray(0, at);
  }
  return out;
}

function plain(v: Verdicts): unknown {
  return {
    rejected: [...v.rejected],
    invalid: [...v.invalid],
    json: [...v.json],
    format: [...v.format],
    kind: [...v.kind].map((k) => (k < 0 ? null : v.kinds[k])),
    problemAt: [...v.problemAt],
    problems: v.problems,
    warnAt: [...v.warnAt],
    warnings: v.warnings,
    // Where the ETL's edit of a bootstrap-insert goes: the scanner's place and typeToken's must be the same bytes.
    retype: [...v.retype],
  };
}

/** Both paths over the values, with and without an ETL database; returns how many records the scanner took. */
function compare(values: Buffer[], databases: (string | null)[] = ['gmall', null, '商城']): number {
  let taken = 0;
  const sc = new MaxwellScanner();
  for (const db of databases) {
    const fast = judgeBatch(values, db);
    const general = judgeBatch(values, db, { scan: false });
    expect(plain(fast)).toEqual(plain(general));
    const dbBytes = db === null ? null : Buffer.from(db);
    for (const v of values) if (v.length > 0 && Buffer.from(v).toString('utf8') === v.toString() && sc.scan(v, 0, v.length, dbBytes) === VALID) taken++;
  }
  return taken;
}

describe('scan-maxwell: same verdicts as the general path', () => {
  test('hand-made records, and the scanner takes the common ones', () => {
    const values = HAND.map((s) => Buffer.from(s));
    compare(values);
    const sc = new MaxwellScanner();
    const db = Buffer.from('gmall');
    for (const s of [S.MAXWELL_INSERT, S.MAXWELL_UPDATE, S.MAXWELL_BOOTSTRAP_INSERT]) {
      const b = Buffer.from(s);
      expect(sc.scan(b, 0, b.length, db)).toBe(VALID);
    }
    const d = Buffer.from(S.MAXWELL_DELETE);
    expect(sc.scan(d, 0, d.length, null)).toBe(VALID);
    // The ETL rejects deletes: the general path says why.
    expect(sc.scan(d, 0, d.length, db)).not.toBe(VALID);
  });

  test('a record inside a larger buffer is judged on its own bytes', () => {
    const rec = Buffer.from(S.MAXWELL_INSERT);
    const big = Buffer.concat([Buffer.from('{"x":'), rec, Buffer.from('}}}}')]);
    const sc = new MaxwellScanner();
    expect(sc.scan(big, 5, 5 + rec.length, Buffer.from('gmall'))).toBe(VALID);
    expect(sc.scan(big, 5, 5 + rec.length - 1, Buffer.from('gmall'))).not.toBe(VALID);
    // Values in shared memory, like the Kafka reader's.
    const shared = Buffer.from(new SharedArrayBuffer(rec.length + 10)).subarray(5, 5 + rec.length);
    rec.copy(shared);
    compare([shared, rec]);
  });

  test('20,000 generated records', () => {
    const r = rng(7);
    const values: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) values.push(Buffer.from(generated(r)));
    const taken = compare(values);
    expect(taken).toBeGreaterThan(1000);
    // Both comparisons: ~2.5 s alone, 7 s seen on a loaded machine (past bun's default 5 s without --timeout).
  }, 60_000);

  test('30,000 mutations of valid records', () => {
    const r = rng(11);
    const seeds = [S.MAXWELL_INSERT, S.MAXWELL_UPDATE, S.MAXWELL_BOOTSTRAP_INSERT, ...HAND.slice(10, 26)].map((s) => Buffer.from(s));
    for (let i = 0; i < 200; i++) seeds.push(Buffer.from(generated(r)));
    const values: Buffer[] = [];
    for (let i = 0; i < 30_000; i++) values.push(mutated(seeds[i % seeds.length]!, r));
    const taken = compare(values);
    expect(taken).toBeGreaterThan(100);
  }, 60_000);
});
