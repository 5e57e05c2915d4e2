/**
 * Reductions along one axis: sum, mean, max (f32 out) and argmax (i32 out).
 * The input is viewed as [outer, n, inner] with n the reduced axis.
 */
import { ShapeError, formatShape, normalizeAxis } from '../shape.js';
import { Tensor, f32Values, zeros } from '../tensor.js';

function reduce(
  op: string,
  t: Tensor,
  axis: number,
  keepDims: boolean,
  outDType: 'f32' | 'i32',
  kernel: (x: Float32Array, start: number, n: number, step: number) => number,
): Tensor {
  const a = normalizeAxis(op, axis, t.rank);
  const n = t.shape[a];
  if (n === 0 && op !== 'sum' && op !== 'mean') {
    throw new ShapeError(`${op}: cannot reduce an empty axis ${axis} of ${formatShape(t.shape)}`);
  }
  const outer = t.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const shape = keepDims ? t.shape.map((d, i) => (i === a ? 1 : d)) : t.shape.filter((_, i) => i !== a);
  const out = zeros(shape, outDType);
  const o = out.data as Float32Array | Int32Array;
  const x = f32Values(t);
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) o[i * inner + j] = kernel(x, i * n * inner + j, n, inner);
  }
  return out;
}

export function sum(t: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('sum', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[start + k * step];
    return s;
  });
}

export function mean(t: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('mean', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[start + k * step];
    return s / n;
  });
}

export function max(t: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('max', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[start + k * step]);
    return m;
  });
}

/** Index of the largest element along `axis` (the first one on ties), as i32. */
export function argmax(t: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('argmax', t, axis, keepDims, 'i32', (x, start, n, step) => {
    let best = 0;
    for (let k = 1; k < n; k++) if (x[start + k * step] > x[start + best * step]) best = k;
    return best;
  });
}
