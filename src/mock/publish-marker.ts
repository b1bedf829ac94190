/**
 * A mock run that publishes onto a topic (`mock db --to`, `mock log --to`) leaves a marker under the state dir while
 * it publishes. Killed part-way, it leaves the topic with part of its day and — mock db — its state unsaved, so the
 * same command again would publish that part a second time (an audit doubled 45,012 of 223,896 ods_db records and
 * 60,000 log lines that way, without a word). The next run finds the marker and refuses, saying what happened and
 * how to go on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { q, rtwhError } from '../errors';
import { writeFileAtomic } from '../store/atomic-file';

export interface PublishRun {
  /** `mock db` or `mock log`. */
  command: string;
  topic: string;
  /** The business date(s) of the run, as said in messages. */
  dates: string;
  seed: number;
}

interface Marker extends PublishRun {
  pid: number;
  started: string;
}

/** The marker of `command`'s runs onto `topic` of the bus (one per bus and topic, like mock db's state file). */
export function publishMarkerPath(stateDir: string, command: 'mock-db' | 'mock-log', busDisplayUrl: string, topic: string): string {
  const h = createHash('sha1').update(busDisplayUrl).digest('hex').slice(0, 8);
  return join(stateDir, command, `${topic}-${h}.publishing`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `publish` with the marker at `path`: refused when an earlier run left its marker. The marker goes when the
 * run finishes, or fails before it published anything (`sent` counts what it has).
 */
export async function publishing<T>(path: string, run: PublishRun, sent: () => number, publish: () => Promise<T>): Promise<T> {
  beginPublishing(path, run);
  let out: T;
  try {
    out = await publish();
  } catch (e) {
    if (sent() === 0) endPublishing(path);
    throw e;
  }
  endPublishing(path);
  return out;
}

/** Refuses when an earlier run left its marker (stopped part-way, or still publishing); else leaves this run's. */
function beginPublishing(path: string, run: PublishRun): void {
  if (existsSync(path)) {
    let m: Partial<Marker> = {};
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Marker>;
    } catch {
      // a marker is a marker, readable or not
    }
    const what = `${m.command ?? run.command} --to ${m.topic ?? run.topic}${m.dates ? ` for ${m.dates}` : ''}${m.seed !== undefined ? ` (seed ${m.seed})` : ''}`;
    if (typeof m.pid === 'number' && m.pid !== process.pid && alive(m.pid)) {
      throw rtwhError('MOCK_PUBLISHING', `${what} is publishing now (pid ${m.pid}${m.started ? `, since ${m.started}` : ''}): two runs onto one topic would publish the same rows twice`, {
        // (a pid can be another process's by now, after a reboot: the marker is named so there is a way on)
        hint: `Wait for it to finish, or stop it. If no such run is going on, delete ${q(path)}.`,
      });
    }
    throw rtwhError('MOCK_PUBLISHING', `${what}${m.started ? `, started ${m.started},` : ''} stopped before it finished: ${q(run.topic)} holds part of that run, and running again would publish that part a second time`, {
      hint: `Start the topic over (\`rtwh topics delete ${run.topic}\`, then the run${run.command === 'mock db' ? ' with --init' : ''}), or, to publish again anyway, delete ${q(path)}.`,
    });
  }
  const m: Marker = { ...run, pid: process.pid, started: new Date().toISOString() };
  writeFileAtomic(path, JSON.stringify(m), { mkdir: true });
}

/** The run finished (or failed before it published anything): the marker goes. */
function endPublishing(path: string): void {
  rmSync(path, { force: true });
}
