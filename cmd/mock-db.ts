/** `rtwh mock db` and `rtwh mock init`. */
import type { Command } from 'commander';
import type { Ctx } from './context';
import { ODS, planned } from './planned';

export function registerMockDb(mock: Command, _ctx: Ctx): void {
  planned(mock, 'db', 'Write one business day of gmall orders, payments, refunds… into MySQL, or as Maxwell JSON onto ods_db (--to)', ODS,
    'Planned flags: --date YYYY-MM-DD, --init, --seed N, --to TOPIC');
}
