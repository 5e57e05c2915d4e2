/**
 * A toy LLaVA small enough to train in a test (shapes-llava's vocabulary and file set; 56 px
 * images = 16 vision tokens, a 2-layer decoder of width 32) and a handful of Shapes VQA records.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '@adsc/core';
import { LlavaTokenizer, labelCount, lmLoss, parseSchedule, readImage, type Llava } from '@adsc/model';
import { writeShapes, writeShapesLlava, type LlavaSizes } from '@adsc/shapes';
import { readTrainingData } from '../src/index.js';

export const TINY_SIZES: LlavaSizes = {
  text: { hidden: 32, layers: 2, heads: 2, intermediate: 64, maxPositions: 128 },
  vision: { hidden: 16, layers: 2, heads: 2, intermediate: 32, image: 56, patch: 14 },
};

/** A fresh directory with the untrained tiny model in `model/` and `count` records of `turns` questions in `data/`. */
export function tinySetup(count = 4, seed = 3, turns = 1): { root: string; model: string; data: string } {
  const root = mkdtempSync(join(tmpdir(), 'adsc-train-'));
  const model = join(root, 'model');
  writeShapesLlava(model, seed, TINY_SIZES);
  writeShapes(join(root, 'data'), { seed, count, imageSize: 84, turns });
  return { root, model, data: join(root, 'data', 'questions.json') };
}

/** The mean loss over every labelled token of a conversation file, without recording. */
export function meanLoss(model: Llava, data: string, schedule = 'none'): number {
  const examples = readTrainingData(data, {
    tokenizer: LlavaTokenizer.load(data.replace(/data\/questions\.json$/, 'model'), model.config.imageTokenIndex, model.config.bosTokenId),
    template: 'llava-hf', eosTokenId: model.config.eosTokenIds[0], vocabSize: model.config.text.vocabSize,
    maxLength: model.config.text.maxPositions, visionTokens: 16,
  });
  return noGrad(() => {
    let sum = 0;
    let count = 0;
    for (const e of examples) {
      const pixels = model.pixels(readImage(e.image!));
      sum += lmLoss(model, { ...e, pixels }, { schedule: parseSchedule(schedule) }).loss.toFloat32Array()[0];
      count += labelCount(e.labels);
    }
    return sum / count;
  });
}
