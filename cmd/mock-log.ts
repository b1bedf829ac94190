/** `rtwh mock log`. */
import type { Command } from 'commander';
import type { Ctx } from './context';
import { ODS, planned } from './planned';

export function registerMockLog(mock: Command, _ctx: Ctx): void {
  planned(mock, 'log', 'Write one day of app logs (start, page, displays, actions, err) to files or onto ods_log', ODS,
    'Planned flags: --date YYYY-MM-DD, --out DIR | --to TOPIC, --seed N, --format 2022|2023');
}
