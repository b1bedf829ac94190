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

/** Tables named in the status line; the others with writes are summed up as "+N more". */
export const STATUS_TABLES = 3;

/**
 * "config v3 (16 rules, following) · dim_user_info 1,203 upserted/4 deleted, dim_sku_info 88/0, dim_base_province
 * 34/0, +12 more · 2 rejected rows · 0 dead letters · lag 0": the busiest tables (upserts + deletes, most first),
 * rejected config rows when there are any, dead letters and lag always.
 */
export function dimDetail(s: DimStatus): string {
  const parts = [s.state === 'waiting' ? `waiting for ${s.waitingFor ?? '?'}` : `config v${s.configVersion} (${s.rules} rule${s.rules === 1 ? '' : 's'}, ${s.configState})`];
  const busy = Object.entries(s.tables)
    .filter(([, c]) => c.upserts + c.deletes > 0)
    .sort((a, b) => b[1].upserts + b[1].deletes - (a[1].upserts + a[1].deletes) || (a[0] < b[0] ? -1 : 1));
  if (busy.length === 0) parts.push('no rows written');
  else {
    const shown = busy.slice(0, STATUS_TABLES).map(([t, c], i) => `${t} ${formatCount(c.upserts)}${i === 0 ? ' upserted' : ''}/${formatCount(c.deletes)}${i === 0 ? ' deleted' : ''}`);
    if (busy.length > STATUS_TABLES) shown.push(`+${busy.length - STATUS_TABLES} more`);
    parts.push(shown.join(', '));
  }
  if (s.rejectedRules) parts.push(`${formatCount(s.rejectedRules)} rejected row${s.rejectedRules === 1 ? '' : 's'}`);
  parts.push(`${formatCount(s.deadLetters)} dead letter${s.deadLetters === 1 ? '' : 's'}`);
  parts.push(`lag ${s.lag === null ? '?' : formatCount(s.lag)}`);
  return parts.join(' · ');
}
