/**
 * A bad flag is refused with exit 2, naming the flag and the value, before anything is opened or created: no bus file,
 * no dim store, no state file, no warehouse in the working directory.
 */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

const BUS = ['--bus', 'sqlite:bus.db'];

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

const cases: [string, string[], string][] = [
  ['mock db --to', ['mock', 'db', '--to', 'a b', '--date', '2025-01-14', ...BUS], 'invalid --to "a b": expected a topic name'],
  ['mock log --to', ['mock', 'log', '--to', 'a b', '--date', '2025-01-14', '--startup-count', '1', ...BUS], 'invalid --to "a b": expected a topic name'],
  ['ship log --topic', ['ship', 'log', '--path', 'logs/app.*', '--once', '--topic', 'a b', ...BUS], 'invalid --topic "a b": expected a topic name'],
  ['ship log --dlq', ['ship', 'log', '--path', 'logs/app.*', '--once', '--dlq', '', ...BUS], 'invalid --dlq "": expected a topic name'],
  ['tail TOPIC', ['tail', 'a b', ...BUS], 'invalid topic "a b": expected a topic name'],
  ['tail --group', ['tail', 'ods_db', '--group', '', ...BUS], 'invalid --group "": expected a consumer group name'],
  ['topics create NAME', ['topics', 'create', 'a b', ...BUS], 'invalid topic "a b": expected a topic name'],
  ['topics create -p', ['topics', 'create', 't1', '-p', '10001', ...BUS], 'invalid --partitions "10001": expected a whole number from 1 to 10000'],
  ['topics create -r', ['topics', 'create', 't1', '-r', '0', ...BUS], 'invalid --replicas "0"'],
  ['topics describe NAME', ['topics', 'describe', '..', ...BUS], 'invalid topic "..": expected a topic name'],
  ['topics delete NAME', ['topics', 'delete', '', '--execute', ...BUS], 'invalid topic "": expected a topic name'],
  ['cdc --topic', ['cdc', '--topic', 'a b', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall', '--position-store', 'local', ...BUS], 'invalid --topic "a b": expected a topic name'],
  ['cdc --schema-database', ['cdc', '--schema-database', 'a-b', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall', '--position-store', 'local', ...BUS], 'invalid --schema-database "a-b": expected a database name'],
  ['cdc bootstrap TABLE', ['cdc', 'bootstrap', 'gm all.t', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall', ...BUS], 'invalid table "gm all.t": expected database.table'],
  ['cdc bootstrap --schema-database', ['cdc', 'bootstrap', 'gmall.t', '--schema-database', 'a-b', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall', ...BUS], 'invalid --schema-database "a-b": expected a database name'],
  ['cdc bootstrap --where', ['cdc', 'bootstrap', 'gmall.t', '--where', ' ', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall', ...BUS], 'invalid --where " ": expected an SQL condition'],
  ['run dim --topic', ['run', 'dim', '--until-idle', '--topic', 'a b', ...BUS], 'invalid --topic "a b": expected a topic name'],
  ['run dim --dlq', ['run', 'dim', '--until-idle', '--dlq', 'a b', ...BUS], 'invalid --dlq "a b": expected a topic name'],
  ['run dim --group', ['run', 'dim', '--until-idle', '--group', '', ...BUS], 'invalid --group "": expected a consumer group name'],
  ['run dim --config-file', ['run', 'dim', '--until-idle', '--config-file', 'nope.csv', ...BUS], 'cannot read --config-file'],
  ['run dim --bootstrap without --mysql', ['run', 'dim', '--until-idle', '--bootstrap', 'maxwell', ...BUS], '--bootstrap needs the source MySQL server'],
  ['run dim --init-config without --mysql', ['run', 'dim', '--until-idle', '--init-config', ...BUS], '--init-config needs a MySQL server'],
  ['run dwd --dlq', ['run', 'dwd', '--until-idle', '--dlq', 'a b', ...BUS], 'invalid --dlq "a b": expected a topic name'],
  ['run dwd trade --cart-add-topic', ['run', 'dwd', 'trade', '--until-idle', '--cart-add-topic', 'a b', ...BUS], 'invalid --cart-add-topic "a b": expected a topic name'],
  ['run dws --batch', ['run', 'dws', '--until-idle', '--batch', '0', ...BUS], 'invalid --batch "0": expected a whole number from 1 to 100000'],
  ['run dws --out-of-orderness', ['run', 'dws', '--until-idle', '--out-of-orderness', '5x', ...BUS], '--out-of-orderness "5x": expected a duration'],
  ['run dws --window', ['run', 'dws', '--until-idle', '--window', '7s', ...BUS], 'invalid --window "7s"'],
  ['run dws --page-topic', ['run', 'dws', '--until-idle', '--page-topic', 'a b', ...BUS], 'invalid --page-topic "a b": expected a topic name'],
  ['run dws --dlq', ['run', 'dws', '--until-idle', '--dlq', 'a b', ...BUS], 'invalid --dlq "a b": expected a topic name'],
  ['run dws --state with every job', ['run', 'dws', '--until-idle', '--state', 'x.db', ...BUS], '--state and --group name one job'],
  ['ship log --position a directory', ['ship', 'log', '--path', 'logs/app.*', '--once', '--position', 'logs', ...BUS], 'invalid --position "logs": it is a directory; expected a file'],
  ['tail --database', ['tail', 'ods_db', '--etl', '--database', 'a b', ...BUS], 'invalid --database "a b": expected a database name (letters, digits and _'],
  ['cdc bootstrap --timeout with --no-wait', ['cdc', 'bootstrap', 'gmall.t', '--timeout', '5', '--no-wait', '--mysql', 'mysql://root:pw@127.0.0.1:1/gmall'], '--timeout "5" limits the wait, and --no-wait does not wait'],
  ['query SQL and --file', ['query', 'select 1', '--file', 'x.sql'], 'both SQL "select 1" and --file "x.sql" given: expected one of them'],
];

describe('a bad flag is refused (exit 2, flag and value named) before anything is created', () => {
  test.each(cases)('%s', async (_name, argv, message) => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'logs'));
    const r = await cli(argv, { cwd });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
    expect(tree(cwd)).toEqual(['logs']);
  });

  test('--json makes it one JSON object', async () => {
    const cwd = tempDir();
    const r = await cli(['run', 'dws', '--until-idle', '--window', '7s', '--json', ...BUS], { cwd });
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stderr) as { error: { code: string; exit: number; message: string } };
    expect(e.error).toMatchObject({ code: 'USAGE', exit: 2 });
    expect(e.error.message).toContain('--window "7s"');
    expect(tree(cwd)).toEqual([]);
  });
});
