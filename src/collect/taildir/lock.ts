/**
 * One shipper per position file. Exactly-once recovery assumes that nobody else produces records stamped with this
 * shipper's id, and two shippers sharing a position file would overwrite each other's positions.
 *
 * `<position file>.lock` holds the owner's pid. A lock whose pid is gone (kill -9) is stale and taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { q, rtwhError } from '../../errors';
import { processAlive } from '../../cli/pid';

export interface Lock {
  release(): void;
}

export function lockPositionFile(positionFile: string): Lock {
  const path = `${positionFile}.lock`;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw rtwhError('POSITION_FILE', `cannot create the directory of the position file ${q(positionFile)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'Expected a writable directory for --position (default <state_dir>/ship/).',
      cause: e,
    });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw rtwhError('POSITION_FILE', `cannot create the lock ${q(path)}: ${code ?? (e as Error).message}`, {
          hint: 'Expected a writable directory for --position (default <state_dir>/ship/).',
          cause: e,
        });
      }
      let owner = readOwner(path);
      if (owner === null) {
        // Another process may be between creating the file and writing its pid.
        Bun.sleepSync(50);
        owner = readOwner(path);
      }
      if (owner !== null && owner !== process.pid && processAlive(owner)) {
        throw rtwhError('POSITION_LOCKED', `position file ${q(positionFile)} is in use by another rtwh ship log (pid ${owner})`, {
          details: { pid: owner, lock: path },
        });
      }
      // Stale (its process died without cleaning up): remove and try again.
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it first; retry decides
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return {
      release() {
        if (readOwner(path) === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      },
    };
  }
  throw rtwhError('POSITION_LOCKED', `could not take the lock ${q(path)} (it keeps reappearing)`);
}

function readOwner(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
