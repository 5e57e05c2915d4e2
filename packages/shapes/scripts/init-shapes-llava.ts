/**
 * Writes examples/shapes-llava: the untrained shapes-llava model (src/shapes-llava.ts) with its
 * word-level tokenizer, ready for `adsc train` to train and `adsc eval` to evaluate.
 *
 *   npx tsx packages/shapes/scripts/init-shapes-llava.ts [OUT_DIR] [--seed S]
 *
 * The JSON files are committed; model.safetensors (f32 random weights) is not: this script
 * regenerates it, the same bytes for the same seed (default 0).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { shapesVocabulary, writeShapesLlava } from '../src/index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const { values, positionals } = parseArgs({ options: { seed: { type: 'string', default: '0' } }, allowPositionals: true });
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
  console.error(`error: Usage: --seed must be an integer in [0, 4294967295], got ${JSON.stringify(values.seed)}`);
  process.exit(2);
}
const out = positionals[0] ?? join(ROOT, 'examples/shapes-llava');
const parameters = writeShapesLlava(out, seed);
console.log(`wrote ${out}: ${parameters.toLocaleString('en-US')} parameters (f32, seed ${seed}), vocabulary of ${shapesVocabulary().length} tokens`);
