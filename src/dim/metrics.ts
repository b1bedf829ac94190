/** The dim job's status as Prometheus metrics, a health answer and a status-line detail. */
import type { Health, Metric } from '../cli/http';
import { formatCount } from '../cli/progress';
import type { DimStatus } from './job';

export function dimMetrics(s: DimStatus): Metric[] {
  const base = { group: s.group, topic: s.topic };
  const tables = Object.entries(s.tables);
  return [
    { name: 'rtwh_dim_records_total', type: 'counter', help: 'Input records routed (after the stored offsets).', samples: [{ labels: base, value: s.records }] },
    { name: 'rtwh_dim_upserts_total', type: 'counter', help: 'Rows upserted per dim table.', samples: tables.map(([t, c]) => ({ labels: { ...base, table: t }, value: c.upserts })) },
    { name: 'rtwh_dim_deletes_total', type: 'counter', help: 'Rows deleted per dim table.', samples: tables.map(([t, c]) => ({ labels: { ...base, table: t }, value: c.deletes })) },
    {
      name: 'rtwh_dim_skipped_total',
      type: 'counter',
      help: 'Changes not routed, by reason.',
      samples: [
        { labels: { ...base, reason: 'other_database' }, value: s.skippedOtherDatabase },
        { labels: { ...base, reason: 'unconfigured' }, value: s.skippedUnconfigured },
        { labels: { ...base, reason: 'control' }, value: s.controlRecords },
      ],
    },
    { name: 'rtwh_dim_dead_letters_total', type: 'counter', help: 'Records sent to the dead-letter topic.', samples: [{ labels: base, value: s.deadLetters }] },
    { name: 'rtwh_dim_config_version', type: 'gauge', help: 'Config changes applied (1 after the initial load).', samples: [{ labels: base, value: s.configVersion }] },
    { name: 'rtwh_dim_rules', type: 'gauge', help: 'table_process rules in use.', samples: [{ labels: base, value: s.rules }] },
    { name: 'rtwh_dim_rejected_rules_total', type: 'counter', help: 'table_process rows rejected.', samples: [{ labels: base, value: s.rejectedRules }] },
    { name: 'rtwh_dim_lag_records', type: 'gauge', help: 'Records in the assigned partitions not routed yet.', samples: [{ labels: base, value: s.lag }] },
    { name: 'rtwh_dim_up', type: 'gauge', help: '1 while running, 0 while waiting for the store, the bus or the config.', samples: [{ labels: { ...base, state: s.state }, value: s.state === 'running' ? 1 : 0 }] },
  ];
}

export function dimHealth(s: DimStatus): Health {
  const ok = s.state === 'running' || s.state === 'starting';
  return { ok, body: { status: ok ? 'ok' : s.state, waiting_for: s.waitingFor ?? null, lag: s.lag, config_version: s.configVersion, config: s.configState } };
}

/** "config v3 (16 rules, following) · 12 dead letters · lag 0" */
export function dimDetail(s: DimStatus): string {
  const parts = [s.state === 'waiting' ? `waiting for ${s.waitingFor ?? '?'}` : `config v${s.configVersion} (${s.rules} rules, ${s.configState})`];
  const up = Object.values(s.tables).reduce((a, c) => a + c.upserts, 0);
  const del = Object.values(s.tables).reduce((a, c) => a + c.deletes, 0);
  parts.push(`${formatCount(up)} upserts`, `${formatCount(del)} deletes`);
  if (s.deadLetters) parts.push(`${formatCount(s.deadLetters)} dead letters`);
  parts.push(`lag ${s.lag === null ? '?' : formatCount(s.lag)}`);
  return parts.join(' · ');
}
