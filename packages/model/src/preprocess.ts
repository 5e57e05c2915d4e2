/**
 * Image preprocessing for the CLIP vision tower: Hugging Face's CLIPImageProcessor, as used by
 * llava-hf/llava-1.5-7b-hf, and the original LLaVA's "pad" mode in front of it.
 *
 * The numbers must match transformers bit for bit, so every step is reproduced with the arithmetic
 * transformers actually runs:
 *   1. resize so the shortest edge is `size.shortest_edge`, long edge int(edge * long / short)
 *      (get_resize_output_image_size, default_to_square=False), with PIL's 8-bit bicubic resampling
 *      (`resizeBicubic` below reproduces Pillow's fixed-point convolution exactly);
 *   2. center crop with top = (h - ch) // 2, left = (w - cw) // 2, zero-padding an image smaller
 *      than the crop (image_transforms.center_crop);
 *   3. rescale: float32(float64(pixel) * rescale_factor) (image_transforms.rescale);
 *   4. normalize: float32((x - float32(mean)) / float32(std)) (image_transforms.normalize);
 *   5. channels first: [3, H, W].
 * Steps 3-5 depend on one byte per value, so they run as a 256-entry table per channel.
 *
 * "pad" mode (LLaVA's expand2square, image_aspect_ratio "pad" in liuhaotian/llava-v1.5-7b): paste
 * the image centred on a square canvas filled with int(mean * 255) = (122, 116, 104), then steps
 * 1-5; the square is resized to 336x336 and the crop keeps everything.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, allocate } from '@adsc/core';
import { ConfigError, readJsonFile } from './config.js';
import { checkRgbImage, createRgbImage, type RgbImage } from './image.js';
import { checkImageDimensions, checkPreprocessorSizes } from './limits.js';

// -- configuration ----------------------------------------------------------------------------------

/** The fields of preprocessor_config.json that CLIPImageProcessor reads, normalised. */
export interface PreprocessorConfig {
  do_resize: boolean;
  /** Resize target: the shortest edge (aspect kept), or an exact size. */
  size: { shortest_edge: number } | { height: number; width: number };
  /** PIL resampling filter id; only 3 (bicubic) is supported. */
  resample: number;
  do_center_crop: boolean;
  crop_size: { height: number; width: number };
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: [number, number, number];
  image_std: [number, number, number];
  /** Always satisfied: decodeImage already returns RGB. Kept so a parsed config round-trips. */
  do_convert_rgb: boolean;
}

/** llava-hf/llava-1.5-7b-hf's preprocessor_config.json; missing fields of a parsed file take these. */
export const LLAVA_PREPROCESSOR_CONFIG: Readonly<PreprocessorConfig> = Object.freeze<PreprocessorConfig>({
  do_resize: true,
  size: { shortest_edge: 336 },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 336, width: 336 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  do_convert_rgb: true,
});

const BICUBIC = 3;

/**
 * Validates a parsed preprocessor_config.json (any extra fields are ignored) and fills in the
 * llava-hf defaults. `source` (a file name) goes into error messages. Accepts the older forms
 * `size: 336` (shortest edge), `crop_size: 336` (square) and a single number for mean or std.
 */
