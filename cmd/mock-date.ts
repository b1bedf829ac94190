/** `rtwh mock date [YYYY-MM-DD]`. */
import type { Command } from 'commander';
import type { Ctx } from './context';
import { ODS, planned } from './planned';

export function registerMockDate(mock: Command, _ctx: Ctx): void {
  planned(mock, 'date', 'Show or set the mock business date (also in Maxwell / generator configs)', ODS);
}
