/**
 * Makes the bundled demo: examples/tiny-llava (a LLaVA-1.5-shaped checkpoint with random weights)
 * and examples/images/demo.png.
 *
 *   pnpm tsx packages/model/scripts/make-tiny-llava.ts [OUT_DIR]
 *
 * The checkpoint has the llava-hf layout and file set of llava-hf/llava-1.5-7b-hf (config.json,
 * generation_config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json, f16
 * shards + model.safetensors.index.json) and the shapes that matter for token reduction: a
 * 336 x 336 image in 14 x 14 patches gives 576 vision tokens, and the decoder has 32 layers, so
 * every schedule written for LLaVA-1.5-7B runs on it unchanged. Only the widths are tiny (64).
 * The weights are seeded random numbers; the metadata says so and the CLI repeats it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Tensor, full, randn, scale } from '@adsc/core';
import { saveSharded } from '@adsc/safetensors';
import { tokenizerConfig, tokenizerJson, trainBpe } from './tiny-bpe.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const OUT = process.argv[2] ?? join(ROOT, 'examples/tiny-llava');
const NOTE = 'random weights, made by packages/model/scripts/make-tiny-llava.ts: the answers are noise';

const TEXT = { hidden: 64, layers: 32, heads: 4, kvHeads: 4, intermediate: 172, vocab: 512 };
const VISION = { hidden: 64, layers: 4, heads: 4, intermediate: 256, image: 336, patch: 14 };
const IMAGE_TOKEN = 500;
const PAD_TOKEN = 501;

const CORPUS = `
USER: ASSISTANT: What is in the image? Describe the image in detail. What color is the sky?
The image shows a small red house on a green hill under a blue sky with a yellow sun.
There is a tree next to the house and a white cloud above it. The sun is in the top right corner.
A chat between a curious user and an artificial intelligence assistant. The assistant gives
helpful, detailed, and polite answers to the user's questions. How many windows does the house have?
The house has two windows and a door. The roof is dark red. The grass is green and the sky is clear.
What is the weather like? It is a sunny day. Is there a person in the picture? No, there is no one.
`;

let seed = 1;
/** Seeded normal weights with standard deviation `std`, stored as f16 like the real checkpoint. */
const normal = (shape: number[], std: number): Tensor => scale(randn(shape, seed++), std).to('f16');
const constant = (shape: number[], value: number): Tensor => full(shape, value, 'f16');

