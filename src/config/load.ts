/**
 * rtwh.toml (or --config FILE) + RTWH_* env + flags → one validated Config.
 * Precedence: flags > env > file > defaults. A wrong key or value fails at start, naming the key,
 * the value (masked when secret), where it came from and what was expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { q, rtwhError } from '../errors';
import { KEYS, KEY_INDEX, type ConfigValue, type KeySpec, type Source } from './schema';
import { maskUrl } from './mask';

export interface Config {
  bus: string;
  mysql: string | undefined;
  stateDir: string;
  mock: { date: string | undefined };
  kafka: { clientId: string; compression: 'none' | 'gzip' | 'snappy' | 'lz4' };
  duckdb: { path: string };
  http: { bind: string; port: number };
  log: { level: 'error' | 'warn' | 'info' | 'debug' };
  etl: { database: string };
}

export interface LoadedConfig {
  config: Config;
  values: ReadonlyMap<string, ConfigValue>;
  sources: ReadonlyMap<string, Source>;
  /** Absolute path of the file read, if any. */
  file: string | undefined;
}

export interface LoadOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Values of global flags by key (`bus`, `mysql`, …), only those the user gave. */
  flags?: Record<string, string | undefined>;
  /** --config FILE */
  configFile?: string | undefined;
}

export const DEFAULT_CONFIG_FILE = 'rtwh.toml';

export function loadConfig(opts: LoadOptions): LoadedConfig {
  const values = new Map<string, ConfigValue>();
  const sources = new Map<string, Source>();
  for (const k of KEYS) {
    if (k.default !== undefined) {
      values.set(k.key, k.default);
      sources.set(k.key, 'default');
    }
  }

  const file = findConfigFile(opts);
  if (file) {
    for (const [key, raw] of readConfigFile(file)) {
      const spec = KEY_INDEX.get(key);
      if (!spec) throw unknownKey(key, `in ${file}`);
      values.set(key, coerce(spec, raw, `${key} in ${file}`));
      sources.set(key, 'file');
    }
  }

  for (const spec of KEYS) {
    const raw = opts.env[spec.env];
    if (raw === undefined || raw === '') continue;
    values.set(spec.key, coerce(spec, raw, `${spec.env} (env)`));
    sources.set(spec.key, 'env');
  }

  for (const [flag, raw] of Object.entries(opts.flags ?? {})) {
    if (raw === undefined) continue;
    const spec = KEYS.find((k) => k.flag === flag);
    if (!spec) continue;
    values.set(spec.key, coerce(spec, raw, `--${flag}`));
    sources.set(spec.key, 'flag');
  }

  return { config: toConfig(values), values, sources, file };
}

function findConfigFile(opts: LoadOptions): string | undefined {
  const explicit = opts.configFile ?? opts.env.RTWH_CONFIG;
  if (explicit) {
    const p = resolve(opts.cwd, explicit);
    if (!existsSync(p)) {
      throw rtwhError('CONFIG_FILE', `config file ${q(explicit)} does not exist`, {
        hint: 'Create one with `rtwh config init`, or drop --config to use defaults.',
      });
    }
    return p;
  }
  const p = resolve(opts.cwd, DEFAULT_CONFIG_FILE);
  return existsSync(p) ? p : undefined;
}

/** Parses TOML and flattens tables into dotted keys (`[kafka] client_id` → `kafka.client_id`). */
export function readConfigFile(path: string): [string, unknown][] {
  let doc: unknown;
  try {
    doc = Bun.TOML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw rtwhError('CONFIG_FILE', `cannot parse ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const out: [string, unknown][] = [];
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
        if (!hasTable(key)) throw unknownKey(key, `in ${path}`);
        walk(v as Record<string, unknown>, key);
      } else out.push([key, v]);
    }
  };
  walk(doc as Record<string, unknown>, '');
  return out;
}

function hasTable(prefix: string): boolean {
  return KEYS.some((k) => k.key.startsWith(`${prefix}.`));
}

function unknownKey(key: string, where: string) {
  const near = closest(key, KEYS.map((k) => k.key));
  return rtwhError('CONFIG_KEY', `unknown config key ${q(key)} ${where}: expected one of ${KEYS.map((k) => k.key).join(', ')}${near ? ` (did you mean ${q(near)}?)` : ''}`, {
    details: { key },
  });
}

/** Turns a raw value into the key's type, or throws CONFIG_VALUE naming the key, the value and what was expected. */
export function coerce(spec: KeySpec, raw: unknown, where: string): ConfigValue {
  const shown = (spec.secret || spec.kind === 'url') && typeof raw === 'string' ? maskUrl(raw) : raw;
  const bad = (expected: string) =>
    rtwhError('CONFIG_VALUE', `invalid ${where} ${q(shown)}: ${expected}`, { details: { key: spec.key, where } });
  let v: ConfigValue;
  switch (spec.kind) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw bad('expected a whole number');
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw bad(`expected a whole number from ${spec.min} to ${spec.max}`);
      }
      v = n;
      break;
    }
    case 'bool': {
      if (typeof raw === 'boolean') v = raw;
      else if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw)) v = true;
      else if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw)) v = false;
      else throw bad('expected true or false');
      break;
    }
    case 'enum': {
      if (typeof raw !== 'string' || !spec.values?.includes(raw)) throw bad(`expected one of ${spec.values?.join(', ')}`);
      v = raw;
      break;
    }
    default: {
      if (typeof raw !== 'string') throw bad(`expected a string`);
      if (raw.trim() === '') throw bad('expected a non-empty value');
      v = raw;
    }
  }
  if (typeof v === 'string' && spec.check) {
    const problem = spec.check(v);
    if (problem) throw bad(problem);
  }
  return v;
}

function toConfig(values: ReadonlyMap<string, ConfigValue>): Config {
  const s = (k: string): string | undefined => {
    const v = values.get(k);
    return v === undefined ? undefined : String(v);
  };
  const must = (k: string): string => {
    const v = s(k);
    if (v === undefined) throw new Error(`config key ${k} has no default`);
    return v;
  };
  return {
    bus: must('bus'),
    mysql: s('mysql'),
    stateDir: must('state_dir'),
    mock: { date: s('mock.date') },
    kafka: { clientId: must('kafka.client_id'), compression: must('kafka.compression') as Config['kafka']['compression'] },
    duckdb: { path: must('duckdb.path') },
    http: { bind: must('http.bind'), port: Number(values.get('http.port')) },
    log: { level: must('log.level') as Config['log']['level'] },
    etl: { database: must('etl.database') },
  };
}

/** The value as `config show` prints it: secrets masked. */
export function displayValue(key: string, v: ConfigValue | undefined): string {
  if (v === undefined) return '';
  const spec = KEY_INDEX.get(key);
  if (spec?.secret && typeof v === 'string') return spec.kind === 'url' ? maskUrl(v) : '****';
  return String(v);
}

/** Damerau-free Levenshtein, enough for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
