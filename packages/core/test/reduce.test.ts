import { describe, expect, it } from 'vitest';
import { argmax, max, mean, sum, tensor } from '../src/index.js';

const t = tensor([1, 5, 3, 4, 2, 6], [2, 3]); // [[1 5 3] [4 2 6]]

describe('reductions', () => {
  it('sum along the last axis adds each row', () => {
    expect(sum(t).toArray()).toEqual([9, 12]);
  });

  it('sum along axis 0 adds each column', () => {
    expect(sum(t, 0).toArray()).toEqual([5, 7, 9]);
  });

  it('keepDims leaves the reduced axis with size 1', () => {
    expect(mean(t, 1, true).shape).toEqual([2, 1]);
    expect(mean(t, 1, true).toArray()).toEqual([3, 4]);
  });

  it('max and argmax find the largest element of each row', () => {
    expect(max(t).toArray()).toEqual([5, 6]);
    expect(argmax(t).toArray()).toEqual([1, 2]);
    expect(argmax(t).dtype).toBe('i32');
  });

  it('argmax returns the first index on ties', () => {
    expect(argmax(tensor([2, 7, 7], [3])).toArray()).toEqual([1]);
  });

  it('names the op and the rank when the axis is out of range', () => {
    expect(() => sum(t, 2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
  });
});
