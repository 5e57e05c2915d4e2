/**
 * LoRA adapters on disk, in Hugging Face PEFT's format, so that PEFT's
 * `PeftModel.from_pretrained(base, dir)` loads what we train and we load what it trains.
 *
 * A directory holds two files:
 * - adapter_config.json: `peft_type` "LORA", `r`, `lora_alpha`, `lora_dropout`, `target_modules`,
 *   `bias` "none", `task_type` "CAUSAL_LM", `base_model_name_or_path`, `fan_in_fan_out` false,
 *   `inference_mode` true, and our own `adsc_schedule` when the adapter was trained under one
 *   (PEFT releases since early 2024 drop keys they do not know; older ones refuse them).
 * - adapter_model.safetensors: per adapted linear layer `base_model.model.<module path>.lora_A.weight`
 *   [r, in] and `.lora_B.weight` [out, r] (PEFT strips the adapter name "default" on save), with
 *   PEFT's header metadata {"format": "pt"}.
 *
 * The layer computes y = W x + (lora_alpha / r) * B (A x).
 *
 * Saving writes both files under temporary names, then renames each over its target, so a save
 * that fails while writing leaves the previous adapter as it was. The tensors file also records a
 * SHA-256 of the config it was written with: if a crash lands between the two renames and the
 * config changed, loading says the two files are from different saves instead of mixing them.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatShape, mulberry32, tensor, type Tensor } from '@adsc/core';
import { SafetensorsFile, save, type SafetensorsEntries } from '@adsc/safetensors';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** PEFT's prefix for a model wrapped by PeftModelForCausalLM: PeftModel.base_model (LoraModel).model. */
const NAME_PREFIX = 'base_model.model.';
const CONFIG_HASH_KEY = 'adsc_config_sha256';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** Module names as PEFT matches them: a module is adapted when its path is, or ends with ".", one of these. */
  targetModules: string[];
  baseModelNameOrPath: string | null;
  /** The ADSC schedule the adapter was trained under (our own key, "adsc_schedule"). */
  adscSchedule?: string;
}

export interface LoraModule {
  /** [r, in] */
  a: Tensor;
  /** [out, r] */
  b: Tensor;
}

export interface LoraAdapterFile {
  config: LoraConfig;
  /** By module path inside the base model, e.g. "language_model.model.layers.0.self_attn.q_proj". */
  modules: Map<string, LoraModule>;
}

export class AdapterError extends Error {
  override name = 'AdapterError';
}

/** Writes `adapter` to `dir` (created if missing), replacing an adapter already there atomically per file. */
export function saveAdapter(dir: string, adapter: LoraAdapterFile): void {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  checkConfig(configPath, adapter.config);
  const tensors: Record<string, Tensor> = {};
  for (const [path, module] of adapter.modules) {
    checkModule(weightsPath, adapter.config, path, module.a.shape, module.b.shape);
    tensors[`${NAME_PREFIX}${path}.lora_A.weight`] = module.a.to('f32');
    tensors[`${NAME_PREFIX}${path}.lora_B.weight`] = module.b.to('f32');
  }
  const configText = `${JSON.stringify(peftConfigJson(adapter.config), null, 2)}\n`;

  mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const weightsTemporary = join(dir, `.${ADAPTER_WEIGHTS_FILE}.${tag}.tmp`);
  const configTemporary = join(dir, `.${ADAPTER_CONFIG_FILE}.${tag}.tmp`);
  try {
    save(weightsTemporary, tensors, { format: 'pt', [CONFIG_HASH_KEY]: sha256(configText) });
    writeDurably(configTemporary, configText);
    renameSync(weightsTemporary, weightsPath);
    renameSync(configTemporary, configPath);
  } finally {
    rmSync(weightsTemporary, { force: true });
    rmSync(configTemporary, { force: true });
  }
}

