/**
 * A shapes-llava whose answer is known by hand: "yes", whatever the image and question.
 *
 * Every decoder layer's o_proj and down_proj are zero, so the residual stream at a position is just
 * that token's embedding. The prompt ends in ":", whose embedding is all ones, so the final RMSNorm
 * gives all ones and the logits are the row sums of lm_head: 128 for "yes" (a row of ones), -128
 * for </s> (a row of minus ones), 0 for every other token. "yes" is chosen; its own embedding is
 * all minus ones, which flips the signs, so the next token is </s>. Output: "yes".
 */
import { join } from 'node:path';
import { fromValues, zeros } from '@adsc/core';
import { save } from '@adsc/safetensors';
import { TEXT, initShapesLlava, shapesVocabulary, writeShapesLlava } from '@adsc/shapes';

export function writeAlwaysYesModel(dir: string): void {
  writeShapesLlava(dir, 0);
  const w = initShapesLlava(0);
  const vocab = shapesVocabulary();
  const d = TEXT.hidden;
  const setRow = (values: Float32Array, token: string, value: number) => values.fill(value, vocab.indexOf(token) * d, (vocab.indexOf(token) + 1) * d);
  for (let l = 0; l < TEXT.layers; l++) {
    const p = `language_model.model.layers.${l}`;
    w[`${p}.self_attn.o_proj.weight`] = zeros([d, d]);
    w[`${p}.mlp.down_proj.weight`] = zeros([d, TEXT.intermediate]);
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
