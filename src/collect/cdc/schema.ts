/**
 * Table schemas for cdc. Two sources, each used for what it knows best:
 *
 * - the binlog itself (zongji's table map, exact for the moment the row was written when the server runs with
 *   binlog_row_metadata=FULL): column names, types, signedness, fractional digits, enum/set members. Rows are
 *   decoded and typed from this, so a replay across an ALTER TABLE decodes every row with the columns it had;
 * - information_schema, read at start and again for the tables a DDL statement names: primary keys (the record
 *   key and partition), which MariaDB LONGTEXT columns are really JSON (a json_valid CHECK), table charsets, and
 *   the table definitions Maxwell's DDL records carry.
 */
import type { ColumnInfo } from '../../formats/change';
import type { MaxwellTableDef } from '../../formats/maxwell';
import { maxwellColumnDef } from '../../formats/maxwell';
import type { CdcConn } from './conn';

export interface TableSchema {
  database: string;
  table: string;
  /** Default character set of the table. */
  charset: string;
  columns: ColumnInfo[];
  primaryKey: string[];
  /** MariaDB JSON columns (LONGTEXT with a json_valid check): their text is a JSON document. */
  jsonColumns: ReadonlySet<string>;
}

/** Databases that are the server's own; never captured. */
export const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** The first word of a COLUMN_TYPE: `decimal(16,2) unsigned` → decimal. */
function baseType(columnType: string): string {
  const m = /^[a-z0-9]+/i.exec(columnType.trim());
  return (m ? m[0] : columnType).toLowerCase();
}

/** `enum('a','b''c')` → ['a', "b'c"]. */
export function enumMembers(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const close = columnType.lastIndexOf(')');
  if (open < 0 || close < open) return [];
  const body = columnType.slice(open + 1, close);
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let m = re.exec(body); m; m = re.exec(body)) out.push(m[1]!.replace(/''/g, "'").replace(/\\\\/g, '\\'));
  return out;
}

/** The shape zongji gives a table-map entry's column (its .d.ts names it ColumnInfo too). */
export interface BinlogColumn {
  name: string;
  charset: string | null;
  type: number;
  metadata: Record<string, unknown> | undefined;
}

