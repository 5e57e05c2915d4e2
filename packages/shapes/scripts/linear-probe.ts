/**
 * Is the answer in what the decoder gets? Fits a linear classifier (ridge regression onto one-hot
 * answers) to the mean of a record's projected vision tokens, the decoder's input from the image,
 * on the first two thirds of a Shapes set, and prints its accuracy on the last third, next to the
 * share of the most frequent answer. Two poolings: every token, and only the tokens whose patch
 * centre is not background (where the object is).
 *
 * A probe well above chance while the model itself answers at chance means the information reaches
 * the decoder and the decoder has not learned to use it (docs/shapes.md, section 3c).
 *
 *   npx tsx packages/shapes/scripts/linear-probe.ts MODEL_DIR DATA_DIR [--count N] [--ridge L]
 *
 * Use a set of one question type (`adsc data shapes --types shape ...`): the answers are the classes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad } from '@adsc/core';
import { Llava, readImage } from '@adsc/model';
import { centreOnObject, probe } from './ridge-probe.js';

const { values, positionals } = parseArgs({ options: { count: { type: 'string', default: '600' }, ridge: { type: 'string', default: '1' } }, allowPositionals: true });
const [dir, data] = positionals;
if (!dir || !data) {
  console.error('usage: linear-probe.ts MODEL_DIR DATA_DIR [--count N] [--ridge L]');
  process.exit(2);
}
const model = Llava.load(dir);
const records = (JSON.parse(readFileSync(join(data, 'questions.json'), 'utf8')) as { image: string; conversations: { value: string }[] }[]).slice(0, Number(values.count));
const answers = records.map((r) => r.conversations[1].value);
const classes = [...new Set(answers)].sort();
const patch = model.config.vision.patchSize;
const grid = model.config.vision.imageSize / patch;

const pooled: Record<'every token' | 'object tokens', number[][]> = { 'every token': [], 'object tokens': [] };
for (const r of records) {
  const image = readImage(join(data, r.image));
  const features = noGrad(() => model.encodeImage(model.pixels(image))).toFloat32Array(); // [tokens * width]
  const width = features.length / (grid * grid);
  const all = new Array<number>(width).fill(0);
  const object = new Array<number>(width).fill(0);
  let objectTokens = 0;
  for (let t = 0; t < grid * grid; t++) {
    const isObject = centreOnObject(image, t, grid, patch);
    if (isObject) objectTokens++;
    for (let d = 0; d < width; d++) {
      all[d] += features[t * width + d] / (grid * grid);
      if (isObject) object[d] += features[t * width + d];
    }
  }
  pooled['every token'].push(all);
  pooled['object tokens'].push(object.map((v) => v / Math.max(objectTokens, 1)));
}

const split = Math.floor((records.length * 2) / 3);
const heldOut = answers.slice(split);
const majority = Math.max(...classes.map((c) => heldOut.filter((a) => a === c).length)) / heldOut.length;
console.log(`${records.length} records, ${classes.length} answers (${classes.join(', ')}); fitted on ${split}, scored on ${heldOut.length}`);
console.log(`most frequent answer: ${(100 * majority).toFixed(1)} %`);
for (const [name, rows] of Object.entries(pooled)) {
  const accuracy = probe(rows, answers, classes, split, Number(values.ridge));
  console.log(`linear probe on the mean of ${name}: ${(100 * accuracy).toFixed(1)} %`);
}
