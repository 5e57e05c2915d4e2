/**
 * Token reduction, measured rather than counted: prefill wall time of none / ADSC / FastV /
 * PyramidDrop on one mid-size random model, in the same run, next to the FLOPs each method is
 * counted to save. The ratio "time saved / FLOPs saved" says whether the counted saving turns into
 * real time (target >= 0.8). Peak KV bytes are what the caches allocated after prefill.
 *
 * Model: d 1024, 8 layers, 8 heads of 128, SwiGLU 2816, f16 weights (random); prompt: 64 text and
 * 576 vision tokens, fed as random embeddings (the vision tower is the same for every method and
 * is left out). The schedules are the presets scaled from 32 to 8 layers.
 */
import { full, randn, scale } from '@adsc/core';
import {
  Llava, countPrefill, parseConfig, parseSchedule, range, rankingStages, tensorMap, type LlavaConfig, type Schedule,
  type Sequence,
} from '@adsc/model';
import type { SuiteOptions } from './run.js';
import { measure, printTable } from './report.js';

const TEXT = { hidden_size: 1024, num_hidden_layers: 8, num_attention_heads: 8, intermediate_size: 2816, vocab_size: 1000 };
const VISION = { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, image_size: 336, patch_size: 14 };
const SCHEDULES = ['none', 'adsc:2=0.5,3=0.5,5=0.5', 'fastv:K=2,R=0.5', 'pdrop:layers=2,4,6,ratio=0.5'];

/** A LLaVA-shaped model with random f16 weights (the vision side tiny: it is not run here). */
export function randomLlava(text: Record<string, number>, vision: Record<string, number> = VISION): Llava {
  const cfg: LlavaConfig = parseConfig({ model_type: 'llava', text_config: text, vision_config: vision }, 'bench config');
  const t = cfg.text;
  const v = cfg.vision;
  const w: Record<string, ReturnType<typeof randn>> = {};
  let seed = 1;
  const rand = (shape: number[], std: number) => scale(randn(shape, seed++), std).to('f16');
  const ones = (n: number) => full([n], 1, 'f16'); // norm weights
  const small = (n: number) => scale(randn([n], seed++), 0.02).to('f16'); // biases
  const d = t.hiddenSize;
  w['language_model.model.embed_tokens.weight'] = rand([t.vocabSize, d], 1);
  w['language_model.model.norm.weight'] = ones(d);
  w['language_model.lm_head.weight'] = rand([t.vocabSize, d], d ** -0.5);
  for (let i = 0; i < t.numLayers; i++) {
    const p = `language_model.model.layers.${i}`;
    w[`${p}.input_layernorm.weight`] = ones(d);
    w[`${p}.post_attention_layernorm.weight`] = ones(d);
    for (const proj of ['q_proj', 'o_proj']) w[`${p}.self_attn.${proj}.weight`] = rand([d, d], d ** -0.5);
    for (const proj of ['k_proj', 'v_proj']) w[`${p}.self_attn.${proj}.weight`] = rand([t.numKvHeads * t.headDim, d], d ** -0.5);
    w[`${p}.mlp.gate_proj.weight`] = rand([t.intermediateSize, d], d ** -0.5);
    w[`${p}.mlp.up_proj.weight`] = rand([t.intermediateSize, d], d ** -0.5);
    w[`${p}.mlp.down_proj.weight`] = rand([d, t.intermediateSize], t.intermediateSize ** -0.5);
  }
  w['multi_modal_projector.linear_1.weight'] = rand([d, v.hiddenSize], 0.1);
  w['multi_modal_projector.linear_1.bias'] = small(d);
  w['multi_modal_projector.linear_2.weight'] = rand([d, d], 0.01);
  w['multi_modal_projector.linear_2.bias'] = small(d);
  const vm = 'vision_tower.vision_model';
  w[`${vm}.embeddings.class_embedding`] = small(v.hiddenSize);
  w[`${vm}.embeddings.patch_embedding.weight`] = rand([v.hiddenSize, 3, v.patchSize, v.patchSize], 0.01);
  w[`${vm}.embeddings.position_embedding.weight`] = rand([(v.imageSize / v.patchSize) ** 2 + 1, v.hiddenSize], 0.01);
  w[`${vm}.pre_layrnorm.weight`] = ones(v.hiddenSize);
  w[`${vm}.pre_layrnorm.bias`] = small(v.hiddenSize);
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${vm}.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      w[`${p}.self_attn.${proj}.weight`] = rand([v.hiddenSize, v.hiddenSize], 0.1);
      w[`${p}.self_attn.${proj}.bias`] = small(v.hiddenSize);
    }
    for (const n of ['layer_norm1', 'layer_norm2']) {
      w[`${p}.${n}.weight`] = ones(v.hiddenSize);
      w[`${p}.${n}.bias`] = small(v.hiddenSize);
    }
    w[`${p}.mlp.fc1.weight`] = rand([v.intermediateSize, v.hiddenSize], 0.1);
    w[`${p}.mlp.fc1.bias`] = small(v.intermediateSize);
    w[`${p}.mlp.fc2.weight`] = rand([v.hiddenSize, v.intermediateSize], 0.1);
    w[`${p}.mlp.fc2.bias`] = small(v.hiddenSize);
  }
  return Llava.fromWeights(tensorMap(w), cfg, 'random bench model');
}

