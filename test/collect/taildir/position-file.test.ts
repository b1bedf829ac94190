import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPositions, parsePositions, readPositions, writePositions } from '../../../src/collect/taildir/position-file';
import { readShipState, statePathFor, writeShipState, newShipState } from '../../../src/collect/taildir/ship-state';
import { RtwhError } from '../../../src/errors';
import { tempDir } from '../helpers';

describe('position file (Flume TAILDIR format)', () => {
  test('writes exactly what Flume writes, and reads it back', () => {
    const entries = [
      { inode: '2496272', pos: 12, file: '/var/log/a.log' },
      { inode: '2496273', pos: 0, file: '/var/log/app "quoted".log' },
    ];
    const text = formatPositions(entries);
    expect(text).toBe('[{"inode":2496272,"pos":12,"file":"/var/log/a.log"},{"inode":2496273,"pos":0,"file":"/var/log/app \\"quoted\\".log"}]');
    expect(parsePositions(text, 'p')).toEqual(entries);
    expect(formatPositions([])).toBe('[]');
  });

  test('reads a file written by Flume (spaces, newline) and keeps inodes above 2^53 exact', () => {
    const flume = '[{"inode": 18446744073709551615, "pos": 7, "file": "/var/log/big.log"}]\n';
    const [e] = parsePositions(flume, 'p');
    expect(e).toEqual({ inode: '18446744073709551615', pos: 7, file: '/var/log/big.log' });
    expect(formatPositions([e!])).toContain('"inode":18446744073709551615,');
  });

  test.each([
    ['', 'it is empty'],
    ['[{"inode":1,"pos":2,"file":"/a"}', 'invalid JSON'],
    ['{"inode":1}', 'expected a JSON array'],
    ['[{"inode":-1,"pos":2,"file":"/a"}]', '"inode" must be a whole number, got number -1'],
    // valid JSON: said so, with the value (it read "invalid JSON (Expected '}')")
    ['[{"inode":1e3,"pos":2,"file":"/a"}]', '"inode" must be a whole number, got number 1000'],
    ['[{"inode":1,"pos":2.5,"file":"/a"}]', '"pos" must be a whole number ≥ 0, got number 2.5'],
    // a number is shown as one (it read got "-5")
    ['[{"inode":1,"pos":-5,"file":"/a"}]', '"pos" must be a whole number ≥ 0, got number -5'],
    ['[{"inode":1,"pos":2,"file":"relative.log"}]', '"file" must be an absolute path, got string "relative.log"'],
    ['[1]', 'entry 0 is not an object'],
  ])('a damaged file is an error, never "start from 0": %p', (content, why) => {
    let err: unknown;
    try {
      parsePositions(content, '/state/taildir_position.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RtwhError);
    const r = err as RtwhError;
    expect(r.code).toBe('POSITION_FILE');
    expect(r.message).toContain('"/state/taildir_position.json"');
    expect(r.message).toContain(why);
    expect(r.hint).toContain('move it away');
  });

  test('missing file = first run (null)', () => {
    expect(readPositions(join(tempDir(), 'nope.json'))).toBeNull();
  });

  test('atomic write: temp file + rename, nothing left behind, directory created', () => {
    const dir = tempDir();
    const path = join(dir, 'ship', 'taildir_position.json');
    writePositions(path, [{ inode: '1', pos: 5, file: '/x/a.log' }]);
    writePositions(path, [{ inode: '1', pos: 9, file: '/x/a.log' }]);
    expect(readFileSync(path, 'utf8')).toBe('[{"inode":1,"pos":9,"file":"/x/a.log"}]');
    expect(readdirSync(join(dir, 'ship'))).toEqual(['taildir_position.json']);
  });

  test('a reader racing a writer only ever sees a whole file (another process rewrites it 300 times)', async () => {
    const dir = tempDir();
    const path = join(dir, 'pos.json');
    writePositions(path, [{ inode: '1', pos: 0, file: '/x/a.log' }]);
    const mod = join(import.meta.dir, '../../../src/collect/taildir/position-file.ts');
    // Long entries make a torn write likely if the write were not atomic.
    const script = `
      const { writePositions } = await import(${JSON.stringify(mod)});
      const files = Array.from({ length: 50 }, (_, i) => '/var/log/' + 'x'.repeat(200) + i);
      for (let n = 1; n <= 300; n++) writePositions(${JSON.stringify(path)}, files.map((f, i) => ({ inode: String(i + 1), pos: n, file: f })));
    `;
    const child = Bun.spawn([process.execPath, '-e', script], { stderr: 'pipe' });
    let reads = 0;
    let last = 0;
    while (child.exitCode === null) {
      const entries = parsePositions(readFileSync(path, 'utf8'), path);
      const pos = entries[0]!.pos;
      expect(pos).toBeGreaterThanOrEqual(last);
      if (pos > 0) expect(entries.every((e) => e.pos === pos)).toBe(true);
      last = pos;
      reads++;
      await Bun.sleep(0);
    }
    expect(await child.exited).toBe(0);
    expect(reads).toBeGreaterThan(10);
    expect(parsePositions(readFileSync(path, 'utf8'), path)[0]!.pos).toBe(300);
  }, 60_000);

  test('an unwritable place is an error naming the file and what was expected', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    let err: unknown;
    try {
      writePositions(join(dir, 'file', 'pos.json'), []);
    } catch (e) {
      err = e;
    }
    expect((err as RtwhError).code).toBe('POSITION_FILE');
    expect((err as RtwhError).message).toContain(`cannot write the position file "${join(dir, 'file', 'pos.json')}"`);
    expect((err as RtwhError).hint).toContain('writable directory');
  });
});

describe('ship state file beside it', () => {
  test('name, round trip, damaged content is an error with a way out', () => {
    expect(statePathFor('/s/ship/taildir_position.json')).toBe('/s/ship/taildir_position.rtwh.json');
    expect(statePathFor('/s/pos')).toBe('/s/pos.rtwh.json');
    const dir = tempDir();
    const path = join(dir, 'x.rtwh.json');
    const s = newShipState();
    s.topics = { ods_log: { '0': 12 }, ods_log_dlq: {} };
    s.heads = { '5': { len: 3, sha256: 'ab' } };
    writeShipState(path, s);
    expect(readShipState(path)).toEqual(s);
    writeFileSync(path, '{"version":1,"shipper":"zz"');
    expect(() => readShipState(path)).toThrow(/ship state file .* is damaged/);
    expect(existsSync(join(dir, 'nothing.json'))).toBe(false);
    expect(readShipState(join(dir, 'nothing.json'))).toBeNull();
  });
});
