/**
 * Training and inference share one forward pass, so under an ADSC schedule the training loss of
 * every answer in a multi-turn record must equal the next-token loss that inference (a prefill of
 * the record up to that answer) gives. ADSC's drop depends on the vision span only, never on the text
 * after it, so a prefix sees exactly the tokens the whole record sees. A label shifted by the
 * dropped vision rows, or a follow-up turn attending to the wrong keys, would break the equality.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noGrad } from '@adsc/core';
import { IGNORE_INDEX, Llava, LlavaTokenizer, lmLoss, parseSchedule, readImage } from '@adsc/model';
import { writeShapes } from '@adsc/shapes';
import { readTrainingData } from '@adsc/train';
import { tinySetup } from '../packages/train/test/tiny-model.js';

/** -log softmax(logits)[id] */
function nll(logits: Float32Array, id: number): number {
  const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
  const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
  return -(logits[id] - max - Math.log(z));
}

describe('the training loss under an ADSC schedule', () => {
  it('equals inference\'s next-token loss for every answer of a four-turn record', { timeout: 60_000 }, () => {
    const { root, model: dir } = tinySetup(1);
    writeShapes(join(root, 'turns'), { seed: 5, count: 2, imageSize: 84, turns: 4 });
    const model = Llava.load(dir);
    const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
    const examples = readTrainingData(join(root, 'turns/questions.json'), {
      tokenizer, template: 'llava-hf', eosTokenId: model.config.eosTokenIds[0], vocabSize: model.config.text.vocabSize,
      maxLength: model.config.text.maxPositions, visionTokens: 16,
    });
    const schedule = parseSchedule('adsc:1=1/2', { numLayers: model.config.text.numLayers });
    noGrad(() => {
      for (const e of examples) {
        const pixels = model.pixels(readImage(e.image!));
        const features = model.encodeImage(pixels);
        const answers = e.labels.flatMap((l, t) => (t > 0 && l !== IGNORE_INDEX ? [t] : []));
        expect(answers.length).toBe(8); // four answers, each followed by </s>
        for (const t of answers) {
          const only = e.labels.map((l, i) => (i === t ? l : IGNORE_INDEX));
          const trained = lmLoss(model, { inputIds: e.inputIds, labels: only, pixels }, { schedule }).loss.toFloat32Array()[0];
          const { logits } = model.prefill(model.embedPrompt(e.inputIds.slice(0, t), features), schedule);
          expect(Math.abs(trained - nll(logits, e.labels[t])), `${e.id}, token ${t}`).toBeLessThan(1e-5);
        }
      }
    });
  });
});
