/**
 * How --fast cuts the day into groups (GroupBuilder, writeTxns): no server needed, the connection here only
 * records what it is sent and answers as a server that loaded every line would.
 */
import { describe, expect, test } from 'bun:test';
import type { ChangeTxn, Row } from '../../../src/formats/change';
import { GroupBuilder, writeTxns } from '../../../src/mock/db/mysql-writer';
import { columnNames } from '../../../src/mock/db/schema';
import { parseMysqlUrl, type LocalFiles, type MysqlConn } from '../../../src/store/mysql';

const T0 = Date.parse('2025-01-14T10:00:00+08:00');

function user(id: number): Row {
  const row: Row = {};
  for (const c of columnNames('user_info')) row[c] = null;
  Object.assign(row, { id, login_name: `u${id}`, nick_name: `nick ${id}`, user_level: '1', create_time: '2025-01-14 10:00:00', status: '1' });
  return row;
}

/** `n` transactions of one inserted user each, a second apart. */
function registrations(n: number): ChangeTxn[] {
  return Array.from({ length: n }, (_, i) => ({ xid: i + 1, ts: T0 + i * 1000, changes: [{ table: 'user_info', type: 'insert', data: user(i + 1) }] }));
}

/** Lines of LOAD DATA text. */
const lines = (b: Uint8Array): number => b.reduce((n, c) => n + (c === 10 ? 1 : 0), 0);

/** Records each query's rows (LOAD DATA lines, INSERT tuples) and answers like a server that took them all. */
function recordingConn(): { conn: MysqlConn; rowsPerQuery: number[] } {
  const rowsPerQuery: number[] = [];
  const conn: MysqlConn = {
    target: parseMysqlUrl('mysql://root@127.0.0.1:3307/gmall'),
    database: 'gmall',
    query: async <T>(sql: string, _doing?: string, files?: LocalFiles): Promise<T> => {
      if (sql.startsWith('SELECT @@local_infile')) return [{ v: 1 }] as T;
      let rows = 0;
      const results = sql
        .split(';')
        .slice(0, -1)
        .map((st) => {
          const file = /^LOAD DATA LOCAL INFILE '([^']+)'/.exec(st)?.[1];
          if (file !== undefined) {
            const n = lines(files!.get(file)!);
            rows += n;
            return { affectedRows: n, warningStatus: 0, info: `Records: ${n}  Deleted: 0  Skipped: 0  Warnings: 0` };
          }
          if (st.startsWith('INSERT')) rows += st.split('),(').length;
          return st.startsWith('SHOW') ? [] : { affectedRows: 0, warningStatus: 0 };
        });
      if (rows > 0) rowsPerQuery.push(rows);
      // the server's turn: the writer's producer goes on meanwhile
      await Bun.sleep(2);
      return (results.length === 1 ? results[0] : results) as T;
    },
    close: async () => {},
  };
  return { conn, rowsPerQuery };
}

describe('--fast groups', () => {
  test('a group is sealed when full; the first ones start small and double up to batchRows', () => {
    const b = new GroupBuilder(3000, true, 1);
    const sizes: number[] = [];
    for (const t of registrations(9000)) {
      const g = b.add(t);
      if (g) sizes.push(g.rows);
    }
    const last = b.end();
    if (last) sizes.push(last.rows);
    expect(sizes).toEqual([1000, 2000, 3000, 3000]);
  });

  test('told that the server is idle, the builder seals the group at once when it has 250 rows, not before', () => {
    const b = new GroupBuilder(10_000, true, 1);
    const txns = registrations(400);
    for (const t of txns.slice(0, 249)) expect(b.add(t, true)).toBeUndefined();
    const g = b.add(txns[249]!, true);
    expect(g?.rows).toBe(250);
    // stamped with its last transaction's time
    expect(g?.ts).toBe(txns[249]!.ts);
    // a busy server: the next group fills up as before
    for (const t of txns.slice(250)) expect(b.add(t, false)).toBeUndefined();
    expect(b.end()?.rows).toBe(150);
  });

  test('the writer gives an idle server the first 250 rows instead of waiting for a whole first group', async () => {
    const { conn, rowsPerQuery } = recordingConn();
    const written = await writeTxns(conn, registrations(5000), { fast: true, infile: true });
    expect(written).toBe(5000);
    expect(rowsPerQuery[0]).toBe(250);
    expect(rowsPerQuery.reduce((a, b) => a + b, 0)).toBe(5000);
  });
});
