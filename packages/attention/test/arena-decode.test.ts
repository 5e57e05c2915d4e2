/**
 * The decode step's attention on SIMD kernels (arena-decode.ts), for keys and values in a wasm
 * arena laid out as the model's KV cache lays them out (token-major: a token's heads in one row),
 * against the float64 oracle of cases.ts, and when `attention` sends a call there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, arenasSupported, getKernel, getNumThreads, placeFreeable, randn, setKernel, setNumThreads } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { decodeArena } from '../src/arena-decode.js';
import { headRows } from '../src/head-rows.js';
import { attention, type AttentionOptions } from '../src/index.js';
import { resolveProblem } from '../src/options.js';
import { CPU_TOLERANCE, oracle, type Case } from './cases.js';

/** k and v [Hkv, Tk, D] copied into one arena block each, token-major, viewed as [Hkv, Tk, D]. */
function cacheLike(k: Tensor, v: Tensor): [Tensor, Tensor] {
  const [hkv, tk, d] = k.shape;
  const blocks = placeFreeable(hkv * tk * d, 2)!;
  return [k, v].map((t, i) => {
    const data = blocks[i];
    const tokenMajor = t.permute([1, 0, 2]).toFloat32Array(); // [Tk, Hkv, D]
    data.set(tokenMajor);
    return new Tensor('f32', data, [hkv, tk, d], [d, hkv * d, 1], 0);
  }) as [Tensor, Tensor];
}

/** A case whose keys and values lie in an arena, and the same case on ordinary buffers for the oracle. */
function arenaCase(name: string, hq: number, hkv: number, tq: number, tk: number, d: number, opts: AttentionOptions, seed: number): { c: Case; plain: Case } {
  const plain = { name, q: randn([hq, tq, d], seed), k: randn([hkv, tk, d], seed + 1), v: randn([hkv, tk, d], seed + 2), opts };
  const [k, v] = cacheLike(plain.k, plain.v);
  return { c: { ...plain, k, v }, plain };
}

describe.skipIf(!arenasSupported())('decode attention over keys and values in a wasm arena (skipped without WebAssembly SIMD)', () => {
  const [kernel, threads] = [getKernel(), getNumThreads()];
  beforeAll(() => {
    setKernel('wasm');
    setNumThreads(1);
  });
  afterAll(() => {
    setKernel(kernel);
    setNumThreads(threads);
  });

  const cases = [
    arenaCase('one query row against 37 keys (an odd count: the last key row is scored alone), 4 heads of 32', 4, 4, 1, 37, 32, { causal: true }, 10),
    arenaCase('grouped-query heads (8 query heads on 2 key heads) read their own key head', 8, 2, 1, 20, 64, { causal: true }, 20),
    arenaCase('four query rows of a causal chunk each see their own prefix of the keys', 2, 2, 4, 30, 128, { causal: true }, 30),
    arenaCase('one key: the output is its value row', 2, 2, 1, 1, 32, {}, 40),
  ];
  it.each(cases.map(({ c, plain }) => ({ name: c.name, c, plain })))('$name', ({ c, plain }) => {
    const p = resolveProblem('attention', c.q, c.k, c.v, c.opts);
    expect(decodeArena(p, headRows(c.k, p, false), headRows(c.v, p, false))).toBeDefined();
    expectClose(attention(c.q, c.k, c.v, c.opts), oracle(plain), CPU_TOLERANCE);
  });

  it('writes zeros for a query row that sees no key (causal, query offset -1)', () => {
    const { c, plain } = arenaCase('masked', 2, 2, 2, 9, 32, { causal: true, queryOffset: -1 }, 50);
    const out = attention(c.q, c.k, c.v, c.opts);
    expect(Array.from(out.narrow(1, 0, 1).toFloat32Array())).toEqual(new Array(2 * 32).fill(0));
    expectClose(out, oracle(plain), CPU_TOLERANCE);
  });

  it('splits the heads over two threads, one arena slot each, with the same result', () => {
    // 2 * 8 heads * 1100 keys * 128 > the 2^21 multiply-adds from which a call uses the threads.
    const { c, plain } = arenaCase('threads', 8, 8, 1, 1100, 128, { causal: true }, 60);
    setNumThreads(2);
    try {
      expectClose(attention(c.q, c.k, c.v, c.opts), oracle(plain), CPU_TOLERANCE);
    } finally {
      setNumThreads(1);
    }
  });

  describe('runs the tiled kernel instead', () => {
    const { c } = arenaCase('five rows', 2, 2, 5, 12, 32, { causal: true }, 70);
    const problem = (q: Tensor, k: Tensor, v: Tensor) => resolveProblem('attention', q, k, v, {});
    const decided = (q: Tensor, k: Tensor, v: Tensor) => {
      const p = problem(q, k, v);
      return decodeArena(p, headRows(k, p, false), headRows(v, p, false));
    };

    it('for more than four query rows', () => {
      expect(decided(c.q, c.k, c.v)).toBeUndefined();
      expect(decided(c.q.narrow(1, 0, 4), c.k, c.v)).toBeDefined();
    });

    it('for a head size that is not a multiple of 32', () => {
      const { c: small } = arenaCase('d16', 2, 2, 1, 12, 16, {}, 80);
      expect(decided(small.q, small.k, small.v)).toBeUndefined();
    });

    it('for keys or values outside an arena', () => {
      const plainV = randn([2, 12, 32], 90);
      expect(decided(c.q.narrow(1, 0, 1), c.k, plainV)).toBeUndefined();
    });

    it('with the JS kernel selected', () => {
      setKernel('js');
      try {
        expect(decided(c.q.narrow(1, 0, 1), c.k, c.v)).toBeUndefined();
      } finally {
        setKernel('wasm');
      }
    });
  });
});
