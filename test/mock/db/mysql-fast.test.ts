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

/** Enough rows of a kind to one table in one group for the writer to LOAD them (fewer go as INSERT). */
const MANY = 70;
const ids = (from: number, n = MANY) => Array.from({ length: n }, (_, i) => from + i);

describe('mock db --fast', () => {
  test('awkward values and several updates of one row end as exact mode writes them, with or without LOAD DATA', async () => {
    const awkward = ['tab\there', 'new\nline', 'back\\slash', 'NULL', '\\N', '\\', 'cr\rlf\r\n', 'nul\0byte', `quote ' and "`, '😀 中文 ünï', '', ' padded '];
    const pick = (i: number) => awkward[i % awkward.length]!;
    const users = ids(1, 2 * MANY).map((id) => user(id, { nick_name: pick(id), name: id % 2 ? null : pick(id + 1), email: `${id}@x` }));
    const first = users.slice(0, MANY);
    const second = users.slice(MANY);
    const up1 = first.map((u, i) => update(u, { nick_name: `first\t${pick(i + 2)}`, operate_time: '2025-01-14 10:00:05' }));
    const up2 = up1.map((u, i) => update(u.data, { nick_name: `second ${pick(i + 3)}`, email: null, operate_time: '2025-01-14 10:00:06' }));
    const up3 = second.map((u, i) => update(u, { phone_num: pick(i + 4), operate_time: '2025-01-14 10:00:09' }));
    // deletes (the generator makes none) keep their place among the table's changes: two rows just updated are
    // deleted, and one of them is inserted again
    const gone: RowChange[] = up3.slice(0, 2).map((u) => ({ table: 'user_info', type: 'delete', data: u.data }));
    const again = user(MANY + 2, { nick_name: 'back\tagain' });
    // groups of at least 200 rows: [inserts, updates, updates of the same rows + more inserts] then [updates, deletes, insert]
    const stream = txns(first.map(insert), up1, [...up2, ...second.map(insert)], up3, gone, [insert(again)]);
    const total = 5 * MANY + 3;
    const expected = new Map<number, Row>();
    for (const t of stream) for (const c of t.changes) if (c.type === 'delete') expected.delete(Number(c.data.id));
    else expected.set(Number(c.data.id), c.data);

    const exact = await freshDb();
    const load = await freshDb();
    const plain = await freshDb();
    try {
      expect(await writeTxns(exact.conn, stream)).toBe(total);
      expect(await writeTxns(load.conn, stream, { fast: true, batchRows: 200, infile: true })).toBe(total);
      expect(await writeTxns(plain.conn, stream, { fast: true, batchRows: 200, infile: false })).toBe(total);
      const want = [...expected.values()].sort((x, y) => Number(x.id) - Number(y.id)).map((r) => ({ ...r }));
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
    const idsIn = async () => (await rows(conn)).map((r) => Number(r.id));
    try {
      expect(await writeTxns(conn, txns(ids(1).map((id) => insert(user(id)))), { fast: true, infile: true })).toBe(MANY);

      // groups of MANY rows: the second one holds a duplicate of row 1
      const dup = txns(ids(MANY + 1).map((id) => insert(user(id))), [...ids(2 * MANY + 1, MANY - 1).map((id) => insert(user(id))), insert(user(1))]);
      const committed: number[] = [];
      const e1 = await writeTxns(conn, dup, { fast: true, batchRows: MANY, infile: true, onRows: (n) => committed.push(n) }).catch((e: Error) => e);
      expect(e1).toBeInstanceOf(Error);
      expect((e1 as Error).message).toContain('inserting into user_info: Duplicate entry');
      expect(committed).toEqual([MANY]);
      expect(await idsIn()).toEqual(ids(1, 2 * MANY));

      // (REPLACE keeps strict mode: an error straight away)
      const long = txns(ids(1).map((id) => update(user(id), { login_name: id === 9 ? 'x'.repeat(201) : `v${id}` })));
      const e2 = await writeTxns(conn, long, { fast: true, infile: true }).catch((e: Error) => e);
      expect((e2 as Error).message).toMatch(/Data (too long|truncated) for column 'login_name'/);
      expect((await rows(conn)).filter((r) => String(r.login_name).startsWith('v'))).toEqual([]);

      // a plain LOCAL load only warns: the check turns that into the error
      const bad = txns(ids(3 * MANY + 1).map((id) => insert(user(id, id === 3 * MANY + 5 ? { birthday: 'not a date' } : {}))));
      const e3 = await writeTxns(conn, bad, { fast: true, infile: true }).catch((e: Error) => e);
      expect((e3 as Error).message).toContain("inserting into user_info: Data truncated for column 'birthday' at row 5");
      expect(await idsIn()).toEqual(ids(1, 2 * MANY));

      // the connection goes on working
      expect(await writeTxns(conn, txns([insert(user(1000))]), { fast: true, infile: true })).toBe(1);
      expect(await idsIn()).toEqual([...ids(1, 2 * MANY), 1000]);
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
    const idsOf = async (table: string) => (await rows(conn, table)).map((r) => Number(r.id));
    try {
      const opts = { fast: true, batchRows: 2 * MANY, infile: true, moreConnections: [second] };
      const ok = txns([...ids(1).map((id) => insert(user(id))), ...ids(1).map(favor)]);
      expect(await writeTxns(conn, ok, opts)).toBe(2 * MANY);
      const bad = txns([...ids(MANY + 1).map((id) => insert(user(id))), ...ids(MANY + 1, MANY - 1).map(favor), favor(1)]);
      const e = await writeTxns(conn, bad, opts).catch((x: Error) => x);
      expect((e as Error).message).toContain('inserting into favor_info: Duplicate entry');
      expect(await idsOf('user_info')).toEqual(ids(1));
      expect(await idsOf('favor_info')).toEqual(ids(1));
      // and the same changes written over two connections end as over one
      const more = ids(MANY + 1).map((id) => user(id));
      const stream = txns([...more.map(insert), ...ids(MANY + 1).map(favor)], [...more.map((u) => update(u, { nick_name: 'five', operate_time: '2025-01-14 10:00:03' })), ...ids(2 * MANY + 1).map(favor)]);
      expect(await writeTxns(conn, stream, opts)).toBe(4 * MANY);
      expect((await rows(conn)).filter((r) => r.nick_name === 'five').map((r) => Number(r.id))).toEqual(ids(MANY + 1));
      expect(await idsOf('favor_info')).toEqual(ids(1, 3 * MANY));
    } finally {
      await second.close();
      await conn.close();
    }
  });

  test('groups built ahead never outrun a failure: the groups before it stay, it and every later one are not written', async () => {
    const { db, conn } = await freshDb();
    const second = await connectMysql(urlFor(db), { multipleStatements: true });
    const favor = (id: number): RowChange => {
      const data: Row = {};
      for (const c of columnNames('favor_info')) data[c] = null;
      Object.assign(data, { id, user_id: 1, sku_id: 2, spu_id: 3, is_cancel: '0', create_time: '2025-01-14 10:00:00' });
      return { table: 'favor_info', type: 'insert', data };
    };
    const idsOf = async (table: string) => (await rows(conn, table)).map((r) => Number(r.id));
    try {
      // eight groups of 2 × MANY rows (users and favorites), far more than the writer queues; group 5 repeats favorite 1
      const groups = Array.from({ length: 8 }, (_, g) => {
        const from = g * MANY + 1;
        return [...ids(from).map((id) => insert(user(id))), ...(g === 4 ? [...ids(from, MANY - 1).map(favor), favor(1)] : ids(from).map(favor))];
      });
      for (const moreConnections of [[], [second]]) {
        await conn.query('DELETE FROM user_info; DELETE FROM favor_info');
        const committed: number[] = [];
        const e = await writeTxns(conn, txns(...groups), { fast: true, batchRows: 2 * MANY, infile: true, moreConnections, onRows: (n) => committed.push(n) }).catch((x: Error) => x);
        expect((e as Error).message).toContain('inserting into favor_info: Duplicate entry');
        expect(committed).toEqual([2 * MANY, 2 * MANY, 2 * MANY, 2 * MANY]);
        expect(await idsOf('user_info')).toEqual(ids(1, 4 * MANY));
        expect(await idsOf('favor_info')).toEqual(ids(1, 4 * MANY));
      }
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
      const users = ids(1).map((id) => user(id));
      const up1 = users.map((u) => update(u, { nick_name: `${String(u.nick_name)} one`, operate_time: '2025-01-14 10:00:02' }));
      const up2 = up1.map((u) => update(u.data, { nick_name: `${String(u.data.nick_name)} two`, operate_time: '2025-01-14 10:00:03' }));
      const up3 = users.map((u) => update(up2[Number(u.id) - 1]!.data, { user_level: '2', operate_time: '2025-01-14 10:00:04' }));
      // two groups: [inserts, updates, updates of the same rows] and [updates]
      const stream = txns(users.map(insert), up1, up2, up3);
      expect(await writeTxns(conn, stream, { fast: true, batchRows: 3 * MANY, infile: true })).toBe(4 * MANY);

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
      expect(ours.map((e) => e.kind)).toEqual([...Array(MANY).fill('INSERT INTO user_info'), ...Array(3 * MANY).fill('UPDATE user_info')]);
      // user 1: @3 = nick_name, @9 = user_level; its updates in order, each with the image before it
      const of1 = ours.filter((e) => e.after['1'] === '1');
      expect(of1.map((e) => [e.before['3'], e.after['3'], e.after['9']])).toEqual([
        [undefined, "'nick 1'", "'1'"],
        ["'nick 1'", "'nick 1 one'", "'1'"],
        ["'nick 1 one'", "'nick 1 one two'", "'1'"],
        ["'nick 1 one two'", "'nick 1 one two'", "'2'"],
      ]);
      // full images: every column on both sides
      for (const e of ours.slice(MANY)) expect([Object.keys(e.before).length, Object.keys(e.after).length]).toEqual([14, 14]);
      // each group is stamped with its last business transaction's time
      expect(ours.map((e) => e.time)).toEqual([...Array(3 * MANY).fill(T0 + 2000), ...Array(MANY).fill(T0 + 3000)]);
    } finally {
      await conn.close();
    }
  }, 30_000);
});
