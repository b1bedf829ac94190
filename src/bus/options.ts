/**
 * Checks of the numbers a caller hands a Consumer, shared by both buses so they refuse the same values with the
 * same message. A NaN that slipped through made the sqlite poll loop spin and the Kafka one throw a TypeError.
 */
import { q, rtwhError } from '../errors.ts';

/** maxPollRecords / maxRecords: a positive integer (Kafka's max.poll.records >= 1). */
export function checkRecordCount(v: number | undefined, name: 'maxPollRecords' | 'maxRecords', fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw rtwhError('USAGE', `${name} ${q(v)} is not a positive whole number of records`, { hint: `Pass ${name}: 1 or more (default 500).` });
  }
  return v;
}

/** poll's timeoutMs: finite; a negative wait (a deadline already passed) means "return what is there", like 0. */
export function checkPollTimeout(v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw rtwhError('USAGE', `timeoutMs ${q(v)} is not a finite number of milliseconds`, { hint: 'Pass timeoutMs: 0 or more; poll again to wait longer.' });
  }
  return Math.max(0, v);
}
