/**
 * The backward pass (attentionBackward) of both CPU implementations: against float64 central
 * differences of a scalar loss, against PyTorch's autograd, and the tiled kernel against the
 * reference across the forward's case table, tile sizes and input views.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, randn } from '@adsc/core';
import { expectClose, readGolden } from '@adsc/core/testing';
import { attentionBackward, attentionWithLse, type AttentionOptions } from '../src/index.js';
import { CASES, TABLE_TIMEOUT_MS, attentionF64, type Case } from './cases.js';
import { simdBlocks } from '../src/wasm-blocks.js';

const IMPLS: { name: string; opts: AttentionOptions }[] = [
  { name: 'reference', opts: { impl: 'reference' } },
  { name: 'tiled (default tiles 64 x 64)', opts: { impl: 'tiled' } },
  { name: 'tiled (tiles 2 x 3)', opts: { impl: 'tiled', tile: { queries: 2, keys: 3 } } },
];

/**
 * Logits near 1e3: the tiled kernel rebuilds P = exp(S - lse) from an f32 lse, whose rounding
 * (half an ulp of 1e3 is 3e-5) scales whole rows of P, and takes delta from the f32 out, whose
 * rounding no longer cancels against the keys' large shared component; a gradient entry sums such
 * rows, so its error is relative to the largest entries, not to itself. Checked as |error| <= 2e-4 * max|expected|
 * (measured: up to 6.7e-5 of it for dq, 4e-5 for dv). The reference recomputes P and needs no such
 * allowance. On SIMD (wasm-blocks.ts) each block's scores are f32 sums: 64 products of ~15 summing
 * to ~1e3 round by up to ~1e-4 each, as much error in S as the f32 lse adds, so there the bound is
 * 1e-3 * max|expected| (measured: 4.8e-4).
 */
function expectCloseToLargest(actual: Tensor, expected: Tensor, rel: number): void {
  const largest = expected.toArray().reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  expectClose(actual, expected, { atol: rel * largest });
}

/** Forward with lse, then backward, with the same implementation and options. */
function gradients(q: Tensor, k: Tensor, v: Tensor, dOut: Tensor, opts: AttentionOptions) {
  const { out, lse } = attentionWithLse(q, k, v, opts);
  return attentionBackward(q, k, v, out, lse, dOut, opts);
}

describe('central differences in float64', () => {
  // Small problems (D 4, T 5-9) whose loss L = sum(out * G) is differentiated numerically:
  // dL/dx ~ (L(x + h) - L(x - h)) / 2h with the float64 oracle of cases.ts, h = 1e-5 (truncation
  // ~h^2, rounding ~1e-16 / h: both far below the f32 gradients' own error).
  const fdCase = (name: string, lead: number[], hq: number, hkv: number, tq: number, tk: number, opts: AttentionOptions, seed: number): Case => ({
    name, opts, q: randn([...lead, hq, tq, 4], seed), k: randn([...lead, hkv, tk, 4], seed + 1), v: randn([...lead, hkv, tk, 4], seed + 2),
  });
  const FD_CASES = [
    fdCase('no mask, Tq 5, Tk 7', [], 2, 2, 5, 7, {}, 1),
    fdCase('causal, Tq = Tk = 6', [], 2, 2, 6, 6, { causal: true }, 10),
    fdCase('GQA 4/2, causal, Tq 5, Tk 8', [], 4, 2, 5, 8, { causal: true }, 20),
    fdCase('causal with queryOffset 2, Tq 5, Tk 9', [], 2, 1, 5, 9, { causal: true, queryOffset: 2 }, 30),
    fdCase('rows 0 and 1 see no key (queryOffset -2), Tq = Tk = 6', [], 2, 2, 6, 6, { causal: true, queryOffset: -2 }, 40),
    fdCase('batch axis [2, Hq 2, Tq 5] against Hkv 1, causal, scale 0.7', [2], 2, 1, 5, 7, { causal: true, scale: 0.7 }, 50),
  ];
  const H = 1e-5;

  function numericGradient(c: Case, g: Float64Array, wrt: 'q' | 'k' | 'v'): Float64Array {
    const x = { q: Float64Array.from(c.q.toFloat32Array()), k: Float64Array.from(c.k.toFloat32Array()), v: Float64Array.from(c.v.toFloat32Array()) };
    const loss = () => {
      const { out } = attentionF64(c.q.shape, c.k.shape, x.q, x.k, x.v, c.opts);
      return out.reduce((acc, o, n) => acc + o * g[n], 0);
    };
    const grad = new Float64Array(x[wrt].length);
    for (let n = 0; n < grad.length; n++) {
      const saved = x[wrt][n];
      x[wrt][n] = saved + H;
      const up = loss();
      x[wrt][n] = saved - H;
      const down = loss();
      x[wrt][n] = saved;
      grad[n] = (up - down) / (2 * H);
    }
    return grad;
  }

  const table = FD_CASES.flatMap((c) => (['q', 'k', 'v'] as const).map((wrt) => ({ name: c.name, c, wrt })));
  describe.each(IMPLS)('$name', ({ opts: implOpts }) => {
    it.each(table)('d$wrt matches them: $name', ({ c, wrt }) => {
      const dOut = randn(c.q.shape, 99);
      const grads = gradients(c.q, c.k, c.v, dOut, { ...c.opts, ...implOpts });
      const expected = numericGradient(c, Float64Array.from(dOut.toFloat32Array()), wrt);
      expectClose(grads[`d${wrt}`], expected, { rtol: 1e-5, atol: 1e-6 });
    });
  });
});

