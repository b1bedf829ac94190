/**
 * The --fast writer against the real MariaDB of scripts/stack.sh, with hand-made changes: values that LOAD DATA
 * text must escape, several changes of one row in one group, errors that must fail the group (LOAD DATA LOCAL
 * only warns), and the row events the binlog gets. Each test uses its own databases and drops them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { ChangeTxn, Row, RowChange } from '../../../src/formats/change';
import { createSchema, writeTxns } from '../../../src/mock/db/mysql-writer';
import { columnNames, TABLES } from '../../../src/mock/db/schema';
import { connectMysql, type MysqlConn } from '../../../src/store/mysql';
import { adminConn, dropDb, uniqueDb, urlFor } from './mysql-env';

const dbs: string[] = [];
let admin: MysqlConn;

beforeAll(async () => {
  admin = await adminConn();
});

afterAll(async () => {
  for (const db of dbs) await dropDb(admin, db);
  await admin?.close();
});

/** A new database with the gmall tables, empty. */
async function freshDb(): Promise<{ db: string; conn: MysqlConn }> {
  const db = uniqueDb('gmall_fast');
  dbs.push(db);
  await admin.query(`CREATE DATABASE \`${db}\` DEFAULT CHARACTER SET utf8mb4`);
  const conn = await connectMysql(urlFor(db), { multipleStatements: true });
  await createSchema(conn);
  return { db, conn };
}

const T0 = Date.parse('2025-01-14T10:00:00+08:00');

function user(id: number, values: Partial<Record<string, string | number | null>> = {}): Row {
  const row: Row = {};
  for (const c of columnNames('user_info')) row[c] = null;
  Object.assign(row, { id, login_name: `u${id}`, nick_name: `nick ${id}`, user_level: '1', birthday: '1990-05-06', gender: 'F', create_time: '2025-01-14 10:00:00', status: '1' }, values);
  return row;
}

const insert = (data: Row): RowChange => ({ table: 'user_info', type: 'insert', data });

function update(before: Row, values: Record<string, string | number | null>): RowChange {
  const old: Row = {};
  for (const k of Object.keys(values)) old[k] = before[k] ?? null;
  return { table: 'user_info', type: 'update', data: { ...before, ...values }, old };
}

function txns(...changes: RowChange[][]): ChangeTxn[] {
  return changes.map((c, i) => ({ xid: i + 1, ts: T0 + i * 1000, changes: c }));
}

async function rows(conn: MysqlConn, table = 'user_info'): Promise<Record<string, unknown>[]> {
  return conn.query(`SELECT * FROM ${table} ORDER BY id`);
}

