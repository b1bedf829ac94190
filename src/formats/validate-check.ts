/**
 * The small checker the format validators share. Every reason starts with the field path and says what was
 * expected and what came, e.g. `ts: expected epoch seconds (10 digits), got number 1736821234000`, the same
 * wording as validateAppLog (applog.ts), so `tail` prints one style whatever the format.
 */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON has no text for these (1e400 parses to Infinity): JSON.stringify would say null
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    // A value nested too deeply for a recursive stringify: its kind is enough for a reason.
    s = undefined;
  }
  if (s === undefined) return String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

export function kind(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${show(v)}`;
}

/** Epoch ms of 2001-09-09 .. 2286-11-20 is 13 digits; epoch seconds of the same span, 10. */
export const MIN_MS = 1e12;
export const MAX_MS = 1e13;
export const MIN_S = 1e9;
export const MAX_S = 1e10;

export class Checker {
  readonly reasons: string[] = [];

  constructor(private readonly prefix = '') {}

  path(p: string): string {
    return this.prefix ? `${this.prefix}.${p}` : p;
  }

  push(path: string, text: string): void {
    this.reasons.push(`${this.path(path)}: ${text}`);
  }

  fail(path: string, expected: string, got: unknown): void {
    this.push(path, `expected ${expected}, got ${kind(got)}`);
  }

  /** A non-empty string; `optional` accepts absence, `nullable` accepts null. */
  str(o: Obj, key: string, opt: { optional?: boolean; nullable?: boolean; empty?: boolean } = {}): void {
    const v = o[key];
    if (v === undefined && opt.optional) return;
    if (v === null && opt.nullable) return;
    if (typeof v !== 'string' || (v.length === 0 && !opt.empty)) this.fail(key, opt.empty ? 'a string' : 'a non-empty string', v);
  }

  /** A whole number >= 0. */
  whole(o: Obj, key: string, opt: { optional?: boolean; nullable?: boolean } = {}): void {
    const v = o[key];
    if (v === undefined && opt.optional) return;
    if (v === null && opt.nullable) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, 'a whole number >= 0', v);
  }

  bool(o: Obj, key: string, opt: { optional?: boolean } = {}): void {
    const v = o[key];
    if (v === undefined && opt.optional) return;
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
  }

  oneOf(o: Obj, key: string, values: readonly string[]): string | undefined {
    const v = o[key];
    if (typeof v !== 'string' || !values.includes(v)) {
      this.fail(key, `one of ${values.join(', ')}`, v);
      return undefined;
    }
    return v;
  }

  /** Epoch milliseconds; a 10-digit value is named for what it most likely is. `zero` accepts 0 (unknown time). */
  ms(o: Obj, key: string, opt: { optional?: boolean; zero?: boolean } = {}): void {
    const v = o[key];
    if (v === undefined && opt.optional) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(key, 'epoch milliseconds (a whole number)', v);
    if (v === 0 && opt.zero) return;
    if (v >= MIN_S && v < MAX_S) return this.push(key, `looks like seconds (10 digits, ${v}), expected epoch milliseconds (13 digits)`);
    if (v < MIN_MS || v >= MAX_MS) this.fail(key, 'epoch milliseconds (13 digits)', v);
  }

  /** Epoch seconds; a 13-digit value is named for what it most likely is. */
  seconds(o: Obj, key: string): void {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(key, 'epoch seconds (a whole number)', v);
    if (v >= MIN_MS && v < MAX_MS) return this.push(key, `looks like ms (13 digits, ${v}), expected epoch seconds (10 digits)`);
    if (v < MIN_S || v >= MAX_S) this.fail(key, 'epoch seconds (10 digits)', v);
  }

  obj(o: Obj, key: string, opt: { optional?: boolean; nullable?: boolean } = {}): Obj | undefined {
    const v = o[key];
    if (v === undefined && opt.optional) return undefined;
    if (v === null && opt.nullable) return undefined;
    if (!isObj(v)) {
      this.fail(key, opt.nullable ? 'an object or null' : 'an object', v);
      return undefined;
    }
    return v;
  }

  strings(o: Obj, key: string, opt: { optional?: boolean; nullable?: boolean } = {}): void {
    const v = o[key];
    if (v === undefined && opt.optional) return;
    if (v === null && opt.nullable) return;
    if (!Array.isArray(v)) return this.fail(key, 'an array of strings', v);
    v.forEach((x, i) => {
      if (typeof x !== 'string') this.fail(`${key}[${i}]`, 'a string', x);
    });
  }
}
