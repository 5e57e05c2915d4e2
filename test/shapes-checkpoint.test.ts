/**
 * The committed stage-3 checkpoint of the shapes-llava curriculum (examples/shapes-llava/recipe.sh,
 * docs/shapes.md section 3c) on scenes of its stage, made fresh by the test with a seed nothing was
 * trained or tuned on (4242): it reads the colour of the object a question names from the image,
 * which a floor on its accuracy and a blind control check. It does not read shapes yet, so only the
 * colour questions are scored. The shape-mix checkpoint (shape-stages.sh) does read shapes: its
 * shape questions are scored on fresh one-object scenes (seed 4243).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llava, LlavaTokenizer } from '@adsc/model';
import { evaluate, readDataset, type EvalRecord } from '@adsc/eval';
import { writeShapes } from '@adsc/shapes';

const dir = new URL('../examples/shapes-llava/checkpoints/s3', import.meta.url).pathname;
/** 84.0 % of 50 colour questions on the validation seed (31), less a margin for about 30 questions. */
const COLOR_FLOOR = 0.6;
/** Without the image a colour question is a guess among six: 1/6, and a few lucky ones. */
const BLIND_CEILING = 0.4;

let model: Llava;
let tokenizer: LlavaTokenizer;
let colorQuestions: EvalRecord[];
let imageFolder: string;

beforeAll(() => {
  model = Llava.load(dir);
  tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
  imageFolder = join(mkdtempSync(join(tmpdir(), 'adsc-shapes-s3-')), 'set');
  writeShapes(imageFolder, { seed: 4242, count: 180, layout: { minObjects: 1, maxObjects: 2, sizes: [42, 56] } });
  colorQuestions = readDataset(join(imageFolder, 'questions.json')).filter((r) => r.type === 'color');
}, 120_000);

describe('the committed stage-3 shapes-llava checkpoint', { timeout: 120_000 }, () => {
  it('names the colour of the object a question asks about in fresh one- and two-object scenes', () => {
    expect(colorQuestions).toHaveLength(30);
    const tally = evaluate(model, tokenizer, colorQuestions, { imageFolder });
    expect(tally.correct / tally.count).toBeGreaterThanOrEqual(COLOR_FLOOR);
  });

  it('falls to a guess without the image (blind control)', () => {
    const tally = evaluate(model, tokenizer, colorQuestions, { imageFolder, blind: true });
    expect(tally.correct / tally.count).toBeLessThan(BLIND_CEILING);
  });
});

describe('the committed shape-mix checkpoint', { timeout: 120_000 }, () => {
  const shapeMix = new URL('../examples/shapes-llava/checkpoints/shape-mix', import.meta.url).pathname;
  /** 54.0 % of 150 shape questions on 56 px objects (validation seed 37), less a margin for 60 questions. */
  const SHAPE_FLOOR = 0.45;
  /** Blind, it can only answer one shape for every image: about 1/3. */
  const SHAPE_BLIND_CEILING = 0.45;
  let mixModel: Llava;
  let mixTokenizer: LlavaTokenizer;
  let shapeQuestions: EvalRecord[];
  let folder: string;

  beforeAll(() => {
    mixModel = Llava.load(shapeMix);
    mixTokenizer = LlavaTokenizer.load(shapeMix, mixModel.config.imageTokenIndex, mixModel.config.bosTokenId);
    folder = join(mkdtempSync(join(tmpdir(), 'adsc-shapes-mix-')), 'set');
    writeShapes(folder, { seed: 4243, count: 60, layout: { minObjects: 1, maxObjects: 1, sizes: [56] }, types: ['shape'] });
    shapeQuestions = readDataset(join(folder, 'questions.json'));
  }, 120_000);

  it('names the shape of a fresh 56 px object', () => {
    const tally = evaluate(mixModel, mixTokenizer, shapeQuestions, { imageFolder: folder });
    expect(tally.correct / tally.count).toBeGreaterThanOrEqual(SHAPE_FLOOR);
  });

  it('falls to one guess for every image without it (blind control)', () => {
    const tally = evaluate(mixModel, mixTokenizer, shapeQuestions, { imageFolder: folder, blind: true });
    expect(tally.correct / tally.count).toBeLessThan(SHAPE_BLIND_CEILING);
  });
});
