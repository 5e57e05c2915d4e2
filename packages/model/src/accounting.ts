/**
 * FLOPs and KV-cache accounting for a prefill, counted from the model's real shapes.
 *
 * Formula 'exact' (the default): 2 FLOPs per multiply-add of every matrix product the code runs.
 * For a decoder layer over T tokens (d hidden, H heads of hd, Hkv key/value heads, m FFN width):
 *   projections  2T d (H hd) + 2 * 2T d (Hkv hd) + 2T (H hd) d        q; k and v (GQA-sized); o
 *   attention    2 * 2 hd H * T (T + 1) / 2                          QK^T and PV over causal pairs
 *   SwiGLU       3 * 2T d m                                          gate, up, down
 * plus, on lines of their own, the vision tower (patch conv and the encoder layers that run), the
 * projector, the lm_head on the last position, and any ranking a schedule computes (PyramidDrop's
 * extra q/k projections). Norms, RoPE, softmax and residual adds are elementwise and not counted.
 *
 * Formula 'fastv': the FastV paper's per-layer count 4 n d^2 + 2 n^2 d + 2 n d m for the decoder
 * layers only, reported as is so the numbers compare with papers.
 *
 * KV cache: each layer holds K and V for the tokens it processed: 2 * T_l * Hkv * hd elements.
 */
import { imageFeatureCount, type LlavaConfig, type TextConfig } from './config.js';
import { hiddenStateIndex } from './clip.js';
import type { Schedule } from './schedule/schedule.js';

export type Formula = 'exact' | 'fastv';

export interface LayerCount {
  layer: number;
  tokens: number;
  visionTokens: number;
  flops: number;
}

export interface PrefillCount {
  layers: LayerCount[];
  /** Vision tower (0 without an image, and under formula 'fastv'). */
  vision: number;
  projector: number;
  /** Ranking work a schedule adds outside the layers (PyramidDrop). */
  ranking: number;
  lmHead: number;
  decoder: number;
  total: number;
  kvCacheElements: number;
}

/** FLOPs of one decoder layer processing `t` tokens from an empty cache. */
export function decoderLayerFlops(c: TextConfig, t: number, formula: Formula = 'exact'): number {
  const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd, intermediateSize: m } = c;
  if (formula === 'fastv') return 4 * t * d * d + 2 * t * t * d + 2 * t * d * m;
  const projections = 2 * t * d * (h * hd) + 2 * (2 * t * d * (hkv * hd)) + 2 * t * (h * hd) * d;
  const attention = 2 * 2 * hd * h * ((t * (t + 1)) / 2);
  const mlp = 3 * 2 * t * d * m;
  return projections + attention + mlp;
}

/** FLOPs of the vision tower up to the feature layer LLaVA reads, for one image. */
export function visionTowerFlops(cfg: LlavaConfig): number {
  const v = cfg.vision;
  const patches = (v.imageSize / v.patchSize) ** 2;
  const n = patches + 1; // + CLS
  const d = v.hiddenSize;
  const conv = 2 * patches * (v.numChannels * v.patchSize ** 2) * d;
  const perLayer = 4 * 2 * n * d * d + 2 * 2 * n * n * d + 2 * 2 * n * d * v.intermediateSize;
  return conv + hiddenStateIndex(cfg.visionFeatureLayer, v.numLayers) * perLayer;
}

/** FLOPs of the projector for one image's features. */
export function projectorFlops(cfg: LlavaConfig): number {
  const p = imageFeatureCount(cfg);
  const dv = cfg.vision.hiddenSize;
  const dt = cfg.text.hiddenSize;
  return 2 * p * dv * dt + 2 * p * dt * dt;
}

/** Ranking FLOPs of PyramidDrop before a stage over `t` tokens: k for all, q for the last, scores. */
export function lastTokenRankingFlops(c: TextConfig, t: number): number {
  const { hiddenSize: d, numHeads: h, numKvHeads: hkv, headDim: hd } = c;
  return 2 * t * d * (hkv * hd) + 2 * d * (h * hd) + 2 * h * hd * t;
}

/**
 * Counts a prefill whose layers processed `tokensPerLayer` (`visionPerLayer` of them vision).
 * `image` says whether the vision tower and projector ran; `rankingStages` lists (layer, tokens
 * before the drop) of PyramidDrop-style rankings.
 */