export function parsePreprocessorConfig(raw: unknown, source = 'preprocessor config'): PreprocessorConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const d = LLAVA_PREPROCESSOR_CONFIG;
  const fail = (field: string, why: string): never => {
    throw new ConfigError(`${source}: ${field} ${why}, got ${JSON.stringify(r[field])}`);
  };
  const bool = (field: string, dflt: boolean): boolean => {
    if (r[field] === undefined) return dflt;
    return typeof r[field] === 'boolean' ? r[field] : fail(field, 'must be true or false');
  };
  const positive = (field: string, v: unknown, integer: boolean): number => {
    if (typeof v === 'number' && Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v))) return v;
    return fail(field, `must hold ${integer ? 'positive integers' : 'positive numbers'}`);
  };
  const triple = (field: string, dflt: readonly number[]): [number, number, number] => {
    const v = r[field];
    if (v === undefined) return [dflt[0], dflt[1], dflt[2]];
    if (typeof v === 'number') return [v, v, v].map((x) => positive(field, x, false)) as [number, number, number];
    if (!Array.isArray(v) || v.length !== 3) return fail(field, 'must be a number or a list of 3 numbers');
    return v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : fail(field, 'must hold finite numbers'))) as [number, number, number];
  };
  const hw = (field: string, v: Record<string, unknown>) => ({
    height: positive(field, v.height, true),
    width: positive(field, v.width, true),
  });

  let size: PreprocessorConfig['size'] = { ...d.size };
  const rs = r.size;
  if (typeof rs === 'number') size = { shortest_edge: positive('size', rs, true) };
  else if (rs !== undefined) {
    if (rs === null || typeof rs !== 'object') fail('size', 'must be a number or an object');
    const o = rs as Record<string, unknown>;
    if (o.shortest_edge !== undefined) size = { shortest_edge: positive('size', o.shortest_edge, true) };
    else if (o.height !== undefined && o.width !== undefined) size = hw('size', o);
    else fail('size', "must have 'shortest_edge' or 'height' and 'width'");
  }

  let crop_size = { ...d.crop_size };
  const rc = r.crop_size;
  if (typeof rc === 'number') crop_size = { height: positive('crop_size', rc, true), width: rc };
  else if (rc !== undefined) {
    if (rc === null || typeof rc !== 'object') fail('crop_size', 'must be a number or an object');
    crop_size = hw('crop_size', rc as Record<string, unknown>);
  }

  const resample = r.resample === undefined ? d.resample : r.resample;
  if (resample !== BICUBIC) fail('resample', 'is not supported (only 3, PIL bicubic)');
  const rescale_factor = r.rescale_factor === undefined ? d.rescale_factor : positive('rescale_factor', r.rescale_factor, false);
  const image_std = triple('image_std', d.image_std);
  if (image_std.some((s) => s === 0)) fail('image_std', 'must not contain 0');

  return {
    do_resize: bool('do_resize', d.do_resize),
    size,
    resample: BICUBIC,
    do_center_crop: bool('do_center_crop', d.do_center_crop),
    crop_size,
    do_rescale: bool('do_rescale', d.do_rescale),
    rescale_factor,
    do_normalize: bool('do_normalize', d.do_normalize),
    image_mean: triple('image_mean', d.image_mean),
    image_std,
    do_convert_rgb: bool('do_convert_rgb', d.do_convert_rgb),
  };
}

/**
 * Reads `<dir>/preprocessor_config.json`; a missing file gives the llava-hf defaults (the original
 * LLaVA checkpoints ship none), a malformed one an error naming the file.
 */
export function readPreprocessorConfig(dir: string, imageSize = 336): PreprocessorConfig {
  const file = join(dir, 'preprocessor_config.json');
  if (!existsSync(file)) return preprocessorFor(imageSize);
  const config = parsePreprocessorConfig(readJsonFile(file), file);
  checkPreprocessorSizes(config, imageSize, file);
  return config;
}

/** llava-hf's processing at a tower's own resolution (what a directory without the file gets). */
export function preprocessorFor(imageSize: number): PreprocessorConfig {
  return parsePreprocessorConfig({ size: { shortest_edge: imageSize }, crop_size: { height: imageSize, width: imageSize } }, `defaults for ${imageSize} px`);
}

// -- geometry ---------------------------------------------------------------------------------------

/**
 * The size transformers resizes to for `{shortest_edge: edge}`: the short side becomes `edge`, the
 * long side int(edge * long / short) (truncated, as get_resize_output_image_size does).
 */
export function shortestEdgeSize(width: number, height: number, edge: number): { width: number; height: number } {
  if (width <= height) return { width: edge, height: Math.trunc((edge * height) / width) };
  return { width: Math.trunc((edge * width) / height), height: edge };
}

/**
 * Center crop to width x height: the source offset is floor((in - out) / 2) on each axis; where
 * the image is smaller than the crop it is placed at ceil((out - in) / 2) on black, as
 * transformers' center_crop pads it (the same offset, negated).
 */
export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(img, 'centerCrop');
  const out = createRgbImage(width, height);
  const top = Math.floor((img.height - height) / 2);
  const left = Math.floor((img.width - width) / 2);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, img.width - left);
  for (let y = Math.max(0, -top); y < Math.min(height, img.height - top); y++) {
    const from = ((y + top) * img.width + left + x0) * 3;
    out.data.set(img.data.subarray(from, from + (x1 - x0) * 3), (y * width + x0) * 3);
  }
  return out;
}

