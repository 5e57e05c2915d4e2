import { describe, expect, it } from 'vitest';
import { batchAt, batchesPerEpoch, epochOrder } from '../src/index.js';

const sorted = (a: Int32Array) => [...a].sort((x, y) => x - y);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('epochOrder', () => {
  it('is a permutation of 0..count-1', () => {
    expect(sorted(epochOrder(100, 7, 0))).toEqual(range(100));
  });

  it('gives the same order for the same seed and epoch', () => {
    expect(epochOrder(50, 7, 3)).toEqual(epochOrder(50, 7, 3));
  });

  it('gives each epoch a different order', () => {
    const orders = [0, 1, 2, 3].map((epoch) => epochOrder(50, 7, epoch).join(','));
    expect(new Set(orders).size).toBe(4);
  });

  it('gives another seed another order', () => {
    expect(epochOrder(50, 1, 0)).not.toEqual(epochOrder(50, 2, 0));
  });

  it('handles an empty and a one-element data set', () => {
    expect([...epochOrder(0, 0, 0)]).toEqual([]);
    expect([...epochOrder(1, 0, 0)]).toEqual([0]);
  });
});

describe('batchAt', () => {
  const options = { count: 10, seed: 3, batchSize: 4 };

  it('cuts an epoch into ceil(count / batchSize) batches, the last holding the remainder', () => {
    expect(batchesPerEpoch(10, 4)).toBe(3);
    expect([0, 1, 2].map((k) => batchAt(k, options).indices.length)).toEqual([4, 4, 2]);
  });

  it('visits every example exactly once per epoch, in that epoch\'s order', () => {
    const epoch1 = [3, 4, 5].flatMap((k) => [...batchAt(k, options).indices]);
    expect(epoch1).toEqual([...epochOrder(10, 3, 1)]);
    expect([3, 4, 5].map((k) => batchAt(k, options).epoch)).toEqual([1, 1, 1]);
  });
});
