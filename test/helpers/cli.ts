/** Runs the CLI in-process and captures what it prints. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../cmd/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; isTTY?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env: opts.env ?? {},
    cwd: opts.cwd ?? tempDir(),
    isTTY: opts.isTTY ?? false,
    columns: 120,
  });
  return { code, stdout, stderr };
}

export function tempDir(prefix = 'rtwh-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
