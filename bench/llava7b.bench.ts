/**
 * LLaVA-1.5-7B at full size, on this machine: one decoder layer (d 4096, SwiGLU 11008, 32 heads of
 * 128, random f16 weights) timed on a 640-token prefill and on a decode step against that 640-token
 * cache, at 1 and 2 threads, with the full-model prefill extrapolated (32 layers). The ADSC preset's
 * prefill is extrapolated the same way: one layer timed at each token count the preset leaves
 * (2 threads), summed over the layers at those counts. Then the resident
 * memory of the whole 32-layer f16 stack plus embeddings, lm_head, projector and the 23 CLIP layers
 * that run, one decode step through all 32 layers with an 8-token cache, and decode steps through
 * all 32 against 640-token caches (the target, measured whole rather than extrapolated).
 *
 * The stack's layers are copies of the one random layer (filling 7 billion f16 values with random
 * numbers takes minutes), the embeddings, lm_head and CLIP constants (they count for memory only).
 * Random rather than constant weights because the decode's speed depends on them: 0.24 % of
 * N(0, 0.02) in f16 are subnormal, as in trained weights, and the decode kernels correct those
 * after the fact from a list built on a weight's first decode (kernels/f16-zero-exponent.ts), so the
 * first step through the stack includes building them. Every weight is stored as the safetensors
 * loader stores a checkpoint's (`allocateWeight`: large ones in wasm arenas, read in place by the
 * decode kernels).
 */
import { Tensor, allocateWeight, full, getNumThreads, randn, scale, setNumThreads } from '@adsc/core';
import { ADSC_PRESET, DecoderLayer, KVCache, PRESETS, countSchedule, decoderLayerFlops, parseSchedule, range, tokenPositions } from '@adsc/model';
import type { SuiteOptions } from './run.js';
import { measure, printTable } from './report.js';

const cfg = PRESETS['llava-1.5-7b'];
const t = cfg.text;

function layerWeights(make: (shape: number[]) => Tensor): DecoderLayer {
  const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, intermediateSize: m } = t;
  const norm = full([d], 1, 'f16');
  const lin = (shape: number[]) => ({ weight: make(shape) });
  return new DecoderLayer(t, {
    inputNorm: norm, q: lin([h * hd, d]), k: lin([hkv * hd, d]), v: lin([hkv * hd, d]), o: lin([d, h * hd]),
    postNorm: norm, gate: lin([m, d]), up: lin([m, d]), down: lin([d, m]),
  });
}

/** Position ids with their RoPE tables. */
const at = (ids: Int32Array) => tokenPositions(ids, t.headDim, t.ropeTheta);

/** `t` stored as a loaded checkpoint's weights are (`allocateWeight`: large ones in a wasm arena). */
function asLoaded(t: Tensor): Tensor {
  const data = allocateWeight(t.dtype, t.size) as Uint16Array;
  data.set(t.data as Uint16Array);
  return new Tensor(t.dtype, data, t.shape);
}

/** A constant f16 weight stored as a loaded one, filled in place (no f16 copy of it made first). */
function loadedConstant(shape: number[], value: number): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const data = allocateWeight('f16', size) as Uint16Array;
  data.fill((full([1], value, 'f16').data as Uint16Array)[0]);
  return new Tensor('f16', data, shape);
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

