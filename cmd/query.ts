/**
 * `rtwh query "SQL"`: ask the embedded DuckDB warehouse. Read-only unless --allow-write.
 * `rtwh query --preset NAME --date D [--top N]`: the ADS answers of gmall (src/query/presets.ts); `--list-presets`.
 * While `rtwh run dws` holds the warehouse file, both ask that job (src/query/endpoint.ts).
 */
import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { q, rtwhError } from '../src/errors';
import { bindPreset, PRESETS, type BoundPreset } from '../src/query/presets';
import { assertReadOnly, runPreset } from '../src/query/run';
import { openWarehouse } from '../src/query/endpoint';
import { presetFromMysql, queryMysql } from '../src/query/mysql';
import { maskUrl } from '../src/config/mask';
import { withCommonFlags, type Ctx } from './context';
import { formatOption, maxWidthOption, printTable, type PrintOptions } from './print';

interface QueryOpts {
  file?: string;
  allowWrite?: boolean;
  preset?: string;
  date?: string;
  top?: string;
  listPresets?: boolean;
  showSql?: boolean;
  format?: string;
  maxWidth?: number;
  sink?: string;
}

/** Box limits of `rtwh query`: --max-width, and the footer's way to see cut values whole. */
function printOptions(opts: QueryOpts): PrintOptions {
  return { maxWidth: opts.maxWidth, wholeHint: '--max-width 0 or --format csv shows them whole' };
}

