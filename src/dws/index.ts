/**
 * The summary layer's jobs and tables: the six traffic/user windows (traffic.ts), the five trade windows
 * (trade.ts), the table catalogue (tables.ts) and the DuckDB sink (sink.ts). `rtwh run dws` runs them.
 */
import type { JobSpec } from '../stream/types';
import { dwsTable, type DwsTable } from './tables';
import { DWS_TRADE_JOBS } from './trade';
import { DWS_TRAFFIC_JOBS } from './traffic';

/** Every DWS job, traffic/user first, then trade. */
export const DWS_JOBS: readonly JobSpec[] = [...DWS_TRAFFIC_JOBS, ...DWS_TRADE_JOBS];

/** `dws traffic_vc_ch_ar_is_new` → `traffic_vc_ch_ar_is_new` (the argument of `rtwh run dws`). */
export function dwsShortName(spec: Pick<JobSpec, 'name'>): string {
  return spec.name.replace(/^dws\s+/, '');
}

/** The tables a job writes (its outputs are named like their tables). */
export function tablesOf(specs: readonly JobSpec[]): DwsTable[] {
  const out: DwsTable[] = [];
  for (const s of specs) {
    for (const o of s.outputs) {
      const t = dwsTable(o.topic ?? o.name);
      if (t && !out.includes(t)) out.push(t);
    }
  }
  return out;
}
