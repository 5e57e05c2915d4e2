import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import { KVCache, LayerCache } from '../src/index.js';

// 2 KV heads of dimension 2: a token's row is [h0d0, h0d1, h1d0, h1d1].
const rows = (...values: number[]) => tensor(values, [values.length / 4, 4]);

describe('LayerCache', () => {
  it('reads token-major rows back as [heads, tokens, headDim]', () => {
    const c = new LayerCache(2, 2);
    c.append(rows(1, 2, 3, 4, 5, 6, 7, 8), rows(0, 0, 0, 0, 0, 0, 0, 0), [0, 1]);
    const k = c.keys();
    expect(k.shape).toEqual([2, 2, 2]);
    expect(k.toArray()).toEqual([1, 2, 5, 6, 3, 4, 7, 8]); // head 0: tokens (1 2) (5 6); head 1: (3 4) (7 8)
  });

  it('allocates exactly the first append, then grows and keeps earlier tokens', () => {
    const c = new LayerCache(2, 2);
    c.append(rows(1, 1, 1, 1, 2, 2, 2, 2), rows(1, 1, 1, 1, 2, 2, 2, 2), [0, 1]);
    expect(c.allocatedElements).toBe(c.elements); // 2 tokens * 4 values * (K and V) = 16
    expect(c.elements).toBe(16);
    c.append(rows(3, 3, 3, 3), rows(3, 3, 3, 3), [2]);
    expect(c.length).toBe(3);
    expect(c.values().narrow(0, 0, 1).toArray()).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('remembers the position after the last cached token', () => {
    const c = new LayerCache(2, 2);
    c.append(rows(0, 0, 0, 0, 0, 0, 0, 0), rows(0, 0, 0, 0, 0, 0, 0, 0), [7, 40]);
    expect(c.nextPosition).toBe(41);
  });

  it('refuses rows of the wrong width', () => {
    expect(() => new LayerCache(2, 2).append(tensor([1, 2], [1, 2]), tensor([1, 2], [1, 2]), [0])).toThrow(/do not match 2 heads of 2/);
  });
});

describe('KVCache', () => {
  it('counts elements over layers of different lengths', () => {
    const cache = new KVCache(2, 2, 2);
    cache.layers[0].append(rows(0, 0, 0, 0, 0, 0, 0, 0), rows(0, 0, 0, 0, 0, 0, 0, 0), [0, 1]);
    cache.layers[1].append(rows(0, 0, 0, 0), rows(0, 0, 0, 0), [0]);
    expect(cache.lengths()).toEqual([2, 1]);
    expect(cache.elements).toBe(2 * 2 * 4 + 2 * 1 * 4); // 2 (K, V) * tokens * (2 heads * 2)
  });
});
