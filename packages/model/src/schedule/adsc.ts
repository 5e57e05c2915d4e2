/**
 * ADSC (Attention-Driven Self-Compression): uniform downsampling of the vision tokens before
 * selected decoder layers.
 *
 * Before layer L with keep ratio r, a vision span of n tokens keeps k = max(1, floor(n r)) of them,
 * the first of each stride: span indices floor(j n / k) for j = 0..k-1. No scores are computed and
 * the attention operator is untouched, so every layer keeps the tiled (FlashAttention-style)
 * kernel; the model itself learns, through its own attention, to move what the dropped tokens held
 * into the survivors and the text. Each entry names its own layer and acts on the span as it is
 * by then.
 *
 * The ratio is kept as a fraction p/q when written as one ("1/3"), so k = floor(n p / q) is exact;
 * a decimal r uses floor(n r + 1e-6), so 0.3333333333 of 64 gives 21 like 1/3 does.
 */
import { keepVision, stagedPlan, type PositionMode, type Schedule } from './schedule.js';
import type { Sequence } from '../sequence.js';

export interface Ratio {
  /** As written, e.g. "0.5" or "1/3". */
  text: string;
  /** p / q when written as a fraction. */
  fraction?: [number, number];
  value: number;
}

export interface AdscEntry {
  layer: number;
  ratio: Ratio;
}

/** Tokens kept from a span of n: max(1, floor(n r)). */
export function keptCount(n: number, ratio: Ratio): number {
  // With integers n, p, q, the double division is exact whenever n p / q is an integer, and an
  // integer's distance to a non-integer quotient (>= 1/q) is far beyond rounding, so floor is exact.
  const k = ratio.fraction ? Math.floor((n * ratio.fraction[0]) / ratio.fraction[1]) : Math.floor(n * ratio.value + 1e-6);
  return Math.max(1, k);
}

/** The span indices ADSC keeps: floor(j n / k) for j = 0..k-1 (the first of each stride). */
export function uniformIndices(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, j) => Math.floor((j * n) / k));
}

export function adscSchedule(spec: string, entries: readonly AdscEntry[], positions: PositionMode): Schedule {
  const ratios = new Map(entries.map((e) => [e.layer, e.ratio]));
  if (ratios.size !== entries.length) throw new RangeError(`adsc schedule ${spec}: a layer appears twice`);
  return {
    spec,
    positions,
    plan: (vision, numLayers) => stagedPlan(vision, numLayers, (l, n) => (ratios.has(l) ? keptCount(n, ratios.get(l)!) : n)),
    referenceLayers: () => [],
    beforeLayer(layer: number, seq: Sequence): Sequence | undefined {
      const ratio = ratios.get(layer);
      if (ratio === undefined || seq.visionCount === 0) return undefined;
      const n = seq.visionCount;
      return keepVision(seq, uniformIndices(n, keptCount(n, ratio)), positions);
    },
  };
}
