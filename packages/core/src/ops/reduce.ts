/**
 * Reductions along one axis: sum, mean, max (f32 out) and argmax (i32 out).
 * The input is viewed as [outer, n, inner] with n the reduced axis.
 */
import { record } from '../autograd/tape.js';
import { ShapeError, formatShape, normalizeAxis } from '../shape.js';
import { Tensor, f32Output, f32Values, zeros } from '../tensor.js';

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

/**
 * The gradient of a reduction along `axis`: each input element gets its output element's gradient
 * times `weight(inputIndex, outputIndex)` (1 for sum, 1/n for mean, the argmax indicator for max).
 */
function spread(t: Tensor, axis: number, g: Tensor, weight: (x: Float32Array, i: number, o: number) => number): Tensor {
  const a = normalizeAxis('reduce', axis, t.rank);
  const n = t.shape[a];
  const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = t.size / Math.max(1, n * inner);
  const gv = g.toFloat32Array(); // [outer * inner], keepDims or not
  const x = f32Values(t);
  const [dx, d] = f32Output(t.shape);
  for (let i = 0; i < outer; i++) {
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < inner; j++) {
        const at = (i * n + k) * inner + j;
        const o = i * inner + j;
        d[at] = gv[o] * weight(x, at, o);
      }
    }
  }
  return dx;
}

export function sum(t: Tensor, axis = -1, keepDims = false): Tensor {
  const out = reduce('sum', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[start + k * step];
    return s;
  });
  return record('sum', [t], out, (g) => [spread(t, axis, g, () => 1)]);
}

export function mean(t: Tensor, axis = -1, keepDims = false): Tensor {
  const out = reduce('mean', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[start + k * step];
    return s / n;
  });
  const n = t.shape[normalizeAxis('mean', axis, t.rank)];
  return record('mean', [t], out, (g) => [spread(t, axis, g, () => 1 / n)]);
}

/** The largest element along `axis`; its gradient goes to the first maximal element only. */
export function max(t: Tensor, axis = -1, keepDims = false): Tensor {
  const out = reduce('max', t, axis, keepDims, 'f32', (x, start, n, step) => {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[start + k * step]);
    return m;
  });
  return record('max', [t], out, (g) => {
    const best = argmax(t, axis).data as Int32Array; // [outer * inner]
    const a = normalizeAxis('max', axis, t.rank);
    const n = t.shape[a];
    const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1);
    // Input flat index at = (i n + k) inner + j belongs to output o = i inner + j at position k.
    return [spread(t, axis, g, (_, at, o) => (Math.floor(at / inner) % n === best[o] ? 1 : 0))];
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
