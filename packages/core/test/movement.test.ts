import { describe, expect, it } from 'vitest';
import { concat, embedding, indexSelect, tensor } from '../src/index.js';

describe('concat', () => {
  it('joins along axis 0', () => {
    expect(concat([tensor([1, 2], [1, 2]), tensor([3, 4, 5, 6], [2, 2])]).toArray()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('joins along the last axis row by row', () => {
    const r = concat([tensor([1, 2], [2, 1]), tensor([3, 4, 5, 6], [2, 2])], 1);
    expect(r.shape).toEqual([2, 3]);
    expect(r.toArray()).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it('keeps the stored dtype', () => {
    expect(concat([tensor([1], [1], 'f16'), tensor([2], [1], 'f16')]).dtype).toBe('f16');
  });

  it('names both shapes when other axes differ', () => {
    expect(() => concat([tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3])])).toThrow('concat: shapes [1, 2] and [1, 3] differ outside axis 0');
  });
});

describe('indexSelect', () => {
  const t = tensor([0, 1, 2, 3, 4, 5], [3, 2]); // rows [0 1] [2 3] [4 5]

  it('picks rows in the given order, repeats allowed', () => {
    expect(indexSelect(t, 0, [2, 0, 2]).toArray()).toEqual([4, 5, 0, 1, 4, 5]);
  });

  it('picks columns along axis 1', () => {
    expect(indexSelect(t, 1, [1]).toArray()).toEqual([1, 3, 5]);
  });

  it('refuses an index past the axis', () => {
    expect(() => indexSelect(t, 0, [3])).toThrow('indexSelect: index 3 is outside [0, 3)');
  });
});

describe('embedding', () => {
  it('gathers rows of an f16 table as f32', () => {
    const table = tensor([0, 0.5, 1, 1.5, 2, 2.5], [3, 2], 'f16');
    const e = embedding(table, [2, 1]);
    expect(e.dtype).toBe('f32');
    expect(e.toArray()).toEqual([2, 2.5, 1, 1.5]);
  });

  it('keeps the shape of a tensor of ids', () => {
    const e = embedding(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 0, 1], [3, 1], 'i32'));
    expect(e.shape).toEqual([3, 1, 2]);
  });

  it('names the id outside the vocabulary', () => {
    expect(() => embedding(tensor([1, 2], [1, 2]), [1])).toThrow('embedding: index 1 is outside [0, 1)');
  });
});