async function checksums(db: string): Promise<Record<string, string>> {
  const r = await admin.query<{ Table: string; Checksum: string | number | null }[]>(`CHECKSUM TABLE ${TABLES.map((t) => `\`${db}\`.\`${t.name}\``).join(', ')}`);
  return Object.fromEntries(r.map((x) => [x.Table.slice(db.length + 1), String(x.Checksum)]));
}

describe('mock db --fast', () => {
  test('awkward values and several updates of one row end as exact mode writes them, with or without LOAD DATA', async () => {
    const awkward = ['tab\there', 'new\nline', 'back\\slash', 'NULL', '\\N', '\\', 'cr\rlf\r\n', 'nul\0byte', `quote ' and "`, '😀 中文 ünï', '', ' padded '];
    const users = awkward.map((s, i) => user(i + 1, { nick_name: s, name: i % 2 ? null : s, email: `${i}@x` }));
    const u1 = update(users[0]!, { nick_name: 'first\tupdate', operate_time: '2025-01-14 10:00:05' });
    const u1b = update(u1.data, { nick_name: 'second \\N update', email: null, operate_time: '2025-01-14 10:00:06' });
    const late = user(50, { nick_name: 'late' });
    const lateUp = update(late, { phone_num: '13800000000', operate_time: '2025-01-14 10:00:09' });
    const stream = txns(
      users.slice(0, 6).map(insert),
      users.slice(6).map(insert),
      [u1],
      [u1b, insert(late)],
      [lateUp],
      [update(users[3]!, { nick_name: 'NULL again', operate_time: '2025-01-14 10:00:10' })],
    );
    const expected = new Map<number, Row>();
    for (const t of stream) for (const c of t.changes) expected.set(Number(c.data.id), c.data);

    const exact = await freshDb();
    const load = await freshDb();
    const plain = await freshDb();
    try {
      expect(await writeTxns(exact.conn, stream)).toBe(17);
      // batches of 5 rows: inserts and updates of one row in one group, and across groups
      expect(await writeTxns(load.conn, stream, { fast: true, batchRows: 5, infile: true })).toBe(17);
      expect(await writeTxns(plain.conn, stream, { fast: true, batchRows: 5, infile: false })).toBe(17);
      const want = [...expected.values()].sort((a, b) => Number(a.id) - Number(b.id)).map((r) => ({ ...r }));
      const got = await rows(exact.conn);
      expect(got).toEqual(want);
      expect(await rows(load.conn)).toEqual(got);
      expect(await rows(plain.conn)).toEqual(got);
      const sums = await checksums(exact.db);
      expect(await checksums(load.db)).toEqual(sums);
      expect(await checksums(plain.db)).toEqual(sums);
    } finally {
      for (const x of [exact, load, plain]) await x.conn.close();
    }
  });

  test('a duplicate key or a value that does not fit fails its group, which is rolled back; earlier groups stay', async () => {
    const { conn } = await freshDb();
    try {
      const ok = txns([insert(user(1)), insert(user(2))]);
      expect(await writeTxns(conn, ok, { fast: true, infile: true })).toBe(2);

      const dup = txns([insert(user(3)), insert(user(4))], [insert(user(5)), insert(user(1))]);
      const committed: number[] = [];
      const e1 = await writeTxns(conn, dup, { fast: true, batchRows: 2, infile: true, onRows: (n) => committed.push(n) }).catch((e: Error) => e);
      expect(e1).toBeInstanceOf(Error);
      expect((e1 as Error).message).toContain('inserting into user_info: Duplicate entry');
      expect(committed).toEqual([2]);
      expect((await rows(conn)).map((r) => r.id)).toEqual([1, 2, 3, 4]);

      const long = txns([insert(user(6))], [update(user(6), { login_name: 'x'.repeat(201) })]);
      const e2 = await writeTxns(conn, long, { fast: true, infile: true }).catch((e: Error) => e);
      // (REPLACE keeps strict mode: an error straight away; a plain LOCAL load only warns, and the check catches that)
      expect((e2 as Error).message).toMatch(/Data (too long|truncated) for column 'login_name'/);
      expect((await rows(conn)).map((r) => r.id)).toEqual([1, 2, 3, 4]);

      const bad = txns([insert(user(7, { birthday: 'not a date' }))]);
      const e3 = await writeTxns(conn, bad, { fast: true, infile: true }).catch((e: Error) => e);
      expect((e3 as Error).message).toContain('inserting into user_info: ');
      expect((await rows(conn)).map((r) => r.id)).toEqual([1, 2, 3, 4]);

      // the connection goes on working
      expect(await writeTxns(conn, txns([insert(user(8))]), { fast: true, infile: true })).toBe(1);
      expect((await rows(conn)).map((r) => r.id)).toEqual([1, 2, 3, 4, 8]);
    } finally {
      await conn.close();
    }
  });

  test('with two connections a group is all or nothing: a failure on one rolls back the other’s part too', async () => {
    const { db, conn } = await freshDb();
    const second = await connectMysql(urlFor(db), { multipleStatements: true });
    const favor = (id: number): RowChange => {
      const data: Row = {};
      for (const c of columnNames('favor_info')) data[c] = null;
      Object.assign(data, { id, user_id: 1, sku_id: 2, spu_id: 3, is_cancel: '0', create_time: '2025-01-14 10:00:00' });
      return { table: 'favor_info', type: 'insert', data };
    };
    try {
      const opts = { fast: true, batchRows: 4, infile: true, moreConnections: [second] };
      const ok = txns([insert(user(1)), insert(user(2)), favor(1), favor(2)]);
      expect(await writeTxns(conn, ok, opts)).toBe(4);
      const bad = txns([insert(user(3)), insert(user(4)), favor(3), favor(1)]);
      const e = await writeTxns(conn, bad, opts).catch((x: Error) => x);
      expect((e as Error).message).toContain('inserting into favor_info: Duplicate entry');
      expect((await rows(conn)).map((r) => r.id)).toEqual([1, 2]);
      expect((await rows(conn, 'favor_info')).map((r) => r.id)).toEqual([1, 2]);
      // and the same changes written over two connections end as over one
      const stream = txns([insert(user(5)), favor(5)], [update(user(5), { nick_name: 'five', operate_time: '2025-01-14 10:00:03' }), favor(6)]);
      expect(await writeTxns(conn, stream, { ...opts, batchRows: 2 })).toBe(4);
      expect((await rows(conn)).map((r) => [r.id, r.nick_name])).toEqual([[1, 'nick 1'], [2, 'nick 2'], [5, 'five']]);
      expect((await rows(conn, 'favor_info')).map((r) => r.id)).toEqual([1, 2, 5, 6]);
    } finally {
      await second.close();
      await conn.close();
    }
  });

  test('the server reads only the files the query sends: no other name, and nothing without them', async () => {
    const { conn } = await freshDb();
    try {
      const load = (name: string) => `LOAD DATA LOCAL INFILE '${name}' INTO TABLE base_region (id, region_name)`;
      await conn.query(load('mine'), 'loading', new Map([['mine', Buffer.from('1\t华北\n')]]));
      await expect(conn.query(load('/etc/hostname'), 'loading', new Map([['mine', Buffer.from('2\tx\n')]]))).rejects.toThrow();
      await expect(conn.query(load('/etc/hostname'), 'loading')).rejects.toThrow();
      expect(await rows(conn, 'base_region')).toEqual([{ id: '1', region_name: '华北' }]);
    } finally {
      await conn.close();
    }
  });

  test('the binlog gets a row event for every change: updates with before and after images, in order, at the group time', async () => {
    const { db, conn } = await freshDb();
    try {
      const [status] = await admin.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
      const a = user(1);
      const b = user(2);
      const a1 = update(a, { nick_name: 'a one', operate_time: '2025-01-14 10:00:02' });
      const a2 = update(a1.data, { nick_name: 'a two', operate_time: '2025-01-14 10:00:03' });
      const b1 = update(b, { user_level: '2', operate_time: '2025-01-14 10:00:04' });
      // two groups: [a, b, a1, a2] and [b1]
      const stream = txns([insert(a), insert(b)], [a1], [a2], [b1]);
      expect(await writeTxns(conn, stream, { fast: true, batchRows: 4, infile: true })).toBe(5);

      const t = new URL(urlFor(db));
      const proc = Bun.spawnSync(
        ['mariadb-binlog', '--read-from-remote-server', `-h${t.hostname}`, `-P${t.port}`, `-u${decodeURIComponent(t.username)}`,
          `--start-position=${status!.Position}`, '--to-last-log', status!.File, '--base64-output=decode-rows', '-v'],
        { env: { ...process.env, TZ: 'UTC', MYSQL_PWD: decodeURIComponent(t.password) } },
      );
      expect(proc.exitCode, proc.stderr.toString()).toBe(0);
      type Ev = { kind: string; time: number; before: Record<string, string>; after: Record<string, string> };
      const events: Ev[] = [];
      let time = 0;
      let part: 'before' | 'after' = 'after';
      for (const line of proc.stdout.toString().split('\n')) {
        const h = /^#(\d\d)(\d\d)(\d\d) +(\d+):(\d\d):(\d\d) server id/.exec(line);
        if (h) time = Date.UTC(2000 + Number(h[1]), Number(h[2]) - 1, Number(h[3]), Number(h[4]), Number(h[5]), Number(h[6]));
        const ev = /^### (INSERT INTO|UPDATE|DELETE FROM) `([^`]+)`\.`([^`]+)`$/.exec(line);
        if (ev) {
          if (ev[2] === db) events.push({ kind: `${ev[1]} ${ev[3]}`, time, before: {}, after: {} });
          else events.push({ kind: 'other', time, before: {}, after: {} });
          part = 'after';
        }
        if (line === '### WHERE') part = 'before';
        if (line === '### SET') part = 'after';
        const col = /^###   @(\d+)=(.*)$/.exec(line);
        if (col && events.length > 0) events[events.length - 1]![part][col[1]!] = col[2]!;
      }
      const ours = events.filter((e) => e.kind !== 'other');
      expect(ours.map((e) => e.kind)).toEqual(['INSERT INTO user_info', 'INSERT INTO user_info', 'UPDATE user_info', 'UPDATE user_info', 'UPDATE user_info']);
      // @3 = nick_name, @9 = user_level
      expect(ours.slice(2, 4).map((e) => [e.before['3'], e.after['3']])).toEqual([["'nick 1'", "'a one'"], ["'a one'", "'a two'"]]);
      expect([ours[4]!.before['9'], ours[4]!.after['9']]).toEqual(["'1'", "'2'"]);
      // full images: every column on both sides
      for (const e of ours.slice(2)) expect([Object.keys(e.before).length, Object.keys(e.after).length]).toEqual([14, 14]);
      // each group is stamped with its last business transaction's time
      expect(ours.map((e) => e.time)).toEqual([...Array(4).fill(T0 + 2000), T0 + 3000]);
    } finally {
      await conn.close();
    }
  }, 30_000);
});
