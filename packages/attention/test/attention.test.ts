/**
 * The case table (cases.ts) against the CPU implementations, plus what only the CPU entry point
 * promises: input views and dtypes, the batch axis, worker threads, and results from PyTorch.
 */
import { headRows } from '../src/head-rows.js';
import { resolveProblem } from '../src/options.js';
import { simdBlocks } from '../src/wasm-blocks.js';
import { describe, expect, it } from 'vitest';
import { Tensor, getNumThreads, randn, setNumThreads } from '@adsc/core';
import { expectClose, readGolden } from '@adsc/core/testing';
import { attention, attentionWithProbs, type AttentionOptions } from '../src/index.js';
import { CASES, CPU_TOLERANCE, TABLE_TIMEOUT_MS, oracle } from './cases.js';

const IMPLS: { name: string; opts: AttentionOptions }[] = [
  { name: 'reference', opts: { impl: 'reference' } },
  { name: 'tiled (default tiles 64 x 64)', opts: { impl: 'tiled' } },
  { name: 'tiled (tiles 8 x 16)', opts: { impl: 'tiled', tile: { queries: 8, keys: 16 } } },
  { name: 'tiled (tiles 5 x 7, edges of every register block)', opts: { impl: 'tiled', tile: { queries: 5, keys: 7 } } },
];

describe.each(IMPLS)('$name', ({ opts: implOpts }) => {
  it.each(CASES)('$name', (c) => {
    const out = attention(c.q, c.k, c.v, { ...c.opts, ...implOpts });
    expect(out.shape).toEqual(c.q.shape);
    expectClose(out, oracle(c), CPU_TOLERANCE);
  }, TABLE_TIMEOUT_MS);
});

describe('golden outputs from PyTorch (scripts/golden.py)', () => {
  const golden = readGolden(new URL('./fixtures/attention.json', import.meta.url));
  const fixtures: { name: string; opts: AttentionOptions }[] = [
    { name: 'gqa', opts: {} },
    { name: 'chunk', opts: { causal: true, queryOffset: 9 } },
    { name: 'decode', opts: { causal: true } },
    { name: 'large', opts: { causal: true } },
    { name: 'masked', opts: { causal: true, queryOffset: -2 } },
  ];
  for (const { name, opts } of fixtures) {
    for (const impl of ['reference', 'tiled'] as const) {
      it(`${impl} matches PyTorch on "${name}"`, () => {
        const out = attention(golden[`${name}.q`], golden[`${name}.k`], golden[`${name}.v`], { ...opts, impl, tile: { queries: 4, keys: 8 } });
        // On SIMD (wasm-blocks.ts) a block's scores are f32 sums: logits near 1e3 round by ~1e-4,
        // an error P carries relatively (measured: 2e-4 of the output).
        const simdLarge = impl === 'tiled' && name === 'large' && simdBlocks(64);
        expectClose(out, golden[`${name}.out`], simdLarge ? { atol: 1e-4, rtol: 1e-3 } : CPU_TOLERANCE);
      });
    }
  }
  for (const { name, opts } of fixtures.filter((f) => golden[`${f.name}.probs`])) {
    it(`attentionWithProbs returns PyTorch's probabilities on "${name}"`, () => {
      const { out, probs } = attentionWithProbs(golden[`${name}.q`], golden[`${name}.k`], golden[`${name}.v`], opts);
      expectClose(probs, golden[`${name}.probs`], CPU_TOLERANCE);
      expectClose(out, golden[`${name}.out`], CPU_TOLERANCE);
    });
  }
});

describe('inputs', () => {
  const q = randn([3, 9, 16], 1);
  const k = randn([1, 12, 16], 2);
  const v = randn([1, 12, 16], 3);
  const expected = attention(q, k, v, { causal: true, impl: 'reference' });

  it.each(['f16', 'bf16', 'f64'] as const)('reads %s inputs as f32 (values exact in that dtype)', (dtype) => {
    // Round the inputs to the dtype first: the result must equal attention on the rounded f32 values.
    const [q2, k2, v2] = [q, k, v].map((t) => t.to(dtype));
    const want = attention(q2.to('f32'), k2.to('f32'), v2.to('f32'), { causal: true, impl: 'reference' });
    for (const impl of ['reference', 'tiled'] as const) {
      expectClose(attention(q2, k2, v2, { causal: true, impl }), want, CPU_TOLERANCE);
    }
  });

  it('reads a q whose D axis is strided (transposed storage) the same as a contiguous one', () => {
    const qt = q.transpose(1, 2).contiguous().transpose(1, 2); // same values, stride[2] = 9
    expect(qt.stride[2]).not.toBe(1);
    expectClose(attention(qt, k, v, { causal: true }), expected, CPU_TOLERANCE);
  });

  it('reads an offset view (narrow of a longer cache) without copying the cache first', () => {
    const cache = randn([1, 40, 16], 4);
    const view = cache.narrow(1, 5, 12); // keys 5..16 of the cache, offset 80
    const want = attention(q, view.contiguous(), v, { causal: true, impl: 'reference' });
    expectClose(attention(q, view, v, { causal: true }), want, CPU_TOLERANCE);
  });

  it('returns a new contiguous f32 tensor shaped like q', () => {
    const out = attention(q, k, v);
    expect(out.dtype).toBe('f32');
    expect(out.isContiguous()).toBe(true);
    expect(out.shape).toEqual([3, 9, 16]);
  });

  it('gives each batch entry the result of its own call', () => {
    const qb = randn([2, 4, 5, 8], 5);
    const kb = randn([2, 2, 6, 8], 6);
    const vb = randn([2, 2, 6, 8], 7);
    const out = attention(qb, kb, vb, { causal: true });
    for (let b = 0; b < 2; b++) {
      const one = attention(qb.narrow(0, b, 1).squeeze(0), kb.narrow(0, b, 1).squeeze(0), vb.narrow(0, b, 1).squeeze(0), { causal: true });
      expectClose(out.narrow(0, b, 1).squeeze(0), one, CPU_TOLERANCE);
    }
  });
});

describe('worker threads', () => {
  // 32 heads x 128 x 128 x 64 x 2 = 67 M multiply-adds: above the threshold, so split by heads.
  const q = randn([32, 128, 64], 11);
  const k = randn([8, 128, 64], 12);
  const v = randn([8, 128, 64], 13);

  it('splitting heads over two threads gives the single-thread result exactly', () => {
    const before = getNumThreads();
    try {
      setNumThreads(1);
      const one = attention(q, k, v, { causal: true });
      setNumThreads(2);
      const two = attention(q, k, v, { causal: true });
      expectClose(two, one, { atol: 0 });
    } finally {
      setNumThreads(before);
    }
  });

  it('copies inputs that are not on a SharedArrayBuffer when workers must read them', () => {
    const plain = new Tensor('f32', Float32Array.from(q.toFloat32Array()), q.shape); // ordinary ArrayBuffer
    const p = resolveProblem('attention', plain, k, v, { causal: true });
    expect(headRows(plain, p, true).data.buffer).toBeInstanceOf(SharedArrayBuffer); // copied
    expect(headRows(plain, p, false).data).toBe(plain.data); // read in place when no worker needs it
  });

  it('gives the same result from non-shared inputs on two threads', () => {
    const before = getNumThreads();
    try {
      setNumThreads(2);
      const plain = new Tensor('f32', Float32Array.from(q.toFloat32Array()), q.shape);
      expectClose(attention(plain, k, v, { causal: true }), attention(q, k, v, { causal: true }), { atol: 0 });
    } finally {
      setNumThreads(before);
    }
  });
});
