/** What a call throws, for tests of error messages. */
import { RtwhError } from '../../src/errors';

/** The RtwhError `f` throws (with `code`, when given); anything else thrown, or nothing, fails the test. */
export function rtwhErrorOf(f: () => unknown, code?: string): RtwhError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof RtwhError)) throw e;
    if (code !== undefined && e.code !== code) throw new Error(`expected an RtwhError ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected an RtwhError${code ? ` ${code}` : ''}, nothing was thrown`);
}
