/**
 * The `adsc` command line. One file per command; this one only dispatches and turns every failure
 * into one line on stderr with exit code 2.
 *
 *   adsc inspect PATH [--json] [--tensor NAME]
 */
import { parseArgs } from 'node:util';
import { UsageError, errorLine } from './errors.js';
import { inspect } from './inspect.js';

const USAGE = `usage:
  adsc inspect PATH [--json] [--tensor NAME]   list a .safetensors file or model directory`;

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out = (l: string) => console.log(l), err = (l: string) => console.error(l)): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'inspect': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { json: { type: 'boolean', default: false }, tensor: { type: 'string' } },
          allowPositionals: true,
        });
        if (positionals.length !== 1) throw new UsageError('adsc inspect takes exactly one PATH');
        inspect(positionals[0], { json: values.json, tensor: values.tensor }, out);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (adsc help lists the commands)`);
    }
  } catch (e) {
    err(errorLine(e));
    return 2;
  }
}
