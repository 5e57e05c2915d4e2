import { describe, expect, it } from 'vitest';
import {
  PRESETS, countPrefill, countRun, countSchedule, decoderLayerFlops, parseSchedule, projectorFlops, rankingStages, readConfig, visionTowerFlops,
} from '../src/index.js';
import { checkpointDir, runs } from './golden.js';

const llava7b = PRESETS['llava-1.5-7b'];
const tiny = { hiddenSize: 4, numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 2, intermediateSize: 8, vocabSize: 10, rmsNormEps: 1e-5, ropeTheta: 1e4, maxPositions: 64 };

describe('decoder layer FLOPs', () => {
  it('counts a tiny GQA layer by hand', () => {
    // T = 3, d 4, 2 heads of 2 (H hd = 4), 1 KV head (Hkv hd = 2), m 8:
    //   q 2*3*4*4 = 96; k, v 2 * (2*3*4*2) = 96; o 2*3*4*4 = 96
    //   attention 2*2*hd*H * T(T+1)/2 = 4*2*2*6 = 96
    //   SwiGLU 3*2*3*4*8 = 576
    expect(decoderLayerFlops(tiny, 3)).toBe(96 + 96 + 96 + 96 + 576);
  });

  it('counts the FastV paper formula 4nd^2 + 2n^2 d + 2ndm as is', () => {
    expect(decoderLayerFlops(tiny, 3, 'fastv')).toBe(4 * 3 * 16 + 2 * 9 * 4 + 2 * 3 * 4 * 8);
  });

  it('gives 262.4 GFLOP for one LLaVA-1.5-7B layer over 640 tokens', () => {
    // 8 T d^2 (q, k, v, o) + 6 T d m + 2 hd H T (T + 1)
    const t = 640;
    const expected = 8 * t * 4096 ** 2 + 6 * t * 4096 * 11008 + 2 * 128 * 32 * t * (t + 1);
    expect(decoderLayerFlops(llava7b.text, t)).toBe(expected);
    expect(expected / 1e9).toBeCloseTo(262.4, 1);
  });
});

describe('vision tower and projector FLOPs', () => {
  it('counts the 23 CLIP layers LLaVA runs plus the patch conv', () => {
    // 577 tokens, D 1024, I 4096: per layer 8 N D^2 + 4 N^2 D + 4 N D I; conv 2 * 576 * 588 * 1024
    const n = 577;
    const perLayer = 8 * n * 1024 ** 2 + 4 * n * n * 1024 + 4 * n * 1024 * 4096;
    expect(visionTowerFlops(llava7b)).toBe(2 * 576 * 588 * 1024 + 23 * perLayer);
  });

  it('counts the projector as two products over 576 features', () => {
    expect(projectorFlops(llava7b)).toBe(2 * 576 * 1024 * 4096 + 2 * 576 * 4096 * 4096);
  });
});

