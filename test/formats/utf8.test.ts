import { describe, expect, test } from 'bun:test';
import { latin1Write, utf8Write } from '../../src/formats/utf8.ts';

describe('Buffer string writers', () => {
  test("utf8Write writes what Buffer#write writes, returns the byte count, and keeps to the length given", () => {
    for (const s of ['', 'plain', 'ünï ✓ 中文', '𝄞 and a lone \ud800', 'x'.repeat(5000)]) {
      const a = Buffer.alloc(Buffer.byteLength(s) + 8, 0xee);
      const b = Buffer.alloc(a.length, 0xee);
      expect(utf8Write(a, s, 3)).toBe(b.write(s, 3, 'utf8'));
      expect(a.equals(b)).toBe(true);
    }
    const c = Buffer.alloc(8, 0xee);
    expect(utf8Write(c, 'abcdef', 1, 3)).toBe(3);
    expect([...c]).toEqual([0xee, 0x61, 0x62, 0x63, 0xee, 0xee, 0xee, 0xee]);
  });

  test('latin1Write writes one byte per character (ASCII text as its UTF-8), within the length given', () => {
    const c = Buffer.alloc(6, 0);
    expect(latin1Write(c, 'rtwh.seq', 1, 4)).toBe(4);
    expect(c.toString('latin1')).toBe('\0rtwh\0');
  });
});
