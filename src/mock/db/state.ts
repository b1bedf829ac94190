/**
 * What a mock day starts from: the last id of every table and the current user rows. The day generator is a
 * pure function of (seed, date, options, this state), so:
 *   - into MySQL, the state is read from the database (MAX(id) per table, all of user_info): the same history
 *     gives the same ids and rows — two databases built with the same `mock init --seed` are identical;
 *   - onto a topic (`--to`), nothing can be read back, so the state after each run is kept in a small JSON file
 *     under the state dir (one per bus and topic) and the next run continues from it; --init resets it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { q, rtwhError } from '../../errors';
import type { Row } from '../../formats/change';
import { writeFileAtomic } from '../../store/atomic-file';
import { BASE_SKU_COUNT } from './catalog';

export interface MockState {
  /** Last id given out per table (the next insert takes last + 1); absent = 0. */
  lastIds: Readonly<Record<string, number>>;
  /** Last transaction id given out (the xid of generated Maxwell records). */
  xid: number;
  /** Every user_info row as it is now, ordered by id. */
  users: readonly Row[];
}

/**
 * The SKUs there are: 1..lastIds.sku_info (the --sku-count of the --init; MAX(id) of sku_info in MySQL, the state
 * file's lastIds on a topic), at least the 35 of the gmall data (state files from before --sku-count have 35).
 */
export function stateSkuCount(state: MockState): number {
  return Math.max(BASE_SKU_COUNT, state.lastIds.sku_info ?? 0);
}

export function emptyState(): MockState {
  return { lastIds: {}, xid: 0, users: [] };
}

interface StateFile {
  version: 1;
  lastIds: Record<string, number>;
  xid: number;
  userColumns: string[];
  users: (string | number | null)[][];
}

/** Reads the state file; undefined when there is none yet. */
export function readStateFile(path: string): MockState | undefined {
  if (!existsSync(path)) return undefined;
  let f: StateFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  } catch (e) {
    throw rtwhError('CONFIG_FILE', `cannot read the mock state file ${q(path)}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'Delete it and run again with --init to start from the base data.',
    });
  }
  if (f.version !== 1 || !Array.isArray(f.users) || !Array.isArray(f.userColumns)) {
    throw rtwhError('CONFIG_FILE', `the mock state file ${q(path)} is not one rtwh wrote`, { hint: 'Delete it and run again with --init.' });
  }
  const users = f.users.map((vals) => {
    const row: Row = {};
    f.userColumns.forEach((c, i) => {
      row[c] = vals[i] ?? null;
    });
    return row;
  });
  return { lastIds: f.lastIds, xid: f.xid, users };
}

/** Writes the state file atomically (src/store/atomic-file.ts): a crash never leaves half a file. */
export function writeStateFile(path: string, state: MockState): void {
  const cols = state.users.length > 0 ? Object.keys(state.users[0]!) : [];
  const f: StateFile = {
    version: 1,
    lastIds: { ...state.lastIds },
    xid: state.xid,
    userColumns: cols,
    // user_info holds only strings, integers and nulls: plain JSON keeps them exactly.
    users: state.users.map((u) => cols.map((c) => u[c] as string | number | null)),
  };
  writeFileAtomic(path, JSON.stringify(f), { mkdir: true });
}
