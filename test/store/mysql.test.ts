import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RtwhError } from '../../src/errors';
import { dec } from '../../src/formats/change';
import { connectMysql, escapeString, mysqlError, parseMysqlUrl, quoteIdent, sqlLiteral, writerSqlMode, type MysqlConn } from '../../src/store/mysql';
import { adminConn, dropDb, TEST_MYSQL, uniqueDb, urlFor } from '../mock/db/mysql-env';

async function rejection(p: Promise<unknown>): Promise<RtwhError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RtwhError);
    return e as RtwhError;
  }
  throw new Error('expected a rejection');
}

describe('mysql URLs and literals', () => {
  test("a writer's sql_mode: backslash escapes on and strict, the server's other modes kept", () => {
    expect(writerSqlMode('NO_BACKSLASH_ESCAPES')).toBe('STRICT_TRANS_TABLES');
    expect(writerSqlMode('ANSI_QUOTES,NO_BACKSLASH_ESCAPES,NO_ZERO_DATE')).toBe('ANSI_QUOTES,NO_ZERO_DATE,STRICT_TRANS_TABLES');
    expect(writerSqlMode('STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO')).toBe('STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO');
    expect(writerSqlMode('STRICT_TRANS_TABLES')).toBe('STRICT_TRANS_TABLES');
    expect(writerSqlMode('')).toBe('STRICT_TRANS_TABLES');
  });

  test('a URL gives host, port, user, password and database', () => {
    const t = parseMysqlUrl('mysql://app:p%40ss@db.example:3310/gmall');
    expect(t).toMatchObject({ host: 'db.example', port: 3310, user: 'app', password: 'p@ss', database: 'gmall', display: 'mysql://app:****@db.example:3310/gmall' });
    expect(parseMysqlUrl('mysql://root@localhost').port).toBe(3306);
    expect(parseMysqlUrl('mysql://root@localhost').database).toBeUndefined();
  });

  test('bad URLs and names are refused without showing the password', () => {
    let e: unknown;
    try {
      parseMysqlUrl('postgres://u:secret@h/db');
    } catch (x) {
      e = x;
    }
    expect((e as RtwhError).code).toBe('CONFIG_VALUE');
    expect((e as RtwhError).message).not.toContain('secret');
    expect(() => parseMysqlUrl('mysql://u:secret@h/bad-name')).toThrow(/invalid database/);
    expect(() => quoteIdent('a`b')).toThrow(/invalid name/);
    expect(quoteIdent('order_info')).toBe('`order_info`');
  });

  test('literals: strings escaped, decimals exact, NULL', () => {
    expect(sqlLiteral("it's \\ \n 张")).toBe("'it\\'s \\\\ \\n 张'");
    expect(sqlLiteral(dec(129900))).toBe('1299.00');
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(12n)).toBe('12');
    expect(escapeString('plain')).toBe('plain');
    expect(() => sqlLiteral(Number.NaN)).toThrow();
  });

  test('driver errors name host:port and hide secrets', () => {
    const t = { host: '10.0.0.1', port: 3306, user: 'root' };
    const e1 = mysqlError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:3306'), { code: 'ECONNREFUSED' }), t);
    expect(e1.code).toBe('MYSQL_UNAVAILABLE');
    expect(e1.message).toContain('10.0.0.1:3306');
    const e2 = mysqlError({ code: 'ER_PARSE_ERROR', sqlMessage: 'bad near mysql://root:hunter2@x/db' }, t);
    expect(e2.code).toBe('MYSQL_ERROR');
    expect(e2.message).not.toContain('hunter2');
  });
});

describe('mysql against the real MariaDB', () => {
  let admin: MysqlConn;
  const db = uniqueDb('rtwh_store_t');

  beforeAll(async () => {
    admin = await adminConn();
    await admin.query(`CREATE DATABASE \`${db}\``);
  });
  afterAll(async () => {
    await dropDb(admin, db);
    await admin.close();
  });

  test('connects, runs SQL, returns DATETIME and DECIMAL as text', async () => {
    const c = await connectMysql(urlFor(db), { multipleStatements: true });
    try {
      await c.query('CREATE TABLE t (id bigint PRIMARY KEY, d decimal(16,2), ts datetime, s varchar(20)) DEFAULT CHARSET=utf8mb4;INSERT INTO t VALUES (1, 1299.00, \'2025-01-14 10:00:00\', \'张三😀\')');
      const rows = await c.query<Record<string, unknown>[]>('SELECT * FROM t');
      expect(rows).toEqual([{ id: 1, d: '1299.00', ts: '2025-01-14 10:00:00', s: '张三😀' }]);
    } finally {
      await c.close();
    }
  });

  test('a closed port is MYSQL_UNAVAILABLE naming host:port', async () => {
    const e = await rejection(connectMysql('mysql://root:hunter2@127.0.0.1:1/gmall', { connectTimeoutMs: 2000 }));
    expect(e.code).toBe('MYSQL_UNAVAILABLE');
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain('127.0.0.1:1');
    expect(e.message).not.toContain('hunter2');
    expect(e.hint).toContain('scripts/stack.sh up');
  });

  test('a wrong password is refused clearly, without echoing it', async () => {
    const u = new URL(TEST_MYSQL);
    u.password = 'not-the-password';
    const e = await rejection(connectMysql(u.toString()));
    expect(e.code).toBe('MYSQL_ACCESS_DENIED');
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(`${u.hostname}:${u.port}`);
    expect(e.message).toContain('access denied');
    expect(JSON.stringify(e.toJSON())).not.toContain('not-the-password');
  });

  test('a missing database says how to create it', async () => {
    const e = await rejection(connectMysql(urlFor('rtwh_no_such_db')));
    expect(e.code).toBe('MYSQL_ERROR');
    expect(e.hint).toContain('--init');
  });
});
