/** A stream job's status as Prometheus metrics (src/cli/http.ts serveHttp), a health answer and a status-line detail. */
import type { Health, Metric } from '../cli/http';
import { formatCount } from '../cli/progress';
import type { JobStatus } from './types';

export function jobMetrics(s: JobStatus): Metric[] {
  const base = { job: s.job };
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return [
    { name: 'rtwh_job_records_total', type: 'counter', help: 'Input records processed (after the stored offsets).', samples: [{ labels: base, value: s.records }] },
    { name: 'rtwh_job_records_per_second', type: 'gauge', help: 'Input records processed per second (last status interval).', samples: [{ labels: base, value: Math.round(s.recordsPerSecond) }] },
    { name: 'rtwh_job_emitted_total', type: 'counter', help: 'Records committed per output.', samples: Object.entries(s.emitted).map(([output, n]) => ({ labels: { ...base, output }, value: n })) },
    { name: 'rtwh_job_dead_letters_total', type: 'counter', help: 'Input records sent to the dead-letter topic.', samples: [{ labels: base, value: s.deadLetters }] },
    { name: 'rtwh_job_events_total', type: 'counter', help: 'Job counters (late records, join outcomes …).', samples: Object.entries(s.counters).map(([counter, n]) => ({ labels: { ...base, counter }, value: n })) },
    { name: 'rtwh_job_watermark_ms', type: 'gauge', help: 'Event-time watermark (ms since the epoch; absent before the first event and while draining).', samples: [{ labels: base, value: finite(s.watermark) }] },
    { name: 'rtwh_job_lag_records', type: 'gauge', help: 'Records in the inputs not processed yet.', samples: [{ labels: base, value: s.lag }] },
    { name: 'rtwh_job_outbox_records', type: 'gauge', help: 'Outputs committed but not yet acknowledged by the bus.', samples: [{ labels: base, value: s.outboxPending }] },
    { name: 'rtwh_job_state_entries', type: 'gauge', help: 'Keyed state entries.', samples: [{ labels: base, value: s.stateEntries }] },
    { name: 'rtwh_job_timers', type: 'gauge', help: 'Timers registered and not fired yet.', samples: [{ labels: base, value: s.timersPending }] },
    { name: 'rtwh_job_up', type: 'gauge', help: '1 while running, 0 while waiting for the bus or a server, starting or stopping.', samples: [{ labels: { ...base, state: s.state }, value: s.state === 'running' || s.state === 'draining' ? 1 : 0 }] },
  ];
}

export function jobHealth(s: JobStatus): Health {
  const ok = s.state === 'running' || s.state === 'starting' || s.state === 'draining';
  return {
    ok,
    body: { status: ok ? 'ok' : s.state, job: s.job, waiting_for: s.waitingFor ?? null, lag: s.lag, outbox: s.outboxPending, watermark: Number.isFinite(s.watermark) ? s.watermark : null },
  };
}

/** "page 1,200 · start 40 · 3 dead letters · late 2 · lag 0" */
export function jobDetail(s: JobStatus): string {
  const parts: string[] = [];
  if (s.state === 'waiting') parts.push(`waiting for ${s.waitingFor ?? '?'}`);
  for (const [o, n] of Object.entries(s.emitted)) parts.push(`${o} ${formatCount(n)}`);
  if (s.deadLetters) parts.push(`${formatCount(s.deadLetters)} dead letter${s.deadLetters === 1 ? '' : 's'}`);
  for (const [c, n] of Object.entries(s.counters)) parts.push(`${c} ${formatCount(n)}`);
  if (s.outboxPending) parts.push(`outbox ${formatCount(s.outboxPending)}`);
  parts.push(`lag ${s.lag === null ? '?' : formatCount(s.lag)}`);
  return parts.join(' · ');
}
