/**
 * The one table of numeric cases, run against every implementation (attention.test.ts) and every
 * available gpu.js mode (gpu.test.ts), and the float64 oracle they are checked against.
 *
 * The oracle is written independently of src/: per row it lists the visible keys with the rule
 * "key j is visible iff !causal or j <= queryOffset + i", takes the log-sum-exp of their scores and
 * averages V with weights exp(s - lse), all in doubles. Tolerances (from the issue): the CPU
 * implementations within 1e-5 relative, gpu.js within 1e-4 (GL computes in f32).
 */
import { type Tensor, add, randn, scale } from '@adsc/core';
import type { Tolerance } from '@adsc/core/testing';
import type { AttentionOptions } from '../src/index.js';

export interface Case {
  name: string;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  opts: AttentionOptions;
}

/** q [.., Hq, Tq, D], k and v [.., Hkv, Tk, D] from seeded normals. */
function inputs(lead: number[], hq: number, hkv: number, tq: number, tk: number, d: number, seed: number) {
  return {
    q: randn([...lead, hq, tq, d], seed),
    k: randn([...lead, hkv, tk, d], seed + 1),
    v: randn([...lead, hkv, tk, d], seed + 2),
  };
}

/**
 * Logits near 1e3: q and k share one direction u with |u|^2 * scale = 1000, plus unit noise, so
 * every score is about 1000 (exp(1000) overflows f32 and f64 alike unless the max is subtracted).
 */
function largeLogits(tq: number, tk: number, d: number, seed: number) {
  const u = randn([d], seed);
  const norm = Math.sqrt(u.toArray().reduce((s, x) => s + x * x, 0));
  const base = scale(u, Math.sqrt(1000 * Math.sqrt(d)) / norm); // |base|^2 / sqrt(d) = 1000
  return {
    q: add(base, randn([2, tq, d], seed + 1)),
    k: add(base, randn([2, tk, d], seed + 2)),
    v: randn([2, tk, d], seed + 3),
  };
}

/** q, k, v as the model hands them: one projection [T, 3 * H * D] cut and permuted to [H, T, D]. */
function modelLayout(h: number, t: number, d: number, seed: number) {
  const qkv = randn([t, 3 * h * d], seed); // [T, 3 H D]
  const head = (i: number) => qkv.narrow(1, i * h * d, h * d).reshape([t, h, d]).permute([1, 0, 2]); // [H, T, D], strided
  return { q: head(0), k: head(1), v: head(2) };
}

export const CASES: Case[] = [
  { name: 'decode: one query sees the whole 100-token cache (GQA 8/2, D 64)', ...inputs([], 8, 2, 1, 100, 64, 10), opts: { causal: true } },
  { name: 'decode with queryOffset 40 sees keys 0..40 only (D 8)', ...inputs([], 2, 2, 1, 100, 8, 20), opts: { causal: true, queryOffset: 40 } },
  { name: 'causal prefill, Tq = Tk = 7 (D 8)', ...inputs([], 2, 1, 7, 7, 8, 30), opts: { causal: true } },
  { name: 'chunked prefill: 7 queries after a 93-token cache (D 8)', ...inputs([], 2, 2, 7, 100, 8, 40), opts: { causal: true } },
  { name: 'chunk in the middle: queryOffset 20, Tq 64, Tk 101 (D 128)', ...inputs([], 2, 2, 64, 101, 128, 50), opts: { causal: true, queryOffset: 20 } },
  { name: 'no mask, Tq 64, Tk 100 (GQA 8/2, D 128)', ...inputs([], 8, 2, 64, 100, 128, 60), opts: {} },
  { name: "shapes-llava's decoder: causal prefill, Tq = Tk = 170 (4 heads, D 32)", ...inputs([], 4, 4, 170, 170, 32, 140), opts: { causal: true } },
  { name: 'causal prefill, Tq = Tk = 640 (GQA 4/2, D 64)', ...inputs([], 4, 2, 640, 640, 64, 70), opts: { causal: true } },
  { name: 'logits near 1e3 do not overflow (Tq 9, Tk 77, D 64)', ...largeLogits(9, 77, 64, 80), opts: { causal: true } },
  { name: 'rows that see no key (queryOffset -3) are zeros (D 8)', ...inputs([], 2, 1, 7, 20, 8, 90), opts: { causal: true, queryOffset: -3 } },
  { name: 'no keys at all (Tk 0) gives zeros', ...inputs([], 2, 1, 3, 0, 8, 100), opts: {} },
  { name: 'batch axis [2, Hq 4, Tq 7] against Hkv 2, Tk 30 (D 16)', ...inputs([2], 4, 2, 7, 30, 16, 110), opts: { causal: true } },
  { name: 'rows that see no key (queryOffset -3) and a batch axis [2, Hq 4, Tq 70] against Hkv 2, Tk 90 (D 32, SIMD-sized)', ...inputs([2], 4, 2, 70, 90, 32, 150), opts: { causal: true, queryOffset: -3 } },
  { name: 'strided views in the model layout ([T, H, D] permuted), Tq = Tk = 33 (D 64)', ...modelLayout(4, 33, 64, 120), opts: { causal: true } },
  { name: 'explicit scale 0.5, no mask, Tq 5, Tk 9 (D 8)', ...inputs([], 1, 1, 5, 9, 8, 130), opts: { scale: 0.5 } },
];

