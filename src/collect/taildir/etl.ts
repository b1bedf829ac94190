/**
 * The ETL interceptor of the gmall Flume job: a line that is not a JSON object is not shipped. Flume's version
 * drops it silently; here it goes to the dead-letter topic with this reason.
 */

/** null when the line is a JSON object; otherwise why it is not. */
export function rejectReason(line: Buffer): string | null {
  if (line.length === 0) return 'empty line';
  const text = line.toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `invalid JSON: ${(e as Error).message}`;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return null;
  return `valid JSON but not an object (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})`;
}
