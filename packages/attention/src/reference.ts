/**
 * Reference attention: softmax(scale * Q K^T + mask) V, written the textbook way.
 *
 * Per head it forms the whole Tq x Tk score matrix S, turns each row into probabilities with the
 * max-subtracted softmax, and multiplies by V. It is the oracle the tiled kernels are tested
 * against (it accumulates in doubles), and the only implementation that can hand the
 * probabilities back: FastV ranks image tokens by them, which is why that one layer of a FastV
 * model cannot use a FlashAttention-style kernel.
 *
 * Extra memory: one Tq x Tk matrix of doubles, reused head after head (`referenceScratchBytes`).
 */
import type { HeadRows } from './head-rows.js';
import { visibleKeyEnd } from './mask.js';
import type { AttentionProblem } from './options.js';

/** Bytes of scratch the reference holds while it runs: the Tq x Tk matrix of one head and one output row. */
export function referenceScratchBytes(p: Pick<AttentionProblem, 'queries' | 'keys' | 'headDim'>): number {
  return (p.queries * p.keys + p.headDim) * Float64Array.BYTES_PER_ELEMENT;
}

/**
 * out [heads, Tq, D] (contiguous) = attention of every head; `probs` [heads, Tq, Tk] (contiguous,
 * optional) receives the probabilities, 0 where masked.
 */
export function referenceAttention(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array, probs?: Float32Array,
): void {
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = p;
  const s = new Float64Array(tq * tk); // S, then P: [Tq, Tk]
  const row = new Float64Array(d); // one output row before rounding to f32
  for (let h = 0; h < p.heads; h++) {
    // S = scale * Q K^T, -Infinity where row i must not see key j.
    for (let i = 0; i < tq; i++) {
      const end = visibleKeyEnd(i, tk, causal, queryOffset);
      const qi = q.bases[h] + i * q.rowStride;
      for (let j = 0; j < tk; j++) {
        if (j >= end) {
          s[i * tk + j] = -Infinity;
          continue;
        }
        const kj = k.bases[h] + j * k.rowStride;
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q.data[qi + c] * k.data[kj + c];
        s[i * tk + j] = scale * dot;
      }
    }
    // P = softmax(S) row by row; a row that sees no key is all zeros.
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < tk; j++) max = Math.max(max, s[i * tk + j]);
      let sum = 0;
      for (let j = 0; j < tk; j++) {
        const e = max === -Infinity ? 0 : Math.exp(s[i * tk + j] - max);
        s[i * tk + j] = e;
        sum += e;
      }
      for (let j = 0; j < tk; j++) s[i * tk + j] = sum > 0 ? s[i * tk + j] / sum : 0;
    }
    if (probs) probs.set(s.subarray(0, tq * tk), h * tq * tk);
    // O = P V, one output row at a time (row i = sum_j P[i, j] * V[j]).
    for (let i = 0; i < tq; i++) {
      row.fill(0);
      for (let j = 0; j < tk; j++) {
        const pij = s[i * tk + j];
        const vj = v.bases[h] + j * v.rowStride;
        for (let c = 0; c < d; c++) row[c] += pij * v.data[vj + c];
      }
      out.set(row, (h * tq + i) * d);
    }
  }
}
