/**
 * The limits on every size a user controls, checked before the work (and the memory) it sizes.
 *
 * A 68-byte PNG can claim to be 20000 x 20000, a preprocessor_config.json can ask for a 20000-pixel
 * crop, a prompt can be longer than the model's positions, and a checkpoint can be larger than the
 * machine: each of these used to be found out (if at all) by running out of memory. Every check
 * here looks only at numbers already known (a file's header, a config, a token count) and throws a
 * coded error naming the file or flag at fault, the number asked for and the limit. The defaults
 * and how to lift each one are listed in docs/limits.md.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { environmentVariable } from '@adsc/core';
import type { LlavaConfig } from './config.js';
import { imageFeatureCount, numPatches } from './config.js';
import type { PreprocessorConfig } from './preprocess.js';

/** A limit was exceeded; `code` says which (ImageTooLarge, ContextTooLong, InsufficientMemory, ...). */
export class LimitError extends Error {
  override name = 'LimitError';
  constructor(
    readonly code: 'ImageTooLarge' | 'ContextTooLong' | 'InsufficientMemory' | 'PreprocessorMismatch' | 'InvalidLimit' | 'InvalidSize',
    message: string,
  ) {
    super(message);
  }
}

// -- images ---------------------------------------------------------------------------------------

/**
 * PIL's decompression-bomb limit, Image.MAX_IMAGE_PIXELS = int(1024 * 1024 * 1024 // 4 // 3):
 * about a 9459 x 9459 image, 268 MB as 8-bit RGB. PIL warns above it and refuses above twice it;
 * this project refuses above it.
 */
export const PIL_MAX_IMAGE_PIXELS = 89_478_485;

/** The pixel limit in force: ADSC_MAX_IMAGE_PIXELS when set (a plain decimal integer), else PIL's. */
export function maxImagePixels(): number {
  return envLimit('ADSC_MAX_IMAGE_PIXELS') ?? PIL_MAX_IMAGE_PIXELS;
}

/**
 * Refuses an image of width x height pixels above the pixel limit (or not a positive size), before
 * anything of that size is allocated. `file` names the image (or record) in the error.
 */
export function checkImageDimensions(width: number, height: number, file: string, maxPixels = maxImagePixels()): void {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new LimitError('InvalidSize', `${file}: image size ${width} x ${height} is not a positive integer size`);
  }
  if (width * height > maxPixels) {
    throw new LimitError(
      'ImageTooLarge',
      `${file}: ${width} x ${height} = ${width * height} pixels, more than the limit of ${maxPixels} (PIL's decompression-bomb limit; set ADSC_MAX_IMAGE_PIXELS to raise it)`,
    );
  }
}

/**
 * The resize a preprocessor may ask for, as a multiple of the tower's image size: CLIP-style
 * processors resize a little above the crop (256 for a 224 crop), never to many times it.
 */
export const MAX_RESIZE_FACTOR = 2;

/**
 * Refuses a preprocessor whose output cannot be the tower's imageSize x imageSize pixels, or whose
 * resize asks for more than MAX_RESIZE_FACTOR times that; `file` names the preprocessor config.
 */
export function checkPreprocessorSizes(pre: PreprocessorConfig, imageSize: number, file: string): void {
  const mismatch = (detail: string): never => {
    throw new LimitError('PreprocessorMismatch', `${file}: ${detail}`);
  };
  const { height, width } = pre.crop_size;
  if (pre.do_center_crop && (height !== imageSize || width !== imageSize)) {
    mismatch(`crop_size ${height} x ${width} does not match the vision tower's image_size ${imageSize}`);
  }
  if (!pre.do_center_crop) {
    if (!pre.do_resize || 'shortest_edge' in pre.size) mismatch(`without do_center_crop, size must be {height: ${imageSize}, width: ${imageSize}} (the vision tower's image_size)`);
    const size = pre.size as { height: number; width: number };
    if (size.height !== imageSize || size.width !== imageSize) mismatch(`size ${size.height} x ${size.width} does not match the vision tower's image_size ${imageSize}`);
  }
  if (pre.do_resize) {
    const edges = 'shortest_edge' in pre.size ? [pre.size.shortest_edge] : [pre.size.height, pre.size.width];
    const largest = Math.max(...edges);
    if (largest > MAX_RESIZE_FACTOR * imageSize) {
      mismatch(`size ${largest} is more than ${MAX_RESIZE_FACTOR} x the vision tower's image_size ${imageSize}`);
    }
  }
}

// -- context --------------------------------------------------------------------------------------

/**
 * The decoder positions a prompt of `ids` takes once the image is spliced in: one image token
 * becomes the image's features (576 for LLaVA-1.5); ids already expanded by a processor count as
 * they are.
 */
export function promptPositions(ids: readonly number[], cfg: LlavaConfig, withImage: boolean): number {
  const slots = ids.reduce((n, id) => n + (id === cfg.imageTokenIndex ? 1 : 0), 0);
  return withImage && slots === 1 ? ids.length - 1 + imageFeatureCount(cfg) : ids.length;
}

/**
 * Refuses a prompt of `promptTokens` positions plus `maxNewTokens` generated ones that would run
 * past the model's max_position_embeddings (RoPE was trained on no more); `source` names the model.
 */
