/** `dwd log` as pure logic (runInMemory / Engine): split, is_new, dead letters, unique visitors, user jumps. */
import { describe, expect, test } from 'bun:test';
import { dwdLogJob, resolveDwdLogOptions, NS } from '../../src/dwd/log';
import { Engine, inputRecords, resolveOptions, runInMemory, type Emitted } from '../../src/stream/engine';
import type { InputRecord } from '../../src/stream/types';

/** 2025-01-14 00:00 Beijing time (UTC+08:00). */
const D14 = Date.parse('2025-01-14T00:00:00+08:00');
const DAY = 86_400_000;
const H = 3_600_000;

function common(mid: string, isNew = '1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ar: '110000', ba: 'Xiaomi', ch: 'xiaomi', is_new: isNew, md: 'Xiaomi 9', mid, os: 'Android 11.0', vc: 'v2.1.134', ...extra };
}

function startLine(mid: string, ts: number, isNew = '1', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    common: common(mid, isNew),
    ...extra,
    start: { entry: 'icon', loading_time: 3000, open_ad_id: 7, open_ad_ms: 2000, open_ad_skip_ms: 0 },
    ts,
  });
}

function pageLine(mid: string, ts: number, o: { last?: string; id?: string; isNew?: string; extra?: Record<string, unknown> } = {}): string {
  const page: Record<string, unknown> = { during_time: 5000, page_id: o.id ?? (o.last ? 'good_list' : 'home') };
  if (o.last) page.last_page_id = o.last;
  return JSON.stringify({ common: common(mid, o.isNew ?? '1'), ...o.extra, page, ts });
}

const recs = (lines: (string | null)[]): InputRecord[] => inputRecords('ods_log', 'ods_log', lines);

function values(outputs: Emitted[], output: string): unknown[] {
  return outputs.filter((o) => o.output === output).map((o) => JSON.parse(o.value) as unknown);
}

function by(outputs: Emitted[], output: string): Emitted[] {
  return outputs.filter((o) => o.output === output);
}

const jumpTs = (outputs: Emitted[]): number[] => by(outputs, 'user_jump').map((o) => (JSON.parse(o.value) as { ts: number }).ts);

describe('dwd log: declaration and options', () => {
  test('outputs, options and defaults; topic-style 2023 names the five split topics', () => {
    expect(dwdLogJob.name).toBe('dwd log');
    expect(dwdLogJob.outputs.map((o) => o.name)).toEqual(['start', 'page', 'display', 'action', 'err', 'unique_visitor', 'user_jump']);
    const d = resolveOptions(dwdLogJob);
    expect(d).toMatchObject({
      'input-topic': 'ods_log',
      'topic-style': '2022',
      'start-topic': 'dwd_traffic_start',
      'page-topic': 'dwd_traffic_page',
      'display-topic': 'dwd_traffic_display',
      'action-topic': 'dwd_traffic_action',
      'err-topic': 'dwd_traffic_err',
      'unique-visitor-topic': 'dwd_traffic_unique_visitor_detail',
      'user-jump-topic': 'dwd_traffic_user_jump_detail',
    });
    expect(resolveDwdLogOptions()).toEqual(d);
    const s23 = resolveDwdLogOptions({ 'topic-style': '2023', 'err-topic': 'my_err' });
    expect(s23).toMatchObject({
      'start-topic': 'dwd_traffic_start_log',
      'page-topic': 'dwd_traffic_page_log',
      'display-topic': 'dwd_traffic_display_log',
      'action-topic': 'dwd_traffic_action_log',
      'err-topic': 'my_err',
      'unique-visitor-topic': 'dwd_traffic_unique_visitor_detail',
    });
    expect(() => resolveDwdLogOptions({ 'topic-style': '2024' })).toThrow('invalid --topic-style "2024": expected 2022 or 2023');
    expect(() => resolveOptions(dwdLogJob, { 'page-topic': 'a b' })).toThrow('invalid --page-topic');
    expect(() => resolveDwdLogOptions({ 'page-topc': 'x' })).toThrow('unknown option --page-topc');
  });
});

