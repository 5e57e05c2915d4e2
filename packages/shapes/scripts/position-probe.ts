/**
 * Does a vision token say where it is? Fits linear classifiers (ridge-probe.ts) from each projected
 * vision token (the decoder's input from the image) to its patch's row, its column and the patch
 * itself, on the tokens of the first two thirds of a Shapes set's images, and prints their
 * accuracy on the last third (chance 1/12 and 1/144 on a 12 x 12 grid), for every token and for the tokens
 * whose patch centre is on an object.
 *
 * The decoder's only other source of position is RoPE over the flattened grid, where "above" is a
 * sign (an object above is 12 or more positions earlier) and "left" is not (an object to the left
 * may be a few positions earlier or a row's worth later). If the tokens carry their column as well
 * as their row, "left" needs no more than "above" (docs/shapes.md, section 3i).
 *
 *   npx tsx packages/shapes/scripts/position-probe.ts MODEL_DIR DATA_DIR [--count N] [--ridge L]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad } from '@adsc/core';
import { Llava, readImage } from '@adsc/model';
import { centreOnObject, probe } from './ridge-probe.js';

const { values, positionals } = parseArgs({ options: { count: { type: 'string', default: '60' }, ridge: { type: 'string', default: '1' } }, allowPositionals: true });
const [dir, data] = positionals;
if (!dir || !data) {
  console.error('usage: position-probe.ts MODEL_DIR DATA_DIR [--count N] [--ridge L]');
  process.exit(2);
}
const model = Llava.load(dir);
const records = (JSON.parse(readFileSync(join(data, 'questions.json'), 'utf8')) as { image: string }[]).slice(0, Number(values.count));
const patch = model.config.vision.patchSize;
const grid = model.config.vision.imageSize / patch;
const classes = Array.from({ length: grid }, (_, i) => String(i));
const cells = Array.from({ length: grid * grid }, (_, i) => String(i));

// One row per token, images in order, so that the split by image is a split by row index.
const rows: number[][] = [];
const row: string[] = [];
const column: string[] = [];
const cell: string[] = [];
const onObject: boolean[] = [];
for (const r of records) {
  const image = readImage(join(data, r.image));
  const features = noGrad(() => model.encodeImage(model.pixels(image))).toFloat32Array(); // [tokens * width]
  const width = features.length / (grid * grid);
  for (let t = 0; t < grid * grid; t++) {
    rows.push(Array.from(features.subarray(t * width, (t + 1) * width)));
    row.push(String(Math.floor(t / grid)));
    column.push(String(t % grid));
    cell.push(String(t));
    onObject.push(centreOnObject(image, t, grid, patch));
  }
}

const split = Math.floor((records.length * 2) / 3) * grid * grid;
console.log(`${records.length} images, ${rows.length} tokens; fitted on the first ${split}, scored on ${rows.length - split}; chance ${(100 / grid).toFixed(1)} % (patch: ${(100 / grid / grid).toFixed(1)} %)`);
for (const [name, keep] of [['every token', () => true], ['object tokens', (i: number) => onObject[i]]] as const) {
  const index = rows.map((_, i) => i).filter(keep);
  const cut = index.filter((i) => i < split).length;
  for (const [what, labels, names] of [['row', row, classes], ['column', column, classes], [`patch (of ${grid * grid})`, cell, cells]] as const) {
    const accuracy = probe(index.map((i) => rows[i]), index.map((i) => labels[i]), names, cut, Number(values.ridge));
    console.log(`${name}, ${what}: ${(100 * accuracy).toFixed(1)} %`);
  }
}
