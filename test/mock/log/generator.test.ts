/** The app-log generator: shape, determinism, time, page paths, rates, the 2023 variant. */
import { beforeAll, describe, expect, test } from 'bun:test';
import { validateAppLog, type AppLog } from '../../../src/formats/applog';
import { PATHS } from '../../../src/mock/log/catalog';
import { LogChunk } from '../../../src/mock/log/chunk';
import { AppLogGenerator, dayStartMs, writeUuid } from '../../../src/mock/log/generator';
import { mockLogOptions } from '../../../src/mock/log/options';
import { Rng } from '../../../src/mock/random';
import { DATE, DAY_END, DAY_START, generate, lines, sessions } from './helpers';

const BIG = { startupCount: '20000', maxMid: '2000000000' };

describe('2022 shape (default)', () => {
  let text: string;
  let all: string[];
  let records: AppLog[];
  beforeAll(async () => {
    text = await generate(BIG);
    all = lines(text);
    records = all.map((l) => JSON.parse(l) as AppLog);
  });

  test('every line is one JSON object that passes validateAppLog', () => {
    expect(all.length).toBeGreaterThan(100_000);
    const bad = records.map((r, i) => ({ i, reasons: validateAppLog(r) })).filter((x) => x.reasons.length > 0);
    expect(bad.slice(0, 3)).toEqual([]);
  });

  test("keys come in the generator's alphabetical order at every level", () => {
    const sorted = (o: unknown): boolean => {
      if (Array.isArray(o)) return o.every(sorted);
      if (typeof o !== 'object' || o === null) return true;
      const keys = Object.keys(o);
      return keys.join() === [...keys].sort().join() && Object.values(o).every(sorted);
    };
    expect(records.every(sorted)).toBe(true);
    expect(Object.keys(records[0]!.common)).toEqual(['ar', 'ba', 'ch', 'is_new', 'md', 'mid', 'os', 'uid', 'vc'].filter((k) => k in records[0]!.common));
  });

  test('the common values look like the real generator', () => {
    const areas = new Set(records.map((r) => r.common.ar));
    expect([...areas].sort()).toEqual(['110000', '230000', '310000', '370000', '420000', '440000', '500000', '530000']);
    for (const r of records.slice(0, 5000)) {
      const c = r.common;
      expect(c.mid).toMatch(/^mid_\d+$/);
      expect(c.vc).toMatch(/^v2\.\d+\.\d+$/);
      expect(c.md!.startsWith(`${c.ba} `)).toBe(true);
      expect(c.ba === 'iPhone' ? c.ch === 'Appstore' && c.os!.startsWith('iOS ') : c.ch !== 'Appstore' && c.os!.startsWith('Android ')).toBe(true);
      expect(['0', '1']).toContain(c.is_new!);
      if (c.uid !== undefined) expect(Number(c.uid)).toBeWithin(1, 1001);
      expect(c.sid).toBeUndefined();
    }
  });

  test('every ts (and action ts) falls on the business date in Beijing time, and lines come in ts order', () => {
    expect(dayStartMs(DATE)).toBe(DAY_START);
    let prev = 0;
    for (const r of records) {
      expect(r.ts).toBeGreaterThanOrEqual(DAY_START);
      expect(r.ts).toBeLessThan(DAY_END);
      expect(r.ts).toBeGreaterThanOrEqual(prev);
      prev = r.ts;
      for (const a of r.actions ?? []) {
        expect(a.ts).toBeGreaterThan(r.ts);
        expect(a.ts).toBeLessThan(r.ts + r.page!.during_time);
      }
    }
  });

  test('sessions spread over the day: quiet at night, busy in the evening', () => {
    const hour = (ts: number) => Math.floor((ts - DAY_START) / 3_600_000);
    const starts = records.filter((r) => r.start).map((r) => hour(r.ts));
    const at = (h: number) => starts.filter((x) => x === h).length;
    expect(new Set(starts).size).toBe(24);
    expect(at(21)).toBeGreaterThan(at(3) * 5);
  });

  test('sessions follow path.json: last_page_id is the previous page, ts advances by during_time', () => {
    const ss = sessions(records);
    expect(ss.length).toBe(20_000);
    const known = new Map(PATHS.map(([p, w]) => [p.join('>'), w]));
    const seen = new Map<string, number>();
    for (const s of ss) {
      const [start, ...pages] = s;
      expect(start!.start).toBeDefined();
      const ids = pages.map((p) => p.page!.page_id);
      const key = ids.join('>');
      expect(known.has(key)).toBe(true);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      expect(pages[0]!.ts).toBe(start!.ts + start!.start!.loading_time);
      expect(pages[0]!.page!.last_page_id).toBeUndefined();
      for (let i = 1; i < pages.length; i++) {
        expect(pages[i]!.page!.last_page_id).toBe(ids[i - 1]!);
        expect(pages[i]!.ts).toBe(pages[i - 1]!.ts + pages[i - 1]!.page!.during_time);
      }
    }
    // Each path's share is within 1.5 percentage points of its weight (20,000 sessions: sd ≤ 0.35 points).
    const total = PATHS.reduce((a, [, w]) => a + w, 0);
    for (const [key, w] of known) expect(Math.abs((seen.get(key) ?? 0) / ss.length - w / total)).toBeLessThan(0.015);
  });

  test('logged-out visitors have no uid; a path through login carries it from the page after login on', () => {
    let throughLogin = 0;
    for (const s of sessions(records)) {
      const ids = s.map((r) => r.page?.page_id);
      const login = ids.indexOf('login');
      if (login < 0) {
        expect(new Set(s.map((r) => r.common.uid)).size).toBe(1); // in or out for the whole session
        continue;
      }
      throughLogin++;
      s.forEach((r, i) => expect(r.common.uid === undefined).toBe(i <= login));
    }
    expect(throughLogin).toBeGreaterThan(5000);
    const loggedOutStarts = records.filter((r) => r.start && r.common.uid === undefined).length;
    expect(loggedOutStarts / 20_000).toBeWithin(0.6, 0.8); // the 40 % login paths + half of the rest
  });

  test('page items: goods pages carry a sku_id and source_type, good_list a keyword, checkout sku_ids', () => {
    const keywords = new Set<string>();
    for (const r of records) {
      const p = r.page;
      if (!p) continue;
      if (['good_detail', 'good_spec', 'comment'].includes(p.page_id)) {
        expect(p.item_type).toBe('sku_id');
        expect(Number(p.item)).toBeWithin(1, 36);
        expect(['query', 'promotion', 'recommend', 'activity']).toContain(p.source_type!);
      } else if (p.page_id === 'good_list') {
        expect(p.item_type).toBe('keyword');
        keywords.add(p.item!);
      } else if (p.page_id === 'trade' || p.page_id === 'payment') {
        expect(p.item_type).toBe('sku_ids');
        const skus = p.item!.split(',');
        expect(skus.length).toBeWithin(1, 4);
        expect(new Set(skus).size).toBe(skus.length);
      } else expect(p.item).toBeUndefined();
    }
    expect([...keywords].sort()).toEqual(['iphone11', 'ps5', '口红', '华为', '图书', '小米', '小米盒子', '电视', '联想', '苹果手机'].sort());
  });

  test('displays and actions follow the generator: activities first on home, 4..10 goods, actions on their pages', () => {
    const actionPages = new Map<string, Set<string>>();
    for (const r of records) {
      if (r.start) continue;
      const d = r.displays ?? [];
      if (r.page!.page_id === 'home') {
        expect(d[0]!.display_type).toBe('activity');
        expect(d[0]!.item_type).toBe('activity_id');
      }
      d.forEach((x, i) => expect(x.order).toBe(i + 1));
      const goods = d.filter((x) => x.item_type === 'sku_id');
      if (d.length > 0) expect(goods.length).toBeWithin(4, 11);
      for (const a of r.actions ?? []) {
        const set = actionPages.get(r.page!.page_id) ?? new Set();
        set.add(a.action_id);
        actionPages.set(r.page!.page_id, set);
      }
    }
    expect([...actionPages.keys()].sort()).toEqual(['cart', 'good_detail', 'trade']);
    expect([...actionPages.get('good_detail')!].sort()).toEqual(['cart_add', 'favor_add', 'get_coupon']);
    expect([...actionPages.get('trade')!]).toEqual(['trade_add_address']);
  });

  test('the error rate is the knob (3 % by default)', () => {
    const rate = records.filter((r) => r.err).length / records.length;
    expect(rate).toBeWithin(0.027, 0.033);
    const err = records.find((r) => r.err)!.err!;
    expect(err.error_code).toBeWithin(1001, 4002);
    expect(err.msg).toContain('Exception');
  });

  test('--source-type-rate steers how visitors reach goods', async () => {
    const recs = lines(await generate({ startupCount: '3000', sourceTypeRate: '0:0:0:1' })).map((l) => JSON.parse(l) as AppLog);
    const types = new Set(recs.filter((r) => r.page?.source_type).map((r) => r.page!.source_type));
    expect([...types]).toEqual(['activity']);
  });
});