describe('dwd log: split', () => {
  test('a start line goes to the start topic byte for byte, keyed by mid, at its ts', async () => {
    const line = startLine('mid_1', D14 + H);
    const r = await runInMemory(dwdLogJob, recs([line]));
    expect(by(r.outputs, 'start')).toEqual([{ output: 'start', key: 'mid_1', value: line, ts: D14 + H }]);
    expect(r.outputs.filter((o) => o.output !== 'start')).toEqual([]);
    expect(r.deadLetters).toEqual([]);
  });

  test('a page line: page without displays/actions; each display {common, page, display, ts}; each action {common, page, action} at its own ts', async () => {
    const t = D14 + 2 * H;
    const page = { during_time: 9000, item: '7', item_type: 'sku_id', last_page_id: 'home', page_id: 'good_detail', source_type: 'query' };
    const d1 = { display_type: 'query', item: '3', item_type: 'sku_id', order: 1, pos_id: 2 };
    const d2 = { display_type: 'promotion', item: '9', item_type: 'sku_id', order: 2, pos_id: 4 };
    const a1 = { action_id: 'favor_add', item: '7', item_type: 'sku_id', ts: t + 3000 };
    const a2 = { action_id: 'cart_add', item: '7', item_type: 'sku_id', ts: t + 6000 };
    const c = common('mid_2', '0');
    const line = JSON.stringify({ actions: [a1, a2], common: c, displays: [d1, d2], page, ts: t });
    const r = await runInMemory(dwdLogJob, recs([line]));
    expect(by(r.outputs, 'page').map((o) => [o.key, o.value, o.ts])).toEqual([['mid_2', JSON.stringify({ common: c, page, ts: t }), t]]);
    expect(by(r.outputs, 'display').map((o) => [o.key, JSON.parse(o.value), o.ts])).toEqual([
      ['mid_2', { common: c, page, display: d1, ts: t }, t],
      ['mid_2', { common: c, page, display: d2, ts: t }, t],
    ]);
    expect(by(r.outputs, 'action').map((o) => [o.key, JSON.parse(o.value), o.ts])).toEqual([
      ['mid_2', { common: c, page, action: a1 }, t + 3000],
      ['mid_2', { common: c, page, action: a2 }, t + 6000],
    ]);
    // The display keeps its own item (a flat copy would have let page.item overwrite it).
    expect((values(r.outputs, 'display')[0] as { display: { item: string } }).display.item).toBe('3');
    expect(by(r.outputs, 'err')).toEqual([]);
  });

  test('err lines: the whole line (is_new corrected) to err, then err removed and split further', async () => {
    const t = D14 + 3 * H;
    const err = { error_code: 1234, msg: ' Exception in thread \\  java.net.SocketTimeoutException' };
    const sErr = startLine('mid_3', t, '1', { err });
    const d = { display_type: 'query', item: '1', item_type: 'sku_id', order: 1, pos_id: 1 };
    const pErr = JSON.stringify({ common: common('mid_3'), displays: [d], err, page: { during_time: 4000, last_page_id: 'home', page_id: 'cart' }, ts: t + 5000 });
    // The same mid was first seen on an earlier day, so its is_new=1 is corrected — in the err record too.
    const before = startLine('mid_3', t - DAY);
    const r = await runInMemory(dwdLogJob, recs([before, sErr, pErr]));
    const fixed = (line: string) => {
      const o = JSON.parse(line) as { common: { is_new: string } };
      o.common.is_new = '0';
      return o;
    };
    expect(values(r.outputs, 'err')).toEqual([fixed(sErr), fixed(pErr)]);
    const noErr = (line: string) => {
      const o = fixed(line) as Record<string, unknown>;
      delete o.err;
      return o;
    };
    expect(values(r.outputs, 'start')).toEqual([JSON.parse(before), noErr(sErr)]);
    const page = noErr(pErr);
    delete page.displays;
    expect(values(r.outputs, 'page')).toEqual([page]);
    expect(values(r.outputs, 'display')).toEqual([{ common: page.common, page: page.page, display: d, ts: t + 5000 }]);
    // Unchanged err lines are forwarded as they came.
    const r2 = await runInMemory(dwdLogJob, recs([sErr]));
    expect(by(r2.outputs, 'err').map((o) => o.value)).toEqual([sErr]);
  });

  test('an err-free line keeps its bytes; "err": null is not an error and is dropped', async () => {
    const t = D14 + 4 * H;
    const line = JSON.stringify({ common: common('mid_4', '0'), err: null, page: { during_time: 1000, page_id: 'home' }, ts: t });
    const r = await runInMemory(dwdLogJob, recs([line]));
    expect(by(r.outputs, 'err')).toEqual([]);
    expect(values(r.outputs, 'page')).toEqual([{ common: common('mid_4', '0'), page: { during_time: 1000, page_id: 'home' }, ts: t }]);
  });
});

