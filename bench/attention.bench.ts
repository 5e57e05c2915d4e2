/**
 * Attention speed and memory at LLaVA-1.5-7B's decoder shapes (32 heads, D 128): a causal prefill
 * of T = 640 tokens and one decode step against a 640-token cache, for the reference (forms the
 * Tq x Tk matrix), the tiled FlashAttention-2 kernel (1 and 2 threads), for the decode step the SIMD
 * kernels that read a KV cache in a wasm arena (1 and 2 threads; wasm kernel only), and the gpu.js
 * kernels in gpu.js's cpu mode (and on headless GL when an X display makes it available: run under
 * `xvfb-run -a`).
 *
 * GFLOP/s counts 4 * D * H flops per (query, key) pair the causal mask lets through:
 * flops = 4 * H * D * sum_i visibleKeys(i) (2 for the multiply-add of q.k, 2 for p * v; the
 * exponentials are not counted). "extra bytes" is the working memory beyond inputs and output:
 * reference = one Tq x Tk matrix of doubles (reused head after head), tiled = S [Br, Bc], O [Br, D],
 * m and l [Br] per thread, gpu = the tiles and intermediate textures of one query tile.
 *
 * Training: a second table times the same prefill forward, the forward that also returns the
 * logsumexp (`attentionWithLse`), and the backward pass (tiled FlashAttention-2 and the reference),
 * each on 1 and 2 threads. The backward counts 10 * H * D flops per visible pair (five products:
 * S, dP, dV, dQ, dK; the forward has two); "x forward" is its time over the plain forward's on as
 * many threads, in the same run. Extra bytes as above, for the backward's scratch. Each tiled row
 * runs with its block products on SIMD (wasm-blocks.ts: the default with the wasm kernel) and in
 * JavaScript doubles (blocks.ts), "vs JS blocks" the ratio; then the same table at shapes-llava's
 * decoder shape (4 heads of D 32, 170 tokens), where this project's training runs.
 * `--quick` uses 4 heads instead of 32 (numbers are rough, for checking that the suite runs).
 */
import { Tensor, getKernel, getNumThreads, placeFreeable, randn, setKernel, setNumThreads, wasmSupported, type KernelName } from '@adsc/core';
import {
  DEFAULT_GPU_TILE, DEFAULT_TILE, attention, attentionBackward, attentionWithLse, backwardScratchBytes, createBackwardScratch, wasmBackwardBytes,
  createGpuAttention, createTiledScratch, gpuScratchBytes, referenceBackwardScratchBytes, referenceScratchBytes, scratchBytes,
  visibleKeyEnd, type GpuAttention,
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
  // k and v copied into one wasm arena block, token-major as the KV cache holds them (arena-decode.ts).
  const placed = getKernel() === 'wasm' ? placeFreeable(T * heads * D, 2) : undefined;
  const [kArena, vArena] = placed
    ? [k, v].map((t, i) => {
      placed[i].set(t.permute([1, 0, 2]).toFloat32Array());
      return new Tensor('f32', placed[i], [heads, T, D], [D, heads * D, 1], 0);
    })
    : [undefined, undefined];
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
    if (tq === 1 && kArena && vArena) {
      // The same keys and values where the model's KV cache keeps them: the SIMD decode kernels.
      add('wasm SIMD, K/V in an arena, 1 thread', () => attention(qs, kArena, vArena, { causal: true }), 0, () => setNumThreads(1));
      add('wasm SIMD, K/V in an arena, 2 threads', () => attention(qs, kArena, vArena, { causal: true }), 0, () => setNumThreads(2));
    }
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

  console.log(`\n### training: prefill ${T} causal, forward vs backward\n`);
  await trainingTable(q, k, v, quick);
  // shapes-llava's decoder (4 heads of D 32, about 170 tokens a question): the training that runs here.
  const toy = (seed: number) => randn([170, 4, 32], seed).permute([1, 0, 2]);
  console.log(`\n### training: shapes-llava's decoder, prefill 170 causal\n`);
  await trainingTable(toy(5), toy(6), toy(7), quick);
  setNumThreads(threads);
}