describe('knobs', () => {
  test('--error-rate 0 and 50', async () => {
    const none = lines(await generate({ startupCount: '2000', errorRate: '0' }));
    expect(none.some((l) => l.includes('"err"'))).toBe(false);
    const half = lines(await generate({ startupCount: '4000', errorRate: '50' }));
    expect(half.filter((l) => l.includes('"err":{')).length / half.length).toBeWithin(0.48, 0.52);
  });

  test('--max-mid, --max-uid, --max-sku-id, --keywords, --page-during-time-ms bound the values', async () => {
    const recs = lines(
      await generate({ startupCount: '2000', maxMid: '5', maxUid: '3', maxSkuId: '4', keywords: 'a"b,电视', pageDuringTimeMs: '1500' }),
    ).map((l) => JSON.parse(l) as AppLog);
    expect(new Set(recs.map((r) => r.common.mid))).toEqual(new Set(['mid_1', 'mid_2', 'mid_3', 'mid_4', 'mid_5']));
    expect(new Set(recs.filter((r) => r.common.uid).map((r) => r.common.uid))).toEqual(new Set(['1', '2', '3']));
    for (const r of recs) {
      for (const d of r.displays ?? []) if (d.item_type === 'sku_id') expect(Number(d.item)).toBeWithin(1, 5);
      if (r.page) expect(r.page.during_time).toBeWithin(1000, 1501);
      if (r.page?.item_type === 'keyword') expect(['a"b', '电视']).toContain(r.page.item!);
    }
  });

  test('a large --max-sku-id (displays written piece by piece, not cached) gives valid lines in range', async () => {
    for (const format of ['2022', '2023']) {
      const recs = lines(await generate({ startupCount: '1000', maxSkuId: '100000', format })).map((l) => JSON.parse(l) as AppLog);
      expect(recs.every((r) => validateAppLog(r).length === 0)).toBe(true);
      const skus = recs.flatMap((r) => (r.displays ?? []).filter((d) => d.item_type === 'sku_id').map((d) => Number(d.item)));
      expect(Math.max(...skus)).toBeGreaterThan(90_000);
      expect(Math.min(...skus)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...skus)).toBeLessThanOrEqual(100_000);
    }
  });

  test('--startup-count is the number of sessions', async () => {
    const recs = lines(await generate({ startupCount: '123' }));
    expect(recs.filter((l) => l.includes('"start":{')).length).toBe(123);
  });
});

