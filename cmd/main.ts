#!/usr/bin/env bun
/** The rtwh executable: wires runCli to the real process. */
import { runCli } from './cli';

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
  columns: process.stdout.columns,
});
// Exit explicitly (client libraries may hold sockets open) once stdout has been flushed.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
