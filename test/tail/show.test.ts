/** How a rejected record is shown after its reason: one line, terminal-safe, whole unless a width is given. */
import { describe, expect, test } from 'bun:test';
import { recordLine } from '../../src/tail/show';

describe('recordLine', () => {
  test('JSON as written (numbers exact), its line breaks and tabs as spaces', () => {
    expect(recordLine(Buffer.from('{"a":9007199254740993,\n\t"b":"x y"}'), true, null)).toBe('{"a":9007199254740993, "b":"x y"}');
  });

  test('text that is not JSON: a string literal, controls escaped', () => {
    expect(recordLine(Buffer.from('{"database":"gmall",'), false, null)).toBe('"{\\"database\\":\\"gmall\\","');
    expect(recordLine(Buffer.from('a\nb\u001b[31mc'), false, null)).toBe('"a\\nb\\u001b[31mc"');
  });

  test('invalid UTF-8: the valid text as text, each bad byte as \\xNN', () => {
    expect(recordLine(Buffer.from([0x7b, 0xff, 0x7d]), false, null)).toBe('"{\\xff}"');
    const mixed = Buffer.concat([Buffer.from('北京'), Buffer.from([0xe4, 0xb8]), Buffer.from('x'), Buffer.from([0xc0])]);
    expect(recordLine(mixed, false, null)).toBe('"北京\\xe4\\xb8x\\xc0"');
  });

  test('C1 controls and line separators never reach the terminal raw', () => {
    const line = recordLine(Buffer.from('{"a":"\u009b2J\u2028"}'), true, null);
    expect(line).toBe('{"a":"\\u009b2J\\u2028"}');
    expect(JSON.parse(line)).toEqual({ a: '\u009b2J\u2028' });
  });

  test('whole without a width (5 MB included); cut with a note of the size with one', () => {
    const big = Buffer.from(`{"blob":"${'x'.repeat(5 * 1024 * 1024)}"}`);
    expect(recordLine(big, true, null).length).toBe(big.length);
    const cut = recordLine(big, true, 100);
    expect(cut).toBe(`{"blob":"${'x'.repeat(91)}… (5,242,891 bytes in all)`);
    expect(recordLine(Buffer.from('{"a":1}'), true, 100)).toBe('{"a":1}');
    // Never half a surrogate pair.
    expect(recordLine(Buffer.from(`"${'😀'.repeat(10)}"`), true, 4)).toBe('"😀… (42 bytes in all)');
  });

  test('cut from the first bytes only: the same line as the whole record cut, whatever the bytes', () => {
    // The whole record rendered, then cut as recordLine cuts (the reference for the shortcut it takes).
    const reference = (v: Buffer, json: boolean, max: number): string => {
      const whole = recordLine(v, json, null);
      if (whole.length <= max) return whole;
      let cut = Math.max(1, max);
      const c = whole.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--;
      return `${whole.slice(0, cut)}… (${v.length.toLocaleString('en-US')} bytes in all)`;
    };
    const pieces = ['a', '北', '😀', '\n', '\t', ' ', '\u001b', '\u009b', '"', '\\', '{', '\u2028'];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let k = 0; k < 400; k++) {
      const parts: Buffer[] = [];
      const len = rnd(300);
      for (let i = 0; i < len; i++) {
        // now and then a run of line breaks (collapsed to one space in JSON) or a byte that breaks UTF-8
        if (rnd(40) === 0) parts.push(Buffer.from('\n'.repeat(rnd(400))));
        else if (rnd(30) === 0) parts.push(Buffer.from([0x80 + rnd(0x7f)]));
        else parts.push(Buffer.from(pieces[rnd(pieces.length)]!));
      }
      const v = Buffer.concat(parts);
      const max = 1 + rnd(80);
      for (const json of [true, false]) {
        if (json && v.toString('utf8').includes('\ufffd')) continue; // the judge calls JSON only valid UTF-8
        expect(recordLine(v, json, max)).toBe(reference(v, json, max));
      }
    }
    const huge = Buffer.alloc(50 * 1024 * 1024, 'x');
    expect(recordLine(huge, false, 20)).toBe(`"${'x'.repeat(19)}… (52,428,800 bytes in all)`);
  });
});
