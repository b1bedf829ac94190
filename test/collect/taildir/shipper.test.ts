/**
 * ship log on the embedded bus, in-process: TAILDIR semantics (resume, rotation, truncation, partial lines,
 * oldest-first), the ETL interceptor's dead letters, and exactly-once recovery from a position file that lags
 * the bus. The kill -9 proof against real processes is in kill9.test.ts.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../../src/bus/index';
import { DLQ_HEADER } from '../../../src/bus/dead-letter';
import type { Bus, Producer } from '../../../src/bus/types';
import { parseFileGroup } from '../../../src/collect/taildir/file-group';
import { readPositions } from '../../../src/collect/taildir/position-file';
import { SOURCE_HEADER, sourceTag } from '../../../src/collect/taildir/recovery';
import { readShipState, statePathFor, writeShipState } from '../../../src/collect/taildir/ship-state';
import { shipLog, type ShipLogOptions } from '../../../src/collect/taildir/shipper';
import { RtwhError, rtwhError } from '../../../src/errors';
import { readTopic, tempDir, text } from '../helpers';

interface Env {
  dir: string;
  logs: string;
  pos: string;
  bus: Bus;
  logsSeen: string[];
}

const open: Bus[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

async function env(): Promise<Env> {
  const dir = tempDir();
  const logs = join(dir, 'applog');
  mkdirSync(logs);
  const bus = await openBus(`sqlite:${join(dir, 'bus.db')}`);
  open.push(bus);
  return { dir, logs, pos: join(dir, 'state', 'taildir_position.json'), bus, logsSeen: [] };
}

function ship(e: Env, extra: Partial<ShipLogOptions> = {}) {
  return shipLog({
    bus: e.bus,
    groups: [parseFileGroup(`${e.logs}/app.*`, '/')],
    topic: 'ods_log',
    positionFile: e.pos,
    once: true,
    log: (m) => e.logsSeen.push(m),
    ...extra,
  });
}

const good = (i: number, tag = 'x') => `{"i":${i},"tag":"${tag}"}`;
const lines = (from: number, to: number, tag = 'x') => Array.from({ length: to - from }, (_, k) => `${good(from + k, tag)}\n`).join('');
const values = async (e: Env, topic = 'ods_log') => (await readTopic(e.bus, topic)).map(text);

describe('ship log: what goes where', () => {
  test('good lines ship byte-for-byte (CRLF → LF content), key null, one rtwh.src header; others go to the DLQ with reason and position', async () => {
    const e = await env();
    const content = '{"a":1}\n{"a":"中文"}\r\nnot json\n[1,2]\n\n{"b":2}\n';
    // (and a JSON object whose bytes are not UTF-8: shipped, the jobs and tail --etl refused it on the topic)
    const file = Buffer.concat([Buffer.from(content), Buffer.from('{"bad":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    writeFileSync(join(e.logs, 'app.log'), file);
    const r = await ship(e);
    expect(r.lines).toBe(3);
    expect(r.rejected).toBe(4);
    const recs = await readTopic(e.bus, 'ods_log');
    expect(recs.map(text)).toEqual(['{"a":1}', '{"a":"中文"}', '{"b":2}']);
    for (const rec of recs) {
      expect(rec.key).toBeNull();
      expect(Object.keys(rec.headers)).toEqual([SOURCE_HEADER]);
    }
    const inode = String(statSync(join(e.logs, 'app.log')).ino);
    expect(recs[0]!.headers[SOURCE_HEADER]).toBe(sourceTag(readShipState(statePathFor(e.pos))!.shipper, inode, 8));

    const dead = await readTopic(e.bus, 'ods_log_dlq');
    expect(dead.map(text).slice(0, 3)).toEqual(['not json', '[1,2]', '']);
    expect([...dead[3]!.value!]).toEqual([...Buffer.from('{"bad":"'), 0xff, ...Buffer.from('"}')]);
    expect(dead.map((d) => d.headers[DLQ_HEADER.reason])).toEqual([
      expect.stringContaining('invalid JSON'),
      'valid JSON but not an object (array)',
      'empty line',
      'invalid UTF-8: byte 8 of 11 is not valid UTF-8',
    ]);
    expect(dead.map((d) => Number(d.headers[DLQ_HEADER.position]))).toEqual([
      ...[content.indexOf('not json'), content.indexOf('[1,2]'), content.indexOf('\n\n') + 1].map((i) => Buffer.byteLength(content.slice(0, i))),
      Buffer.byteLength(content),
    ]);
    expect(dead[0]!.headers[DLQ_HEADER.file]).toBe(join(e.logs, 'app.log'));
    expect(dead[0]!.headers[DLQ_HEADER.stage]).toBe('ship log');
    expect(readPositions(e.pos)).toEqual([{ inode, pos: file.length, file: join(e.logs, 'app.log') }]);
  });

  test('--key and --no-source-header', async () => {
    const e = await env();
    writeFileSync(join(e.logs, 'app.log'), '{"a":1}\n');
    await ship(e, { key: 'host-1', sourceHeader: false });
    const [rec] = await readTopic(e.bus, 'ods_log');
    expect(rec!.key?.toString()).toBe('host-1');
    expect(rec!.headers).toEqual({});
  });

  test('a line longer than the limit goes to the DLQ with its first bytes, and shipping goes on', async () => {
    const e = await env();
    const long = `{"big":"${'y'.repeat(300_000)}"}`;
    writeFileSync(join(e.logs, 'app.log'), `${good(1)}\n${long}\n${good(2)}\n`);
    const r = await ship(e, { maxLineBytes: 100_000, chunkBytes: 16 * 1024 });
    expect(r.lines).toBe(2);
    const [dead] = await readTopic(e.bus, 'ods_log_dlq');
    expect(dead!.headers[DLQ_HEADER.reason]).toContain(`line of ${long.length} bytes is longer than the limit of 100000 bytes`);
    expect(text(dead!)).toBe(long.slice(0, 64 * 1024));
    expect(await values(e)).toEqual([good(1), good(2)]);
  });

  test('the limit is the line\'s, wherever it falls in the read chunks (one that fit in its chunk was shipped)', async () => {
    const e = await env();
    const long = `{"big":"${'y'.repeat(150)}"}`;
    writeFileSync(join(e.logs, 'app.log'), `${long}\n${good(1)}\n${'z'.repeat(900)}\n${long}\n`);
    const r = await ship(e, { maxLineBytes: 100, chunkBytes: 1024 });
    expect(r.lines).toBe(1);
    const dead = await readTopic(e.bus, 'ods_log_dlq');
    expect(dead.map((d) => d.headers[DLQ_HEADER.reason])).toEqual([
      expect.stringContaining(`line of ${long.length} bytes is longer than the limit of 100 bytes`),
      expect.stringContaining('line of 900 bytes is longer than the limit of 100 bytes'),
      expect.stringContaining(`line of ${long.length} bytes is longer than the limit of 100 bytes`),
    ]);
    // (the dead letter keeps the line's first bytes: of one read across chunks, those the first chunk held)
    expect(dead.map(text)).toEqual([long, expect.stringMatching(/^z+$/), long]);
  });
});

describe('ship log: TAILDIR semantics', () => {
  test('a partial last line is held (not shipped) until its newline arrives', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, `${good(1)}\n{"i":2,`);
    const r1 = await ship(e);
    expect(r1.lines).toBe(1);
    expect(r1.positions[0]!.held).toBe(7);
    expect(r1.behind).toBe(7); // the held bytes: what the writer has written and the shipper not shipped
    expect(readPositions(e.pos)![0]!.pos).toBe(good(1).length + 1);
    appendFileSync(f, '"tag":"x"}\n');
    const r2 = await ship(e);
    expect(r2.lines).toBe(1);
    expect(await values(e)).toEqual([good(1), good(2)]);
  });

  test('resume after restart: nothing twice, new lines shipped', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 50));
    expect((await ship(e)).lines).toBe(50);
    expect((await ship(e)).lines).toBe(0);
    appendFileSync(f, lines(50, 80));
    expect((await ship(e)).lines).toBe(30);
    expect(await values(e)).toEqual(lines(0, 80).trimEnd().split('\n'));
  });

  test('oldest modification first across files, whatever their names', async () => {
    const e = await env();
    const t = Date.now() / 1000;
    for (const [name, tag, age] of [['app.a', 'a', 10], ['app.b', 'b', 30], ['app.c', 'c', 20]] as const) {
      writeFileSync(join(e.logs, name), lines(0, 3, tag));
      utimesSync(join(e.logs, name), t - age, t - age);
    }
    await ship(e, { batchSize: 2 });
    expect((await values(e)).map((v) => JSON.parse(v).tag)).toEqual(['b', 'b', 'b', 'c', 'c', 'c', 'a', 'a', 'a']);
  });

  test('rotation between runs (app.log → app.log.1, new app.log): every line exactly once, no Flume re-read', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 10));
    await ship(e);
    appendFileSync(f, lines(10, 15));
    renameSync(f, `${f}.1`);
    writeFileSync(f, lines(15, 20));
    await ship(e);
    expect(await values(e)).toEqual(lines(0, 20).trimEnd().split('\n'));
    expect(e.logsSeen.some((m) => m.includes('renamed from') && m.includes('resuming at'))).toBe(true);
  });

  test('rotation out of the group while stopped: the rest of the old file is still shipped', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 10));
    await ship(e, { groups: [parseFileGroup(`${e.logs}/app.log`, '/')] });
    appendFileSync(f, lines(10, 12));
    renameSync(f, join(e.logs, 'old-app.bak'));
    writeFileSync(f, lines(12, 14));
    await ship(e, { groups: [parseFileGroup(`${e.logs}/app.log`, '/')] });
    expect(await values(e)).toEqual(lines(0, 14).trimEnd().split('\n'));
    expect(readPositions(e.pos)!.map((p) => p.file)).toEqual([f]);
  });

  test('without the ship state (a Flume-written position file) a renamed file follows Flume: read again from 0', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 4));
    const inode = String(statSync(f).ino);
    mkdirSync(join(e.dir, 'state'));
    writeFileSync(e.pos, `[{"inode":${inode},"pos":${lines(0, 4).length},"file":"${f}"}]`);
    renameSync(f, `${f}.1`);
    await ship(e);
    expect((await values(e)).length).toBe(4);
    expect(e.logsSeen.some((m) => m.includes("Flume's rule"))).toBe(true);
  });

  test('truncation (position past the end) restarts the file at 0', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 10));
    await ship(e);
    truncateSync(f, 0);
    appendFileSync(f, lines(100, 102));
    await ship(e);
    expect((await values(e)).slice(10)).toEqual(lines(100, 102).trimEnd().split('\n'));
  });

  test('truncated and rewritten past the old position: the head hash notices, restart at 0', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 3, 'old'));
    await ship(e);
    writeFileSync(f, lines(0, 10, 'new'));
    await ship(e);
    expect((await values(e)).slice(3)).toEqual(lines(0, 10, 'new').trimEnd().split('\n'));
  });

  test('following: rotation, truncation and new files while running; Ctrl-C (abort) saves and returns', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 5));
    const ac = new AbortController();
    const run = ship(e, { once: false, pollIntervalMs: 20, signal: ac.signal });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && (await readTopic(e.bus, 'ods_log')).length < n; i++) await Bun.sleep(20);
    };
    await until(5);
    appendFileSync(f, lines(5, 8));
    appendFileSync(f, '{"i":8,');
    await until(8);
    appendFileSync(f, '"tag":"x"}\n');
    renameSync(f, `${f}.1`);
    writeFileSync(f, lines(9, 12));
    await until(12);
    writeFileSync(join(e.logs, 'app.other'), lines(12, 13));
    await until(13);
    truncateSync(f, 0);
    await Bun.sleep(100);
    appendFileSync(f, lines(20, 21));
    await until(14);
    ac.abort();
    const r = await run;
    expect(r.lines).toBe(14);
    expect(await values(e)).toEqual([...lines(0, 13).trimEnd().split('\n'), good(20)]);
    expect(e.logsSeen.some((m) => m.includes('truncated'))).toBe(true);
    const saved = readPositions(e.pos)!;
    expect(saved.find((p) => p.file === f)!.pos).toBe(good(20).length + 1);
  });
});

describe('ship log: a file rewritten while followed', () => {
  test('truncated and rewritten past the position between two polls: restarted at 0, no new line lost', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 2, 'old'));
    const ac = new AbortController();
    const run = ship(e, { once: false, pollIntervalMs: 20, signal: ac.signal });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && (await readTopic(e.bus, 'ods_log')).length < n; i++) await Bun.sleep(20);
    };
    await until(2);
    await Bun.sleep(60); // a poll or two after the shipped lines: the file is unchanged, its head known
    // one write: truncated and longer than before at once, so the size never drops below the position
    writeFileSync(f, lines(0, 4, 'new'));
    await until(6);
    ac.abort();
    await run;
    expect(await values(e)).toEqual([...lines(0, 2, 'old').trimEnd().split('\n'), ...lines(0, 4, 'new').trimEnd().split('\n')]);
    expect(e.logsSeen.some((m) => m.includes('rewritten from its start'))).toBe(true);
  });
});

/** What the first save of a run that then crashed leaves: the state no longer says "stopped cleanly". */
function markRunning(e: Env): void {
  const s = readShipState(statePathFor(e.pos))!;
  writeShipState(statePathFor(e.pos), { ...s, clean: false });
}

