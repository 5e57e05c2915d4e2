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
import { f32Output, f32Values, record, type Tensor } from '@adsc/core';

export interface RopeTables {
  /** [T, hd/2] cos and sin of each position's angles. */
  cos: Float32Array;
  sin: Float32Array;
  half: number;
}

/** Position ids of a sequence's tokens and their RoPE tables, computed once per sequence state. */
export interface TokenPositions {
  ids: Int32Array;
  tables: RopeTables;
}

export function tokenPositions(ids: Int32Array, headDim: number, theta: number): TokenPositions {
  return { ids, tables: ropeTables(ids, headDim, theta) };
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
 * x [T, heads * hd] rotated per head at each token's position: a new tensor.
 *
 * The rotation of each pair is orthogonal, so its gradient is the rotation by the opposite angle:
 *   dx1 = g1 cos + g2 sin,   dx2 = g2 cos - g1 sin.
 */
export function rope(x: Tensor, heads: number, tables: RopeTables): Tensor {
  const [tokens, width] = x.shape;
  const hd = 2 * tables.half;
  if (x.rank !== 2 || width !== heads * hd || tables.cos.length !== tokens * tables.half) {
    throw new Error(`rope: input [${x.shape.join(', ')}] does not match ${heads} heads of ${hd} and ${tables.cos.length / tables.half} positions`);
  }
  const [out, o] = f32Output(x.shape);
  rotate(f32Values(x), o, tokens, heads, tables, 1);
  return record('rope', [x], out, (g) => {
    const [dx, d] = f32Output(x.shape);
    rotate(g.toFloat32Array(), d, tokens, heads, tables, -1);
    return [dx];
  });
}

/** dst = src rotated by +angle (sign 1) or -angle (sign -1); both [T, heads * hd], contiguous. */
function rotate(src: Float32Array, dst: Float32Array, tokens: number, heads: number, { cos, sin, half }: RopeTables, sign: 1 | -1): void {
  const hd = 2 * half;
  const width = heads * hd;
  for (let t = 0; t < tokens; t++) {
    const table = t * half;
    for (let h = 0; h < heads; h++) {
      const base = t * width + h * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i];
        const s = sign * sin[table + i];
        const x1 = src[base + i];
        const x2 = src[base + i + half];
        dst[base + i] = x1 * c - x2 * s;
        dst[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
