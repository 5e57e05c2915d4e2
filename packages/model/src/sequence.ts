/**
 * The sequence a decoder layer sees, and how an image enters it.
 *
 * LLaVA's prompt holds one `<image>` token (id `image_token_index`). The image's P projected
 * features replace it, so a prompt of T ids becomes T - 1 + P embeddings: the vision span is the
 * P consecutive rows where the token stood. Newer processors expand the token themselves into P
 * copies; that form is accepted too. Token-reduction schedules shrink the vision span in place
 * and never touch the text around it.
 */
import { Tensor, concat, formatShape } from '@adsc/core';

export interface Sequence {
  hidden: Tensor; // [T, d]
  /** RoPE position id of each of the T tokens. */
  positions: Int32Array;
  /** Index of the first vision token in the current sequence (0 when there is no image). */
  visionStart: number;
  /** Vision tokens still in the sequence. */
  visionCount: number;
  /** For each vision token in the span, its index among the image's original features. */
  visionIndex: Int32Array;
}

export class PromptError extends Error {
  override name = 'PromptError';
}

/**
 * Embeds `ids` and splices the image `features` [P, d] in place of the image token(s).
 * `embed` maps text ids to [n, d] embeddings.
 */
export function mergeImage(
  ids: readonly number[],
  imageTokenIndex: number,
  features: Tensor | undefined,
  embed: (ids: readonly number[]) => Tensor,
): Sequence {
  const slots = ids.flatMap((id, i) => (id === imageTokenIndex ? [i] : []));
  if (slots.length === 0) {
    if (features) throw new PromptError(`an image was given but the prompt has no image token (id ${imageTokenIndex})`);
    return { hidden: embed(ids), positions: range(ids.length), visionStart: 0, visionCount: 0, visionIndex: new Int32Array(0) };
  }
  if (!features) throw new PromptError(`the prompt has ${slots.length} image token(s) (id ${imageTokenIndex}) but no image was given`);
  const p = features.shape[0];
  const start = slots[0];
  const expanded = slots.length === p && slots[p - 1] - start === p - 1;
  if (slots.length !== 1 && !expanded) {
    throw new PromptError(
      `the prompt has ${slots.length} image tokens (id ${imageTokenIndex}); expected one, or ${p} consecutive ones (one per feature ${formatShape(features.shape)})`,
    );
  }
  const before = ids.slice(0, start);
  const after = ids.slice(start + slots.length);
  const parts = [embed(before), features.to('f32'), embed(after)].filter((t) => t.shape[0] > 0);
  const hidden = concat(parts, 0); // [T - 1 + P, d]
  return { hidden, positions: range(hidden.shape[0]), visionStart: start, visionCount: p, visionIndex: range(p) };
}

export function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