describe('dwd log: dead letters and tolerated fields', () => {
  const t = D14 + 5 * H;
  const cases: [string, string | null, string][] = [
    ['not JSON', '{"common":', '(record): not JSON'],
    ['an array', '[1,2]', '(record): expected a JSON object, got an array'],
    ['a number', '42', '(record): expected a JSON object, got number 42'],
    ['a tombstone', null, '(record): expected a JSON object, got a tombstone'],
    ['no common', JSON.stringify({ page: { during_time: 1, page_id: 'home' }, ts: t }), 'common: expected an object, got nothing'],
    ['common a string', JSON.stringify({ common: 'x', page: { during_time: 1, page_id: 'home' }, ts: t }), 'common: expected an object, got string "x"'],
    ['no mid', JSON.stringify({ common: { is_new: '1' }, page: { during_time: 1, page_id: 'home' }, ts: t }), 'common.mid: expected a non-empty string, got nothing'],
    ['no ts', JSON.stringify({ common: common('m'), page: { during_time: 1, page_id: 'home' } }), 'ts: expected epoch milliseconds (a whole number), got nothing'],
    ['ts in seconds', JSON.stringify({ common: common('m'), page: { during_time: 1, page_id: 'home' }, ts: 1736784602 }), 'ts: expected epoch milliseconds (13 digits)'],
    ['neither start nor page', JSON.stringify({ common: common('m'), ts: t }), 'start, page: expected one of them, got neither'],
    ['both start and page', JSON.stringify({ common: common('m'), page: { during_time: 1, page_id: 'home' }, start: { entry: 'icon' }, ts: t }), 'start, page: a record is either'],
    ['page without page_id', JSON.stringify({ common: common('m'), page: { during_time: 1 }, ts: t }), 'page.page_id: expected a non-empty string, got nothing'],
    ['displays not an array', JSON.stringify({ common: common('m'), displays: { item: '1' }, page: { during_time: 1, page_id: 'home' }, ts: t }), 'displays: expected an array, got an object'],
  ];
  for (const [name, line, reason] of cases) {
    test(`dead letter: ${name}`, async () => {
      const r = await runInMemory(dwdLogJob, recs([line]), { drain: false });
      expect(r.outputs).toEqual([]);
      expect(r.deadLetters).toHaveLength(1);
      expect(r.deadLetters[0]!.reason).toContain(reason);
      expect(r.deadLetters[0]!.record.value).toBe(line);
      expect(r.engine.watermark).toBe(-Infinity); // a dead line is not observed
    });
  }

  test('other field problems pass through (gmall forwards fields untouched; consumers check what they use)', async () => {
    const line = JSON.stringify({
      actions: [{ action_id: 'cart_add', item: '1', item_type: 'sku_id' }, 'junk'],
      common: common('mid_5', 'yes', { ar: 110000 }),
      displays: [{ item: 3, item_type: 'sku_id' }, 7],
      page: { during_time: '5s', page_id: 'good_detail' },
      ts: t,
    });
    const r = await runInMemory(dwdLogJob, recs([line]));
    expect(r.deadLetters).toEqual([]);
    expect(by(r.outputs, 'page')).toHaveLength(1);
    expect(by(r.outputs, 'display')).toHaveLength(1);
    expect(by(r.outputs, 'action').map((o) => o.ts)).toEqual([t]); // no ts of its own: the page's
    expect(r.counters).toMatchObject({ display_not_object: 1, action_not_object: 1, action_without_ts: 1 });
  });
});

