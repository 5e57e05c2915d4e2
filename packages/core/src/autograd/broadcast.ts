/**
 * The gradient side of broadcasting: an input of shape [1, d] read as [T, d] receives the sum of
 * the T rows of the output's gradient; a missing leading axis likewise.
 */
import { broadcastStrides, sameShape } from '../shape.js';
import { Tensor, zeros } from '../tensor.js';

/** Sums g (of a broadcast shape) down to `shape`, which broadcasts to g's shape. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const out = zeros(shape);
  const o = out.data as Float32Array;
  const values = g.toFloat32Array(); // row-major over g.shape
  const rank = g.rank;
  if (out.size === 1) {
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[i];
    o[0] = s;
    return out;
  }
  const stride = broadcastStrides(shape, g.shape); // 0 along summed axes
  const inner = g.shape[rank - 1];
  const innerStride = stride[rank - 1];
  const counter = new Array<number>(rank).fill(0);
  let base = 0;
  for (let i = 0; i < values.length; i += inner) {
    for (let j = 0, at = base; j < inner; j++, at += innerStride) o[at] += values[i + j];
    for (let axis = rank - 2; axis >= 0; axis--) {
      counter[axis]++;
      base += stride[axis];
      if (counter[axis] < g.shape[axis]) break;
      base -= counter[axis] * stride[axis];
      counter[axis] = 0;
    }
  }
  return out;
}