export function checkContext(promptTokens: number, maxNewTokens: number, cfg: LlavaConfig, source: string): void {
  const limit = cfg.text.maxPositions;
  if (promptTokens + maxNewTokens > limit) {
    throw new LimitError(
      'ContextTooLong',
      `${source}: ${promptTokens} prompt positions + ${maxNewTokens} new tokens = ${promptTokens + maxNewTokens}, ` +
        `past the model's max_position_embeddings ${limit}`,
    );
  }
}

// -- threads --------------------------------------------------------------------------------------

/**
 * The thread count to use for a request of `requested`: at most the cores the process may use
 * (more threads than cores only add contention: 1,000 workers took 150 s and 4 GB for a 2 s job).
 * `note` says what was changed, when something was.
 */
export function cappedThreads(requested: number, cores = availableParallelism()): { threads: number; note?: string } {
  if (requested <= cores) return { threads: requested };
  return { threads: cores, note: `--threads ${requested} is more than the ${cores} cores this process may use; using ${cores}` };
}

// -- memory ---------------------------------------------------------------------------------------

/** What running a model will hold at its peak, in bytes. */
export interface MemoryPlan {
  /** The checkpoint's tensors, in their stored dtypes (they are not converted on load). */
  weights: number;
  /** Keys and values (f32) of every decoder layer for `contextTokens`, with the 1.5x growth slack. */
  kvCache: number;
  /** The largest set of activations alive at once (one decoder or vision layer's, see below). */
  activations: number;
  total: number;
  contextTokens: number;
}

/**
 * The memory plan of `cfg` with `weightBytes` of weights (the sum of the checkpoint headers'
 * tensor sizes) for a context of `contextTokens` positions.
 *
 * Activations are those of the widest layer: a decoder layer holds its input and output [T, d], q,
 * k, v, the attention output, and either the attention probabilities [H, T, T] (the reference
 * attention, which FastV layers need) or the MLP's three [T, m] (gate, up, product), f32 each; the
 * vision tower's layer the same at its width over P + 1 tokens; the logits [V] are counted once.
 */
export function planMemory(cfg: LlavaConfig, weightBytes: number, contextTokens: number): MemoryPlan {
  const f32 = 4;
  const t = cfg.text;
  const T = contextTokens;
  const kvCache = Math.ceil(1.5 * 2 * t.numLayers * t.numKvHeads * t.headDim * T * f32);
  const decoderLayer = (4 * T * t.hiddenSize + 2 * T * t.numKvHeads * t.headDim + Math.max(t.numHeads * T * T, 3 * T * t.intermediateSize)) * f32;
  const v = cfg.vision;
  const P = numPatches(v) + 1;
  const visionLayer = (6 * P * v.hiddenSize + Math.max(v.numHeads * P * P, 2 * P * v.intermediateSize)) * f32;
  const activations = Math.max(decoderLayer, visionLayer) + t.vocabSize * f32;
  return { weights: weightBytes, kvCache, activations, total: weightBytes + kvCache + activations, contextTokens };
}

/** The memory this process may use, and where that number comes from. */
export interface MemoryBudget {
  bytes: number;
  source: string;
}

/**
 * The smallest of: the machine's memory (os.totalmem()), the cgroup's limit where one applies
 * (v2 memory.max, v1 memory.limit_in_bytes), and ADSC_MEMORY_LIMIT when set (bytes).
 */
export function availableMemory(): MemoryBudget {
  let budget: MemoryBudget = { bytes: totalmem(), source: 'os.totalmem()' };
  const consider = (bytes: number | undefined, source: string) => {
    if (bytes !== undefined && bytes > 0 && bytes < budget.bytes) budget = { bytes, source };
  };
  consider(readLimitFile('/sys/fs/cgroup/memory.max'), 'the cgroup limit (memory.max)');
  consider(readLimitFile('/sys/fs/cgroup/memory/memory.limit_in_bytes'), 'the cgroup limit (memory.limit_in_bytes)');
  consider(envLimit('ADSC_MEMORY_LIMIT'), 'ADSC_MEMORY_LIMIT');
  return budget;
}

/**
 * Refuses a plan larger than the budget, with both numbers and what to do; `source` names the
 * model. Callers skip this when the user forces the load (--force).
 */
export function checkMemoryPlan(plan: MemoryPlan, budget: MemoryBudget, source: string): void {
  if (plan.total <= budget.bytes) return;
  throw new LimitError(
    'InsufficientMemory',
    `${source}: needs about ${formatBytes(plan.total)} (weights ${formatBytes(plan.weights)}, KV cache ${formatBytes(plan.kvCache)} for ${plan.contextTokens} positions, ` +
      `activations ${formatBytes(plan.activations)}) but ${budget.source} allows ${formatBytes(budget.bytes)}; --force loads it anyway`,
  );
}

/** Bytes in binary units with three significant digits ("13.5 GiB"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A cgroup limit file's number; undefined when absent, unreadable or "max". */
function readLimitFile(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d{1,19}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** An environment variable holding a positive decimal integer (unset: undefined; malformed: refused). */
function envLimit(name: string): number | undefined {
  const text = environmentVariable(name);
  if (text === undefined || text === '') return undefined;
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new LimitError('InvalidLimit', `${name} must be a positive decimal integer, got ${JSON.stringify(text)}`);
  return Number(text);
}
