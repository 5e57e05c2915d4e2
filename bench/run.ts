/**
 * `pnpm bench [suite ...] [--quick]`: runs the tinybench suites in this folder and prints their
 * tables. Each suite is a `*.bench.ts` module whose default export runs it and prints its results.
 * With no names, every suite runs; `--quick` shortens each measurement (for smoke runs in CI).
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface SuiteOptions {
  /** Short measurements: numbers are rough, for checking that a suite runs. */
  quick: boolean;
}

const { values, positionals } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, allowPositionals: true });
const here = new URL('.', import.meta.url);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const chosen = positionals.length > 0 ? positionals : suites;
for (const name of chosen) {
  if (!suites.includes(name)) {
    console.error(`error: no bench suite "${name}" (have: ${suites.join(', ')})`);
    process.exit(2);
  }
}
for (const name of chosen) {
  console.log(`\n## ${name}\n`);
  const suite = (await import(new URL(`./${name}.bench.ts`, here).href)) as { default: (o: SuiteOptions) => Promise<void> };
  await suite.default({ quick: values.quick });
}
