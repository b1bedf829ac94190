/**
 * The completion scripts are run by the real shells: bash with COMP_WORDS, fish with `complete -C`,
 * zsh with its completion builtins replaced by recorders (zsh's completion widgets need a terminal).
 */
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';

async function script(shell: string): Promise<string> {
  const r = await cli(['completion', shell]);
  expect(r.code).toBe(0);
  const p = join(tempDir(), `rtwh.${shell}`);
  writeFileSync(p, r.stdout);
  return p;
}

function sh(cmd: string[], input?: string): string {
  const r = Bun.spawnSync(cmd, { stdin: input === undefined ? 'ignore' : Buffer.from(input), stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Words before the cursor + the word being completed → what bash offers. */
function bashComplete(file: string, words: string[]): string[] {
  const arr = words.map((w) => `'${w}'`).join(' ');
  const out = sh(['bash', '--norc', '--noprofile', '-c', `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _rtwh; printf '%s\\n' "\${COMPREPLY[@]}"`]);
  return out.split('\n').filter(Boolean).sort();
}

describe('bash', () => {
  test('top-level commands', async () => {
    const f = await script('bash');
    expect(bashComplete(f, ['rtwh', ''])).toEqual(
      ['cdc', 'completion', 'config', 'demo', 'groups', 'mock', 'query', 'run', 'serve', 'ship', 'tail', 'topics'].sort(),
    );
    expect(bashComplete(f, ['rtwh', 'to'])).toEqual(['topics']);
  });

  test('subcommands, after a global flag with a value', async () => {
    const f = await script('bash');
    expect(bashComplete(f, ['rtwh', '--bus', 'sqlite:x.db', 'topics', ''])).toEqual(['create', 'delete', 'describe', 'list']);
    expect(bashComplete(f, ['rtwh', 'run', 'd'])).toEqual(['dim', 'dwd', 'dws']);
  });

  test('options of the current command and enum values', async () => {
    const f = await script('bash');
    expect(bashComplete(f, ['rtwh', 'topics', 'create', '--p'])).toEqual(['--partitions']);
    expect(bashComplete(f, ['rtwh', 'query', '--format', ''])).toEqual(['box', 'csv', 'json', 'jsonl', 'markdown'].sort());
    expect(bashComplete(f, ['rtwh', 'completion', ''])).toEqual(['bash', 'fish', 'zsh']);
  });
});

describe('fish', () => {
  test('commands with descriptions, subcommands, option values', async () => {
    const f = await script('fish');
    const complete = (line: string) =>
      sh(['fish', '--no-config', '-c', `source '${f}'; complete -C '${line}'`])
        .split('\n')
        .filter(Boolean);
    const top = complete('rtwh ');
    expect(top.map((l) => l.split('\t')[0]).sort()).toContain('topics');
    expect(top.find((l) => l.startsWith('topics\t'))).toContain('List, create');
    expect(complete('rtwh topics ').map((l) => l.split('\t')[0]).sort()).toEqual(['create', 'delete', 'describe', 'list']);
    expect(complete('rtwh query --format ').map((l) => l.split('\t')[0]).sort()).toEqual(['box', 'csv', 'json', 'jsonl', 'markdown']);
  });
});

describe('zsh', () => {
  test('parses, and its completion function offers the right words', async () => {
    const f = await script('zsh');
    sh(['zsh', '-n', f]);
    // Stand-ins for zsh's completion builtins that print what they are given.
    const harness = (words: string[]) => `
      compdef() { : }
      _describe() { local -a arr; arr=("\${(@P)4}"); printf '%s\\n' "\${arr[@]%%:*}" }
      compadd() { [[ "$1" == -- ]] && shift; printf '%s\\n' "$@" }
      _files() { echo '<files>' }
      source '${f}'
      words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}
      _rtwh`;
    const run = (words: string[]) => sh(['zsh', '-f', '-c', harness(words)]).split('\n').filter(Boolean).sort();
    expect(run(['rtwh', ''])).toContain('topics');
    expect(run(['rtwh', 'groups', ''])).toEqual(['describe', 'list']);
    expect(run(['rtwh', 'query', '--format', ''])).toEqual(['box', 'csv', 'json', 'jsonl', 'markdown']);
    expect(run(['rtwh', 'query', '--config', ''])).toEqual(['<files>']);
  });
});

test('the flags offered are the ones --help lists: hidden test switches are not', async () => {
  const f = await script('bash');
  const offered = bashComplete(f, ['rtwh', 'cdc', '--']);
  expect(offered).toContain('--client-id');
  expect(offered).not.toContain('--max-rows');
  expect(offered).not.toContain('--batch-records');
  for (const shell of ['bash', 'zsh', 'fish']) expect((await cli(['completion', shell])).stdout).not.toContain('max-rows');
});

test('an unknown shell is a usage error naming it', async () => {
  const r = await cli(['completion', 'tcsh']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('tcsh');
});