/** 64 text tokens around 576 vision tokens, as random embeddings [640, d]. */
function prompt(d: number): Sequence {
  const text = 64;
  const vision = 576;
  return {
    hidden: scale(randn([text + vision, d], 99), 0.5),
    positions: range(text + vision),
    visionStart: 35,
    visionCount: vision,
    visionIndex: range(vision),
  };
}

export default async function schedulesSuite({ quick }: SuiteOptions): Promise<void> {
  const text = quick ? { ...TEXT, num_hidden_layers: 4 } : TEXT;
  const specs = quick ? ['none', 'adsc:1=0.5,2=0.5', 'fastv:K=2,R=0.5', 'pdrop:layers=1,2,3,ratio=0.5'] : SCHEDULES;
  const model = randomLlava(text);
  const cfg = model.config;
  const seq = prompt(cfg.text.hiddenSize);
  const schedules: Schedule[] = specs.map((s) => parseSchedule(s, { numLayers: cfg.text.numLayers }));

  // Count each schedule's FLOPs from one real prefill, and record its KV allocation.
  const facts = schedules.map((s) => {
    const r = model.prefill(seq, s);
    const counted = countPrefill(cfg, r.tokensPerLayer, r.visionTokensPerLayer, {
      image: false,
      rankingStages: rankingStages(s, cfg.text.numLayers, r.tokensPerLayer, r.visionTokensPerLayer),
    });
    return { flops: counted.total, kvBytes: r.cache.allocatedElements * 4, tokens: r.tokensPerLayer };
  });
  const results = await measure(
    schedules.map((s, i) => ({ name: s.spec, flops: facts[i].flops, fn: () => model.prefill(seq, s) })),
    quick,
  );
  const base = { ms: results[0].ms, flops: facts[0].flops, kv: facts[0].kvBytes };
  printTable(results, {
    'tokens/layer': (r) => facts[results.indexOf(r)].tokens.join(' '),
    'FLOPs saved': (r) => `${(100 * (1 - facts[results.indexOf(r)].flops / base.flops)).toFixed(1)} %`,
    'time saved': (r) => `${(100 * (1 - r.ms / base.ms)).toFixed(1)} %`,
    'time/FLOPs': (r) => {
      const i = results.indexOf(r);
      const saved = 1 - facts[i].flops / base.flops;
      return saved > 0 ? ((1 - r.ms / base.ms) / saved).toFixed(2) : '-';
    },
    'peak KV MiB': (r) => (facts[results.indexOf(r)].kvBytes / 2 ** 20).toFixed(1),
  });
  console.log(`d ${cfg.text.hiddenSize}, ${cfg.text.numLayers} layers, 64 text + 576 vision tokens, f16 weights; FLOPs counted exact (decoder, lm_head, ranking).`);
}
