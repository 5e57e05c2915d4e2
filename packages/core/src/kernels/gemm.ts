/**
 * The matrix-multiply kernel: C[m0:m1, n0:n1] = A[m0:m1, :] @ B[:, n0:n1], written for V8.
 *
 * Everything later in the project (the vision tower, the decoder, the benchmarks) spends its time
 * here, so this file is built the way BLAS libraries are, scaled down to what a JIT can do:
 *
 * 1. Blocking (Goto & van de Geijn). The K x N operand is cut into KC x NC blocks and copied
 *    ("packed") into a small buffer that stays in L2, laid out as NR-wide column panels; A is
 *    packed MC x KC at a time as MR-tall row panels. The micro-kernel then reads both buffers
 *    strictly sequentially.
 * 2. Register tiling. The micro-kernel keeps an MR x NR = 4 x 8 tile of C in 32 local variables and
 *    per step of k loads 4 values of A and 8 of B for 32 multiply-adds. V8 computes in scalar
 *    doubles (no SIMD), so this reuse is what lifts the speed from ~0.5 to ~4 GFLOP/s per core.
 * 3. Mixed dtypes for free. f16 / bf16 operands (LLaVA's weights) are decoded through a lookup table
 *    while a block is packed, so a weight matrix is never materialised in f32.
 * 4. Thin products. When A has only a few rows (a decode step has one) and B is a weight stored
 *    [N, K] (k-contiguous), packing would cost as much as the product; `dotRows` instead streams each
 *    weight row once and takes up to four dot products from it.
 *
 * This is the JS kernel: the readable reference, and the fallback where WebAssembly SIMD is
 * missing. By default `gemm` hands the same task to gemm-wasm.ts, which runs this blocking and these
 * packers on SIMD kernels (select.ts chooses; the task carries the choice to the workers).
 *
 * The function is pure arithmetic on typed arrays so the worker threads run the very same code
 * (threads/pool.ts splits C into column or row ranges, one per thread).
 */
import { halfTable } from '../dtype.js';
import { blockedWasm, dotRowsWasm } from './gemm-wasm.js';
import type { ZeroExponentIndex } from './f16-zero-exponent.js';
import type { KernelName } from './select.js';
import type { ArenaHandle } from '../wasm/arena.js';

export type GemmDType = 'f32' | 'f16' | 'bf16';

/** A matrix inside a flat array: element (r, c) is data[offset + r * rowStride + c * colStride]. */
export interface MatrixRef {
  data: Float32Array | Uint16Array;
  dtype: GemmDType;
  offset: number;
  rowStride: number;
  colStride: number;
}

/**
 * One thread's share of C = A B. A is [M, K], B is [K, N], C is row-major with row length ldc.
 * C may be a Float64Array: the sums are doubles anyway, so a caller that needs them unrounded
 * (attention scores of size ~1e3) gets them; only the 32 stores per tile see the difference.
 */
export interface GemmTask {
  a: MatrixRef;
  b: MatrixRef;
  c: Float32Array | Float64Array;
  cOffset: number;
  ldc: number;
  k: number;
  m0: number;
  m1: number;
  n0: number;
  n1: number;
  /** Which kernel computes it (chosen on the calling thread: workers do not share its setting). */
  kernel: KernelName;
  /** B's weight arena, where B lies in one (wasm/arena.ts): the wasm dot path then reads B in place. */
  arena?: ArenaHandle;
  /** Which part of the product this is (0 .. parts - 1): its scratch slot in the arena. */
  part?: number;
  /** For f16 weights on the wasm dot path: their zeros and subnormals (f16-zero-exponent.ts). */
  zeroExponents?: ZeroExponentIndex;
}

export const MR = 4; // rows of the register tile
export const NR = 8; // columns of the register tile
export const KC = 256; // depth of a packed block
export const MC = 64; // rows of A packed at once
export const NC = 1024; // columns of B packed at once (KC * NC * 4 bytes = 1 MiB)

/**
 * Products with at most this many rows take the dot-product path when B is k-contiguous. Measured
 * on a 4096 x 4096 f16 weight, one thread: 4 rows 88 ms dot vs 96 ms blocked; 8 rows 179 vs 114.
 */
export const DOT_MAX_ROWS = 4;

export function usesDotPath(a: MatrixRef, b: MatrixRef, rows: number): boolean {
  return rows <= DOT_MAX_ROWS && b.rowStride === 1 && a.dtype === 'f32' && a.colStride === 1;
}

export function gemm(t: GemmTask): void {
  if (t.m1 <= t.m0 || t.n1 <= t.n0) return;
  if (t.k === 0) {
    for (let i = t.m0; i < t.m1; i++) t.c.fill(0, t.cOffset + i * t.ldc + t.n0, t.cOffset + i * t.ldc + t.n1);
    return;
  }
  const dot = usesDotPath(t.a, t.b, t.m1 - t.m0);
  // The wasm kernels sum in f32: a caller that asked for f64 sums gets the JS kernel's doubles.
  if (t.kernel === 'wasm' && t.c instanceof Float32Array) {
    if (!dot) blockedWasm(t);
    else if (!dotRowsWasm(t)) dotRows(t); // a product the f16 kernels cannot give: the JS kernel
  } else if (dot) dotRows(t);
  else blocked(t);
}

