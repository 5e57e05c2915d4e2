/**
 * The committed intermediate checkpoints of the shapes-llava curriculum (docs/shapes.md, section
 * 3c), each on scenes of its stage made fresh by the test with seeds nothing was trained or tuned on:
 * a floor on the accuracy says it reads the image, a blind control that the floor is not reached
 * from the question alone.
 *
 * - checkpoints/s3 (recipe.sh): names the colour of the object a question asks about; it does not
 *   read shapes, so only colour questions are scored.
 * - checkpoints/shape-mix (shape-stages.sh): names the shape of a single object.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llava, LlavaTokenizer } from '@adsc/model';
import { evaluate, readDataset, type EvalRecord } from '@adsc/eval';
import { writeShapes, type ShapesOptions } from '@adsc/shapes';

interface Scored {
  model: Llava;
  tokenizer: LlavaTokenizer;
  records: EvalRecord[];
  imageFolder: string;
}

/** Loads examples/shapes-llava/checkpoints/NAME and writes a fresh question set for it. */
function load(name: string, set: ShapesOptions, type: string): Scored {
  const dir = new URL(`../examples/shapes-llava/checkpoints/${name}`, import.meta.url).pathname;
  const model = Llava.load(dir);
  const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
  const imageFolder = join(mkdtempSync(join(tmpdir(), `adsc-shapes-${name}-`)), 'set');
  writeShapes(imageFolder, set);
  return { model, tokenizer, imageFolder, records: readDataset(join(imageFolder, 'questions.json')).filter((r) => r.type === type) };
}

function accuracy({ model, tokenizer, records, imageFolder }: Scored, blind = false): number {
  const tally = evaluate(model, tokenizer, records, { imageFolder, blind });
  return tally.correct / tally.count;
}

describe('the committed stage-3 shapes-llava checkpoint', { timeout: 120_000 }, () => {
  /** 84.0 % of 50 colour questions on the validation seed (31), less a margin for 30 questions. */
  const FLOOR = 0.6;
  /** Without the image a colour question is a guess among six: 1/6, and a few lucky ones. */
  const BLIND_CEILING = 0.4;
  let s3: Scored;
  beforeAll(() => {
    s3 = load('s3', { seed: 4242, count: 180, layout: { minObjects: 1, maxObjects: 2, sizes: [42, 56] } }, 'color');
  }, 120_000);

  it('names the colour of the object a question asks about in fresh one- and two-object scenes', () => {
    expect(s3.records).toHaveLength(30);
    expect(accuracy(s3)).toBeGreaterThanOrEqual(FLOOR);
  });

  it('falls to a guess without the image (blind control)', () => {
    expect(accuracy(s3, true)).toBeLessThan(BLIND_CEILING);
  });
});

describe('the committed shape-mix checkpoint', { timeout: 120_000 }, () => {
  /** 54.0 % of 150 shape questions on 56 px objects (validation seed 37), less a margin for 60 questions. */
  const FLOOR = 0.45;
  /** Blind, it can only answer one shape for every image: about 1/3. */
  const BLIND_CEILING = 0.45;
  let mix: Scored;
  beforeAll(() => {
    mix = load('shape-mix', { seed: 4243, count: 60, layout: { minObjects: 1, maxObjects: 1, sizes: [56] }, types: ['shape'] }, 'shape');
  }, 120_000);

  it('names the shape of a fresh 56 px object', () => {
    expect(mix.records).toHaveLength(60);
    expect(accuracy(mix)).toBeGreaterThanOrEqual(FLOOR);
  });

  it('falls to one guess for every image without it (blind control)', () => {
    expect(accuracy(mix, true)).toBeLessThan(BLIND_CEILING);
  });
});
