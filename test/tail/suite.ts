/**
 * `rtwh tail` against a real bus, the same tests for the embedded bus and for Kafka: every offset form with known
 * records and timestamps (exact offsets checked), -n, ranges, --partition, -f until aborted, --group commits,
 * --etl counts and reasons, big numbers end to end, and the malformed-record corpus.
 *
 * Layout of the offsets topic: partition 0 holds 10 records at T0 + i s, partition 1 holds 5 at T0 + i s + 500 ms.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../src/bus/index';
import type { Bus, ProduceMessage } from '../../src/bus/types';
import { openBusSource } from '../../src/tail/bus-source';
import { openKafkaFetchSource } from '../../src/tail/kafka-fetch';
import { runTail } from '../../src/tail/run';
import type { TailSource } from '../../src/tail/source';
import { cli, tempDir } from '../helpers/cli';
import { countOf } from '../../src/cli/progress';
import * as S from '../formats/corpus/good';
import { CORPUS, generatedCorpus } from '../formats/corpus/index';

export const T0 = Date.parse('2025-01-14T00:00:00Z');

export interface SuiteBus {
  url: string;
  /** Before anything: fail (never skip) when the service is not there. */
  ready(): Promise<void>;
  /** Per-topic config needed for the 5 MB records. */
  bigTopicConfig: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * `tail_<what>_<base36 ms>_<6 chars>`: underscores, so the sweeps of other suites (which match `-<ms>-<rand>`)
 * never delete these topics while this suite runs.
 */
export function uniqueTopic(prefix: string): string {
  return `${prefix.replace(/-/g, '_')}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

function maxwell(id: number, p: number): string {
  return `{"database":"gmall","table":"order_info","type":"insert","ts":${T0 / 1000 + id},"xid":${id},"commit":true,"data":{"id":${id},"p":${p}}}`;
}

interface Env {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  key: string | null;
  headers: Record<string, string>;
  value?: unknown;
}

function lines(stdout: string): Env[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Env);
}

function offsets(stdout: string): string[] {
  return lines(stdout)
    .map((e) => `${e.partition}:${e.offset}`)
    .sort((a, b) => {
      const [pa, oa] = a.split(':').map(Number);
      const [pb, ob] = b.split(':').map(Number);
      return pa! - pb! || oa! - ob!;
    });
}

const range = (p: number, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${p}:${from + i}`);

