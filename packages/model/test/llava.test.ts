import { describe, expect, it } from 'vitest';
import { expectClose } from '@adsc/core/testing';
import { Llava, generate, parseSchedule } from '../src/index.js';
import { checkpointDir, pixels, runs } from './golden.js';

// Every golden run: three checkpoints (MHA with two shards, GQA with three shards, the original
// LLaVA layout in one file; mixed F16 / BF16 / F32), a text-only prompt, and the ADSC, FastV and
// PyramidDrop schedules with original or renumbered positions.
const models = new Map<string, Llava>();
const load = (name: string) => models.get(name) ?? models.set(name, Llava.load(checkpointDir(name))).get(name)!;

describe.each(runs)('$name', (run) => {
  const model = load(run.checkpoint);
  const schedule = parseSchedule(run.schedule, { positions: run.schedule === 'none' ? undefined : run.positions, numLayers: 6 });
  const result = generate(model, run.input_ids, run.pixels ? pixels(run.pixels) : undefined, { maxNewTokens: run.max_new_tokens, schedule });

  it('matches the last-position logits of the reference within 1e-4', () => {
    expectClose(result.prefillLogits, run.prefill_logits, { atol: 1e-4 });
  });

  it('generates the same greedy tokens', () => {
    expect(result.outputIds).toEqual(run.output_ids);
  });

  it('processes the same number of tokens in each layer', () => {
    expect(result.tokensPerLayer).toEqual(run.tokens_per_layer);
    expect(result.visionTokensPerLayer).toEqual(run.vision_tokens_per_layer);
  });

  it('keeps the same vision tokens in each layer', () => {
    expect(result.visionIndicesPerLayer.map((v) => Array.from(v))).toEqual(run.kept_image_indices);
  });

  it('holds the KV cache elements the reference counts', () => {
    expect(result.kvCacheElements).toBe(run.kv_cache_elements);
  });

  it('follows its own plan, the one the accounting counts', () => {
    expect(schedule.plan(run.vision_tokens_per_layer[0], 6)).toEqual(run.vision_tokens_per_layer);
  });

  it('runs the reference attention only where probabilities are needed', () => {
    expect(result.referenceAttentionLayers).toEqual(run.schedule.startsWith('fastv') ? [1] : []);
  });
});

describe('layouts', () => {
  it('reads the original LLaVA layout and config into the same model as llava-hf', () => {
    const hf = Llava.load(checkpointDir('tiny-mha'));
    const original = Llava.load(checkpointDir('tiny-original'));
    expect(original.config.layout).toBe('original');
    expect(hf.config.layout).toBe('llava-hf');
    expect(original.config.text).toEqual(hf.config.text);
    expect(original.config.vision).toEqual(hf.config.vision);
  });
});

describe('schedules and the prompt', () => {
  const model = load('tiny-mha');
  const image = pixels('pixels-a.bin');

  it('refuses a reducing schedule when the image ends the prompt (its last token could be dropped)', () => {
    expect(() => generate(model, [1, 5, 300], image, { schedule: parseSchedule('adsc:1=0.5') })).toThrow(
      'schedule adsc:1=0.5 drops vision tokens, so the prompt needs at least one text token after the image',
    );
  });

  it('accepts an image at the end of the prompt when nothing is dropped', () => {
    expect(generate(model, [1, 5, 300], image, { maxNewTokens: 1 }).tokensPerLayer[0]).toBe(66); // 2 text + 64 vision
  });
});
