/**
 * FlashAttention-2 backward on the CPU: the gradients of attention from the forward's output O and
 * per-row logsumexp L, tiled, never the Tq x Tk matrix.
 *
 * The forward kept only O and L = m + log(l) per query row (tiled.ts). That is enough to rebuild
 * any block of probabilities exactly: P = exp(S - L), with S = scale Q_i K_j^T recomputed. With
 * delta_i = rowsum(dO_i * O_i) (FlashAttention's D_i; D is the head dim here), each pair of a key
 * tile j (Bc keys) and a query tile i (Br rows) contributes
 *
 *   P  = exp(scale Q_i K_j^T - L_i) [Br, Bc]  masked entries left out (P = 0)
 *   dV_j += P^T dO_i                [Bc, D]
 *   dP = dO_i V_j^T                 [Br, Bc]
 *   dS = P * (dP - delta_i)         [Br, Bc]
 *   dQ_i += scale dS K_j            [Br, D]
 *   dK_j += scale dS^T Q_i          [Bc, D]
 *
 * Key tiles are the outer loop (as in FlashAttention-2): dK_j and dV_j accumulate in doubles over
 * every query tile and every query head that reads the key/value head (grouped-query attention sums
 * them), then are written once; dQ_i gets each block's contribution added to the f32 output.
 * Causal query tiles whose last row sees no key of tile j are skipped, and keys past the last row's
 * visible end are never visited (their gradients stay 0). A row that sees no key (L = -Infinity)
 * has P = 0, so it contributes nothing and its dQ stays 0.
 *
 * Extra memory per thread: S/P and dP/dS [Br, Bc], dQ_i [Br, D], dK_j and dV_j [Bc, D], delta [Br]
 * in doubles (`createBackwardScratch`): the tile sizes and D, never Tq or Tk. With the wasm kernel
 * selected the same blocks run on SIMD instead (wasm-backward.ts), over a copy of the kv head's K
 * and V rows and its query heads' Q and dO rows in the thread's wasm memory, with f32 accumulators
 * for dQ, dK and dV there: O((Tk + group Tq) D) instead of the scratch.
 *
 * Threads: the work is split by key/value heads (`TILED_BACKWARD_TASK`). A part owns the dK and dV
 * rows of its kv heads and the dQ rows of their query heads, so no two threads write the same
 * memory and the result does not depend on the thread count.
 */
import { runOnThreads, type ThreadTask } from '@adsc/core';
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import type { AttentionProblem } from './options.js';
import { threadsFor } from './tiled.js';
import { accumulateBlock, probabilityBlock, scoreBlock } from './blocks.js';
import { wasmBackwardHeads } from './wasm-backward.js';
import { simdBlocks } from './wasm-blocks.js';

/** One thread's share: key/value heads [kvHeadStart, kvHeadEnd) (over B * Hkv) of one call. */
export interface TiledBackwardPart {
  q: HeadRows;
  k: HeadRows;
  v: HeadRows;
  /** The forward's output, read like q. */
  out: HeadRows;
  /** The gradient of the loss with respect to the output, read like q. */
  dOut: HeadRows;
  /** The forward's logsumexp [heads, Tq], contiguous. */
  lse: Float32Array;
  /** Gradients, contiguous and zero on entry: dq [heads, Tq, D], dk and dv [B * Hkv, Tk, D]. */
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  kvHeadStart: number;
  kvHeadEnd: number;
  problem: AttentionProblem;
  /** Br x Bc */
  tile: { queries: number; keys: number };
  /** Every block on SIMD in the kernel's memory (wasm-backward.ts; `simdBlocks`, decided on the calling thread) or in JavaScript. */
  simd: boolean;
}

/** The working memory of one thread. */
export interface BackwardScratch {
  /** S, then P, for one query tile x key tile: [Br, Bc]. */
  p: Float64Array;
  /** dP, then dS: [Br, Bc]. */
  ds: Float64Array;
  /** delta = rowsum(dO * O) of the query tile's rows: [Br]. */
  delta: Float64Array;
  /** One block's contribution to dQ_i: [Br, D]. */
  dq: Float64Array;
  /** dK_j and dV_j of the key tile, over all query tiles and heads: [Bc, D]. */
  dk: Float64Array;
  dv: Float64Array;
}

export function createBackwardScratch(tileQueries: number, tileKeys: number, headDim: number): BackwardScratch {
  return {
    p: new Float64Array(tileQueries * tileKeys),
    ds: new Float64Array(tileQueries * tileKeys),
    delta: new Float64Array(tileQueries),
    dq: new Float64Array(tileQueries * headDim),
    dk: new Float64Array(tileKeys * headDim),
    dv: new Float64Array(tileKeys * headDim),
  };
}

export function backwardScratchBytes(scratch: BackwardScratch): number {
  return Object.values(scratch).reduce((sum: number, a: Float64Array) => sum + a.byteLength, 0);
}

/** Runs kv heads [kvHeadStart, kvHeadEnd) of a call; the entry point of the worker threads too. */
export function tiledBackwardHeads(part: TiledBackwardPart): void {
  const br = Math.min(part.tile.queries, Math.max(1, part.problem.queries));
  if (part.simd) {
    wasmBackwardHeads(part, br);
    return;
  }
  const scratch = createBackwardScratch(br, part.tile.keys, part.problem.headDim);
  for (let g = part.kvHeadStart; g < part.kvHeadEnd; g++) backwardKvHead(part, g, br, scratch);
}

export const TILED_BACKWARD_TASK: ThreadTask<TiledBackwardPart> = {
  module: import.meta.url, name: 'tiledBackwardHeads', run: tiledBackwardHeads,
};