describe('determinism', () => {
  test('writeUuid writes exactly what Rng.uuid returns for the same draws', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const chunk = new LogChunk(64);
    for (let i = 0; i < 2000; i++) {
      chunk.reset();
      writeUuid(chunk, a);
      expect(new TextDecoder().decode(chunk.bytes())).toBe(b.uuid());
    }
  });

  test('same seed and options → byte-identical output; another seed differs', async () => {
    const a = await generate({ startupCount: '3000' });
    expect(await generate({ startupCount: '3000' })).toBe(a);
    expect(await generate({ startupCount: '3000', seed: '8' })).not.toBe(a);
    expect(await generate({ startupCount: '3000', format: '2023' })).not.toBe(a);
  });

  test('the output does not depend on how many lines each fill() asks for', async () => {
    const opts = mockLogOptions({ date: DATE, seed: '3', startupCount: '500' }, undefined);
    const bySize = (max: number) => {
      const g = new AppLogGenerator(opts);
      const chunk = new LogChunk(1 << 16);
      const parts: Buffer[] = [];
      while (!g.done) {
        chunk.reset();
        g.fill(chunk, max);
        parts.push(Buffer.from(chunk.bytes()));
      }
      return Buffer.concat(parts).toString();
    };
    const whole = bySize(Number.MAX_SAFE_INTEGER);
    expect(bySize(1)).toBe(whole);
    expect(bySize(7)).toBe(whole);
    expect(whole).toBe(await generate({ seed: '3', startupCount: '500' }));
  });
});