/** The original LLaVA's pad colour: int(mean * 255) per channel, (122, 116, 104) for CLIP's mean. */
export function padColor(mean: readonly number[]): [number, number, number] {
  return [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
}

/**
 * LLaVA's expand2square: a max(w, h)-sided square of `background` with the image pasted at
 * ((side - w) // 2, (side - h) // 2). A square image is returned as it is.
 */
export function expandToSquare(img: RgbImage, background: readonly [number, number, number] = [122, 116, 104]): RgbImage {
  checkRgbImage(img, 'expandToSquare');
  if (img.width === img.height) return img;
  const side = Math.max(img.width, img.height);
  const out = createRgbImage(side, side, background);
  const left = (side - img.width) >> 1;
  const top = (side - img.height) >> 1;
  for (let y = 0; y < img.height; y++) {
    out.data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + top) * side + left) * 3);
  }
  return out;
}

// -- PIL-exact bicubic resampling ---------------------------------------------------------------------
//
// Pillow resamples 8-bit images as two separable passes (horizontal into a temporary image, then
// vertical), each with per-output-pixel integer weights:
// - output pixel i covers input centre c = (i + 0.5) * scale, scale = in / out;
// - when shrinking, the kernel is stretched by scale (antialiasing): support = 2 * max(scale, 1);
// - taps run from trunc(c - support + 0.5) to trunc(c + support + 0.5), clipped to the image;
//   tap j weighs bicubic((j - c + 0.5) / max(scale, 1)), a = -0.5, and the weights are divided by
//   their sum;
// - weights become fixed point with 22 fractional bits (32 - 8 - 2: 8 for the pixel, 2 spare for
//   the negative lobes' overshoot), rounded half away from zero;
// - each output is (2^21 + sum(pixel * weight)) >> 22, clipped to 0..255.

/** Keys' cubic convolution kernel with a = -0.5, written as Pillow evaluates it. */
function bicubic(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * -0.5;
  return 0;
}

/** Integer weights for resampling an axis of inSize samples to outSize. */
interface AxisWeights {
  /** First input index of output i: start[i]; number of taps: count[i]. */
  start: Int32Array;
  count: Int32Array;
  /** Weights of output i at [i * taps, i * taps + count[i]), fixed point 2^22. */
  weights: Int32Array;
  taps: number;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - lo;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      w[j] = bicubic((j + lo - center + 0.5) * invFilterScale);
      sum += w[j];
    }
    for (let j = 0; j < n; j++) {
      const v = sum !== 0 ? w[j] / sum : w[j];
      weights[i * taps + j] = v < 0 ? Math.trunc(-0.5 + v * 4194304) : Math.trunc(0.5 + v * 4194304);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, taps };
}

