/**
 * Elementwise arithmetic with NumPy broadcasting. Inputs of any dtype are read as f32; the result
 * is a new f32 tensor. A plain number stands for a scalar tensor.
 */
import { broadcastShapes, broadcastStrides, sameShape } from '../shape.js';
import { Tensor, f32Output, f32Values, tensor } from '../tensor.js';

type Operand = Tensor | number;

const asTensor = (x: Operand): Tensor => (typeof x === 'number' ? tensor([x], []) : x);

/**
 * Applies `f` to every pair of broadcast elements. Same-shape and scalar operands take a flat loop;
 * otherwise the innermost axis is a loop with per-operand strides (0 along broadcast axes).
 */
function binary(op: string, a: Operand, b: Operand, f: (x: number, y: number) => number): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const x = f32Values(ta);
  const y = f32Values(tb);
  const [out, o] = f32Output(shape);
  const n = o.length;
  if (sameShape(ta.shape, tb.shape)) {
    for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
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

/** Applies `f` to every element. */
export function map(t: Tensor, f: (x: number) => number): Tensor {
  const x = f32Values(t);
  const [out, o] = f32Output(t.shape);
  for (let i = 0; i < o.length; i++) o[i] = f(x[i]);
  return out;
}

export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b, (x, y) => x + y);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b, (x, y) => x - y);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b, (x, y) => x * y);
export const div = (a: Operand, b: Operand): Tensor => binary('div', a, b, (x, y) => x / y);
export const neg = (t: Tensor): Tensor => map(t, (x) => -x);
export const exp = (t: Tensor): Tensor => map(t, Math.exp);
export const sqrt = (t: Tensor): Tensor => map(t, Math.sqrt);
/** Multiplies every element by the number `s`. */
export const scale = (t: Tensor, s: number): Tensor => map(t, (x) => x * s);
