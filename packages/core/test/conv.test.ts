import { describe, expect, it } from 'vitest';
import { expectClose, readGolden } from '../src/testing.js';
import { conv2dPatches, ones, tensor } from '../src/index.js';

const golden = readGolden(new URL('./fixtures/ops.json', import.meta.url));

describe('conv2dPatches', () => {
  it('sums each 2x2 patch with an all-ones kernel', () => {
    // 1 channel, 2x4 image [[1 2 3 4] [5 6 7 8]]: patches {1,2,5,6} and {3,4,7,8}
    const y = conv2dPatches(tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 4]), ones([1, 1, 2, 2]));
    expect(y.shape).toEqual([1, 1, 2]);
    expect(y.toArray()).toEqual([14, 22]);
  });

  it('matches PyTorch conv2d with stride = kernel, batched, with bias', () => {
    const y = conv2dPatches(golden['conv.x'], golden['conv.w'], golden['conv.b']); // [2, 3, 12, 8] * [5, 3, 4, 4]
    expect(y.shape).toEqual([2, 5, 3, 2]);
    expectClose(y, golden['conv.y'], { atol: 1e-5 });
  });

  it('refuses an image that the kernel does not tile', () => {
    expect(() => conv2dPatches(ones([1, 5, 4]), ones([1, 1, 2, 2]))).toThrow('conv2dPatches: input [1, 1, 5, 4] does not fit weight [1, 1, 2, 2] (stride = kernel)');
  });
});
