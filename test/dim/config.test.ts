/**
 * table_process rows → routing rules: both variants, every reason a row is rejected (names the bad value and the
 * expected form), --config-file CSV (RFC 4180) and JSON, the embedded standard rules, diffs.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeDiff,
  diffRules,
  displayValue,
  isRejected,
  parseConfigCsv,
  parseConfigJson,
  parseCsv,
  readConfigFile,
  ruleFromRow,
  standardConfigRows,
  standardRules,
  type RejectedRule,
} from '../../src/dim/config';
import { RtwhError } from '../../src/errors';
import type { TableProcess } from '../../src/dim/types';
import { rtwhErrorOf } from '../helpers/errors';

function rejected(raw: Record<string, unknown>, variant?: '2022' | '2023'): RejectedRule {
  const r = ruleFromRow(raw, variant);
  if (!isRejected(r)) throw new Error(`expected a rejection, got ${JSON.stringify(r)}`);
  return r;
}

function accepted(raw: Record<string, unknown>, variant?: '2022' | '2023'): TableProcess {
  const r = ruleFromRow(raw, variant);
  if (isRejected(r)) throw new Error(`expected a rule, got: ${r.reason}`);
  return r;
}

const base = { source_table: 'user_info', sink_table: 'dim_user_info', sink_columns: 'id,login_name,name', sink_pk: 'id', sink_extend: null };

describe('ruleFromRow', () => {
  test('2022 row: columns in order, pk, sink_extend verbatim', () => {
    expect(accepted({ ...base, sink_columns: ' id , login_name,name ', sink_extend: ' SALT_BUCKETS = 3' })).toEqual({
      sourceTable: 'user_info',
      sinkTable: 'dim_user_info',
      sinkColumns: ['id', 'login_name', 'name'],
      sinkPk: 'id',
      sinkExtend: ' SALT_BUCKETS = 3',
    });
  });

  test('sink_pk NULL, empty or absent → id', () => {
    for (const pk of [null, '', '  ', undefined]) expect(accepted({ ...base, sink_pk: pk }).sinkPk).toBe('id');
  });

  test('2023 row (detected from its columns or given): sink_row_key is the key, sink_family recorded', () => {
    const row = { source_table: 'base_dic', sink_table: 'dim_base_dic', sink_family: 'info', sink_columns: 'dic_code,dic_name', sink_row_key: 'dic_code' };
    const want = { sourceTable: 'base_dic', sinkTable: 'dim_base_dic', sinkColumns: ['dic_code', 'dic_name'], sinkPk: 'dic_code', sinkExtend: null, sinkFamily: 'info' };
    expect(accepted(row)).toEqual(want);
    expect(accepted(row, '2023')).toEqual(want);
    expect(accepted({ ...row, sink_row_key: null, sink_columns: 'id,dic_name' }).sinkPk).toBe('id');
    // Given 2022, sink_row_key is not the key column: sink_pk (absent) → id, which base_dic does not list.
    expect(rejected(row, '2022').reason).toContain('sink_pk is NULL');
  });

  test('bytes (binlog TEXT) read as UTF-8; extra columns ignored', () => {
    const r = accepted({ ...base, sink_columns: new TextEncoder().encode('id,name'), operate_type: 'x', sink_type: 'hbase' });
    expect(r.sinkColumns).toEqual(['id', 'name']);
  });

  test('hostile sink_table: rejected, the value and the expected form named', () => {
    const r = rejected({ ...base, sink_table: 'x; drop table y' });
    expect(r.sourceTable).toBe('user_info');
    expect(r.reason).toBe('sink_table "x; drop table y" is not a valid name: expected ^[A-Za-z_][A-Za-z0-9_]{0,63}$ (a letter or _, then up to 63 letters, digits or _)');
  });

  test('bad source_table, column, pk names', () => {
    expect(rejected({ ...base, source_table: 'user-info' }).reason).toStartWith('source_table "user-info" is not a valid name: expected ^[A-Za-z_]');
    expect(rejected({ ...base, source_table: 'user-info' }).sourceTable).toBe('user-info');
    expect(rejected({ ...base, sink_columns: 'id,`name`' }).reason).toStartWith('sink_columns entry 2 "`name`" is not a valid name: expected');
    expect(rejected({ ...base, sink_columns: 'id,1st' }).reason).toContain('"1st" is not a valid name');
    expect(rejected({ ...base, sink_columns: 'id,na me' }).reason).toContain('"na me" is not a valid name');
    expect(rejected({ ...base, sink_columns: 'id,név' }).reason).toContain('"név" is not a valid name');
    expect(rejected({ ...base, sink_pk: 'id)--' }).reason).toStartWith('sink_pk "id)--" is not a valid name');
    expect(rejected({ ...base, sink_table: 'a'.repeat(65) }).reason).toContain('is not a valid name');
    expect(accepted({ ...base, sink_table: `_${'a'.repeat(63)}` }).sinkTable).toHaveLength(64);
    expect(rejected({ ...base, sink_table: 'dim\nuser' }).reason).toStartWith('sink_table "dim\\nuser" is not a valid name');
  });

  test('missing or non-text values', () => {
    expect(rejected({ ...base, source_table: null }).reason).toBe('source_table is missing: expected the name of a business table');
    expect(rejected({ ...base, source_table: null }).sourceTable).toBe('');
    expect(rejected({ ...base, sink_table: '' }).reason).toBe('sink_table is missing for user_info: expected the name of the dim table');
    expect(rejected({ ...base, sink_columns: null }).reason).toBe('sink_columns is empty for user_info: expected a comma-separated list of column names');
    expect(rejected({ ...base, sink_columns: ' ' }).reason).toContain('sink_columns is empty');
    expect(rejected({ ...base, sink_table: 42 }).reason).toBe('sink_table is "42" (number): expected text');
    expect(rejected({ ...base, sink_columns: ['id', 'name'] }).reason).toBe('sink_columns is "[\\"id\\",\\"name\\"]" (object): expected text');
  });

  test('empty names and duplicates in sink_columns', () => {
    expect(rejected({ ...base, sink_columns: 'id,,name' }).reason).toBe(
      'sink_columns has an empty name at position 2 ("id,,name"): expected a comma-separated list of names, none empty',
    );
    expect(rejected({ ...base, sink_columns: 'id,name,' }).reason).toContain('empty name at position 3');
    expect(rejected({ ...base, sink_columns: 'id,name, id' }).reason).toBe('sink_columns names "id" twice: expected each column once');
    expect(rejected({ ...base, sink_columns: 'id,name,NAME' }).reason).toBe(
      'sink_columns names "name" and "NAME", the same column (names are case-insensitive): expected each column once',
    );
  });

  test('the key must be one of the columns: no guessing', () => {
    expect(rejected({ ...base, sink_pk: 'user_id' }).reason).toBe('sink_pk "user_id" is not one of sink_columns "id,login_name,name": expected the key column to be listed');
    expect(rejected({ ...base, sink_columns: 'dic_code,dic_name', sink_pk: null }).reason).toBe(
      'sink_pk is NULL, so the key is "id", which is not one of sink_columns "dic_code,dic_name": set sink_pk to the key column',
    );
    expect(rejected({ ...base, sink_columns: 'dic_code,dic_name', sink_pk: '' }).reason).toContain('sink_pk is empty, so the key is "id"');
    // Case matters for the key: the row's field is looked up by exact name.
    expect(rejected({ ...base, sink_pk: 'ID' }).reason).toContain('sink_pk "ID" is not one of sink_columns');
  });

  test('a 5,000-character column list is rejected naming its length and the limit (table_process.sink_columns is varchar(2000))', () => {
    const names: string[] = [];
    let list = 'id';
    for (let i = 0; list.length < 5000; i++) {
      names.push(`column_${String(i).padStart(4, '0')}`);
      list = ['id', ...names].join(',');
    }
    expect(list.length).toBe(5006);
    const r = rejected({ ...base, sink_columns: list });
    expect(r.reason).toBe('sink_columns is 5,006 characters long ("id,column_0000,column_0001,column_0002,c…"): at most 2,000, the width of table_process.sink_columns (varchar(2000))');
    expect(r.sourceTable).toBe('user_info');
    expect(r.sinkTable).toBe('dim_user_info');

    // 2,000 characters exactly is fine; one more is not.
    const at = (n: number) => {
      let l = 'id';
      for (let i = 0; l.length < n; i++) l += `,c${i}`;
      return `${l.slice(0, n - 1)}x`;
    };
    expect(at(2000)).toHaveLength(2000);
    expect(accepted({ ...base, sink_columns: at(2000) }).sinkColumns.length).toBeGreaterThan(400);
    expect(rejected({ ...base, sink_columns: at(2001) }).reason).toStartWith('sink_columns is 2,001 characters long');

    // A 5,000-character name inside a short-enough list is caught by the length first; a long single name in a
    // list under the limit by the name check.
    expect(rejected({ ...base, sink_columns: `id,${'c'.repeat(5000)}` }).reason).toStartWith('sink_columns is 5,003 characters long ("id,cccc');
    const longName = rejected({ ...base, sink_columns: `id,${'c'.repeat(500)}` });
    expect(longName.reason).toStartWith(`sink_columns entry 2 "${'c'.repeat(60)}…" (500 characters) is not a valid name: expected ^[A-Za-z_]`);
    expect(longName.reason.length).toBeLessThan(300);

    const hugeTable = rejected({ ...base, sink_table: 'x'.repeat(5000) });
    expect(hugeTable.reason).toContain('(5,000 characters) is not a valid name');
    expect(hugeTable.sinkTable).toBeUndefined();
    const hugeSource = rejected({ ...base, source_table: 's'.repeat(5000) });
    expect(hugeSource.sourceTable).toBe(`${'s'.repeat(60)}…`);
    expect(hugeSource.reason.length).toBeLessThan(300);
  });

  test('sink_table with a prefix the dim store reserves (its own _rtwh_ tables, SQLite sqlite_): rejected up front', () => {
    for (const [name, prefix] of [
      ['sqlite_master', 'sqlite_'],
      ['SQLITE_stat1', 'sqlite_'],
      ['_rtwh_offsets', '_rtwh_'],
      ['_RTWH_dim', '_rtwh_'],
    ] as const) {
      const r = rejected({ ...base, sink_table: name });
      expect(r.reason).toBe(`sink_table "${name}" starts with ${prefix}, which the dim store reserves for its own tables: expected a name not starting with _rtwh_ or sqlite_`);
      expect(r.sinkTable).toBe(name);
    }
    expect(accepted({ ...base, sink_table: 'dim_sqlite_x' }).sinkTable).toBe('dim_sqlite_x');
    expect(accepted({ ...base, sink_table: '_rtwhx' }).sinkTable).toBe('_rtwhx');
  });
});

describe('displayValue', () => {
  test('short values quoted, long ones cut with their length', () => {
    expect(displayValue('abc')).toBe('"abc"');
    expect(displayValue('a"b')).toBe('"a\\"b"');
    expect(displayValue('z'.repeat(1000))).toBe(`"${'z'.repeat(60)}…" (1,000 characters)`);
  });
});

describe('standard rules (fixtures/table_process.json, embedded)', () => {
  test('16 rules: the 15 dim tables of the 2022 config + base_dic, with their keys and sink_extend', () => {
    const rules = standardRules();
    expect(rules).toHaveLength(16);
    const by = new Map(rules.map((r) => [r.sourceTable, r]));
    expect([...by.keys()].sort()).toEqual(
      [
        'activity_info', 'activity_rule', 'activity_sku', 'base_category1', 'base_category2', 'base_category3', 'base_dic', 'base_province',
        'base_region', 'base_trademark', 'coupon_info', 'coupon_range', 'financial_sku_cost', 'sku_info', 'spu_info', 'user_info',
      ].sort(),
    );
    for (const r of rules) {
      expect(r.sinkTable).toBe(`dim_${r.sourceTable}`);
      expect(r.sinkPk).toBe(r.sourceTable === 'base_dic' ? 'dic_code' : 'id');
      expect(r.sinkColumns).toContain(r.sinkPk);
    }
    expect(by.get('base_dic')!.sinkColumns).toEqual(['dic_code', 'dic_name']);
    expect(by.get('base_province')!.sinkColumns).toEqual(['id', 'name', 'region_id', 'area_code', 'iso_code', 'iso_3166_2']);
    expect(by.get('coupon_info')!.sinkColumns).toHaveLength(17);
    expect(by.get('sku_info')!.sinkExtend).toBe(' SALT_BUCKETS = 4');
    expect(by.get('spu_info')!.sinkExtend).toBe('SALT_BUCKETS = 3');
    expect(by.get('user_info')!.sinkExtend).toBe(' SALT_BUCKETS = 3');
    expect(rules.filter((r) => r.sinkExtend !== null).map((r) => r.sourceTable).sort()).toEqual(['sku_info', 'spu_info', 'user_info']);
  });

  test('the raw rows keep NULL where the 2022 table says NULL', () => {
    const rows = standardConfigRows();
    expect(rows.filter((r) => r.sink_pk === null).map((r) => r.source_table).sort()).toEqual(['base_province', 'base_region']);
    expect(Object.keys(rows[0]!)).toEqual(['source_table', 'sink_table', 'sink_columns', 'sink_pk', 'sink_extend']);
  });

  test('each call gives fresh objects', () => {
    const a = standardRules();
    a[0]!.sinkColumns.push('x');
    expect(standardRules()[0]!.sinkColumns).not.toContain('x');
  });
});

describe('CSV (RFC 4180)', () => {
  test('quoted fields with commas, "" quotes, CRLF and LF, line breaks inside quotes, NULLs', () => {
    const recs = parseCsv('a,b,c\r\n"x,y","say ""hi""",\r\n"multi\nline",\\N,NULL\n"",plain,"NULL"\n');
    expect(recs).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['x,y', 'say "hi"', null] },
      { line: 3, cells: ['multi\nline', null, null] },
      { line: 5, cells: ['', 'plain', 'NULL'] },
    ]);
  });

  test('a file of both shapes; a BOM; blank lines; rows with bad values rejected, the others kept', () => {
    const text =
      '\ufeffsource_table,sink_table,sink_columns,sink_pk,sink_extend\n' +
      'base_province,dim_base_province,"id,name,region_id",,\n' +
      '\n' +
      'sku_info,dim_sku_info,"id, sku_name ,price",id," SALT_BUCKETS = 4"\n' +
      'evil,"x; drop table y","id,name",id,\n' +
      'base_dic,dim_base_dic,dic_code,dic_name,dic_code,\n' +
      'sku_info,dim_sku_info2,"id",id,\n';
    const { rules, rejected: rej } = parseConfigCsv(text, 'table_process.csv');
    expect(rules).toEqual([
      { sourceTable: 'base_province', sinkTable: 'dim_base_province', sinkColumns: ['id', 'name', 'region_id'], sinkPk: 'id', sinkExtend: null },
      { sourceTable: 'sku_info', sinkTable: 'dim_sku_info', sinkColumns: ['id', 'sku_name', 'price'], sinkPk: 'id', sinkExtend: ' SALT_BUCKETS = 4' },
    ]);
    expect(rej).toEqual([
      { sourceTable: 'evil', sinkTable: 'x; drop table y', reason: expect.stringContaining('table_process.csv line 5: sink_table "x; drop table y" is not a valid name: expected ^[A-Za-z_]') },
      { sourceTable: 'base_dic', reason: 'table_process.csv line 6: 6 fields where the header has 5: quote sink_columns ("id,name"), it contains commas' },
      { sourceTable: 'sku_info', sinkTable: 'dim_sku_info2', reason: 'table_process.csv line 7: source_table "sku_info" appears again (first at table_process.csv line 4): expected one rule per source table' },
    ]);
  });

  test('2023 header', () => {
    const { rules } = parseConfigCsv('source_table,sink_table,sink_family,sink_columns,sink_row_key\nbase_dic,dim_base_dic,info,"dic_code,dic_name",dic_code\n');
    expect(rules).toEqual([{ sourceTable: 'base_dic', sinkTable: 'dim_base_dic', sinkColumns: ['dic_code', 'dic_name'], sinkPk: 'dic_code', sinkExtend: null, sinkFamily: 'info' }]);
  });

  test('broken CSV and headers are errors naming the line', () => {
    const err = (f: () => unknown): RtwhError => rtwhErrorOf(f);
    const open = err(() => parseConfigCsv('source_table,sink_table,sink_columns\nu,d,"id,name\n', 't.csv'));
    expect(open.code).toBe('DIM_CONFIG_FILE');
    expect(open.message).toBe('t.csv line 2: a quoted field is not closed (a " is missing)');
    expect(err(() => parseConfigCsv('source_table,sink_table,sink_columns\nu,d,"id"x\n', 't.csv')).message).toStartWith('t.csv line 2: unexpected "x" after a closing quote');
    expect(err(() => parseConfigCsv('source_table,sink_table,sink_columns\nu,d,id"x\n', 't.csv')).message).toStartWith('t.csv line 2: a quote inside an unquoted field "id\\"x"');
    expect(err(() => parseConfigCsv('', 't.csv')).message).toBe('t.csv is empty: expected a header row and one row per rule');
    expect(err(() => parseConfigCsv('source,sink,cols\n', 't.csv')).message).toStartWith('t.csv header "source,sink,cols" lacks source_table, sink_table, sink_columns: expected source_table,sink_table,sink_columns,sink_pk,sink_extend (2022)');
  });
});

describe('JSON and --config-file', () => {
  test('an array of row objects; non-objects rejected', () => {
    const { rules, rejected: rej } = parseConfigJson(JSON.stringify([base, 7, { ...base, source_table: 'x', sink_columns: 'id,,a' }]), 'tp.json');
    expect(rules.map((r) => r.sourceTable)).toEqual(['user_info']);
    expect(rej.map((r) => r.reason)).toEqual([
      'tp.json element 1: "7": expected an object with source_table, sink_table, sink_columns, sink_pk, sink_extend',
      'tp.json element 2: sink_columns has an empty name at position 2 ("id,,a"): expected a comma-separated list of names, none empty',
    ]);
  });

  test('files by extension; the fixture itself reads back as the standard rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtwh-cfg-'));
    const json = join(dir, 'table_process.json');
    writeFileSync(json, JSON.stringify(standardConfigRows()));
    expect(readConfigFile(json)).toEqual({ rules: standardRules(), rejected: [] });
    const csv = join(dir, 'TP.CSV');
    writeFileSync(csv, 'source_table,sink_table,sink_columns,sink_pk,sink_extend\r\nuser_info,dim_user_info,"id,name",,\r\n');
    expect(readConfigFile(csv).rules).toEqual([{ sourceTable: 'user_info', sinkTable: 'dim_user_info', sinkColumns: ['id', 'name'], sinkPk: 'id', sinkExtend: null }]);
  });

  test('unknown extension, missing file, bad JSON: DIM_CONFIG_FILE errors (exit 2) naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtwh-cfg-'));
    const bad = join(dir, 'tp.json');
    writeFileSync(bad, '{"source_table":');
    const cases: [string, string][] = [
      [join(dir, 'table_process.yaml'), 'is neither .csv nor .json'],
      [join(dir, 'table_process'), 'is neither .csv nor .json'],
      [join(dir, 'nope.csv'), 'no such file'],
      [bad, 'tp.json is not valid JSON'],
    ];
    for (const [path, text] of cases) {
      try {
        readConfigFile(path);
        throw new Error(`no error for ${path}`);
      } catch (e) {
        expect(e).toBeInstanceOf(RtwhError);
        expect((e as RtwhError).code).toBe('DIM_CONFIG_FILE');
        expect((e as RtwhError).exitCode).toBe(2);
        expect((e as RtwhError).message).toContain(text);
      }
    }
    const obj = join(dir, 'obj.json');
    writeFileSync(obj, '{"rows": []}');
    expect(() => readConfigFile(obj)).toThrow('obj.json holds object: expected an array of table_process row objects');
  });
});

describe('diffRules', () => {
  test('added, removed, changed with columns added and removed; log lines', () => {
    const std = standardRules();
    const after = std
      .filter((r) => r.sourceTable !== 'base_dic')
      .map((r) => (r.sourceTable === 'user_info' ? { ...r, sinkColumns: [...r.sinkColumns.filter((c) => c !== 'birthday'), 'phone_num', 'email'] } : r));
    after.push({ sourceTable: 'order_info', sinkTable: 'dim_order_info', sinkColumns: ['id', 'order_status'], sinkPk: 'id', sinkExtend: null });
    const d = diffRules(std, after);
    expect(d.added.map((r) => r.sourceTable)).toEqual(['order_info']);
    expect(d.removed.map((r) => r.sourceTable)).toEqual(['base_dic']);
    expect(d.changed).toHaveLength(1);
    expect(d.changed[0]).toMatchObject({ sourceTable: 'user_info', fields: ['sinkColumns'], columnsAdded: ['phone_num', 'email'], columnsRemoved: ['birthday'] });
    expect(describeDiff(d)).toEqual([
      '+ order_info → dim_order_info (2 columns, key id)',
      '~ user_info → dim_user_info: columns added phone_num,email; columns no longer routed birthday',
      '- base_dic → dim_base_dic',
    ]);
    expect(diffRules(std, standardRules())).toEqual({ added: [], removed: [], changed: [] });
  });

  test('sink table, key and extend changes are named', () => {
    const a: TableProcess = { sourceTable: 't', sinkTable: 'dim_t', sinkColumns: ['id', 'k'], sinkPk: 'id', sinkExtend: null };
    const b: TableProcess = { ...a, sinkTable: 'dim_t2', sinkPk: 'k', sinkExtend: 'SALT_BUCKETS = 2' };
    expect(describeDiff(diffRules([a], [b]))).toEqual(['~ t → dim_t2: sink_table dim_t → dim_t2; key id → k; sink_extend "NULL" → "SALT_BUCKETS = 2" (not applied)']);
  });
});
