import { describe, expect, it } from 'vitest';
import { Tensor, arange, full, ones, randn, tensor, zeros } from '../src/index.js';

describe('creation', () => {
  it('tensor copies the values into row-major storage with contiguous strides', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.stride).toEqual([3, 1]);
    expect(t.get(1, 0)).toBe(4);
  });

  it('tensor refuses values that do not fill the shape', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
  });

  it('zeros, ones and full fill with the value in the requested dtype', () => {
    expect(zeros([2]).toArray()).toEqual([0, 0]);
    expect(ones([2], 'i32').toArray()).toEqual([1, 1]);
    expect(full([3], 0.5, 'bf16').toArray()).toEqual([0.5, 0.5, 0.5]);
  });

  it('arange counts from start by step and excludes the end', () => {
    expect(arange(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
  });

  it('randn with the same seed gives the same values, a different seed different ones', () => {
    expect(randn([5], 7).toArray()).toEqual(randn([5], 7).toArray());
    expect(randn([5], 7).toArray()).not.toEqual(randn([5], 8).toArray());
  });

  it('randn has mean near 0 and variance near 1 over 100k samples', () => {
    const v = randn([100_000], 1).toFloat32Array();
    const mu = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mu) ** 2, 0) / v.length;
    // Standard error of the mean is 1/sqrt(1e5) ~ 0.003; of the variance ~ sqrt(2/1e5) ~ 0.0045.
    expect(Math.abs(mu)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('refuses storage that cannot hold the dtype', () => {
    expect(() => new Tensor('f16', new Float32Array(2), [2])).toThrow(/Float32Array cannot hold dtype f16/);
  });

  it('refuses a shape that reads past the storage', () => {
    expect(() => new Tensor('f32', new Float32Array(5), [2, 3])).toThrow(/reads outside a storage of 5 elements/);
  });
});

describe('views', () => {
  const t = tensor([0, 1, 2, 3, 4, 5], [2, 3]); // [[0 1 2] [3 4 5]]

  it('transpose swaps shape and strides without copying', () => {
    const u = t.transpose();
    expect(u.shape).toEqual([3, 2]);
    expect(u.stride).toEqual([1, 3]);
    expect(u.data).toBe(t.data);
    expect(u.toArray()).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('permute reorders axes', () => {
    const x = arange(24).reshape([2, 3, 4]);
    const p = x.permute([2, 0, 1]); // p[k, i, j] = x[i, j, k]
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.get(3, 1, 2)).toBe(x.get(1, 2, 3)); // 1*12 + 2*4 + 3 = 23
  });

  it('narrow moves the offset and keeps the strides', () => {
    const n = t.narrow(1, 1, 2); // [[1 2] [4 5]]
    expect(n.offset).toBe(1);
    expect(n.stride).toEqual([3, 1]);
    expect(n.toArray()).toEqual([1, 2, 4, 5]);
  });

  it('slice accepts negative bounds like Python', () => {
    expect(t.slice(1, -2).toArray()).toEqual([1, 2, 4, 5]);
    expect(t.slice(0, 0, -1).toArray()).toEqual([0, 1, 2]);
  });

  it('expand broadcasts a size-1 axis with stride 0', () => {
    const e = tensor([7, 8], [2, 1]).expand([2, 3]);
    expect(e.stride).toEqual([1, 0]);
    expect(e.toArray()).toEqual([7, 7, 7, 8, 8, 8]);
  });

  it('reshape of a contiguous tensor is a view and infers one -1', () => {
    const r = t.reshape([3, -1]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.data).toBe(t.data);
  });

  it('reshape of a transposed tensor copies into row-major order', () => {
    const r = t.transpose().reshape([6]);
    expect(r.data).not.toBe(t.data);
    expect(r.toArray()).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('reshape names both shapes when the sizes differ', () => {
    expect(() => t.reshape([4, 2])).toThrow(/cannot reshape \[2, 3\] to \[4, 2\]/);
  });

  it('contiguous returns the same tensor when it is already row-major', () => {
    expect(t.contiguous()).toBe(t);
    expect(t.transpose().contiguous().stride).toEqual([2, 1]);
  });

  it('unsqueeze and squeeze add and remove a size-1 axis', () => {
    expect(t.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(t.unsqueeze(-1).shape).toEqual([2, 3, 1]);
    expect(t.unsqueeze(1).squeeze(1).toArray()).toEqual(t.toArray());
  });

  it('get refuses an index outside the shape', () => {
    expect(() => t.get(2, 0)).toThrow(/index \[2, 0\] is outside \[2, 3\]/);
  });
});

describe('reading values', () => {
  it('toFloat32Array decodes f16 and bf16 views in row-major order', () => {
    const h = tensor([1, 2, 3, 4], [2, 2], 'f16').transpose();
    expect(Array.from(h.toFloat32Array())).toEqual([1, 3, 2, 4]);
    const b = tensor([0.5, -1], [2], 'bf16');
    expect(Array.from(b.toFloat32Array())).toEqual([0.5, -1]);
  });

  it('to(i32) truncates toward zero', () => {
    expect(tensor([1.7, -1.7], [2]).to('i32').toArray()).toEqual([1, -1]);
  });

  it('reads exact i64 values as numbers and refuses inexact ones', () => {
    const ok = new Tensor('i64', new BigInt64Array([3n, -(2n ** 53n) + 1n]), [2]);
    expect(ok.toArray()).toEqual([3, -(2 ** 53) + 1]);
    const big = new Tensor('i64', new BigInt64Array([2n ** 60n]), [1]);
    expect(() => big.toArray()).toThrow(/not exactly representable/);
  });
});
