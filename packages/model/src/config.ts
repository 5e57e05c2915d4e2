/**
 * LLaVA-1.5 configuration: the numbers every other module is built from.
 *
 * Two on-disk layouts exist. llava-hf (`LlavaForConditionalGeneration`) nests `text_config` and
 * `vision_config`; fields that are absent take the LlamaConfig / CLIPVisionConfig defaults, which is
 * why a real llava-hf config.json says little more than `"model_type": "llama"`. The original LLaVA
 * (`LlavaLlamaForCausalLM`) puts the Llama fields at the top level next to `mm_*` fields and names
 * the vision tower by hub id; its tower is CLIP ViT-L/14-336, whose numbers are the defaults below.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileError, readRegularFile } from '@adsc/safetensors';

export interface TextConfig {
  hiddenSize: number; // d
  numLayers: number;
  numHeads: number;
  numKvHeads: number; // < numHeads means grouped-query attention
  headDim: number; // d / numHeads unless given
  intermediateSize: number; // m, the SwiGLU width
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
}

export interface VisionConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
  hiddenAct: 'quick_gelu' | 'gelu';
}

export interface LlavaConfig {
  /** Which weight names the checkpoint uses. */
  layout: 'llava-hf' | 'original';
  text: TextConfig;
  vision: VisionConfig;
  imageTokenIndex: number;
  /** Index into the tower's hidden states (0 = embeddings after pre_layrnorm, -1 = last layer). */
  visionFeatureLayer: number;
  /** 'default' drops the CLS token, 'full' keeps it. */
  visionFeatureSelectStrategy: 'default' | 'full';
  projectorHiddenAct: 'gelu';
  /** Original LLaVA pads images to a square ('pad'); llava-hf center-crops. */
  imageAspectRatio: 'pad' | 'crop';
  bosTokenId: number;
  eosTokenIds: number[];
  padTokenId?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly code = 'InvalidConfig',
  ) {
    super(message);
  }
}

/** Patches per image: (image / patch)^2, e.g. (336 / 14)^2 = 576. */
export function numPatches(v: VisionConfig): number {
  return (v.imageSize / v.patchSize) ** 2;
}

/** Image features the projector emits per image (576, or 577 with strategy 'full'). */
export function imageFeatureCount(cfg: LlavaConfig): number {
  return numPatches(cfg.vision) + (cfg.visionFeatureSelectStrategy === 'full' ? 1 : 0);
}

// Defaults from LlamaConfig / CLIPVisionConfig, as llava-hf omits them.
const LLAMA_DEFAULTS = {
  hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, intermediate_size: 11008,
  vocab_size: 32000, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 2048,
};
const CLIP_VISION_DEFAULTS = {
  hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  image_size: 224, patch_size: 32, num_channels: 3, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu',
};
/** CLIP ViT-L/14-336, the tower of every LLaVA-1.5 (the original config only names it). */
const CLIP_VIT_L_336 = {
  hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096,
  image_size: 336, patch_size: 14, num_channels: 3, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu',
};

type Json = Record<string, unknown>;

function field<T>(obj: Json, key: string, fallback: T, source: string, check: (v: unknown) => boolean): T {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (!check(v)) throw new ConfigError(`${source}: field "${key}" has an invalid value ${showValue(v)}`);
  return v as T;
}

/** A JSON value as written; JSON.parse reads 1e400 as Infinity, which JSON.stringify would print as null. */
function showValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v < 0 ? '-' : ''}beyond the range of a double (the file's number reads as ${v})`;
  return JSON.stringify(v);
}

const isPositiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): boolean => Number.isInteger(v);