describe('dwd log: is_new correction (state first_visit by mid, Beijing dates)', () => {
  const isNew = (outputs: Emitted[]) =>
    outputs.filter((o) => o.output === 'start' || o.output === 'page').map((o) => (JSON.parse(o.value) as { common: { is_new: string } }).common.is_new);

  test('is_new=1: first seen → stays 1 all that day; a later day → 0', async () => {
    const r = await runInMemory(dwdLogJob, recs([startLine('a', D14 + H), pageLine('a', D14 + 20 * H), startLine('a', D14 + DAY + H)]), { batch: 1 });
    expect(isNew(r.outputs)).toEqual(['1', '1', '0']);
  });

  test('is_new=0 with no state → state = yesterday, so a later is_new=1 that same day is corrected', async () => {
    const r = await runInMemory(dwdLogJob, recs([startLine('b', D14 + H, '0'), startLine('b', D14 + 2 * H, '1')]));
    expect(isNew(r.outputs)).toEqual(['0', '0']);
  });

  test('dates are Beijing days: 23:59:59.999 and 00:00 (UTC+08:00) are different days', async () => {
    const r = await runInMemory(dwdLogJob, recs([startLine('c', D14 + DAY - 1), startLine('c', D14 + DAY - 1), startLine('c', D14 + DAY)]));
    expect(isNew(r.outputs)).toEqual(['1', '1', '0']);
  });

  test('the state survives a restart (Engine checkpoint → restore)', async () => {
    const opts = resolveOptions(dwdLogJob);
    const first = new Engine(dwdLogJob, opts, { now: () => 0 });
    await first.processBatch(recs([startLine('d', D14 + H)]));
    first.advance();
    const cp = first.checkpoint();
    expect(cp.state.find((s) => s.namespace === NS.firstVisit)).toEqual({ namespace: NS.firstVisit, key: 'd', value: '"2025-01-14"', expires: null });

    const second = new Engine(dwdLogJob, opts, { now: () => 0 });
    second.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    await second.processBatch(recs([startLine('d', D14 + DAY + H)]));
    second.advance();
    expect(isNew(second.checkpoint().outputs)).toEqual(['0']);

    // Without the restored state the same line would pass as new.
    const fresh = await runInMemory(dwdLogJob, recs([startLine('d', D14 + DAY + H)]));
    expect(isNew(fresh.outputs)).toEqual(['1']);
  });
});

