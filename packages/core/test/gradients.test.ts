/**
 * Every gradient rule of @adsc/core, twice: against PyTorch's autograd (golden fixtures from
 * scripts/grad_golden.py, float64 on the same float32 inputs) and against central finite
 * differences of our own forward. The loss is sum(out * G) for a random G.
 */
import { describe, it } from 'vitest';
import { expectClose, finiteDifferences, readGolden, tapeGradients } from '../src/testing.js';
import {
  add, concat, conv2dPatches, crossEntropy, div, embedding, exp, gelu, geluTanh, indexSelect, layerNorm, linear, matmul,
  max, mean, mul, neg, quickGelu, rmsNorm, scale, silu, softmax, sqrt, sub, sum, type Tensor,
} from '../src/index.js';

const golden = readGolden(new URL('./fixtures/grads.json', import.meta.url));
const targets = [1, -100, 3, 6, 0];

interface Case {
  /** The golden case name. */
  name: string;
  /** Input names, in the order `fn` takes them (only these get gradients). */
  inputs: string[];
  fn: (...t: Tensor[]) => Tensor;
  /** Finite-difference tolerance (the forward is f32). */
  fdTol?: number;
}

const cases: Case[] = [
  { name: 'add', inputs: ['a', 'b'], fn: (a, b) => add(a, b) },
  { name: 'sub', inputs: ['a', 'b'], fn: (a, b) => sub(a, b) },
  { name: 'mul', inputs: ['a', 'b'], fn: (a, b) => mul(a, b) },
  { name: 'div', inputs: ['a', 'b'], fn: (a, b) => div(a, b) },
  { name: 'neg', inputs: ['x'], fn: (x) => neg(x) },
  { name: 'exp', inputs: ['x'], fn: (x) => exp(x) },
  { name: 'sqrt', inputs: ['x'], fn: (x) => sqrt(x) },
  { name: 'scale', inputs: ['x'], fn: (x) => scale(x, 2.5) },
  { name: 'silu', inputs: ['x'], fn: (x) => silu(x) },
  { name: 'gelu', inputs: ['x'], fn: (x) => gelu(x) },
  { name: 'gelu_tanh', inputs: ['x'], fn: (x) => geluTanh(x) },
  { name: 'quick_gelu', inputs: ['x'], fn: (x) => quickGelu(x) },
  { name: 'sum', inputs: ['x'], fn: (x) => sum(x, 1) },
  { name: 'mean', inputs: ['x'], fn: (x) => mean(x, 0, true) },
  { name: 'max', inputs: ['x'], fn: (x) => max(x, -1) },
  { name: 'softmax', inputs: ['x'], fn: (x) => softmax(x, -1) },
  { name: 'softmax_axis1', inputs: ['x'], fn: (x) => softmax(x, 1) },
  { name: 'rmsnorm', inputs: ['x', 'w'], fn: (x, w) => rmsNorm(x, w, 1e-5) },
  { name: 'layernorm', inputs: ['x', 'w', 'b'], fn: (x, w, b) => layerNorm(x, w, b, 1e-5) },
  { name: 'concat', inputs: ['a', 'b'], fn: (a, b) => concat([a, b], 1) },
  { name: 'index_select', inputs: ['x'], fn: (x) => indexSelect(x, 0, [0, 2, 2]) },
  { name: 'embedding', inputs: ['w'], fn: (w) => embedding(w, [1, 3, 1, 5]) },
  { name: 'matmul', inputs: ['a', 'b'], fn: (a, b) => matmul(a, b) },
  { name: 'matmul_vec', inputs: ['a', 'b'], fn: (a, b) => matmul(a, b) },
  { name: 'linear', inputs: ['x', 'w', 'b'], fn: (x, w, b) => linear(x, w, b) },
  { name: 'conv2d_patches', inputs: ['x', 'w', 'b'], fn: (x, w, b) => conv2dPatches(x, w, b) },
  { name: 'cross_entropy', inputs: ['x'], fn: (x) => crossEntropy(x, targets) },
  { name: 'cross_entropy_sum', inputs: ['x'], fn: (x) => crossEntropy(x, targets, { reduction: 'sum' }) },
  {
    name: 'views',
    inputs: ['x'],
    fn: (x) => x.permute([2, 0, 1]).narrow(1, 1, 2).reshape([4, 2, 3]).transpose(0, 2).unsqueeze(0).squeeze(0),
  },
  { name: 'expand', inputs: ['x'], fn: (x) => mul(x.expand([2, 3, 4]), 1) },
];

/** Fresh copies of a case's inputs (the tape marks them, finite differences nudge them). */
const inputsOf = (c: Case): Tensor[] => c.inputs.map((k) => golden[`${c.name}.${k}`].to('f32').contiguous().detach());

describe('gradient rules match PyTorch', () => {
  for (const c of cases) {
    it(`${c.name}: the input gradients equal torch.autograd's`, () => {
      const grads = tapeGradients(c.fn, inputsOf(c), golden[`${c.name}.G`]);
      c.inputs.forEach((k, i) => expectClose(grads[i]!, golden[`${c.name}.d${k}`], { atol: 2e-5, rtol: 1e-4 }));
    });
  }
});

describe('gradient rules match finite differences', () => {
  for (const c of cases) {
    // max and the activations have kinks only at points the random inputs do not hit.
    it(`${c.name}: the input gradients equal central differences of the forward`, () => {
      const g = golden[`${c.name}.G`];
      const grads = tapeGradients(c.fn, inputsOf(c), g);
      const inputs = inputsOf(c);
      c.inputs.forEach((_, i) => expectClose(grads[i]!, finiteDifferences(c.fn, inputs, i, g), { atol: c.fdTol ?? 2e-3, rtol: 2e-3 }));
    });
  }
});
