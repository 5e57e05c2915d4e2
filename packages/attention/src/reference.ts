/**
 * Reference attention: softmax(scale * Q K^T + mask) V, the way PyTorch's eager attention does it.
 *
 * Per head it forms the whole Tq x Tk score matrix S with one matrix product, turns each row into
 * probabilities with the max-subtracted softmax, and multiplies by V with a second product. Both
 * products run on @adsc/core's GEMM (blocked, threaded), so this is as fast as a plain
 * implementation gets; what it costs beyond the tiled kernel is memory: the Tq x Tk matrix. It is
 * the only implementation that can hand the probabilities back: FastV ranks image tokens by them,
 * which is why that one layer of a FastV model cannot use a FlashAttention-style kernel.
 *
 * Extra memory: the Tq x Tk matrix of one head in f64 and in f32, reused head after head
 * (`referenceScratchBytes`).
 */
import { allocate, matmulInto } from '@adsc/core';
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import type { AttentionProblem } from './options.js';

/** Bytes of scratch the reference holds while it runs: the Tq x Tk score matrix of one head. */
export function referenceScratchBytes(p: Pick<AttentionProblem, 'queries' | 'keys' | 'headDim'>): number {
  return p.queries * p.keys * (Float64Array.BYTES_PER_ELEMENT + Float32Array.BYTES_PER_ELEMENT);
}

/**
 * out [heads, Tq, D] (contiguous) = attention of every head; `probs` [heads, Tq, Tk] (contiguous,
 * optional) receives the probabilities, 0 where masked. q, k and v must sit on SharedArrayBuffers
 * (the products may run on worker threads).
 */
export function referenceAttention(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array, probs?: Float32Array,
): void {
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = p;
  // S, then P: [Tq, Tk] in doubles, so logits near 1e3 keep their low digits (f32 would lose
  // ~6e-5 of each probability there).
  const s = allocate('f64', tq * tk) as Float64Array;
  const p32 = allocate('f32', tq * tk) as Float32Array;
  for (let h = 0; h < p.heads; h++) {
    // S = Q_h K_h^T: A = Q_h [Tq, D]; B = K_h^T [D, Tk], whose column j is key row j.
    matmulInto(
      { data: q.data, dtype: 'f32', offset: q.bases[h], rowStride: q.rowStride, colStride: 1 },
      { data: k.data, dtype: 'f32', offset: k.bases[h], rowStride: 1, colStride: k.rowStride },
      s, 0, tq, tk, d,
    );
    // P = softmax(scale * S) row by row over the visible keys; masked entries and a row that sees
    // no key are 0.
    for (let i = 0; i < tq; i++) {
      const row = i * tk;
      const end = visibleKeyEnd(i, tk, causal, queryOffset);
      let max = -Infinity;
      for (let j = 0; j < end; j++) max = Math.max(max, scale * s[row + j]);
      let sum = 0;
      for (let j = 0; j < end; j++) {
        const e = Math.exp(scale * s[row + j] - max);
        s[row + j] = e;
        sum += e;
      }
      for (let j = 0; j < end; j++) s[row + j] /= sum;
      s.fill(0, row + end, row + tk);
    }
    if (probs) probs.set(s, h * tq * tk);
    // O_h = P V_h: A = P [Tq, Tk] (rounded to f32 for the kernel); B = V_h [Tk, D].
    p32.set(s);
    matmulInto(
      { data: p32, dtype: 'f32', offset: 0, rowStride: tk, colStride: 1 },
      { data: v.data, dtype: 'f32', offset: v.bases[h], rowStride: v.rowStride, colStride: 1 },
      out, h * tq * d, tq, d, tk,
    );
  }
}