export default async function llava7bSuite({ quick }: SuiteOptions): Promise<void> {
  const threads = getNumThreads();
  const tokens = quick ? 64 : 640;
  let seed = 1;
  const random: Tensor[] = []; // the layer's weights, kept to fill the 32-layer stack below
  const layer = layerWeights((shape) => {
    random.push(asLoaded(scale(randn(shape, seed++), 0.02).to('f16')));
    return random[random.length - 1];
  });
  const x = scale(randn([tokens, t.hiddenSize], 100), 0.5);
  const step = scale(randn([1, t.hiddenSize], 101), 0.5);
  const positions = at(range(tokens));

  // The prompt's keys and values ([tokens, Hkv * hd] each), for the decode steps' caches.
  const primed = new KVCache(1, t.numKvHeads, t.headDim);
  layer.forward(x, positions, primed.layers[0]);
  const promptK = primed.layers[0].keys().permute([1, 0, 2]).reshape([tokens, -1]).contiguous();
  const promptV = primed.layers[0].values().permute([1, 0, 2]).reshape([tokens, -1]).contiguous();
  primed.release();
  /** A cache holding the prompt; each run appends one more token to it (as a generation does). */
  const decodeOnce = () => {
    const cache = new KVCache(1, t.numKvHeads, t.headDim);
    cache.layers[0].append(promptK, promptV, positions.ids);
    return { cache, run: () => layer.forward(step, at(Int32Array.of(tokens)), cache.layers[0]) };
  };
  /** A prefill into a fresh cache, released at once (a 7B layer's cache sits in a wasm arena). */
  const prefillInto = (xs: Tensor, n: number) => {
    const cache = new KVCache(1, t.numKvHeads, t.headDim);
    layer.forward(xs, at(range(n)), cache.layers[0]);
    cache.release();
  };
  const prefillFlops = decoderLayerFlops(t, tokens);
  // Decode: 1 query against tokens + 1 keys: projections and SwiGLU for one token, attention over the cache.
  const decodeFlops = decoderLayerFlops(t, 1) - 4 * t.headDim * t.numHeads + 4 * t.headDim * t.numHeads * (tokens + 1);
  const decodes = [1, 2].map(decodeOnce);
  const cases = [1, 2].flatMap((n) => [
    { name: `prefill ${tokens} tokens, ${n} thread${n > 1 ? 's' : ''}`, flops: prefillFlops, setup: () => setNumThreads(n), fn: () => prefillInto(x, tokens) },
    { name: `decode 1 token vs ${tokens}, ${n} thread${n > 1 ? 's' : ''}`, flops: decodeFlops, setup: () => setNumThreads(n), fn: () => decodes[n - 1].run() },
  ]);
  const results = await measure(cases, quick, 2);
  for (const d of decodes) d.cache.release();
  printTable(results, {
    'x 32 layers': (r) => (r.ms * t.numLayers >= 1000 ? `${((r.ms * t.numLayers) / 1000).toFixed(1)} s` : `${(r.ms * t.numLayers).toFixed(0)} ms`),
  });
  console.log(`one layer: ${(prefillFlops / 1e9).toFixed(1)} GFLOP for the prefill, ${(decodeFlops / 1e9).toFixed(3)} GFLOP per decode step (exact formula); "x 32 layers" extrapolates the decoder alone.`);

  if (quick) {
    setNumThreads(threads);
    return;
  }
  // The ADSC preset on the 640-token prompt (576 vision + 64 text): tokens per layer from its plan.
  const perLayer = countSchedule(cfg, parseSchedule(ADSC_PRESET), { textTokens: tokens - 576 }).scheduled.layers.map((l) => l.tokens);
  const counts = [...new Set(perLayer)].filter((n) => n !== tokens);
  const timed = await measure(
    counts.map((n) => {
      const xs = x.narrow(0, 0, n);
      return { name: `prefill ${n} tokens, 2 threads`, flops: decoderLayerFlops(t, n), setup: () => setNumThreads(2), fn: () => prefillInto(xs, n) };
    }),
    quick,
    2,
  );
  printTable(timed);
  const msAt = new Map([[tokens, results.find((r) => r.name === `prefill ${tokens} tokens, 2 threads`)!.ms], ...timed.map((r, i): [number, number] => [counts[i], r.ms])]);
  const none = msAt.get(tokens)! * t.numLayers;
  const adsc = perLayer.reduce((sum, n) => sum + msAt.get(n)!, 0);
  const min = (ms: number) => `${(ms / 60000).toFixed(2)} min`;
  console.log(`32-layer prefill of ${tokens} tokens, 2 threads (per-layer times summed): no schedule ${min(none)}, ${ADSC_PRESET} ${min(adsc)} (tokens per layer ${[...new Set(perLayer)].join(' / ')})`);

  // The whole stack in f16: what a LLaVA-1.5-7B checkpoint occupies once loaded.
  const before = process.memoryUsage();
  const constant = (shape: number[]) => loadedConstant(shape, 0.01);
  // Each layer a copy of the random layer's weights, in memory of its own: their values matter to
  // the decode's speed (N(0, 0.02) in f16 has 0.24 % subnormals, as trained weights do, each one
  // corrected after the kernel).
  const stack = Array.from({ length: t.numLayers }, () => {
    let i = 0;
    return layerWeights(() => asLoaded(random[i++]));
  });
  const v = cfg.vision;
  const extras = [
    constant([t.vocabSize, t.hiddenSize]), // embed_tokens
    constant([t.vocabSize, t.hiddenSize]), // lm_head
    constant([t.hiddenSize, v.hiddenSize]), constant([t.hiddenSize, t.hiddenSize]), // projector
    ...Array.from({ length: 23 }, () => constant([12 * v.hiddenSize * v.hiddenSize])), // 23 CLIP layers: 4 D^2 + 2 D I = 12 D^2
  ];
  const after = process.memoryUsage();
  const params = stack.length * (4 * t.hiddenSize ** 2 + 3 * t.hiddenSize * t.intermediateSize) + extras.reduce((s, e) => s + e.size, 0);
  console.log(`\nfull f16 weights: ${(params / 1e9).toFixed(2)} B parameters = ${gib(params * 2)}; resident set ${gib(before.rss)} -> ${gib(after.rss)} (+${gib(after.rss - before.rss)}), array buffers +${gib(after.arrayBuffers - before.arrayBuffers)}`);
  setNumThreads(2);
  const cache = new KVCache(t.numLayers, t.numKvHeads, t.headDim);
  const prompt = scale(randn([8, t.hiddenSize], 7), 0.5);
  let h = prompt;
  stack.forEach((l, i) => (h = l.forward(h, at(range(8)), cache.layers[i]).out));
  const t0 = performance.now();
  let y = step;
  stack.forEach((l, i) => (y = l.forward(y, at(Int32Array.of(8)), cache.layers[i]).out));
  const ms = performance.now() - t0;
  const layerBytes = stack.length * (4 * t.hiddenSize ** 2 + 3 * t.hiddenSize * t.intermediateSize) * 2; // f16: 2 bytes each
  console.log(`one decode step through all 32 f16 layers (2 threads; the first, so it lists every weight's subnormals): ${ms.toFixed(0)} ms, ${(layerBytes / 1e9 / (ms / 1000)).toFixed(2)} GB/s of layer weights read; resident set now ${gib(process.memoryUsage().rss)}`);
  cache.release();

  // The target itself: decode steps through all 32 layers against a 640-token cache in each (the
  // prompt's keys and values from above in every layer, with room for the steps, as `generate`
  // leaves it), five of them, the median reported.
  const steps = 5;
  const long = new KVCache(t.numLayers, t.numKvHeads, t.headDim, steps);
  for (const l of long.layers) l.append(promptK, promptV, positions.ids);
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s0 = performance.now();
    let z = step;
    stack.forEach((l, j) => (z = l.forward(z, at(Int32Array.of(tokens + i)), long.layers[j]).out));
    stepMs.push(performance.now() - s0);
  }
  const median = [...stepMs].sort((a, b) => a - b)[(steps - 1) / 2];
  console.log(`decode steps through all 32 f16 layers against ${tokens}-token caches (2 threads): ${stepMs.map((m) => m.toFixed(0)).join(' / ')} ms, median ${median.toFixed(0)} ms = ${(1000 / median).toFixed(2)} tokens/s (decoder layers only); resident set ${gib(process.memoryUsage().rss)} with ${gib(long.allocatedElements * 4)} of caches`);
  long.release();
  void extras;
  setNumThreads(threads);
}
