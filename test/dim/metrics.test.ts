/** The dim job's status line text (dimDetail) and its /metrics samples. */
import { describe, expect, test } from 'bun:test';
import type { DimStatus } from '../../src/dim/job';
import { dimDetail, dimMetrics } from '../../src/dim/metrics';

function status(over: Partial<DimStatus> = {}): DimStatus {
  return {
    state: 'running',
    group: 'rtwh-dim',
    topic: 'ods_db',
    records: 0,
    recordsPerSecond: 0,
    tables: {},
    skippedOtherDatabase: 0,
    skippedUnconfigured: 0,
    controlRecords: 0,
    deadLetters: 0,
    configVersion: 1,
    rules: 16,
    rejectedRules: 0,
    configState: 'following',
    lag: 0,
    startedAt: 0,
    ...over,
  };
}

describe('dimDetail (the status line)', () => {
  test('the three busiest tables with their upserts/deletes, then how many more; dead letters always; lag', () => {
    const s = status({
      configVersion: 3,
      deadLetters: 12,
      lag: 4200,
      tables: {
        dim_base_province: { upserts: 34, deletes: 0 },
        dim_user_info: { upserts: 1203, deletes: 4 },
        dim_sku_info: { upserts: 88, deletes: 2 },
        dim_base_dic: { upserts: 0, deletes: 0 },
        dim_spu_info: { upserts: 10, deletes: 0 },
        dim_base_trademark: { upserts: 5, deletes: 5 },
      },
    });
    expect(dimDetail(s)).toBe('config v3 (16 rules, following) · dim_user_info 1,203 upserted/4 deleted, dim_sku_info 88/2, dim_base_province 34/0, +2 more · 12 dead letters · lag 4,200');
  });

  test('few tables: no "+N more"; ties by name; tables without writes are left out', () => {
    const s = status({ tables: { dim_b: { upserts: 1, deletes: 1 }, dim_a: { upserts: 2, deletes: 0 }, dim_idle: { upserts: 0, deletes: 0 } } });
    expect(dimDetail(s)).toBe('config v1 (16 rules, following) · dim_a 2 upserted/0 deleted, dim_b 1/1 · 0 dead letters · lag 0');
  });

  test('nothing written yet, one rule, one dead letter, lag unknown, rejected rows named', () => {
    expect(dimDetail(status({ rules: 1, deadLetters: 1, lag: null, rejectedRules: 2, configState: 'static' }))).toBe('config v1 (1 rule, static) · no rows written · 2 rejected rows · 1 dead letter · lag ?');
  });

  test('waiting: says for what, the counts stay', () => {
    const s = status({ state: 'waiting', waitingFor: 'dim store sqlite:/x/dim.db', tables: { dim_a: { upserts: 7, deletes: 1 } } });
    expect(dimDetail(s)).toBe('waiting for dim store sqlite:/x/dim.db · dim_a 7 upserted/1 deleted · 0 dead letters · lag 0');
  });
});

describe('dimMetrics', () => {
  test('per-table upserts and deletes as labelled samples', () => {
    const m = dimMetrics(status({ tables: { dim_a: { upserts: 3, deletes: 1 } }, rejectedRules: 2 }));
    const byName = new Map(m.map((x) => [x.name, x]));
    expect(byName.get('rtwh_dim_upserts_total')!.samples).toEqual([{ labels: { group: 'rtwh-dim', topic: 'ods_db', table: 'dim_a' }, value: 3 }]);
    expect(byName.get('rtwh_dim_deletes_total')!.samples).toEqual([{ labels: { group: 'rtwh-dim', topic: 'ods_db', table: 'dim_a' }, value: 1 }]);
    expect(byName.get('rtwh_dim_rejected_rules_total')!.samples[0]!.value).toBe(2);
  });
});
