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
 * it depends on the tile sizes and D, never on Tq or Tk.
 *
 * Heads are independent, so large calls are split by heads over core's worker threads
 * (`TILED_TASK`); the arrays the parts carry must sit on SharedArrayBuffers.
 */
import { getNumThreads, runOnThreads, type ThreadTask } from '@adsc/core';
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import { onlineSoftmaxStep } from './online-softmax.js';
import type { AttentionProblem } from './options.js';

/** Calls with fewer multiply-adds than this (about 1 ms on one core) stay on the calling thread. */
const PARALLEL_MIN_MACS = 1 << 21;

/** One thread's share: heads [headStart, headEnd) of one attention call. */
export interface TiledPart {
  q: HeadRows;
  k: HeadRows;
  v: HeadRows;
  /** Output [heads, Tq, D], contiguous. */
  out: Float32Array;
  headStart: number;
  headEnd: number;
  /** Sizes, scale and mask of the call (the same for every part). */
  problem: AttentionProblem;
  /** Br x Bc */
  tile: { queries: number; keys: number };
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
  const scratch = createTiledScratch(br, part.tile.keys, part.problem.headDim);
  for (let h = part.headStart; h < part.headEnd; h++) tiledHead(part, h, br, scratch);
}

export const TILED_TASK: ThreadTask<TiledPart> = { module: import.meta.url, name: 'tiledHeads', run: tiledHeads };

function tiledHead(part: TiledPart, h: number, br: number, scratch: TiledScratch): void {
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
      scoreBlock(q.data, qBase + i0 * q.rowStride, q.rowStride, k.data, kBase + j0 * k.rowStride, k.rowStride, rows, cols, d, scale, s, bc);
      for (let r = 0; r < rows; r++) {
        // Keys of this block that row r sees: all `cols`, or fewer where the block crosses the diagonal.
        const seen = Math.max(0, Math.min(cols, visibleKeyEnd(i0 + r, tk, causal, queryOffset) - j0));
        const alpha = onlineSoftmaxStep(s, r * bc, seen, m, l, r); // S row -> P row
        s.fill(0, r * bc + seen, r * bc + cols); // masked keys: P = 0
        if (alpha !== 1) for (let c = 0; c < d; c++) o[r * d + c] *= alpha;
      }
      // O += P V_j
      accumulateBlock(o, d, s, bc, rows, cols, v.data, vBase + j0 * v.rowStride, v.rowStride);
    }
    // Deferred normalisation: O / l, and 0 for a row that saw no key.
    for (let r = 0; r < rows; r++) {
      const inv = l[r] > 0 ? 1 / l[r] : 0;
      const dst = (h * tq + i0 + r) * d;
      const src = r * d;
      for (let c = 0; c < d; c++) out[dst + c] = o[src + c] * inv;
    }
  }
}

/**
 * s[r * ld + j] = scale * (q row r) . (k row j) for r < rows, j < cols; q rows start at `qAt`,
 * `qStride` apart, k rows at `kAt`, `kStride` apart. A 4 x 4 block of scores lives in 16 locals
 * while the loop over D runs, so each loaded value is used four times (register tiling, as in
 * core's GEMM); the columns past a multiple of 4 take a plain loop, the rows past it `scoreRow`.
 */
function scoreBlock(
  qd: Float32Array, qAt: number, qStride: number, kd: Float32Array, kAt: number, kStride: number,
  rows: number, cols: number, d: number, scale: number, s: Float64Array, ld: number,
): void {
  const rows4 = rows - (rows % 4);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows4; r += 4) {
    const q0 = qAt + r * qStride;
    const q1 = q0 + qStride;
    const q2 = q1 + qStride;
    const q3 = q2 + qStride;
    for (let j = 0; j < cols4; j += 4) {
      const k0 = kAt + j * kStride;
      const k1 = k0 + kStride;
      const k2 = k1 + kStride;
      const k3 = k2 + kStride;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let c = 0; c < d; ) {
        const a0 = qd[q0 + c];
        const a1 = qd[q1 + c];
        const a2 = qd[q2 + c];
        const a3 = qd[q3 + c];
        const b0 = kd[k0 + c];
        const b1 = kd[k1 + c];
        const b2 = kd[k2 + c];
        const b3 = kd[k3 + c];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
        c++;
      }
      let o = r * ld + j;
      s[o] = s00 * scale; s[o + 1] = s01 * scale; s[o + 2] = s02 * scale; s[o + 3] = s03 * scale;
      o += ld;
      s[o] = s10 * scale; s[o + 1] = s11 * scale; s[o + 2] = s12 * scale; s[o + 3] = s13 * scale;
      o += ld;
      s[o] = s20 * scale; s[o + 1] = s21 * scale; s[o + 2] = s22 * scale; s[o + 3] = s23 * scale;
      o += ld;
      s[o] = s30 * scale; s[o + 1] = s31 * scale; s[o + 2] = s32 * scale; s[o + 3] = s33 * scale;
    }
  }
  // Edges: the columns past cols4 of the block rows, then the rows past rows4 (a decode step's
  // single row goes here) four keys at a time.
  for (let r = 0; r < rows4; r++) {
    const q0 = qAt + r * qStride;
    for (let j = cols4; j < cols; j++) {
      const k0 = kAt + j * kStride;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += qd[q0 + c] * kd[k0 + c];
      s[r * ld + j] = dot * scale;
    }
  }
  for (let r = rows4; r < rows; r++) scoreRow(qd, qAt + r * qStride, kd, kAt, kStride, d, cols, scale, s, r * ld);
}

