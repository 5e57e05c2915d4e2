/**
 * The f16 weights that the wasm dot kernels read wrong on purpose, and the correction.
 *
 * The kernels (wasm/kernels.ts, emitHalfToScaledF32) convert an f16 with two integer operations
 * that are exact for every exponent field but 0: zeros and subnormals come out as
 * sign * (2^-15 + |w| / 2) instead of w. Converting those exactly would hand the multiply an f32
 * subnormal in the kernels' scaling, and a multiply with a subnormal operand takes a slow path on
 * x86: with N(0, 0.02) weights (0.25 % of them subnormal in f16, as in trained checkpoints) the
 * decode product ran 25 % slower for it. So each weight matrix gets a list of its zero-exponent
 * entries, built on first use, and the driver takes their error off each output:
 *
 *   out[j] = kernel[j] - sum over the entries (c, bits) of row j of error(bits) * x[c]
 *
 * The list is kept for as long as the weight's array lives, so an f16 weight must not change once a
 * decode product has read it (weights never do here: training keeps f32 master copies).
 */
import { allocate } from '../dtype.js';
import type { MatrixRef } from './gemm.js';

/** The zero-exponent entries of a weight's rows: row j's are entries[rowStart[j] .. rowStart[j + 1]]. */
export interface ZeroExponentIndex {
  rowStart: Int32Array;
  /** column << 16 | the f16 bits, so that the correction needs no second read of the weight. */
  entries: Uint32Array;
}

/** Columns are stored in 16 bits: deeper f16 weights are left to the JS kernel. */
export const ZERO_EXPONENT_MAX_K = 1 << 16;

/** The kernels' value of an f16 whose exponent field is 0, minus its true value: sign * (2^-15 - m * 2^-25). */
export function zeroExponentError(bits: number): number {
  const error = 2 ** -15 - (bits & 0x3ff) * 2 ** -25;
  return bits & 0x8000 ? -error : error;
}

const cache = new WeakMap<Uint16Array, Map<string, ZeroExponentIndex>>();

/**
 * The index of the `n` weight rows of `b` (k-contiguous: row j is b.data[b.offset + j * b.colStride
 * ...], k elements), from the cache or built now (on shared memory, for the worker threads).
 */
export function zeroExponentIndex(b: MatrixRef, n: number, k: number): ZeroExponentIndex {
  const data = b.data as Uint16Array;
  const key = `${b.offset}:${b.colStride}:${n}:${k}`;
  let byRows = cache.get(data);
  if (!byRows) cache.set(data, (byRows = new Map()));
  let index = byRows.get(key);
  if (!index) byRows.set(key, (index = buildIndex(data, b.offset, b.colStride, n, k)));
  return index;
}

function buildIndex(w: Uint16Array, offset: number, stride: number, n: number, k: number): ZeroExponentIndex {
  const rowStart = allocate('i32', n + 1, true) as Int32Array;
  let entries = new Uint32Array(1024);
  let total = 0;
  const add = (column: number, bits: number) => {
    if (total === entries.length) {
      const grown = new Uint32Array(2 * total);
      grown.set(entries);
      entries = grown;
    }
    entries[total++] = ((column << 16) | bits) >>> 0;
  };
  // Two halves per 32-bit read where the rows allow it (little-endian: the even element is the low
  // half); a pair with a zero exponent in either half is then looked at half by half.
  const start = w.byteOffset + 2 * offset;
  const pairs = start % 4 === 0 && stride % 2 === 0 ? new Uint32Array(w.buffer, start, (n * stride) >> 1) : undefined;
  for (let j = 0; j < n; j++) {
    rowStart[j] = total;
    const row = offset + j * stride;
    let p = 0;
    if (pairs) {
      for (let q = (j * stride) >> 1, end = q + (k >> 1); q < end; q++, p += 2) {
        const v = pairs[q];
        if ((v & 0x7c00) !== 0 && (v & 0x7c000000) !== 0) continue;
        if ((v & 0x7c00) === 0) add(p, v & 0xffff);
        if ((v & 0x7c000000) === 0) add(p + 1, v >>> 16);
      }
    }
    for (; p < k; p++) if ((w[row + p] & 0x7c00) === 0) add(p, w[row + p]);
  }
  rowStart[n] = total;
  const shared = new Uint32Array(allocate('i32', total, true).buffer);
  shared.set(entries.subarray(0, total));
  return { rowStart, entries: shared };
}

/**
 * Takes the zero-exponent error off outputs j0 .. j0 + count of `rows` x rows: c[r * ldc + j - j0 +
 * cAt] for the x row at x[xAt + r * xStride ...].
 */
export function correctZeroExponents(
  index: ZeroExponentIndex, j0: number, count: number, rows: number,
  x: Float32Array, xAt: number, xStride: number, c: Float32Array, cAt: number, ldc: number,
): void {
  const { rowStart, entries } = index;
  for (let j = j0; j < j0 + count; j++) {
    const first = rowStart[j];
    const end = rowStart[j + 1];
    if (first === end) continue;
    for (let r = 0; r < rows; r++) {
      const xr = xAt + r * xStride;
      let error = 0;
      for (let e = first; e < end; e++) {
        const entry = entries[e];
        error += zeroExponentError(entry & 0xffff) * x[xr + (entry >>> 16)];
      }
      c[cAt + r * ldc + j - j0] -= error;
    }
  }
}
