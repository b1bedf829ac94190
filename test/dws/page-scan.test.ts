/**
 * pageLog's fast path (src/dws/page-scan.ts) against the JSON.parse path it replaces: over the page records `run dwd
 * log` writes from the mock log (2022 and 2023 formats) and over many mutations of them, pageLog must give the same
 * fields, the same ts observed, and the same dead-letter reason as the former pageLog (copied here as `reference`).
 */
import { describe, expect, test } from 'bun:test';
import { dwdLogJob } from '../../src/dwd/log';
import { emptyPageFields, scanPage, type PageFields } from '../../src/dws/page-scan';
import { pageLog } from '../../src/dws/traffic';
import { mockLogOptions } from '../../src/mock/log/options';
import { runMockLog } from '../../src/mock/log/run';
import { inputRecords, runInMemory } from '../../src/stream/engine';
import type { InputRecord, JobContext } from '../../src/stream/types';
import { kind } from '../../src/formats/validate-check';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

type Outcome = { dead: string; observed: number[] } | { fields: PageFields; observed: number[] };

function fakeCtx(): { ctx: JobContext; dead: string[]; observed: number[] } {
  const dead: string[] = [];
  const observed: number[] = [];
  const ctx = { deadLetter: (r: string) => void dead.push(r), observe: (ts: number) => void observed.push(ts) } as unknown as JobContext;
  return { ctx, dead, observed };
}

const rec = (value: string | null): InputRecord => ({ input: 'page', topic: 'dwd_traffic_page', partition: 0, offset: 0, timestamp: 0, key: null, value });

/** The pageLog of before the fast path, reading the same fields out of the parsed record. */
function reference(value: string | null): Outcome {
  const observed: number[] = [];
  let v: unknown;
  try {
    v = value === null ? null : JSON.parse(value);
  } catch {
    return { dead: '(record): not JSON', observed };
  }
  if (!isObj(v)) return { dead: '(record): not a JSON object', observed };
  if (!isObj(v.common)) return { dead: 'common: expected an object', observed };
  if (!isObj(v.page)) return { dead: 'page: expected an object', observed };
  const ts = v.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { dead: `ts: expected epoch milliseconds, got ${kind(ts)}`, observed };
  observed.push(ts);
  const c = v.common;
  const p = v.page;
  const fields: PageFields = {
    mid: c.mid,
    vc: c.vc,
    ch: c.ch,
    ar: c.ar,
    isNew: c.is_new,
    uid: c.uid,
    pageId: p.page_id,
    lastPageId: p.last_page_id,
    duringTime: p.during_time,
    item: p.item,
    itemType: p.item_type,
    ts,
  };
  return { fields, observed };
}

function actual(value: string | null): Outcome {
  const { ctx, dead, observed } = fakeCtx();
  const f = pageLog(rec(value), ctx);
  if (f === undefined) {
    expect(dead.length).toBe(1);
    return { dead: dead[0]!, observed };
  }
  expect(dead.length).toBe(0);
  return { fields: { ...f }, observed };
}

