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
});
