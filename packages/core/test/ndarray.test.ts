import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { fromNdarray, tensor, toNdarray } from '../src/index.js';

describe('ndarray interop', () => {
  it('fromNdarray shares the memory of a strided ndarray view', () => {
    const nd = ndarray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]).transpose(1, 0);
    const t = fromNdarray(nd);
    expect(t.data).toBe(nd.data);
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('toNdarray hands the same fields to the ndarray constructor', () => {
    const t = tensor([0, 1, 2, 3, 4, 5], [2, 3]).narrow(1, 1, 2);
    const nd = toNdarray(t, ndarray) as ndarray.NdArray<Float32Array>;
    expect(nd.data).toBe(t.data);
    expect(nd.get(1, 0)).toBe(4);
  });

  it('reads a Uint16Array as f16 when asked', () => {
    const nd = ndarray(new Uint16Array([0x3c00, 0x4000]), [2]);
    expect(fromNdarray(nd, 'f16').toArray()).toEqual([1, 2]);
    expect(fromNdarray(nd).dtype).toBe('u16');
  });
});
