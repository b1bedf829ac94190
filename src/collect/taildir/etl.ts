/**
 * The ETL interceptor of the gmall Flume job: a line that is not a JSON object is not shipped. Flume's version
 * drops it silently; here it goes to the dead-letter topic with this reason.
 */

import { utf8TextOrBadByte } from '../../formats/validate';

/**
 * null when the line is a JSON object; otherwise why it is not. Bytes that are not UTF-8 are a reason too: decoded
 * with replacement characters the line passed as an object, and reached the topic where `tail --etl` and the jobs
 * refuse it (the same reason, in the same words).
 */
export function rejectReason(line: Buffer): string | null {
  if (line.length === 0) return 'empty line';
  const text = utf8TextOrBadByte(line);
  if (typeof text === 'number') return `invalid UTF-8: byte ${text} of ${line.length} is not valid UTF-8`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `invalid JSON: ${(e as Error).message}`;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return null;
  return `valid JSON but not an object (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})`;
}
