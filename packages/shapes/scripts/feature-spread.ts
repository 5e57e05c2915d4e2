/**
 * Whether a model's vision features still tell images apart: for the projected features
 * (`encodeImage`, [144, d]) of the first images of a Shapes set, prints their root-mean-square
 * size, how far two images' features are apart (relative to that size, mean over pairs 0-1, 2-3,
 * ...), and how far the tokens of one image spread around their mean (relative). A vision pathway
 * that collapsed to a large constant shows a growing size and shrinking differences
 * (docs/shapes.md, section 3b).
 *
 *   npx tsx packages/shapes/scripts/feature-spread.ts IMAGES_DIR MODEL_DIR [MODEL_DIR ...] [--pairs N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad } from '@adsc/core';
import { Llava, readImage } from '@adsc/model';

const { values, positionals } = parseArgs({ options: { pairs: { type: 'string', default: '4' } }, allowPositionals: true });
const [images, ...models] = positionals;
if (!images || models.length === 0) {
  console.error('usage: feature-spread.ts IMAGES_DIR MODEL_DIR [MODEL_DIR ...] [--pairs N]');
  process.exit(2);
}
const pairs = Number(values.pairs);
const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

for (const dir of models) {
  const model = Llava.load(dir);
  const features = Array.from({ length: 2 * pairs }, (_, i) =>
    noGrad(() => model.encodeImage(model.pixels(readImage(join(images, `${String(i).padStart(6, '0')}.png`))))),
  );
  const [tokens, d] = features[0].shape;
  let size = 0;
  let between = 0;
  let spread = 0;
  for (let p = 0; p < pairs; p++) {
    const a = features[2 * p].toFloat32Array();
    const b = features[2 * p + 1].toFloat32Array();
    const s = rms(a);
    size += s / pairs;
    between += rms(a.map((v, i) => v - b[i])) / s / pairs;
    const mean = new Float32Array(d);
    for (let t = 0; t < tokens; t++) for (let c = 0; c < d; c++) mean[c] += a[t * d + c] / tokens;
    spread += rms(a.map((v, i) => v - mean[i % d])) / s / pairs;
  }
  console.log(`${dir}: size ${size.toPrecision(3)}, between images ${(100 * between).toFixed(1)} %, tokens around their mean ${(100 * spread).toFixed(1)} %`);
}