/**
 * Forward, forward with lse and the two backward passes on 1 and 2 threads, in one run; the tiled
 * kernel with its block products on SIMD (wasm-blocks.ts) and in JavaScript (core's kernel switched
 * to 'js' for those cases), at the given shape.
 */
async function trainingTable(q: Tensor, k: Tensor, v: Tensor, quick: boolean): Promise<void> {
  const [heads, t, d] = q.shape;
  let pairs = 0;
  for (let i = 0; i < t; i++) pairs += visibleKeyEnd(i, t, true, 0);
  const forwardFlops = 4 * heads * d * pairs;
  const backwardFlops = 10 * heads * d * pairs;
  const opts = { causal: true } as const;
  const dOut = randn([t, heads, d], 4).permute([1, 0, 2]); // a view, as the tape would hand it
  const { out, lse } = attentionWithLse(q, k, v, opts);
  const problem = { queries: t, keys: t, headDim: d };
  const forwardBytes = scratchBytes(createTiledScratch(DEFAULT_TILE.queries, DEFAULT_TILE.keys, d));
  const backwardBytes = (kernel: KernelName) => (kernel === 'wasm' ? wasmBackwardBytes({ ...problem, group: 1 }, DEFAULT_TILE) : backwardScratchBytes(createBackwardScratch(DEFAULT_TILE.queries, DEFAULT_TILE.keys, d)));
  const kernels: KernelName[] = wasmSupported() ? ['wasm', 'js'] : ['js'];
  const blocksOf = (kernel: KernelName) => (kernel === 'wasm' ? 'SIMD blocks' : 'JS blocks');
  const cases: Case[] = [];
  const bytes = new Map<string, number>();
  for (const n of [1, 2]) {
    const threads = `${n} thread${n > 1 ? 's' : ''}`;
    const add = (name: string, flops: number, fn: () => unknown, extra: number, kernel: KernelName) => {
      cases.push({ name: `${name}, ${threads}`, flops, fn, setup: () => { setNumThreads(n); setKernel(kernel); } });
      bytes.set(`${name}, ${threads}`, extra);
    };
    for (const kernel of kernels) {
      const blocks = blocksOf(kernel);
      add(`forward (tiled, ${blocks})`, forwardFlops, () => attention(q, k, v, opts), n * forwardBytes, kernel);
      add(`forward with lse (tiled, ${blocks})`, forwardFlops, () => attentionWithLse(q, k, v, opts), n * forwardBytes, kernel);
      add(`backward (tiled, ${blocks})`, backwardFlops, () => attentionBackward(q, k, v, out, lse, dOut, opts), n * backwardBytes(kernel), kernel);
    }
    add('backward (reference)', backwardFlops, () => attentionBackward(q, k, v, out, lse, dOut, { ...opts, impl: 'reference' }), referenceBackwardScratchBytes(problem), kernels[0]);
  }
  const results = await measure(cases, quick);
  setKernel(kernels[0]);
  const byName = new Map(results.map((r) => [r.name, r]));
  printTable(results, {
    'extra bytes': (r) => (bytes.get(r.name) ?? 0).toLocaleString('en-US'),
    'x forward': (r) => {
      const forward = byName.get(`forward (tiled, ${blocksOf(kernels[0])}), ${r.name.split(', ').at(-1)}`);
      return forward && r !== forward ? (r.ms / forward.ms).toFixed(2) : '-';
    },
    'vs JS blocks': (r) => (r.name.includes('SIMD blocks') ? speedup(r, byName.get(r.name.replace('SIMD blocks', 'JS blocks'))) : '-'),
  });
  console.log(`heads ${heads}, D ${d}; flops: forward 4 * H * D * pairs, backward 10 * H * D * pairs (${pairs} visible pairs); tiles ${DEFAULT_TILE.queries} x ${DEFAULT_TILE.keys}; SIMD blocks: f32 sums (forward wasm-blocks.ts, backward wasm-backward.ts: one head's rows and accumulators in the kernel's memory, its extra bytes)`);
}