/**
 * Timeout for tests that run the whole table: the 640 x 640 case (the JS oracle, 5 x 7 tiles, gpu.js
 * cpu mode) takes seconds, and more than vitest's default 5 s on a busy 2-core machine.
 */
export const TABLE_TIMEOUT_MS = 60_000;

// Outputs are weighted means of N(0, 1) values; atol is the floor for outputs near 0, where the
// f32 rounding of a sum that cancels dominates (measured: GL needs more than 1e-7, 1e-6 passes).
export const CPU_TOLERANCE: Tolerance = { rtol: 1e-5, atol: 1e-6 };
export const GPU_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-6 };

const oracleCache = new WeakMap<Case, { out: Float64Array; lse: Float64Array }>();

/** Attention in float64, from the definition, as a flat row-major array [..., Hq, Tq, D]. */
export function oracle(c: Case): Float64Array {
  return cachedOracle(c).out;
}

/** Each query row's logsumexp in float64 [..., Hq, Tq] (-Infinity for a row that sees no key). */
export function oracleLse(c: Case): Float64Array {
  return cachedOracle(c).lse;
}

function cachedOracle(c: Case) {
  let result = oracleCache.get(c);
  if (!result) {
    result = attentionF64(c.q.shape, c.k.shape, c.q.toFloat32Array(), c.k.toFloat32Array(), c.v.toFloat32Array(), c.opts);
    oracleCache.set(c, result);
  }
  return result;
}

/**
 * The oracle on flat row-major float64 values: q [.., Hq, Tq, D], k and v [.., Hkv, Tk, D] (shapes
 * given), returns out [.., Hq, Tq, D] and lse [.., Hq, Tq]. The finite-difference tests of the
 * backward pass (backward.test.ts) differentiate it.
 */
export function attentionF64(
  qShape: readonly number[], kShape: readonly number[], qs: ArrayLike<number>, ks: ArrayLike<number>, vs: ArrayLike<number>,
  opts: AttentionOptions,
): { out: Float64Array; lse: Float64Array } {
  const [hq, tq, d] = qShape.slice(-3);
  const [hkv, tk] = kShape.slice(-3);
  const batch = qShape.length === 4 ? qShape[0] : 1;
  const causal = opts.causal ?? false;
  const offset = opts.queryOffset ?? tk - tq;
  const s = opts.scale ?? 1 / Math.sqrt(d);
  const out = new Float64Array(batch * hq * tq * d);
  const lseOut = new Float64Array(batch * hq * tq).fill(-Infinity);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      const kvHead = b * hkv + Math.floor(h / (hq / hkv));
      for (let i = 0; i < tq; i++) {
        const qRow = ((b * hq + h) * tq + i) * d;
        const visible = [...Array(tk).keys()].filter((j) => !causal || j <= offset + i);
        const scores = visible.map((j) => {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += qs[qRow + c] * ks[(kvHead * tk + j) * d + c];
          return s * dot;
        });
        if (visible.length === 0) continue; // zeros
        const max = Math.max(...scores);
        const lse = max + Math.log(scores.reduce((acc, x) => acc + Math.exp(x - max), 0));
        lseOut[(b * hq + h) * tq + i] = lse;
        visible.forEach((j, n) => {
          const w = Math.exp(scores[n] - lse);
          for (let c = 0; c < d; c++) out[qRow + c] += w * vs[(kvHead * tk + j) * d + c];
        });
      }
    }
  }
  return { out, lse: lseOut };
}
