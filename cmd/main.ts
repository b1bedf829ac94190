#!/usr/bin/env bun
/** The rtwh executable: wires runCli to the real process. */
import { runCli } from './cli';

// `rtwh mock log | head`: once the reader is gone there is nobody to write for; stop quietly like other CLIs.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// Writes to stdout not yet handed to the OS. A pipe takes 64 KiB at a time: the rest of a big write waits in the
// stream, and an exit before it is written cuts the output (`rtwh query … | wc -c` gave 65,536 of 3.7 MB, exit 0).
let unflushed = 0;
let flushed: (() => void) | undefined;
const write = (chunk: string | Uint8Array): boolean => {
  unflushed++;
  return process.stdout.write(chunk, () => {
    if (--unflushed === 0) flushed?.();
  });
};

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => write(s),
  stdoutBytes: (b) =>
    new Promise<void>((resolve) => {
      if (write(b)) resolve();
      else process.stdout.once('drain', resolve);
    }),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
  columns: process.stdout.columns,
});
// Exit explicitly (client libraries may hold sockets open) once everything written to stdout is out.
if (unflushed > 0) await new Promise<void>((resolve) => (flushed = resolve));
process.exit(code);
