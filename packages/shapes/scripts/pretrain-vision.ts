/**
 * Teaches the vision tower shapes before the decoder sees it, as CLIP arrives pretrained in LLaVA:
 * the tower alone, on fresh scenes drawn every step, with two linear heads: one names each object's
 * shape from the mean of its patch tokens, the other names every patch's colour (or background).
 * The heads are dropped afterwards; what stays is a tower whose object tokens carry the shape
 * linearly, the reading `layer-probe.ts` and `linear-probe.ts` found missing (docs/shapes.md, 3e).
 *
 * --position all|balanced adds two more heads that name every patch's row and column: a tower
 * trained on shape and colour alone forgets where its tokens are (`position-probe.ts`), and then
 * the decoder has only RoPE over the flattened grid, which cannot tell "left of" (docs/shapes.md,
 * 3i). `all` averages their loss over every patch, `balanced` over object patches and over
 * background patches separately and adds the two (most patches are background).
 * --grid-position A first adds A times a 2-D sinusoidal code of each patch's row (the first half of
 * the width) and column (the second half) to the tower's learned position embeddings, so that the
 * input says where each patch is loudly enough to survive the layers (an experiment, 3i).
 * --token-shapes adds a head that names, from every object patch's own token, its object's shape:
 * on several objects the decoder finds an object by one word and reads another attribute, and a
 * token that carries only its colour can be found by colour only (`token-probe.ts`, 3k).
 * --token-centres adds a head that says, from every patch's token, whether an object's centre lies
 * in that patch (`centrePatches`): one flagged token per object, so that "How many red objects are
 * there?" can be answered by counting tokens, where an object's own patches number 4 to 25 with its
 * size and place (docs/shapes.md, 3p).
 *
 *   tokens [P + 1, d] = tower(pixels) at the checkpoint's vision_feature_layer, CLS dropped -> [P, d]
 *   pooled [objects, d] = M tokens, M's row o averaging the patches of object o
 *   shape logits [objects, shapes] = pooled W_s^T + b_s      colour logits [P, 1 + colours] = tokens W_c^T + b_c
 *   loss = mean over the batch's objects of CE(shape) + mean over its patches of CE(colour)
 *          [+ CE(row) + CE(column), row and column logits = tokens W^T + b: the mean over the batch's
 *           patches (all), or per scene the mean over object patches plus the mean over background
 *           patches, averaged over the batch (balanced)]
 *          [+ CE(token shape), token shape logits = tokens W_t^T + b_t, the mean over the batch's
 *           object patches (token-shapes)]
 *          [+ CE(centre), centre logits [P, 2] = tokens W_z^T + b_z: per scene the mean over its
 *           centre patches plus the mean over its other patches, averaged over the batch (token-centres)]
 *
 * A patch belongs to the object that covers most of it, if at least a quarter (`patchOwners`), else
 * to the background. A head on single patches, on a tower that did not yet read shapes, learned
 * nothing of shape in 200 steps (an object's inner patches look the same for every shape); the mean
 * over the object is what the probes read. On a tower that reads them pooled, --token-shapes
 * reaches ~90 % of object patches in 400 steps (3k). The heads are not saved, so a run that goes on
 * from another's tower starts them afresh (its first ~50 steps' loss is theirs). Only the tower's
 * tensors change; the output is the input model directory with the tower replaced (f32), every
 * other tensor and file as it was, ready for `adsc train`.
 *
 *   npx tsx packages/shapes/scripts/pretrain-vision.ts MODEL_DIR OUT_DIR [--steps 400] [--batch 16]
 *       [--lr 1e-3] [--warmup 30] [--seed 1] [--objects 1-3] [--sizes 28,42,56,70,84] [--tower DIR] [--projector DIR] [--position all|balanced] [--grid-position A]
 *       [--token-shapes] [--token-centres]
 *
 * --tower DIR starts the tower from DIR's (another model directory with the same vision config)
 * instead of MODEL_DIR's; with --steps 0 --warmup 0 that only puts DIR's tower into MODEL_DIR's
 * model (e.g. a tower pretrained from scratch under a trained projector and decoder).
 * --projector DIR likewise takes the projector from DIR (it is never trained here): with --tower and
 * --steps 0, a tower and projector trained through one decoder are put in front of another.
 *
 * Every 50 steps it prints the mean loss and the accuracies on 64 held-out scenes (seed + 1e6).
 */
