/**
 * FlashAttention-2 forward on the CPU: tiled, online softmax, never the Tq x Tk matrix.
 *
 * Per head: the outer loop walks query tiles of Br rows, the inner loop key tiles of Bc keys. For
 * each pair the kernel forms only the Br x Bc block of scores S = scale * Q_i K_j^T, folds it into
 * the running max m and sum l of each row with `onlineSoftmaxStep` (online-softmax.ts), rescales
 * the running output rows by alpha and adds P V_j. After the last key tile it divides by l once
 * (deferred normalisation). Causal attention skips key tiles that lie wholly above the diagonal
 * (the key loop stops at the last row's visible end) and masks elementwise only in the tiles that
 * cross it (each row's loop over the block stops at its own visible end).
 *
 * Extra memory per thread: S [Br, Bc], O [Br, D], m [Br], l [Br] in doubles (`createTiledScratch`):
 * it depends on the tile sizes and D, never on Tq or Tk. Asked for `lse`, it also writes each row's
 * logsumexp m + log(l), all the backward pass (tiled-backward.ts) needs to recompute P.
 *
 * The block products (S = scale Q_i K_j^T, O += P V_j) are in blocks.ts, shared with the backward;
 * with the wasm kernel selected they run on SIMD over a copy of each head's q, k and v rows in the
 * thread's wasm memory ((Tq + 2 Tk) D f32 more, one head at a time; wasm-blocks.ts).
 *
 * Heads are independent, so large calls are split by heads over core's worker threads
 * (`TILED_TASK`); the arrays the parts carry must sit on SharedArrayBuffers.
 */
import { getNumThreads, runOnThreads, type ThreadTask } from '@adsc/core';
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import { onlineSoftmaxStep } from './online-softmax.js';
import type { AttentionProblem } from './options.js';
import { JS_BLOCKS, simdBlocks, wasmStage, type BlockProducts } from './wasm-blocks.js';

/** Calls with fewer multiply-adds than this (about 1 ms on one core) stay on the calling thread. */
const PARALLEL_MIN_MACS = 1 << 21;

/** One thread's share: heads [headStart, headEnd) of one attention call. */
export interface TiledPart {
  q: HeadRows;
  k: HeadRows;
  v: HeadRows;
  /** Output [heads, Tq, D], contiguous. */
  out: Float32Array;
  /** Optional output [heads, Tq]: each row's logsumexp m + log(l), for the backward pass. */
  lse?: Float32Array;
  headStart: number;
  headEnd: number;
  /** Sizes, scale and mask of the call (the same for every part). */
  problem: AttentionProblem;
  /** Br x Bc */
  tile: { queries: number; keys: number };
  /** Block products on SIMD (`simdBlocks`, decided on the calling thread) or in JavaScript. */
  simd: boolean;
}

/** The working memory of one thread: this and nothing else beyond the inputs and the output. */
export interface TiledScratch {
  /** S, then P, for one query tile x key tile: [Br, Bc]. */
  s: Float64Array;
  /** Unnormalised output rows of the query tile: [Br, D]. */
  o: Float64Array;
  /** Running max per row: [Br]. */
  m: Float64Array;
  /** Running sum per row: [Br]. */
  l: Float64Array;
}

export function createTiledScratch(tileQueries: number, tileKeys: number, headDim: number): TiledScratch {
  return {
    s: new Float64Array(tileQueries * tileKeys),
    o: new Float64Array(tileQueries * headDim),
    m: new Float64Array(tileQueries),
    l: new Float64Array(tileQueries),
  };
}

export function scratchBytes(scratch: TiledScratch): number {
  return scratch.s.byteLength + scratch.o.byteLength + scratch.m.byteLength + scratch.l.byteLength;
}

/** Runs heads [headStart, headEnd) of a call; the entry point of the worker threads too. */
export function tiledHeads(part: TiledPart): void {
  const br = Math.min(part.tile.queries, Math.max(1, part.problem.queries));
  const { queries: tq, keys: tk, headDim: d } = part.problem;
  const scratch = createTiledScratch(br, part.tile.keys, d);
  if (!part.simd) {
    for (let h = part.headStart; h < part.headEnd; h++) tiledHead(part, h, br, scratch, JS_BLOCKS);
    return;
  }
  // One head's q, k and v rows at a time in this thread's wasm memory.
  const wasm = wasmStage(tq + 2 * tk, d, Math.max(br, part.tile.keys));
  for (let h = part.headStart; h < part.headEnd; h++) {
    wasm.reset();
    const staged = { ...part, q: wasm.stage(part.q, h, tq), k: wasm.stage(part.k, h, tk), v: wasm.stage(part.v, h, tk) };
    tiledHead(staged, h, br, scratch, wasm.blocks);
  }
}

