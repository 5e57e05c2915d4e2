/**
 * Hugging Face's causal-LM loss on LLaVA, through the same forward as inference.
 *
 *   ids [T] --embed, splice image--> sequence [T - 1 + P, d] --decoder layers (schedule)--> [T', d]
 *   rows that predict a labelled token --final norm, lm_head--> logits [N, V] --cross-entropy--> loss
 *
 * `labels` is aligned with `input_ids` (the caller does not shift): the row of token t predicts
 * labels[t + 1], and -100 is ignored. The image token's label must be -100; once the image is
 * spliced in, every vision position is -100 too (they predict nothing and are never predicted).
 *
 * A schedule drops vision rows before some layers. The loss needs, for each labelled token t, the
 * final hidden state of token t - 1; if a schedule dropped that token the prediction cannot be made,
 * and the example is refused rather than silently skipped. Only the rows that predict something go
 * through the lm_head (a fraction of T when the prompt is long).
 */
import { crossEntropy, indexSelect, type Tensor } from '@adsc/core';
import type { DecoderRun, Llava, PatchWords } from './llava.js';
import type { Schedule } from './schedule/schedule.js';
import { PromptError, withBranches, type Sequence } from './sequence.js';

export const IGNORE_INDEX = -100;

export interface LabelledExample {
  inputIds: readonly number[];
  /** One per input id; -100 where nothing is predicted. */
  labels: readonly number[];
  /** [3, S, S] when the prompt has an image token (or `patchWords`). */
  pixels?: Tensor;
  /** The image as words instead of pixels (Llava.embedPatchWords). */
  patchWords?: PatchWords;
  /**
   * Independent turns: the ids end with branches of these lengths, each seeing only the stem before
   * them and itself (sequence.ts, `withBranches`). A branch's first token must not be labelled.
   */
  branches?: readonly number[];
}

export interface LossOptions {
  schedule?: Schedule;
  /** Recompute each decoder layer in the backward pass instead of keeping its activations. */
  checkpoint?: boolean;
  /** 'sum' (default; the trainer divides by the batch's label count) or 'mean' over this example. */
  reduction?: 'sum' | 'mean';
}

export interface LossResult {
  /** A scalar tensor on the tape. */
  loss: Tensor;
  /** Labelled tokens it covers. */
  count: number;
  run: DecoderRun;
}

/** Labelled tokens the loss of `labels` covers (position 0 is never predicted). */
export function labelCount(labels: readonly number[]): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  return n;
}

export function lmLoss(model: Llava, example: LabelledExample, opts: LossOptions = {}): LossResult {
  const { inputIds, labels, pixels, patchWords } = example;
  if (pixels && patchWords) throw new PromptError('an example has one image: pixels or patch words, not both');
  if (labels.length !== inputIds.length) {
    throw new PromptError(`labels has ${labels.length} entries for ${inputIds.length} input ids`);
  }
  const imageToken = model.config.imageTokenIndex;
  inputIds.forEach((id, t) => {
    if (id === imageToken && labels[t] !== IGNORE_INDEX) throw new PromptError(`the image token at position ${t} has label ${labels[t]}; it must be -100`);
  });

  const branches = example.branches ?? [];
  let start = inputIds.length - branches.reduce((s, n) => s + n, 0);
  for (const n of branches) {
    if (start >= 0 && start < labels.length && labels[start] !== IGNORE_INDEX) {
      throw new PromptError(`position ${start} starts a branch and has label ${labels[start]}; it must be -100 (no other branch may predict it)`);
    }
    start += n;
  }

  const image = pixels ?? patchWords;
  const features = image === undefined ? undefined : model.imageFeatures(image); // [P, d]
  const embedded = model.embedPrompt(inputIds, features);
  const prompt = branches.length > 0 ? withBranches(embedded, branches) : embedded;
  // Labels over the merged sequence: the image token's slot(s) become P vision positions of -100.
  const slots = inputIds.filter((id) => id === imageToken).length;
  const p = prompt.visionCount;
  const merged = [...labels.slice(0, prompt.visionStart), ...new Array<number>(p).fill(IGNORE_INDEX), ...labels.slice(prompt.visionStart + slots)];

  const run = model.runDecoder(prompt, { schedule: opts.schedule, checkpoint: opts.checkpoint });
  const original = originalIndices(run.seq, p);
  const rowOf = new Map<number, number>();
  original.forEach((o, r) => rowOf.set(o, r));
  const rows: number[] = [];
  const targets: number[] = [];
  for (let t = 1; t < merged.length; t++) {
    if (merged[t] === IGNORE_INDEX) continue;
    const row = rowOf.get(t - 1);
    if (row === undefined) {
      throw new PromptError(`schedule ${opts.schedule?.spec ?? 'none'} drops the token before labelled position ${t}, so it cannot be predicted`);
    }
    rows.push(row);
    targets.push(merged[t]);
  }
  if (rows.length === 0) throw new PromptError('no labelled token: every label is -100 (or only the first one is set)');
  const logits = model.decoder.logits(indexSelect(run.seq.hidden, 0, rows)); // [N, V]
  const loss = crossEntropy(logits, targets, { reduction: opts.reduction ?? 'sum' });
  return { loss, count: rows.length, run };
}

/** For each row of the final sequence, its index in the merged prompt (vision span of P before any drop). */
function originalIndices(seq: Sequence, p: number): number[] {
  const total = seq.hidden.shape[0];
  const start = seq.visionStart;
  return Array.from({ length: total }, (_, r) => {
    if (r < start) return r;
    if (r < start + seq.visionCount) return start + seq.visionIndex[r - start];
    return r - seq.visionCount + p;
  });
}
