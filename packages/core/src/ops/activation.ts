/**
 * Activation functions, elementwise, f32 out.
 * - silu (Llama's SwiGLU gate): x * sigmoid(x)
 * - gelu (LLaVA projector): exact form 0.5 x (1 + erf(x / sqrt 2))
 * - geluTanh: the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * - quickGelu (CLIP): x * sigmoid(1.702 x)
 */
import { record } from '../autograd/tape.js';
import { f32Output, f32Values, type Tensor } from '../tensor.js';
import { unary } from './elementwise.js';

/**
 * erf by Abramowitz & Stegun formula 7.1.26: absolute error below 1.5e-7 for every x, which is
 * about one f32 ulp near 1; gelu's error is then below 0.75e-7 * |x|.
 */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-a * a));
}

/**
 * x * sigmoid(a x), and in the backward its derivative s + a x s (1 - s) with s = sigmoid(a x).
 * Written as its own loops, not through `unary`: these are the hot activations (every Llama and
 * CLIP MLP), and `unary`'s per-element calls are not inlined (adsc train on patch-word records,
 * one thread: 472 tokens/s through `unary`, 622 with these loops; docs/shapes.md 3t).
 */
function sigmoidGate(op: string, t: Tensor, a: number): Tensor {
  const x = f32Values(t);
  const [out, o] = f32Output(t.shape);
  for (let i = 0; i < o.length; i++) o[i] = x[i] / (1 + Math.exp(-a * x[i]));
  return record(op, [t], out, (g) => {
    const gv = f32Values(g.contiguous());
    const [dx, d] = f32Output(t.shape);
    for (let i = 0; i < d.length; i++) {
      const s = 1 / (1 + Math.exp(-a * x[i]));
      d[i] = gv[i] * (s + a * x[i] * s * (1 - s));
    }
    return [dx];
  });
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TANH_C = Math.sqrt(2 / Math.PI);

export const silu = (t: Tensor): Tensor => sigmoidGate('silu', t, 1);
export const quickGelu = (t: Tensor): Tensor => sigmoidGate('quickGelu', t, 1.702);

/** d/dx [x Phi(x)] = Phi(x) + x phi(x), with Phi the normal CDF and phi its density. */
export const gelu = (t: Tensor): Tensor =>
  unary(
    'gelu',
    t,
    (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
    (x) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  );

/** With u = c (x + 0.044715 x^3): d/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) c (1 + 3 * 0.044715 x^2). */
export const geluTanh = (t: Tensor): Tensor =>
  unary(
    'geluTanh',
    t,
    (x) => 0.5 * x * (1 + Math.tanh(TANH_C * (x + 0.044715 * x * x * x))),
    (x) => {
      const th = Math.tanh(TANH_C * (x + 0.044715 * x * x * x));
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * TANH_C * (1 + 3 * 0.044715 * x * x);
    },
  );
