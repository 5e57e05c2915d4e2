import { describe, expect, it } from 'vitest';
import { SLOT_X_BYTES, arenaKernels, arenaOf, arenasSupported, f16BitsToNumber, placeWeight, slotAt } from '../src/index.js';
import { correctZeroExponents, zeroExponentError, zeroExponentIndex } from '../src/kernels/f16-zero-exponent.js';
import type { MatrixRef } from '../src/kernels/gemm.js';

/** The k-contiguous rows of an [n, k] f16 weight as the dot path's B. */
function rowsOf(bits: Uint16Array, k: number): MatrixRef {
  return { data: bits, dtype: 'f16', offset: 0, rowStride: 1, colStride: k };
}

describe('f16 zero-exponent correction', () => {
  it('reads the kernels error of a zero or subnormal f16 as sign * (2^-15 - m * 2^-25)', () => {
    expect(zeroExponentError(0x0000)).toBe(2 ** -15); // +0: read as 2^-15
    expect(zeroExponentError(0x8000)).toBe(-(2 ** -15)); // -0
    expect(zeroExponentError(0x0001)).toBe(2 ** -15 - 2 ** -25); // 2^-24: read as 2^-15 + 2^-25
    expect(zeroExponentError(0x83ff)).toBe(-(2 ** -15 - 1023 * 2 ** -25)); // the largest negative subnormal
  });

  it('lists the zeros and subnormals of each weight row as column << 16 | bits, and nothing else', () => {
    // Row 0: 1, +0, 2^-24, 2^-14 (smallest normal); row 1: none; row 2: -0 at column 3.
    const bits = Uint16Array.from([0x3c00, 0x0000, 0x0001, 0x0400, 0x3c00, 0x4000, 0xbc00, 0x7c00, 0x3c00, 0x3c00, 0x3c00, 0x8000]);
    const index = zeroExponentIndex(rowsOf(bits, 4), 3, 4);
    expect(Array.from(index.rowStart)).toEqual([0, 2, 2, 3]);
    expect(Array.from(index.entries)).toEqual([(1 << 16) | 0x0000, (2 << 16) | 0x0001, (3 << 16) | 0x8000]);
  });

  it('finds the same entries in rows that start at odd elements or have odd length (read half by half)', () => {
    const bits = Uint16Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? i : 0x3c00 + i)); // every third a subnormal (or +0)
    const want = (offset: number, stride: number, n: number, k: number) => {
      const entries: number[] = [];
      for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) {
        const b = bits[offset + j * stride + p];
        if ((b & 0x7c00) === 0) entries.push((p << 16) | b);
      }
      return entries;
    };
    for (const [offset, stride, k] of [[0, 6, 6], [1, 6, 6], [0, 7, 7], [2, 7, 5]]) {
      const index = zeroExponentIndex({ data: bits, dtype: 'f16', offset, rowStride: 1, colStride: stride }, 4, k);
      expect(Array.from(index.entries)).toEqual(want(offset, stride, 4, k));
    }
  });

  it('builds the index of a weight once and hands it out again', () => {
    const bits = Uint16Array.from([0, 1, 2, 3]);
    expect(zeroExponentIndex(rowsOf(bits, 4), 1, 4)).toBe(zeroExponentIndex(rowsOf(bits, 4), 1, 4));
  });

  it.skipIf(!arenasSupported())('has the dot kernel read zeros and subnormals wrong, and the correction gives their true products', () => {
    // Row j of W holds pattern j at column 0 and zeros after; x = [3, 5, 5, ...]: out j = 3 w_j.
    const patterns = [0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x3c00, 0xc400];
    const k = 16;
    const w = placeWeight('f16', patterns.length * k) as Uint16Array;
    patterns.forEach((p, j) => (w[j * k] = p));
    const f32 = new Float32Array(w.buffer);
    const xAt = slotAt(0);
    const x = f32.subarray(xAt / 4, xAt / 4 + k);
    x.fill(5);
    x[0] = 3;
    arenaKernels(arenaOf(w)!).dotF16x1(xAt, w.byteOffset, xAt + SLOT_X_BYTES, k, patterns.length);
    const out = f32.slice((xAt + SLOT_X_BYTES) / 4, (xAt + SLOT_X_BYTES) / 4 + patterns.length);
    // Before: each zero-exponent weight w counts as sign * (2^-15 + |w| / 2); each +0 after column 0 as 2^-15.
    const read = (bits: number) => ((bits & 0x7c00) === 0 ? f16BitsToNumber(bits) + zeroExponentError(bits) : f16BitsToNumber(bits));
    expect(Array.from(out)).toEqual(patterns.map((p) => Math.fround(3 * read(p) + 15 * 5 * 2 ** -15)));
    correctZeroExponents(zeroExponentIndex(rowsOf(w, k), patterns.length, k), 0, patterns.length, 1, x, 0, k, out, 0, patterns.length);
    expect(Array.from(out)).toEqual(patterns.map((p) => Math.fround(3 * f16BitsToNumber(p) + 15 * 5 * 0))); // -0 + 0 = +0
  });

  it('corrects every x row of a few-row product', () => {
    // W = [[2^-24, 1, -0]], read by the kernels as [2^-15 + 2^-25, 1, -2^-15]; x rows of 3.
    const w = Uint16Array.from([0x0001, 0x3c00, 0x8000]);
    const x = Float32Array.from([1024, 2, 7, -512, 0.5, 1]);
    const c = Float32Array.from([0, 1].map((r) => x[3 * r] * (2 ** -15 + 2 ** -25) + x[3 * r + 1] - x[3 * r + 2] * 2 ** -15));
    correctZeroExponents(zeroExponentIndex(rowsOf(w, 3), 1, 3), 0, 1, 2, x, 0, 3, c, 0, 1);
    expect(Array.from(c)).toEqual([2 + 1024 * 2 ** -24, 0.5 - 512 * 2 ** -24]); // x0 2^-24 + x1, exact in f32
  });
});