describe('ship log: exactly-once when the position file lags the bus', () => {
  test('a crash after the ack but before the save: the next run sends nothing twice', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 10));
    await ship(e);
    const before = readFileSync(e.pos, 'utf8');
    copyFileSync(e.pos, `${e.pos}.lagging`);
    copyFileSync(statePathFor(e.pos), `${e.pos}.state-lagging`);
    appendFileSync(f, `${lines(10, 20)}bad line\n${lines(20, 25)}`);
    await ship(e, { batchSize: 4 });
    // Put the old positions (and the state written with them) back, as if the process died right after the
    // bus acknowledged: both files are written together, the state never ahead of the positions.
    copyFileSync(`${e.pos}.lagging`, e.pos);
    copyFileSync(`${e.pos}.state-lagging`, statePathFor(e.pos));
    markRunning(e);
    expect(readFileSync(e.pos, 'utf8')).toBe(before);
    appendFileSync(f, lines(25, 30));
    const r = await ship(e, { batchSize: 4 });
    expect(r.skipped).toBe(16);
    expect(r.lines).toBe(5);
    expect(await values(e)).toEqual(lines(0, 30).trimEnd().split('\n'));
    expect(await values(e, 'ods_log_dlq')).toEqual(['bad line']);
  });

  test('a crash between the position write and the state write, then a rotation while stopped: the new file is not shipped again', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    writeFileSync(f, lines(0, 10));
    await ship(e);
    renameSync(f, `${f}.1`);
    writeFileSync(f, lines(10, 30));
    // The state write of the first save after the new app.log's first batch fails, so the disk holds whatever a
    // kill -9 between the two writes would leave. (The state file moved aside and a directory in its place, so
    // the rename over it fails; then the old state is put back.)
    const statePath = statePathFor(e.pos);
    const aside = `${statePath}.aside`;
    const block = () => {
      if (existsSync(aside)) return;
      renameSync(statePath, aside);
      mkdirSync(statePath);
    };
    const err = await ship(e, { batchSize: 5, savePositionsMs: 0, onProgress: block }).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('POSITION_FILE');
    rmdirSync(statePath);
    renameSync(aside, statePath);
    // Positions on disk never name a file at a position without its head hash beside them.
    const heads = readShipState(statePathFor(e.pos))!.heads;
    for (const p of readPositions(e.pos)!) if (p.pos > 0) expect(heads[p.inode]).toBeDefined();
    // Rotated again while stopped: the file the crashed run began is now app.log.2.
    renameSync(f, `${f}.2`);
    writeFileSync(f, lines(30, 35));
    const r = await ship(e);
    expect(r.skipped).toBe(5);
    expect(await values(e)).toEqual(lines(0, 35).trimEnd().split('\n'));
    expect(e.logsSeen.some((m) => m.includes("Flume's rule") || m.includes('reading it from 0'))).toBe(false);
  });

  test('good lines acknowledged but their batch\'s dead letters not: the dead letters are sent, the good lines are not', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    await ship(e); // creates the state (shipper id, checkpoints) with no files yet
    markRunning(e);
    const { shipper } = readShipState(statePathFor(e.pos))!;
    const content = `${good(1)}\nnot json\n${good(2)}\n`;
    writeFileSync(f, content);
    const inode = String(statSync(f).ino);
    // What a shipper killed between its two sends leaves behind: the good half of the batch only.
    const p = await e.bus.producer();
    await p.send('ods_log', [
      { value: good(1), headers: { [SOURCE_HEADER]: sourceTag(shipper, inode, good(1).length + 1) } },
      { value: good(2), headers: { [SOURCE_HEADER]: sourceTag(shipper, inode, content.length) } },
    ]);
    await p.close();
    const r = await ship(e);
    expect(r.lines).toBe(0);
    expect(r.rejected).toBe(1);
    expect(r.skipped).toBe(2);
    expect(await values(e)).toEqual([good(1), good(2)]);
    expect(await values(e, 'ods_log_dlq')).toEqual(['not json']);
    // Records of other producers (or other shippers) never count as ours.
    writeFileSync(join(e.logs, 'app.2'), `${good(3)}\n`);
    const p2 = await e.bus.producer();
    await p2.send('ods_log', [{ value: 'x', headers: { [SOURCE_HEADER]: sourceTag('0000aaaa', String(statSync(join(e.logs, 'app.2')).ino), 999) } }]);
    await p2.close();
    expect((await ship(e)).lines).toBe(1);
  });
});

