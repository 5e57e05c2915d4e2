/**
 * What a token-reduction schedule can do to a prefill, and nothing more:
 * - `beforeLayer`: return a shorter sequence before a decoder layer runs (ADSC, PyramidDrop);
 * - `needsProbs`: ask a layer to run the reference attention and hand over its probabilities
 *   (FastV ranks tokens by them; a FlashAttention-style kernel cannot provide them);
 * - `afterLayer`: receive those probabilities and return a shorter sequence for the next layer.
 * Decode steps are never reduced: they attend to whatever each layer cached during prefill.
 *
 * Every schedule also states its plan without running anything (`plan`): how many vision tokens
 * each layer processes. The FLOPs / KV accounting is computed from that plan, and the tests check
 * that a real run follows it exactly.
 */
import type { Tensor } from '@adsc/core';
import { indexSelect } from '@adsc/core';
import type { DecoderLayer } from '../llama.js';
import type { TokenPositions } from '../rope.js';
import { stemLength, type Sequence } from '../sequence.js';

/** What a schedule may read before layer l: that layer, and where the current tokens sit. */
export interface LayerContext {
  layer: DecoderLayer;
  /** Position ids and RoPE tables of the sequence as it is now (before any drop). */
  positions: TokenPositions;
}

/** How kept tokens are numbered for RoPE after a reduction. */
export type PositionMode = 'original' | 'renumber';

export interface Schedule {
  /** The spec it was parsed from, e.g. "adsc:2=0.5,3=0.5" or "none". */
  readonly spec: string;
  readonly positions: PositionMode;
  /** Vision tokens each of `numLayers` layers processes when the prompt holds `vision` of them. */
  plan(vision: number, numLayers: number): number[];
  /** Layers that must run the reference attention (the ones whose probabilities are needed). */
  referenceLayers(numLayers: number): number[];
  /** Layers before which the schedule ranks tokens with extra projections (PyramidDrop). */
  rankingLayers?(numLayers: number): number[];
  beforeLayer?(layer: number, seq: Sequence, ctx: LayerContext): Sequence | undefined;
  needsProbs?(layer: number): boolean;
  afterLayer?(layer: number, seq: Sequence, probs: Tensor): Sequence | undefined;
}

/** The unreduced model. */
export const NO_SCHEDULE: Schedule = {
  spec: 'none',
  positions: 'original',
  plan: (vision, numLayers) => stagedPlan(vision, numLayers, (_, n) => n),
  referenceLayers: () => [],
};

/**
 * Keeps the vision tokens at span indices `keep` (ascending) and every text token; position ids
 * stay original or are renumbered 0..T'-1 (a sequence with branches: the stem 0..S'-1, and each
 * branch still restarts where the stem ends).
 */
export function keepVision(seq: Sequence, keep: readonly number[], positions: PositionMode): Sequence {
  const total = seq.hidden.shape[0];
  const start = seq.visionStart;
  const rows = [
    ...Array.from({ length: start }, (_, i) => i),
    ...keep.map((j) => start + j),
    ...Array.from({ length: total - start - seq.visionCount }, (_, i) => start + seq.visionCount + i),
  ];
  const dropped = seq.visionCount - keep.length;
  const stem = stemLength(seq) - dropped;
  const renumbered = (r: number, i: number) => (i < stem ? i : seq.positions[r] - dropped);
  return {
    hidden: indexSelect(seq.hidden, 0, rows), // [T', d]
    positions: positions === 'original' ? Int32Array.from(rows, (r) => seq.positions[r]) : Int32Array.from(rows, renumbered),
    visionStart: start,
    visionCount: keep.length,
    visionIndex: Int32Array.from(keep, (j) => seq.visionIndex[j]),
    ...(seq.branches ? { branches: seq.branches } : {}),
  };
}

/**
 * Vision tokens per layer when `reduce(layer, n)` says how many of n survive before `layer` (n
 * itself where nothing happens); once no vision token is left, nothing changes.
 */
export function stagedPlan(vision: number, numLayers: number, reduce: (layer: number, n: number) => number): number[] {
  let n = vision;
  return Array.from({ length: numLayers }, (_, layer) => (n = n > 0 ? reduce(layer, n) : n));
}

/** Indices of the `k` largest scores (ties: the lower index wins), in ascending order. */
export function topKInOrder(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}
