import { describe, expect, test } from 'bun:test';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGroupDir, globToRegExp, listGroups, parseFileGroup } from '../../../src/collect/taildir/file-group';
import { RtwhError } from '../../../src/errors';
import { tempDir } from '../helpers';
import { rtwhErrorOf } from '../../helpers/errors';

const usageError = (f: () => unknown): RtwhError => rtwhErrorOf(f, 'USAGE');

describe('file groups: --path DIR/PATTERN', () => {
  test.each([
    ['app.*', ['app.log', 'app.2025-01-14.log', 'app.log.1'], ['app', 'myapp.log', '.app.log', 'app.log/x']],
    ['app.log', ['app.log'], ['app.log.1', 'appxlog']],
    ['app.?.log', ['app.1.log'], ['app.12.log']],
    ['app.[0-9].log', ['app.3.log'], ['app.a.log']],
    ['app.[!0-9].log', ['app.a.log'], ['app.3.log']],
    ['{app,err}.log', ['app.log', 'err.log'], ['web.log']],
    ['.*.log', ['.hidden.log'], ['x.log']],
    ['a+b(1).log', ['a+b(1).log'], ['aab1.log']],
  ])('glob %p', (glob, yes, no) => {
    const re = globToRegExp(glob);
    for (const n of yes) expect(re.test(n)).toBe(true);
    for (const n of no) expect(re.test(n)).toBe(false);
  });

  test('the directory part is literal and resolved against the working directory', () => {
    const g = parseFileGroup('applog/app.*', '/work');
    expect(g.dir).toBe('/work/applog');
    expect(g.pattern.source).toBe('^(?!\\.)app\\.[^/]*$');
    expect(parseFileGroup('app.*', '/work').dir).toBe('/work');
    expect(parseFileGroup('/var/log/app.*', '/work').dir).toBe('/var/log');
  });

  test('regex: is Flume\'s form, matched against the whole name', () => {
    const g = parseFileGroup('regex:/var/log/test2/.*log.*', '/');
    expect(g.dir).toBe('/var/log/test2');
    expect(g.pattern.test('access.log.1')).toBe(true);
    const anchored = parseFileGroup('regex:/d/app\\.log', '/');
    expect(anchored.pattern.test('app.log')).toBe(true);
    expect(anchored.pattern.test('xapp.log.1')).toBe(false);
  });

  test('bad patterns name the flag value and what was expected', () => {
    expect(usageError(() => parseFileGroup('regex:logs/app(.log', '/')).message).toContain('invalid --path "regex:logs/app(.log": "app(.log" is not a valid regular expression');
    expect(usageError(() => parseFileGroup('logs/*/app.log', '/')).message).toContain('the directory part "logs/*" must be literal');
    expect(usageError(() => parseFileGroup('applog/', '/')).message).toContain('expected a directory and a file name pattern');
    expect(usageError(() => parseFileGroup('applog/app.[log', '/')).message).toContain('unclosed [');
  });

  test('an unreadable or missing directory is a clear error', () => {
    const dir = tempDir();
    const e = usageError(() => checkGroupDir(parseFileGroup(`${dir}/nope/app.*`, '/')));
    expect(e.message).toContain(`cannot read the directory "${dir}/nope" of --path "${dir}/nope/app.*": ENOENT`);
    expect(e.hint).toContain('existing, readable directory');
    writeFileSync(join(dir, 'plain'), '');
    expect(usageError(() => checkGroupDir(parseFileGroup(`${dir}/plain/app.*`, '/'))).message).toContain('cannot read the directory');
  });

  test('listing: regular files only, one per inode across groups, oldest modification first', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'app.dir'));
    const t = Date.now() / 1000;
    for (const [name, age] of [['app.c', 30], ['app.a', 10], ['app.b', 20]] as const) {
      writeFileSync(join(dir, name), `${name}\n`);
      utimesSync(join(dir, name), t - age, t - age);
    }
    const groups = [parseFileGroup(`${dir}/app.*`, '/'), parseFileGroup(`${dir}/app.[ab]`, '/')];
    const files = listGroups(groups);
    expect(files.map((f) => f.path.split('/').pop())).toEqual(['app.c', 'app.b', 'app.a']);
    expect(new Set(files.map((f) => f.inode)).size).toBe(3);
    expect(listGroups(groups, new Set([join(dir, 'app.b')])).length).toBe(2);
  });

  test('ignored files and the temporary files of their atomic writes are not listed (a kill -9 leaves one behind)', () => {
    const dir = tempDir();
    const pos = join(dir, 'pos.json');
    for (const name of ['app.log', 'pos.json', 'pos.json.4242-7-k3x9q1.tmp', 'pos.json.tmp.bak', 'other.json.4242-7-k3x9q1.tmp']) writeFileSync(join(dir, name), '{}\n');
    const files = listGroups([parseFileGroup(`${dir}/*`, '/')], new Set([pos]));
    expect(files.map((f) => f.path.split('/').pop()).sort()).toEqual(['app.log', 'other.json.4242-7-k3x9q1.tmp', 'pos.json.tmp.bak']);
  });
});
