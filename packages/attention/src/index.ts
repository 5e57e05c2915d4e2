/**
 * @adsc/attention: one attention entry point, three implementations.
 *
 * - `reference` (reference.ts): softmax(scale * Q K^T) V with the Tq x Tk matrix in memory; the only
 *   one that can return the probabilities (`attentionWithProbs`), which FastV needs.
 * - `tiled` (tiled.ts, the default): FlashAttention-2's tiled online softmax on the CPU; extra
 *   memory O(tile), never Tq x Tk. ADSC runs on it: it never asks for the probabilities.
 * - gpu.js kernels (gpu.ts, `createGpuAttention`): the same recurrence on WebGL / headless GL, or as
 *   JavaScript in gpu.js's cpu mode. gpu.js is loaded only when asked for.
 *
 * Shapes: q [Hq, Tq, D], k and v [Hkv, Tk, D], optionally with a leading batch axis; Hq a multiple of
 * Hkv (grouped-query attention). Output: a new contiguous f32 tensor shaped like q.
 */
import { f32Output, type Tensor } from '@adsc/core';
import { headRows } from './head-rows.js';
import { DEFAULT_TILE, resolveProblem, resolveTile, type AttentionOptions } from './options.js';
import { referenceAttention } from './reference.js';
import { threadsFor, tiledAttention } from './tiled.js';

export { defaultQueryOffset, visibleKeyEnd } from './mask.js';
export { onlineSoftmaxStep } from './online-softmax.js';
export { referenceScratchBytes } from './reference.js';
export { createTiledScratch, scratchBytes } from './tiled.js';
export { DEFAULT_TILE } from './options.js';
export type { AttentionImpl, AttentionOptions, AttentionProblem, TileSizes } from './options.js';
export {
  DEFAULT_GPU_TILE, GPU_MODES, createGpuAttention, gpuScratchBytes, type GpuAttention, type GpuAttentionOptions, type GpuMode,
} from './gpu.js';

/** Scaled dot-product attention: [..., Hq, Tq, D] x [..., Hkv, Tk, D] x [..., Hkv, Tk, D] -> [..., Hq, Tq, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const p = resolveProblem('attention', q, k, v, opts);
  const [result, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
  if (opts.impl === 'reference') {
    referenceAttention(p, headRows(q, p, true), headRows(k, p, true), headRows(v, p, true), out);
  } else {
    const shared = threadsFor(p) > 1;
    const tile = resolveTile('attention', opts.tile, DEFAULT_TILE);
    tiledAttention(p, headRows(q, p, shared), headRows(k, p, shared), headRows(v, p, shared), out, tile);
  }
  return result;
}

/**
 * Reference attention that also returns the probabilities probs [..., Hq, Tq, Tk] (0 where masked;
 * each row sums to 1, or is all 0 for a row that sees no key). This is what FastV needs and what a
 * FlashAttention-style kernel never forms. `impl` other than 'reference' is an error.
 */
export function attentionWithProbs(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; probs: Tensor } {
  if (opts.impl !== undefined && opts.impl !== 'reference') {
    throw new TypeError(`attentionWithProbs: only impl 'reference' forms the probabilities, got impl '${opts.impl}'`);
  }
  const p = resolveProblem('attentionWithProbs', q, k, v, opts);
  const [outTensor, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
  const [probsTensor, probs] = f32Output([...p.lead, p.queryHeads, p.queries, p.keys]);
  referenceAttention(p, headRows(q, p, true), headRows(k, p, true), headRows(v, p, true), out, probs);
  return { out: outTensor, probs: probsTensor };
}
