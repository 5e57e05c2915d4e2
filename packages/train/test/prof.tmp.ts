import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { backward, setNumThreads } from '@adsc/core';
import { Llava, LlavaTokenizer, lmLoss, readImage, tensorMap } from '@adsc/model';
import { openCheckpoint } from '@adsc/safetensors';
import { writeShapes, writeShapesLlava } from '@adsc/shapes';
import { readTrainingData } from '@adsc/train';
const root = mkdtempSync(join(tmpdir(), 'prof-'));
writeShapesLlava(join(root, 'model'), 0);
writeShapes(join(root, 'data'), { seed: 1, count: 4, imageSize: 168 });
setNumThreads(1);
const dir = join(root, 'model');
const src = openCheckpoint(dir);
const named = Object.fromEntries(src.names().map((n) => [n, src.tensor(n).to('f32').requireGrad()]));
const model = Llava.fromWeights(tensorMap(named), (await import('@adsc/model')).readConfig(dir));
const ex = readTrainingData(join(root, 'data/questions.json'), { tokenizer: LlavaTokenizer.load(dir, 4, 1), template: 'llava-hf', eosTokenId: 2, vocabSize: model.config.text.vocabSize, maxLength: 512, visionTokens: 144 });
for (let i = 0; i < 6; i++) {
  const t0 = performance.now();
  const e = ex[i % 4];
  const { loss } = lmLoss(model, { ...e, pixels: model.pixels(readImage(e.image!)) });
  const t1 = performance.now();
  backward(loss);
  console.log('fwd', (t1 - t0).toFixed(0), 'bwd', (performance.now() - t1).toFixed(0));
}
