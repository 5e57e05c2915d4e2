/**
 * shapes-llava before training: LLaVA-1.5's architecture at toy size, in the llava-hf file layout,
 * with weights initialised the way Hugging Face initialises a fresh model.
 *
 *   vision   CLIP ViT, 168 px in 14 px patches: 12 x 12 = 144 vision tokens (+ CLS); width 128,
 *            4 layers (LLaVA reads layer -2, so 3 run), 4 heads, MLP 512, quick_gelu
 *   projector mlp2x_gelu: 128 -> 128 -> 128, exact GELU
 *   decoder  Llama, width 128, 8 layers, 4 heads of 32, SwiGLU 344, RMSNorm, RoPE theta 10000,
 *            512 positions; untied lm_head over the word-level vocabulary (vocabulary.ts)
 *
 * 144 vision tokens let an 89 % reduction still keep 16; 8 decoder layers leave room for staged
 * schedules. Init: normal(0, 0.02) for every linear, conv and embedding weight (class and position
 * embeddings included), zero biases, norm weights 1 and norm biases 0; each tensor draws its own
 * seed from one mulberry32 stream, so a seed fixes every value. Weights are stored as f32.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { full, mulberry32, randn, scale, zeros, type Tensor } from '@adsc/core';
import { preprocessorFor } from '@adsc/model';
import { save } from '@adsc/safetensors';
import { BOS_TOKEN_ID, EOS_TOKEN_ID, IMAGE_TOKEN_ID, PAD_TOKEN_ID, shapesTokenizerConfig, shapesTokenizerJson, shapesVocabulary } from './vocabulary.js';

export const TEXT = { hidden: 128, layers: 8, heads: 4, intermediate: 344, maxPositions: 512 } as const;
export const VISION = { hidden: 128, layers: 4, heads: 4, intermediate: 512, image: 168, patch: 14 } as const;
const INIT_STD = 0.02;

/** The widths and depths of a toy LLaVA: shapes-llava's by default, smaller ones in tests. */
export interface LlavaSizes {
  text: { hidden: number; layers: number; heads: number; intermediate: number; maxPositions: number };
  vision: { hidden: number; layers: number; heads: number; intermediate: number; image: number; patch: number };
}

export const SHAPES_LLAVA_SIZES: LlavaSizes = { text: TEXT, vision: VISION };


export function shapesLlavaConfig(vocabSize = shapesVocabulary().length, { text: TEXT, vision: VISION }: LlavaSizes = SHAPES_LLAVA_SIZES): object {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: IMAGE_TOKEN_ID,
    pad_token_id: PAD_TOKEN_ID,
    projector_hidden_act: 'gelu',
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    text_config: {
      model_type: 'llama',
      hidden_size: TEXT.hidden,
      intermediate_size: TEXT.intermediate,
      num_attention_heads: TEXT.heads,
      num_key_value_heads: TEXT.heads,
      num_hidden_layers: TEXT.layers,
      vocab_size: vocabSize,
      max_position_embeddings: TEXT.maxPositions,
      hidden_act: 'silu',
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      bos_token_id: BOS_TOKEN_ID,
      eos_token_id: EOS_TOKEN_ID,
      pad_token_id: PAD_TOKEN_ID,
      initializer_range: INIT_STD,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: VISION.hidden,
      intermediate_size: VISION.intermediate,
      num_attention_heads: VISION.heads,
      num_hidden_layers: VISION.layers,
      image_size: VISION.image,
      patch_size: VISION.patch,
      num_channels: 3,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
    },
    vocab_size: vocabSize,
  };
}

/** CLIPImageProcessor's settings (LLaVA-1.5's, at this tower's image size) as the file holds them. */
export function shapesPreprocessorConfig({ vision: VISION }: Pick<LlavaSizes, 'vision'> = SHAPES_LLAVA_SIZES): object {
  return { ...preprocessorFor(VISION.image), image_processor_type: 'CLIPImageProcessor', processor_class: 'LlavaProcessor' };
}

