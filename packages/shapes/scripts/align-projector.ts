/**
 * Aligns the projector (and, with --train projector,vision, the tower) to a decoder that has learnt
 * to read images given as words (patch words, docs/shapes.md 3r): each vision token the projector
 * puts out is pulled towards the sum of the decoder's embeddings of the words its patch shows
 * ("red circle" -> embed(red) + embed(circle); zero for the background), the very token the decoder
 * was trained on. It is LLaVA's first stage, which trains the projector under a frozen LLM, with the
 * target written out per token instead of reached through a caption's loss.
 *
 *   tokens [P, d_text] = projector(tower(pixels) at the feature layer, CLS dropped)
 *   targets [P, d_text] = Llava.embedPatchWords(patch words of the scene)   (the decoder's own table)
 *   loss = mean over the batch's patches of |tokens_p - targets_p|^2 / d_text
 *
 * Scenes are drawn fresh every step (1-3 objects of 42 or 56 px by default, the multi-object
 * layout). Every 50 steps it prints the mean loss and, on 64 held-out scenes (seed + 1e6), the
 * share of object patches and of background patches whose token is nearest to its own target among
 * every possible patch's (each colour with each shape, and nothing).
 *
 *   npx tsx packages/shapes/scripts/align-projector.ts MODEL_DIR OUT_DIR [--steps 400] [--batch 16]
 *       [--lr 1e-3] [--warmup 30] [--seed 1] [--objects 1-3] [--sizes 42,56] [--train projector|projector,vision]
 *       [--centre-word W]
 *
 * --centre-word W adds W to the words of the patch under each object's centre, as text-scenes.ts
 * --centre-word does (the tower must then also find the centres). The output is MODEL_DIR with the
 * trained parts replaced (f32), every other tensor and file as it was, written whole or not at all.
 */
import { parseArgs } from 'node:util';
import { backward, mulberry32, noGrad, scale, setNumThreads, sub, sum, mul, type Tensor } from '@adsc/core';
import { Llava, LlavaTokenizer, numPatches, readConfig, readPreprocessorConfig, tensorMap } from '@adsc/model';
import { openCheckpoint } from '@adsc/safetensors';
import { partOf, type Parameter } from '@adsc/train';
import { COLOR_NAMES, SHAPES, centrePatches, patchOwners, place, renderScene, type Rng, type Scene } from '../src/index.js';
import { pick, randomInt } from '../src/scene.js';
import { layoutOrExit } from './layout-args.js';
import { trainOnScenes, writeModelDirectory } from './scene-training.js';

const { values, positionals } = parseArgs({
  options: {
    steps: { type: 'string', default: '400' }, batch: { type: 'string', default: '16' }, lr: { type: 'string', default: '1e-3' },
    warmup: { type: 'string', default: '30' }, seed: { type: 'string', default: '1' }, objects: { type: 'string', default: '1-3' },
    sizes: { type: 'string', default: '42,56' }, train: { type: 'string', default: 'projector' }, 'centre-word': { type: 'string' },
  },
  allowPositionals: true,
});
const [from, out] = positionals;
const parts = values.train.split(',');
if (!from || !out || parts.some((p) => p !== 'projector' && p !== 'vision') || !parts.includes('projector')) {
  console.error('usage: align-projector.ts MODEL_DIR OUT_DIR [--steps N] [--batch B] [--lr L] [--warmup W] [--seed S] [--objects A-B] [--sizes 42,56] [--train projector|projector,vision] [--centre-word W]');
  process.exit(2);
}
const steps = Number(values.steps);
const batch = Number(values.batch);
const seed = Number(values.seed);
const { minObjects, maxObjects, sizes } = layoutOrExit(values.objects, values.sizes);
setNumThreads(1);

// The trained parts as f32 leaves that require gradients; the decoder as stored.
const config = readConfig(from);
const checkpoint = openCheckpoint(from);
const named: Record<string, Tensor> = {};
const params: Parameter[] = [];
for (const name of checkpoint.names()) {
  const part = partOf(name);
  if (!parts.includes(part)) {
    named[name] = checkpoint.tensor(name);
    continue;
  }
  named[name] = checkpoint.tensor(name).to('f32').requireGrad();
  params.push({ name, value: named[name], decay: false });
}
const model = Llava.fromWeights(tensorMap(named), config, from, {}, readPreprocessorConfig(from, config.vision.imageSize));
const tokenizer = LlavaTokenizer.load(from, config.imageTokenIndex, config.bosTokenId);
const { patchSize: patch, imageSize } = config.vision;
const d = config.text.hiddenSize;
const P = numPatches(config.vision);
const centreWord = values['centre-word'];

