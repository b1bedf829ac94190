/**
 * What rtwh keeps beside the Flume position file (it cannot go IN it: Flume's reader fails on unknown keys).
 * `taildir_position.json` → `taildir_position.rtwh.json`:
 *
 *   {"version":1,"shipper":"5f0c…","topics":{"ods_log":{"0":1234},"ods_log_dlq":{}},
 *    "heads":{"2496272":{"len":256,"sha256":"…"}},"clean":false}
 *
 * - shipper: the id stamped on every record this shipper produces (header rtwh.src), so recovery recognises its
 *   own records among other producers'.
 * - topics: per topic and partition, an offset before which every record of ours is already reflected in the
 *   position file: recovery reads only from there ("read your own writes"). A topic listed with no partition
 *   means "read every partition from its start" (it did not exist yet). A topic not listed was never written.
 * - heads: a hash of the first bytes of each tailed file, so a position can follow a file that was RENAMED while
 *   the shipper was down (Flume would restart it at 0 and duplicate it) without trusting a reused inode.
 *
 * Written after the position file, each write atomic. If a crash falls between the two, this file lags: its
 * offsets are older, so recovery reads a little more; never less. Lagging is safe, running ahead would not be.
 * Except for heads: a lagging file would lack the head of a file that first got shipped bytes in that save, and a
 * rename while stopped would then restart it at 0. So a save that adds or changes a head first rewrites this file
 * with the new heads and the old offsets (shipper.ts writeHeadsAhead): heads may run ahead, offsets never.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { q, rtwhError } from '../../errors';
import { readIfExists, writeFileAtomic } from './position-file';

export interface FileHead {
  len: number;
  sha256: string;
}

export interface ShipState {
  shipper: string;
  /** topic → partition → offset. */
  topics: Record<string, Record<string, number>>;
  heads: Record<string, FileHead>;
  /**
   * Written true by the last save of a clean stop (nothing of ours can lie past the checkpoints, so the next start
   * reads nothing back), false by the first save of every run.
   */
  clean?: boolean;
}

/** Bytes of a file's head that identify it. Enough to tell two log files apart (their first line differs). */
export const HEAD_BYTES = 256;

export function statePathFor(positionFile: string): string {
  return `${positionFile.replace(/\.json$/, '')}.rtwh.json`;
}

export function newShipState(): ShipState {
  return { shipper: randomBytes(6).toString('hex'), topics: {}, heads: {} };
}

export function readShipState(path: string): ShipState | null {
  const text = readIfExists(path, 'ship state file');
  if (text === null) return null;
  const bad = (why: string) =>
    rtwhError('POSITION_FILE', `ship state file ${q(path)} is damaged: ${why}`, {
      hint: `It holds what exactly-once recovery needs. Restore it, or delete it to resume from the position file alone (the last batch before the crash may then be shipped twice).`,
      details: { path },
    });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('expected a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.version !== 1) throw bad(`unknown version ${q(o.version)} (this rtwh writes version 1)`);
  if (typeof o.shipper !== 'string' || !/^[0-9a-f]{4,64}$/.test(o.shipper)) throw bad('"shipper" must be a hex id');
  const topics: Record<string, Record<string, number>> = {};
  if (typeof o.topics !== 'object' || o.topics === null) throw bad('"topics" must be an object');
  for (const [t, parts] of Object.entries(o.topics as Record<string, unknown>)) {
    if (typeof parts !== 'object' || parts === null) throw bad(`"topics.${t}" must be an object`);
    topics[t] = {};
    for (const [p, off] of Object.entries(parts as Record<string, unknown>)) {
      if (!/^\d+$/.test(p) || typeof off !== 'number' || !Number.isSafeInteger(off) || off < 0) throw bad(`"topics.${t}.${p}" must be an offset`);
      (topics[t] as Record<string, number>)[p] = off;
    }
  }
  const heads: Record<string, FileHead> = {};
  if (typeof o.heads !== 'object' || o.heads === null) throw bad('"heads" must be an object');
  for (const [inode, h] of Object.entries(o.heads as Record<string, unknown>)) {
    const hh = h as Partial<FileHead> | null;
    if (!/^\d+$/.test(inode) || !hh || typeof hh.len !== 'number' || typeof hh.sha256 !== 'string') throw bad(`"heads.${inode}" must be {len, sha256}`);
    heads[inode] = { len: hh.len, sha256: hh.sha256 };
  }
  if (o.clean !== undefined && typeof o.clean !== 'boolean') throw bad('"clean" must be true or false');
  return { shipper: o.shipper, topics, heads, ...(o.clean === undefined ? {} : { clean: o.clean }) };
}

export function writeShipState(path: string, s: ShipState): void {
  writeFileAtomic(path, `${JSON.stringify({ version: 1, ...s })}\n`, 'ship state file');
}

/** Hash of the first `len` bytes of an open file, or null when it is shorter than that now. */
export function headOf(fd: number, len: number): string | null {
  if (len <= 0) return null;
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, got);
    if (n === 0) break;
    got += n;
  }
  if (got < len) return null;
  return createHash('sha256').update(buf).digest('hex');
}

export function headOfPath(path: string, len: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return headOf(fd, len);
  } finally {
    closeSync(fd);
  }
}
