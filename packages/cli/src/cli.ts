// Entry point of the `adsc` executable (bin/adsc.mjs and `pnpm adsc` load this file).
import { errorLine } from './errors.js';
import { main } from './main.js';

// `adsc inspect DIR | head -1`: once the reader has gone, writing fails with EPIPE. That is the
// reader's choice, not an error: stop quietly instead of printing a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// main() turns what it throws into one line; this does the same for anything thrown outside it
// (a stream error, a failed worker), so no failure ends in a stack trace.
const fail = (error: unknown) => {
  process.stderr.write(`${errorLine(error)}\n`);
  process.exit(2);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

process.exitCode = await main(process.argv.slice(2));
