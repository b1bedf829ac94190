/** Child process of test/dws/sink.test.ts: runs the DuckDB sink over a sqlite bus (argv: JSON {bus, path, batch, untilIdle}). */
import { openBus } from '../../src/bus/index';
import { runDuckSink } from '../../src/dws/sink';
import { DWS_TABLES } from '../../src/dws/tables';

const a = JSON.parse(process.argv[2]!) as { bus: string; path: string; batch: number; untilIdle: boolean };
const bus = await openBus(a.bus);
try {
  const r = await runDuckSink(bus, { path: a.path, tables: DWS_TABLES.slice(0, 2), startFrom: 'earliest', untilIdle: a.untilIdle, batchRecords: a.batch, log: () => undefined });
  process.stdout.write(`${r.status.records}\n`);
} finally {
  await bus.close();
}