/** Rounds a fixed-point accumulator (which started at 2^21) to a byte: >> 22, clipped. */
function toByte(acc: number): number {
  const v = acc >> 22;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes like Pillow's `Image.resize((width, height), Image.BICUBIC)` on an RGB image: the same
 * bytes, every one (checked against Pillow 9.4 in test/preprocess.test.ts).
 */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(img, 'resizeBicubic');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeBicubic: target size ${width}x${height} is not a positive integer size`);
  }
  const vertical = axisWeights(img.height, height);
  let src = img;
  let rowOffset = 0; // input row of src's row 0
  if (width !== img.width) {
    // Only the rows the vertical pass reads: [first, last).
    const first = vertical.start[0];
    const last = vertical.start[height - 1] + vertical.count[height - 1];
    src = resampleRows(img, width, first, last);
    rowOffset = first;
  }
  if (height === img.height) return src === img ? { width, height, data: img.data.slice() } : src;
  return resampleColumns(src, height, vertical, rowOffset);
}

/** Horizontal pass over input rows [first, last): (last - first) rows of `width` pixels. */
function resampleRows(img: RgbImage, width: number, first: number, last: number): RgbImage {
  const { start, count, weights, taps } = axisWeights(img.width, width);
  const out = createRgbImage(width, last - first);
  const src = img.data;
  const dst = out.data;
  for (let y = first; y < last; y++) {
    const rowIn = y * img.width * 3;
    const rowOut = (y - first) * width * 3;
    for (let x = 0; x < width; x++) {
      const k0 = x * taps;
      const n = count[x];
      let p = rowIn + start[x] * 3;
      let r = 2097152;
      let g = 2097152;
      let b = 2097152;
      for (let j = 0; j < n; j++) {
        const k = weights[k0 + j];
        r += src[p] * k;
        g += src[p + 1] * k;
        b += src[p + 2] * k;
        p += 3;
      }
      dst[rowOut + x * 3] = toByte(r);
      dst[rowOut + x * 3 + 1] = toByte(g);
      dst[rowOut + x * 3 + 2] = toByte(b);
    }
  }
  return out;
}

/** Vertical pass: `img` holds input rows from `rowOffset` on. */
function resampleColumns(img: RgbImage, height: number, axis: AxisWeights, rowOffset: number): RgbImage {
  const { start, count, weights, taps } = axis;
  const width = img.width;
  const stride = width * 3;
  const out = createRgbImage(width, height);
  const src = img.data;
  const dst = out.data;
  for (let y = 0; y < height; y++) {
    const k0 = y * taps;
    const n = count[y];
    const base = (start[y] - rowOffset) * stride;
    for (let c = 0; c < stride; c++) {
      let acc = 2097152;
      let p = base + c;
      for (let j = 0; j < n; j++) {
        acc += src[p] * weights[k0 + j];
        p += stride;
      }
      dst[y * stride + c] = toByte(acc);
    }
  }
  return out;
}

// -- the whole pipeline -------------------------------------------------------------------------------

export interface PreprocessOptions {
  /**
   * 'crop' (default): CLIPImageProcessor as llava-hf runs it: the shortest edge is resized to 336
   * and the middle 336x336 kept, so a non-square image loses its sides.
   * 'pad': the original LLaVA's image_aspect_ratio "pad": expand to a square of the mean colour
   * first, so the whole image is seen.
   */
  aspect?: 'crop' | 'pad';
  /** The image's file (or record) named in errors. */
  name?: string;
}

/**
 * Turns an RGB image into CLIP's pixel_values: an f32 tensor [3, H, W] (channels first; 336x336
 * with the llava-hf config): `visionInput`'s image, rescaled and normalised.
 */
export function preprocessImage(img: RgbImage, config: PreprocessorConfig = LLAVA_PREPROCESSOR_CONFIG, opts: PreprocessOptions = {}): Tensor {
  const { width, height, data } = visionInput(img, config, opts, 'preprocessImage');
  const plane = width * height;
  const out = new Tensor('f32', allocate('f32', 3 * plane), [3, height, width]); // (C, H, W)
  const values = out.data as Float32Array;
  for (let c = 0; c < 3; c++) {
    const table = channelTable(config, c);
    for (let p = 0; p < plane; p++) values[c * plane + p] = table[data[p * 3 + c]];
  }
  return out;
}

/**
 * The RGB image the vision tower sees, before rescaling and normalisation: padded to a square
 * ('pad'), resized, centre-cropped. Its patches are the vision tokens, row by row.
 */
export function visionInput(
  img: RgbImage,
  config: PreprocessorConfig = LLAVA_PREPROCESSOR_CONFIG,
  { aspect = 'crop', name = 'image' }: PreprocessOptions = {},
  caller = 'visionInput',
): RgbImage {
  checkRgbImage(img, caller);
  if (aspect !== 'crop' && aspect !== 'pad') {
    throw new Error(`${caller}: aspect must be 'crop' or 'pad', got ${JSON.stringify(aspect)}`);
  }
  // Every intermediate image is held to the pixel limit before it is allocated: padding a 20000 x 1
  // image to a square, or resizing its short edge to 336, would otherwise ask for gigabytes.
  if (aspect === 'pad') {
    const side = Math.max(img.width, img.height);
    checkImageDimensions(side, side, `${name}, padded to a square`);
  }
  let image = aspect === 'pad' ? expandToSquare(img, padColor(config.image_mean)) : img;
  if (config.do_resize) {
    const target = 'shortest_edge' in config.size
      ? shortestEdgeSize(image.width, image.height, config.size.shortest_edge)
      : config.size;
    checkImageDimensions(target.width, target.height, `${name}, resized`);
    image = resizeBicubic(image, target.width, target.height);
  }
  if (config.do_center_crop) image = centerCrop(image, config.crop_size.width, config.crop_size.height);
  return image;
}

/**
 * The float32 value of each byte 0..255 in channel c after rescale and normalize, in transformers'
 * order and precisions. Derivation for pixel 255 in channel 0 with the llava-hf config:
 * rescale: f32(255 * (1/255)) = 1; mean f32(0.48145466), std f32(0.26862954);
 * normalize: f32(f32(1 - mean) / std) = f32(0.51854534 / 0.26862954) = 1.9303361.
 */
function channelTable(config: PreprocessorConfig, c: number): Float32Array {
  const table = new Float32Array(256);
  const mean = Math.fround(config.image_mean[c]);
  const std = Math.fround(config.image_std[c]);
  for (let v = 0; v < 256; v++) {
    let x = config.do_rescale ? Math.fround(v * config.rescale_factor) : v;
    if (config.do_normalize) x = Math.fround(Math.fround(x - mean) / std);
    table[v] = x;
  }
  return table;
}