describe('rows that see no key', () => {
  // queryOffset -2: rows 0 and 1 of Tq = Tk = 4 see nothing; their output is 0 and so is their dq.
  const q = randn([2, 4, 8], 1);
  const k = randn([1, 4, 8], 2);
  const v = randn([1, 4, 8], 3);
  const opts: AttentionOptions = { causal: true, queryOffset: -2 };

  it.each(['reference', 'tiled'] as const)('%s: gives them zero dq and no NaN anywhere', (impl) => {
    const { dq, dk, dv } = gradients(q, k, v, randn([2, 4, 8], 4), { ...opts, impl });
    for (const t of [dq, dk, dv]) expect(t.toArray().some(Number.isNaN)).toBe(false);
    for (let h = 0; h < 2; h++) expect(dq.narrow(0, h, 1).narrow(1, 0, 2).toArray().every((x) => x === 0)).toBe(true);
    // Row 2 sees key 0 and row 3 keys 0 and 1: keys 2 and 3 are seen by nobody.
    expect(dk.narrow(1, 2, 2).toArray().every((x) => x === 0)).toBe(true);
    expect(dv.narrow(1, 2, 2).toArray().every((x) => x === 0)).toBe(true);
    expect(dk.narrow(1, 0, 2).toArray().some((x) => x !== 0)).toBe(true);
  });
});

describe('grouped-query attention', () => {
  it.each(['reference', 'tiled'] as const)('%s: a shared kv head gets the sum of the dk, dv its query heads give alone', (impl) => {
    // Hq 3 over Hkv 1: the call with all three heads against running each query head by itself.
    const q = randn([3, 6, 8], 1);
    const k = randn([1, 9, 8], 2);
    const v = randn([1, 9, 8], 3);
    const dOut = randn([3, 6, 8], 4);
    const opts: AttentionOptions = { causal: true, impl, tile: { queries: 4, keys: 4 } };
    const all = gradients(q, k, v, dOut, opts);
    const alone = [0, 1, 2].map((h) => gradients(q.narrow(0, h, 1), k, v, dOut.narrow(0, h, 1), opts));
    const sum = (key: 'dk' | 'dv') => alone.map((g) => g[key].toArray()).reduce((acc, x) => acc.map((y, n) => y + x[n]));
    expectClose(all.dk, sum('dk'), { rtol: 1e-6, atol: 1e-6 });
    expectClose(all.dv, sum('dv'), { rtol: 1e-6, atol: 1e-6 });
    alone.forEach((g, h) => expectClose(all.dq.narrow(0, h, 1), g.dq, { atol: 0 }));
  });
});

