import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { maskSecrets, maskUrl } from '../../src/config/mask';
import { starterToml } from '../../src/config/starter';
import { RtwhError } from '../../src/errors';
import { tempDir } from '../helpers/cli';
import { rtwhErrorOf } from '../helpers/errors';

function dirWith(toml: string): string {
  const d = tempDir();
  writeFileSync(join(d, 'rtwh.toml'), toml);
  return d;
}

const failure = (f: () => unknown): RtwhError => rtwhErrorOf(f);

describe('config precedence: flags > env > file > defaults', () => {
  test('defaults alone', () => {
    const { config, sources, file } = loadConfig({ cwd: tempDir(), env: {} });
    expect(file).toBeUndefined();
    expect(config.bus).toBe('sqlite:./.rtwh/bus.db');
    expect(config.http).toEqual({ bind: '127.0.0.1', port: 8686 });
    expect(config.mysql).toBeUndefined();
    expect(sources.get('bus')).toBe('default');
  });

  test('each layer overrides the one below', () => {
    const cwd = dirWith('bus = "kafka://10.0.0.1:9092"\n[http]\nport = 9000\n[kafka]\ncompression = "lz4"\n');
    const fileOnly = loadConfig({ cwd, env: {} });
    expect(fileOnly.config.bus).toBe('kafka://10.0.0.1:9092');
    expect(fileOnly.config.http.port).toBe(9000);
    expect(fileOnly.sources.get('http.port')).toBe('file');

    const env = loadConfig({ cwd, env: { RTWH_BUS: 'sqlite:/tmp/x.db', RTWH_HTTP_PORT: '9100' } });
    expect(env.config.bus).toBe('sqlite:/tmp/x.db');
    expect(env.config.http.port).toBe(9100);
    expect(env.config.kafka.compression).toBe('lz4');
    expect(env.sources.get('bus')).toBe('env');

    const flag = loadConfig({ cwd, env: { RTWH_BUS: 'sqlite:/tmp/x.db' }, flags: { bus: 'kafka://127.0.0.1:9092' } });
    expect(flag.config.bus).toBe('kafka://127.0.0.1:9092');
    expect(flag.sources.get('bus')).toBe('flag');
  });

  test('--config FILE is read instead of ./rtwh.toml', () => {
    const cwd = dirWith('bus = "sqlite:a.db"\n');
    writeFileSync(join(cwd, 'other.toml'), 'bus = "sqlite:b.db"\n');
    expect(loadConfig({ cwd, env: {}, configFile: 'other.toml' }).config.bus).toBe('sqlite:b.db');
    expect(loadConfig({ cwd, env: { RTWH_CONFIG: 'other.toml' } }).config.bus).toBe('sqlite:b.db');
  });
});