/** Every tensor of the model, llava-hf names, freshly initialised from `seed`. */
export function initShapesLlava(seed: number, vocabSize = shapesVocabulary().length, { text: TEXT, vision: VISION }: LlavaSizes = SHAPES_LLAVA_SIZES): Record<string, Tensor> {
  const seeds = mulberry32(seed);
  const normal = (shape: number[]) => scale(randn(shape, Math.floor(seeds() * 2 ** 32)), INIT_STD);
  const w: Record<string, Tensor> = {};
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    w[`${name}.weight`] = normal([out, inp]);
    if (bias) w[`${name}.bias`] = zeros([out]);
  };
  const layerNorm = (name: string, width: number) => {
    w[`${name}.weight`] = full([width], 1);
    w[`${name}.bias`] = zeros([width]);
  };

  const d = TEXT.hidden;
  const lm = 'language_model.model';
  w[`${lm}.embed_tokens.weight`] = normal([vocabSize, d]);
  for (let i = 0; i < TEXT.layers; i++) {
    const p = `${lm}.layers.${i}`;
    w[`${p}.input_layernorm.weight`] = full([d], 1);
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) linear(`${p}.self_attn.${proj}`, d, d, false);
    w[`${p}.post_attention_layernorm.weight`] = full([d], 1);
    linear(`${p}.mlp.gate_proj`, TEXT.intermediate, d, false);
    linear(`${p}.mlp.up_proj`, TEXT.intermediate, d, false);
    linear(`${p}.mlp.down_proj`, d, TEXT.intermediate, false);
  }
  w[`${lm}.norm.weight`] = full([d], 1);
  linear('language_model.lm_head', vocabSize, d, false);

  const v = VISION.hidden;
  linear('multi_modal_projector.linear_1', d, v, true);
  linear('multi_modal_projector.linear_2', d, d, true);

  const vm = 'vision_tower.vision_model';
  w[`${vm}.embeddings.class_embedding`] = normal([v]);
  w[`${vm}.embeddings.patch_embedding.weight`] = normal([v, 3, VISION.patch, VISION.patch]);
  w[`${vm}.embeddings.position_embedding.weight`] = normal([(VISION.image / VISION.patch) ** 2 + 1, v]);
  layerNorm(`${vm}.pre_layrnorm`, v);
  for (let i = 0; i < VISION.layers; i++) {
    const p = `${vm}.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(`${p}.self_attn.${proj}`, v, v, true);
    layerNorm(`${p}.layer_norm1`, v);
    linear(`${p}.mlp.fc1`, VISION.intermediate, v, true);
    linear(`${p}.mlp.fc2`, v, VISION.intermediate, true);
    layerNorm(`${p}.layer_norm2`, v);
  }
  layerNorm(`${vm}.post_layernorm`, v);
  return w;
}

/** The JSON files of the model directory (everything but the weights), by file name. */
export function shapesLlavaFiles(sizes: LlavaSizes = SHAPES_LLAVA_SIZES): Record<string, object> {
  return {
    'config.json': shapesLlavaConfig(shapesVocabulary().length, sizes),
    'generation_config.json': { bos_token_id: BOS_TOKEN_ID, eos_token_id: EOS_TOKEN_ID, pad_token_id: PAD_TOKEN_ID },
    'preprocessor_config.json': shapesPreprocessorConfig(sizes),
    'tokenizer.json': shapesTokenizerJson(),
    'tokenizer_config.json': shapesTokenizerConfig(),
  };
}

/**
 * Writes the untrained model directory: the JSON files and model.safetensors (f32, seeded).
 * Returns the parameter count.
 */
export function writeShapesLlava(dir: string, seed = 0, sizes: LlavaSizes = SHAPES_LLAVA_SIZES): number {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(shapesLlavaFiles(sizes))) writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  const tensors = initShapesLlava(seed, shapesVocabulary().length, sizes);
  const note = `untrained: weights initialised from seed ${seed} by packages/shapes/scripts/init-shapes-llava.ts; the answers are noise until it is trained`;
  save(join(dir, 'model.safetensors'), tensors, { format: 'pt', note });
  return Object.values(tensors).reduce((s, t) => s + t.size, 0);
}
