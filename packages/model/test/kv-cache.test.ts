import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arenaFreeBytes, arenaOf, arenasSupported, getKernel, randn, setKernel, tensor } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { attention } from '@adsc/attention';
import { CACHE_ARENA_MIN_BYTES, KVCache, LayerCache } from '../src/index.js';

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

  it('leaves room for `spare` more tokens after the first append, so the next appends need no new storage', () => {
    const c = new LayerCache(2, 2, 3);
    c.append(rows(1, 1, 1, 1, 2, 2, 2, 2), rows(1, 1, 1, 1, 2, 2, 2, 2), [0, 1]);
    expect(c.allocatedElements).toBe(2 * 5 * 4); // K and V, (2 + 3) tokens of 4 values
    const storage = c.keys().data;
    for (let i = 2; i < 5; i++) c.append(rows(i, i, i, i), rows(i, i, i, i), [i]);
    expect(c.keys().data).toBe(storage);
    expect(c.allocatedElements).toBe(c.elements);
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

describe.skipIf(!arenasSupported())('LayerCache in a wasm arena (skipped without WebAssembly SIMD)', () => {
  // 4 heads of 32: 128 floats a token, 1 KiB for its key and value; 1,100 tokens pass 1 MiB.
  const filled = (tokens: number, seed: number): LayerCache => {
    const c = new LayerCache(4, 32);
    c.append(randn([tokens, 128], seed), randn([tokens, 128], seed + 1), Array.from({ length: tokens }, (_, i) => i));
    return c;
  };
  const kernel = getKernel();
  beforeAll(() => setKernel('wasm'));
  afterAll(() => setKernel(kernel));

  it('puts keys and values of CACHE_ARENA_MIN_BYTES or more in one arena, and smaller caches on buffers of their own', () => {
    expect(1100 * 128 * 8).toBeGreaterThanOrEqual(CACHE_ARENA_MIN_BYTES);
    const large = filled(1100, 1);
    expect(arenaOf(large.keys().data)!.id).toBe(arenaOf(large.values().data)!.id);
    expect(arenaOf(filled(100, 3).keys().data)).toBeUndefined();
  });

  it('keeps every earlier token when it grows into a new block', () => {
    const c = filled(1100, 5);
    const before = c.values().toFloat32Array();
    c.append(randn([1, 128], 7), randn([1, 128], 8), [1100]);
    expect(c.allocatedElements).toBeGreaterThan(c.elements);
    expect(Array.from(c.values().narrow(1, 0, 1100).toFloat32Array())).toEqual(Array.from(before));
  });

  it('gives the block it grew out of back to the arena at once', () => {
    const c = filled(1100, 13);
    const before = arenaFreeBytes();
    c.append(randn([1, 128], 14), randn([1, 128], 15), [1100]); // a block for 1650 tokens; 1100's freed
    expect(arenaFreeBytes()).toBe(before - 1650 * 1024 + 1100 * 1024);
  });

  it('empties itself and gives its whole block back on release', () => {
    const c = filled(1100, 16);
    const before = arenaFreeBytes();
    c.release();
    expect(arenaFreeBytes()).toBe(before + 1100 * 1024);
    expect(c.length).toBe(0);
    expect(c.allocatedElements).toBe(0);
  });

  it('gives the decode step the attention the tiled kernel computes over it', () => {
    const c = filled(1100, 9);
    const q = randn([4, 1, 32], 11);
    expectClose(attention(q, c.keys(), c.values(), { causal: true }), attention(q, c.keys(), c.values(), { causal: true, impl: 'tiled' }), { rtol: 1e-5, atol: 1e-6 });
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
