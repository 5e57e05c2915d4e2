/**
 * The online-softmax step: the one idea that lets FlashAttention skip the Tq x Tk matrix.
 *
 * softmax(s)_j = exp(s_j - m) / l with m = max_j s_j and l = sum_j exp(s_j - m). Both m and l can be
 * computed block by block: keep a running max m and a running sum l for each query row; when a new
 * block of scores arrives, the max may grow to m_new, and every term summed so far was taken
 * relative to the old max, so it is multiplied by alpha = exp(m - m_new):
 *
 *   m_new = max(m, max_j s_j)
 *   P_j   = exp(s_j - m_new)
 *   l     = alpha * l + sum_j P_j
 *
 * The caller rescales its running output row by the same alpha and adds P V_block; dividing by l
 * once at the end (deferred normalisation) gives exactly softmax(s) V.
 *
 * Used by the tiled CPU kernel (tiled.ts); the gpu.js kernels (gpu.ts) write the same lines in
 * kernel functions. Masked scores are either left out (count stops before them) or -Infinity.
 */

/**
 * Folds one block of one row's scores, `scores[at .. at + count)`, into the running max `m[row]`
 * and sum `l[row]`. Overwrites the block with P = exp(s - m_new) and returns alpha = exp(m - m_new),
 * the factor the caller must multiply its running output row by before adding P V.
 *
 * A row that has seen no key yet keeps m = -Infinity; then alpha is 1 and P is 0 (never NaN from
 * exp(-Infinity - -Infinity)), so its output stays 0.
 */
export function onlineSoftmaxStep(
  scores: Float64Array, at: number, count: number, m: Float64Array, l: Float64Array, row: number,
): number {
  const mOld = m[row];
  let mNew = mOld;
  for (let j = 0; j < count; j++) {
    const s = scores[at + j];
    if (s > mNew) mNew = s;
  }
  if (mNew === -Infinity) {
    scores.fill(0, at, at + count);
    return 1;
  }
  const alpha = Math.exp(mOld - mNew); // 0 on the first visible block (mOld = -Infinity)
  let sum = 0;
  for (let j = 0; j < count; j++) {
    const pj = Math.exp(scores[at + j] - mNew);
    scores[at + j] = pj;
    sum += pj;
  }
  l[row] = alpha * l[row] + sum;
  m[row] = mNew;
  return alpha;
}