/** `--sink mysql://…`: the MySQL/MariaDB database `rtwh run dws --sink` loaded (undefined: the DuckDB warehouse). */
function mysqlSink(opts: QueryOpts): string | undefined {
  if (opts.sink === undefined) return undefined;
  if (/^mysql:\/\//i.test(opts.sink)) return opts.sink;
  throw rtwhError('DWS_SINK_URL', `invalid --sink ${q(maskUrl(opts.sink))}: expected mysql://user:pass@host:port/db (for a DuckDB file use --duckdb PATH)`);
}

export function registerQuery(program: Command, ctx: Ctx): void {
  withCommonFlags(program.command('query'))
    .description('Run SQL, or an ADS preset, over the DWS tables in the embedded DuckDB warehouse (read-only by default)')
    .argument('[sql]', 'the SQL to run; omit to read it from --file, or use --preset')
    .option('--duckdb <path>', 'warehouse file (default .rtwh/warehouse.duckdb; env RTWH_DUCKDB; ":memory:" for none)')
    .option('--sink <url>', 'the DWS tables that `rtwh run dws --sink mysql://…` loaded, in MySQL/MariaDB: presets run on a copy of that day in DuckDB, SQL on the server (MySQL dialect)')
    .option('--file <path>', 'read the SQL from a file')
    .option('--allow-write', 'also run statements that are not plain reads (SELECT, WITH, FROM, VALUES, TABLE, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN): writes, DDL, COPY, CHECKPOINT, SET, PRAGMA, transactions')
    .option('--preset <name>', 'an ADS query by name (see --list-presets)')
    .option('--date <YYYY-MM-DD>', 'business day of a preset (default mock.date from rtwh.toml / RTWH_MOCK_DATE)')
    .option('--top <N>', 'rows of a ranking preset (gmv_by_*, channel_top, keyword_scores)')
    .option('--list-presets', 'list the ADS presets, their parameters and tables')
    .option('--show-sql', 'with --preset: print the SQL it runs instead of running it')
    .addOption(formatOption())
    .addOption(maxWidthOption())
    .addHelpText(
      'after',
      '\nWhile `rtwh run dws` holds the warehouse file (DuckDB allows one process per file), the query is sent to that job\n' +
        '(its endpoint is in <warehouse>.endpoint, on 127.0.0.1 with a token), with the same read-only rule.\n' +
        '\nExamples:\n  rtwh query "select 42 as answer" --format json\n  rtwh query "show tables"\n' +
        '  rtwh query --preset gmv --date 2025-01-14 --sink mysql://root:…@127.0.0.1:3306/gmall_dws\n  rtwh query --list-presets\n  rtwh query --preset gmv_by_province --date 2025-01-14\n  rtwh query --preset channel_top --date 2025-01-14 --top 5 -f csv',
    )
    .action(async (sqlArg: string | undefined, opts: QueryOpts, cmd: Command) => {
      if (opts.listPresets) return listPresets(ctx, cmd, opts, sqlArg);
      if (opts.preset !== undefined) return preset(ctx, cmd, opts, sqlArg);
      for (const [flag, v] of [['--date', opts.date], ['--top', opts.top], ['--show-sql', opts.showSql]] as const) {
        if (v !== undefined) throw rtwhError('USAGE', `${flag} belongs to --preset NAME; no preset was given`, { hint: 'List the presets with `rtwh query --list-presets`.' });
      }
      if (sqlArg !== undefined && opts.file !== undefined) {
        throw rtwhError('USAGE', `both SQL ${q(sqlArg.length > 40 ? `${sqlArg.slice(0, 40)}…` : sqlArg)} and --file ${q(opts.file)} given: expected one of them`);
      }
      const sql = sqlArg ?? (opts.file ? await readSqlFile(resolve(ctx.io.cwd, opts.file), opts.file) : undefined);
      if (!sql || !sql.trim()) throw rtwhError('USAGE', 'no SQL given: pass it as an argument or with --file');
      const mysql = mysqlSink(opts);
      if (mysql !== undefined) {
        const result = await queryMysql(mysql, sql, { allowWrite: Boolean(opts.allowWrite) });
        printTable(ctx, cmd, opts.format, result.columns.map((c) => [c.name, c.type]), result.rows as unknown[][], printOptions(opts));
        return;
      }
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
      const db = await openWarehouse(path, { readOnly: !opts.allowWrite && path !== ':memory:', allowWrite: Boolean(opts.allowWrite) });
      try {
        // Checked against the real catalog, before anything runs.
        if (!opts.allowWrite) await assertReadOnly(db, sql);
        const result = await db.query(sql);
        printTable(ctx, cmd, opts.format, result.columns.map((c) => [c.name, c.type]), result.rows as unknown[][], printOptions(opts));
      } finally {
        db.close();
      }
    });
}

function listPresets(ctx: Ctx, cmd: Command, opts: QueryOpts, sqlArg: string | undefined): void {
  if (sqlArg !== undefined || opts.preset !== undefined || opts.file !== undefined) {
    throw rtwhError('USAGE', '--list-presets takes no SQL, --file or --preset');
  }
  const rows = PRESETS.map((p) => [
    p.name,
    p.top ? `--date D [--top N${p.top.default === undefined ? '' : `, default ${p.top.default}`}]` : '--date D',
    p.description,
    p.columns,
    p.tables.join(', '),
  ]);
  printTable(ctx, cmd, opts.format, [['preset', 'VARCHAR'], ['parameters', 'VARCHAR'], ['description', 'VARCHAR'], ['rows', 'VARCHAR'], ['tables', 'VARCHAR']], rows, printOptions(opts));
}

async function preset(ctx: Ctx, cmd: Command, opts: QueryOpts, sqlArg: string | undefined): Promise<void> {
  if (sqlArg !== undefined || opts.file !== undefined) throw rtwhError('USAGE', 'give either SQL (or --file) or --preset NAME, not both');
  if (opts.allowWrite) throw rtwhError('USAGE', '--allow-write does not apply to a preset: presets only read');
  const { config } = ctx.config(cmd);
  const bound = bindPreset(opts.preset ?? '', { date: opts.date ?? config.mock.date, top: opts.top });
  if (opts.showSql) {
    ctx.out(`-- ${bound.preset.name} (${bound.preset.description})\n${bound.sql};`);
    return;
  }
  const mysql = mysqlSink(opts);
  if (mysql !== undefined) {
    const result = await presetFromMysql(mysql, bound);
    printTable(ctx, cmd, opts.format, result.columns.map((c) => [c.name, c.type]), result.rows as unknown[][], printOptions(opts));
    return;
  }
  const given = config.duckdb.path;
  const path = given === ':memory:' ? ':memory:' : resolve(ctx.io.cwd, given);
  if (path !== ':memory:' && !existsSync(path)) throw noWarehouse(bound, given);
  const db = await openWarehouse(path, { readOnly: path !== ':memory:', allowWrite: false });
  try {
    const result = await runPreset(db, bound, path === ':memory:' ? 'the in-memory database' : `the warehouse ${q(given)}`);
    printTable(ctx, cmd, opts.format, result.columns.map((c) => [c.name, c.type]), result.rows as unknown[][], printOptions(opts));
  } finally {
    db.close();
  }
}

function noWarehouse(bound: BoundPreset, given: string) {
  const tables = bound.preset.tables;
  return rtwhError(
    'DWS_TABLE_NOT_FOUND',
    `preset ${bound.preset.name} needs the DWS ${tables.length === 1 ? 'table' : 'tables'} ${tables.join(', ')}, but there is no warehouse at ${q(given)}`,
    { details: { preset: bound.preset.name, missing: [...tables], warehouse: given } },
  );
}

async function readSqlFile(path: string, given: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (e) {
    throw rtwhError('USAGE', `cannot read --file ${q(given)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
