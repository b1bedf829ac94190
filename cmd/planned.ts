/**
 * Command groups whose work belongs to later issues. Their --help already describes what they will do;
 * running them says so plainly and exits with NOT_BUILT (exit 3). Nothing here pretends to work.
 */
import type { Command } from 'commander';
import { rtwhError } from '../src/errors';
import { withCommonFlags } from './context';

function notBuilt(what: string, arrivesWith: string): never {
  throw rtwhError('NOT_BUILT', `\`rtwh ${what}\` is not built yet; it arrives with ${arrivesWith}.`);
}

export function planned(parent: Command, name: string, summary: string, arrivesWith: string, extra = ''): Command {
  const full = `${parent.name() === 'rtwh' ? '' : `${parent.name()} `}${name.split(' ')[0]}`;
  return withCommonFlags(parent.command(name))
    .description(`${summary} (not built yet)`)
    .addHelpText('after', `${extra ? `\n${extra}\n` : ''}\nStatus: not built yet; it arrives with ${arrivesWith}. Running it exits with code 3.`)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(() => notBuilt(full, arrivesWith));
}

export const ODS = 'the ODS collection issue (mock db/log/date, ship log)';
const JOBS = {
  dim: 'the dimension-job issue',
  dwd: 'the detail-layer issue',
  dws: 'the summary-layer issue',
};

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('Run the warehouse jobs: dim (dimension sink), dwd (detail facts), dws (window aggregates)');
  planned(run, 'dim', 'Route dimension changes from ods_db into the dim store, driven live by table_process', JOBS.dim);
  planned(run, 'dwd', 'Split app logs and build the transaction fact streams', JOBS.dwd);
  planned(run, 'dws', 'Aggregate DWD streams in event-time windows into the OLAP store', JOBS.dws);
}

export function registerServe(program: Command): void {
  planned(program, 'serve', 'Dashboard, query API and /metrics over the warehouse, bound to 127.0.0.1', JOBS.dws);
}
