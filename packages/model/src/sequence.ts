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
  /**
   * Training only: lengths of the independent branches the sequence ends with (`withBranches`).
   * Absent or empty: one causal sequence.
   */
  branches?: readonly number[];
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

/**
 * Independent turns (training): the last rows of `seq` become branches of the given lengths, in
 * order. Each branch sees the stem (every row before the first branch, which must hold the image)
 * and itself, never another branch, and its position ids restart where the stem ends. A branch is
 * then exactly the same text as the only turn after the stem: K questions about one image train
 * as K single-turn records would, with one pass over the image's tokens instead of K.
 */
export function withBranches(seq: Sequence, lengths: readonly number[]): Sequence {
  const total = seq.hidden.shape[0];
  lengths.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 1) throw new PromptError(`branch ${b} has length ${n}; branches must be positive integers`);
  });
  const stem = total - lengths.reduce((s, n) => s + n, 0);
  const visionEnd = seq.visionStart + seq.visionCount;
  if (stem < Math.max(1, visionEnd)) {
    throw new PromptError(`branches of ${lengths.join(' + ')} tokens leave a stem of ${stem} of the ${total} tokens; it must hold the image (tokens [0, ${visionEnd}))`);
  }
  const positions = new Int32Array(total);
  positions.set(seq.positions.subarray(0, stem));
  const next = seq.positions[stem - 1] + 1;
  let row = stem;
  for (const n of lengths) for (let i = 0; i < n; i++) positions[row++] = next + i;
  return { ...seq, positions, branches: [...lengths] };
}

/** Rows of `seq` before its first branch (all of them when it has none). */
export function stemLength(seq: Sequence): number {
  return seq.hidden.shape[0] - (seq.branches ?? []).reduce((s, n) => s + n, 0);
}

export function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