/** dK, dV of key/value head g and dQ of its query heads [g * group, (g + 1) * group). */
function backwardKvHead(part: TiledBackwardPart, g: number, br: number, scratch: BackwardScratch): void {
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset, group } = part.problem;
  const bc = part.tile.keys;
  // Keys past the last row's visible end are seen by no query: their gradients stay 0.
  const keyEnd = tq === 0 ? 0 : visibleKeyEnd(tq - 1, tk, causal, queryOffset);
  for (let j0 = 0; j0 < keyEnd; j0 += bc) {
    const cols = Math.min(bc, keyEnd - j0);
    scratch.dk.fill(0, 0, cols * d);
    scratch.dv.fill(0, 0, cols * d);
    for (let h = g * group; h < (g + 1) * group; h++) {
      for (let i0 = 0; i0 < tq; i0 += br) {
        const rows = Math.min(br, tq - i0);
        // A query tile whose last row does not reach key j0 lies above the causal diagonal.
        if (visibleKeyEnd(i0 + rows - 1, tk, causal, queryOffset) <= j0) continue;
        backwardBlock(part, h, i0, rows, j0, cols, scratch);
      }
    }
    // Write dK_j = scale * (sum of dS^T Q_i) and dV_j once.
    const at = (g * tk + j0) * d;
    for (let e = 0; e < cols * d; e++) {
      part.dk[at + e] = scale * scratch.dk[e];
      part.dv[at + e] = scratch.dv[e];
    }
  }
}

/** The contribution of query tile [i0, i0 + rows) of head h and key tile [j0, j0 + cols). */
function backwardBlock(
  part: TiledBackwardPart, h: number, i0: number, rows: number, j0: number, cols: number, scratch: BackwardScratch,
): void {
  const { q, k, v, out, dOut, lse, dq } = part;
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = part.problem;
  const bc = part.tile.keys;
  const { p, ds, delta } = scratch;
  const qAt = q.bases[h] + i0 * q.rowStride;
  const kAt = k.bases[h] + j0 * k.rowStride;
  const vAt = v.bases[h] + j0 * v.rowStride;
  const dOutAt = dOut.bases[h] + i0 * dOut.rowStride;
  // P = exp(scale * Q_i K_j^T - L) over the keys each row sees; 0 past them and for a row that sees none.
  const lseAt = h * tq + i0;
  const seen = (r: number) => (lse[lseAt + r] === -Infinity ? 0 : Math.max(0, Math.min(cols, visibleKeyEnd(i0 + r, tk, causal, queryOffset) - j0)));
  probabilityBlock(q.data, qAt, q.rowStride, k.data, kAt, k.rowStride, rows, cols, d, scale, lse, lseAt, seen, p, bc);
  for (let r = 0; r < rows; r++) {
    // delta = rowsum(dO * O), recomputed per block: D multiply-adds per row, no O(Tq) buffer.
    const oRow = out.bases[h] + (i0 + r) * out.rowStride;
    const dRow = dOutAt + r * dOut.rowStride;
    let sum = 0;
    for (let c = 0; c < d; c++) sum += dOut.data[dRow + c] * out.data[oRow + c];
    delta[r] = sum;
  }
  // dV_j += P^T dO_i  [cols, D]
  accumulateBlock(scratch.dv, d, p, 1, bc, cols, rows, dOut.data, dOutAt, dOut.rowStride);
  // dP = dO_i V_j^T  [rows, cols], then dS = P * (dP - delta) in place
  scoreBlock(dOut.data, dOutAt, dOut.rowStride, v.data, vAt, v.rowStride, rows, cols, d, 1, ds, bc);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) ds[r * bc + c] = p[r * bc + c] * (ds[r * bc + c] - delta[r]);
  }
  // dQ_i += scale * dS K_j  [rows, D]: this block's part in doubles, added to the output
  scratch.dq.fill(0, 0, rows * d);
  accumulateBlock(scratch.dq, d, ds, bc, 1, rows, cols, k.data, kAt, k.rowStride);
  const dqAt = (h * tq + i0) * d;
  for (let e = 0; e < rows * d; e++) dq[dqAt + e] += scale * scratch.dq[e];
  // dK_j += dS^T Q_i  [cols, D] (scaled when written)
  accumulateBlock(scratch.dk, d, ds, 1, bc, cols, rows, q.data, qAt, q.rowStride);
}

/** Runs the whole backward, split by key/value heads over worker threads when it is large enough. */
export function tiledAttentionBackward(
  p: AttentionProblem, inputs: Pick<TiledBackwardPart, 'q' | 'k' | 'v' | 'out' | 'dOut' | 'lse'>,
  grads: Pick<TiledBackwardPart, 'dq' | 'dk' | 'dv'>, tile: { queries: number; keys: number },
): void {
  const kvHeads = p.heads / p.group;
  const whole: TiledBackwardPart = { ...inputs, ...grads, kvHeadStart: 0, kvHeadEnd: kvHeads, problem: p, tile, simd: simdBlocks(p.headDim) };
  const parts = Math.min(threadsFor(p), kvHeads);
  if (parts <= 1) {
    tiledBackwardHeads(whole);
    return;
  }
  const tasks: TiledBackwardPart[] = [];
  for (let i = 0; i < parts; i++) {
    const kvHeadStart = Math.floor((i * kvHeads) / parts);
    const kvHeadEnd = Math.floor(((i + 1) * kvHeads) / parts);
    if (kvHeadEnd > kvHeadStart) tasks.push({ ...whole, kvHeadStart, kvHeadEnd });
  }
  runOnThreads(TILED_BACKWARD_TASK, tasks);
}