/** Reads and validates the adapter in `dir`; the tensors come back as f32. */
export function loadAdapter(dir: string): LoraAdapterFile {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(configPath)) throw new AdapterError(`${configPath}: not found (is ${dir} a PEFT adapter directory?)`);
  if (!existsSync(weightsPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin')) ? ' (only adapter_model.bin is there: save it with safe_serialization=True)' : '';
    throw new AdapterError(`${weightsPath}: not found${bin}`);
  }
  const configText = readFileSync(configPath, 'utf8');
  const file = SafetensorsFile.open(weightsPath);
  try {
    const recorded = file.metadata[CONFIG_HASH_KEY];
    if (recorded !== undefined && recorded !== sha256(configText)) {
      throw new AdapterError(`${weightsPath}: written with another ${ADAPTER_CONFIG_FILE} than the one beside it (an interrupted save?)`);
    }
    return parseAdapter(configText, file, configPath, weightsPath);
  } finally {
    file.close();
  }
}

/**
 * An adapter from the text of its adapter_config.json and its weights file, opened from disk or
 * held in memory (a browser's fetch: SafetensorsBytes), validated as `loadAdapter` does except
 * for the check that the two files come from one save (its SHA-256 needs Node's crypto). The paths
 * name the files in errors. Tensors come back as f32.
 */
export function parseAdapter(configText: string, weights: SafetensorsEntries, configPath = ADAPTER_CONFIG_FILE, weightsPath = ADAPTER_WEIGHTS_FILE): LoraAdapterFile {
  const config = parseConfig(configPath, configText);
  const halves = new Map<string, { a?: string; b?: string }>();
  for (const name of weights.names()) {
    const match = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(name);
    if (match === null) {
      throw new AdapterError(`${weightsPath}, tensor "${name}": not a LoRA weight (expected ${NAME_PREFIX}<module>.lora_A.weight or .lora_B.weight)`);
    }
    const entry = halves.get(match[1]) ?? {};
    entry[match[2] === 'A' ? 'a' : 'b'] = name;
    halves.set(match[1], entry);
  }
  const modules = new Map<string, LoraModule>();
  for (const [path, { a, b }] of halves) {
    if (a === undefined || b === undefined) {
      const [have, lacking] = a === undefined ? ['lora_B', 'lora_A'] : ['lora_A', 'lora_B'];
      throw new AdapterError(`${weightsPath}, tensor "${a ?? b}": module "${path}" has ${have} but no ${lacking}`);
    }
    checkModule(weightsPath, config, path, weights.info(a).shape, weights.info(b).shape);
    modules.set(path, { a: weights.tensor(a).to('f32'), b: weights.tensor(b).to('f32') });
  }
  return { config, modules };
}

/**
 * A fresh LoRA A [r, inFeatures] as PEFT initialises it: torch's kaiming_uniform_(A, a=sqrt(5)).
 * That draws U(-bound, bound) with gain = sqrt(2 / (1 + a^2)) = sqrt(2 / 6) = sqrt(1/3),
 * std = gain / sqrt(fan_in) and bound = sqrt(3) * std = sqrt(3) * sqrt(1/3) / sqrt(fan_in)
 * = 1 / sqrt(inFeatures) (fan_in of an [r, in] weight is in). Seeded mulberry32, not torch's stream.
 * B starts at zeros([out, r]), so a new adapter leaves the model unchanged.
 */
export function initLoraA(inFeatures: number, r: number, seed: number): Tensor {
  for (const [name, v] of [['inFeatures', inFeatures], ['r', r]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`initLoraA: ${name} must be an integer >= 1, not ${v}`);
  }
  const bound = 1 / Math.sqrt(inFeatures);
  const uniform = mulberry32(seed);
  const values = new Float32Array(r * inFeatures);
  for (let i = 0; i < values.length; i++) values[i] = (2 * uniform() - 1) * bound;
  return tensor(values, [r, inFeatures]);
}

function peftConfigJson(config: LoraConfig): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: config.r,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    target_modules: config.targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    base_model_name_or_path: config.baseModelNameOrPath,
    ...(config.adscSchedule === undefined ? {} : { adsc_schedule: config.adscSchedule }),
  };
}