/** A scene of `minObjects`-`maxObjects` objects of any shape, colour and size, wherever they fit. */
function scene(rng: Rng): Scene {
  const s: Scene = { imageSize, objects: [] };
  const n = randomInt(rng, minObjects, maxObjects);
  for (let i = 0; i < n; i++) place(rng, s, pick(rng, SHAPES), pick(rng, COLOR_NAMES), sizes);
  return s;
}

/** Every patch's words, row-major: its owner's "colour shape", or "" (patchOwners); --centre-word added where an object's centre lies, as text-scenes.ts writes them. */
function patchWords(s: Scene): string[] {
  const centres = centrePatches(s, patch);
  return patchOwners(s, patch).map((o, t) => {
    if (o < 0) return '';
    const words = `${s.objects[o].color} ${s.objects[o].shape}`;
    return centreWord !== undefined && centres[t] >= 0 ? `${words} ${centreWord}` : words;
  });
}

/** What the patches of `s` should become: [P, d], the decoder's embeddings of their words. */
const targets = (s: Scene): Tensor => noGrad(() => model.embedPatchWords(tokenizer.encodePatchWords(patchWords(s))));

/** The projector's tokens for `s`: [P, d]. */
const tokens = (s: Scene): Tensor => model.encodeImage(noGrad(() => model.pixels(renderScene(s))));

// Every word a patch can show, and each one's target row, for the held-out nearest-target probe.
const pairs = COLOR_NAMES.flatMap((c) => SHAPES.map((sh) => `${c} ${sh}`));
const candidates = ['', ...pairs, ...(centreWord === undefined ? [] : pairs.map((w) => `${w} ${centreWord}`))];
const candidateRows = noGrad(() => {
  const all = model.embedPatchWords(tokenizer.encodePatchWords(Array.from({ length: P }, (_, p) => candidates[p] ?? ''))).toFloat32Array();
  return candidates.map((_, k) => all.subarray(k * d, (k + 1) * d));
});

/**
 * Over `count` scenes: the share of object and of background patches whose token is nearest its own
 * target, and of object patches whose nearest candidate has their colour, their shape, and (with a
 * centre word) their centre flag right.
 */
function heldOut(rng: Rng, count: number): { objects: number; background: number; colour: number; shape: number; flag: number } {
  let objects = 0, objectsRight = 0, background = 0, backgroundRight = 0, colour = 0, shape = 0, flag = 0;
  noGrad(() => {
    for (let i = 0; i < count; i++) {
      const s = scene(rng);
      const words = patchWords(s);
      const x = tokens(s).toFloat32Array();
      words.forEach((w, p) => {
        let best = 0;
        let bestDistance = Infinity;
        candidateRows.forEach((row, k) => {
          let dist = 0;
          for (let j = 0; j < d; j++) dist += (x[p * d + j] - row[j]) ** 2;
          if (dist < bestDistance) [best, bestDistance] = [k, dist];
        });
        const right = candidates[best] === w ? 1 : 0;
        if (w === '') {
          background++;
          backgroundRight += right;
          return;
        }
        objects++;
        objectsRight += right;
        const [said, truth] = [candidates[best].split(' '), w.split(' ')];
        if (said[0] === truth[0]) colour++;
        if (said[1] === truth[1]) shape++;
        if (said.length === truth.length) flag++;
      });
    }
  });
  return { objects: objectsRight / objects, background: backgroundRight / background, colour: colour / objects, shape: shape / objects, flag: flag / objects };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
const report = (step: number, loss: number): void => {
  const acc = heldOut(mulberry32(seed + 1_000_000), 64);
  console.log(`step ${step}/${steps}  loss ${loss.toFixed(4)}  held-out patches read as their own words: ${pct(acc.objects)} of object patches (colour ${pct(acc.colour)}, shape ${pct(acc.shape)}${centreWord === undefined ? '' : `, centre flag ${pct(acc.flag)}`}), ${pct(acc.background)} of background`);
};

const rng = mulberry32(seed);
const minutes = trainOnScenes({
  steps, lr: Number(values.lr), warmup: Number(values.warmup), params, report,
  step: () => {
    let lossSum = 0;
    for (let i = 0; i < batch; i++) {
      const s = scene(rng);
      const diff = sub(tokens(s), targets(s));
      const loss = scale(sum(sum(mul(diff, diff))), 1 / (P * d * batch));
      lossSum += loss.toFloat32Array()[0];
      backward(loss);
    }
    return lossSum;
  },
});
console.log(`${steps} steps of ${batch} scenes in ${minutes.toFixed(1)} min`);

// The model directory with the trained parts replaced, written whole or not at all.
writeModelDirectory(from, out, named, { adsc_aligned: `${values.train} aligned to patch words: ${steps} steps of ${batch} scenes, seed ${seed}` });
