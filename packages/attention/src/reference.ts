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

/** What the reference can hand back besides the output (each optional, contiguous). */
export interface ReferenceSaved {
  /** [heads, Tq, Tk]: the probabilities, 0 where masked. */
  probs?: Float32Array;
  /** [heads, Tq]: each row's logsumexp, -Infinity for a row that sees no key. */
  lse?: Float32Array;
}

/**
 * out [heads, Tq, D] (contiguous) = attention of every head, plus what `saved` asks for. q, k and
 * v must sit on SharedArrayBuffers (the products may run on worker threads).
 */
export function referenceAttention(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, out: Float32Array, saved: ReferenceSaved = {},
): void {
  const { queries: tq, keys: tk, headDim: d } = p;
  // S, then P: [Tq, Tk] in doubles, so logits near 1e3 keep their low digits (f32 would lose
  // ~6e-5 of each probability there).
  const s = allocate('f64', tq * tk) as Float64Array;
  const p32 = allocate('f32', tq * tk) as Float32Array;
  for (let h = 0; h < p.heads; h++) {
    probabilities(p, q, k, h, s, saved.lse?.subarray(h * tq, (h + 1) * tq));
    if (saved.probs) saved.probs.set(s, h * tq * tk);
    // O_h = P V_h: A = P [Tq, Tk] (rounded to f32 for the kernel); B = V_h [Tk, D].
    p32.set(s);
    matmulInto(
      { data: p32, dtype: 'f32', offset: 0, rowStride: tk, colStride: 1 },
      { data: v.data, dtype: 'f32', offset: v.bases[h], rowStride: v.rowStride, colStride: 1 },
      out, h * tq * d, tq, d, tk,
    );
  }
}

/**
 * s [Tq, Tk] = P of head h = softmax(scale * Q_h K_h^T) row by row over the visible keys; masked
 * entries and a row that sees no key are 0. `lse` [Tq], if given, receives each row's logsumexp.
 */
function probabilities(p: AttentionProblem, q: HeadRows, k: HeadRows, h: number, s: Float64Array, lse?: Float32Array): void {
  const { queries: tq, keys: tk, headDim: d, scale, causal, queryOffset } = p;
  // S = Q_h K_h^T: A = Q_h [Tq, D]; B = K_h^T [D, Tk], whose column j is key row j.
  matmulInto(
    { data: q.data, dtype: 'f32', offset: q.bases[h], rowStride: q.rowStride, colStride: 1 },
    { data: k.data, dtype: 'f32', offset: k.bases[h], rowStride: 1, colStride: k.rowStride },
    s, 0, tq, tk, d,
  );
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
    if (lse) lse[i] = end > 0 ? max + Math.log(sum) : -Infinity;
  }
}

/**
 * The backward pass the textbook way, with the whole P of a head in memory: the oracle of the
 * tiled backward, and the backward of the layer that ran the reference forward (FastV's).
 * Per query head h, reading key/value head g(h):
 *
 *   P  = softmax(scale Q K^T)   [Tq, Tk]  recomputed as in the forward (lse is not needed)
 *   dV += P^T dO                [Tk, D]   summed over the query heads that share the kv head
 *   dP = dO V^T                 [Tq, Tk]
 *   dS = P * (dP - rowsum(dP * P))        the softmax Jacobian applied to dP, row by row
 *   dQ = scale dS K             [Tq, D]
 *   dK += scale dS^T Q          [Tk, D]
 *
 * dq [heads, Tq, D], dk and dv [kvHeads, Tk, D] are contiguous f32 outputs, each entry written once.
 * Extra memory: P and dP of one head in doubles, P and dS in f32, dK and dV of one kv head in
 * doubles (`referenceBackwardScratchBytes`).
 */
export function referenceAttentionBackward(
  p: AttentionProblem, q: HeadRows, k: HeadRows, v: HeadRows, dOut: HeadRows,
  dq: Float32Array, dk: Float32Array, dv: Float32Array,
): void {
  const { queries: tq, keys: tk, headDim: d, scale, group } = p;
  const s = allocate('f64', tq * tk) as Float64Array; // P
  const dp = allocate('f64', tq * tk) as Float64Array; // dP
  const p32 = allocate('f32', tq * tk) as Float32Array; // P, rounded for the products
  const ds32 = allocate('f32', tq * tk) as Float32Array; // scale * dS, rounded for the products
  const grad = allocate('f64', tk * d) as Float64Array; // one head's share of dK or dV
  const dkSum = new Float64Array(tk * d); // dK of the kv head, summed over its query heads
  const dvSum = new Float64Array(tk * d);
  const transposed = (data: Float32Array) => ({ data, dtype: 'f32' as const, offset: 0, rowStride: 1, colStride: tk });
  const rowsOf = (t: HeadRows, h: number) => ({ data: t.data, dtype: 'f32' as const, offset: t.bases[h], rowStride: t.rowStride, colStride: 1 });
  for (let g = 0; g < p.heads / group; g++) {
    dkSum.fill(0);
    dvSum.fill(0);
    for (let h = g * group; h < (g + 1) * group; h++) {
      probabilities(p, q, k, h, s);
      // dP = dO_h V_h^T: B = V_h^T [D, Tk], whose column j is value row j.
      matmulInto(rowsOf(dOut, h), { data: v.data, dtype: 'f32', offset: v.bases[h], rowStride: 1, colStride: v.rowStride }, dp, 0, tq, tk, d);
      for (let i = 0; i < tq; i++) {
        const row = i * tk;
        let rowSum = 0; // rowsum(dP * P) = sum_j P_ij dP_ij (equals rowsum(dO * O))
        for (let j = 0; j < tk; j++) rowSum += dp[row + j] * s[row + j];
        for (let j = 0; j < tk; j++) ds32[row + j] = scale * s[row + j] * (dp[row + j] - rowSum);
      }
      p32.set(s);
      // dV += P^T dO_h: A = P^T [Tk, Tq]
      matmulInto(transposed(p32), rowsOf(dOut, h), grad, 0, tk, d, tq);
      for (let e = 0; e < tk * d; e++) dvSum[e] += grad[e];
      // dK += scale dS^T Q_h
      matmulInto(transposed(ds32), rowsOf(q, h), grad, 0, tk, d, tq);
      for (let e = 0; e < tk * d; e++) dkSum[e] += grad[e];
      // dQ_h = scale dS K_h, straight into the output
      matmulInto({ data: ds32, dtype: 'f32', offset: 0, rowStride: tk, colStride: 1 }, rowsOf(k, h), dq, h * tq * d, tq, d, tk);
    }
    dk.set(dkSum, g * tk * d);
    dv.set(dvSum, g * tk * d);
  }
}

/** Bytes of scratch the reference backward holds while it runs (see `referenceAttentionBackward`). */
export function referenceBackwardScratchBytes(p: Pick<AttentionProblem, 'queries' | 'keys' | 'headDim'>): number {
  return p.queries * p.keys * 2 * (Float64Array.BYTES_PER_ELEMENT + Float32Array.BYTES_PER_ELEMENT) +
    3 * p.keys * p.headDim * Float64Array.BYTES_PER_ELEMENT;
}
