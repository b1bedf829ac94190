/**
 * DDL of the DWS tables for MySQL-protocol servers (`rtwh run dws --sink mysql://… --dialect D`).
 *
 * - `mysql` (MySQL, MariaDB; what the dev stack runs and the tests exercise): InnoDB, the columns of tables.ts
 *   plus `rtwh_key`, the SHA-256 of the row identity (stt, edt, key columns; NULL-aware), as the primary key:
 *   a key column may be NULL after a dim lookup miss, and a unique key over nullable columns would let a replay
 *   add a second row. `REPLACE INTO` then makes a reload replace its own rows.
 * - `doris`, `starrocks`: the aggregate-key pattern of gmall's DWS tables — AGGREGATE KEY(stt, edt, cur_date,
 *   keys…), every other column `REPLACE` (a reloaded row replaces the metrics of its key), range partitions on
 *   cur_date created by dynamic partitioning (`par<yyyyMMdd>`, what `partition(par20250114)` in the ADS SQL
 *   names; Doris also creates the last 400 days' partitions and drops none). Printed by `--print-ddl`; rtwh has no Doris/StarRocks server to run it against, so it is checked as
 *   text only.
 *
 * Every identifier comes from tables.ts and is checked against ^[A-Za-z_][A-Za-z0-9_]{0,63}$ before it is quoted.
 */
import { checkIdentifier } from '../store/mysql';
import type { DwsColumn, DwsTable } from './tables';

export const SQL_DIALECTS = ['mysql', 'doris', 'starrocks'] as const;
export type SqlDialect = (typeof SQL_DIALECTS)[number];

/** The hidden identity column of the mysql dialect. */
export const KEY_COLUMN = 'rtwh_key';
export const MYSQL_OFFSETS_TABLE = 'rtwh_sink_offsets';

export const ident = (name: string): string => `\`${checkIdentifier(name, 'identifier')}\``;

/** Key columns are short ids and words; names (sku, spu, trademark…) may be longer. */
function mysqlType(c: DwsColumn): string {
  switch (c.type) {
    case 'TIMESTAMP':
      return 'DATETIME';
    case 'DATE':
      return 'DATE';
    case 'BIGINT':
      return 'BIGINT';
    case 'DECIMAL(16,2)':
      return 'DECIMAL(16,2)';
    case 'VARCHAR':
      return c.key ? 'VARCHAR(255)' : 'VARCHAR(1024)';
  }
}

/** CREATE TABLE IF NOT EXISTS for MySQL/MariaDB (see above). */
export function mysqlDdl(t: DwsTable): string {
  const cols = t.columns.map((c) => `  ${ident(c.name)} ${mysqlType(c)}${c.name === 'stt' || c.name === 'edt' ? ' NOT NULL' : ' NULL'}`);
  cols.push(`  ${ident(KEY_COLUMN)} CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of (stt, edt, key columns), NULL-aware: the row identity'`);
  cols.push(`  PRIMARY KEY (${ident(KEY_COLUMN)})`, `  KEY ${ident(`${t.name.slice(0, 55)}_date`)} (${ident('cur_date')}, ${ident('stt')})`);
  return `CREATE TABLE IF NOT EXISTS ${ident(t.name)} (\n${cols.join(',\n')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

export const MYSQL_OFFSETS_DDL = `CREATE TABLE IF NOT EXISTS ${ident(MYSQL_OFFSETS_TABLE)} (\n  ${ident('topic')} VARCHAR(255) NOT NULL,\n  ${ident('part')} INT NOT NULL,\n  ${ident('next_offset')} BIGINT NOT NULL,\n  PRIMARY KEY (${ident('topic')}, ${ident('part')})\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/**
 * Doris / StarRocks aggregate-key DDL. Key columns first (stt, edt, cur_date, then the table's keys, in the
 * order of tables.ts), then the value columns with REPLACE.
 */
export function olapDdl(t: DwsTable, dialect: 'doris' | 'starrocks', opts: { buckets?: number; replicas?: number; historyDays?: number } = {}): string {
  const buckets = opts.buckets ?? 10;
  const replicas = opts.replicas ?? 1;
  const historyDays = opts.historyDays ?? 400;
  const keyNames = new Set(['stt', 'edt', 'cur_date', ...t.columns.filter((c) => c.key).map((c) => c.name)]);
  const keys = t.columns.filter((c) => keyNames.has(c.name));
  const values = t.columns.filter((c) => !keyNames.has(c.name));
  const col = (c: DwsColumn, agg: string) => {
    // Partition and time columns may not be NULL; key ids may (a dim lookup miss).
    const notNull = c.name === 'stt' || c.name === 'edt' || c.name === 'cur_date';
    return `  ${ident(c.name)} ${mysqlType(c)}${agg ? ` ${agg}` : ''}${notNull ? ' NOT NULL' : ' NULL'}`;
  };
  const lines = [...keys.map((c) => col(c, '')), ...values.map((c) => col(c, 'REPLACE'))];
  // Doris creates the past days' partitions up front (the mock's business day is usually in the past) and,
  // without dynamic_partition.start, never drops one. StarRocks: today and the next days only (no history
  // properties are generated for it; add partitions for older days by hand).
  const history = dialect === 'doris' ? [`  "dynamic_partition.create_history_partition" = "true",`, `  "dynamic_partition.history_partition_num" = "${historyDays}",`] : [];
  return [
    `CREATE TABLE IF NOT EXISTS ${ident(t.name)} (`,
    lines.join(',\n'),
    ')',
    `ENGINE=OLAP`,
    `AGGREGATE KEY(${keys.map((c) => ident(c.name)).join(', ')})`,
    `PARTITION BY RANGE(${ident('cur_date')}) ()`,
    `DISTRIBUTED BY HASH(${ident('stt')}) BUCKETS ${buckets}`,
    'PROPERTIES (',
    `  "replication_num" = "${replicas}",`,
    `  "dynamic_partition.enable" = "true",`,
    `  "dynamic_partition.time_unit" = "DAY",`,
    `  "dynamic_partition.end" = "3",`,
    `  "dynamic_partition.prefix" = "par",`,
    ...history,
    `  "dynamic_partition.buckets" = "${buckets}"`,
    ')',
  ].join('\n');
}

/** The DDL of `tables` (and, for mysql, the offsets table) for a dialect, as one script ending in `;`. */
export function ddlScript(tables: readonly DwsTable[], dialect: SqlDialect): string {
  const stmts = dialect === 'mysql' ? [...tables.map(mysqlDdl), MYSQL_OFFSETS_DDL] : tables.map((t) => olapDdl(t, dialect));
  return `${stmts.join(';\n\n')};\n`;
}
