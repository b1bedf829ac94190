/**
 * Shell completion scripts generated from the command tree, so they never drift from the CLI.
 * The tree is a plain description (built from commander in cmd/completion.ts); this file knows no commander.
 */

export interface CompletionOption {
  /** e.g. ['-o', '--offset'] */
  flags: string[];
  description: string;
  takesValue: boolean;
  /** Known values (enums); 'file' completes file names. */
  values?: readonly string[] | 'file';
}

export interface CompletionNode {
  name: string;
  description: string;
  options: CompletionOption[];
  commands: CompletionNode[];
  /** Choices of the first positional argument, if fixed. */
  argValues?: readonly string[] | 'file';
}

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

interface Flat {
  path: string; // "rtwh topics create"
  node: CompletionNode;
}

function flatten(root: CompletionNode): Flat[] {
  const out: Flat[] = [];
  const walk = (n: CompletionNode, path: string) => {
    out.push({ path, node: n });
    for (const c of n.commands) walk(c, `${path} ${c.name}`);
  };
  walk(root, root.name);
  return out;
}

/** Single-quote for POSIX shells. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function fn(root: CompletionNode): string {
  return `_${root.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const allFlags = (n: CompletionNode) => n.options.flatMap((o) => o.flags);
const valueFlags = (n: CompletionNode) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags);

/** Shared by bash and zsh: shell functions answering questions about a command path. */
function tables(root: CompletionNode): string {
  const flat = flatten(root);
  const f = fn(root);
  const cases = (pick: (x: Flat) => string) =>
    flat
      .map((x) => [x.path, pick(x)] as const)
      .filter(([, v]) => v !== '')
      .map(([p, v]) => `    ${sq(p)}) echo ${sq(v)} ;;`)
      .join('\n');
  const valueCases: string[] = [];
  for (const x of flat) {
    for (const o of x.node.options) {
      if (!o.values) continue;
      for (const flag of o.flags) valueCases.push(`    ${sq(`${x.path}|${flag}`)}) echo ${sq(o.values === 'file' ? '@file' : o.values.join(' '))} ;;`);
    }
    if (x.node.argValues) valueCases.push(`    ${sq(`${x.path}|`)}) echo ${sq(x.node.argValues === 'file' ? '@file' : x.node.argValues.join(' '))} ;;`);
  }
  return `${f}_subs() {
  case "$1" in
${cases((x) => x.node.commands.map((c) => c.name).join(' '))}
  esac
}
${f}_opts() {
  case "$1" in
${cases((x) => allFlags(x.node).join(' '))}
  esac
}
${f}_valopts() {
  case "$1" in
${cases((x) => valueFlags(x.node).join(' '))}
  esac
}
${f}_values() {
  case "$1" in
${valueCases.join('\n')}
  esac
}
# Walks the words before the cursor: the command path, and whether the previous word wants a value.
${f}_path() {
  local path=${sq(root.name)} skip=0 w
  for w in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      -*) case " $(${f}_valopts "$path") " in *" $w "*) skip=1 ;; esac ;;
      *) case " $(${f}_subs "$path") " in *" $w "*) path="$path $w" ;; esac ;;
    esac
  done
  echo "$path"
}`;
}

function bash(root: CompletionNode): string {
  const f = fn(root);
  return `# bash completion for ${root.name}: source it, or save it as /etc/bash_completion.d/${root.name}
#   source <(${root.name} completion bash)
${tables(root)}
${f}() {
  local cur prev path vals
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  path=$(${f}_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  case " $(${f}_valopts "$path") " in
    *" $prev "*)
      vals=$(${f}_values "$path|$prev")
      if [ "$vals" = "@file" ] || [ -z "$vals" ]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=($(compgen -W "$vals" -- "$cur")); fi
      return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(${f}_opts "$path")" -- "$cur"))
    return 0
  fi
  vals="$(${f}_subs "$path")"
  [ -z "$vals" ] && vals=$(${f}_values "$path|")
  if [ "$vals" = "@file" ]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=($(compgen -W "$vals" -- "$cur")); fi
  return 0
}
complete -o default -F ${f} ${root.name}
`;
}

