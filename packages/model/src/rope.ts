/**
 * Rotary position embedding (RoPE), Llama's half-split convention.
 *
 * For head dimension hd, pair i (i < hd/2) of a head is (x[i], x[i + hd/2]); at position p it is
 * rotated by the angle p * theta^(-2i/hd):
 *   x'[i]        = x[i] cos - x[i + hd/2] sin
 *   x'[i + hd/2] = x[i + hd/2] cos + x[i] sin
 * which is `x * cos(emb) + rotate_half(x) * sin(emb)` with rotate_half(x) = cat(-x2, x1).
 * Angles are formed in f32 exactly as Hugging Face does (f32 inverse frequencies times an f32
 * position), so long sequences rotate by the same rounded angles as the reference.
 */
import type { Tensor } from '@adsc/core';

export interface RopeTables {
  /** [T, hd/2] cos and sin of each position's angles. */
  cos: Float32Array;
  sin: Float32Array;
  half: number;
}

export function ropeTables(positions: ArrayLike<number>, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let t = 0; t < positions.length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[t] * invFreq[i]);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, half };
}

/**
 * Rotates, in place, every head of x [T, heads * hd] (contiguous f32, freshly computed by a
 * projection, so writing into it is safe).
 */
export function applyRope(x: Tensor, heads: number, { cos, sin, half }: RopeTables): void {
  const data = x.data as Float32Array;
  const [tokens, width] = x.shape;
  const hd = 2 * half;
  if (width !== heads * hd || cos.length !== tokens * half || !x.isContiguous()) {
    throw new Error(`applyRope: input [${x.shape.join(', ')}] does not match ${heads} heads of ${hd} and ${cos.length / half} positions`);
  }
  for (let t = 0; t < tokens; t++) {
    const row = x.offset + t * width;
    const table = t * half;
    for (let h = 0; h < heads; h++) {
      const base = row + h * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i];
        const s = sin[table + i];
        const x1 = data[base + i];
        const x2 = data[base + i + half];
        data[base + i] = x1 * c - x2 * s;
        data[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
