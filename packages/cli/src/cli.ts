// Entry point of the `adsc` executable (bin/adsc.mjs and `pnpm adsc` load this file).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