describe('a wrong key or value fails at start, naming key, value and expectation', () => {
  test('unknown key suggests the closest', () => {
    const e = failure(() => loadConfig({ cwd: dirWith('buss = "sqlite:x"\n'), env: {} }));
    expect(e.code).toBe('CONFIG_KEY');
    expect(e.message).toContain('"buss"');
    expect(e.message).toContain('did you mean "bus"');
    expect(e.exitCode).toBe(2);
  });

  test('unknown table key', () => {
    const e = failure(() => loadConfig({ cwd: dirWith('[kafka]\nclientid = "x"\n'), env: {} }));
    expect(e.message).toContain('"kafka.clientid"');
    expect(e.message).toContain('did you mean "kafka.client_id"');
  });

  test('bad enum from env names the variable', () => {
    const e = failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_KAFKA_COMPRESSION: 'zstdx' } }));
    expect(e.code).toBe('CONFIG_VALUE');
    expect(e.message).toBe('invalid RTWH_KAFKA_COMPRESSION (env) "zstdx": expected one of none, gzip, snappy, lz4');
  });

  test('bad bus URL from a flag', () => {
    const e = failure(() => loadConfig({ cwd: tempDir(), env: {}, flags: { bus: 'kafka:/oops' } }));
    expect(e.message).toContain('--bus "kafka:/oops"');
    expect(e.message).toContain('expected kafka://host:port');
  });

  test('a bus or mysql URL port outside 1..65535 is a config error naming the value, not a connection failure later', () => {
    for (const bus of ['kafka://127.0.0.1:99999', 'kafka://127.0.0.1:0', 'kafka://127.0.0.1:9092,h2:65536']) {
      const e = failure(() => loadConfig({ cwd: tempDir(), env: {}, flags: { bus } }));
      expect(e.code).toBe('CONFIG_VALUE');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`--bus ${JSON.stringify(bus)}`);
      expect(e.message).toContain('a port from 1 to 65535');
    }
    expect(loadConfig({ cwd: tempDir(), env: {}, flags: { bus: 'kafka://h:1,h:65535' } }).config.bus).toBe('kafka://h:1,h:65535');
    const e = failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_MYSQL: 'mysql://root:pw@127.0.0.1:0/gmall' } }));
    expect(e.code).toBe('CONFIG_VALUE');
    expect(e.message).toContain('RTWH_MYSQL (env)');
    expect(e.message).toContain('a port from 1 to 65535');
  });

  test('port out of range', () => {
    const e = failure(() => loadConfig({ cwd: dirWith('[http]\nport = 70000\n'), env: {} }));
    expect(e.message).toContain('http.port');
    expect(e.message).toContain('from 1 to 65535');
  });

  test('a bad date gets a did-you-mean', () => {
    const e = failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_MOCK_DATE: '2025-1-15' } }));
    expect(e.message).toBe('invalid RTWH_MOCK_DATE (env) "2025-1-15": expected YYYY-MM-DD (did you mean 2025-01-15?)');
    expect(failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_MOCK_DATE: '2025-02-30' } })).message).toContain('real calendar date');
    expect(failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_MOCK_DATE: '9999-12-31' } })).message).toBe('invalid RTWH_MOCK_DATE (env) "9999-12-31": expected a date from 1970-01-02 to 9999-11-30');
  });

  test('the HTTP bind address and the ETL database are checked when the config is loaded', () => {
    expect(failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_HTTP_BIND: 'not an ip' } })).message).toBe('invalid RTWH_HTTP_BIND (env) "not an ip": expected an IP address or host name to listen on (e.g. 127.0.0.1)');
    expect(failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_HTTP_BIND: '127.0.0.1:80' } })).message).toContain('expected an IP address or host name');
    for (const ok of ['0.0.0.0', '::1', 'localhost', 'metrics.internal']) expect(loadConfig({ cwd: tempDir(), env: { RTWH_HTTP_BIND: ok } }).config.http.bind).toBe(ok);
    expect(failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_ETL_DATABASE: 'a b`' } })).message).toBe('invalid RTWH_ETL_DATABASE (env) "a b`": expected a database name (letters, digits and _, not starting with a digit, at most 64)');
    expect(loadConfig({ cwd: tempDir(), env: { RTWH_ETL_DATABASE: 'gmall2022' } }).config.etl.database).toBe('gmall2022');
  });

  test('broken TOML names the file', () => {
    const e = failure(() => loadConfig({ cwd: dirWith('bus = \n'), env: {} }));
    expect(e.code).toBe('CONFIG_FILE');
    expect(e.message).toContain('rtwh.toml');
  });

  test('a bad secret value is masked in the error', () => {
    const e = failure(() => loadConfig({ cwd: tempDir(), env: { RTWH_MYSQL: 'postgres://u:hunter2@h/db' } }));
    expect(e.message).not.toContain('hunter2');
    expect(e.message).toContain('postgres://u:****@h/db');
  });

  test('a bus URL with a user and password is refused without showing the password', () => {
    for (const env of [{ RTWH_BUS: 'kafka://alice:S3CRETX@127.0.0.1:9092' }, { RTWH_BUS: 'kafka://127.0.0.1:9092,alice:S3CRETX@h2:9092' }]) {
      const e = failure(() => loadConfig({ cwd: tempDir(), env }));
      expect(JSON.stringify(e.toJSON())).not.toContain('S3CRETX');
      expect(e.message).toContain(':****@');
      expect(e.message).toContain('no user or password');
    }
  });

  test('missing --config file', () => {
    expect(failure(() => loadConfig({ cwd: tempDir(), env: {}, configFile: 'nope.toml' })).message).toContain('"nope.toml" does not exist');
  });
});

describe('masking and the starter file', () => {
  test('maskUrl hides only the password', () => {
    expect(maskUrl('mysql://root:s3cret@127.0.0.1:3307/gmall')).toBe('mysql://root:****@127.0.0.1:3307/gmall');
    expect(maskUrl('kafka://127.0.0.1:9092')).toBe('kafka://127.0.0.1:9092');
    expect(maskSecrets('connect mysql://a:b@c/d failed')).toBe('connect mysql://a:****@c/d failed');
  });

  test('the starter file parses, and uncommenting its defaults changes nothing', () => {
    const text = starterToml();
    const cwd = dirWith(text);
    expect(loadConfig({ cwd, env: {} }).sources.get('bus')).toBe('default');
    // Uncomment every "#key = default" line that is the first example of its key: the values stay the defaults.
    const seen = new Set<string>();
    const uncommented = text
      .split('\n')
      .map((l) => {
        const m = /^#([a-z_]+) = /.exec(l);
        if (!m || l.startsWith('# ')) return l;
        const k = m[1]!;
        if (seen.has(k)) return l;
        seen.add(k);
        return l.slice(1);
      })
      .join('\n');
    const loaded = loadConfig({ cwd: dirWith(uncommented), env: {} });
    expect(loaded.config).toEqual(loadConfig({ cwd: tempDir(), env: {} }).config);
    expect(loaded.sources.get('bus')).toBe('file');
  });
});
