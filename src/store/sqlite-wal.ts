/** SQLite files several processes open at once (the bus, the dim store). */
import type { Database } from 'bun:sqlite';

/**
 * `PRAGMA journal_mode = WAL`, again while another process holds the lock it needs: SQLite answers SQLITE_BUSY
 * at once, without the busy handler, when connections switch a new file to WAL together (seen in CI: two processes
 * opening the same new dim store; 3 in 100 opens by four processes at once here). Gives up after `timeoutMs`, like
 * any other busy wait.
 */
export function journalModeWal(db: Database, timeoutMs: number): { journal_mode: string } | null {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      return db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string } | null;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() + delay > deadline) throw e;
    }
    Bun.sleepSync(delay);
  }
}