describe('gradients from PyTorch autograd (scripts/golden.py)', () => {
  const golden = readGolden(new URL('./fixtures/attention-backward.json', import.meta.url));
  const fixtures: { name: string; opts: AttentionOptions }[] = [
    { name: 'gqa', opts: {} },
    { name: 'prefill', opts: { causal: true } },
    { name: 'chunk', opts: { causal: true, queryOffset: 9 } },
    { name: 'decode', opts: { causal: true } },
    { name: 'masked', opts: { causal: true, queryOffset: -2 } },
    { name: 'large', opts: { causal: true } },
  ];
  const f = (name: string, key: string) => golden[`${name}.${key}`];
  for (const { name, opts } of fixtures) {
    for (const impl of ['reference', 'tiled'] as const) {
      it(`${impl} matches PyTorch's dq, dk and dv on "${name}"`, () => {
        const grads = attentionBackward(f(name, 'q'), f(name, 'k'), f(name, 'v'), f(name, 'out'), f(name, 'lse'), f(name, 'dOut'), { ...opts, impl, tile: { queries: 4, keys: 8 } });
        for (const key of ['dq', 'dk', 'dv'] as const) {
          if (impl === 'tiled' && name === 'large') expectCloseToLargest(grads[key], f(name, key), simdBlocks(64) ? 1e-3 : 2e-4);
          else expectClose(grads[key], f(name, key), { rtol: 1e-5, atol: 1e-5 });
        }
      });
    }
    it.each(['reference', 'tiled'] as const)(`%s forward returns PyTorch's logsumexp on "${name}"`, (impl) => {
      const { lse } = attentionWithLse(f(name, 'q'), f(name, 'k'), f(name, 'v'), { ...opts, impl, tile: { queries: 4, keys: 8 } });
      expectClose(lse, f(name, 'lse'), { rtol: 1e-6, atol: 1e-6 });
    });
  }
});

/** dOut and the reference's gradients for a case of the table, computed once for all tile sizes. */
const referenceCache = new Map<Case, { dOut: Tensor; want: ReturnType<typeof gradients> }>();
function referenceGradients(c: Case) {
  let entry = referenceCache.get(c);
  if (!entry) {
    const dOut = randn(c.q.shape, 7);
    entry = { dOut, want: gradients(c.q, c.k, c.v, dOut, { ...c.opts, impl: 'reference' }) };
    referenceCache.set(c, entry);
  }
  return entry;
}

describe.each([
  { name: 'tiled (default tiles 64 x 64)', tile: undefined },
  { name: 'tiled (tiles 8 x 16)', tile: { queries: 8, keys: 16 } },
  { name: 'tiled (tiles 5 x 7, edges of every register block)', tile: { queries: 5, keys: 7 } },
])('$name equals the reference', ({ tile }) => {
  it.each(CASES)('$name', (c) => {
    const { dOut, want } = referenceGradients(c);
    const got = gradients(c.q, c.k, c.v, dOut, { ...c.opts, impl: 'tiled', tile });
    for (const key of ['dq', 'dk', 'dv'] as const) {
      expect(got[key].shape).toEqual(want[key].shape);
      if (c.name.startsWith('logits near 1e3')) expectCloseToLargest(got[key], want[key], 2e-4);
      else expectClose(got[key], want[key], { rtol: 1e-5, atol: 1e-5 });
    }
  }, TABLE_TIMEOUT_MS);
});

describe('inputs', () => {
  const q = randn([4, 9, 16], 1);
  const k = randn([2, 12, 16], 2);
  const v = randn([2, 12, 16], 3);
  const dOut = randn([4, 9, 16], 4);
  const { out, lse } = attentionWithLse(q, k, v, { causal: true });
  const expected = attentionBackward(q, k, v, out, lse, dOut, { causal: true });

  it('reads strided views of out, dOut and lse the same as contiguous ones', () => {
    const view = (t: Tensor) => t.transpose(0, 1).contiguous().transpose(0, 1); // same values, rows apart
    const lseView = lse.transpose(0, 1).contiguous().transpose(0, 1);
    expect(view(out).isContiguous()).toBe(false);
    expect(lseView.isContiguous()).toBe(false);
    const got = attentionBackward(q, k, v, view(out), lseView, view(dOut), { causal: true });
    for (const key of ['dq', 'dk', 'dv'] as const) expectClose(got[key], expected[key], { atol: 0 });
  });

  it('reads a key/value cache view (narrow of a longer cache) without copying it first', () => {
    const cache = randn([2, 40, 16], 5);
    const kView = cache.narrow(1, 5, 12); // keys 5..16 of the cache
    const fromView = gradients(q, kView, v, dOut, { causal: true });
    const fromCopy = gradients(q, kView.contiguous(), v, dOut, { causal: true });
    for (const key of ['dq', 'dk', 'dv'] as const) expectClose(fromView[key], fromCopy[key], { atol: 0 });
  });

  it('returns new contiguous f32 gradients shaped like q, k and v', () => {
    for (const [t, like] of [[expected.dq, q], [expected.dk, k], [expected.dv, v]]) {
      expect(t.dtype).toBe('f32');
      expect(t.isContiguous()).toBe(true);
      expect(t.shape).toEqual(like.shape);
    }
  });
});
