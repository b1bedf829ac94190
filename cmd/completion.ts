/** `rtwh completion bash|zsh|fish`: scripts generated from the live command tree. */
import { Argument, type Command } from 'commander';
import { q, rtwhError } from '../src/errors';
import { completionScript, SHELLS, type CompletionNode, type Shell } from '../src/cli/completion';
import type { Ctx } from './context';

export function registerCompletion(program: Command, ctx: Ctx): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'bash | zsh | fish').choices(SHELLS))
    .addHelpText(
      'after',
      '\nInstall:\n  bash:  source <(rtwh completion bash)          # or save to /etc/bash_completion.d/rtwh\n  zsh:   rtwh completion zsh > "${fpath[1]}/_rtwh"\n  fish:  rtwh completion fish > ~/.config/fish/completions/rtwh.fish',
    )
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw rtwhError('USAGE', `unknown shell ${q(shell)}: expected one of ${SHELLS.join(', ')}`);
      }
      ctx.io.stdout(completionScript(shell as Shell, toTree(program)));
    });
}

/** commander's tree → the plain description the generator needs. */
export function toTree(cmd: Command): CompletionNode {
  // Hidden options (test and benchmark switches) are left out, as --help leaves them out.
  const options = cmd.options.filter((o) => !o.hidden).map((o) => {
    const flags = [o.short, o.long].filter((f): f is string => Boolean(f));
    const takesValue = o.required || o.optional;
    const values = o.argChoices ?? (/<file>|<path>/.test(o.flags) ? ('file' as const) : undefined);
    return { flags, description: o.description, takesValue, ...(values ? { values } : {}) };
  });
  options.push({ flags: ['-h', '--help'], description: 'display help', takesValue: false });
  const first = cmd.registeredArguments[0];
  const argValues = first?.argChoices ?? (first && /file|path/.test(first.name()) ? ('file' as const) : undefined);
  return {
    name: cmd.name(),
    description: cmd.description(),
    options,
    commands: cmd.commands.filter((c) => c.name() !== 'help').map(toTree),
    ...(argValues ? { argValues } : {}),
  };
}
