/**
 * @adsc/attention: one attention entry point, three implementations.
 *
 * - `reference` (reference.ts): softmax(scale * Q K^T) V with the Tq x Tk matrix in memory; the only
 *   one that can return the probabilities (`attentionWithProbs`), which FastV needs.
 * - `tiled` (tiled.ts, the default): FlashAttention-2's tiled online softmax on the CPU; extra
 *   memory O(tile), never Tq x Tk. ADSC runs on it: it never asks for the probabilities. Its block
 *   products run on WebAssembly SIMD when core's wasm kernel is selected (wasm-blocks.ts). With no
 *   impl asked for, a decode step whose keys and values lie in a wasm arena (the model's KV cache)
 *   runs on SIMD kernels instead (arena-decode.ts).
 * - gpu.js kernels (gpu.ts, `createGpuAttention`): the same recurrence on WebGL / headless GL, or as
 *   JavaScript in gpu.js's cpu mode. gpu.js is loaded only when asked for.
 *
 * Shapes: q [Hq, Tq, D], k and v [Hkv, Tk, D], optionally with a leading batch axis; Hq a multiple of
 * Hkv (grouped-query attention). Output: a new contiguous f32 tensor shaped like q.
 *
 * `useGpuAttention(gpu)` sends every later inference call of `attention` to gpu.js kernels (the
 * browser page runs its decoder that way); calls on the autograd tape stay on the CPU kernels.
 *
 * Training: `attentionWithLse` also returns each query row's logsumexp, and `attentionBackward`
 * turns (q, k, v, out, lse, dOut) into dq, dk, dv: FlashAttention-2's tiled backward
 * (tiled-backward.ts, the default) or the textbook one (reference.ts).
 */
import { f32Output, needsGrad, record, tensor, type Tensor } from '@adsc/core';
import { arenaDecodeAttention, decodeArena } from './arena-decode.js';
import { headRows, rowValues } from './head-rows.js';
import { DEFAULT_TILE, resolveBackwardProblem, resolveProblem, resolveTile, type AttentionOptions, type AttentionProblem } from './options.js';
import { referenceAttention, referenceAttentionBackward } from './reference.js';
import type { GpuAttention } from './gpu.js';
import { tiledAttentionBackward } from './tiled-backward.js';
import { threadsFor, tiledAttention } from './tiled.js';

export { defaultQueryOffset, visibleKeyEnd } from './mask.js';
export { onlineSoftmaxStep } from './online-softmax.js';
export { referenceBackwardScratchBytes, referenceScratchBytes } from './reference.js';
export { createTiledScratch, scratchBytes } from './tiled.js';
export { TILED_BACKWARD_TASK, backwardScratchBytes, createBackwardScratch } from './tiled-backward.js';
export { wasmBackwardBytes } from './wasm-backward.js';
export { DEFAULT_TILE } from './options.js';
export type { AttentionImpl, AttentionOptions, AttentionProblem, TileSizes } from './options.js';
export {
  DEFAULT_GPU_TILE, GPU_MODES, createGpuAttention, gpuScratchBytes, type GpuAttention, type GpuAttentionOptions, type GpuMode,
} from './gpu.js';

/**
 * Scaled dot-product attention: [..., Hq, Tq, D] x [..., Hkv, Tk, D] x [..., Hkv, Tk, D] -> [..., Hq, Tq, D].
 *
 * On the autograd tape (core's `record`) when q, k or v requires a gradient: the forward then also
 * keeps each row's logsumexp, and the rule is `attentionBackward` (FlashAttention-2's backward
 * for the tiled kernel). At inference nothing extra is computed or kept.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (needsGrad([q, k, v])) {
    const { out, lse } = attentionWithLse(q, k, v, opts);
    return record('attention', [q, k, v], out, (g) => {
      const { dq, dk, dv } = attentionBackward(q, k, v, out, lse, g, opts);
      return [dq, dk, dv];
    });
  }
  if (gpuBackend && opts.impl === undefined) {
    const { impl: _, ...gpuOpts } = opts;
    return gpuBackend.attention(q, k, v, gpuOpts);
  }
  const p = resolveProblem('attention', q, k, v, opts);
  const [result, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
  forward(p, q, k, v, opts, out);
  return result;
}

let gpuBackend: GpuAttention | undefined;

/**
 * Runs every later `attention` call that records no gradient and names no `impl` on `gpu`
 * (`createGpuAttention`); `undefined` returns them to the tiled CPU kernel. The probabilities
 * FastV ranks by (`attentionWithProbs`) and the training paths never go to the GPU.
 */
export function useGpuAttention(gpu: GpuAttention | undefined): void {
  gpuBackend = gpu;
}

/** The gpu.js attention `useGpuAttention` installed, if any. */
export function gpuAttentionInUse(): GpuAttention | undefined {
  return gpuBackend;
}

