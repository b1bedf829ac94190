/**
 * Writes generated transactions into MySQL/MariaDB so that a binlog reader sees what the business did.
 *
 * exact (default): one business transaction = one DB transaction, in time order, each preceded by
 *   `SET TIMESTAMP=<its mock time>` — the binlog events then carry the mock time, so a cdc reader's Maxwell
 *   `ts` equals the one `--to` writes. Consecutive inserts into one table inside a transaction share one
 *   multi-row INSERT. Many transactions travel in one multi-statement round trip, and the next batch is
 *   generated while the server runs the previous one. The cost is one commit (a log flush) per business
 *   transaction, which bounds the rate to the server's commits per second.
 *
 * fast: consecutive business transactions are committed together, ~`batchRows` rows at a time; inside a
 *   group the rows are written table by table as multi-row INSERTs (updates as multi-row
 *   INSERT … ON DUPLICATE KEY UPDATE, which the binlog records as update row events with before and after
 *   images), successive changes of one row keeping their order. The final tables are identical to exact
 *   mode's; the binlog has fewer, larger transactions stamped with the group's last mock time.
 */
import { primaryKeyOf, schemaSql, TABLES, tableDef } from './schema';
import { type MysqlConn, quoteIdent, sqlLiteral } from '../../store/mysql';
import type { ChangeTxn, Row, RowChange } from '../../formats/change';
import type { MockState } from './state';
import { RtwhError, rtwhError } from '../../errors';

export interface MysqlWriteOptions {
  fast?: boolean;
  /** fast mode: rows per DB transaction (default 5000). */
  batchRows?: number;
  /** Called with the number of rows the server has just committed. */
  onRows?: (rows: number) => void;
}

/** Flush the pipelined SQL at about this size: big enough to amortise the round trip, far below max_allowed_packet. */
const FLUSH_BYTES = 512 * 1024;

const insertHeads = new Map<string, string>();
function insertHead(table: string, row: Row): string {
  let h = insertHeads.get(table);
  if (h === undefined) {
    h = `INSERT INTO ${quoteIdent(table)} (${Object.keys(row).map(quoteIdent).join(',')}) VALUES `;
    insertHeads.set(table, h);
  }
  return h;
}

function valuesOf(row: Row): string {
  let s = '(';
  let first = true;
  for (const k in row) {
    s += first ? sqlLiteral(row[k]!) : `,${sqlLiteral(row[k]!)}`;
    first = false;
  }
  return `${s})`;
}

function whereKey(table: string, row: Row): string {
  const pk = primaryKeyOf(table);
  if (pk.length === 0) throw new RangeError(`cannot update or delete in ${table}: it has no primary key`);
  return pk.map((k) => `${quoteIdent(k)}=${sqlLiteral(row[k] ?? null)}`).join(' AND ');
}

function updateSql(c: RowChange): string {
  const set = Object.keys(c.old ?? {}).map((k) => `${quoteIdent(k)}=${sqlLiteral(c.data[k] ?? null)}`);
  if (set.length === 0) return '';
  return `UPDATE ${quoteIdent(c.table)} SET ${set.join(',')} WHERE ${whereKey(c.table, c.data)};`;
}

/**
 * One transaction as SQL: its statements in order, consecutive inserts into one table as one multi-row INSERT.
 * A transaction of a single statement runs under autocommit — the same one transaction in the binlog, two
 * statements (BEGIN, COMMIT) fewer for the server to parse.
 */
function txnSql(changes: readonly RowChange[]): string {
  let s = '';
  let statements = 0;
  let i = 0;
  while (i < changes.length) {
    const c = changes[i]!;
    statements++;
    if (c.type === 'insert') {
      s += insertHead(c.table, c.data) + valuesOf(c.data);
      let j = i + 1;
      while (j < changes.length && changes[j]!.type === 'insert' && changes[j]!.table === c.table) s += `,${valuesOf(changes[j++]!.data)}`;
      s += ';';
      i = j;
      continue;
    }
    s += c.type === 'update' ? updateSql(c) : `DELETE FROM ${quoteIdent(c.table)} WHERE ${whereKey(c.table, c.data)};`;
    i++;
  }
  return statements === 1 ? s : `BEGIN;${s}COMMIT;`;
}

const upsertTails = new Map<string, string>();
function upsertTail(table: string, row: Row): string {
  let t = upsertTails.get(table);
  if (t === undefined) {
    const pk = new Set(primaryKeyOf(table));
    t = ` ON DUPLICATE KEY UPDATE ${Object.keys(row).filter((k) => !pk.has(k)).map((k) => `${quoteIdent(k)}=VALUES(${quoteIdent(k)})`).join(',')}`;
    upsertTails.set(table, t);
  }
  return t;
}

/** Most rows in one multi-row statement of fast mode. */
const MAX_STATEMENT_ROWS = 1000;

