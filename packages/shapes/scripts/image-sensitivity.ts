/**
 * Whether a model's answer depends on the image at all: asks one question about the first N images
 * of a Shapes set and prints the prefill logits of the candidate answers for each, and the largest
 * change of any logit between images. A model that answers from the question alone (the text-prior
 * shortcut of docs/shapes.md, section 3b) changes its logits by ~1e-4; one that reads the image, by
 * whole units.
 *
 *   npx tsx packages/shapes/scripts/image-sensitivity.ts MODEL_DIR IMAGES_DIR [--question TEXT] [--images N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Llava, LlavaTokenizer, formatPrompt, generate, readImage } from '@adsc/model';
import { ANSWERS } from '../src/index.js';

const { values, positionals } = parseArgs({
  options: { question: { type: 'string', default: 'How many red objects are there?' }, images: { type: 'string', default: '4' } },
  allowPositionals: true,
});
const [dir, images] = positionals;
if (!dir || !images) {
  console.error('usage: image-sensitivity.ts MODEL_DIR IMAGES_DIR [--question TEXT] [--images N]');
  process.exit(2);
}
const model = Llava.load(dir);
const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
const ids = tokenizer.encode(formatPrompt('llava-hf', values.question!, true));
const candidates = [...new Set(Object.values(ANSWERS).flat())];
const answerIds = candidates.map((a) => tokenizer.encode(a).slice(-1)[0]);
let lo: Float32Array | undefined;
let hi: Float32Array | undefined;
console.log(`"${values.question}"   ${candidates.join(' ')}`);
for (let i = 0; i < Number(values.images); i++) {
  const file = join(images, `${String(i).padStart(6, '0')}.png`);
  const logits = generate(model, ids, model.pixels(readImage(file)), { maxNewTokens: 1 }).prefillLogits as Float32Array;
  const row = Float32Array.from(answerIds, (id) => logits[id]);
  lo = lo ? lo.map((v, k) => Math.min(v, row[k])) : row.slice();
  hi = hi ? hi.map((v, k) => Math.max(v, row[k])) : row.slice();
  console.log(`${file}: ${Array.from(row, (v) => v.toFixed(3)).join(' ')}`);
}
console.log(`largest change of an answer's logit between images: ${Math.max(...hi!.map((v, k) => v - lo![k])).toExponential(2)}`);