describe('schedule accounting on LLaVA-1.5-7B (64 text tokens)', () => {
  it('counts no reduction for none', () => {
    const r = countSchedule(llava7b, parseSchedule('none'));
    expect(r.reduction).toEqual({ flops: 0, kv: 0 });
    expect(r.baseline.kvCacheElements).toBe(32 * 2 * 640 * 32 * 128); // layers * (K, V) * tokens * heads * hd
  });

  // The adsc preset's tokens per layer: 6 x 640, 6 x 352, 6 x 208, 14 x 136
  // (64 text + 576, 288, 144, 72 vision).
  const presetTokens = [...Array(6).fill(640), ...Array(6).fill(352), ...Array(6).fill(208), ...Array(14).fill(136)];

  it('counts the KV saving of the adsc preset from its plan', () => {
    const r = countSchedule(llava7b, parseSchedule('adsc'));
    // KV elements are proportional to token-layers: 9,104 held against 32 * 640 = 20,480, so
    // 1 - 9104 / 20480 = 0.55546875 is saved.
    expect(presetTokens.reduce((s, t) => s + t, 0)).toBe(9104);
    expect(r.reduction.kv).toBeCloseTo(0.55546875, 12);
  });

  it('counts the FLOPs saving of the adsc preset from the per-layer formula', () => {
    // Per layer, T tokens: 8 T d^2 + 6 T d m + 2 hd H T (T + 1) with d 4096, m 11008, hd 128, H 32.
    const layer = (t: number) => 8 * t * 4096 ** 2 + 6 * t * 4096 * 11008 + 2 * 128 * 32 * t * (t + 1);
    const fixed = visionTowerFlops(llava7b) + projectorFlops(llava7b) + 2 * 4096 * 32064; // + lm_head on one position
    const base = fixed + 32 * layer(640);
    const scheduled = fixed + presetTokens.reduce((s, t) => s + layer(t), 0);
    const r = countSchedule(llava7b, parseSchedule('adsc'));
    expect(r.scheduled.total).toBe(scheduled);
    expect(r.reduction.flops).toBeCloseTo(1 - scheduled / base, 12);
  });

  it('charges PyramidDrop its ranking projections, once per stage', () => {
    // Before stages 8, 16, 24 over T = 640, 352, 208 tokens: k for all T (2 T d Hkv hd), q for the
    // last token (2 d H hd), scores (2 H hd T), with d = H hd = Hkv hd = 4096:
    // sum over T of 2 T 4096^2 + 2 * 4096^2 + 2 * 4096 T = 40,375,812,096.
    expect(countSchedule(llava7b, parseSchedule('pdrop')).scheduled.ranking).toBe(40_375_812_096);
    expect(countSchedule(llava7b, parseSchedule('adsc')).scheduled.ranking).toBe(0);
  });

  it('reports the fastv formula without the vision tower, projector or lm_head', () => {
    const r = countSchedule(llava7b, parseSchedule('fastv'), { formula: 'fastv' });
    expect(r.baseline.total).toBe(r.baseline.decoder);
    expect(r.baseline.total).toBe(32 * decoderLayerFlops(llava7b.text, 640, 'fastv'));
  });
});

describe('rankingStages', () => {
  it('lists only the ranking layers that still had vision tokens to rank', () => {
    const pdrop = parseSchedule('pdrop:layers=1,2,3,ratio=0.5');
    expect(rankingStages(pdrop, 6, [79, 47, 31, 23, 23, 23], [64, 32, 16, 8, 8, 8])).toEqual([[1, 79], [2, 47], [3, 31]]);
    expect(rankingStages(pdrop, 6, [15, 15, 15, 15, 15, 15], [0, 0, 0, 0, 0, 0])).toEqual([]); // text only
  });
});

describe('countRun', () => {
  it('counts a PyramidDrop run as it ran, rankings included, against all 576 features in every layer', () => {
    const pdrop = parseSchedule('pdrop:layers=8,16,24,ratio=0.5');
    const vision = [...new Array(8).fill(576), ...new Array(8).fill(288), ...new Array(8).fill(144), ...new Array(8).fill(72)];
    const run = { tokensPerLayer: vision.map((v) => v + 64), visionTokensPerLayer: vision, promptTokens: 640 };
    const { scheduled, baseline } = countRun(llava7b, pdrop, run);
    expect(scheduled).toEqual(countPrefill(llava7b, run.tokensPerLayer, vision, { rankingStages: [[8, 640], [16, 352], [24, 208]] }));
    expect(baseline).toEqual(countPrefill(llava7b, new Array(32).fill(640), new Array(32).fill(576)));
  });

  it('takes the unscheduled prompt\'s features from the config, not from layer 0, which a schedule may already reduce', () => {
    const run = { tokensPerLayer: new Array(32).fill(352), visionTokensPerLayer: new Array(32).fill(288), promptTokens: 640 };
    expect(countRun(llava7b, parseSchedule('adsc:0=0.5'), run).baseline.layers[0]).toMatchObject({ tokens: 640, visionTokens: 576 });
  });

  it('counts no vision tower and no vision tokens for a prompt without an image', () => {
    const run = { tokensPerLayer: new Array(32).fill(20), visionTokensPerLayer: new Array(32).fill(0), promptTokens: 20 };
    const { scheduled, baseline } = countRun(llava7b, parseSchedule('none'), run, { image: false });
    expect([scheduled.vision, baseline.vision, baseline.layers[0].visionTokens]).toEqual([0, 0, 0]);
    expect(scheduled.total).toBe(baseline.total);
  });
});

describe('KV accounting against real runs', () => {
  it.each(runs.map((r) => [r.name, r] as const))('%s: the counted KV elements equal what the cache held', (_, run) => {
    const cfg = readConfig(checkpointDir(run.checkpoint));
    expect(countPrefill(cfg, run.tokens_per_layer, run.vision_tokens_per_layer).kvCacheElements).toBe(run.kv_cache_elements);
  });
});