/** fast mode: a group of changes written table by table, each row's own changes kept in order (layers). */
function groupStatements(changes: readonly RowChange[]): string {
  // layer of a row = how many earlier changes of the same row the group holds; layer n runs after layer n-1.
  const lastLayer = new Map<string, Map<unknown, number>>();
  const layers: Map<string, RowChange[]>[] = [];
  for (const c of changes) {
    const pk = primaryKeyOf(c.table);
    let layer = 0;
    if (pk.length > 0) {
      const id = pk.length === 1 ? c.data[pk[0]!] : pk.map((k) => String(c.data[k])).join('\u0000');
      let seen = lastLayer.get(c.table);
      if (!seen) lastLayer.set(c.table, (seen = new Map()));
      const prev = seen.get(id);
      layer = prev === undefined ? 0 : prev + 1;
      seen.set(id, layer);
    }
    const groups = (layers[layer] ??= new Map());
    const gk = c.type === 'insert' ? c.table : `${c.type} ${c.table}`;
    const g = groups.get(gk);
    if (g) g.push(c);
    else groups.set(gk, [c]);
  }
  let s = '';
  for (const groups of layers) {
    for (const rows of groups.values()) {
      const first = rows[0]!;
      if (first.type === 'delete') {
        for (const c of rows) s += `DELETE FROM ${quoteIdent(c.table)} WHERE ${whereKey(c.table, c.data)};`;
        continue;
      }
      const head = insertHead(first.table, first.data);
      const tail = first.type === 'update' ? `${upsertTail(first.table, first.data)};` : ';';
      for (let i = 0; i < rows.length; i += MAX_STATEMENT_ROWS) {
        const end = Math.min(rows.length, i + MAX_STATEMENT_ROWS);
        s += head + valuesOf(rows[i]!.data);
        for (let j = i + 1; j < end; j++) s += `,${valuesOf(rows[j]!.data)}`;
        s += tail;
      }
    }
  }
  return s;
}

/**
 * Writes the transactions (a generator is consumed lazily); returns the number of rows written.
 * On an error the open transaction is rolled back and the error thrown.
 */
export async function writeTxns(conn: MysqlConn, txns: Iterable<ChangeTxn>, opts: MysqlWriteOptions = {}): Promise<number> {
  const fast = opts.fast ?? false;
  const batchRows = opts.batchRows ?? 5000;
  let buf = '';
  let bufRows = 0;
  let total = 0;
  let inflight: Promise<void> | undefined;
  let group: RowChange[] = [];
  let groupTs = 0;
  let stamped = -1;
  /** SET TIMESTAMP only when the second changes: the session keeps it. */
  const stamp = (ms: number): string => {
    const sec = Math.floor(ms / 1000);
    if (sec === stamped) return '';
    stamped = sec;
    return `SET TIMESTAMP=${sec};`;
  };

  const send = async (): Promise<void> => {
    if (buf === '') return;
    const sql = buf;
    const rows = bufRows;
    buf = '';
    bufRows = 0;
    // Let the server run this batch while the caller generates the next one; one query in flight at a time.
    if (inflight) await inflight;
    inflight = conn.query(sql, 'writing mock transactions').then(() => {
      total += rows;
      opts.onRows?.(rows);
    });
  };

  const closeGroup = (): void => {
    if (group.length === 0) return;
    buf += `${stamp(groupTs)}BEGIN;${groupStatements(group)}COMMIT;`;
    bufRows += group.length;
    group = [];
  };

  try {
    for (const txn of txns) {
      if (fast) {
        group.push(...txn.changes);
        groupTs = txn.ts;
        if (group.length >= batchRows) closeGroup();
      } else {
        buf += stamp(txn.ts) + txnSql(txn.changes);
        bufRows += txn.changes.length;
      }
      if (buf.length >= FLUSH_BYTES) await send();
    }
    closeGroup();
    await send();
    if (inflight) await inflight;
    inflight = undefined;
  } catch (e) {
    if (inflight) await inflight.catch(() => {});
    await conn.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await conn.query('SET TIMESTAMP=DEFAULT').catch(() => {});
  }
  return total;
}

/** Drops the gmall tables (only ours) and creates them again, empty. */
export async function createSchema(conn: MysqlConn): Promise<void> {
  const drops = `DROP VIEW IF EXISTS base_category_view;DROP TABLE IF EXISTS ${TABLES.map((t) => quoteIdent(t.name)).join(',')};`;
  await conn.query(`SET FOREIGN_KEY_CHECKS=0;${drops}${schemaSql().join(';')};SET FOREIGN_KEY_CHECKS=1;`, 'creating the gmall schema');
}

/** Tables whose `id` is a number given out by AUTO_INCREMENT (and by the generator). */
const COUNTED = TABLES.filter((t) => t.primaryKey.length === 1 && t.primaryKey[0] === 'id' && /^(big)?int\b/.test(tableDef(t.name).columns[0]!.sql));

/** The state the next day starts from, read from the database: MAX(id) of every table and all users. */
export async function loadStateFromMysql(conn: MysqlConn): Promise<MockState> {
  let maxes: { t: string; m: number | string }[];
  try {
    maxes = await conn.query(COUNTED.map((t) => `SELECT '${t.name}' AS t, COALESCE(MAX(id), 0) AS m FROM ${quoteIdent(t.name)}`).join(' UNION ALL '));
  } catch (e) {
    const code = e instanceof RtwhError && typeof e.cause === 'object' && e.cause !== null ? (e.cause as { code?: unknown }).code : undefined;
    if (code !== 'ER_NO_SUCH_TABLE') throw e;
    throw rtwhError('MYSQL_ERROR', `${conn.database ?? 'the database'} on ${conn.target.host}:${conn.target.port} has no gmall tables yet (${(e as RtwhError).message.replace(/^.*?: /, '')})`, {
      hint: 'Run once with --init: it creates the tables and loads the base data.',
    });
  }
  const lastIds: Record<string, number> = {};
  for (const { t, m } of maxes) if (Number(m) > 0) lastIds[t] = Number(m);
  const users = await conn.query<Row[]>('SELECT * FROM user_info ORDER BY id', 'reading user_info');
  return { lastIds, xid: 0, users };
}