export const TILED_TASK: ThreadTask<TiledPart> = { module: import.meta.url, name: 'tiledHeads', run: tiledHeads };

function tiledHead(part: TiledPart, h: number, br: number, scratch: TiledScratch, blocks: BlockProducts): void {
  const { q, k, v, out } = part;
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = part.problem;
  const bc = part.tile.keys;
  const { s, o, m, l } = scratch;
  const qBase = q.bases[h];
  const kBase = k.bases[h];
  const vBase = v.bases[h];
  for (let i0 = 0; i0 < tq; i0 += br) {
    const rows = Math.min(br, tq - i0);
    m.fill(-Infinity, 0, rows);
    l.fill(0, 0, rows);
    o.fill(0, 0, rows * d);
    // The last row of the tile sees the most keys; key tiles past its end are above the diagonal.
    const tileKeyEnd = visibleKeyEnd(i0 + rows - 1, tk, causal, queryOffset);
    for (let j0 = 0; j0 < tileKeyEnd; j0 += bc) {
      const cols = Math.min(bc, tileKeyEnd - j0);
      // S = scale * Q_i K_j^T  [rows, cols]
      blocks.score(q.data, qBase + i0 * q.rowStride, q.rowStride, k.data, kBase + j0 * k.rowStride, k.rowStride, rows, cols, d, scale, s, bc);
      for (let r = 0; r < rows; r++) {
        // Keys of this block that row r sees: all `cols`, or fewer where the block crosses the diagonal.
        const seen = Math.max(0, Math.min(cols, visibleKeyEnd(i0 + r, tk, causal, queryOffset) - j0));
        const alpha = onlineSoftmaxStep(s, r * bc, seen, m, l, r); // S row -> P row
        s.fill(0, r * bc + seen, r * bc + cols); // masked keys: P = 0
        if (alpha !== 1) for (let c = 0; c < d; c++) o[r * d + c] *= alpha;
      }
      // O += P V_j
      blocks.accumulate(o, d, s, bc, 1, rows, cols, v.data, vBase + j0 * v.rowStride, v.rowStride);
    }
    // Deferred normalisation: O / l, and 0 for a row that saw no key.
    for (let r = 0; r < rows; r++) {
      const inv = l[r] > 0 ? 1 / l[r] : 0;
      const dst = (h * tq + i0 + r) * d;
      const src = r * d;
      for (let c = 0; c < d; c++) out[dst + c] = o[src + c] * inv;
    }
    // logsumexp of each row's visible scores, -Infinity for a row that saw no key.
    if (part.lse) for (let r = 0; r < rows; r++) part.lse[h * tq + i0 + r] = l[r] > 0 ? m[r] + Math.log(l[r]) : -Infinity;
  }
}

/** Runs the whole call, split by heads over worker threads when it is large enough. */
export function tiledAttention(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array,
  tile: { queries: number; keys: number }, lse?: Float32Array,
): void {
  const whole: TiledPart = { q, k, v, out, lse, headStart: 0, headEnd: p.heads, problem: p, tile, simd: simdBlocks(p.headDim) };
  const parts = Math.min(threadsFor(p), p.heads);
  if (parts <= 1) {
    tiledHeads(whole);
    return;
  }
  runOnThreads(TILED_TASK, splitByHeads(whole, p.heads, parts));
}

/** `parts` copies of a call's description, each with its own contiguous run of the `heads` heads (none empty). */
export function splitByHeads<T extends { headStart: number; headEnd: number }>(whole: T, heads: number, parts: number): T[] {
  const tasks: T[] = [];
  for (let i = 0; i < parts; i++) {
    const headStart = Math.floor((i * heads) / parts);
    const headEnd = Math.floor(((i + 1) * heads) / parts);
    if (headEnd > headStart) tasks.push({ ...whole, headStart, headEnd });
  }
  return tasks;
}

/** Threads worth using for a call: 1 below the size threshold, else all of core's. */
export function threadsFor(p: AttentionProblem): number {
  const macs = 2 * p.heads * p.queries * p.keys * p.headDim;
  return macs < PARALLEL_MIN_MACS ? 1 : getNumThreads();
}
