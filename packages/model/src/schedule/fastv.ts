/**
 * FastV (Chen et al. 2024), the score-based baseline: after layer K-1 runs, its attention
 * probabilities [H, T, T] are averaged over heads; the row of the last prompt token says how much
 * attention each token received; the Math.round(n (1 - R)) vision tokens with the most attention
 * are kept (in their order) and layers K.. run on the shorter sequence. Original position ids are
 * kept. Pruning happens at prefill only.
 *
 * This is the contrast with ADSC the project makes visible: layer K-1 must materialise the
 * probabilities, so it runs the reference attention (`needsProbs`), not the tiled kernel, and holds
 * an H x T x T array that FlashAttention never forms.
 */
import { keepVision, stagedPlan, topKInOrder, type PositionMode, type Schedule } from './schedule.js';
import type { Tensor } from '@adsc/core';
import type { Sequence } from '../sequence.js';

/** Tokens FastV keeps of n: Math.round(n (1 - R)). */
export function fastvKeep(n: number, dropRatio: number): number {
  return Math.round(n * (1 - dropRatio));
}

export function fastvSchedule(spec: string, k: number, dropRatio: number, positions: PositionMode): Schedule {
  return {
    spec,
    positions,
    plan: (vision, numLayers) => stagedPlan(vision, numLayers, (l, n) => (l === k ? fastvKeep(n, dropRatio) : n)),
    referenceLayers: () => [k - 1],
    needsProbs: (layer) => layer === k - 1,
    afterLayer(layer: number, seq: Sequence, probs: Tensor): Sequence | undefined {
      if (layer !== k - 1 || seq.visionCount === 0) return undefined;
      const [heads, tokens] = probs.shape; // probs [H, T, T]
      const last = tokens - 1;
      const n = seq.visionCount;
      // Attention the last prompt token pays each vision token, averaged over heads.
      const scores = new Float64Array(n);
      for (let h = 0; h < heads; h++) {
        for (let j = 0; j < n; j++) scores[j] += probs.get(h, last, seq.visionStart + j) / heads;
      }
      return keepVision(seq, topKInOrder(scores, fastvKeep(n, dropRatio)), positions);
    },
  };
}
