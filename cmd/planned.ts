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

