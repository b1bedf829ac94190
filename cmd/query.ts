/** `rtwh query "SQL"`: ask the embedded DuckDB warehouse. Read-only unless --allow-write. */
import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { q, rtwhError } from '../src/errors';
import { openDuckDB } from '../src/store/duckdb';
import { withCommonFlags, type Ctx } from './context';
import { formatOption, printTable } from './print';

export function registerQuery(program: Command, ctx: Ctx): void {
  withCommonFlags(program.command('query'))
    .description('Run SQL over the DWS tables in the embedded DuckDB warehouse (read-only by default)')
    .argument('[sql]', 'the SQL to run; omit to read it from --file')
    .option('--duckdb <path>', 'warehouse file (default .rtwh/warehouse.duckdb; env RTWH_DUCKDB; ":memory:" for none)')
    .option('--file <path>', 'read the SQL from a file')
    .option('--allow-write', 'allow statements that change data or schema')
    .option('--preset <name>', 'an ADS query by name (not built yet: arrives with the summary-layer issue)')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  rtwh query "select 42 as answer" --format json\n  rtwh query "show tables"')
    .action(async (sqlArg: string | undefined, opts: { file?: string; allowWrite?: boolean; preset?: string; format?: string }, cmd: Command) => {
      if (opts.preset) throw rtwhError('NOT_BUILT', '`rtwh query --preset` is not built yet; it arrives with the summary-layer issue.');
      const sql = sqlArg ?? (opts.file ? await readSqlFile(resolve(ctx.io.cwd, opts.file), opts.file) : undefined);
      if (!sql || !sql.trim()) throw rtwhError('USAGE', 'no SQL given: pass it as an argument or with --file');
      const { config } = ctx.config(cmd);
      let path = config.duckdb.path === ':memory:' ? ':memory:' : resolve(ctx.io.cwd, config.duckdb.path);
      if (path !== ':memory:' && !existsSync(path)) {
        if (opts.allowWrite) mkdirSync(dirname(path), { recursive: true });
        else {
          // A query must not create a warehouse as a side effect: answer from an empty in-memory one.
          if (ctx.io.isTTY) ctx.err(ctx.color.dim(`no warehouse at ${config.duckdb.path} yet (run \`rtwh run dws\`); using an empty in-memory database`));
          path = ':memory:';
        }
      }
      const db = await openDuckDB(path, { readOnly: !opts.allowWrite && path !== ':memory:' });
      try {
        // Checked against the real catalog, before anything runs.
        if (!opts.allowWrite && (await db.isWriteStatement(sql))) {
          throw rtwhError('QUERY_WRITE_REFUSED', 'refusing a statement that writes: rtwh query is read-only');
        }
        const result = await db.query(sql);
        printTable(ctx, cmd, opts.format, result.columns.map((c) => [c.name, c.type]), result.rows as unknown[][]);
      } finally {
        db.close();
      }
    });
}

async function readSqlFile(path: string, given: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (e) {
    throw rtwhError('USAGE', `cannot read --file ${q(given)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