/** Same value: Object.is for primitives (0 and -0 differ), the JSON text for objects. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return Object.is(a, b);
}

let fast = 0;
let checked = 0;
const scratch = emptyPageFields();

function check(value: string | null): void {
  checked++;
  if (value !== null && scanPage(value, scratch)) fast++;
  const want = reference(value);
  const got = actual(value);
  const ok =
    'dead' in want
      ? 'dead' in got && got.dead === want.dead && got.observed.length === 0
      : 'fields' in got &&
        (Object.keys(want.fields) as (keyof PageFields)[]).every((k) => same(got.fields[k], want.fields[k])) &&
        got.observed.length === 1 &&
        Object.is(got.observed[0], want.observed[0]);
  if (!ok) throw new Error(`pageLog differs on ${JSON.stringify(value)}:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}

async function dwdPages(format: '2022' | '2023', seed: string): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  await runMockLog(mockLogOptions({ date: '2025-01-14', seed, format, startupCount: '300', maxMid: '500' }, undefined), { kind: 'stream', write: (b) => void chunks.push(b) });
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const r = await runInMemory(dwdLogJob, inputRecords('ods_log', 'ods_log', lines));
  return r.outputs.filter((o) => o.output === 'page').map((o) => String(o.value));
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const CHARS = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '\t', '\r', '\u0000', '\u001f', '\u007f', '0', '1', '9', '-', '+', '.', 'e', 'E', 'n', 'u', 'l', 't', 'f', 'a', 'é', '汉', '\ud800', '😀', '\ufeff', '\u2028'];

const VALUES = [
  '1e3', '1E3', '-0', '0', '1.0', '01', '-01', '00', '-', '+1', '.5', '5.', '1e', '-5', '1234567890123456', '123456789012345', '-123456789012345',
  '12345678901234567890', '1234567890123456789', '9999999999999999999', '-9007199254740993123', 'null', 'nul', 'true', 'false', '[]', '{}', '{"a":1}', '["x"]', '""', '"a\\nb"', '"\\u0041"', '"\\""', '"a\\\\b"',
  '"é汉😀"', '"\ud800"', '" x "', '"home"', '"search"', '"login"', '"keyword"', '"1"', 'NaN', 'Infinity', '"\t"', ' 1', '1 ',
];

const KEYS = ['mid', 'vc', 'ch', 'ar', 'is_new', 'uid', 'page_id', 'last_page_id', 'during_time', 'item', 'item_type', 'ts', 'common', 'page', 'md', '__proto__', 'constructor', 'toString', 'x'];

/** The text's JSON object, or undefined (an earlier mutation broke it). */
function parsed(s: string): Obj | undefined {
  try {
    const v: unknown = JSON.parse(s);
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** One random mutation of a record's text. */
function mutate(s: string, r: (n: number) => number): string {
  const at = r(s.length + 1);
  switch (r(12)) {
    case 0:
      return s.slice(0, at); // truncated
    case 1:
      return s.slice(0, at) + CHARS[r(CHARS.length)]! + s.slice(at); // a character inserted
    case 2:
      return s.slice(0, at) + s.slice(at + 1); // one deleted
    case 3:
      return s.slice(0, at) + CHARS[r(CHARS.length)]! + s.slice(at + 1); // one replaced
    case 4: {
      // a value replaced (the value after the n-th colon)
      const colons = [...s.matchAll(/:/g)].map((m) => m.index);
      if (colons.length === 0) return s;
      const c = colons[r(colons.length)]! + 1;
      let e = c;
      if (s[c] === '"') e = s.indexOf('"', c + 1) + 1;
      else if (s[c] === '{') e = s.indexOf('}', c) + 1;
      else while (e < s.length && !',}'.includes(s[e]!)) e++;
      return s.slice(0, c) + VALUES[r(VALUES.length)]! + s.slice(e);
    }
    case 5: {
      // a member added at the start or end of common or page, or at the top level (duplicates included)
      const member = `"${KEYS[r(KEYS.length)]}":${VALUES[r(VALUES.length)]}`;
      const where = r(5);
      if (where === 0) return s.replace('{"common":{', `{"common":{${member},`);
      if (where === 1) return s.replace('},"page":{', `,${member}},"page":{`);
      if (where === 2) return s.replace('"page":{', `"page":{${member},`);
      if (where === 3) return s.replace('},"ts":', `,${member}},"ts":`);
      return s.slice(0, -1) + `,${member}}`;
    }
    case 6: {
      // whitespace somewhere JSON allows it
      const o = parsed(s);
      return o === undefined ? s : JSON.stringify(o, null, r(3));
    }
    case 7: {
      // members reordered or dropped at the top level
      const o = parsed(s);
      if (o === undefined) return s;
      const keys = Object.keys(o);
      const out: Obj = {};
      for (const k of keys.sort(() => r(3) - 1)) if (r(6) > 0) out[k] = o[k];
      return JSON.stringify(out);
    }
    case 8: {
      // a field of common or page given another value or removed, then written as JSON.stringify would
      const o = parsed(s);
      const target = o === undefined ? undefined : r(2) === 0 ? o.common : o.page;
      if (!isObj(target)) return s;
      const k = KEYS[r(KEYS.length)]!;
      const vals: unknown[] = [undefined, null, '', 'x', 'é"\\\n', 0, -0, 1.5, 1e21, -7, true, false, [], {}, { y: [1] }, 'home', 'search', 'keyword'];
      target[k] = vals[r(vals.length)];
      return JSON.stringify(o);
    }
    case 9:
      return s.replace(/"ts":(\d+)/, `"ts":${VALUES[r(VALUES.length)]}`);
    case 10:
      return s.replace(/"during_time":(\d+)/, `"during_time":${VALUES[r(VALUES.length)]}`);
    default:
      // two mutations
      return mutate(mutate(s, r), r);
  }
}

describe('pageLog fast path = JSON.parse path', () => {
  test('the records dwd log writes (2022 and 2023 formats): the same fields, nearly all by the scanner', async () => {
    for (const format of ['2022', '2023'] as const) {
      const pages = await dwdPages(format, '7');
      expect(pages.length).toBeGreaterThan(1000);
      const f0 = fast;
      for (const p of pages) check(p);
      expect(fast - f0).toBe(pages.length);
    }
  });

  test('hand-picked edge cases', () => {
    const base = '{"common":{"ar":"1","ch":"oppo","is_new":"1","mid":"m","uid":"7","vc":"v1"},"page":{"during_time":5,"last_page_id":"home","page_id":"search"},"ts":1736784359122}';
    const cases: (string | null)[] = [
      null, '', '{', '{}', '[]', '1', 'null', '"x"', base, `${base} `, ` ${base}`, `${base}\n`, base.replace('"ts":1736784359122', '"ts":-0'),
      base.replace('"ts":1736784359122', '"ts":1e3'), base.replace('"ts":1736784359122', '"ts":1736784359122.0'), base.replace('"ts":1736784359122', '"ts":"1"'),
      base.replace('"ts":1736784359122', '"ts":null'), base.replace('"ts":1736784359122', '"ts":1e400'), base.replace('"during_time":5', '"during_time":"5"'),
      base.replace('"during_time":5', '"during_time":05'), base.replace('"during_time":5', '"during_time":-0'), base.replace('"mid":"m"', '"mid":"m","mid":"n"'),
      base.replace('"mid":"m"', '"mid":"m\\u0041"'), base.replace('"mid":"m"', '"mid":5'), base.replace('"mid":"m"', '"mid":null'), base.replace('"mid":"m"', '"mid":{"a":"},\\"page\\":{"}'),
      base.replace('"page_id":"search"', '"page_id":"search","page_id":"home"'), base.replace('"page_id":"search"', '"page_id":"search","last_page_id":null'),
      base.replace('"ar":"1"', '"x":{"y":"a"},"page":{"q":1}'), base.replace('"ar":"1"', '"x":"},\\"page\\":{"'), base.replace('"ar":"1"', '"x":"},"page":{"'),
      '{"common":{},"page":{},"ts":1}', '{"common":{},"page":{},"ts":1,"ts":2}', '{"common":{},"page":{},"ts":1,"page":{}}', '{"common":{},"page":{},"ts":1,"x":1}',
      '{"common":{},"page":[],"ts":1}', '{"common":[],"page":{},"ts":1}', '{"common":{},"page":{"a":1,},"ts":1}', '{"common":{},"page":{,},"ts":1}',
      '{"common":{"mid":"a"},"page":{"during_time":123456789012345},"ts":123456789012345}', '{"common":{"mid":"a"},"page":{"during_time":1234567890123456},"ts":1}',
      '{"common":{"mid":"a"},"page":{"page_id":"a\u0000"},"ts":1}', '{"common":{"mid":"a"},"page":{"page_id":"é😀\ud800"},"ts":1}', '{"common":{"mid":"a"},"page":{"":1},"ts":1}',
      '{"common":{"mid":"a"},"page":{"item":nul},"ts":1}', '{"common":{"mid":"a"},"page":{"item":null},"ts":1}', '{"common":{"mid":"a"},"page":{"item":-},"ts":1}',
      '{"common":{"mid":"a"},"page":{"item":1},"ts":1}}', '{"common":{"mid":"a"},"page":{"item":1},"ts":-1}', '{"common":{"mid":"a"},"page":{"item":1},"ts":0}',
    ];
    for (const c of cases) check(c);
  });

  test('random mutations of dwd log records: the same fields or the same dead-letter reason', async () => {
    const pages = [...(await dwdPages('2022', '3')).slice(0, 400), ...(await dwdPages('2023', '4')).slice(0, 400)];
    const r = rng(12345);
    const f0 = fast;
    const c0 = checked;
    for (let i = 0; i < 40_000; i++) check(mutate(pages[r(pages.length)]!, r));
    // Both paths are exercised: many mutations keep the plain layout, many do not.
    expect(fast - f0).toBeGreaterThan(5_000);
    expect(checked - c0 - (fast - f0)).toBeGreaterThan(5_000);
  });
});
