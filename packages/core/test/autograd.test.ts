import { describe, expect, it } from 'vitest';
import { expectClose } from '../src/testing.js';
import {
  backward, checkpoint, dropout, graphBytes, linear, map, mul, noGrad, randn, seedRandom, silu, sum, tensor, type Tensor,
} from '../src/index.js';

const total = (t: Tensor): Tensor => sum(t.reshape([-1]), 0);

describe('the tape', () => {
  it('sums the gradients of a tensor used twice: d(x*x)/dx = 2x', () => {
    const x = tensor([1, -2, 3], [3]).requireGrad();
    backward(total(mul(x, x)));
    expectClose(x.grad!, [2, -4, 6], { atol: 0 });
  });

  it('records nothing when no input requires a gradient (inference)', () => {
    const y = silu(tensor([1, 2], [2]));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradNode).toBeUndefined();
  });

  it('records nothing inside noGrad, even for parameters', () => {
    const w = tensor([1, 2], [2]).requireGrad();
    const y = noGrad(() => mul(w, 3));
    expect(y.gradNode).toBeUndefined();
  });

  it('drops every node once the backward pass has run (saved activations are freed)', () => {
    const w = tensor([1, 2], [2]).requireGrad();
    const h = silu(w);
    const loss = total(h);
    expect(h.gradNode?.op).toBe('silu');
    backward(loss);
    expect(h.gradNode).toBeUndefined();
    expect(loss.gradNode).toBeUndefined();
  });

  it('accumulates leaf gradients over two backward passes (gradient accumulation)', () => {
    const w = tensor([1, 2], [2]).requireGrad();
    backward(total(mul(w, 3)));
    backward(total(mul(w, 4)));
    expectClose(w.grad!, [7, 7], { atol: 0 });
  });

  it('refuses a non-scalar root without its gradient', () => {
    const w = tensor([1, 2], [2]).requireGrad();
    expect(() => backward(mul(w, 2))).toThrow('is not a scalar');
  });

  it('refuses to differentiate an arbitrary map', () => {
    const w = tensor([1, 2], [2]).requireGrad();
    expect(() => map(w, Math.sin)).toThrow('map: an arbitrary function has no gradient rule');
  });
});

describe('graphBytes', () => {
  it('counts the activation buffers the graph keeps, not the leaves: silu output 1024 B + the scalar 4 B', () => {
    const x = randn([256], 1).requireGrad(); // a leaf: not counted
    const loss = total(silu(x)); // silu's output [256] f32 and the sum's [] f32; the reshape shares silu's buffer
    expect(graphBytes(loss)).toBe(256 * 4 + 4);
  });
});

describe('frozen half-precision weights', () => {
  it('give the input its gradient and get none themselves (never converted to f32 whole)', () => {
    const x = randn([3, 4], 1).requireGrad();
    const w16 = randn([5, 4], 2, 'f16');
    backward(total(linear(x, w16)));
    expect(w16.grad).toBeUndefined();
    // d sum(x W^T) / dx[i, k] = sum_j W[j, k]
    const w = w16.toFloat32Array();
    const colSums = [0, 1, 2, 3].map((k) => [0, 1, 2, 3, 4].reduce((s, j) => s + w[j * 4 + k], 0));
    expectClose(x.grad!, [...colSums, ...colSums, ...colSums], { atol: 1e-5 });
  });
});

describe('checkpoint', () => {
  const block = (w: Tensor) => (x: Tensor) => silu(linear(silu(linear(x, w)), w));

  it('gives the same gradients as the plain segment while keeping only its output node', () => {
    const w1 = randn([4, 4], 3).requireGrad();
    const x1 = randn([2, 4], 4).requireGrad();
    backward(total(block(w1)(x1)));
    const w2 = randn([4, 4], 3).requireGrad();
    const x2 = randn([2, 4], 4).requireGrad();
    const out = checkpoint(block(w2), [x2]);
    expect(out.gradNode?.op).toBe('checkpoint');
    expect(out.gradNode?.inputs).toEqual([x2]);
    backward(total(out));
    expectClose(w2.grad!, w1.grad!, { atol: 1e-6 });
    expectClose(x2.grad!, x1.grad!, { atol: 1e-6 });
  });

  it('replays the dropout masks of the forward when it recomputes', () => {
    const run = (useCheckpoint: boolean): Tensor => {
      seedRandom(7);
      const w = randn([6, 6], 5).requireGrad();
      const f = (x: Tensor) => linear(dropout(x, 0.5), w);
      const x = randn([3, 6], 6);
      backward(total(useCheckpoint ? checkpoint(f, [x]) : f(x)));
      return w.grad!;
    };
    expectClose(run(true), run(false), { atol: 0 });
  });
});

describe('dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    seedRandom(1);
    const y = dropout(tensor(new Float32Array(10000).fill(1), [10000]), 0.25).toFloat32Array();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(2300);
    expect(zeros).toBeLessThan(2700);
    expect(new Set(y)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
  });

  it('is the identity when not training', () => {
    const x = tensor([1, 2], [2]);
    expect(dropout(x, 0.5, false)).toBe(x);
  });
});
