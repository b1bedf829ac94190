/**
 * Every column type through a real binlog: the gmall schema's types plus DECIMAL(65,30), BIGINT UNSIGNED max,
 * JSON, BLOB, DATETIME(6), NULLs and the rest, compared field by field with what Maxwell and Flink CDC's
 * Debezium JSON write for them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Bus } from '../../../src/bus/types';
import { fastRowsDecoded, setFastRows } from '../../../src/collect/cdc/fast-rows';
import { decimalBase64 } from '../../../src/formats/debezium';
import { decodeChanges } from '../../../src/formats/validated-change';
import type { MysqlConn } from '../../../src/store/mysql';
import { admin, readTopic, sqliteBus, startCdc, unique, values } from './helpers';

const DB = unique('cdc_types');
let a: MysqlConn;
let bus: Bus;

const D65 = `${'12345678901234567890123456789012345'}.${'123456789012345678901234567890'}`;

const TABLE = `CREATE TABLE \`${DB}\`.types (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  i int, ti tinyint, si smallint, mi mediumint, iu int unsigned, bu bigint unsigned, bs bigint,
  d1 decimal(10,2), d2 decimal(16,2), d3 decimal(10,0), d65 decimal(65,30),
  f float, db double,
  dt datetime, dt6 datetime(6), dt3 datetime(3), ts timestamp(3) NULL DEFAULT NULL, dd date, tm time, tm6 time(6), yr year,
  vc varchar(200), ch char(5), tx text, ltx longtext,
  bl blob, bn binary(4), vb varbinary(10),
  js json, en enum('a','b','c'), st set('x','y','z'), bt bit(1), b12 bit(12)
) DEFAULT CHARSET=utf8mb4`;

const ROW = `INSERT INTO \`${DB}\`.types VALUES (1,
  -2147483648, -128, 32767, -8388608, 4294967295, 18446744073709551615, -9223372036854775808,
  1299.00, 12345678901234.56, 10, ${D65},
  1.1, 3.141592653589793,
  '2025-01-14 10:20:30', '2025-01-14 10:20:30.123456', '2025-01-14 10:20:30.5', '2025-01-14 10:20:30.250', '2025-01-14', '12:34:56', '01:02:03.000004', 2025,
  '张三 "quoted"\\nnew line', 'abc', 'text', 'long text',
  0x00FF10, 0x0102, 0xDEADBEEF,
  '{"b": [1, 2.5, "x"], "a": {"n": null, "big": 12345678901234567890}}', 'b', 'x,z', b'1', b'101010101010')`;

const ZEROES = `INSERT INTO \`${DB}\`.types (id, d65, db, f, bu, bt) VALUES (2, 0, 1e10, 0.000123, 0, b'0')`;
const NULLS = `INSERT INTO \`${DB}\`.types (id) VALUES (3)`;

const COLUMNS = ['id', 'i', 'ti', 'si', 'mi', 'iu', 'bu', 'bs', 'd1', 'd2', 'd3', 'd65', 'f', 'db', 'dt', 'dt6', 'dt3', 'ts', 'dd', 'tm', 'tm6', 'yr', 'vc', 'ch', 'tx', 'ltx', 'bl', 'bn', 'vb', 'js', 'en', 'st', 'bt', 'b12'];

/** The `data` object of row 1 exactly as Maxwell writes it (JSON text, digits as stored). */
const MAXWELL_ROW1 =
  '{"id":1,"i":-2147483648,"ti":-128,"si":32767,"mi":-8388608,"iu":4294967295,"bu":18446744073709551615,"bs":-9223372036854775808,' +
  `"d1":1299.00,"d2":12345678901234.56,"d3":10,"d65":${D65},"f":1.1,"db":3.141592653589793,` +
  '"dt":"2025-01-14 10:20:30","dt6":"2025-01-14 10:20:30.123456","dt3":"2025-01-14 10:20:30.500","ts":"2025-01-14 02:20:30.250","dd":"2025-01-14","tm":"12:34:56","tm6":"01:02:03.000004","yr":2025,' +
  '"vc":"张三 \\"quoted\\"\\nnew line","ch":"abc","tx":"text","ltx":"long text",' +
  '"bl":"AP8Q","bn":"AQIAAA==","vb":"3q2+7w==",' +
  '"js":{"b":[1,2.5,"x"],"a":{"n":null,"big":12345678901234567890}},"en":"b","st":["x","z"],"bt":1,"b12":2730}';