function zsh(root: CompletionNode): string {
  const f = fn(root);
  const flat = flatten(root);
  const descCases = flat
    .filter((x) => x.node.commands.length > 0)
    .map((x) => `    ${sq(x.path)}) reply=(${x.node.commands.map((c) => sq(`${c.name}:${c.description.replace(/:/g, '\\:')}`)).join(' ')}) ;;`)
    .join('\n');
  return `#compdef ${root.name}
# zsh completion for ${root.name}: put it on $fpath as _${root.name}, or
#   source <(${root.name} completion zsh)
${tables(root)}
${f}_described() {
  reply=()
  case "$1" in
${descCases}
  esac
}
${f}() {
  local cur prev path vals
  local -a reply subs
  cur="\${words[CURRENT]}"
  prev="\${words[CURRENT-1]}"
  path=$(${f}_path "\${(@)words[2,CURRENT-1]}")
  if [[ " $(${f}_valopts "$path") " == *" $prev "* ]]; then
    vals=$(${f}_values "$path|$prev")
    if [[ "$vals" == "@file" || -z "$vals" ]]; then _files; else compadd -- \${=vals}; fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    compadd -- $(${f}_opts "$path")
    return
  fi
  ${f}_described "$path"
  if (( \${#reply} )); then
    subs=("\${reply[@]}")
    _describe -t commands 'command' subs
    return
  fi
  vals=$(${f}_values "$path|")
  if [[ "$vals" == "@file" ]]; then _files; elif [[ -n "$vals" ]]; then compadd -- \${=vals}; fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then ${f} "$@"; else compdef ${f} ${root.name}; fi
`;
}

function fish(root: CompletionNode): string {
  const f = `__fish_${root.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const flat = flatten(root);
  const lines: string[] = [
    `# fish completion for ${root.name}: save as ~/.config/fish/completions/${root.name}.fish, or`,
    `#   ${root.name} completion fish | source`,
    `complete -c ${root.name} -f`,
    `function ${f}_path`,
    `    set -l tokens (commandline -opc)`,
    `    set -l path ${root.name}`,
    `    set -l skip 0`,
    `    for w in $tokens[2..-1]`,
    `        if test $skip = 1; set skip 0; continue; end`,
    `        switch $w`,
    `            case '--*=*'`,
    `            case '-*'`,
    `                if contains -- $w (${f}_valopts $path); set skip 1; end`,
    `            case '*'`,
    `                if contains -- $w (${f}_subs $path); set path "$path $w"; end`,
    `        end`,
    `    end`,
    `    echo $path`,
    `end`,
    `function ${f}_subs`,
    `    switch "$argv[1]"`,
    ...flat.filter((x) => x.node.commands.length).map((x) => `        case ${sq(x.path)}; printf '%s\\n' ${x.node.commands.map((c) => sq(c.name)).join(' ')}`),
    `    end`,
    `end`,
    `function ${f}_valopts`,
    `    switch "$argv[1]"`,
    ...flat.filter((x) => valueFlags(x.node).length).map((x) => `        case ${sq(x.path)}; printf '%s\\n' ${valueFlags(x.node).map(sq).join(' ')}`),
    `    end`,
    `end`,
    `function ${f}_at; test (${f}_path) = (string join " " -- $argv); end`,
  ];
  for (const x of flat) {
    const cond = `"${f}_at ${x.path.replace(/"/g, '')}"`;
    for (const c of x.node.commands) lines.push(`complete -c ${root.name} -n ${cond} -a ${sq(c.name)} -d ${sq(c.description)}`);
    if (x.node.argValues && x.node.argValues !== 'file') lines.push(`complete -c ${root.name} -n ${cond} -a ${sq(x.node.argValues.join(' '))}`);
    if (x.node.argValues === 'file') lines.push(`complete -c ${root.name} -n ${cond} -F`);
    for (const o of x.node.options) {
      const parts = [`complete -c ${root.name} -n ${cond}`];
      for (const fl of o.flags) parts.push(fl.startsWith('--') ? `-l ${fl.slice(2)}` : `-s ${fl.slice(1)}`);
      if (o.takesValue) parts.push(o.values && o.values !== 'file' ? `-x -a ${sq(o.values.join(' '))}` : o.values === 'file' ? '-r -F' : '-x');
      parts.push(`-d ${sq(o.description)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, root: CompletionNode): string {
  switch (shell) {
    case 'bash':
      return bash(root);
    case 'zsh':
      return zsh(root);
    case 'fish':
      return fish(root);
  }
}
