/**
 * Writes the untrained shapes-llava model (src/shapes-llava.ts) with its word-level tokenizer into
 * OUT_DIR, ready for `adsc train` to train (examples/shapes-llava/recipe.sh starts here) and
 * `adsc eval` to evaluate. The same bytes for the same seed (default 0).
 *
 *   npx tsx packages/shapes/scripts/init-shapes-llava.ts OUT_DIR [--seed S]
 *
 * examples/shapes-llava holds the trained weights, so OUT_DIR has no default.
 */
import { parseArgs } from 'node:util';
import { shapesVocabulary, writeShapesLlava } from '../src/index.js';

const { values, positionals } = parseArgs({ options: { seed: { type: 'string', default: '0' } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error('error: Usage: init-shapes-llava.ts OUT_DIR [--seed S]');
  process.exit(2);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
  console.error(`error: Usage: --seed must be an integer in [0, 4294967295], got ${JSON.stringify(values.seed)}`);
  process.exit(2);
}
const out = positionals[0];
const parameters = writeShapesLlava(out, seed);
console.log(`wrote ${out}: ${parameters.toLocaleString('en-US')} parameters (f32, seed ${seed}), vocabulary of ${shapesVocabulary().length} tokens`);