describe('2023 shape', () => {
  let records: AppLog[];
  beforeAll(async () => {
    records = lines(await generate({ ...BIG, startupCount: '5000', format: '2023' })).map((l) => JSON.parse(l) as AppLog);
  });

  test('valid, with common.sid (one per session), province ids in ar, ms ts', () => {
    expect(records.every((r) => validateAppLog(r).length === 0)).toBe(true);
    const ss = sessions(records);
    for (const s of ss) {
      const sid = s[0]!.common.sid!;
      expect(sid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(s.every((r) => r.common.sid === sid)).toBe(true);
    }
    expect(new Set(ss.map((s) => s[0]!.common.sid)).size).toBe(ss.length);
    const ars = new Set(records.map((r) => Number(r.common.ar)));
    expect(Math.min(...ars)).toBe(1);
    expect(Math.max(...ars)).toBe(34);
    expect(records.some((r) => r.ts % 1000 !== 0)).toBe(true);
  });

  test('displays carry pos_id and pos_seq (from 0 per position), no display_type or order', () => {
    for (const r of records) {
      const d = r.displays ?? [];
      let seq = -1;
      let pos = -1;
      for (const x of d) {
        expect(Object.keys(x)).toEqual(['item', 'item_type', 'pos_id', 'pos_seq']);
        if (x.pos_id !== pos) {
          expect(x.pos_seq).toBe(0);
          pos = x.pos_id!;
        } else expect(x.pos_seq).toBe(seq + 1);
        seq = x.pos_seq!;
      }
    }
  });

  test('first pages have refer_id, goods reached from a display have from_pos_id/from_pos_seq, checkout is `order`', () => {
    const ss = sessions(records);
    let fromDisplay = 0;
    for (const s of ss) {
      const pages = s.slice(1);
      expect(pages[0]!.page!.refer_id).toMatch(/^[1-4]$/);
      expect(pages[0]!.page!.last_page_id).toBeUndefined();
      for (let i = 1; i < pages.length; i++) {
        const p = pages[i]!.page!;
        expect(p.refer_id).toBeUndefined();
        expect(p.source_type).toBeUndefined();
        expect(p.page_id).not.toBe('trade');
        if (p.from_pos_id !== undefined) {
          fromDisplay++;
          const clicked = pages[i - 1]!.displays!.find((d) => d.pos_id === p.from_pos_id && d.pos_seq === p.from_pos_seq);
          expect(clicked?.item).toBe(p.item!);
        }
      }
    }
    expect(fromDisplay).toBeGreaterThan(1000);
    expect(records.some((r) => r.page?.page_id === 'order' && r.page.item_type === 'sku_ids')).toBe(true);
  });
});
