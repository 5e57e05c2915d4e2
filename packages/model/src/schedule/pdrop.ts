/**
 * PyramidDrop (Xing et al., CVPR 2025), the light-score baseline: before each stage layer l, the
 * vision tokens are ranked by how much the last instruction token would attend to them in layer l,
 * and the top `ratio` of them survive (576 -> 288 -> 144 -> 72 with stages 8, 16, 24 and 0.5).
 *
 * The ranking needs no attention matrix: apply layer l's input RMSNorm, q_proj (last token only)
 * and k_proj to the current hidden states, rotate them at the tokens' current positions, and take
 * softmax(q_last K^T / sqrt(hd)) over all T keys per head, averaged over heads, in f32. Position
 * ids are renumbered contiguously after a drop (PyramidDrop's convention; `positions` can keep them).
 */
import { noGrad, rmsNorm } from '@adsc/core';
import { applyLinear } from '../linear.js';
import { rope, ropeTables } from '../rope.js';
import type { Sequence } from '../sequence.js';
import { keepVision, stagedPlan, topKInOrder, type LayerContext, type PositionMode, type Schedule } from './schedule.js';

/** Tokens kept of n at each stage: max(1, floor(n * ratio)). */
export function pdropKeep(n: number, ratio: number): number {
  return Math.max(1, Math.floor(n * ratio + 1e-6));
}

/**
 * Head-averaged attention of the last token over the vision span, under the next layer's q/k.
 * A ranking, not part of the model's function: no gradient flows through it.
 */
export function lastTokenScores({ layer, positions }: LayerContext, seq: Sequence): Float64Array {
  return noGrad(() => scores(layer, positions, seq));
}

function scores(l: LayerContext['layer'], positions: LayerContext['positions'], seq: Sequence): Float64Array {
  const { numHeads: h, numKvHeads: hkv, headDim: hd, rmsNormEps, ropeTheta } = l.cfg;
  const tokens = seq.hidden.shape[0];
  const hn = rmsNorm(seq.hidden, l.w.inputNorm, rmsNormEps); // [T, d]
  // The last token's tables are a one-off; the full sequence's are the ones the layers share.
  const q = rope(applyLinear(l.w.q, hn.narrow(0, tokens - 1, 1)), h, ropeTables(seq.positions.subarray(tokens - 1), hd, ropeTheta)); // [1, H*hd]
  const k = rope(applyLinear(l.w.k, hn), hkv, positions.tables); // [T, Hkv*hd]
  const qd = q.data as Float32Array;
  const kd = k.data as Float32Array;
  const group = h / hkv;
  const scale = 1 / Math.sqrt(hd);
  const scores = new Float64Array(seq.visionCount);
  const logits = new Float64Array(tokens);
  for (let head = 0; head < h; head++) {
    const kvHead = Math.floor(head / group);
    let max = -Infinity;
    for (let t = 0; t < tokens; t++) {
      let dot = 0;
      for (let i = 0; i < hd; i++) dot += qd[head * hd + i] * kd[t * hkv * hd + kvHead * hd + i];
      logits[t] = Math.fround(dot * scale);
      max = Math.max(max, logits[t]);
    }
    let sum = 0;
    for (let t = 0; t < tokens; t++) sum += (logits[t] = Math.exp(logits[t] - max));
    for (let j = 0; j < seq.visionCount; j++) scores[j] += logits[seq.visionStart + j] / sum / h;
  }
  return scores;
}

export function pdropSchedule(spec: string, stages: readonly number[], ratio: number, positions: PositionMode): Schedule {
  return {
    spec,
    positions,
    plan: (vision, numLayers) => stagedPlan(vision, numLayers, (l, n) => (stages.includes(l) ? pdropKeep(n, ratio) : n)),
    referenceLayers: () => [],
    rankingLayers: (numLayers) => stages.filter((l) => l < numLayers),
    beforeLayer(layer: number, seq: Sequence, ctx: LayerContext): Sequence | undefined {
      if (!stages.includes(layer) || seq.visionCount === 0) return undefined;
      const scores = lastTokenScores(ctx, seq);
      return keepVision(seq, topKInOrder(scores, pdropKeep(seq.visionCount, ratio)), positions);
    },
  };
}
