/**
 * Where the answer position looks, layer by layer (docs/shapes.md, 3l). For "What shape is the
 * <colour> object?" on scenes of two objects, the last prompt token's attention probabilities in
 * every decoder layer (mean over heads) are summed over the patches of the named object, of the other
 * object (`patchOwners`), over the background patches and over the text tokens, and, of the text,
 * over the token of the named colour (the key word). Split by whether the named object comes first
 * in reading order. A decoder that selects by colour puts more mass on the named object in both
 * halves; one that reads the first object, on the first object in both.
 *
 * With --by shape the questions are "What color is the <shape>?" instead, which select by shape:
 * the named object is the one of that shape and the key word is the shape's.
 *
 * With --describe the same scenes are asked "What objects are there?" (describe.ts) with the first
 * word of the reply given, the colour that comes first: the position that reads that colour predicts
 * its object's shape, so the named object is the one of that colour (a decoder trained on the
 * describe question alone answers no shape question; 3m). There the colour token is the reading
 * position itself; in a question it is four tokens back, and a decoder that selects by colour must
 * first bring it forward (3n). With --by shape, "What shape objects are there?" with the first
 * shape given: the position that reads it predicts the colour of the object of that shape (3o).
 *
 *   npx tsx packages/shapes/scripts/object-attention.ts MODEL_DIR SEED COUNT [SIZES] [--describe] [--by color|shape]
 *
 * The scenes are COUNT "shape" questions (by shape: "color" questions) of `adsc data shapes --seed
 * SEED --objects 2 --types shape` (or `color`; SIZES default 42,56), generated in memory; the model
 * runs the reference attention in every layer.
 */
import { noGrad, type Tensor } from '@adsc/core';
import { Llava, LlavaTokenizer, NO_SCHEDULE, formatPrompt, range, type Schedule } from '@adsc/model';
import { parseArgs } from 'node:util';
import { DESCRIBE_QUESTIONS, describeScene, generateShapes, patchOwners, readingOrder, renderScene, type SceneObject } from '../src/index.js';
import { describeOrderOrExit, layoutOrExit } from './layout-args.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { describe: { type: 'boolean', default: false }, by: { type: 'string', default: 'color' } } });
const [dir, seedText, countText, sizes = '42,56'] = positionals;
if (!dir || !seedText || !countText) {
  console.error('usage: object-attention.ts MODEL_DIR SEED COUNT [SIZES] [--describe] [--by color|shape]');
  process.exit(2);
}
const describe = values.describe;
const by = describeOrderOrExit(values.by!);
/** The attribute that selects the named object: the question's word, or a description's first word. */
const key = (o: SceneObject) => (by === 'color' ? o.color : o.shape);
const layout = layoutOrExit('2', sizes);
const model = Llava.load(dir);
const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
const layers = model.config.text.numLayers;
const patch = model.config.vision.patchSize;
const PARTS = ['named', 'other', 'background', 'text', 'key word'] as const;
/** Sums over records of each layer's mass on each part, for named-first and named-second scenes. */
const sums = { first: zeroTable(), second: zeroTable() };
const counts = { first: 0, second: 0 };

function zeroTable(): number[][] {
  return Array.from({ length: layers }, () => PARTS.map(() => 0));
}

const questionType = by === 'color' ? 'shape' : 'color';
for (const r of generateShapes({ seed: Number(seedText), count: Number(countText), layout, types: [questionType] })) {
  if (r.question.type !== questionType) continue;
  // The word that selects: the question's, or the one a description starts with (the two objects
  // differ in it, since the question names one of them).
  const word = describe ? describeScene(r.scene, by).split(' ')[0] : r.question.type === 'shape' ? r.question.color : r.question.shape;
  const named = r.scene.objects.findIndex((o) => key(o) === word);
  const other = 1 - named;
  const half = readingOrder(r.scene, patch)[0] === r.scene.objects[named] ? 'first' : 'second';
  const owners = patchOwners(r.scene, patch);
  const keyToken = tokenizer.encodeContinuation(word);
  if (keyToken.length !== 1) throw new Error(`${dir}: the tokenizer spells "${word}" in ${keyToken.length} tokens, not one`);
  const ids = describe
    ? [...tokenizer.encode(formatPrompt('llava-hf', DESCRIBE_QUESTIONS[by], true)), ...keyToken]
    : tokenizer.encode(formatPrompt('llava-hf', r.text, true));
  const rows: Float64Array[] = []; // per layer: the last token's probability of each key, mean over heads
  const watch: Schedule = {
    spec: 'watch',
    positions: 'original',
    plan: NO_SCHEDULE.plan,
    referenceLayers: (n) => Array.from(range(n)),
    needsProbs: () => true,
    afterLayer: (_l, _seq, probs: Tensor) => {
      const [heads, queries, keys] = probs.shape;
      const p = probs.toFloat32Array();
      const row = new Float64Array(keys);
      for (let h = 0; h < heads; h++) for (let k = 0; k < keys; k++) row[k] += p[(h * queries + queries - 1) * keys + k] / heads;
      rows.push(row);
      return undefined;
    },
  };
  const start = noGrad(() => {
    const prompt = model.embedPrompt(ids, model.encodeImage(model.pixels(renderScene(r.scene))));
    model.runDecoder(prompt, { schedule: watch });
    return prompt.visionStart;
  });
  rows.forEach((row, l) => {
    const table = sums[half][l];
    row.forEach((mass, k) => {
      const t = k - start;
      const part = t < 0 || t >= owners.length ? 'text' : owners[t] === named ? 'named' : owners[t] === other ? 'other' : 'background';
      table[PARTS.indexOf(part)] += mass;
      // The prompt's <image> token became the owners.length vision tokens.
      if (part === 'text' && ids[t < 0 ? k : k - owners.length + 1] === keyToken[0]) table[PARTS.indexOf('key word')] += mass;
    });
  });
  counts[half]++;
}

for (const half of ['first', 'second'] as const) {
  const what = describe ? `the first ${by} of the reply` : 'the last prompt token';
  console.log(`named object ${half} in reading order (${counts[half]} questions): mean attention of ${what}`);
  console.log(`layer  ${PARTS.map((p) => p.padStart(12)).join('')}   (key word: the text's token of the named ${by})`);
  sums[half].forEach((table, l) => console.log(`${String(l).padStart(5)}  ${table.map((s) => `${((100 * s) / counts[half]).toFixed(1)} %`.padStart(12)).join('')}`));
}