beforeAll(async () => {
  a = await admin();
  await a.query(`CREATE DATABASE \`${DB}\``);
  await a.query(TABLE);
  await a.query(`CREATE TABLE \`${DB}\`.warm (id int PRIMARY KEY, v int)`);
  bus = await sqliteBus();
});

afterAll(async () => {
  await a.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await a.close();
  await bus.close();
});

const UPDATE = `UPDATE \`${DB}\`.types SET d65 = -${D65}, dt6 = '2024-12-31 23:59:59.999999', tm = '-01:02:03', bl = 0x00, js = '[]', st = '', b12 = b'1', bu = 1 WHERE id = 1`;

/**
 * Writes the three rows (the TIMESTAMP in a +08:00 session: the binlog holds UTC, Maxwell writes UTC), then an
 * update of row 1. A warm-up insert and update come first: cdc's decoder is installed from the first rows event of
 * each kind, so the rows that matter go through whichever decoder the test chose.
 */
async function writeRows(): Promise<void> {
  await a.query(`DELETE FROM \`${DB}\`.warm; INSERT INTO \`${DB}\`.warm VALUES (1, 1); UPDATE \`${DB}\`.warm SET v = 2;`);
  await a.query(`SET time_zone = '+08:00'; ${ROW}; SET time_zone = '+00:00'; ${ZEROES}; ${NULLS}; ${UPDATE};`);
}

/** The records of the types table (the warm-up records left out). */
async function typeRecords(topic: string) {
  const types = (rs: Awaited<ReturnType<typeof readTopic>>) => rs.filter((r) => (JSON.parse(r.value!.toString()) as { table?: string; source?: { table: string } }).table === 'types' || (JSON.parse(r.value!.toString()) as { source?: { table: string } }).source?.table === 'types');
  let recs = types(await readTopic(bus, topic, undefined, 2000, 300));
  for (let i = 0; i < 50 && recs.length < 4; i++) recs = types(await readTopic(bus, topic, undefined, 2000, 300));
  return recs;
}