/** A bus whose producer fails the sends `plan` says: before writing ("down") or after writing ("ack lost"). */
function flaky(inner: Bus, plan: (n: number) => 'ok' | 'down' | 'ack-lost'): Bus {
  let n = 0;
  return {
    kind: inner.kind,
    displayUrl: inner.displayUrl,
    async producer(opts) {
      const p = await inner.producer(opts);
      const wrapped: Producer = {
        async send(topic, messages) {
          const what = plan(++n);
          if (what === 'down') throw rtwhError('BUS_UNAVAILABLE', `injected: send ${n} refused`);
          const r = await p.send(topic, messages);
          if (what === 'ack-lost') throw rtwhError('BUS_ERROR', `injected: send ${n} written, acknowledgement lost`);
          return r;
        },
        close: () => p.close(),
      };
      return wrapped;
    },
    consumer: (opts) => inner.consumer(opts),
    admin: () => inner.admin(),
    close: () => inner.close(),
  };
}

describe('ship log: after a clean stop nothing is read back', () => {
  test('other producers\' records since then are not scanned; after a crash the window is read', async () => {
    const e = await env();
    const admin = await e.bus.admin();
    await admin.createTopic({ name: 'ods_log', partitions: 3 });
    await admin.close();
    writeFileSync(join(e.logs, 'app.log'), lines(0, 10));
    const r1 = await ship(e, { key: 'one-partition' });
    expect(r1.recovery).toBeNull();
    expect(readShipState(statePathFor(e.pos))!.clean).toBe(true);
    const p = await e.bus.producer();
    await p.send('ods_log', Array.from({ length: 300 }, (_, i) => ({ key: String(i), value: `{"other":${i}}` })));
    await p.close();
    const r2 = await ship(e);
    expect(r2.recovery).toBeNull();
    markRunning(e);
    const r3 = await ship(e);
    // Checkpoints were refreshed to every partition's end at the clean stop: nothing before them is read.
    expect(r3.recovery).toEqual({ scanned: 0, found: 0 });
  });
});

