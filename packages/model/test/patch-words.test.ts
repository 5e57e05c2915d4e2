/**
 * An image given as words (Llava.embedPatchWords): each vision token is the sum of its words'
 * embeddings, the oracle projector a decoder can be pretrained on before any tower shows it objects.
 */
import { describe, expect, it } from 'vitest';
import { backward, embedding, tensor, type Tensor } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { openCheckpoint } from '@adsc/safetensors';
import { Llava, PromptError, generate, lmLoss, readConfig, tensorMap } from '../src/index.js';
import { checkpointDir, pixels } from './golden.js';

const model = Llava.load(checkpointDir('tiny-gqa'));
const { imageSize, patchSize } = model.config.vision;
const P = (imageSize / patchSize) ** 2;
const d = model.config.text.hiddenSize;
const row = (id: number) => Array.from(embedding(model.decoder.embedTokens, [id]).toFloat32Array());

/** Patch 0 shows words 10 and 11, patch 1 nothing, patch 2 word 10, every other patch word 12. */
const words = Array.from({ length: P }, (_, p) => (p === 0 ? [10, 11] : p === 1 ? [] : p === 2 ? [10] : [12]));

describe('an image given as patch words', () => {
  it('gives each vision token the sum of its words\' embeddings, and zero to a patch with none', () => {
    const features = model.embedPatchWords(words);
    expect(features.shape).toEqual([P, d]);
    const v = features.toFloat32Array();
    const at = (p: number) => Array.from(v.subarray(p * d, (p + 1) * d));
    expectClose(at(0), row(10).map((x, k) => x + row(11)[k]), { atol: 1e-6 });
    expect(at(1)).toEqual(new Array(d).fill(0));
    expectClose(at(2), row(10), { atol: 1e-6 });
    expectClose(at(P - 1), row(12), { atol: 1e-6 });
  });

  it('refuses a list whose length is not the tower\'s count of vision tokens', () => {
    expect(() => model.embedPatchWords(words.slice(1))).toThrow(PromptError);
    expect(() => model.embedPatchWords(words.slice(1))).toThrow(`${P - 1} patches given, but the vision tower has ${P} vision tokens`);
  });

  it('passes each patch\'s gradient to the embedding rows of its words', () => {
    const dir = checkpointDir('tiny-gqa');
    const source = openCheckpoint(dir);
    const table = source.tensor('language_model.model.embed_tokens.weight').to('f32').requireGrad();
    const named = Object.fromEntries(source.names().map((n) => [n, n === 'language_model.model.embed_tokens.weight' ? table : source.tensor(n)]));
    const trainable = Llava.fromWeights(tensorMap(named), readConfig(dir));
    // The gradient of every element of patch p is w_p = p + 1, so d / d row(id) = the sum of w_p over the patches holding id.
    const weights = tensor(Array.from({ length: P * d }, (_, i) => Math.floor(i / d) + 1), [P, d]);
    backward(trainable.embedPatchWords(words), weights);
    const grad = (table.grad as Tensor).toFloat32Array();
    const gradRow = (id: number) => Array.from(grad.subarray(id * d, (id + 1) * d));
    expect(gradRow(10)).toEqual(new Array(d).fill(1 + 3)); // patches 0 and 2
    expect(gradRow(11)).toEqual(new Array(d).fill(1)); // patch 0
    expect(gradRow(12)).toEqual(new Array(d).fill(((4 + P) * (P - 3)) / 2)); // patches 3 .. P-1: weights 4 .. P
    expect(gradRow(13)).toEqual(new Array(d).fill(0));
  });

  it('reaches the decoder in place of the projector\'s output, at the image token', () => {
    const ids = [1, 5, model.config.imageTokenIndex, 7, 8];
    const spliced = model.prefill(model.embedPrompt(ids, model.embedPatchWords(words)));
    const viaGenerate = generate(model, ids, words, { maxNewTokens: 1 });
    expectClose(viaGenerate.prefillLogits, spliced.logits, { atol: 1e-6 });
    expect(viaGenerate.promptTokens).toBe(ids.length - 1 + P);
  });

  it('cannot be given together with pixels in a training example', () => {
    const ids = [1, 5, model.config.imageTokenIndex, 7, 8];
    const example = { inputIds: ids, labels: [-100, -100, -100, -100, 8], pixels: pixels('pixels-a.bin'), patchWords: words };
    expect(() => lmLoss(model, example)).toThrow('pixels or patch words, not both');
  });
});
