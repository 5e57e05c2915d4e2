/**
 * Elementwise arithmetic with NumPy broadcasting. Inputs of any dtype are read as f32; the result
 * is a new f32 tensor. A plain number stands for a scalar tensor.
 *
 * Gradients: an input that was broadcast receives the gradient summed over the broadcast axes
 * (`sumToShape`); a plain number receives none.
 */
import { AutogradError, needsGrad, record } from '../autograd/tape.js';
import { sumToShape } from '../autograd/broadcast.js';
import { broadcastShapes, broadcastStrides, sameShape } from '../shape.js';
import { Tensor, f32Output, f32Values, tensor } from '../tensor.js';

type Operand = Tensor | number;

const asTensor = (x: Operand): Tensor => (typeof x === 'number' ? tensor([x], []) : x);

/** o[i] = x[i] (op) y[i] for i < n: one op's loop, written out so that the op is inlined. */
type SameShapeLoop = (x: Float32Array, y: Float32Array, o: Float32Array, n: number) => void;

/**
 * Applies `f` to every pair of broadcast elements. Same-shape operands run the op's own loop
 * (`same`: a call of `f` per element from this shared loop is not inlined; adsc train 436 -> 472
 * tokens/s with `mul` and `add` on their own loops, docs/shapes.md 3t); scalar operands take a flat
 * loop over `f`; otherwise the innermost axis is a loop
 * with per-operand strides (0 along broadcast axes).
 */
function binary(op: string, a: Operand, b: Operand, f: (x: number, y: number) => number, same: SameShapeLoop): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const x = f32Values(ta);
  const y = f32Values(tb);
  const [out, o] = f32Output(shape);
  const n = o.length;
  if (sameShape(ta.shape, tb.shape)) {
    same(x, y, o, n);
  } else if (tb.size === 1) {
    const s = y[0];
    for (let i = 0; i < n; i++) o[i] = f(x[i], s);
  } else if (ta.size === 1) {
    const s = x[0];
    for (let i = 0; i < n; i++) o[i] = f(s, y[i]);
  } else {
    broadcastLoop(shape, broadcastStrides(ta.shape, shape), broadcastStrides(tb.shape, shape), (ia, ib, io, len, sa, sb) => {
      for (let j = 0; j < len; j++, ia += sa, ib += sb) o[io + j] = f(x[ia], y[ib]);
    });
  }
  return out;
}

/**
 * Walks a broadcast iteration space row by row: for each run of the last axis it calls
 * `row(startA, startB, startOut, length, strideA, strideB)`.
 */
function broadcastLoop(
  shape: readonly number[],
  strideA: readonly number[],
  strideB: readonly number[],
  row: (ia: number, ib: number, io: number, len: number, sa: number, sb: number) => void,
): void {
  const rank = shape.length;
  const inner = shape[rank - 1];
  const total = shape.reduce((p, d) => p * d, 1);
  if (total === 0) return;
  const counter = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let io = 0; io < total; io += inner) {
    row(ia, ib, io, inner, strideA[rank - 1], strideB[rank - 1]);
    for (let axis = rank - 2; axis >= 0; axis--) {
      counter[axis]++;
      ia += strideA[axis];
      ib += strideB[axis];
      if (counter[axis] < shape[axis]) break;
      ia -= counter[axis] * strideA[axis];
      ib -= counter[axis] * strideB[axis];
      counter[axis] = 0;
    }
  }
}

function mapValues(t: Tensor, f: (x: number) => number): Tensor {
  const x = f32Values(t);
  const [out, o] = f32Output(t.shape);
  for (let i = 0; i < o.length; i++) o[i] = f(x[i]);
  return out;
}

/** Applies `f` to every element. It has no gradient rule: a differentiable op uses `unary`. */
export function map(t: Tensor, f: (x: number) => number): Tensor {
  if (needsGrad([t])) throw new AutogradError('map: an arbitrary function has no gradient rule; use a differentiable op (unary with its derivative)');
  return mapValues(t, f);
}

/**
 * y = f(x) elementwise, with the derivative `df(x, y)` so that dx = g * df(x, y). Both the input
 * and the output are kept for the backward only when the op records.
 */
export function unary(op: string, t: Tensor, f: (x: number) => number, df: (x: number, y: number) => number): Tensor {
  const out = mapValues(t, f);
  return record(op, [t], out, (g) => {
    const x = f32Values(t);
    const y = out.data as Float32Array;
    const gv = f32Values(g.contiguous());
    const [dx, d] = f32Output(t.shape);
    for (let i = 0; i < d.length; i++) d[i] = gv[i] * df(x[i], y[i]);
    return [dx];
  });
}

const operand = (x: Operand): Tensor | undefined => (typeof x === 'number' ? undefined : x);

/** The gradient of operand `x`, computed only when `x` is a tensor that wants one. */
const gradOf = (x: Operand, dx: (t: Tensor) => Tensor): Tensor | undefined =>
  typeof x === 'number' || !x.requiresGrad ? undefined : sumToShape(dx(x), x.shape);

const addLoop: SameShapeLoop = (x, y, o, n) => { for (let i = 0; i < n; i++) o[i] = x[i] + y[i]; };
const subLoop: SameShapeLoop = (x, y, o, n) => { for (let i = 0; i < n; i++) o[i] = x[i] - y[i]; };
const mulLoop: SameShapeLoop = (x, y, o, n) => { for (let i = 0; i < n; i++) o[i] = x[i] * y[i]; };
const divLoop: SameShapeLoop = (x, y, o, n) => { for (let i = 0; i < n; i++) o[i] = x[i] / y[i]; };

export function add(a: Operand, b: Operand): Tensor {
  const out = binary('add', a, b, (x, y) => x + y, addLoop);
  return record('add', [operand(a), operand(b)], out, (g) => [gradOf(a, () => g), gradOf(b, () => g)]);
}

export function sub(a: Operand, b: Operand): Tensor {
  const out = binary('sub', a, b, (x, y) => x - y, subLoop);
  return record('sub', [operand(a), operand(b)], out, (g) => [gradOf(a, () => g), gradOf(b, () => neg(g))]);
}

export function mul(a: Operand, b: Operand): Tensor {
  const out = binary('mul', a, b, (x, y) => x * y, mulLoop);
  return record('mul', [operand(a), operand(b)], out, (g) => [gradOf(a, () => mul(g, b)), gradOf(b, () => mul(g, a))]);
}

export function div(a: Operand, b: Operand): Tensor {
  const out = binary('div', a, b, (x, y) => x / y, divLoop);
  // d(a/b)/db = -a / b^2 = -out / b
  return record('div', [operand(a), operand(b)], out, (g) => [gradOf(a, () => div(g, b)), gradOf(b, () => neg(div(mul(g, out), b)))]);
}

export const neg = (t: Tensor): Tensor => unary('neg', t, (x) => -x, () => -1);
export const exp = (t: Tensor): Tensor => unary('exp', t, Math.exp, (_, y) => y);
export const sqrt = (t: Tensor): Tensor => unary('sqrt', t, Math.sqrt, (_, y) => 0.5 / y);
/** Multiplies every element by the number `s`. */
export const scale = (t: Tensor, s: number): Tensor => unary('scale', t, (x) => x * s, () => s);