describe.each([
  ['cdc\'s row decoder', true],
  ["zongji's row decoder", false],
])('every column type (%s)', (_name, fast) => {
  beforeAll(() => setFastRows(fast));
  afterAll(() => setFastRows(true));

  test('maxwell: values exactly as Maxwell writes them', async () => {
    await a.query(`DELETE FROM \`${DB}\`.types`);
    const topic = unique('types_mx');
    const cdc = startCdc({ bus, database: DB, topic });
    await cdc.started;
    const before = fastRowsDecoded();
    await writeRows();
    const recs = await typeRecords(topic);
    await cdc.stop();
    expect(recs.length).toBe(4);
    // 3 inserts + both images of the update (and the warm-up update) went through the chosen decoder.
    if (fast) expect(fastRowsDecoded() - before).toBeGreaterThanOrEqual(5);
    else expect(fastRowsDecoded()).toBe(before);
    const texts = recs.map((r) => r.value!.toString());
    // The raw text of `data`: digits of decimals and big integers exactly as MySQL holds them.
    expect(texts[0]!.slice(texts[0]!.indexOf('"data":') + 7, -1)).toBe(MAXWELL_ROW1);
    const [r1, r2, r3] = values(recs);
    expect(Object.keys(r1!)).toEqual(['database', 'table', 'type', 'ts', 'xid', 'commit', 'data']);
    expect(r1!.database).toBe(DB);
    expect(r1!.table).toBe('types');
    expect(r1!.type).toBe('insert');
    expect(Object.keys(r1!.data as object)).toEqual(COLUMNS);
    // DECIMAL(65,30) zero is BigDecimal.toString's "0E-30"; a double 1e10 is Java's "1.0E10"; FLOAT keeps float digits.
    expect(texts[1]).toContain('"d65":0E-30');
    expect(texts[1]).toContain('"db":1.0E10');
    expect(texts[1]).toContain('"f":1.23E-4');
    expect(texts[1]).toContain('"bu":0,');
    expect(texts[1]).toContain('"bt":0,');
    expect((r2!.data as Record<string, unknown>).st).toBeNull();
    // NULLs are written, for every column.
    const nulls = r3!.data as Record<string, unknown>;
    expect(Object.keys(nulls)).toEqual(COLUMNS);
    for (const c of COLUMNS.slice(1)) expect(nulls[c], c).toBeNull();
    // The update: every changed column in old, with the value it had.
    expect(texts[3]!.slice(texts[3]!.indexOf('"old":'))).toBe(
      `"old":{"bu":18446744073709551615,"d65":${D65},"dt6":"2025-01-14 10:20:30.123456","tm":"12:34:56","bl":"AP8Q","js":{"b":[1,2.5,"x"],"a":{"n":null,"big":12345678901234567890}},"st":["x","z"],"b12":2730}}`,
    );
    expect(texts[3]).toContain(`"d65":-${D65},`);
    expect(texts[3]).toContain('"dt6":"2024-12-31 23:59:59.999999","dt3"');
    expect(texts[3]).toContain('"tm":"-01:02:03","tm6"');
    expect(texts[3]).toContain('"bl":"AA==","bn"');
    expect(texts[3]).toContain('"js":[],"en":"b","st":[],"bt":1,"b12":1}');
    // The record key is Maxwell's hash form.
    expect(recs[0]!.key!.toString()).toBe(`{"database":"${DB}","table":"types","pk.id":1}`);
  }, 60_000);

  test('debezium: values in Debezium\'s MySQL encodings', async () => {
    await a.query(`DELETE FROM \`${DB}\`.types`);
    const topic = unique('types_dbz');
    const cdc = startCdc({ bus, database: DB, topic, format: 'debezium' });
    await cdc.started;
    await writeRows();
    const recs = await typeRecords(topic);
    await cdc.stop();
    expect(recs.length).toBe(4);
    const [r1, r2, r3, r4] = values(recs);
    expect(r4!.op).toBe('u');
    expect(r4!.before).toEqual(r1!.after);
    expect((r4!.after as Record<string, unknown>).tm).toBe(-(3600 + 120 + 3) * 1_000_000);
    expect((r4!.after as Record<string, unknown>).d65).toBe(decimalBase64(`-${D65}`));
    expect(Object.keys(r1!)).toEqual(['before', 'after', 'source', 'op', 'ts_ms', 'transaction']);
    expect(r1!.op).toBe('c');
    expect(r1!.before).toBeNull();
    const after = r1!.after as Record<string, unknown>;
    const ms = (s: string) => Date.parse(`${s}Z`);
    expect(after).toEqual({
      id: 1,
      i: -2147483648,
      ti: -128,
      si: 32767,
      mi: -8388608,
      iu: 4294967295,
      bu: Buffer.from([0, 255, 255, 255, 255, 255, 255, 255, 255]).toString('base64'),
      bs: -9223372036854775808,
      d1: decimalBase64('1299.00'),
      d2: decimalBase64('12345678901234.56'),
      d3: decimalBase64('10'),
      d65: decimalBase64(D65),
      f: 1.1,
      db: 3.141592653589793,
      dt: ms('2025-01-14T10:20:30'),
      dt6: ms('2025-01-14T10:20:30') * 1000 + 123456,
      dt3: ms('2025-01-14T10:20:30.500'),
      ts: '2025-01-14T02:20:30.25Z',
      dd: 20102,
      tm: (12 * 3600 + 34 * 60 + 56) * 1_000_000,
      tm6: 3_723_000_004,
      yr: 2025,
      vc: '张三 "quoted"\nnew line',
      ch: 'abc',
      tx: 'text',
      ltx: 'long text',
      bl: 'AP8Q',
      bn: 'AQIAAA==',
      vb: '3q2+7w==',
      js: '{"b":[1,2.5,"x"],"a":{"n":null,"big":12345678901234567890}}',
      en: 'b',
      st: 'x,z',
      bt: true,
      b12: Buffer.from([0xaa, 0x0a]).toString('base64'),
    });
    // BIGINT -2^63 survives as text (JSON.parse would round it, so look at the bytes).
    expect(recs[0]!.value!.toString()).toContain('"bs":-9223372036854775808');
    const src = r1!.source as Record<string, unknown>;
    expect(src.connector).toBe('mysql');
    expect(src.db).toBe(DB);
    expect(src.table).toBe('types');
    expect(src.snapshot).toBe('false');
    expect(src.server_id).toBe(1);
    expect(String(src.file)).toMatch(/^mysql-bin\.\d+$/);
    expect(typeof src.pos).toBe('number');
    expect(typeof src.gtid).toBe('string');
    expect(((r2!.after as Record<string, unknown>).bt)).toBe(false);
    expect(((r2!.after as Record<string, unknown>).d65)).toBe(decimalBase64('0.000000000000000000000000000000'));
    const nulls = r3!.after as Record<string, unknown>;
    for (const c of COLUMNS.slice(1)) expect(nulls[c], c).toBeNull();
    expect(recs[0]!.key!.toString()).toBe('{"id":1}');
  }, 60_000);

  test('repeated and varied values in one column: each row gets its own (the decoder keeps values it made)', async () => {
    await a.query(`CREATE TABLE IF NOT EXISTS \`${DB}\`.rep (id int PRIMARY KEY, d1 decimal(10,2), d2 decimal(16,2), d3 decimal(30,4), dt datetime, dd date, c varchar(10))`);
    await a.query(`DELETE FROM \`${DB}\`.rep`);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const row = (i: number) => ({
      id: i,
      d1: `${i % 5 === 0 ? -i : i % 13}.${p2(i % 100)}`,
      d2: `${i * 1000003}.${p2(i % 7)}`,
      d3: `${i % 3 === 0 ? '-' : ''}${1 + (i % 11)}${'9'.repeat(i % 20)}.${String(i % 9999).padStart(4, '0')}`,
      dt: `2025-01-${p2(1 + (i % 28))} 10:${p2(i % 60)}:${p2(i % 3)}`,
      dd: `2025-02-${p2(1 + (i % 28))}`,
      c: i % 4 === 0 ? `ü${i % 3}` : i % 4 === 1 ? `s${i % 9}` : i % 4 === 2 ? '' : `abcdef${i % 5}`,
    });
    const rows = Array.from({ length: 400 }, (_, i) => row(i + 1));
    const topic = unique('types_rep');
    const cdc = startCdc({ bus, database: DB, topic });
    await cdc.started;
    // Warm-up rows install the decoder (see writeRows).
    await a.query(`DELETE FROM \`${DB}\`.warm; INSERT INTO \`${DB}\`.warm VALUES (1, 1); UPDATE \`${DB}\`.warm SET v = 2;`);
    await a.query(`INSERT INTO \`${DB}\`.rep VALUES ${rows.map((r) => `(${r.id}, ${r.d1}, ${r.d2}, ${r.d3}, '${r.dt}', '${r.dd}', '${r.c}')`).join(',')}`);
    let recs: string[] = [];
    for (let i = 0; i < 50 && recs.length < rows.length; i++) {
      recs = (await readTopic(bus, topic, undefined, 2000, 300)).map((r) => r.value!.toString()).filter((t) => t.includes('"table":"rep"'));
    }
    await cdc.stop();
    expect(recs.length).toBe(rows.length);
    recs.forEach((t, i) => {
      const r = rows[i]!;
      expect(t.slice(t.indexOf('"data":') + 7, -1)).toBe(`{"id":${r.id},"d1":${r.d1},"d2":${r.d2},"d3":${r.d3},"dt":"${r.dt}","dd":"${r.dd}","c":"${r.c}"}`);
    });
  }, 60_000);
});

