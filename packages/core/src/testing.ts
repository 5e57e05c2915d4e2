/**
 * Test helpers shared by every package (`import { expectClose } from '@adsc/core/testing'`).
 * Framework-free: a failed check throws an Error that says where and by how much.
 */
import { readFileSync } from 'node:fs';
import { formatShape } from './shape.js';
import { Tensor, tensor } from './tensor.js';
import { backward, noGrad } from './autograd/tape.js';

export interface Tolerance {
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 0). */
  rtol?: number;
}

type Values = Tensor | ArrayLike<number>;

function flat(v: Values): ArrayLike<number> {
  return v instanceof Tensor ? v.toFloat32Array() : v;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (torch.allclose), shapes
 * equal when both are tensors, NaN only where NaN is expected.
 */
export function expectClose(actual: Values, expected: Values, { atol = 1e-6, rtol = 0 }: Tolerance = {}): void {
  if (actual instanceof Tensor && expected instanceof Tensor && formatShape(actual.shape) !== formatShape(expected.shape)) {
    throw new Error(`expectClose: shape ${formatShape(actual.shape)} != expected ${formatShape(expected.shape)}`);
  }
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`expectClose: ${a.length} values != expected ${e.length}`);
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - e[i]);
    const limit = atol + rtol * Math.abs(e[i]);
    const ok = Number.isNaN(e[i]) ? Number.isNaN(a[i]) : a[i] === e[i] || diff <= limit;
    if (!ok) {
      bad++;
      const excess = Number.isNaN(diff) ? Infinity : diff - limit;
      if (excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
  }
  if (bad > 0) {
    throw new Error(
      `expectClose: ${bad} of ${a.length} values differ (atol ${atol}, rtol ${rtol}); ` +
        `worst at flat index ${worst}: got ${a[worst]}, expected ${e[worst]}`,
    );
  }
}

/**
 * Reads a golden-fixture JSON file written by a generator script: `{ name: { shape, data } }`,
 * data flat row-major; returns f32 tensors by name.
 */
export function readGolden(path: string | URL): Record<string, Tensor> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { shape: number[]; data: number[] }>;
  return Object.fromEntries(
    Object.entries(raw).map(([name, { shape, data }]) => [name, tensor(data.map(decodeSpecial), shape)]),
  );
}

/** JSON has no NaN or infinities; generators write them as strings. */
function decodeSpecial(v: number | string): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v);
}

/**
 * Gradients of sum(fn(...inputs) * g) with respect to each input, by the tape: the inputs are
 * marked as leaves, their `.grad` is cleared first and returned (undefined where none flowed).
 */
export function tapeGradients(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], g: Tensor): (Tensor | undefined)[] {
  for (const t of inputs) {
    t.requiresGrad = true;
    t.grad = undefined;
  }
  const out = fn(...inputs);
  backward(out, g);
  return inputs.map((t) => t.grad);
}

/**
 * Central finite differences of sum(fn(...inputs) * g) with respect to input `which`, summed in
 * float64: each element of that input (f32, contiguous) is nudged by +-eps in place and restored.
 * The ops compute in f32, so eps trades truncation error (eps^2) against rounding (1e-7 / eps).
 */
export function finiteDifferences(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], which: number, g: Tensor, eps = 1e-2): Float64Array {
  const x = inputs[which];
  if (x.dtype !== 'f32' || !x.isContiguous()) throw new Error('finiteDifferences: the input must be contiguous f32');
  const data = x.data as Float32Array;
  const gv = g.toFloat32Array();
  const objective = (): number => {
    const y = noGrad(() => fn(...inputs)).toFloat32Array();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * gv[i];
    return s;
  };
  const result = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const at = x.offset + i;
    const keep = data[at];
    data[at] = keep + eps;
    const plus = objective();
    data[at] = keep - eps;
    const minus = objective();
    data[at] = keep;
    result[i] = (plus - minus) / (2 * eps);
  }
  return result;
}
