/**
 * Does each object token say what its object is? Fits linear classifiers (ridge-probe.ts) from
 * every projected vision token whose patch an object owns (`patchOwners`) to that object's shape
 * and colour, on the tokens of the first two thirds of a Shapes set's scenes (regenerated from its
 * seed and layout), and prints their accuracy on the last third, next to the most frequent label.
 *
 * On several objects every question finds an object by one word and reads another attribute of it
 * ("What colour is the circle?"), so the decoder's attention has to match the word against each
 * token. A token that carries its object's colour but not its shape can be found by colour only:
 * the mean of an object's tokens may name its shape (linear-probe.ts) while no single token does.
 *
 *   npx tsx packages/shapes/scripts/token-probe.ts MODEL_DIR SEED COUNT [OBJECTS] [SIZES] [--ridge L]
 *     (OBJECTS e.g. 1-3 and SIZES e.g. 42,56, as given to `adsc data shapes`; defaults 1-3 and 42,56)
 */
import { parseArgs } from 'node:util';
import { noGrad } from '@adsc/core';
import { Llava } from '@adsc/model';
import { COLOR_NAMES, SHAPES, generateShapes, patchOwners, renderScene } from '../src/index.js';
import { layoutOrExit } from './layout-args.js';
import { probe } from './ridge-probe.js';

const { values, positionals } = parseArgs({ options: { ridge: { type: 'string', default: '1' } }, allowPositionals: true });
const [dir, seedText, countText, objects = '1-3', sizes = '42,56'] = positionals;
if (!dir || !seedText || !countText) {
  console.error('usage: token-probe.ts MODEL_DIR SEED COUNT [OBJECTS] [SIZES] [--ridge L]');
  process.exit(2);
}
const layout = layoutOrExit(objects, sizes);
const model = Llava.load(dir);
const patch = model.config.vision.patchSize;
const records = generateShapes({ seed: Number(seedText), count: Number(countText), layout });

// One row per object token, scenes in order, so that a split by row index is a split by scene.
const rows: number[][] = [];
const shape: string[] = [];
const colour: string[] = [];
let split = 0;
records.forEach((r, i) => {
  if (i === Math.floor((records.length * 2) / 3)) split = rows.length;
  const features = noGrad(() => model.encodeImage(model.pixels(renderScene(r.scene)))).toFloat32Array(); // [tokens * width]
  const owners = patchOwners(r.scene, patch);
  const width = features.length / owners.length;
  owners.forEach((owner, t) => {
    if (owner < 0) return;
    rows.push(Array.from(features.subarray(t * width, (t + 1) * width)));
    shape.push(r.scene.objects[owner].shape);
    colour.push(r.scene.objects[owner].color);
  });
});

console.log(`${records.length} scenes, ${rows.length} object tokens; fitted on the first ${split}, scored on ${rows.length - split}`);
for (const [what, labels, classes] of [['shape', shape, [...SHAPES]], ['colour', colour, [...COLOR_NAMES]]] as const) {
  const heldOut = labels.slice(split);
  const majority = Math.max(...classes.map((c) => heldOut.filter((l) => l === c).length)) / heldOut.length;
  const accuracy = probe(rows, [...labels], [...classes], split, Number(values.ridge));
  console.log(`object token -> its ${what}: ${(100 * accuracy).toFixed(1)} % (most frequent ${(100 * majority).toFixed(1)} %)`);
}
