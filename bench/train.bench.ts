/**
 * `pnpm bench train`: forward + backward of one decoder layer, the unit a training step repeats
 * per layer, at two sizes:
 *
 * - shapes-llava (d 128, 4 heads, SwiGLU 344; 166 tokens = 144 vision + 22 text): every weight
 *   trainable (f32 masters), as in training that model from scratch;
 * - LLaVA-1.5-7B (d 4096, 32 heads, SwiGLU 11008; 640 tokens): frozen f16 weights with LoRA
 *   (r 128, alpha 256 on all seven projections, LLaVA's finetune_lora recipe), the case that
 *   decides whether a 7B LoRA step fits in memory.
 *
 * Each is timed with every activation kept and with per-layer recomputation (checkpointing), and
 * the memory held between forward and backward (what the backward needs) is counted by core's
 * `graphBytes` (the activation buffers the recorded graph references); "x 32 layers" extrapolates
 * the 7B decoder. Forward + backward is
 * counted as 3x the forward's FLOPs (dX and dW each cost one forward for the linear layers).
 */
import { backward, checkpoint, full, graphBytes, getNumThreads, mean, randn, scale, setNumThreads, zeros, type Tensor } from '@adsc/core';
import { DecoderLayer, PRESETS, decoderLayerFlops, range, tokenPositions, type TextConfig } from '@adsc/model';
import type { SuiteOptions } from './run.js';
import { measure, printTable } from './report.js';

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const SHAPES: TextConfig = {
  ...PRESETS['llava-1.5-7b'].text,
  hiddenSize: 128, numHeads: 4, numKvHeads: 4, headDim: 32, intermediateSize: 344, numLayers: 8, vocabSize: 64,
};

interface Setup {
  name: string;
  cfg: TextConfig;
  tokens: number;
  layer: DecoderLayer;
  /** Bytes of the layer's trainable tensors (weights or adapters). */
  trainable: number;
}

function makeLayer(cfg: TextConfig, lora: { r: number; alpha: number } | undefined, seed: number): { layer: DecoderLayer; trainable: number } {
  const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, intermediateSize: m } = cfg;
  let trainable = 0;
  const weight = (shape: number[]): Tensor => {
    const w = scale(randn(shape, seed++), 0.02);
    if (lora) return w.to('f16'); // frozen, stored as the checkpoint stores it
    trainable += w.size;
    return w.requireGrad();
  };
  const lin = (out: number, inF: number) => {
    const l: { weight: Tensor; lora?: { a: Tensor; b: Tensor; scaling: number; dropout: number } } = { weight: weight([out, inF]) };
    if (lora) {
      l.lora = { a: scale(randn([lora.r, inF], seed++), 0.01).requireGrad(), b: zeros([out, lora.r]).requireGrad(), scaling: lora.alpha / lora.r, dropout: 0 };
      trainable += lora.r * (inF + out);
    }
    return l;
  };
  const norm = lora ? full([d], 1, 'f16') : full([d], 1).requireGrad();
  const layer = new DecoderLayer(cfg, {
    inputNorm: norm, q: lin(h * hd, d), k: lin(hkv * hd, d), v: lin(hkv * hd, d), o: lin(d, h * hd),
    postNorm: norm, gate: lin(m, d), up: lin(m, d), down: lin(d, m),
  });
  return { layer, trainable: trainable * 4 };
}

/** One forward + backward of the layer; returns the activation bytes the graph held in between. */
function step(s: Setup, x: Tensor, recompute: boolean): number {
  const at = tokenPositions(range(s.tokens), s.cfg.headDim, s.cfg.ropeTheta);
  const out = recompute ? checkpoint((h) => s.layer.forward(h, at).out, [x]) : s.layer.forward(x, at).out;
  const loss = mean(mean(out, -1), 0);
  const held = graphBytes(loss);
  backward(loss);
  return held;
}

export default async function trainSuite({ quick }: SuiteOptions): Promise<void> {
  const threads = getNumThreads();
  const seven = PRESETS['llava-1.5-7b'].text;
  const setups: Setup[] = [
    { name: 'shapes-llava layer, full', cfg: SHAPES, tokens: 166, ...makeLayer(SHAPES, undefined, 1) },
    ...(quick ? [] : [{ name: '7B layer, LoRA r128', cfg: seven, tokens: 640, ...makeLayer(seven, { r: 128, alpha: 256 }, 100) }]),
  ];
  const held = new Map<string, number>();
  const cases = setups.flatMap((s) => {
    const x = scale(randn([s.tokens, s.cfg.hiddenSize], 7), 0.5).requireGrad();
    const fwd = decoderLayerFlops(s.cfg, s.tokens);
    // The 7B layer takes minutes per case: two threads only.
    return (s.tokens === 640 ? [2] : [1, 2]).flatMap((n) => [
      { name: `${s.name}: forward only, ${n} thr`, flops: fwd, setup: () => setNumThreads(n), fn: () => s.layer.forward(x.detach(), tokenPositions(range(s.tokens), s.cfg.headDim, s.cfg.ropeTheta)) },
      ...[false, true].map((recompute) => {
        const name = `${s.name}: fwd+bwd${recompute ? ', recompute' : ''}, ${n} thr`;
        return { name, flops: 3 * fwd + (recompute ? fwd : 0), setup: () => setNumThreads(n), fn: () => held.set(name, step(s, x, recompute)) };
      }),
    ]);
  });
  const results = await measure(cases, quick, quick ? 1 : 2);
  printTable(results, {
    'held fwd->bwd': (r) => (held.has(r.name) ? mib(held.get(r.name)!) : '-'),
    'x 32 layers': (r) => (r.name.startsWith('7B') ? `${((r.ms * 32) / 1000).toFixed(0)} s` : '-'),
  });
  console.log('GFLOP/s counts forward + backward as 3x the forward (4x with recomputation). "held": activation bytes the graph keeps for the backward (graphBytes).');

  const big = setups.find((s) => s.name.startsWith('7B'));
  if (big) {
    const c = PRESETS['llava-1.5-7b'];
    const weights = 7.06e9 * 2; // f16 parameters of LLaVA-1.5-7B, as bench llava7b loads them
    const adapters = 32 * big.trainable; // f32 A and B of every layer
    const optimizer = 2 * adapters; // AdamW's two moments
    const grads = adapters;
    const keepAll = held.get(`${big.name}: fwd+bwd, 2 thr`) ?? 0;
    const recomputed = held.get(`${big.name}: fwd+bwd, recompute, 2 thr`) ?? 0;
    // With recomputation 32 layer inputs are kept plus one layer's activations during its backward.
    const plan = (perLayer: number, layersHeld: number) => weights + adapters + optimizer + grads + perLayer * layersHeld;
    console.log(`\n7B LoRA step, 640 tokens, batch 1 (${c.text.numLayers} layers): weights ${gib(weights)}, adapters + grads + AdamW ${gib(adapters + grads + optimizer)}`);
    console.log(`  keep every activation: ${mib(keepAll)} per layer -> ${gib(plan(keepAll, 32))} in all`);
    console.log(`  recompute each layer:  ${mib(recomputed)} per layer input, + one layer's ${mib(keepAll)} in its backward -> ${gib(plan(recomputed, 32) + keepAll)} in all`);
    console.log(`  fits in 24 GB: ${plan(keepAll, 32) < 24e9 ? 'yes' : 'no'} keeping activations, ${plan(recomputed, 32) + keepAll < 24e9 ? 'yes' : 'no'} with checkpointing`);
  }
  setNumThreads(threads);
}