describe('ship log: the bus fails while following', () => {
  test('refused sends and lost acknowledgements are waited out, and nothing is lost or doubled', async () => {
    const e = await env();
    const f = join(e.logs, 'app.log');
    const content = Array.from({ length: 400 }, (_, i) => (i % 23 === 7 ? `bad ${i}\n` : `${good(i)}\n`)).join('');
    writeFileSync(f, content);
    const bus = flaky(e.bus, (n) => (n % 5 === 2 ? 'ack-lost' : n % 7 === 3 ? 'down' : 'ok'));
    const ac = new AbortController();
    const run = ship(e, { bus, once: false, batchSize: 15, pollIntervalMs: 20, retryMs: 5, signal: ac.signal });
    const goodCount = content.split('\n').filter((l) => l.startsWith('{')).length;
    for (let i = 0; i < 300 && (await readTopic(e.bus, 'ods_log')).length < goodCount; i++) await Bun.sleep(20);
    await Bun.sleep(100);
    ac.abort();
    await run;
    const got = await values(e);
    expect(got).toEqual(content.split('\n').filter((l) => l.startsWith('{')));
    expect(await values(e, 'ods_log_dlq')).toEqual(content.split('\n').filter((l) => l.startsWith('bad')));
    expect(e.logsSeen.filter((m) => m.startsWith('bus error')).length).toBeGreaterThan(3);
  });

  test('stopped while waiting out a failure whose records landed: not a clean stop, the next run recovers them', async () => {
    const e = await env();
    writeFileSync(join(e.logs, 'app.log'), lines(0, 30));
    const ac = new AbortController();
    const run = ship(e, { bus: flaky(e.bus, (n) => (n === 1 ? 'ack-lost' : 'ok')), once: false, batchSize: 30, retryMs: 60_000, signal: ac.signal });
    for (let i = 0; i < 100 && !e.logsSeen.some((m) => m.startsWith('bus error')); i++) await Bun.sleep(10);
    ac.abort();
    await run;
    expect(readShipState(statePathFor(e.pos))!.clean).toBe(false);
    const r = await ship(e);
    expect(r.skipped).toBe(30);
    expect(await values(e)).toEqual(lines(0, 30).trimEnd().split('\n'));
  });

  test('--once stops on a bus failure with the bus error; the next run completes exactly once', async () => {
    const e = await env();
    writeFileSync(join(e.logs, 'app.log'), lines(0, 100));
    const err = await ship(e, { bus: flaky(e.bus, (n) => (n === 3 ? 'ack-lost' : 'ok')), batchSize: 10 }).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('BUS_ERROR');
    await ship(e);
    expect(await values(e)).toEqual(lines(0, 100).trimEnd().split('\n'));
  });
});

