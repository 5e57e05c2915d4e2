/**
 * Inverted dropout (PyTorch's): in training each element is zeroed with probability p and the
 * survivors are scaled by 1 / (1 - p), so that nothing changes in expectation and evaluation is
 * the identity. Draws come from autograd/random.ts, so a checkpointed recomputation repeats them.
 */
import { record } from '../autograd/tape.js';
import { nextUniform } from '../autograd/random.js';
import { Tensor, f32Output, f32Values } from '../tensor.js';

export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const v = f32Values(x);
  const keep = 1 / (1 - p);
  const mask = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) mask[i] = nextUniform() < p ? 0 : keep;
  const [out, o] = f32Output(x.shape);
  for (let i = 0; i < v.length; i++) o[i] = v[i] * mask[i];
  return record('dropout', [x], out, (g) => {
    const gv = g.toFloat32Array();
    const [dx, d] = f32Output(x.shape);
    for (let i = 0; i < d.length; i++) d[i] = gv[i] * mask[i];
    return [dx];
  });
}
