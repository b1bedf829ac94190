/**
 * --etl's one edit of a kept record: a Maxwell bootstrap-insert printed as insert. typeToken finds the top-level
 * `type` value (never a nested one, the last of duplicates, names with escapes), and only those bytes change.
 */
import { describe, expect, test } from 'bun:test';
import { retyped, typeToken } from '../../src/tail/retype';
import * as S from '../formats/corpus/good';

function edit(text: string): string | null {
  const b = Buffer.from(text);
  const t = typeToken(b);
  return t === null ? null : retyped(b, t[0], t[1]).toString();
}

describe('typeToken / retyped', () => {
  test('the common record: only "bootstrap-insert" → "insert", every other byte as it was', () => {
    const want = S.MAXWELL_BOOTSTRAP_INSERT.replace('"type":"bootstrap-insert"', '"type":"insert"');
    expect(edit(S.MAXWELL_BOOTSTRAP_INSERT)).toBe(want);
    const big = S.BIG_NUMBERS.replace('"type":"insert"', '"type":"bootstrap-insert"');
    expect(edit(big)).toBe(S.BIG_NUMBERS);
  });

  test.each([
    ['nested type members are not the record\'s', '{"data":{"type":"x","a":[{"type":1}]},"type":"bootstrap-insert","ts":1}', '{"data":{"type":"x","a":[{"type":1}]},"type":"insert","ts":1}'],
    ['strings holding quotes, braces and "type"', '{"database":"a\\"type\\":{","type":"bootstrap-insert"}', '{"database":"a\\"type\\":{","type":"insert"}'],
    ['whitespace and line breaks around it', ' {\n "type" :\t"bootstrap-insert" ,\n"data":{} }', ' {\n "type" :\t"insert" ,\n"data":{} }'],
    ['a name written with escapes', '{"typ\\u0065":"bootstrap-insert","data":{}}', '{"typ\\u0065":"insert","data":{}}'],
    ['a value written with escapes', '{"type":"bootstrap\\u002dinsert","data":{}}', '{"type":"insert","data":{}}'],
    ['duplicates: the last, as JSON.parse reads it', '{"type":"update","data":{},"type":"bootstrap-insert"}', '{"type":"update","data":{},"type":"insert"}'],
    ['numbers and literals before it', '{"ts":1.5e3,"x":true,"y":null,"z":-0,"type":"bootstrap-insert"}', '{"ts":1.5e3,"x":true,"y":null,"z":-0,"type":"insert"}'],
    ['non-ASCII around it', '{"table":"订单","type":"bootstrap-insert","data":{"名":"北京"}}', '{"table":"订单","type":"insert","data":{"名":"北京"}}'],
  ])('%s', (_name, text, want) => {
    expect(edit(text)).toBe(want);
  });

  test('no top-level type, or not an object: nothing to edit', () => {
    expect(edit('{"data":{"type":"bootstrap-insert"}}')).toBeNull();
    expect(edit('["type","bootstrap-insert"]')).toBeNull();
  });
});
