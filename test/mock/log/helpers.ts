/** Shared by the mock log tests: generate a day in memory, and group its lines back into sessions. */
import type { AppLog } from '../../../src/formats/applog';
import { mockLogOptions, type MockLogFlags } from '../../../src/mock/log/options';
import { runMockLog } from '../../../src/mock/log/run';

export const DATE = '2025-01-14';
/** 2025-01-14 00:00 in Beijing (UTC+08:00). */
export const DAY_START = Date.UTC(2025, 0, 13, 16);
export const DAY_END = DAY_START + 86_400_000;

/** The whole output of one run, as text. */
export async function generate(flags: MockLogFlags = {}): Promise<string> {
  const opts = mockLogOptions({ date: DATE, seed: '7', ...flags }, undefined);
  const parts: Uint8Array[] = [];
  await runMockLog(opts, { kind: 'stream', write: (b) => void parts.push(b) });
  return Buffer.concat(parts).toString('utf8');
}

export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.pop() !== '') throw new Error('output does not end with a newline');
  return all;
}

/**
 * Records grouped into sessions: a start log opens a session of its device (mid); the page logs that follow
 * for that mid belong to it (a later start log of the same mid opens a new one). Tests use a huge --max-mid
 * so that two sessions of one device never overlap in time.
 */
export function sessions(records: AppLog[]): AppLog[][] {
  const open = new Map<string, AppLog[]>();
  const all: AppLog[][] = [];
  for (const r of records) {
    const mid = r.common.mid;
    if (r.start) {
      const s = [r];
      open.set(mid, s);
      all.push(s);
    } else {
      const s = open.get(mid);
      if (!s) throw new Error(`page log of ${mid} without a start log before it`);
      s.push(r);
    }
  }
  return all;
}
