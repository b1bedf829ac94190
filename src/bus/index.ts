/**
 * Picks the bus implementation from its URL. Implementations are imported lazily so a command that
 * never touches Kafka never loads kafkajs (start-up time of the binary matters).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { q, rtwhError } from '../errors';
import { checkBusUrl } from '../config/schema';
import { maskUrl } from '../config/mask';
import type { Bus } from './types';

export type BusLocation = { kind: 'kafka'; brokers: string[] } | { kind: 'sqlite'; path: string };

export function parseBusUrl(url: string, cwd: string = process.cwd()): BusLocation {
  const problem = checkBusUrl(url);
  if (problem) throw rtwhError('BUS_URL', `invalid bus URL ${q(maskUrl(url))}: ${problem}`);
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', path: resolve(cwd, url.slice('sqlite:'.length)) };
  return { kind: 'kafka', brokers: url.slice('kafka://'.length).split(',') };
}

export interface OpenBusOptions {
  cwd?: string;
  clientId?: string;
  /**
   * Only read (tail, topics, groups): an embedded bus file that is not there is BUS_NOT_FOUND instead of being
   * created empty — a mistyped --bus sqlite:PATH would otherwise leave a new file behind and report no topics.
   */
  mustExist?: boolean;
}

export async function openBus(url: string, opts: OpenBusOptions = {}): Promise<Bus> {
  const loc = parseBusUrl(url, opts.cwd);
  if (loc.kind === 'sqlite') {
    if (opts.mustExist && !existsSync(loc.path)) throw rtwhError('BUS_NOT_FOUND', `there is no bus file ${q(loc.path)}`);
    const { openSqliteBus } = await import('./sqlite');
    return openSqliteBus(loc.path);
  }
  const { openKafkaBus } = await import('./kafka');
  return openKafkaBus(loc.brokers, opts.clientId === undefined ? {} : { clientId: opts.clientId });
}
