/**
 * journalModeWal (src/store/sqlite-wal.ts): `PRAGMA journal_mode = WAL` retried while SQLite answers SQLITE_BUSY
 * (it does so at once, without the busy handler, when processes switch a new file to WAL together: CI saw it with
 * two processes opening one new dim store). The race itself is too rare to provoke on demand (~3 in 100 opens by
 * four processes at once, some runs none), so the retry rules are tested against a database that answers BUSY as
 * told, and the happy path against a real file.
 */
import { describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { join } from 'node:path';
import { journalModeWal } from '../../src/store/sqlite-wal';
import { tempDir } from '../helpers/cli';

/** A Database whose journal_mode pragma fails with `errors` in turn, then answers WAL. */
function scripted(errors: { code: string }[]): { db: Database; calls: () => number } {
  let calls = 0;
  const db = {
    prepare: () => ({
      get: () => {
        const e = errors[calls++];
        if (e) throw Object.assign(new Error(`pragma failed: ${e.code}`), e);
        return { journal_mode: 'wal' };
      },
    }),
  } as unknown as Database;
  return { db, calls: () => calls };
}

describe('journalModeWal', () => {
  test('a real new file is put in WAL mode', () => {
    const db = new Database(join(tempDir('rtwh-wal-'), 'x.db'), { create: true });
    try {
      expect(journalModeWal(db, 1000)).toEqual({ journal_mode: 'wal' });
    } finally {
      db.close();
    }
  });

  test('SQLITE_BUSY is asked again until it passes', () => {
    const s = scripted([{ code: 'SQLITE_BUSY' }, { code: 'SQLITE_BUSY' }, { code: 'SQLITE_BUSY' }]);
    expect(journalModeWal(s.db, 5000)).toEqual({ journal_mode: 'wal' });
    expect(s.calls()).toBe(4);
  });

  test('any other error at once; BUSY past the timeout as it came', () => {
    const other = scripted([{ code: 'SQLITE_IOERR' }]);
    expect(() => journalModeWal(other.db, 5000)).toThrow('pragma failed: SQLITE_IOERR');
    expect(other.calls()).toBe(1);
    const busy = scripted(Array.from({ length: 1000 }, () => ({ code: 'SQLITE_BUSY' })));
    // Gives up (a wait that never ended would hang the test instead), after asking more than once.
    expect(() => journalModeWal(busy.db, 100)).toThrow('pragma failed: SQLITE_BUSY');
    expect(busy.calls()).toBeGreaterThan(1);
    expect(busy.calls()).toBeLessThan(1000);
  });
});
