#!/usr/bin/env bun
/** The rtwh executable: wires runCli to the real process. */
import { runCli } from './cli';

// `rtwh mock log | head`: once the reader is gone there is nobody to write for; stop quietly like other CLIs.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stdoutBytes: (b) =>
    new Promise<void>((resolve) => {
      if (process.stdout.write(b)) resolve();
      else process.stdout.once('drain', resolve);
    }),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
  columns: process.stdout.columns,
});
// Exit explicitly (client libraries may hold sockets open) once stdout has been flushed.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