/** s[at + j] = scale * (q row) . (k row j) for j < count, four keys at a time. */
function scoreRow(
  qd: Float32Array, qAt: number, kd: Float32Array, kAt: number, kStride: number, d: number,
  count: number, scale: number, s: Float64Array, at: number,
): void {
  const count4 = count - (count % 4);
  for (let j = 0; j < count4; j += 4) {
    const k0 = kAt + j * kStride;
    const k1 = k0 + kStride;
    const k2 = k1 + kStride;
    const k3 = k2 + kStride;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let c = 0; c < d; c++) {
      const x = qd[qAt + c];
      s0 += x * kd[k0 + c];
      s1 += x * kd[k1 + c];
      s2 += x * kd[k2 + c];
      s3 += x * kd[k3 + c];
    }
    s[at + j] = s0 * scale;
    s[at + j + 1] = s1 * scale;
    s[at + j + 2] = s2 * scale;
    s[at + j + 3] = s3 * scale;
  }
  for (let j = count4; j < count; j++) {
    const k0 = kAt + j * kStride;
    let dot = 0;
    for (let c = 0; c < d; c++) dot += qd[qAt + c] * kd[k0 + c];
    s[at + j] = dot * scale;
  }
}

/**
 * o[r] += sum_j p[r * ld + j] * (v row j) for r < rows, j < cols; o rows are `d` apart. Two output
 * rows and four value rows at a time: per element of D, four loads of V serve eight multiply-adds.
 */
function accumulateBlock(
  o: Float64Array, d: number, p: Float64Array, ld: number, rows: number, cols: number,
  vd: Float32Array, vAt: number, vStride: number,
): void {
  const rows2 = rows - (rows % 2);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows2; r += 2) {
    const o0 = r * d;
    const o1 = o0 + d;
    const pr0 = r * ld;
    const pr1 = pr0 + ld;
    for (let j = 0; j < cols4; j += 4) {
      const p00 = p[pr0 + j], p01 = p[pr0 + j + 1], p02 = p[pr0 + j + 2], p03 = p[pr0 + j + 3];
      const p10 = p[pr1 + j], p11 = p[pr1 + j + 1], p12 = p[pr1 + j + 2], p13 = p[pr1 + j + 3];
      const v0 = vAt + j * vStride;
      const v1 = v0 + vStride;
      const v2 = v1 + vStride;
      const v3 = v2 + vStride;
      for (let c = 0; c < d; ) {
        const b0 = vd[v0 + c];
        const b1 = vd[v1 + c];
        const b2 = vd[v2 + c];
        const b3 = vd[v3 + c];
        o[o0 + c] += p00 * b0 + p01 * b1 + p02 * b2 + p03 * b3;
        o[o1 + c] += p10 * b0 + p11 * b1 + p12 * b2 + p13 * b3;
        c++;
      }
    }
  }
  // Edges: the keys past cols4 of the paired rows, then a last odd row (a decode step's single
  // row goes here) four keys at a time.
  for (let r = 0; r < rows2; r++) {
    for (let j = cols4; j < cols; j++) {
      const pj = p[r * ld + j];
      const v0 = vAt + j * vStride;
      for (let c = 0; c < d; c++) o[r * d + c] += pj * vd[v0 + c];
    }
  }
  if (rows2 < rows) accumulateRow(o, rows2 * d, p, rows2 * ld, cols, vd, vAt, vStride, d);
}

/** o row += sum_j p[at + j] * (v row j) for j < count, four value rows at a time. */
function accumulateRow(
  o: Float64Array, oAt: number, p: Float64Array, at: number, count: number,
  vd: Float32Array, vAt: number, vStride: number, d: number,
): void {
  const count4 = count - (count % 4);
  for (let j = 0; j < count4; j += 4) {
    const p0 = p[at + j];
    const p1 = p[at + j + 1];
    const p2 = p[at + j + 2];
    const p3 = p[at + j + 3];
    const v0 = vAt + j * vStride;
    const v1 = v0 + vStride;
    const v2 = v1 + vStride;
    const v3 = v2 + vStride;
    for (let c = 0; c < d; c++) o[oAt + c] += p0 * vd[v0 + c] + p1 * vd[v1 + c] + p2 * vd[v2 + c] + p3 * vd[v3 + c];
  }
  for (let j = count4; j < count; j++) {
    const pj = p[at + j];
    const v0 = vAt + j * vStride;
    for (let c = 0; c < d; c++) o[oAt + c] += pj * vd[v0 + c];
  }
}

/** Runs the whole call, split by heads over worker threads when it is large enough. */
export function tiledAttention(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array,
  tile: { queries: number; keys: number },
): void {
  const whole: TiledPart = { q, k, v, out, headStart: 0, headEnd: p.heads, problem: p, tile };
  const parts = Math.min(threadsFor(p), p.heads);
  if (parts <= 1) {
    tiledHeads(whole);
    return;
  }
  const tasks: TiledPart[] = [];
  for (let i = 0; i < parts; i++) {
    const headStart = Math.floor((i * p.heads) / parts);
    const headEnd = Math.floor(((i + 1) * p.heads) / parts);
    if (headEnd > headStart) tasks.push({ ...whole, headStart, headEnd });
  }
  runOnThreads(TILED_TASK, tasks);
}

/** Threads worth using for a call: 1 below the size threshold, else all of core's. */
export function threadsFor(p: AttentionProblem): number {
  const macs = 2 * p.heads * p.queries * p.keys * p.headDim;
  return macs < PARALLEL_MIN_MACS ? 1 : getNumThreads();
}