function textConfig(obj: Json, source: string): TextConfig {
  const int = (k: keyof typeof LLAMA_DEFAULTS) => field(obj, k, LLAMA_DEFAULTS[k], source, isPositiveInt);
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = field(obj, 'num_key_value_heads', numHeads, source, isPositiveInt);
  const headDim = field(obj, 'head_dim', hiddenSize / numHeads, source, isPositiveInt);
  if (!Number.isInteger(headDim)) throw new ConfigError(`${source}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new ConfigError(`${source}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  return {
    hiddenSize,
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int('intermediate_size'),
    vocabSize: int('vocab_size'),
    rmsNormEps: field(obj, 'rms_norm_eps', LLAMA_DEFAULTS.rms_norm_eps, source, isNumber),
    ropeTheta: field(obj, 'rope_theta', LLAMA_DEFAULTS.rope_theta, source, isNumber),
    maxPositions: int('max_position_embeddings'),
  };
}

function visionConfig(obj: Json, defaults: typeof CLIP_VISION_DEFAULTS, source: string): VisionConfig {
  const int = (k: Exclude<keyof typeof CLIP_VISION_DEFAULTS, 'hidden_act' | 'layer_norm_eps'>) =>
    field(obj, k, defaults[k], source, isPositiveInt);
  const v: VisionConfig = {
    hiddenSize: int('hidden_size'),
    numLayers: int('num_hidden_layers'),
    numHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    imageSize: int('image_size'),
    patchSize: int('patch_size'),
    numChannels: int('num_channels'),
    layerNormEps: field(obj, 'layer_norm_eps', defaults.layer_norm_eps, source, isNumber),
    hiddenAct: field(obj, 'hidden_act', defaults.hidden_act, source, (x) => x === 'quick_gelu' || x === 'gelu') as VisionConfig['hiddenAct'],
  };
  if (v.imageSize % v.patchSize !== 0) throw new ConfigError(`${source}: image_size ${v.imageSize} is not a multiple of patch_size ${v.patchSize}`);
  if (v.hiddenSize % v.numHeads !== 0) throw new ConfigError(`${source}: vision hidden_size ${v.hiddenSize} is not divisible by num_attention_heads ${v.numHeads}`);
  return v;
}

function eosList(v: unknown, source: string): number[] {
  if (v === undefined || v === null) return [2];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every(isInt)) throw new ConfigError(`${source}: eos_token_id ${JSON.stringify(v)} is not an integer or a list of integers`);
  return list as number[];
}

/**
 * Parses a config.json object of either layout. `source` (usually the file path) is named in
 * every error.
 */