function weights(): Record<string, Tensor> {
  const w: Record<string, Tensor> = {};
  const d = TEXT.hidden;
  const hd = d / TEXT.heads;
  const lm = 'language_model.model';
  w[`${lm}.embed_tokens.weight`] = normal([TEXT.vocab, d], 1);
  for (let i = 0; i < TEXT.layers; i++) {
    const p = `${lm}.layers.${i}`;
    w[`${p}.input_layernorm.weight`] = constant([d], 1);
    w[`${p}.self_attn.q_proj.weight`] = normal([TEXT.heads * hd, d], d ** -0.5);
    w[`${p}.self_attn.k_proj.weight`] = normal([TEXT.kvHeads * hd, d], d ** -0.5);
    w[`${p}.self_attn.v_proj.weight`] = normal([TEXT.kvHeads * hd, d], d ** -0.5);
    w[`${p}.self_attn.o_proj.weight`] = normal([d, TEXT.heads * hd], 0.5 * d ** -0.5);
    w[`${p}.post_attention_layernorm.weight`] = constant([d], 1);
    w[`${p}.mlp.gate_proj.weight`] = normal([TEXT.intermediate, d], d ** -0.5);
    w[`${p}.mlp.up_proj.weight`] = normal([TEXT.intermediate, d], d ** -0.5);
    w[`${p}.mlp.down_proj.weight`] = normal([d, TEXT.intermediate], 0.5 * TEXT.intermediate ** -0.5);
  }
  w[`${lm}.norm.weight`] = constant([d], 1);
  w['language_model.lm_head.weight'] = normal([TEXT.vocab, d], d ** -0.5);

  const v = VISION.hidden;
  w['multi_modal_projector.linear_1.weight'] = normal([d, v], v ** -0.5);
  w['multi_modal_projector.linear_1.bias'] = normal([d], 0.02);
  w['multi_modal_projector.linear_2.weight'] = normal([d, d], d ** -0.5);
  w['multi_modal_projector.linear_2.bias'] = normal([d], 0.02);

  const vm = 'vision_tower.vision_model';
  const positions = (VISION.image / VISION.patch) ** 2 + 1;
  w[`${vm}.embeddings.class_embedding`] = normal([v], 0.5);
  w[`${vm}.embeddings.patch_embedding.weight`] = normal([v, 3, VISION.patch, VISION.patch], (3 * VISION.patch ** 2) ** -0.5);
  w[`${vm}.embeddings.position_embedding.weight`] = normal([positions, v], 0.1);
  for (const norm of ['pre_layrnorm', 'post_layernorm']) {
    w[`${vm}.${norm}.weight`] = constant([v], 1);
    w[`${vm}.${norm}.bias`] = constant([v], 0);
  }
  for (let i = 0; i < VISION.layers; i++) {
    const p = `${vm}.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      w[`${p}.self_attn.${proj}.weight`] = normal([v, v], v ** -0.5);
      w[`${p}.self_attn.${proj}.bias`] = normal([v], 0.02);
    }
    for (const norm of ['layer_norm1', 'layer_norm2']) {
      w[`${p}.${norm}.weight`] = constant([v], 1);
      w[`${p}.${norm}.bias`] = constant([v], 0);
    }
    w[`${p}.mlp.fc1.weight`] = normal([VISION.intermediate, v], v ** -0.5);
    w[`${p}.mlp.fc1.bias`] = normal([VISION.intermediate], 0.02);
    w[`${p}.mlp.fc2.weight`] = normal([v, VISION.intermediate], 0.5 * VISION.intermediate ** -0.5);
    w[`${p}.mlp.fc2.bias`] = normal([v], 0.02);
  }
  return w;
}

function config(): object {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: IMAGE_TOKEN,
    pad_token_id: PAD_TOKEN,
    projector_hidden_act: 'gelu',
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    tie_word_embeddings: false,
    torch_dtype: 'float16',
    text_config: {
      model_type: 'llama',
      hidden_size: TEXT.hidden,
      intermediate_size: TEXT.intermediate,
      num_attention_heads: TEXT.heads,
      num_key_value_heads: TEXT.kvHeads,
      num_hidden_layers: TEXT.layers,
      vocab_size: TEXT.vocab,
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: VISION.hidden,
      intermediate_size: VISION.intermediate,
      num_attention_heads: VISION.heads,
      num_hidden_layers: VISION.layers,
      image_size: VISION.image,
      patch_size: VISION.patch,
    },
    vocab_size: TEXT.vocab,
  };
}

const PREPROCESSOR = {
  crop_size: { height: 336, width: 336 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  processor_class: 'LlavaProcessor',
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 336 },
};

/** A 640 x 480 picture (not square, so preprocessing resizes and crops): sky, sun, hill, house. */
function demoImage(): PNG {
  const width = 640;
  const height = 480;
  const png = new PNG({ width, height });
  const put = (x: number, y: number, [r, g, b]: number[]) => {
    const i = (y * width + x) * 4;
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sky = [90 + (y * 80) / height, 150 + (y * 60) / height, 235];
      const hill = y > 330 - 60 * Math.sin((x / width) * Math.PI);
      const sun = (x - 520) ** 2 + (y - 90) ** 2 < 45 ** 2;
      const house = x > 220 && x < 380 && y > 250 && y < 360;
      const roof = y <= 250 && y > 180 && Math.abs(x - 300) < (y - 180) * 1.25;
      const window = house && y > 275 && y < 315 && ((x > 240 && x < 280) || (x > 320 && x < 360));
      const door = house && x > 285 && x < 315 && y > 300;
      let color = sky;
      if (sun) color = [250, 215, 60];
      if (hill) color = [70, 150 + ((x * 7) % 20), 60];
      if (roof) color = [140, 30, 30];
      if (house) color = [200, 50, 45];
      if (window) color = [230, 240, 255];
      if (door) color = [90, 55, 30];
      put(x, y, color.map(Math.round));
    }
  }
  return png;
}

function main(): void {
  mkdirSync(OUT, { recursive: true });
  const tensors = weights();
  saveSharded(OUT, tensors, { maxShardBytes: 2 * 1024 * 1024, metadata: { format: 'pt', note: NOTE } });
  const json = (name: string, value: object) => writeFileSync(join(OUT, name), `${JSON.stringify(value, null, 2)}\n`);
  json('config.json', config());
  json('generation_config.json', { bos_token_id: 1, eos_token_id: 2, pad_token_id: PAD_TOKEN });
  json('preprocessor_config.json', PREPROCESSOR);
  const bpe = trainBpe(CORPUS, IMAGE_TOKEN);
  json('tokenizer.json', tokenizerJson(bpe, { '<image>': IMAGE_TOKEN, '<pad>': PAD_TOKEN }));
  json('tokenizer_config.json', tokenizerConfig());
  const images = join(ROOT, 'examples/images');
  mkdirSync(images, { recursive: true });
  writeFileSync(join(images, 'demo.png'), PNG.sync.write(demoImage()));
  const params = Object.values(tensors).reduce((s, t) => s + t.size, 0);
  console.log(`wrote ${OUT}: ${Object.keys(tensors).length} tensors, ${params} parameters; ${bpe.vocab.size} base tokens, ${bpe.merges.length} merges`);
}

main();
