/** `rtwh ship log`. */
import type { Command } from 'commander';
import type { Ctx } from './context';
import { ODS, planned } from './planned';

export function registerShip(program: Command, _ctx: Ctx): void {
  const ship = program.command('ship').description('Ship files onto the bus like Flume TAILDIR (positions survive restarts)');
  planned(ship, 'log', 'Tail app log files (rotation-aware) and produce each line to ods_log', ODS);
}