describe('dwd log: unique visitors (first page of a mid per Beijing day)', () => {
  test('first page per mid per day; starts are not pages; other mids independent', async () => {
    const lines = [
      startLine('u', D14 + H),
      pageLine('u', D14 + H + 5000),
      pageLine('u', D14 + H + 9000, { last: 'home' }),
      pageLine('v', D14 + 2 * H),
      pageLine('u', D14 + 23 * H),
      pageLine('u', D14 + DAY + 10 * H),
      pageLine('u', D14 + DAY + 11 * H),
      pageLine('u', D14 + 2 * DAY + 12 * H),
    ];
    const r = await runInMemory(dwdLogJob, recs(lines), { batch: 1 });
    expect(by(r.outputs, 'unique_visitor').map((o) => [o.key, o.ts])).toEqual([
      ['u', D14 + H + 5000],
      ['v', D14 + 2 * H],
      ['u', D14 + DAY + 10 * H],
      ['u', D14 + 2 * DAY + 12 * H],
    ]);
    // The record is the page record.
    const uv = by(r.outputs, 'unique_visitor')[0]!;
    expect(uv.value).toBe(by(r.outputs, 'page')[0]!.value);
  });

  test('a session running over midnight: its first page after 00:00 makes the visitor of the new day', async () => {
    const r = await runInMemory(dwdLogJob, recs([pageLine('w', D14 + DAY - 4000), pageLine('w', D14 + DAY + 3000, { last: 'home' })]), { batch: 1 });
    expect(by(r.outputs, 'unique_visitor').map((o) => o.ts)).toEqual([D14 + DAY - 4000, D14 + DAY + 3000]);
  });

  test('the state has a TTL of one day of event time; a late page of an earlier day is not a new first', async () => {
    const r = await runInMemory(
      dwdLogJob,
      recs([pageLine('x', D14 + 10 * H), pageLine('x', D14 + DAY + 9 * H), pageLine('x', D14 + 23 * H), pageLine('x', D14 + DAY + 12 * H)]),
      { batch: 1, drain: false },
    );
    expect(by(r.outputs, 'unique_visitor').map((o) => o.ts)).toEqual([D14 + 10 * H, D14 + DAY + 9 * H]);
    expect(r.counters.uv_earlier_day).toBe(1);
    // Written at the page's event time, gone one day of event time later.
    const e = new Engine(dwdLogJob, resolveOptions(dwdLogJob), { now: () => 0 });
    await e.processBatch(recs([pageLine('y', D14 + 10 * H)]));
    e.advance();
    expect(e.checkpoint().state.find((s) => s.namespace === NS.uv)).toEqual({ namespace: NS.uv, key: 'y', value: '"2025-01-14"', expires: D14 + 10 * H + DAY });
    await e.processBatch(recs([pageLine('z', D14 + 10 * H + DAY + 3000)]));
    e.advance();
    expect(e.checkpoint().state.find((s) => s.namespace === NS.uv && s.key === 'y')).toEqual({ namespace: NS.uv, key: 'y', value: null, expires: null });
  });
});