// Scratch buffers, one set per thread (each worker has its own module instance).
const packedA = new Float32Array(MC * KC);
const packedB = new Float32Array(KC * NC);

function blocked(t: GemmTask): void {
  const { a, b, c, k } = t;
  for (let jc = t.n0; jc < t.n1; jc += NC) {
    const nc = Math.min(NC, t.n1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packB(b, pc, kc, kc, jc, nc, packedB, 0);
      for (let ic = t.m0; ic < t.m1; ic += MC) {
        const mc = Math.min(MC, t.m1 - ic);
        packA(a, ic, mc, pc, kc, kc, packedA, 0);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            micro4x8(packedA, ir * kc, packedB, jr * kc, kc, c, t.cOffset + (ic + ir) * t.ldc + jc + jr, t.ldc, mr, nr, pc > 0);
          }
        }
      }
    }
  }
}

/**
 * Packs B[pc:pc+kc, jc:jc+nc] into out[at...] as consecutive NR-column panels of kcp >= kc rows;
 * within a panel, row p holds the NR values B[pc+p, j..j+NR). Columns past the edge and rows
 * kc..kcp are zero (the wasm kernels round kc up to a multiple of 4).
 */
export function packB(b: MatrixRef, pc: number, kc: number, kcp: number, jc: number, nc: number, out: Float32Array, at: number): void {
  const { data, rowStride: rs, colStride: cs } = b;
  const table = b.dtype === 'f32' ? undefined : halfTable(b.dtype);
  let o = at;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const base = b.offset + pc * rs + (jc + jr) * cs;
    for (let p = 0; p < kc; p++) {
      const row = base + p * rs;
      if (table) for (let j = 0; j < nr; j++) out[o + j] = table[data[row + j * cs]];
      else for (let j = 0; j < nr; j++) out[o + j] = data[row + j * cs];
      for (let j = nr; j < NR; j++) out[o + j] = 0;
      o += NR;
    }
    out.fill(0, o, o + (kcp - kc) * NR);
    o += (kcp - kc) * NR;
  }
}

/**
 * Packs A[ic:ic+mc, pc:pc+kc] into out[at...] as consecutive MR-row panels of kcp >= kc columns,
 * column by column; missing rows and columns kc..kcp are zero.
 */
export function packA(a: MatrixRef, ic: number, mc: number, pc: number, kc: number, kcp: number, out: Float32Array, at: number): void {
  const { data, rowStride: rs, colStride: cs } = a;
  const table = a.dtype === 'f32' ? undefined : halfTable(a.dtype);
  let o = at;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const base = a.offset + (ic + ir) * rs + pc * cs;
    for (let p = 0; p < kc; p++) {
      const col = base + p * cs;
      if (table) for (let i = 0; i < mr; i++) out[o + i] = table[data[col + i * rs]];
      else for (let i = 0; i < mr; i++) out[o + i] = data[col + i * rs];
      for (let i = mr; i < MR; i++) out[o + i] = 0;
      o += MR;
    }
    out.fill(0, o, o + (kcp - kc) * MR);
    o += (kcp - kc) * MR;
  }
}

/**
 * C tile (4 x 8) = or += Ap panel (kc x 4) times Bp panel (kc x 8). `mr` x `nr` of the tile is
 * stored (edge tiles are computed in full on zero padding, then cut).
 */
