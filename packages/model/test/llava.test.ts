import { describe, expect, it } from 'vitest';
import { expectClose } from '@adsc/core/testing';
import { Llava, generate } from '../src/index.js';
import { checkpointDir, pixels, runs } from './golden.js';

// End-to-end runs without a schedule: three checkpoints (MHA with two shards, GQA with three
// shards, the original LLaVA layout in one file), mixed F16 / BF16 / F32, and a text-only prompt.
const cases = runs.filter((r) => r.schedule === 'none');

describe.each(cases)('$name', (run) => {
  const model = Llava.load(checkpointDir(run.checkpoint));
  const result = generate(model, run.input_ids, run.pixels ? pixels(run.pixels) : undefined, { maxNewTokens: run.max_new_tokens });

  it('matches the last-position logits of the reference within 1e-4', () => {
    expectClose(result.prefillLogits, run.prefill_logits, { atol: 1e-4 });
  });

  it('generates the same greedy tokens', () => {
    expect(result.outputIds).toEqual(run.output_ids);
  });

  it('runs every layer over the whole merged prompt', () => {
    expect(result.tokensPerLayer).toEqual(run.tokens_per_layer);
    expect(result.visionTokensPerLayer).toEqual(run.vision_tokens_per_layer);
  });

  it('holds the KV cache elements the reference counts', () => {
    expect(result.kvCacheElements).toBe(run.kv_cache_elements);
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
