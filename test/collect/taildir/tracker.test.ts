import { describe, expect, test } from 'bun:test';
import { mkdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFileGroup } from '../../../src/collect/taildir/file-group';
import { headOfPath } from '../../../src/collect/taildir/ship-state';
import { Tracker } from '../../../src/collect/taildir/tracker';
import { tempDir } from '../helpers';

function tracker(dir: string, idleTimeoutMs: number, log: string[] = []) {
  return new Tracker({ groups: [parseFileGroup(`${dir}/app.*`, '/')], ignore: new Set(), idleTimeoutMs, dropGraceMs: 0, log: (m) => log.push(m) });
}

describe('tracker', () => {
  test('old, fully shipped files hold no fd; they reopen when they change', () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const saved = [];
    for (let i = 0; i < 5; i++) {
      const f = join(dir, `app.${i}`);
      writeFileSync(f, '{"a":1}\n');
      utimesSync(f, Date.now() / 1000 - 3600, Date.now() / 1000 - 3600);
      saved.push({ inode: String(statSync(f).ino), pos: 8, file: f });
    }
    writeFileSync(join(dir, 'app.new'), '{"a":1}\n');
    const t = tracker(dir, 60_000);
    t.start(saved, {});
    const open = [...t.files.values()].filter((f) => f.isOpen).map((f) => f.path);
    expect(open).toEqual([join(dir, 'app.new')]);
    writeFileSync(join(dir, 'app.2'), '{"a":1}\n{"b":2}\n');
    t.rescan();
    expect([...t.files.values()].filter((f) => f.isOpen).length).toBe(2);
  });

  test('a file rotated while start() lists the directory is still tracked at start (recovery marks reach it)', () => {
    const dir = tempDir();
    const f = join(dir, 'app.log');
    writeFileSync(join(dir, 'app.log.1'), '{"a":1}\n');
    writeFileSync(f, '{"b":2}\n');
    const rotated = String(statSync(f).ino);
    const group = parseFileGroup(`${dir}/app.*`, '/');
    // The rotation lands between the readdir and the stat of app.log: the first listing sees it under neither name.
    let rotate = true;
    const pattern = group.pattern;
    const racing = Object.assign(Object.create(RegExp.prototype) as RegExp, {
      test(name: string): boolean {
        if (rotate && name === 'app.log') {
          rotate = false;
          renameSync(f, join(dir, 'app.log.2'));
        }
        return pattern.test(name);
      },
    });
    const t = new Tracker({ groups: [{ ...group, pattern: racing }], ignore: new Set(), idleTimeoutMs: 60_000, dropGraceMs: 0, log: () => {} });
    t.start([], {});
    expect(rotate).toBe(false);
    expect(t.files.get(rotated)?.path).toBe(join(dir, 'app.log.2'));
    expect(t.files.size).toBe(2);
  });

  test('a closed file whose content was replaced under the same inode is read again from 0', () => {
    const dir = tempDir();
    const f = join(dir, 'app.log');
    writeFileSync(f, '{"old":1}\n');
    const log: string[] = [];
    const t = tracker(dir, 0, log);
    const inode = String(statSync(f).ino);
    t.start([{ inode, pos: 10, file: f }], { [inode]: { len: 10, sha256: headOfPath(f, 10)! } });
    t.rescan(Date.now() + 10);
    const tf = t.files.get(inode)!;
    expect(tf.isOpen).toBe(false);
    writeFileSync(f, '{"new":22222}\n{"new":3}\n');
    t.rescan();
    expect(tf.isOpen).toBe(true);
    expect(tf.shipped).toBe(0);
    expect(log.some((m) => m.includes('now holds different content'))).toBe(true);
  });
});