export function parseConfig(json: unknown, source = 'config.json'): LlavaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${source}: not a JSON object`);
  const obj = json as Json;
  const nested = typeof obj.text_config === 'object' && obj.text_config !== null;
  const original = !nested && ('mm_vision_tower' in obj || 'mm_projector_type' in obj || 'mm_hidden_size' in obj);
  if (!nested && !original && obj.model_type !== 'llava') {
    throw new ConfigError(`${source}: neither a llava-hf config (text_config / vision_config) nor an original LLaVA config (mm_* fields)`);
  }
  if (nested || obj.model_type === 'llava') {
    const text = (obj.text_config ?? {}) as Json;
    // LlavaConfig builds CLIP ViT-L/14-336 when vision_config is absent; a given dict falls back
    // field by field to CLIPVisionConfig's own defaults.
    const visionGiven = typeof obj.vision_config === 'object' && obj.vision_config !== null;
    const vision = (visionGiven ? obj.vision_config : {}) as Json;
    const act = field(obj, 'projector_hidden_act', 'gelu', source, (x) => x === 'gelu');
    return {
      layout: 'llava-hf',
      text: textConfig(text, `${source} text_config`),
      vision: visionConfig(vision, visionGiven ? CLIP_VISION_DEFAULTS : CLIP_VIT_L_336, `${source} vision_config`),
      imageTokenIndex: field(obj, 'image_token_index', 32000, source, isInt),
      visionFeatureLayer: field(obj, 'vision_feature_layer', -2, source, isInt),
      visionFeatureSelectStrategy: field(obj, 'vision_feature_select_strategy', 'default', source, (x) => x === 'default' || x === 'full'),
      projectorHiddenAct: act as 'gelu',
      imageAspectRatio: 'crop',
      bosTokenId: field(text, 'bos_token_id', field(obj, 'bos_token_id', 1, source, isInt), `${source} text_config`, isInt),
      eosTokenIds: eosList(text.eos_token_id ?? obj.eos_token_id, source),
      padTokenId: field<number | undefined>(obj, 'pad_token_id', field<number | undefined>(text, 'pad_token_id', undefined, `${source} text_config`, isInt), source, isInt),
    };
  }
  const projector = field(obj, 'mm_projector_type', 'mlp2x_gelu', source, (x) => x === 'mlp2x_gelu');
  if (projector !== 'mlp2x_gelu') throw new ConfigError(`${source}: mm_projector_type ${projector} is not supported`);
  const tower = (obj.vision_config ?? {}) as Json; // not in the original files; allowed for tiny test models
  return {
    layout: 'original',
    text: textConfig(obj, source),
    vision: visionConfig(tower, CLIP_VIT_L_336, `${source} vision tower`),
    imageTokenIndex: field(obj, 'image_token_index', -200, source, isInt),
    visionFeatureLayer: field(obj, 'mm_vision_select_layer', -2, source, isInt),
    visionFeatureSelectStrategy: field(obj, 'mm_vision_select_feature', 'patch', source, (x) => x === 'patch' || x === 'cls_patch') === 'patch' ? 'default' : 'full',
    projectorHiddenAct: 'gelu',
    imageAspectRatio: field(obj, 'image_aspect_ratio', 'pad', source, (x) => typeof x === 'string') === 'pad' ? 'pad' : 'crop',
    bosTokenId: field(obj, 'bos_token_id', 1, source, isInt),
    eosTokenIds: eosList(obj.eos_token_id, source),
    padTokenId: field<number | undefined>(obj, 'pad_token_id', undefined, source, isInt),
  };
}

/**
 * Reads DIR/config.json, and the eos ids of DIR/generation_config.json when present (they win:
 * that is what generation uses).
 */
export function readConfig(dir: string): LlavaConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(`${path}: not found`);
  const cfg = parseConfig(readJsonFile(path), path);
  const genPath = join(dir, 'generation_config.json');
  if (existsSync(genPath)) {
    const gen = readJsonFile(genPath) as Json;
    if (gen.eos_token_id !== undefined) cfg.eosTokenIds = eosList(gen.eos_token_id, genPath);
    if (typeof gen.bos_token_id === 'number') cfg.bosTokenId = gen.bos_token_id;
  }
  return cfg;
}

/** The largest JSON file read (config, preprocessor, tokenizer): a Llama tokenizer.json is ~2 MB. */
export const MAX_JSON_FILE_BYTES = 64 * 2 ** 20;

/**
 * Parses the JSON file `path` (a regular file of at most `maxBytes`); a missing, unreadable or
 * malformed file is a ConfigError naming it.
 */
export function readJsonFile(path: string, maxBytes = MAX_JSON_FILE_BYTES): unknown {
  let text: string;
  try {
    text = readRegularFile(path, maxBytes).toString('utf8');
  } catch (e) {
    if (e instanceof FileError) throw new ConfigError(e.message, e.code);
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Built-in configs (no weights) for accounting: the published llava-hf configs, defaults filled. */
export const PRESETS: Record<string, LlavaConfig> = {
  'llava-1.5-7b': parseConfig(
    {
      model_type: 'llava', image_token_index: 32000, pad_token_id: 32001, projector_hidden_act: 'gelu',
      vision_feature_layer: -2, vision_feature_select_strategy: 'default', tie_word_embeddings: false,
      text_config: { model_type: 'llama', vocab_size: 32064, rms_norm_eps: 1e-5, max_position_embeddings: 4096 },
      vision_config: { ...CLIP_VIT_L_336, projection_dim: 768 },
    },
    'preset llava-1.5-7b',
  ),
  'llava-1.5-13b': parseConfig(
    {
      model_type: 'llava', image_token_index: 32000, pad_token_id: 32001, projector_hidden_act: 'gelu',
      vision_feature_layer: -2, vision_feature_select_strategy: 'default',
      text_config: {
        model_type: 'llama', hidden_size: 5120, intermediate_size: 13824, num_attention_heads: 40,
        num_hidden_layers: 40, vocab_size: 32064, rms_norm_eps: 1e-5, max_position_embeddings: 4096,
      },
      vision_config: { ...CLIP_VIT_L_336, projection_dim: 768 },
    },
    'preset llava-1.5-13b',
  ),
};

/** A preset name or a model directory. */
export function resolveConfig(nameOrDir: string): LlavaConfig {
  return PRESETS[nameOrDir] ?? readConfig(nameOrDir);
}
