/** Flag value checks shared by the commands: the message names the flag, the value and what was expected. */
import { q, rtwhError } from '../src/errors';

export function wholeNumber(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    const expected = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
    throw rtwhError('USAGE', `invalid ${flag} ${q(v)}: expected ${expected}`);
  }
  return n;
}
