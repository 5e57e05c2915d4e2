/**
 * Cross-entropy of logits against integer targets, fused with its log-softmax so that the
 * [N, V] probabilities are formed only inside the backward, one row at a time.
 *
 *   loss_i = logsumexp(logits_i) - logits_i[target_i]       for targets != ignoreIndex
 *   loss   = sum_i loss_i / count  ('mean', Hugging Face's causal-LM loss) or sum_i loss_i ('sum')
 *   dlogits_i = (softmax(logits_i) - onehot(target_i)) * dloss / count   (zero for ignored rows)
 *
 * A mean over zero labelled rows is NaN, as in PyTorch.
 */
import { record } from '../autograd/tape.js';
import { ShapeError, formatShape } from '../shape.js';
import { Tensor, f32Output, f32Values } from '../tensor.js';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default -100, PyTorch's and Hugging Face's). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum';
}

/** logits [N, V], targets N integers -> a scalar tensor []. */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = opts;
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: logits must be [N, V], got ${formatShape(logits.shape)}`);
  const [n, vocab] = logits.shape;
  if (targets.length !== n) throw new ShapeError(`crossEntropy: ${targets.length} targets for logits ${formatShape(logits.shape)}`);
  const x = f32Values(logits);
  const lse = new Float64Array(n); // logsumexp of each row (unused for ignored rows)
  let total = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i];
    if (t === ignoreIndex) continue;
    if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new RangeError(`crossEntropy: target ${t} at row ${i} is outside [0, ${vocab})`);
    const row = i * vocab;
    let m = -Infinity;
    for (let k = 0; k < vocab; k++) m = Math.max(m, x[row + k]);
    let s = 0;
    for (let k = 0; k < vocab; k++) s += Math.exp(x[row + k] - m);
    lse[i] = m + Math.log(s);
    total += lse[i] - x[row + t];
    count++;
  }
  const divisor = reduction === 'mean' ? count : 1;
  const [out, o] = f32Output([]);
  o[0] = total / divisor;
  return record('crossEntropy', [logits], out, (g) => {
    const scale = g.toFloat32Array()[0] / divisor;
    const [dx, d] = f32Output(logits.shape);
    for (let i = 0; i < n; i++) {
      const t = targets[i];
      if (t === ignoreIndex) continue;
      const row = i * vocab;
      for (let k = 0; k < vocab; k++) d[row + k] = Math.exp(x[row + k] - lse[i]) * scale;
      d[row + t] -= scale;
    }
    return [dx];
  });
}
