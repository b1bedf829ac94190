/**
 * Opens the dim store a URL names: `sqlite:PATH` or a plain file path → the embedded SQLite store,
 * `mysql://user:pass@host:port/db` → MySQL/MariaDB. Implementations are imported lazily (a SQLite user never
 * loads mysql2).
 */
import { resolve } from 'node:path';
import { maskUrl } from '../config/mask.ts';
import { q, rtwhError } from '../errors.ts';
import type { FeedPolicy } from './store-common.ts';
import type { DimStore } from './types.ts';

export interface OpenDimStoreOptions {
  /** Relative SQLite paths are resolved against this (default: the process's working directory). */
  cwd?: string;
  /** SQLite: how long a write waits for another process's write lock (default 30 s). */
  busyTimeoutMs?: number;
  /** MySQL: called (at most every few seconds) while the server is unreachable and a call waits for it. */
  onWaiting?: (reason: string) => void;
  /** MySQL: aborts calls that are waiting for the server (they reject with INTERRUPTED). */
  signal?: AbortSignal;
  feed?: FeedPolicy;
}

export type DimStoreLocation = { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string };

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;

export function parseDimStoreUrl(url: string, cwd: string = process.cwd()): DimStoreLocation {
  const shown = q(maskUrl(url));
  if (typeof url !== 'string' || url.trim() === '') throw rtwhError('DIM_STORE_URL', 'empty dim store URL');
  const scheme = SCHEME_RE.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw rtwhError('DIM_STORE_URL', `invalid dim store URL ${shown}: no file path after sqlite:`);
    return { kind: 'sqlite', path: resolve(cwd, path) };
  }
  if (scheme === 'mysql') {
    if (!url.startsWith('mysql://')) throw rtwhError('DIM_STORE_URL', `invalid dim store URL ${shown}: expected mysql://user:pass@host:port/db`);
    return { kind: 'mysql', url };
  }
  // A Windows drive letter (C:\…) is a path, not a scheme.
  if (scheme === undefined || /^[A-Za-z]:[\\/]/.test(url)) return { kind: 'sqlite', path: resolve(cwd, url) };
  throw rtwhError('DIM_STORE_URL', `unsupported dim store URL ${shown}: the scheme ${q(scheme)} is not one of sqlite:, mysql://`);
}

export async function openDimStore(url: string, opts: OpenDimStoreOptions = {}): Promise<DimStore> {
  const loc = parseDimStoreUrl(url, opts.cwd);
  if (loc.kind === 'sqlite') {
    const { SqliteDimStore } = await import('./store-sqlite.ts');
    return new SqliteDimStore(loc.path, {
      ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
      ...(opts.feed ? { feed: opts.feed } : {}),
    });
  }
  const { MysqlDimStore } = await import('./store-mysql.ts');
  return MysqlDimStore.open(loc.url, {
    ...(opts.onWaiting ? { onWaiting: opts.onWaiting } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.feed ? { feed: opts.feed } : {}),
  });
}
