/**
 * Dim store throughput: apply() of 5,000-row batches of user_info-like rows (8 text columns), first as new rows
 * (a bootstrap), then as updates of the same rows (each also writes an invalidation feed entry), into the SQLite
 * store and the MySQL/MariaDB store. Prints rows/s per store and phase.
 *
 *   npm run bench:dim-store -- [--rows N] [--batch N] [--mysql URL | --no-mysql]
 *
 * The MySQL URL defaults to RTWH_TEST_MYSQL (`. .stack/env`); a scratch database is created and dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { maskUrl } from '../../src/config/mask.ts';
import { MysqlDimStore } from '../../src/dim/store-mysql.ts';
import { SqliteDimStore } from '../../src/dim/store-sqlite.ts';
import type { DimStore, DimWrite, TableProcess } from '../../src/dim/types.ts';
import { connectMysql } from '../../src/store/mysql.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '5000' },
    mysql: { type: 'string' },
    'no-mysql': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const BATCH = Number(args.batch);

const RULE: TableProcess = {
  sourceTable: 'user_info',
  sinkTable: 'dim_user_info',
  sinkColumns: ['id', 'login_name', 'name', 'user_level', 'birthday', 'gender', 'create_time', 'operate_time'],
  sinkPk: 'id',
  sinkExtend: null,
};

function batches(round: number): DimWrite[][] {
  const out: DimWrite[][] = [];
  for (let b = 0; b < ROWS; b += BATCH) {
    const writes: DimWrite[] = [];
    for (let i = b; i < Math.min(ROWS, b + BATCH); i++) {
      const id = String(i + 1);
      writes.push({
        op: 'upsert',
        table: 'dim_user_info',
        pk: 'id',
        id,
        row: {
          id,
          login_name: `user${id}x${round}`,
          name: `姓名${id}`,
          user_level: String(1 + (i % 3)),
          birthday: '1990-05-17',
          gender: i % 2 ? 'M' : 'F',
          create_time: '2025-01-14 10:21:33',
          operate_time: round === 0 ? null : '2025-01-15 08:00:00',
        },
      });
    }
    out.push(writes);
  }
  return out;
}

async function run(name: string, store: DimStore): Promise<void> {
  await store.ensureTable(RULE);
  for (const [round, phase] of ['insert', 'update'].entries()) {
    const work = batches(round);
    let offset = 0;
    const t0 = performance.now();
    for (const writes of work) {
      offset += writes.length;
      await store.apply(writes, [{ group: 'bench', topic: 'ods_db', partition: 0, offset }]);
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(7)} ${phase.padEnd(6)} ${ROWS.toLocaleString('en-US')} rows in ${BATCH.toLocaleString('en-US')}-row batches: ${s.toFixed(2)} s, ${Math.round(ROWS / s).toLocaleString('en-US')} rows/s`);
  }
  const n = (await store.scan('dim_user_info')).length;
  if (n !== ROWS) throw new Error(`${name}: expected ${ROWS} rows, found ${n}`);
}

const dir = mkdtempSync(join(tmpdir(), 'rtwh-bench-dim-'));
try {
  const sqlite = new SqliteDimStore(join(dir, 'dim.db'));
  try {
    await run('sqlite', sqlite);
  } finally {
    await sqlite.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const mysqlUrl = args['no-mysql'] ? undefined : (args.mysql ?? process.env.RTWH_TEST_MYSQL);
if (mysqlUrl === undefined) {
  console.log('mysql   skipped (no --mysql URL and no RTWH_TEST_MYSQL; `. .stack/env` sets it)');
} else {
  const db = `rtwh_dimbench_${Date.now().toString(36)}`;
  const u = new URL(mysqlUrl);
  u.pathname = `/${db}`;
  console.log(`mysql   ${maskUrl(u.toString())}`);
  const store = await MysqlDimStore.open(u.toString());
  try {
    await run('mysql', store);
  } finally {
    await store.close();
    const admin = await connectMysql(mysqlUrl, { database: null });
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.close();
  }
}