/**
 * The config of an adapter_config.json. Keys this project cannot honour are refused rather than
 * ignored, since ignoring them would compute a different layer than PEFT does.
 */
function parseConfig(path: string, text: string): LoraConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AdapterError(`${path}: not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AdapterError(`${path}: must hold a JSON object`);
  if (raw.peft_type !== 'LORA') throw new AdapterError(`${path}: field "peft_type" is ${JSON.stringify(raw.peft_type)}, only "LORA" is supported`);
  const unsupported: Array<[string, unknown]> = [
    ['bias', 'none'], ['fan_in_fan_out', false], ['use_rslora', false], ['use_dora', false],
  ];
  for (const [key, supported] of unsupported) {
    if (raw[key] !== undefined && raw[key] !== supported) {
      throw new AdapterError(`${path}: field "${key}" is ${JSON.stringify(raw[key])}, only ${JSON.stringify(supported)} is supported`);
    }
  }
  for (const key of ['rank_pattern', 'alpha_pattern']) {
    const v = raw[key];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Object.keys(v).length > 0)) {
      throw new AdapterError(`${path}: field "${key}" (per-module ranks) is not supported`);
    }
  }
  const targets = raw.target_modules;
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => typeof t === 'string' && t !== '')) {
    throw new AdapterError(`${path}: field "target_modules" must be a non-empty list of module names (a regex string is not supported)`);
  }
  const base = raw.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== 'string') throw new AdapterError(`${path}: field "base_model_name_or_path" must be a string or null`);
  const schedule = raw.adsc_schedule;
  if (schedule !== undefined && schedule !== null && typeof schedule !== 'string') throw new AdapterError(`${path}: field "adsc_schedule" must be a string`);
  const config: LoraConfig = {
    r: raw.r as number,
    loraAlpha: raw.lora_alpha as number,
    loraDropout: (raw.lora_dropout ?? 0) as number,
    targetModules: targets as string[],
    baseModelNameOrPath: base,
    ...(typeof schedule === 'string' ? { adscSchedule: schedule } : {}),
  };
  checkConfig(path, config);
  return config;
}

function checkConfig(path: string, config: LoraConfig): void {
  if (!Number.isSafeInteger(config.r) || config.r < 1) throw new AdapterError(`${path}: field "r" must be an integer >= 1, not ${JSON.stringify(config.r)}`);
  if (typeof config.loraAlpha !== 'number' || !Number.isFinite(config.loraAlpha)) {
    throw new AdapterError(`${path}: field "lora_alpha" must be a number, not ${JSON.stringify(config.loraAlpha)}`);
  }
  if (typeof config.loraDropout !== 'number' || !(config.loraDropout >= 0 && config.loraDropout < 1)) {
    throw new AdapterError(`${path}: field "lora_dropout" must be a number in [0, 1), not ${JSON.stringify(config.loraDropout)}`);
  }
  if (config.targetModules.length === 0) throw new AdapterError(`${path}: field "target_modules" must not be empty`);
}

/** A module's A [r, in] and B [out, r] against the config's r, and its path against target_modules. */
function checkModule(path: string, config: LoraConfig, module: string, a: readonly number[], b: readonly number[]): void {
  const where = `${path}, tensor "${NAME_PREFIX}${module}`;
  if (a.length !== 2 || a[0] !== config.r) throw new AdapterError(`${where}.lora_A.weight": shape ${formatShape(a)}, expected [r = ${config.r}, in]`);
  if (b.length !== 2 || b[1] !== config.r) throw new AdapterError(`${where}.lora_B.weight": shape ${formatShape(b)}, expected [out, r = ${config.r}]`);
  if (!config.targetModules.some((target) => module === target || module.endsWith(`.${target}`))) {
    throw new AdapterError(`${where}.lora_A.weight": module "${module}" matches none of target_modules ${JSON.stringify(config.targetModules)}`);
  }
}

/** Writes `text` to the new file `path` and flushes it to disk before returning. */
function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