function micro4x8(
  ap: Float32Array, ai: number, bp: Float32Array, bi: number, kc: number,
  c: Float32Array | Float64Array, ci: number, ldc: number, mr: number, nr: number, accumulate: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  // V8 detail: the strides are literals (4 and 8), not the module constants MR and NR. An ES
  // module's top-level const is not folded into a loop like this one, and that alone cost a
  // quarter of the speed here (measured 3.4 vs 4.5 GFLOP/s at 1024^3).
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ai], a1 = ap[ai + 1], a2 = ap[ai + 2], a3 = ap[ai + 3];
    const b0 = bp[bi], b1 = bp[bi + 1], b2 = bp[bi + 2], b3 = bp[bi + 3];
    const b4 = bp[bi + 4], b5 = bp[bi + 5], b6 = bp[bi + 6], b7 = bp[bi + 7];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3; c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3; c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
    ai += 4;
    bi += 8;
  }
  if (mr === MR && nr === NR) {
    // Full tile: the common case, stored without a temporary.
    const r0 = ci, r1 = ci + ldc, r2 = ci + 2 * ldc, r3 = ci + 3 * ldc;
    if (accumulate) {
      c00 += c[r0]; c01 += c[r0 + 1]; c02 += c[r0 + 2]; c03 += c[r0 + 3]; c04 += c[r0 + 4]; c05 += c[r0 + 5]; c06 += c[r0 + 6]; c07 += c[r0 + 7];
      c10 += c[r1]; c11 += c[r1 + 1]; c12 += c[r1 + 2]; c13 += c[r1 + 3]; c14 += c[r1 + 4]; c15 += c[r1 + 5]; c16 += c[r1 + 6]; c17 += c[r1 + 7];
      c20 += c[r2]; c21 += c[r2 + 1]; c22 += c[r2 + 2]; c23 += c[r2 + 3]; c24 += c[r2 + 4]; c25 += c[r2 + 5]; c26 += c[r2 + 6]; c27 += c[r2 + 7];
      c30 += c[r3]; c31 += c[r3 + 1]; c32 += c[r3 + 2]; c33 += c[r3 + 3]; c34 += c[r3 + 4]; c35 += c[r3 + 5]; c36 += c[r3 + 6]; c37 += c[r3 + 7];
    }
    c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03; c[r0 + 4] = c04; c[r0 + 5] = c05; c[r0 + 6] = c06; c[r0 + 7] = c07;
    c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13; c[r1 + 4] = c14; c[r1 + 5] = c15; c[r1 + 6] = c16; c[r1 + 7] = c17;
    c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23; c[r2 + 4] = c24; c[r2 + 5] = c25; c[r2 + 6] = c26; c[r2 + 7] = c27;
    c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33; c[r3 + 4] = c34; c[r3 + 5] = c35; c[r3 + 6] = c36; c[r3 + 7] = c37;
    return;
  }
  // Edge tile: cut the valid mr x nr corner out of the full 4 x 8 result.
  const tile = [
    c00, c01, c02, c03, c04, c05, c06, c07, c10, c11, c12, c13, c14, c15, c16, c17,
    c20, c21, c22, c23, c24, c25, c26, c27, c30, c31, c32, c33, c34, c35, c36, c37,
  ];
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const at = ci + i * ldc + j;
      c[at] = accumulate ? c[at] + tile[i * NR + j] : tile[i * NR + j];
    }
  }
}

/**
 * Thin products: B is k-contiguous (a weight W stored [N, K], B = W^T) and A has few rows, so
 * C[i, n] = dot(A[i, :], W[n, :]). For each n the weight row is decoded once per group of four A
 * rows; a row of a 4096-wide layer is 8 KiB and stays in L1 while the groups reuse it.
 */
function dotRows(t: GemmTask): void {
  const { a, b, c, k } = t;
  const ad = a.data as Float32Array;
  const bd = b.data;
  const table = b.dtype === 'f32' ? undefined : halfTable(b.dtype);
  const full = t.m0 + Math.floor((t.m1 - t.m0) / 4) * 4;
  for (let n = t.n0; n < t.n1; n++) {
    const w = b.offset + n * b.colStride;
    for (let i = t.m0; i < full; i += 4) {
      const r0 = a.offset + i * a.rowStride;
      const r1 = r0 + a.rowStride;
      const r2 = r1 + a.rowStride;
      const r3 = r2 + a.rowStride;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const v = table ? table[bd[w + p]] : bd[w + p];
        s0 += ad[r0 + p] * v; s1 += ad[r1 + p] * v; s2 += ad[r2 + p] * v; s3 += ad[r3 + p] * v;
      }
      const at = t.cOffset + i * t.ldc + n;
      c[at] = s0; c[at + t.ldc] = s1; c[at + 2 * t.ldc] = s2; c[at + 3 * t.ldc] = s3;
    }
    for (let i = full; i < t.m1; i++) {
      c[t.cOffset + i * t.ldc + n] = table
        ? dotHalf(ad, a.offset + i * a.rowStride, bd as Uint16Array, w, k, table)
        : dotF32(ad, a.offset + i * a.rowStride, bd as Float32Array, w, k);
    }
  }
}

/**
 * One row times one weight row. Four partial sums break the chain of dependent additions (the
 * add latency, not the loads, bounds a single-sum loop): 1.55 vs 1.16 GFLOP/s measured for
 * a 4096 x 4096 f16 matrix-vector product.
 */
function dotHalf(x: Float32Array, xi: number, w: Uint16Array, wi: number, k: number, table: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const k4 = k - (k % 4);
  let p = 0;
  while (p < k4) {
    s0 += x[xi + p] * table[w[wi + p]];
    s1 += x[xi + p + 1] * table[w[wi + p + 1]];
    s2 += x[xi + p + 2] * table[w[wi + p + 2]];
    s3 += x[xi + p + 3] * table[w[wi + p + 3]];
    p += 4;
  }
  for (; p < k; p++) s0 += x[xi + p] * table[w[wi + p]];
  return s0 + s1 + s2 + s3;
}

function dotF32(x: Float32Array, xi: number, w: Float32Array, wi: number, k: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const k4 = k - (k % 4);
  let p = 0;
  while (p < k4) {
    s0 += x[xi + p] * w[wi + p];
    s1 += x[xi + p + 1] * w[wi + p + 1];
    s2 += x[xi + p + 2] * w[wi + p + 2];
    s3 += x[xi + p + 3] * w[wi + p + 3];
    p += 4;
  }
  for (; p < k; p++) s0 += x[xi + p] * w[wi + p];
  return s0 + s1 + s2 + s3;
}

/** How the pool finds this kernel in a worker: the module to import and the export to call. */
export const GEMM_TASK = { module: import.meta.url, name: 'gemm', run: gemm } as const;