export function tailSuite(kind: 'sqlite' | 'kafka', make: () => Promise<SuiteBus>): void {
  describe(`rtwh tail on ${kind}`, () => {
    let sb: SuiteBus;
    let bus: Bus;
    let cwd: string;
    const env = () => ({ RTWH_BUS: sb.url });
    const run = (argv: string[]) => cli(argv, { env: env(), cwd });

    async function topic(prefix: string, partitions = 1, config: Record<string, string> = {}): Promise<string> {
      const name = uniqueTopic(prefix);
      const admin = await bus.admin();
      try {
        // The records carry 2025 timestamps (T0): on Kafka the default 7-day retention would delete them at its
        // next check (every 5 minutes), in the middle of the suite; keep them.
        const keep: Record<string, string> = kind === 'kafka' ? { 'retention.ms': '-1' } : {};
        await admin.createTopic({ name, partitions, config: { ...keep, ...config } });
      } finally {
        await admin.close();
      }
      return name;
    }

    async function produce(t: string, msgs: ProduceMessage[]): Promise<void> {
      const p = await bus.producer();
      try {
        for (let i = 0; i < msgs.length; i += 50) await p.send(t, msgs.slice(i, i + 50));
      } finally {
        await p.close();
      }
    }

    let OFFS = '';
    beforeAll(async () => {
      sb = await make();
      await sb.ready();
      bus = await openBus(sb.url, { cwd: tempDir() });
      cwd = tempDir('rtwh-tail-');
      OFFS = await topic('tail-offsets', 2);
      const msgs: ProduceMessage[] = [];
      for (let i = 0; i < 10; i++) msgs.push({ partition: 0, timestamp: T0 + i * 1000, key: `k${i}`, value: maxwell(i, 0), headers: i === 0 ? { source: 'test' } : {} });
      for (let i = 0; i < 5; i++) msgs.push({ partition: 1, timestamp: T0 + i * 1000 + 500, key: null, value: maxwell(100 + i, 1) });
      await produce(OFFS, msgs);
    }, 60_000);

    afterAll(async () => {
      await bus?.close();
      await sb?.cleanup();
    });

    describe('offsets', () => {
      const all = [...range(0, 0, 10), ...range(1, 0, 5)];
      const at = (s: number) => String(T0 + s * 1000);
      test.each([
        ['start', all],
        ['end', []],
        ['3', [...range(0, 3, 10), ...range(1, 3, 5)]],
        ['+2', [...range(0, 2, 10), ...range(1, 2, 5)]],
        ['-3', [...range(0, 7, 10), ...range(1, 2, 5)]],
        ['2:5', [...range(0, 2, 5), ...range(1, 2, 5)]],
        [':2', [...range(0, 0, 2), ...range(1, 0, 2)]],
        ['8:end', [...range(0, 8, 10)]],
        [`@${at(3)}`, [...range(0, 3, 10), ...range(1, 3, 5)]],
        [`@${at(3)}:${at(6)}`, [...range(0, 3, 6), ...range(1, 3, 5)]],
        [`@${at(3)}:2s`, [...range(0, 3, 5), ...range(1, 3, 5)]],
        [`@${(T0 / 1000 + 7).toString()}`, [...range(0, 7, 10)]],
        ['@2025-01-14', all],
        ['@2025-01-15', []],
        ['@2025-01-14T08:00:04+08:00', [...range(0, 4, 10), ...range(1, 4, 5)]],
        ['@2025-01-14T00:00:08.500Z', [...range(0, 9, 10)]],
        ['@:' + at(1), [...range(0, 0, 1), ...range(1, 0, 1)]],
        ['@-1h', []],
      ])('-o %s', async (spec, want) => {
        const r = await run(['tail', OFFS, '-o', spec]);
        expect(r.stderr).toContain(`read ${countOf(want.length, 'records')} from`);
        expect(r.code).toBe(0);
        expect(offsets(r.stdout)).toEqual(want);
      });

      test('relative times: @-1h and @-30m:-10m against records of the last hours', async () => {
        const t = await topic('tail-rel');
        const now = Date.now();
        await produce(t, [-120, -50, -20, -5].map((m, i) => ({ partition: 0, timestamp: now + m * 60_000, value: maxwell(i, 0) })));
        expect(offsets((await run(['tail', t, '-o', '@-1h'])).stdout)).toEqual(['0:1', '0:2', '0:3']);
        expect(offsets((await run(['tail', t, '-o', '@-30m:-10m'])).stdout)).toEqual(['0:2']);
        expect(offsets((await run(['tail', t, '-o', '@-3h:1h'])).stdout)).toEqual(['0:0']);
      });

      test('-n stops after N records; --partition reads one partition', async () => {
        expect(lines((await run(['tail', OFFS, '-n', '4'])).stdout)).toHaveLength(4);
        expect(offsets((await run(['tail', OFFS, '--partition', '1', '-o', '1:3'])).stdout)).toEqual(['1:1', '1:2']);
        expect(offsets((await run(['tail', OFFS, '--partition', '0', '-o', '-2', '-n', '1'])).stdout)).toEqual(['0:8']);
      });

      test('the envelope: topic, partition, offset, timestamp, key, headers, value', async () => {
        const [e] = lines((await run(['tail', OFFS, '--partition', '0', '-n', '1'])).stdout);
        expect(Object.keys(e!)).toEqual(['topic', 'partition', 'offset', 'timestamp', 'key', 'headers', 'value']);
        expect(e).toEqual({ topic: OFFS, partition: 0, offset: 0, timestamp: T0, key: 'k0', headers: { source: 'test' }, value: JSON.parse(maxwell(0, 0)) });
        const [m] = lines((await run(['tail', OFFS, '--partition', '1', '-n', '1', '--meta-only'])).stdout);
        expect(m).toEqual({ topic: OFFS, partition: 1, offset: 0, timestamp: T0 + 500, key: null, headers: {} });
      });

      test('bad -o is a usage error naming the value; a missing topic is TOPIC_NOT_FOUND', async () => {
        const bad = await run(['tail', OFFS, '-o', '5:x']);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain('invalid -o "5:x"');
        expect(bad.stderr).toContain('@T1:T2');
        const missing = await run(['tail', uniqueTopic('tail-missing'), '--json']);
        expect(missing.code).toBe(6);
        expect(JSON.parse(missing.stderr).error.code).toBe('TOPIC_NOT_FOUND');
        const part = await run(['tail', OFFS, '--partition', '7']);
        expect(part.code).toBe(2);
        expect(part.stderr).toContain('invalid --partition "7"');
      });
    });

    test('--group commits what it printed; the next run goes on from there', async () => {
      const group = uniqueTopic('tail-group');
      const first = await run(['tail', OFFS, '--group', group, '-n', '6']);
      expect(first.code).toBe(0);
      expect(lines(first.stdout)).toHaveLength(6);
      const lag = await run(['groups', 'describe', group, '--format', 'json']);
      const rows = JSON.parse(lag.stdout) as Record<string, unknown>[];
      const committed = rows.reduce((n, r) => n + (Number(r['CURRENT-OFFSET']) || 0), 0);
      expect(committed).toBe(6);
      const second = await run(['tail', OFFS, '--group', group]);
      expect(second.code).toBe(0);
      const seen = [...offsets(first.stdout), ...offsets(second.stdout)].sort();
      expect(seen).toEqual([...range(0, 0, 10), ...range(1, 0, 5)].sort());
      // An explicit -o wins over the committed offsets.
      expect(offsets((await run(['tail', OFFS, '--group', group, '-o', '-1'])).stdout)).toEqual(['0:9', '1:4']);
    }, 60_000);

    test('-f follows new records until aborted', async () => {
      const t = await topic('tail-follow');
      await produce(t, [{ value: maxwell(1, 0) }]);
      const loc = sb.url.startsWith('kafka://') ? sb.url.slice('kafka://'.length).split(',') : null;
      const opts = { topic: t, follow: true };
      const source: TailSource = loc ? await openKafkaFetchSource(loc, opts) : await openBusSource(bus, opts);
      const ac = new AbortController();
      let out = '';
      const done = runTail({
        source,
        format: 'jsonl',
        etl: null,
        limit: null,
        metaOnly: false,
        quiet: true,
        write: async (c) => {
          out += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
        },
        warn: () => {},
        signal: ac.signal,
        pollMs: 100,
      });
      const until = async (n: number) => {
        const deadline = Date.now() + 20_000;
        while (lines(out).length < n && Date.now() < deadline) await Bun.sleep(50);
        return lines(out).length;
      };
      expect(await until(1)).toBe(1);
      await produce(t, [{ value: maxwell(2, 0) }, { value: maxwell(3, 0) }]);
      expect(await until(3)).toBe(3);
      ac.abort();
      const stats = await Promise.race([done, Bun.sleep(5000).then(() => null)]);
      await source.close();
      expect(stats?.read).toBe(3);
    }, 60_000);

    test('--etl: counts per table × type and per reason; each rejected record on stderr with its reason', async () => {
      const t = await topic('tail-etl');
      const values: (string | null)[] = [
        S.MAXWELL_INSERT,
        S.MAXWELL_UPDATE,
        S.MAXWELL_DELETE,
        S.MAXWELL_BOOTSTRAP_START,
        S.MAXWELL_BOOTSTRAP_INSERT,
        S.MAXWELL_DDL,
        S.withDatabase(S.MAXWELL_INSERT, 'gmall2022'),
        '{"database":"gmall","table":"order_info","type":"insert","ts":1736821234,"data":{}}',
        '{"database":"gmall",',
        '{"hello":"world"}',
        '{"database":"gmall","table":"order_info","type":"insert","ts":1736821234000,"data":{"id":1}}',
        null,
        S.DEBEZIUM_CREATE,
        S.DEBEZIUM_DELETE,
        S.CANAL_INSERT,
        S.APPLOG_START,
        S.APPLOG_PAGE,
      ];
      await produce(t, values.map((value) => ({ value })));
      const r = await run(['tail', t, '--etl']);
      expect(r.code).toBe(0);
      const kept = lines(r.stdout).map((e) => e.offset);
      expect(kept).toEqual([0, 1, 4, 12, 14, 15, 16]);
      // The record itself follows its reason on the same line.
      expect(r.stderr).toContain(`${t}[0]@2: delete: type delete · record ${S.MAXWELL_DELETE}\n`);
      expect(r.stderr).toContain(`${t}[0]@8: invalid JSON: `);
      expect(r.stderr).toContain(` · record "{\\"database\\":\\"gmall\\","\n`);
      expect(r.stderr).toContain(`${t}[0]@11: null value: the record has no value (a tombstone)\n`);
      for (const [off, reason] of [
        [2, 'delete'],
        [3, 'other type: type bootstrap-start'],
        [5, 'other type: type table-alter'],
        [6, 'wrong database: database "gmall2022", expected "gmall"'],
        [7, 'empty data'],
        [8, 'invalid JSON'],
        [9, 'unknown format'],
        [10, 'invalid maxwell: ts: looks like ms'],
        [11, 'null value'],
        [13, 'delete: op d'],
      ] as const) {
        expect(r.stderr).toContain(`${t}[0]@${off}: ${reason}`);
      }
      expect(r.stderr).toContain('read 17 records');
      expect(r.stderr).toContain('kept 7 · rejected 10');
      expect(r.stderr).toMatch(/order_info\s+1\s+1/); // insert, update
      expect(r.stderr).toMatch(/base_province\s+3\s+0/); // bootstrap-insert + debezium c + canal INSERT
      expect(r.stderr).toMatch(/applog\s+0\s+0\s+1\s+1/); // start, page
      expect(r.stderr).toMatch(/delete\s+2/);

      const quiet = await run(['tail', t, '--etl', '--quiet', '--database', 'gmall2022', '--json']);
      const summary = JSON.parse(quiet.stderr.trim().split('\n').pop()!).summary as { kept: number; reasons: Record<string, number>; kinds: Record<string, Record<string, number>> };
      expect(summary.kept).toBe(3); // the gmall2022 insert and the two app logs
      expect(summary.reasons['wrong database']).toBe(10);
      expect(summary.kinds.order_info).toEqual({ insert: 1 });
      expect(quiet.stderr).not.toContain(`${t}[0]@`);

      const configured = await cli(['tail', t, '--etl', '--quiet'], { env: { ...env(), RTWH_ETL_DATABASE: 'gmall2022' }, cwd });
      expect(lines(configured.stdout)).toHaveLength(3);
    }, 60_000);

    test('big integers and decimals come out digit for digit (jsonl, json, raw)', async () => {
      const t = await topic('tail-big');
      await produce(t, [{ value: S.BIG_NUMBERS, key: '{"database":"gmall","table":"big_numbers","pk.id":9007199254740993}' }]);
      const jl = await run(['tail', t, '--etl']);
      expect(jl.stdout).toContain(`"value":${S.BIG_NUMBERS}}`);
      expect(jl.stdout).toContain('"key":"{\\"database\\":\\"gmall\\",\\"table\\":\\"big_numbers\\",\\"pk.id\\":9007199254740993}"');
      const pretty = await run(['tail', t, '--format', 'json']);
      for (const n of ['9007199254740993', '18446744073709551615', '123456789012345678901234.123456789', '0.000000000000000000000000000001', '-9007199254740993']) {
        expect(pretty.stdout).toContain(`: ${n}`);
      }
      expect(JSON.parse(pretty.stdout).value.data.id).toBe(9007199254740992); // a double here proves only that it is JSON
      const raw = await run(['tail', t, '--format', 'raw']);
      expect(raw.stdout).toBe(`${S.BIG_NUMBERS}\n`);
      const table = await run(['tail', t, '--format', 'table']);
      expect(table.stdout).toContain('big_numbers');
      expect(table.stdout).toContain('1 row');
    }, 60_000);

    test('--etl by role: ods_log keeps JSON objects with common and ts (warning on format faults), ods_db rows only', async () => {
      const t = await topic('tail-roles');
      const SEED = '{"common":{"mid":"m1"},"ts":1736841600000}';
      const NO_DURATION = S.APPLOG_PAGE.replace('"during_time":10267,', '');
      const values = [SEED, NO_DURATION, S.APPLOG_START, S.MAXWELL_INSERT, '{"common":{"mid":"m1"},"ts":"1"}', '{"common":'];
      await produce(t, values.map((value) => ({ value })));

      const log = await run(['tail', t, '--etl-as', 'log']);
      expect(log.code).toBe(0);
      expect(lines(log.stdout).map((e) => e.value)).toEqual([JSON.parse(SEED), JSON.parse(NO_DURATION), JSON.parse(S.APPLOG_START)]);
      expect(log.stderr).toContain(`${t}[0]@0: kept, with a warning: invalid applog: start, page: expected one of them, got neither`);
      expect(log.stderr).toContain(`${t}[0]@1: kept, with a warning: invalid applog: page.during_time: expected a whole number >= 0, got nothing`);
      expect(log.stderr).toContain(`${t}[0]@3: not an app log: common: expected an object, got nothing · record ${S.MAXWELL_INSERT}\n`);
      expect(log.stderr).toContain(`${t}[0]@4: not an app log: ts: expected a number, got string "1" · record {"common":{"mid":"m1"},"ts":"1"}\n`);
      expect(log.stderr).toContain(`${t}[0]@5: invalid JSON`);
      expect(log.stderr).toContain('kept 3 · rejected 3 · warnings 2');
      expect(log.stderr).toMatch(/applog\s+1\s+1\s+1/); // start, page, other
      expect(log.stderr).toMatch(/kept with a warning\s+count\n\s+invalid applog\s+2/);

      const db = await run(['tail', t, '--etl-as', 'db', '--json']);
      expect(lines(db.stdout).map((e) => e.offset)).toEqual([3]);
      expect(db.stderr).toContain(`${t}[0]@0: wrong format: an app log, not a row change`);
      const summary = JSON.parse(db.stderr.trim().split('\n').pop()!).summary as { reasons: Record<string, number>; warnings: Record<string, number> };
      expect(summary.reasons).toEqual({ 'wrong format': 4, 'invalid JSON': 1 });
      expect(summary.warnings).toEqual({});

      // Another topic name: auto, each record by its format (the app logs by the log rule, the row by the db rule).
      const auto = await run(['tail', t, '--etl', '--quiet']);
      expect(lines(auto.stdout).map((e) => e.offset)).toEqual([0, 1, 2, 3]);
      expect(auto.stderr).toContain('kept 4 · rejected 2 · warnings 2');
      expect(auto.stderr).not.toContain(`${t}[0]@`);

      const bad = await run(['tail', t, '--etl-as', 'logs']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('logs');
    }, 60_000);

    test('--etl prints a kept bootstrap-insert as insert: only that token changes (jsonl, json, raw, table)', async () => {
      const t = await topic('tail-bootstrap');
      // The scanner's path (plain record), the general path (a field the scanner does not know, line breaks).
      const big = S.BIG_NUMBERS.replace('"type":"insert","ts":1736821234,"xid":1,"commit":true', '"type":"bootstrap-insert","ts":1736821234');
      const odd = '{"database":"gmall","table":"t","extra":{"type":"bootstrap-insert"},"type":"bootstrap-insert","ts":1736821234,"data":{"n":12345678901234567890}}';
      const spread = '{"database":"gmall",\n "table":"t", "type" : "bootstrap-insert",\n "ts":1736821234,"data":{"n":1.000000000000000000001}}';
      await produce(t, [{ value: big }, { value: odd }, { value: spread }, { value: S.MAXWELL_BOOTSTRAP_START }]);
      const edited = [big, odd, spread].map((v) => v.replace(/"type"( ?: ?)"bootstrap-insert"(,"ts")/, '"type"$1"insert"$2').replace(/("type" : )"bootstrap-insert"/, '$1"insert"'));
      expect(edited[0]).toBe(S.BIG_NUMBERS.replace(',"xid":1,"commit":true', ''));
      expect(edited[1]).toContain('"extra":{"type":"bootstrap-insert"},"type":"insert"');

      const jl = await run(['tail', t, '--etl']);
      expect(jl.code).toBe(0);
      const out = jl.stdout.trim().split('\n');
      expect(out).toHaveLength(3);
      expect(out[0]).toEndWith(`"value":${edited[0]}}`);
      expect(out[1]).toEndWith(`"value":${edited[1]}}`);
      expect(out[2]).toEndWith(`"value":${edited[2]!.replace(/\n/g, ' ')}}`);
      expect(jl.stderr).toMatch(/big_numbers\s+1\n/);
      expect(jl.stderr).toMatch(/\bt\s+2\n/);

      const raw = await run(['tail', t, '--etl', '--format', 'raw']);
      expect(raw.stdout).toBe(`${edited.join('\n')}\n`);

      const pretty = await run(['tail', t, '--etl', '--format', 'json']);
      // Only the nested member of `odd` still says bootstrap-insert: it is data, not the record's type.
      expect(pretty.stdout.match(/"type": "bootstrap-insert"/g)).toHaveLength(1);
      expect(pretty.stdout.match(/"type": "insert"/g)).toHaveLength(3);
      for (const n of ['9007199254740993', '18446744073709551615', '123456789012345678901234.123456789', '12345678901234567890', '1.000000000000000000001']) expect(pretty.stdout).toContain(`: ${n}`);

      const table = await run(['tail', t, '--etl', '--format', 'table']);
      expect(table.stdout).toContain(edited[0]!);
      expect(table.stdout).toContain(edited[1]!);
      expect(table.stdout).not.toMatch(/"type" ?: ?"bootstrap-insert",/);

      // Without --etl nothing is edited: the records as they came.
      expect((await run(['tail', t, '--format', 'raw'])).stdout).toBe(`${[big, odd, spread, S.MAXWELL_BOOTSTRAP_START].join('\n')}\n`);
    }, 60_000);

    test('--format table: every cell whole outside a terminal; on one, cut to fit and counted', async () => {
      const t = await topic('tail-table');
      const key = `k-${'key'.repeat(30)}-end`;
      const long = S.BIG_NUMBERS.replace('"neg":', `"note":"${'长'.repeat(60)}${'x'.repeat(300)}","neg":`);
      await produce(t, [{ value: long, key }, { value: S.MAXWELL_INSERT }]);
      const pipe = await run(['tail', t, '--format', 'table']);
      expect(pipe.code).toBe(0);
      expect(pipe.stdout).toContain(`│ ${key} │`);
      expect(pipe.stdout).toContain(long);
      expect(pipe.stdout).not.toContain('…');
      expect(pipe.stdout).not.toContain('shortened');
      expect(pipe.stdout).toContain('2 rows');

      const tty = await cli(['tail', t, '--format', 'table'], { env: env(), cwd, isTTY: true });
      expect(tty.code).toBe(0);
      expect(tty.stdout).toContain('…');
      // Both values and the long key (its column may be left out too: the box footer says so).
      expect(tty.stdout).toContain('(3 cells shortened to fit the terminal, marked …; --format jsonl, or a pipe, shows them whole)');
      expect(tty.stdout).not.toContain(long);
      for (const l of tty.stdout.split('\n').filter((x) => x.startsWith('│') || x.startsWith('┌'))) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(120);
    }, 60_000);

    test('the malformed corpus: each record rejected with its reason, tail goes on', async () => {
      const t = await topic('tail-corpus', 1, sb.bigTopicConfig);
      const dir = join(import.meta.dir, '..', 'formats', 'corpus');
      const files = readdirSync(dir).filter((f) => f in CORPUS).sort();
      const gen = generatedCorpus();
      const msgs: ProduceMessage[] = [
        ...files.map((f) => ({ value: readFileSync(join(dir, f)), key: f })),
        ...Object.entries(gen).map(([name, [bytes]]) => ({ value: bytes, key: name })),
        { value: null, key: 'null value' },
        { value: S.MAXWELL_INSERT, key: 'good' },
      ];
      const p = await bus.producer();
      try {
        for (const m of msgs) await p.send(t, [m]);
      } finally {
        await p.close();
      }
      const r = await run(['tail', t, '--etl']);
      expect(r.code).toBe(0);
      // The bad app log has an object common and a numeric ts: the ods_log ETL keeps it, with its faults as a warning.
      expect(lines(r.stdout).map((e) => e.key)).toEqual(['applog-bad.json', 'good']);
      const expected = [...files.map((f) => CORPUS[f]![0]), ...Object.values(gen).map((g) => g[1]), 'null value'];
      msgs.slice(0, -1).forEach((m, i) => {
        if (m.key === 'applog-bad.json') expect(r.stderr).toContain(`${t}[0]@${i}: kept, with a warning: invalid applog: ${CORPUS[m.key]![1]}`);
        else expect(r.stderr).toContain(`${t}[0]@${i}: ${expected[i]}`);
      });
      expect(r.stderr).toContain(`kept 2 · rejected ${msgs.length - 2} · warnings 1`);
      // Each rejection on one line, with the record whole (not a terminal): 5 MB included, bad bytes as \xNN.
      const rejections = r.stderr.split('\n').filter((l) => l.startsWith(`${t}[0]@`) && !l.includes('kept, with a warning'));
      expect(rejections).toHaveLength(msgs.length - 2);
      // The 5 MB truncated record (not JSON: shown as a string literal), every byte of it.
      const huge = rejections.find((l) => l.startsWith(`${t}[0]@${files.length}:`))!;
      expect(huge.length).toBeGreaterThan(5 * 1024 * 1024);
      expect(huge.includes(`"blob\\":\\"${'x'.repeat(5 * 1024 * 1024)}"`)).toBe(true);
      const badUtf8 = rejections.find((l) => l.startsWith(`${t}[0]@${files.indexOf('invalid-utf8.bin')}:`))!;
      expect(badUtf8).toMatch(/ · record ".*\\x[0-9a-f]{2}.*"$/);
      expect(badUtf8).not.toContain('\ufffd');
      // Without --etl every record is printed (non-JSON as a string, a tombstone as null), the reasons still on stderr.
      const all = await run(['tail', t]);
      const printed = lines(all.stdout);
      expect(printed).toHaveLength(msgs.length);
      expect(printed.find((e) => e.key === 'text.txt')!.value).toBe('not json at all');
      expect(printed.find((e) => e.key === 'null value')!.value).toBeNull();
      expect(printed.find((e) => e.key === 'empty.bin')!.value).toBe('');
      // JSON over two lines is printed on one, as JSON.
      expect(printed.find((e) => e.key === 'two-lines.json')!.value).toEqual({ database: 'gmall', table: 'x' });
      expect(printed.find((e) => e.key === 'invalid-utf8.bin')!.value as string).toContain('\ufffd');
      // Without --etl the bad app log is invalid (validated against its format as before).
      expect(all.stderr).toContain(`${t}[0]@${files.indexOf('applog-bad.json')}: invalid applog: `);
      const pretty = await run(['tail', t, '--format', 'json', '--quiet']);
      expect(pretty.code).toBe(0);
    }, 120_000);
  });
}
