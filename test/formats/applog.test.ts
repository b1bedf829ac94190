/** validateAppLog / parseAppLog: real-world lines pass, broken ones fail with reasons that name the field. */
import { describe, expect, test } from 'bun:test';
import { appLogEtlReasons, appLogType, parseAppLog, validateAppLog } from '../../src/formats/applog';

// Lines in the shapes of the public generators' output (2022 start / page with actions; 2023 page).
const START_2022 =
  '{"common":{"ar":"110000","ba":"iPhone","ch":"Appstore","is_new":"1","md":"iPhone X","mid":"mid_8","os":"iOS 13.2.3","uid":"27","vc":"v2.1.134"},"start":{"entry":"icon","loading_time":5151,"open_ad_id":11,"open_ad_ms":6184,"open_ad_skip_ms":5848},"ts":1638203457000}';
const PAGE_2022 =
  '{"actions":[{"action_id":"trade_add_address","ts":1638203464133}],"common":{"ar":"310000","ba":"Xiaomi","ch":"xiaomi","is_new":"0","md":"Xiaomi 9","mid":"mid_11","os":"Android 8.1","uid":"40","vc":"v2.1.134"},"err":{"error_code":1234,"msg":" Exception in thread \\\\  java.net.SocketTimeoutException"},"page":{"during_time":10267,"item":"1,2,9","item_type":"sku_ids","last_page_id":"cart","page_id":"trade"},"ts":1638203459000}';
const PAGE_2023 =
  '{"actions":[{"action_id":"favor_add","item":"10","item_type":"sku_id","ts":1712021915706}],"common":{"ar":"21","ba":"vivo","ch":"vivo","is_new":"0","md":"vivo IQOO Z6x","mid":"mid_402","os":"Android 13.0","sid":"e9768b74-09a2-4a64-8007-def860803b04","uid":"268","vc":"v2.1.134"},"displays":[{"item":"9","item_type":"sku_id","pos_id":4,"pos_seq":0}],"page":{"during_time":6073,"from_pos_id":4,"from_pos_seq":3,"item":"10","item_type":"sku_id","last_page_id":"good_detail","page_id":"good_detail"},"ts":1712021913706}';

