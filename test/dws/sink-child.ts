/**
 * Child process of test/dws/sink.test.ts and mysql-sink.test.ts: runs the DWS sink over a sqlite bus into a
 * DuckDB file (`path`) or a MySQL-protocol database (`mysql`). argv: JSON {bus, path?, mysql?, batch, untilIdle}.
 */
import { openBus } from '../../src/bus/index';
import { openMysqlSink } from '../../src/dws/mysql-sink';
import { runDuckSink, runSink } from '../../src/dws/sink';
import { DWS_TABLES } from '../../src/dws/tables';

const a = JSON.parse(process.argv[2]!) as { bus: string; path?: string; mysql?: string; batch: number; untilIdle: boolean };
const bus = await openBus(a.bus);
try {
  const o = { tables: DWS_TABLES.slice(0, 2), startFrom: 'earliest', untilIdle: a.untilIdle, batchRecords: a.batch, log: () => undefined } as const;
  const r = a.mysql ? await runSink(bus, await openMysqlSink(a.mysql), o) : await runDuckSink(bus, { ...o, path: a.path! });
  process.stdout.write(`${r.status.records}\n`);
} finally {
  await bus.close();
}
