import { describe, expect, it } from 'vitest';
import { PRESETS, imageFeatureCount, parseConfig, readConfig } from '../src/index.js';
import { checkpointDir } from './golden.js';

describe('config', () => {
  it('fills a bare llava-hf config with the LlamaConfig and CLIPVisionConfig defaults', () => {
    const c = parseConfig({ model_type: 'llava', text_config: {}, vision_config: {} });
    expect(c.text).toMatchObject({ hiddenSize: 4096, numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 128, intermediateSize: 11008, rmsNormEps: 1e-6, ropeTheta: 10000 });
    expect(c.vision).toMatchObject({ hiddenSize: 768, numLayers: 12, imageSize: 224, patchSize: 32, hiddenAct: 'quick_gelu' });
    expect(c.imageTokenIndex).toBe(32000);
    expect(c.visionFeatureLayer).toBe(-2);
  });

  it('builds CLIP ViT-L/14-336 when vision_config is absent, as LlavaConfig does', () => {
    expect(parseConfig({ model_type: 'llava' }).vision).toMatchObject({ hiddenSize: 1024, numLayers: 24, imageSize: 336, patchSize: 14 });
  });

  it('the llava-1.5-7b preset is Vicuna-7B with CLIP ViT-L/14-336: 576 image features', () => {
    const c = PRESETS['llava-1.5-7b'];
    expect(c.text).toMatchObject({ hiddenSize: 4096, numLayers: 32, numHeads: 32, numKvHeads: 32, vocabSize: 32064, rmsNormEps: 1e-5, maxPositions: 4096 });
    expect(c.vision).toMatchObject({ hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096, imageSize: 336, patchSize: 14 });
    expect(imageFeatureCount(c)).toBe(576); // (336 / 14)^2
  });

  it('the llava-1.5-13b preset has 40 layers of width 5120', () => {
    expect(PRESETS['llava-1.5-13b'].text).toMatchObject({ hiddenSize: 5120, numLayers: 40, numHeads: 40, intermediateSize: 13824 });
  });

  it('reads num_key_value_heads as heads when absent and as given otherwise (GQA)', () => {
    expect(readConfig(checkpointDir('tiny-mha')).text.numKvHeads).toBe(4);
    expect(readConfig(checkpointDir('tiny-gqa')).text).toMatchObject({ numHeads: 6, numKvHeads: 2, headDim: 16 });
  });

  it('reads the original LLaVA config: mm_* fields, pad aspect, vicuna layout', () => {
    const c = readConfig(checkpointDir('tiny-original'));
    expect(c.layout).toBe('original');
    expect(c.imageAspectRatio).toBe('pad');
    expect(c.visionFeatureLayer).toBe(-2);
    expect(c.visionFeatureSelectStrategy).toBe('default'); // mm_vision_select_feature "patch"
  });

  it('names the file and field of an invalid value', () => {
    expect(() => parseConfig({ model_type: 'llava', text_config: { num_attention_heads: 0 } }, 'x/config.json')).toThrow(
      'x/config.json text_config: field "num_attention_heads" has an invalid value 0',
    );
  });

  it('refuses heads that do not divide the hidden size', () => {
    expect(() => parseConfig({ model_type: 'llava', text_config: { hidden_size: 100, num_attention_heads: 3 } })).toThrow(/not divisible/);
  });

  it('refuses a JSON object that is neither layout', () => {
    expect(() => parseConfig({ model_type: 'bert' }, 'c.json')).toThrow('c.json: neither a llava-hf config');
  });

  it('names the missing config.json', () => {
    expect(() => readConfig('/nonexistent-dir')).toThrow('/nonexistent-dir/config.json: not found');
  });
});
