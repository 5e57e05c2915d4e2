/**
 * Where the answer position looks, layer by layer (docs/shapes.md, 3l). For "What shape is the
 * <colour> object?" on scenes of two objects, the last prompt token's attention probabilities in
 * every decoder layer (mean over heads) are summed over the patches of the named object, of the other
 * object (`patchOwners`), over the background patches and over the text tokens, and, of the text,
 * over the token of the named colour. Split by whether the named object comes first in reading
 * order. A decoder that selects by colour puts more mass on the named object in both halves; one
 * that reads the first object, on the first object in both.
 *
 * With --describe the same scenes are asked "What objects are there?" (describe.ts) with the first
 * word of the reply given, the colour that comes first: the position that reads that colour predicts
 * its object's shape, so the named object is the one of that colour (a decoder trained on the
 * describe question alone answers no shape question; 3m). There the colour token is the reading
 * position itself; in a question it is four tokens back, and a decoder that selects by colour must
 * first bring it forward (3n).
 *
 *   npx tsx packages/shapes/scripts/object-attention.ts MODEL_DIR SEED COUNT [SIZES] [--describe]
 *
 * The scenes are COUNT "shape" questions of `adsc data shapes --seed SEED --objects 2 --types shape`
 * (SIZES default 42,56), generated in memory; the model runs the reference attention in every layer.
 */
import { noGrad, type Tensor } from '@adsc/core';
import { Llava, LlavaTokenizer, NO_SCHEDULE, formatPrompt, range, type Schedule } from '@adsc/model';
import { DESCRIBE_QUESTIONS, describeScene, generateShapes, patchOwners, readingOrder, renderScene } from '../src/index.js';
import { layoutOrExit } from './layout-args.js';

const args = process.argv.slice(2);
const describe = args.includes('--describe');
const [dir, seedText, countText, sizes = '42,56'] = args.filter((a) => a !== '--describe');
if (!dir || !seedText || !countText) {
  console.error('usage: object-attention.ts MODEL_DIR SEED COUNT [SIZES] [--describe]');
  process.exit(2);
}
const layout = layoutOrExit('2', sizes);
const model = Llava.load(dir);
const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
const layers = model.config.text.numLayers;
const patch = model.config.vision.patchSize;
const PARTS = ['named', 'other', 'background', 'text', 'colour word'] as const;
/** Sums over records of each layer's mass on each part, for named-first and named-second scenes. */
const sums = { first: zeroTable(), second: zeroTable() };
const counts = { first: 0, second: 0 };

function zeroTable(): number[][] {
  return Array.from({ length: layers }, () => PARTS.map(() => 0));
}

for (const r of generateShapes({ seed: Number(seedText), count: Number(countText), layout, types: ['shape'] })) {
  if (r.question.type !== 'shape') continue;
  // The colour the last token names: the question's, or the one a description starts with (the two
  // objects' colours differ, since the shape question names one of them).
  const color = describe ? describeScene(r.scene).split(' ')[0] : r.question.color;
  const named = r.scene.objects.findIndex((o) => o.color === color);
  const other = 1 - named;
  const half = readingOrder(r.scene, patch)[0] === r.scene.objects[named] ? 'first' : 'second';
  const owners = patchOwners(r.scene, patch);
  const colourToken = tokenizer.encode(color).slice(1);
  if (colourToken.length !== 1) throw new Error(`${dir}: the tokenizer spells "${color}" in ${colourToken.length} tokens, not one`);
  const ids = describe
    ? [...tokenizer.encode(formatPrompt('llava-hf', DESCRIBE_QUESTIONS.color, true)), ...colourToken]
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
      if (part === 'text' && ids[t < 0 ? k : k - owners.length + 1] === colourToken[0]) table[PARTS.indexOf('colour word')] += mass;
    });
  });
  counts[half]++;
}

for (const half of ['first', 'second'] as const) {
  const what = describe ? 'the first colour of the reply' : 'the last prompt token';
  console.log(`named object ${half} in reading order (${counts[half]} questions): mean attention of ${what}`);
  console.log(`layer  ${PARTS.map((p) => p.padStart(12)).join('')}   (colour word: the text's token of the named colour)`);
  sums[half].forEach((table, l) => console.log(`${String(l).padStart(5)}  ${table.map((s) => `${((100 * s) / counts[half]).toFixed(1)} %`.padStart(12)).join('')}`));
}