export interface BinlogColumnSchema {
  COLUMN_NAME: string;
  CHARACTER_SET_NAME: string | null;
  COLUMN_TYPE: string;
  UNSIGNED?: boolean;
  ENUM_VALUES?: string[];
  SET_VALUES?: string[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** A column as the binlog describes it (zongji's decoded table map). */
export function columnFromBinlog(col: BinlogColumn, schema: BinlogColumnSchema | undefined, json: boolean): ColumnInfo {
  const columnType = schema?.COLUMN_TYPE ?? '';
  let type = baseType(columnType);
  const md = col.metadata ?? {};
  const info: ColumnInfo = { name: col.name, type };
  switch (type) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'bigint':
      info.unsigned = schema?.UNSIGNED ?? /unsigned/i.test(columnType);
      break;
    case 'decimal':
      info.precision = num(md.precision);
      info.scale = num(md.decimals);
      break;
    case 'datetime':
    case 'timestamp':
    case 'time': {
      const m = /\((\d)\)/.exec(columnType);
      info.fsp = num(md.decimals) ?? (m ? Number(m[1]) : 0);
      break;
    }
    case 'bit':
      info.bits = num(md.bits) ?? Number(/\((\d+)\)/.exec(columnType)?.[1] ?? 1);
      break;
    case 'enum':
      info.enumValues = schema?.ENUM_VALUES ?? enumMembers(columnType);
      break;
    case 'set':
      info.enumValues = schema?.SET_VALUES ?? enumMembers(columnType);
      break;
    default:
      break;
  }
  if (json && type !== 'json') info.type = type = 'json';
  info.charset = col.charset ?? schema?.CHARACTER_SET_NAME ?? null;
  return info;
}

interface ColumnRow {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME: string | null;
  NUMERIC_PRECISION: number | string | null;
  NUMERIC_SCALE: number | string | null;
  DATETIME_PRECISION: number | string | null;
  IS_NULLABLE: string;
}

/** A column as information_schema.COLUMNS describes it. */
export function columnFromInfoSchema(r: ColumnRow, json: boolean): ColumnInfo {
  const type = json ? 'json' : String(r.DATA_TYPE).toLowerCase();
  const info: ColumnInfo = { name: r.COLUMN_NAME, type, nullable: r.IS_NULLABLE === 'YES', charset: r.CHARACTER_SET_NAME };
  const n = (v: number | string | null) => (v === null ? undefined : Number(v));
  if (/int$/.test(type)) info.unsigned = /unsigned/i.test(r.COLUMN_TYPE);
  if (type === 'decimal') {
    info.precision = n(r.NUMERIC_PRECISION);
    info.scale = n(r.NUMERIC_SCALE);
  }
  if (type === 'datetime' || type === 'timestamp' || type === 'time') info.fsp = n(r.DATETIME_PRECISION) ?? 0;
  if (type === 'bit') info.bits = n(r.NUMERIC_PRECISION) ?? 1;
  if (type === 'enum' || type === 'set') info.enumValues = enumMembers(r.COLUMN_TYPE);
  return info;
}

const key = (db: string, table: string) => `${db}\u0000${table}`;

export class SchemaCache {
  private readonly tables = new Map<string, TableSchema>();
  private readonly dbCharsets = new Map<string, string>();

  constructor(private readonly conn: CdcConn) {}

  get(database: string, table: string): TableSchema | undefined {
    return this.tables.get(key(database, table));
  }

  databaseCharset(database: string): string | undefined {
    return this.dbCharsets.get(database);
  }

  /** Every table of every non-system database (one query per information_schema view). */
  async loadAll(): Promise<number> {
    const loaded = await this.read(undefined, undefined);
    this.tables.clear();
    for (const t of loaded) this.tables.set(key(t.database, t.table), t);
    return loaded.length;
  }

  /** Reads one table again; returns undefined (and forgets it) when it no longer exists. */
  async refreshTable(database: string, table: string): Promise<TableSchema | undefined> {
    const [t] = await this.read(database, table);
    if (t) this.tables.set(key(database, table), t);
    else this.tables.delete(key(database, table));
    return t;
  }

  /** Reads one database again (CREATE/ALTER/DROP DATABASE); returns its charset, undefined when it is gone. */
  async refreshDatabase(database: string): Promise<string | undefined> {
    for (const k of [...this.tables.keys()]) if (k.startsWith(`${database}\u0000`)) this.tables.delete(k);
    const loaded = await this.read(database, undefined);
    for (const t of loaded) this.tables.set(key(t.database, t.table), t);
    return this.dbCharsets.get(database);
  }

  forget(database: string, table?: string): void {
    if (table !== undefined) this.tables.delete(key(database, table));
    else for (const k of [...this.tables.keys()]) if (k.startsWith(`${database}\u0000`)) this.tables.delete(k);
  }

  private async read(database: string | undefined, table: string | undefined): Promise<TableSchema[]> {
    const params: string[] = [];
    const scope = (schemaCol: string, tableCol: string | undefined) => {
      const w: string[] = [];
      if (database !== undefined) {
        w.push(`${schemaCol} = ?`);
        params.push(database);
      } else {
        w.push(`${schemaCol} NOT IN ('mysql','information_schema','performance_schema','sys')`);
      }
      if (table !== undefined && tableCol) {
        w.push(`${tableCol} = ?`);
        params.push(table);
      }
      return w.join(' AND ');
    };
    const schemata = await this.conn.query<{ SCHEMA_NAME: string; DEFAULT_CHARACTER_SET_NAME: string }[]>(
      `SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE ${scope('SCHEMA_NAME', undefined)}`,
      params.splice(0),
      'reading databases',
    );
    if (database !== undefined) this.dbCharsets.delete(database);
    for (const s of schemata) this.dbCharsets.set(s.SCHEMA_NAME, s.DEFAULT_CHARACTER_SET_NAME);

    const tables = await this.conn.query<{ TABLE_SCHEMA: string; TABLE_NAME: string; TABLE_COLLATION: string | null }[]>(
      `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND ${scope('TABLE_SCHEMA', 'TABLE_NAME')}`,
      params.splice(0),
      'reading tables',
    );
    if (tables.length === 0) return [];
    const columns = await this.conn.query<ColumnRow[]>(
      `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE,
              DATETIME_PRECISION, IS_NULLABLE
         FROM information_schema.COLUMNS WHERE ${scope('TABLE_SCHEMA', 'TABLE_NAME')}
        ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
      params.splice(0),
      'reading columns',
    );
    const pks = await this.conn.query<{ TABLE_SCHEMA: string; TABLE_NAME: string; COLUMN_NAME: string }[]>(
      `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
        WHERE CONSTRAINT_NAME = 'PRIMARY' AND ${scope('TABLE_SCHEMA', 'TABLE_NAME')}
        ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
      params.splice(0),
      'reading primary keys',
    );
    const json = new Set<string>();
    try {
      // MariaDB's JSON is an alias of LONGTEXT with CHECK (json_valid(`col`)); MySQL's view has no TABLE_NAME.
      const checks = await this.conn.query<{ CONSTRAINT_SCHEMA: string; TABLE_NAME: string; CHECK_CLAUSE: string }[]>(
        `SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
          WHERE CHECK_CLAUSE LIKE 'json_valid(%' AND ${scope('CONSTRAINT_SCHEMA', 'TABLE_NAME')}`,
        params.splice(0),
        'reading JSON columns',
      );
      for (const c of checks) {
        const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(c.CHECK_CLAUSE.trim());
        if (m) json.add(`${key(c.CONSTRAINT_SCHEMA, c.TABLE_NAME)}\u0000${m[1]!.replace(/``/g, '`')}`);
      }
    } catch {
      params.length = 0;
    }

    const byTable = new Map<string, TableSchema>();
    for (const t of tables) {
      const cs = t.TABLE_COLLATION ? t.TABLE_COLLATION.split('_')[0]! : (this.dbCharsets.get(t.TABLE_SCHEMA) ?? 'utf8mb4');
      byTable.set(key(t.TABLE_SCHEMA, t.TABLE_NAME), { database: t.TABLE_SCHEMA, table: t.TABLE_NAME, charset: cs, columns: [], primaryKey: [], jsonColumns: new Set() });
    }
    for (const c of columns) {
      const t = byTable.get(key(c.TABLE_SCHEMA, c.TABLE_NAME));
      if (!t) continue;
      const isJson = json.has(`${key(c.TABLE_SCHEMA, c.TABLE_NAME)}\u0000${c.COLUMN_NAME}`);
      if (isJson) (t.jsonColumns as Set<string>).add(c.COLUMN_NAME);
      t.columns.push(columnFromInfoSchema(c, isJson));
    }
    for (const p of pks) byTable.get(key(p.TABLE_SCHEMA, p.TABLE_NAME))?.primaryKey.push(p.COLUMN_NAME);
    return [...byTable.values()];
  }
}

/** A table as Maxwell's DDL records define it. */
export function maxwellTableDef(t: TableSchema): MaxwellTableDef {
  return { database: t.database, charset: t.charset, table: t.table, columns: t.columns.map(maxwellColumnDef), 'primary-key': [...t.primaryKey] };
}
