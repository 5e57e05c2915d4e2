import { describe, expect, it } from 'vitest';
import { add, div, exp, mul, neg, scale, sub, tensor } from '../src/index.js';

describe('elementwise arithmetic', () => {
  it('adds tensors of the same shape elementwise', () => {
    expect(add(tensor([1, 2], [2]), tensor([10, 20], [2])).toArray()).toEqual([11, 22]);
  });

  it('broadcasts a row against a column to their outer sum', () => {
    // [[0], [10]] + [1, 2, 3] = [[1, 2, 3], [11, 12, 13]]
    const r = add(tensor([0, 10], [2, 1]), tensor([1, 2, 3], [3]));
    expect(r.shape).toEqual([2, 3]);
    expect(r.toArray()).toEqual([1, 2, 3, 11, 12, 13]);
  });

  it('broadcasts a plain number as a scalar', () => {
    expect(sub(tensor([5, 7], [2]), 1).toArray()).toEqual([4, 6]);
    expect(div(1, tensor([2, 4], [2])).toArray()).toEqual([0.5, 0.25]);
  });

  it('reads non-contiguous views in their logical order', () => {
    const t = tensor([1, 2, 3, 4], [2, 2]).transpose(); // [[1 3] [2 4]]
    expect(mul(t, tensor([1, 10], [2])).toArray()).toEqual([1, 30, 2, 40]);
  });

  it('reads f16 operands as their values', () => {
    expect(add(tensor([1.5], [1], 'f16'), tensor([0.25], [1], 'bf16')).toArray()).toEqual([1.75]);
  });

  it('names the op and both shapes when they cannot broadcast', () => {
    expect(() => add(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([1, 2], [2]))).toThrow('add: cannot broadcast shapes [2, 3] and [2]');
  });

  it('neg, exp and scale map every element', () => {
    expect(neg(tensor([1, -2], [2])).toArray()).toEqual([-1, 2]);
    expect(exp(tensor([0], [1])).toArray()).toEqual([1]);
    expect(scale(tensor([1, 2], [2]), 0.5).toArray()).toEqual([0.5, 1]);
  });
});