function obj(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

/** A copy of `line` with `edit` applied to the parsed object. */
function broken(line: string, edit: (o: Record<string, any>) => void): Record<string, unknown> {
  const o = obj(line);
  edit(o);
  return o;
}

describe('good records', () => {
  test.each([START_2022, PAGE_2022, PAGE_2023])('%#: no reasons', (line) => {
    expect(validateAppLog(obj(line))).toEqual([]);
    expect(parseAppLog(line)).toMatchObject({ ok: true });
  });

  test('a logged-out visitor (no uid, or uid null) is fine', () => {
    expect(validateAppLog(broken(START_2022, (o) => delete o.common.uid))).toEqual([]);
    expect(validateAppLog(broken(START_2022, (o) => (o.common.uid = null)))).toEqual([]);
  });

  test('unknown extra fields are tolerated', () => {
    expect(validateAppLog(broken(PAGE_2022, (o) => (o.page.extend1 = 'x')))).toEqual([]);
  });
});

describe('broken records: each reason starts with the field path', () => {
  const cases: [string, Record<string, unknown> | unknown, string][] = [
    ['not an object', [1, 2], '(record): expected a JSON object, got an array'],
    ['no common', broken(START_2022, (o) => delete o.common), 'common: expected an object, got nothing'],
    ['no mid', broken(START_2022, (o) => delete o.common.mid), 'common.mid: expected a non-empty string, got nothing'],
    ['empty mid', broken(START_2022, (o) => (o.common.mid = '')), 'common.mid: expected a non-empty string, got string ""'],
    ['is_new 2', broken(START_2022, (o) => (o.common.is_new = '2')), 'common.is_new: expected one of 0, 1, got string "2"'],
    ['uid a number', broken(START_2022, (o) => (o.common.uid = 27)), 'common.uid: expected a non-empty string, got number 27'],
    ['ts in seconds', broken(START_2022, (o) => (o.ts = 1638203457)), 'ts: expected epoch milliseconds (13 digits), got number 1638203457'],
    ['ts a string', broken(START_2022, (o) => (o.ts = '1638203457000')), 'ts: expected epoch milliseconds (a whole number), got string "1638203457000"'],
    ['no ts', broken(START_2022, (o) => delete o.ts), 'ts: expected epoch milliseconds (a whole number), got nothing'],
    // 1e400 parses to Infinity, which JSON.stringify writes as null ("got number null")
    ['ts too large', broken(START_2022, (o) => (o.ts = Infinity)), 'ts: expected epoch milliseconds (a whole number), got number Infinity'],
    ['neither start nor page', broken(START_2022, (o) => delete o.start), 'start, page: expected one of them, got neither'],
    ['both start and page', broken(PAGE_2022, (o) => (o.start = obj(START_2022).start)), 'start, page: a record is either a start log or a page log, not both'],
    ['negative loading_time', broken(START_2022, (o) => (o.start.loading_time = -1)), 'start.loading_time: expected a whole number >= 0, got number -1'],
    ['no page_id', broken(PAGE_2022, (o) => delete o.page.page_id), 'page.page_id: expected a non-empty string, got nothing'],
    ['during_time a string', broken(PAGE_2022, (o) => (o.page.during_time = '10')), 'page.during_time: expected a whole number >= 0, got string "10"'],
    ['item without item_type', broken(PAGE_2022, (o) => delete o.page.item_type), 'page.item, page.item_type: expected both or neither, got only item'],
    ['displays not an array', broken(PAGE_2023, (o) => (o.displays = {})), 'displays: expected an array, got an object'],
    ['display without item', broken(PAGE_2023, (o) => delete o.displays[0].item), 'displays[0].item: expected a non-empty string, got nothing'],
    ['pos_seq a string', broken(PAGE_2023, (o) => (o.displays[0].pos_seq = '0')), 'displays[0].pos_seq: expected a whole number >= 0, got string "0"'],
    ['action without ts', broken(PAGE_2022, (o) => delete o.actions[0].ts), 'actions[0].ts: expected epoch milliseconds (a whole number), got nothing'],
    ['action id missing', broken(PAGE_2023, (o) => delete o.actions[0].action_id), 'actions[0].action_id: expected a non-empty string, got nothing'],
    ['displays on a start log', broken(START_2022, (o) => (o.displays = [])), 'displays: only page logs carry displays'],
    ['err code a string', broken(PAGE_2022, (o) => (o.err.error_code = '1234')), 'err.error_code: expected a whole number >= 0, got string "1234"'],
    ['err without msg', broken(PAGE_2022, (o) => delete o.err.msg), 'err.msg: expected a non-empty string, got nothing'],
  ];
  test.each(cases)('%s', (_name, record, reason) => {
    expect(validateAppLog(record)).toContain(reason);
  });

  test('several problems give several reasons', () => {
    const r = validateAppLog(broken(PAGE_2022, (o) => {
      delete o.common.mid;
      o.ts = 5;
      o.page.during_time = -3;
    }));
    expect(r).toEqual([
      'common.mid: expected a non-empty string, got nothing',
      'ts: expected epoch milliseconds (13 digits), got number 5',
      'page.during_time: expected a whole number >= 0, got number -3',
    ]);
  });

  test('parseAppLog: a line that is not JSON', () => {
    const r = parseAppLog('{"common":{"mid":"mid_1"},"ts":16');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reasons[0]).toStartWith('(record): not JSON (');
  });
});

describe('appLogEtlReasons: the ods_log ETL keeps a JSON object with an object common and a numeric ts, nothing more', () => {
  test('kept: the minimal seed record, a page without during_time, ts in seconds, the real shapes', () => {
    for (const o of [
      { common: { mid: 'm1' }, ts: 1736841600000 },
      broken(PAGE_2022, (x) => delete x.page.during_time),
      { common: {}, ts: 1736841600 },
      obj(START_2022),
      obj(PAGE_2023),
    ]) {
      expect(appLogEtlReasons(o)).toEqual([]);
    }
    // The format's validator still finds fault with the first two (tail --etl reports that as a warning).
    expect(validateAppLog({ common: { mid: 'm1' }, ts: 1736841600000 })).toEqual(['start, page: expected one of them, got neither']);
  });

  test.each([
    ['not an object', [1], '(record): expected a JSON object, got an array'],
    ['no common', { ts: 1 }, 'common: expected an object, got nothing'],
    ['common a string', { common: 'x', ts: 1 }, 'common: expected an object, got string "x"'],
    ['common an array', { common: [], ts: 1 }, 'common: expected an object, got an array'],
    ['ts a string', { common: {}, ts: '1736841600000' }, 'ts: expected a number, got string "1736841600000"'],
    ['ts null', { common: {}, ts: null }, 'ts: expected a number, got null'],
    ['no ts', { common: {} }, 'ts: expected a number, got nothing'],
  ])('dropped: %s', (_name, o, reason) => {
    expect(appLogEtlReasons(o)).toEqual([reason]);
  });

  test('appLogType: start, page, or other', () => {
    expect(appLogType(obj(START_2022))).toBe('start');
    expect(appLogType(obj(PAGE_2022))).toBe('page');
    expect(appLogType({ common: {}, ts: 1 })).toBe('other');
  });
});
