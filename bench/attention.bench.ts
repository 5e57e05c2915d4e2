/**
 * Attention speed and memory at LLaVA-1.5-7B's decoder shapes (32 heads, D 128): a causal prefill
 * of T = 640 tokens and one decode step against a 640-token cache, for the reference (forms the
 * Tq x Tk matrix), the tiled FlashAttention-2 kernel (1 and 2 threads) and the gpu.js kernels in
 * gpu.js's cpu mode (and on headless GL when an X display makes it available: run under
 * `xvfb-run -a`).
 *
 * GFLOP/s counts 4 * D * H flops per (query, key) pair the causal mask lets through:
 * flops = 4 * H * D * sum_i visibleKeys(i) (2 for the multiply-add of q.k, 2 for p * v; the
 * exponentials are not counted). "extra bytes" is the working memory beyond inputs and output:
 * reference = one Tq x Tk matrix of doubles (reused head after head), tiled = S [Br, Bc], O [Br, D],
 * m and l [Br] per thread, gpu = the tiles and intermediate textures of one query tile.
 * `--quick` uses 4 heads instead of 32 (numbers are rough, for checking that the suite runs).
 */
import { getNumThreads, randn, setNumThreads, type Tensor } from '@adsc/core';
import {
  DEFAULT_GPU_TILE, DEFAULT_TILE, attention, createGpuAttention, createTiledScratch, gpuScratchBytes,
  referenceScratchBytes, scratchBytes, visibleKeyEnd, type GpuAttention,
} from '@adsc/attention';
import type { SuiteOptions } from './run.js';
import { measure, printTable, speedup, type Case } from './report.js';

const D = 128;
const T = 640;

export default async function attentionSuite({ quick }: SuiteOptions): Promise<void> {
  const heads = quick ? 4 : 32;
  const threads = getNumThreads();
  // q, k, v [H, T, D] as the decoder hands them: views of [T, H, D] projections.
  const view = (seed: number) => randn([T, heads, D], seed).permute([1, 0, 2]);
  const q = view(1);
  const k = view(2);
  const v = view(3);
  const gpus: GpuAttention[] = [await createGpuAttention({ mode: 'cpu' })];
  try {
    gpus.push(await createGpuAttention({ mode: 'headlessgl' }));
  } catch (e) {
    console.log(`(gpu.js headlessgl not measured: ${(e as Error).message.split(':')[1]?.trim() ?? ''})`);
  }

  const shapes: { label: string; q: Tensor }[] = [
    { label: `prefill ${T} causal`, q },
    { label: `decode 1 vs ${T} cache`, q: q.narrow(1, T - 1, 1) },
  ];
  const cases: Case[] = [];
  const bytes = new Map<string, number>();
  for (const { label, q: qs } of shapes) {
    const tq = qs.shape[1];
    let pairs = 0;
    for (let i = 0; i < tq; i++) pairs += visibleKeyEnd(i, T, true, T - tq);
    const flops = 4 * heads * D * pairs;
    const problem = { heads, group: 1, queries: tq, keys: T, headDim: D };
    const tiledBytes = scratchBytes(createTiledScratch(Math.min(DEFAULT_TILE.queries, tq), DEFAULT_TILE.keys, D));
    const add = (name: string, fn: () => unknown, extra: number, setup?: () => void) => {
      cases.push({ name: `${label}: ${name}`, flops, fn, setup });
      bytes.set(`${label}: ${name}`, extra);
    };
    add('reference 2 threads', () => attention(qs, k, v, { causal: true, impl: 'reference' }), referenceScratchBytes(problem), () => setNumThreads(2));
    add('tiled 1 thread', () => attention(qs, k, v, { causal: true }), tiledBytes, () => setNumThreads(1));
    add('tiled 2 threads', () => attention(qs, k, v, { causal: true }), 2 * tiledBytes, () => setNumThreads(2));
    for (const gpu of gpus) {
      add(`gpu.js ${gpu.mode}`, () => gpu.attention(qs, k, v, { causal: true }), gpuScratchBytes(problem, DEFAULT_GPU_TILE));
    }
  }
  const results = await measure(cases, quick);
  setNumThreads(threads);
  for (const gpu of gpus) gpu.destroy();
  const byName = new Map(results.map((r) => [r.name, r]));
  const labelOf = (name: string) => name.split(': ')[0];
  printTable(results, {
    'extra bytes': (r) => (bytes.get(r.name) ?? 0).toLocaleString('en-US'),
    'vs reference': (r) => (r.name.endsWith('reference 2 threads') ? '-' : speedup(r, byName.get(`${labelOf(r.name)}: reference 2 threads`))),
  });
  console.log(`heads ${heads}, D ${D}; flops = 4 * H * D * (visible query-key pairs); tiles: CPU ${DEFAULT_TILE.queries} x ${DEFAULT_TILE.keys}, gpu.js ${DEFAULT_GPU_TILE.queries} x ${DEFAULT_GPU_TILE.keys}`);
}
