/** `rtwh mock …`: the group; each subcommand lives in its own file. */
import type { Command } from 'commander';
import type { Ctx } from './context';
import { registerMockDb } from './mock-db';
import { registerMockLog } from './mock-log';
import { registerMockDate } from './mock-date';

export function registerMock(program: Command, ctx: Ctx): void {
  const mock = program
    .command('mock')
    .description('Generate gmall mock data: business DB changes, app logs, the mock business date')
    .addHelpText('after', '\nExamples:\n  rtwh mock db --date 2025-01-14 --init\n  rtwh mock db --date 2025-01-14 --to ods_db\n  rtwh mock log --date 2025-01-14 --out applog/\n  rtwh mock date 2025-01-14');
  registerMockDb(mock, ctx);
  registerMockLog(mock, ctx);
  registerMockDate(mock, ctx);
}