describe('dwd log: user jump (CEP first(last_page_id null).next(last_page_id null).within(10 s))', () => {
  const T = D14 + 8 * H;

  test('a session start with no page within 10 s is a jump — decided by event time, not by the end of input', async () => {
    // Another mid's page moves the watermark (max - 3 s) past T + 10 s.
    const r = await runInMemory(dwdLogJob, recs([pageLine('j', T), pageLine('other', T + 13_001, { last: 'home' })]), { batch: 1, drain: false });
    expect(by(r.outputs, 'user_jump').map((o) => [o.key, o.ts, o.value])).toEqual([['j', T, by(r.outputs, 'page')[0]!.value]]);
    // Not yet at T + 10 s → nothing.
    const early = await runInMemory(dwdLogJob, recs([pageLine('j', T), pageLine('other', T + 12_999, { last: 'home' })]), { batch: 1, drain: false });
    expect(by(early.outputs, 'user_jump')).toEqual([]);
    expect(early.engine.timerCount).toBe(2); // j's pending start (T + 10 s) and other's buffered page
  });

  test('when the stream goes idle the watermark follows the wall clock and the jump still closes', async () => {
    let wall = 0;
    const e = new Engine(dwdLogJob, resolveOptions(dwdLogJob), { now: () => wall, idleTimeoutMs: 5000 });
    await e.processBatch(recs([pageLine('idle', T)]));
    e.advance();
    expect(by(e.checkpoint().outputs, 'user_jump')).toEqual([]);
    wall = 5000 + 14_000; // idle 19 s: event time moved 14 s past the last record's (T − 3 s + 14 s ≥ T + 10 s)
    e.advance();
    expect(jumpTs(e.checkpoint().outputs)).toEqual([T]);
    expect(e.timerCount).toBe(0);
    expect(e.stateSize).toBe(2); // first_visit and uv: the jump state is gone
  });

  test('another page within 10 s: not a jump; exactly 10 s later: a jump (within is exclusive)', async () => {
    const within = await runInMemory(dwdLogJob, recs([pageLine('k', T), pageLine('k', T + 9999, { last: 'home' })]), { batch: 1 });
    expect(jumpTs(within.outputs)).toEqual([]);
    const at10 = await runInMemory(dwdLogJob, recs([pageLine('k', T), pageLine('k', T + 10_000, { last: 'home' })]), { batch: 1 });
    expect(jumpTs(at10.outputs)).toEqual([T]);
  });

  test('strict next: a session start followed by another session start within 10 s → the first is a jump at once', async () => {
    const r = await runInMemory(dwdLogJob, recs([pageLine('n', T), pageLine('n', T + 4000), pageLine('n', T + 8000, { last: 'home' })]), { batch: 1 });
    // T matched (next is a start); T + 4000 followed by a non-start within 10 s → not a jump.
    expect(jumpTs(r.outputs)).toEqual([T]);
    // The match is emitted as soon as the watermark passes the second start, before T + 10 s.
    const early = await runInMemory(dwdLogJob, recs([pageLine('n', T), pageLine('n', T + 4000), pageLine('z', T + 7001, { last: 'x' })]), { batch: 1, drain: false });
    expect(jumpTs(early.outputs)).toEqual([T]);
  });

  test('pages out of order within the bound are put back in event-time order', async () => {
    // The second page arrives first; the session start (2 s earlier) is still above the watermark.
    const r = await runInMemory(dwdLogJob, recs([pageLine('o', T + 2000, { last: 'home' }), pageLine('o', T)]), { batch: 1 });
    expect(jumpTs(r.outputs)).toEqual([]);
    expect(r.counters.user_jump_late ?? 0).toBe(0);
    // Two session starts out of order: the earlier matches (next is a start), the later times out.
    const two = await runInMemory(dwdLogJob, recs([pageLine('q', T + 2500), pageLine('q', T)]), { batch: 1 });
    expect(jumpTs(two.outputs).sort()).toEqual([T, T + 2500]);
    // In arrival order alone, the start at T + 2500 would have been followed by nothing before T (a false result).
    const trio = await runInMemory(dwdLogJob, recs([pageLine('s', T + 1000), pageLine('s', T + 2000, { last: 'home' }), pageLine('s', T)]), { batch: 1 });
    // Ordered: start T, start T+1000 (→ T is a jump), page T+2000 (→ T+1000 is not).
    expect(jumpTs(trio.outputs)).toEqual([T]);
  });

  test('a page at or below the watermark is late: counted, skipped by the pattern, still a page record', async () => {
    const r = await runInMemory(dwdLogJob, recs([pageLine('l', T), pageLine('m', T + 20_000, { last: 'home' }), pageLine('l', T + 5000, { last: 'home' })]), { batch: 1 });
    expect(r.counters.user_jump_late).toBe(1);
    expect(jumpTs(r.outputs)).toEqual([T]); // already decided when the late page came
    expect(by(r.outputs, 'page')).toHaveLength(3);
  });

  test('a restart in the middle of a pattern gives the same result as one run', async () => {
    const lines = [pageLine('r', T), pageLine('r', T + 4000), pageLine('r', T + 6000, { last: 'home' }), pageLine('r', T + 30_000), pageLine('s', T + 45_000)];
    const whole = await runInMemory(dwdLogJob, recs(lines), { batch: 1 });
    const opts = resolveOptions(dwdLogJob);
    const first = new Engine(dwdLogJob, opts, { now: () => 0 });
    await first.processBatch(recs(lines).slice(0, 2));
    first.advance();
    const cp = first.checkpoint();
    expect(cp.state.some((s) => s.namespace === NS.jump && s.key === 'r')).toBe(true);
    const second = new Engine(dwdLogJob, opts, { now: () => 0 });
    second.restore(cp.state, cp.timersAdded, cp.partitionTimes, cp.watermark);
    for (const rec of recs(lines).slice(2)) {
      await second.processBatch([rec]);
      second.advance();
    }
    second.drain();
    const out = [...cp.outputs, ...second.checkpoint().outputs];
    expect(jumpTs(out)).toEqual(jumpTs(whole.outputs));
    expect(jumpTs(out)).toEqual([T, T + 30_000, T + 45_000]);
  });
});
