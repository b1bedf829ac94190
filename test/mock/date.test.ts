import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setPropertiesValue, setTomlMockDate, setYamlMockDate, validateMockDate } from '../../src/mock/date';
import { RtwhError } from '../../src/errors';
import { cli, tempDir } from '../helpers/cli';

describe('strict dates', () => {
  test('the short form is refused with the fixed form suggested', () => {
    expect(() => validateMockDate('2025-1-15')).toThrow('invalid mock date "2025-1-15": expected YYYY-MM-DD (did you mean 2025-01-15?)');
  });
  test('impossible dates are refused', () => {
    expect(() => validateMockDate('2025-02-30')).toThrow(RtwhError);
    expect(() => validateMockDate('2024-02-29')).not.toThrow();
  });
});

describe('rtwh.toml: only the date changes', () => {
  test('replaces date inside [mock], keeping comments and the rest byte-for-byte', () => {
    const before = '# my config\nbus = "sqlite:x.db"\n\n[mock]\n# the day\ndate = "2025-01-01"  # old\n\n[http]\nport = 1\n';
    expect(setTomlMockDate(before, '2025-01-14')).toBe(before.replace('"2025-01-01"', '"2025-01-14"'));
  });
  test('adds date under an existing [mock] table, or a new table at the end', () => {
    expect(setTomlMockDate('[mock]\n[http]\nport = 1\n', '2025-01-14')).toBe('[mock]\ndate = "2025-01-14"\n[http]\nport = 1\n');
    expect(setTomlMockDate('bus = "sqlite:x"\n', '2025-01-14')).toBe('bus = "sqlite:x"\n\n[mock]\ndate = "2025-01-14"\n');
    expect(setTomlMockDate('', '2025-01-14')).toBe('[mock]\ndate = "2025-01-14"\n');
  });
  test('a date key of another table is left alone; a top-level mock.date is used', () => {
    expect(setTomlMockDate('[other]\ndate = "x"\n', '2025-01-14')).toBe('[other]\ndate = "x"\n\n[mock]\ndate = "2025-01-14"\n');
    expect(setTomlMockDate('mock.date = "2020-01-01"\n', '2025-01-14')).toBe('mock.date = "2025-01-14"\n');
  });
});

describe('Maxwell config.properties and the generator configs', () => {
  test('mock_date= is rewritten in place; CRLF and other keys kept', () => {
    const before = '# tl;dr config\r\nlog_level=info\r\nproducer=kafka\r\nmock_date=2020-06-14\r\nkafka_topic=ods_db\r\n';
    expect(setPropertiesValue(before, 'mock_date', '2025-01-14')).toBe(before.replace('2020-06-14', '2025-01-14'));
  });
  test('a commented key is not touched; a missing key is appended', () => {
    expect(setPropertiesValue('#mock_date=2020-01-01\nx=1\n', 'mock_date', '2025-01-14')).toBe('#mock_date=2020-01-01\nx=1\nmock_date=2025-01-14\n');
    expect(setPropertiesValue('mock_date_extra=1\n', 'mock_date', '2025-01-14')).toBe('mock_date_extra=1\nmock_date=2025-01-14\n');
  });
  test('application.properties mock.date with spaces', () => {
    expect(setPropertiesValue('mock.date = 2020-06-14\nmock.clear=1\n', 'mock.date', '2025-01-14')).toBe('mock.date = 2025-01-14\nmock.clear=1\n');
  });
  test('application.yml, nested and flat, quotes kept', () => {
    const nested = 'logging:\n  level: info\nmock:\n  date: "2020-06-14"\n  clear: 1\nserver:\n  date: x\n';
    expect(setYamlMockDate(nested, '2025-01-14')).toBe(nested.replace('"2020-06-14"', '"2025-01-14"'));
    expect(setYamlMockDate('mock.date: 2020-06-14\n', '2025-01-14')).toBe('mock.date: 2025-01-14\n');
    expect(setYamlMockDate('mock:\n    clear: 1\n', '2025-01-14')).toBe('mock:\n    date: 2025-01-14\n    clear: 1\n');
    expect(setYamlMockDate('server:\n  date: x\n', '2025-01-14')).toBe('server:\n  date: x\nmock.date: 2025-01-14\n');
  });
});

describe('rtwh mock date', () => {
  test('sets, then shows, the date; config show agrees', async () => {
    const cwd = tempDir();
    expect((await cli(['mock', 'date'], { cwd })).stdout.trim()).toBe('(unset)');
    const set = await cli(['mock', 'date', '2025-01-14'], { cwd });
    expect(set.code).toBe(0);
    expect(readFileSync(join(cwd, 'rtwh.toml'), 'utf8')).toBe('[mock]\ndate = "2025-01-14"\n');
    expect((await cli(['mock', 'date'], { cwd })).stdout.trim()).toBe('2025-01-14');
    expect((await cli(['config', 'show'], { cwd })).stdout).toMatch(/^mock\.date\s+2025-01-14\s+\[file\]$/m);
  });

  test('rewrites Maxwell and generator configs too', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'config.properties'), 'producer=kafka\nmock_date=2020-06-14\n');
    writeFileSync(join(cwd, 'application.yml'), 'mock:\n  date: 2020-06-14\n');
    const r = await cli(['mock', 'date', '2025-01-15', '--maxwell-config', 'config.properties', '--generator-config', 'application.yml'], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(cwd, 'config.properties'), 'utf8')).toBe('producer=kafka\nmock_date=2025-01-15\n');
    expect(readFileSync(join(cwd, 'application.yml'), 'utf8')).toBe('mock:\n  date: 2025-01-15\n');
  });

  test('the short form is rejected and nothing is written', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'config.properties'), 'mock_date=2020-06-14\n');
    const r = await cli(['mock', 'date', '2025-1-15', '--maxwell-config', 'config.properties'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean 2025-01-15?');
    expect(readFileSync(join(cwd, 'config.properties'), 'utf8')).toBe('mock_date=2020-06-14\n');
  });

  test('a missing Maxwell config is named, and nothing is changed', async () => {
    const cwd = tempDir();
    const r = await cli(['mock', 'date', '2025-01-15', '--maxwell-config', 'nope.properties', '--json'], { cwd });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.message).toContain('nope.properties');
    expect(existsSync(join(cwd, 'rtwh.toml'))).toBe(false);
  });
});
