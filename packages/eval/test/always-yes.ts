/**
 * A small shapes-llava whose answer is known by hand: "yes", whatever the image and question.
 *
 * Every decoder layer's o_proj and down_proj are zero, so the residual stream at a position is just
 * that token's embedding. The prompt ends in ":", whose embedding is all ones, so the final RMSNorm
 * gives all ones and the logits are the row sums of lm_head: 32 for "yes" (a row of ones), -32
 * for </s> (a row of minus ones), 0 for every other token. "yes" is chosen; its own embedding is
 * all minus ones, which flips the signs, so the next token is </s>. Output: "yes".
 */
import { join } from 'node:path';
import { fromValues, zeros } from '@adsc/core';
import { save } from '@adsc/safetensors';
import { initShapesLlava, shapesVocabulary, writeShapesLlava, type LlavaSizes } from '@adsc/shapes';

/**
 * shapes-llava's vocabulary and file set at a size that runs a question in milliseconds: 56 px
 * images (16 vision tokens; the 168 px scenes are resized), a 6-layer decoder of width 32.
 */
export const SMALL: LlavaSizes = {
  text: { hidden: 32, layers: 6, heads: 2, intermediate: 64, maxPositions: 128 },
  vision: { hidden: 16, layers: 2, heads: 2, intermediate: 32, image: 56, patch: 14 },
};

export function writeAlwaysYesModel(dir: string): void {
  writeShapesLlava(dir, 0, SMALL);
  const w = initShapesLlava(0, shapesVocabulary().length, SMALL);
  const vocab = shapesVocabulary();
  const { hidden: d, layers, intermediate } = SMALL.text;
  const setRow = (values: Float32Array, token: string, value: number) => values.fill(value, vocab.indexOf(token) * d, (vocab.indexOf(token) + 1) * d);
  for (let l = 0; l < layers; l++) {
    const p = `language_model.model.layers.${l}`;
    w[`${p}.self_attn.o_proj.weight`] = zeros([d, d]);
    w[`${p}.mlp.down_proj.weight`] = zeros([d, intermediate]);
  }
  const embed = Float32Array.from(w['language_model.model.embed_tokens.weight'].toArray());
  setRow(embed, ':', 1);
  setRow(embed, 'yes', -1);
  w['language_model.model.embed_tokens.weight'] = fromValues(embed, [vocab.length, d]);
  const head = new Float32Array(vocab.length * d);
  setRow(head, 'yes', 1);
  setRow(head, '</s>', -1);
  w['language_model.lm_head.weight'] = fromValues(head, [vocab.length, d]);
  save(join(dir, 'model.safetensors'), w, { note: 'test fixture: answers "yes" to everything' });
}