import { parseArgs } from 'node:util';
import { add, argmax, backward, crossEntropy, linear, matmul, mulberry32, noGrad, scale, setNumThreads, tensor, type Tensor } from '@adsc/core';
import { Llava, readConfig, readPreprocessorConfig, tensorMap } from '@adsc/model';
import { openCheckpoint } from '@adsc/safetensors';
import { IGNORE_INDEX as IGNORE, partOf, type Parameter } from '@adsc/train';
import { COLOR_NAMES, SHAPES, centrePatches, patchOwners, place, renderScene, type Rng, type Scene } from '../src/index.js';
import { pick, randomInt } from '../src/scene.js';
import { layoutOrExit } from './layout-args.js';
import { trainOnScenes, writeModelDirectory } from './scene-training.js';

const { values, positionals } = parseArgs({
  options: {
    steps: { type: 'string', default: '400' }, batch: { type: 'string', default: '16' }, lr: { type: 'string', default: '1e-3' },
    warmup: { type: 'string', default: '30' }, seed: { type: 'string', default: '1' }, objects: { type: 'string', default: '1-3' },
    sizes: { type: 'string', default: '28,42,56,70,84' }, tower: { type: 'string' }, projector: { type: 'string' }, position: { type: 'string' }, 'grid-position': { type: 'string' }, 'token-shapes': { type: 'boolean', default: false },
    'token-centres': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const [from, out] = positionals;
if (!from || !out) {
  console.error('usage: pretrain-vision.ts MODEL_DIR OUT_DIR [--steps N] [--batch B] [--lr L] [--warmup W] [--seed S] [--objects A-B] [--sizes 28,42,...] [--tower DIR] [--projector DIR] [--position all|balanced] [--grid-position A] [--token-shapes] [--token-centres]');
  process.exit(2);
}
const steps = Number(values.steps);
const batch = Number(values.batch);
const { minObjects, maxObjects, sizes } = layoutOrExit(values.objects, values.sizes);
const seed = Number(values.seed);
setNumThreads(1);

// The model with the tower's tensors as f32 leaves that require gradients (from --tower when given).
const config = readConfig(from);
const checkpoint = openCheckpoint(from);
const towerSource = values.tower === undefined ? checkpoint : openCheckpoint(values.tower);
const projectorSource = values.projector === undefined ? checkpoint : openCheckpoint(values.projector);
const named: Record<string, Tensor> = {};
const params: Parameter[] = [];
for (const name of checkpoint.names()) {
  if (partOf(name) !== 'vision') {
    named[name] = (partOf(name) === 'projector' ? projectorSource : checkpoint).tensor(name);
    continue;
  }
  named[name] = towerSource.tensor(name).to('f32');
  if (name.endsWith('embeddings.position_embedding.weight') && values['grid-position'] !== undefined) {
    named[name] = addGridCode(named[name], Number(values['grid-position']));
  }
  named[name].requireGrad();
  params.push({ name, value: named[name], decay: false });
}
/**
 * The position embedding [1 + P, d] with amplitude times sin / cos of row * w_k in dims [0, d/2) and
 * of column * w_k in [d/2, d), w_k = 100^(-k / (d/4)) for the k-th pair (the class row unchanged).
 */
function addGridCode(embedding: Tensor, amplitude: number): Tensor {
  const [positions, d] = embedding.shape;
  const side = Math.round(Math.sqrt(positions - 1));
  const data = embedding.toFloat32Array().slice();
  const pairs = d / 4;
  for (let t = 0; t < positions - 1; t++) {
    const at = [Math.floor(t / side), t % side];
    for (let half = 0; half < 2; half++) {
      for (let k = 0; k < pairs; k++) {
        const angle = at[half] * 100 ** (-k / pairs);
        data[(t + 1) * d + half * (d / 2) + 2 * k] += amplitude * Math.sin(angle);
        data[(t + 1) * d + half * (d / 2) + 2 * k + 1] += amplitude * Math.cos(angle);
      }
    }
  }
  return tensor(data, [positions, d]);
}
const model = Llava.fromWeights(tensorMap(named), config, from, {}, readPreprocessorConfig(from, config.vision.imageSize));
const { hiddenSize: width, patchSize: patch, imageSize } = config.vision;
const grid = imageSize / patch;

// The heads: small random rows, zero biases.
const headRng = mulberry32(seed ^ 0x2545f491);
const head = (classes: number, name: string): Tensor[] => {
  const w = tensor(Float32Array.from({ length: classes * width }, () => (headRng() - 0.5) * 0.02), [classes, width]).requireGrad();
  const b = tensor(new Float32Array(classes), [classes]).requireGrad();
  params.push({ name: `${name}.weight`, value: w, decay: false }, { name: `${name}.bias`, value: b, decay: false });
  return [w, b];
};
const [shapeW, shapeB] = head(SHAPES.length, 'shape_head');
const [colorW, colorB] = head(1 + COLOR_NAMES.length, 'color_head');
if (values.position !== undefined && values.position !== 'all' && values.position !== 'balanced') {
  console.error(`--position must be all or balanced, got ${JSON.stringify(values.position)}`);
  process.exit(2);
}
const position = values.position as 'all' | 'balanced' | undefined;
const [rowW, rowB] = position ? head(grid, 'row_head') : [];
const [columnW, columnB] = position ? head(grid, 'column_head') : [];
/** Every patch's row and column, row-major (the same for every scene). */
const rows = Array.from({ length: grid * grid }, (_, t) => Math.floor(t / grid));
const columns = Array.from({ length: grid * grid }, (_, t) => t % grid);
const tokenShapes = values['token-shapes']!;
const [tokenShapeW, tokenShapeB] = tokenShapes ? head(SHAPES.length, 'token_shape_head') : [];
const tokenCentres = values['token-centres']!;
const [centreW, centreB] = tokenCentres ? head(2, 'centre_head') : [];

/** A scene of `minObjects`-`maxObjects` objects of any shape, colour and size, wherever they fit. */
function scene(rng: Rng): Scene {
  const s: Scene = { imageSize, objects: [] };
  const n = randomInt(rng, minObjects, maxObjects);
  for (let i = 0; i < n; i++) place(rng, s, pick(rng, SHAPES), pick(rng, COLOR_NAMES), sizes);
  return s;
}

/**
 * Per patch, row-major: the index of the object covering it (-1: background, `patchOwners`),
 * 1 + that object's colour index (0: background) and that object's shape index (IGNORE:
 * background) and whether an object's centre lies in it (1, else 0: `centrePatches`); per object
 * that owns any patch, its shape index.
 */
function patchLabels(s: Scene): { owners: number[]; colors: number[]; patchShapes: number[]; shapes: number[]; centres: number[] } {
  const owners = patchOwners(s, patch);
  const centres = centrePatches(s, patch).map((o) => (o < 0 ? 0 : 1));
  const colors = owners.map((o) => (o < 0 ? 0 : 1 + COLOR_NAMES.indexOf(s.objects[o].color)));
  const patchShapes = owners.map((o) => (o < 0 ? IGNORE : SHAPES.indexOf(s.objects[o].shape)));
  const shapes = s.objects.map((o, i) => (owners.includes(i) ? SHAPES.indexOf(o.shape) : IGNORE));
  return { owners, colors, patchShapes, shapes, centres };
}

/** Shape logits [objects, shapes] from the mean of each object's tokens x [P, d] (0 for an object with no patch: its label is ignored). */
function shapeLogits(x: Tensor, owners: number[], objects: number): Tensor {
  const m = new Float32Array(objects * grid * grid);
  for (let o = 0; o < objects; o++) {
    const count = owners.filter((w) => w === o).length;
    owners.forEach((w, t) => {
      if (w === o) m[o * grid * grid + t] = 1 / count;
    });
  }
  return linear(matmul(tensor(m, [objects, grid * grid]), x), shapeW, shapeB);
}

/** The tower's tokens at the feature layer, CLS dropped: [P, d]. */
function tokens(s: Scene): Tensor {
  const pixels = noGrad(() => model.pixels(renderScene(s)));
  const hidden = model.vision.forward(pixels, config.visionFeatureLayer); // [P + 1, d]
  return hidden.narrow(0, 1, grid * grid);
}

/**
 * Object shape accuracy, patch colour accuracy on object and background patches, patch position
 * accuracy on each, object patch shape accuracy, the share of centre patches flagged as centres, of
 * other patches flagged, and of scenes whose flagged patches are exactly their centres, over `count`
 * scenes of `rng`.
 */
function heldOut(rng: Rng, count: number): {
  shape: number; color: number; background: number; objectPlaces: number; backgroundPlaces: number; tokenShape: number;
  centres: number; falseCentres: number; centreScenes: number;
} {
  let objects = 0, shapeRight = 0, objectPatches = 0, colorRight = 0, backgroundPatches = 0, backgroundRight = 0, tokenShapeRight = 0;
  let objectPlaces = 0, backgroundPlaces = 0, centres = 0, centresFlagged = 0, others = 0, othersFlagged = 0, centreScenes = 0;
  noGrad(() => {
    for (let i = 0; i < count; i++) {
      const s = scene(rng);
      const labels = patchLabels(s);
      const x = tokens(s);
      const shapeGuess = argmax(shapeLogits(x, labels.owners, s.objects.length), -1).toFloat32Array();
      const colorGuess = argmax(linear(x, colorW, colorB), -1).toFloat32Array();
      if (tokenShapes) {
        const guess = argmax(linear(x, tokenShapeW!, tokenShapeB!), -1).toFloat32Array();
        labels.patchShapes.forEach((label, t) => {
          if (label !== IGNORE && guess[t] === label) tokenShapeRight++;
        });
      }
      if (tokenCentres) {
        const guess = argmax(linear(x, centreW!, centreB!), -1).toFloat32Array();
        let exact = true;
        labels.centres.forEach((label, t) => {
          if (label === 1) centres++;
          else others++;
          if (guess[t] === 1) label === 1 ? centresFlagged++ : othersFlagged++;
          if (guess[t] !== label) exact = false;
        });
        if (exact) centreScenes++;
      }
      if (position) {
        const rowGuess = argmax(linear(x, rowW!, rowB!), -1).toFloat32Array();
        const columnGuess = argmax(linear(x, columnW!, columnB!), -1).toFloat32Array();
        rows.forEach((r, t) => {
          if (rowGuess[t] !== r || columnGuess[t] !== columns[t]) return;
          if (labels.owners[t] >= 0) objectPlaces++;
          else backgroundPlaces++;
        });
      }
      labels.shapes.forEach((label, o) => {
        if (label === IGNORE) return;
        objects++;
        if (shapeGuess[o] === label) shapeRight++;
      });
      labels.colors.forEach((label, t) => {
        if (label === 0) {
          backgroundPatches++;
          if (colorGuess[t] === 0) backgroundRight++;
        } else {
          objectPatches++;
          if (colorGuess[t] === label) colorRight++;
        }
      });
    }
  });
  return { shape: shapeRight / objects, color: colorRight / objectPatches, background: backgroundRight / backgroundPatches, objectPlaces: objectPlaces / objectPatches, backgroundPlaces: backgroundPlaces / backgroundPatches, tokenShape: tokenShapeRight / objectPatches,
    centres: centresFlagged / centres, falseCentres: othersFlagged / others, centreScenes: centreScenes / count,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
const report = (step: number, loss: number): void => {
  const acc = heldOut(mulberry32(seed + 1_000_000), 64);
  console.log(`step ${step}/${steps}  loss ${loss.toFixed(4)}  held-out: object shapes ${pct(acc.shape)}, patch colours ${pct(acc.color)} on objects, ${pct(acc.background)} on background${position ? `; patch row and column ${pct(acc.objectPlaces)} on objects, ${pct(acc.backgroundPlaces)} on background` : ''}${tokenShapes ? `; object patch shapes ${pct(acc.tokenShape)}` : ''}${tokenCentres ? `; centres flagged ${pct(acc.centres)}, other patches ${pct(acc.falseCentres)}, scenes exact ${pct(acc.centreScenes)}` : ''}`);
};

const rng = mulberry32(seed);
const minutes = trainOnScenes({
  steps, lr: Number(values.lr), warmup: Number(values.warmup), params, report,
  step: () => {
    let lossSum = 0;
    const scenes = Array.from({ length: batch }, () => scene(rng));
    const labels = scenes.map(patchLabels);
    const objects = Math.max(1, labels.reduce((n, l) => n + l.shapes.filter((v) => v !== IGNORE).length, 0));
    const objectPatches = Math.max(1, labels.reduce((n, l) => n + l.patchShapes.filter((v) => v !== IGNORE).length, 0));
    for (let i = 0; i < batch; i++) {
      const x = tokens(scenes[i]);
      const shapeLoss = scale(crossEntropy(shapeLogits(x, labels[i].owners, scenes[i].objects.length), labels[i].shapes, { reduction: 'sum' }), 1 / objects);
      const colorLoss = scale(crossEntropy(linear(x, colorW, colorB), labels[i].colors, { reduction: 'sum' }), 1 / (grid * grid * batch));
      let loss = add(shapeLoss, colorLoss);
      if (position === 'all') {
        const rowLoss = crossEntropy(linear(x, rowW!, rowB!), rows, { reduction: 'sum' });
        const columnLoss = crossEntropy(linear(x, columnW!, columnB!), columns, { reduction: 'sum' });
        loss = add(loss, scale(add(rowLoss, columnLoss), 1 / (grid * grid * batch)));
      } else if (position === 'balanced') {
        // Object patches and background patches weigh the same: a tower that places only the
        // background does not say where an object is.
        const rowLogits = linear(x, rowW!, rowB!);
        const columnLogits = linear(x, columnW!, columnB!);
        for (const onObject of [true, false]) {
          const keep = (targets: number[]) => targets.map((v, t) => ((labels[i].owners[t] >= 0) === onObject ? v : IGNORE));
          if (!labels[i].owners.some((o) => (o >= 0) === onObject)) continue;
          loss = add(loss, scale(add(crossEntropy(rowLogits, keep(rows)), crossEntropy(columnLogits, keep(columns))), 1 / batch));
        }
      }
      if (tokenShapes && labels[i].patchShapes.some((v) => v !== IGNORE)) {
        loss = add(loss, scale(crossEntropy(linear(x, tokenShapeW!, tokenShapeB!), labels[i].patchShapes, { reduction: 'sum' }), 1 / objectPatches));
      }
      if (tokenCentres) {
        // Centre patches and the others weigh the same: 1-3 of 144 patches are centres.
        const centreLogits = linear(x, centreW!, centreB!);
        for (const centre of [1, 0]) {
          const keep = labels[i].centres.map((v) => (v === centre ? v : IGNORE));
          if (keep.every((v) => v === IGNORE)) continue;
          loss = add(loss, scale(crossEntropy(centreLogits, keep), 1 / batch));
        }
      }
      lossSum += loss.toFloat32Array()[0];
      backward(loss);
    }
    return lossSum;
  },
});
console.log(`${steps} steps of ${batch} scenes in ${minutes.toFixed(1)} min`);

// The model directory with the tower replaced, written whole or not at all.
writeModelDirectory(from, out, named, {
  adsc_vision_pretrained: `${steps} steps of ${batch} scenes, seed ${seed}${position ? `, position heads (${position})` : ''}${values['grid-position'] ? `, grid code ${values['grid-position']}` : ''}${tokenShapes ? ', token shape head' : ''}${tokenCentres ? ', token centre head' : ''}`, ...(values.tower ? { adsc_vision_tower_from: values.tower } : {}),
  ...(values.projector ? { adsc_projector_from: values.projector } : {}),
});