describe('every column type read back by the jobs\' decoder', () => {
  /** The decoded changes of the types table's records on a topic (the warm-up records left out). */
  async function decoded(topic: string, untyped?: string[]) {
    let recs: ReturnType<typeof decodeChanges>[] = [];
    for (let i = 0; i < 50 && recs.length < 4; i++) {
      recs = (await readTopic(bus, topic, undefined, 2000, 300))
        .map((r) => decodeChanges(r.value, { key: r.key?.toString() ?? null, onUntyped: (_db, t) => untyped?.push(t) }))
        .filter((d) => !d.ok || d.changes[0]?.table === 'types');
    }
    return recs.map((d) => {
      if (!d.ok) throw new Error(`${d.problem}: ${d.reasons.join('; ')}`);
      const { data, old, type } = d.changes[0]!;
      return { type, data, old };
    });
  }

  test('debezium with --debezium-schemas decodes every column to what the Maxwell record gives (a table outside the gmall schema)', async () => {
    await a.query(`DELETE FROM \`${DB}\`.types`);
    const mx = unique('types_mx_dec');
    const dbz = unique('types_dbz_dec');
    const cdcM = startCdc({ bus, database: DB, topic: mx });
    const cdcD = startCdc({ bus, database: DB, topic: dbz, format: 'debezium', debezium: { schemas: true } });
    await Promise.all([cdcM.started, cdcD.started]);
    await writeRows();
    const fromMaxwell = await decoded(mx);
    const untyped: string[] = [];
    const fromDebezium = await decoded(dbz, untyped);
    await Promise.all([cdcM.stop(), cdcD.stop()]);
    expect(fromMaxwell.length).toBe(4);
    // DECIMAL(65,30) zero is Maxwell's 0E-30 (a double once parsed); every other value the same as well
    expect(fromDebezium).toEqual(fromMaxwell);
    expect((fromDebezium[0]!.data as Record<string, unknown>).ts).toBe('2025-01-14 02:20:30.250');
    expect(untyped).toEqual([]);
  }, 60_000);
});