/**
 * `attention` that also returns lse [..., Hq, Tq] (f32): each query row's logsumexp
 * log(sum_j exp(scale * q . k_j)) over its visible keys, -Infinity for a row that sees no key.
 * Together with `out` it is all `attentionBackward` needs.
 */
export function attentionWithLse(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; lse: Tensor } {
  const p = resolveProblem('attentionWithLse', q, k, v, opts);
  const [outTensor, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
  const [lseTensor, lse] = f32Output([...p.lead, p.queryHeads, p.queries]);
  forward(p, q, k, v, opts, out, lse);
  return { out: outTensor, lse: lseTensor };
}

/** Runs the implementation `opts.impl` asks for into `out` (and `lse` when given). */
function forward(p: AttentionProblem, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, out: Float32Array, lse?: Float32Array): void {
  if (opts.impl === 'reference') {
    referenceAttention(p, headRows(q, p, true), headRows(k, p, true), headRows(v, p, true), out, { lse });
    return;
  }
  const shared = threadsFor(p) > 1;
  const [qRows, kRows, vRows] = [headRows(q, p, shared), headRows(k, p, shared), headRows(v, p, shared)];
  // A decode step over a KV cache in a wasm arena (no impl asked for, no lse: inference).
  const arena = opts.impl === undefined && lse === undefined ? decodeArena(p, kRows, vRows) : undefined;
  if (arena) {
    arenaDecodeAttention(arena, p, qRows, kRows, vRows, out);
    return;
  }
  const tile = resolveTile('attention', opts.tile, DEFAULT_TILE);
  tiledAttention(p, qRows, kRows, vRows, out, tile, lse);
}

/**
 * Gradients of attention: given the inputs, the forward's `out` and `lse` (`attentionWithLse`) and
 * dOut = dLoss/dOut, returns dq shaped like q and dk, dv shaped like k and v (new contiguous f32
 * tensors). Same options as the forward; `impl` 'tiled' (default) is FlashAttention-2's backward in
 * O(tile) memory, 'reference' forms P per head (and does not read `out` and `lse`).
 */
export function attentionBackward(
  q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor, opts: AttentionOptions = {},
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const p = resolveBackwardProblem('attentionBackward', q, k, v, out, lse, dOut, opts);
  const [dqTensor, dq] = f32Output(q.shape);
  const [dkTensor, dk] = f32Output(k.shape);
  const [dvTensor, dv] = f32Output(v.shape);
  if (opts.impl === 'reference') {
    referenceAttentionBackward(p, headRows(q, p, true), headRows(k, p, true), headRows(v, p, true), headRows(dOut, p, true), dq, dk, dv);
  } else {
    const shared = threadsFor(p) > 1;
    const rows = (t: Tensor) => headRows(t, p, shared);
    const tile = resolveTile('attentionBackward', opts.tile, DEFAULT_TILE);
    tiledAttentionBackward(p, { q: rows(q), k: rows(k), v: rows(v), out: rows(out), dOut: rows(dOut), lse: rowValues(lse, shared) }, { dq, dk, dv }, tile);
  }
  return { dq: dqTensor, dk: dkTensor, dv: dvTensor };
}

/**
 * Reference attention that also returns the probabilities probs [..., Hq, Tq, Tk] (0 where masked;
 * each row sums to 1, or is all 0 for a row that sees no key) and the logsumexp lse [..., Hq, Tq]
 * (as `attentionWithLse`, so the layer can be trained with `attentionBackward`). This is what FastV
 * needs and what a FlashAttention-style kernel never forms. `impl` other than 'reference' is an error.
 */
export function attentionWithProbs(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; probs: Tensor; lse: Tensor } {
  if (opts.impl !== undefined && opts.impl !== 'reference') {
    throw new TypeError(`attentionWithProbs: only impl 'reference' forms the probabilities, got impl '${opts.impl}'`);
  }
  const p = resolveProblem('attentionWithProbs', q, k, v, opts);
  const [outTensor, out] = f32Output([...p.lead, p.queryHeads, p.queries, p.headDim]);
  const [probsTensor, probs] = f32Output([...p.lead, p.queryHeads, p.queries, p.keys]);
  const [lseTensor, lse] = f32Output([...p.lead, p.queryHeads, p.queries]);
  referenceAttention(p, headRows(q, p, true), headRows(k, p, true), headRows(v, p, true), out, { probs, lse });
  // The probabilities only rank tokens (FastV); the gradient flows through the output alone.
  const recorded = record('attention', [q, k, v], outTensor, (g) => {
    const { dq, dk, dv } = attentionBackward(q, k, v, outTensor, lseTensor, g, { ...opts, impl: 'reference' });
    return [dq, dk, dv];
  });
  return { out: recorded, probs: probsTensor, lse: lseTensor };
}
