/**
 * Activation functions, elementwise, f32 out.
 * - silu (Llama's SwiGLU gate): x * sigmoid(x)
 * - gelu (LLaVA projector): exact form 0.5 x (1 + erf(x / sqrt 2))
 * - geluTanh: the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * - quickGelu (CLIP): x * sigmoid(1.702 x)
 */
import type { Tensor } from '../tensor.js';
import { map } from './elementwise.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

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

export const silu = (t: Tensor): Tensor => map(t, (x) => x * sigmoid(x));
export const gelu = (t: Tensor): Tensor => map(t, (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)));
export const geluTanh = (t: Tensor): Tensor =>
  map(t, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));
export const quickGelu = (t: Tensor): Tensor => map(t, (x) => x * sigmoid(1.702 * x));