describe('ship log: errors', () => {
  test('a corrupt position file stops with POSITION_FILE and ships nothing', async () => {
    const e = await env();
    writeFileSync(join(e.logs, 'app.log'), lines(0, 3));
    mkdirSync(join(e.dir, 'state'));
    writeFileSync(e.pos, '[{"inode":1,"pos":');
    const err = await ship(e).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('POSITION_FILE');
    expect((err as RtwhError).message).toContain(e.pos);
    expect(await values(e)).toEqual([]);
  });

  test('an unwritable position directory', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; a file where the directory should be is refused for everyone.
      const e = await env();
      writeFileSync(join(e.dir, 'state'), 'not a dir');
      const err = await ship(e).catch((x: unknown) => x);
      expect((err as RtwhError).code).toBe('POSITION_FILE');
      expect((err as RtwhError).message).toContain(join(e.dir, 'state'));
      return;
    }
    const e = await env();
    mkdirSync(join(e.dir, 'state'));
    chmodSync(join(e.dir, 'state'), 0o500);
    const err = await ship(e).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('POSITION_FILE');
  });

  test('one shipper per position file; a stale lock (dead pid) is taken over', async () => {
    const e = await env();
    mkdirSync(join(e.dir, 'state'));
    const child = Bun.spawn(['sleep', '30']);
    writeFileSync(`${e.pos}.lock`, `${child.pid}\n`);
    const err = await ship(e).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('POSITION_LOCKED');
    expect((err as RtwhError).message).toContain(`pid ${child.pid}`);
    child.kill('SIGKILL');
    await child.exited;
    writeFileSync(join(e.logs, 'app.log'), lines(0, 1));
    expect((await ship(e)).lines).toBe(1);
  });

  test('a missing directory names the --path', async () => {
    const e = await env();
    const err = await ship(e, { groups: [parseFileGroup(`${e.dir}/nolog/app.*`, '/')] }).catch((x: unknown) => x);
    expect((err as RtwhError).code).toBe('USAGE');
    expect((err as RtwhError).message).toContain('cannot read the directory');
  });
});