export function countPrefill(
  cfg: LlavaConfig,
  tokensPerLayer: readonly number[],
  visionPerLayer: readonly number[],
  { formula = 'exact', image = true, rankingStages = [] }: { formula?: Formula; image?: boolean; rankingStages?: readonly [number, number][] } = {},
): PrefillCount {
  const t = cfg.text;
  const layers = tokensPerLayer.map((tokens, layer) => ({ layer, tokens, visionTokens: visionPerLayer[layer], flops: decoderLayerFlops(t, tokens, formula) }));
  const decoder = layers.reduce((s, l) => s + l.flops, 0);
  const exact = formula === 'exact';
  const vision = exact && image ? visionTowerFlops(cfg) : 0;
  const projector = exact && image ? projectorFlops(cfg) : 0;
  const ranking = exact ? rankingStages.reduce((s, [, tokens]) => s + lastTokenRankingFlops(t, tokens), 0) : 0;
  const lmHead = exact ? 2 * t.hiddenSize * t.vocabSize : 0;
  const kvCacheElements = tokensPerLayer.reduce((s, tokens) => s + 2 * tokens * t.numKvHeads * t.headDim, 0);
  return { layers, vision, projector, ranking, lmHead, decoder, total: vision + projector + ranking + lmHead + decoder, kvCacheElements };
}

/** What a prefill did, as `generate` reports it (the fields `countRun` reads). */
export interface PrefillRun {
  tokensPerLayer: readonly number[];
  visionTokensPerLayer: readonly number[];
  /** The decoder's input length: the prompt with the image spliced in. */
  promptTokens: number;
}

/**
 * The counted cost of a prefill as it ran under `schedule` (the tokens each layer really
 * processed, the rankings it really computed), and of the same prompt without a schedule.
 */
export function countRun(cfg: LlavaConfig, schedule: Schedule, run: PrefillRun, { image = true }: { image?: boolean } = {}): { scheduled: PrefillCount; baseline: PrefillCount } {
  const layers = cfg.text.numLayers;
  const { tokensPerLayer, visionTokensPerLayer } = run;
  const scheduled = countPrefill(cfg, tokensPerLayer, visionTokensPerLayer, { image, rankingStages: rankingStages(schedule, layers, tokensPerLayer, visionTokensPerLayer) });
  const unreduced = (n: number) => new Array<number>(layers).fill(n);
  // Not visionTokensPerLayer[0]: a schedule may already drop before layer 0.
  const baseline = countPrefill(cfg, unreduced(run.promptTokens), unreduced(image ? imageFeatureCount(cfg) : 0), { image });
  return { scheduled, baseline };
}

/**
 * The PyramidDrop-style rankings a prefill really computed: (layer, tokens before the drop) for
 * each ranking layer that still had vision tokens to rank.
 */
export function rankingStages(
  schedule: Schedule,
  numLayers: number,
  tokensPerLayer: readonly number[],
  visionPerLayer: readonly number[],
): [number, number][] {
  const layers = schedule.rankingLayers?.(numLayers) ?? [];
  return layers.filter((l) => l > 0 && visionPerLayer[l - 1] > 0).map((l): [number, number] => [l, tokensPerLayer[l - 1]]);
}

export interface ScheduleCount {
  baseline: PrefillCount;
  scheduled: PrefillCount;
  /** Fractions saved: 1 - scheduled / baseline (0.537 means -53.7 %). */
  reduction: { flops: number; kv: number };
}

/**
 * The cost of `schedule` on a prompt of `textTokens` text tokens plus one image (the config's
 * feature count, 576 for LLaVA-1.5), against the unreduced model, from the schedule's plan.
 */
export function countSchedule(
  cfg: LlavaConfig,
  schedule: Schedule,
  { textTokens = 64, formula = 'exact' }: { textTokens?: number; formula?: Formula } = {},
): ScheduleCount {
  const layers = cfg.text.numLayers;
  const vision = imageFeatureCount(cfg);
  const tokens = (plan: number[]) => plan.map((v) => textTokens + v);
  const basePlan = new Array<number>(layers).fill(vision);
  const plan = schedule.plan(vision, layers);
  const baseline = countPrefill(cfg, tokens(basePlan), basePlan, { formula });
  const scheduled = countPrefill(cfg, tokens(plan), plan, { formula, rankingStages: rankingStages(schedule, layers, tokens(plan), plan) });
  return {
    baseline,
    scheduled,
    reduction: { flops: 1 - scheduled.total / baseline.total, kv: 1 - scheduled.kvCacheElements / baseline.kvCacheElements },
  };
}
