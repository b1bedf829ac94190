import { describe, expect, test } from 'bun:test';
import { maskSecrets, maskUrl } from '../../src/config/mask';

describe('maskUrl', () => {
  test('a password holding @ is masked whole (URL parsers split at the last @)', () => {
    const url = 'mysql://root:p@S3CRETX@127.0.0.1:3307/gmall';
    expect(new URL(url).password).toBe('p%40S3CRETX');
    expect(maskUrl(url)).toBe('mysql://root:****@127.0.0.1:3307/gmall');
  });

  test('a URL that does not parse (/, ? or # in the password) does not show its password', () => {
    for (const url of ['mysql://root:pa/S3CRETX@127.0.0.1:3307/gmall', 'mysql://root:1234/S3CRETX@127.0.0.1/gmall', 'mysql://root:S3C?RETX@h/db', 'mysql://root:S3C#RETX@h/db']) {
      expect(maskUrl(url)).not.toContain('S3C');
    }
    expect(maskUrl('mysql://root:pa/S3CRETX@127.0.0.1:3307/gmall')).toBe('mysql://root:****@127.0.0.1:3307/gmall');
  });

  test('a scheme without // still loses its password', () => {
    expect(maskUrl('mysql:root:S3CRETX@127.0.0.1:3307/gmall')).toBe('mysql:root:****@127.0.0.1:3307/gmall');
    expect(maskUrl('mysql:/root:S3CRETX@127.0.0.1:3307/gmall')).toBe('mysql:/root:****@127.0.0.1:3307/gmall');
  });

  test('what has no password is unchanged', () => {
    for (const url of ['kafka://127.0.0.1:9092', 'mysql://root@h:3306/db', 'mysql://h:3306/db', 'sqlite:./.rtwh/bus.db', 'redis://h:6379/0']) {
      expect(maskUrl(url)).toBe(url);
    }
    expect(maskUrl('mysql://root:@h/db')).toBe('mysql://root:@h/db');
  });
});

describe('maskSecrets', () => {
  test('masks every URL in a text, whatever its password holds', () => {
    expect(maskSecrets('connect mysql://a:b@c/d failed')).toBe('connect mysql://a:****@c/d failed');
    const text = 'invalid --mysql "mysql://root:pa/S3CRETX@h:3307/gmall": expected …; also redis://u:p@S3CRETX@r:6379';
    expect(maskSecrets(text)).toBe('invalid --mysql "mysql://root:****@h:3307/gmall": expected …; also redis://u:****@r:6379');
  });
});
