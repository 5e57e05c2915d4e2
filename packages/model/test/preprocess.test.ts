/**
 * CLIP preprocessing: PIL-exact bicubic resizing, the geometry steps, pixel_values against a
 * step-by-step reproduction of transformers' CLIPImageProcessor (scripts/preprocess_golden.py),
 * LLaVA's pad mode, and preprocessor_config.json parsing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { expectClose } from '@adsc/core/testing';
import { describe, expect, it } from 'vitest';
import { createRgbImage, readImage, type RgbImage } from '../src/image.js';
import {
  LLAVA_PREPROCESSOR_CONFIG, centerCrop, expandToSquare, padColor, preprocessImage, preprocessorFor, readPreprocessorConfig,
  resizeBicubic, shortestEdgeSize, visionInput,
} from '../src/preprocess.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/preprocess/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

interface Golden {
  background: number[];
  resize: { source: string; width: number; height: number; golden: string }[];
  pixel_values: Record<string, { source: string; aspect: 'crop' | 'pad'; shape: number[] }>;
}
const golden = JSON.parse(readFileSync(fixture('preprocess.json'), 'utf8')) as Golden;

/** A golden pixel_values file: gzip'd little-endian float32, CHW. */
function readF32(name: string): Float32Array {
  const bytes = gunzipSync(readFileSync(fixture(name)));
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** An image from rows of [r, g, b] pixels. */
function image(rows: number[][][]): RgbImage {
  return { width: rows[0].length, height: rows.length, data: Uint8Array.from(rows.flat(2)) };
}

const NO_RESIZE_OR_CROP = { ...LLAVA_PREPROCESSOR_CONFIG, do_resize: false, do_center_crop: false };

describe('resizeBicubic', () => {
  it.each(golden.resize)("reproduces PIL's bicubic resize of $source to $width x $height byte for byte", (c) => {
    const out = resizeBicubic(readImage(fixture(c.source)), c.width, c.height);
    const pil = readImage(fixture(c.golden));
    expect([out.width, out.height]).toEqual([c.width, c.height]);
    expectClose(out.data, pil.data, { atol: 0 });
  });

  it('halves [0, 255] to 128 (hand-derived weights)', () => {
    // 2 -> 1 pixels: scale 2, support 2 * 2 = 4, centre 1.0, taps 0 and 1 at distance 0.5 / 2 = 0.25:
    // equal weights, 1/2 each = 2^21 in fixed point; (2^21 + 0 * 2^21 + 255 * 2^21) >> 22 = 128.
    const out = resizeBicubic(image([[[0, 0, 0], [255, 255, 255]]]), 1, 1);
    expectClose(out.data, [128, 128, 128], { atol: 0 });
  });

  it('returns an equal copy when the size does not change', () => {
    const img = readImage(fixture('tiny-7x5.png'));
    const out = resizeBicubic(img, 7, 5);
    expect(out.data).not.toBe(img.data);
    expectClose(out.data, img.data, { atol: 0 });
  });

  it('rejects a target size that is not a positive integer, naming resizeBicubic', () => {
    expect(() => resizeBicubic(createRgbImage(4, 4), 0, 3)).toThrow('resizeBicubic: target size 0x3');
    expect(() => resizeBicubic(createRgbImage(4, 4), 2.5, 3)).toThrow('resizeBicubic: target size 2.5x3');
  });

  it('rejects an image whose data does not match its size, naming resizeBicubic', () => {
    expect(() => resizeBicubic({ width: 2, height: 2, data: new Uint8Array(11) }, 1, 1)).toThrow(
      'resizeBicubic: a 2x2 RGB image needs 12 bytes, got 11',
    );
  });
});

describe('geometry', () => {
  it('sizes a landscape image to the edge high and int(edge * w / h) wide', () => {
    // 336 * 500 / 375 = 448 exactly; 336 * 1000 / 667 = 503.75 -> 503.
    expect(shortestEdgeSize(500, 375, 336)).toEqual({ width: 448, height: 336 });
    expect(shortestEdgeSize(1000, 667, 336)).toEqual({ width: 503, height: 336 });
  });

  it('sizes a portrait or square image to the edge wide and int(edge * h / w) high', () => {
    // 336 * 211 / 97 = 730.89 -> 730.
    expect(shortestEdgeSize(97, 211, 336)).toEqual({ width: 336, height: 730 });
    expect(shortestEdgeSize(50, 50, 336)).toEqual({ width: 336, height: 336 });
  });

  it('center-crops from floor((in - out) / 2)', () => {
    // 5 wide -> 2 wide: left = floor(3 / 2) = 1, so pixels 1 and 2.
    const img = image([[[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]]]);
    expectClose(centerCrop(img, 2, 1).data, [1, 1, 1, 2, 2, 2], { atol: 0 });
  });

  it('pads an image smaller than the crop with black at ceil((out - in) / 2)', () => {
    // 1x1 -> 4x4: the pixel lands at (ceil(3 / 2), ceil(3 / 2)) = (2, 2); the rest is 0.
    const out = centerCrop(image([[[9, 8, 7]]]), 4, 4);
    const expected = new Array(4 * 4 * 3).fill(0);
    expected.splice((2 * 4 + 2) * 3, 3, 9, 8, 7);
    expectClose(out.data, expected, { atol: 0 });
  });

  it('expands a landscape image to a square with the image in the middle rows', () => {
    // 3x1 -> 3x3, pasted at (0, (3 - 1) // 2) = row 1; rows 0 and 2 are the background.
    const out = expandToSquare(image([[[1, 1, 1], [2, 2, 2], [3, 3, 3]]]), [122, 116, 104]);
    const bg = [122, 116, 104, 122, 116, 104, 122, 116, 104];
    expectClose(out.data, [...bg, 1, 1, 1, 2, 2, 2, 3, 3, 3, ...bg], { atol: 0 });
  });

  it('expands a portrait image to a square pasted at column (side - width) // 2', () => {
    // 1x2 -> 2x2, pasted at ((2 - 1) // 2, 0) = column 0; column 1 is the background.
    const out = expandToSquare(image([[[1, 1, 1]], [[2, 2, 2]]]), [9, 9, 9]);
    expectClose(out.data, [1, 1, 1, 9, 9, 9, 2, 2, 2, 9, 9, 9], { atol: 0 });
  });

  it('derives the pad colour (122, 116, 104) from CLIP\'s mean by truncation', () => {
    // 0.48145466 * 255 = 122.77, 0.4578275 * 255 = 116.75, 0.40821073 * 255 = 104.09.
    expect(padColor(LLAVA_PREPROCESSOR_CONFIG.image_mean)).toEqual(golden.background);
    expect(golden.background).toEqual([122, 116, 104]);
  });
});

describe('visionInput', () => {
  it('leaves an image already at the crop size as it is', () => {
    const img = createRgbImage(28, 28, [10, 20, 30]);
    img.data[5] = 200;
    expect(Array.from(visionInput(img, preprocessorFor(28)).data)).toEqual(Array.from(img.data));
  });

  it('gives the resized and cropped image whose normalised bytes are preprocessImage\'s pixel values', () => {
    const img = readImage(fixture(golden.pixel_values['crop-scene-500x375'].source));
    const seen = visionInput(img);
    expect([seen.width, seen.height]).toEqual([336, 336]);
    const pixels = preprocessImage(img).data as Float32Array;
    // Channel 0 of pixel p is (byte / 255 - mean) / std in f32, the same as preprocessImage's table.
    const mean = Math.fround(LLAVA_PREPROCESSOR_CONFIG.image_mean[0]);
    const std = Math.fround(LLAVA_PREPROCESSOR_CONFIG.image_std[0]);
    for (const p of [0, 1000, 336 * 336 - 1]) {
      expect(pixels[p]).toBe(Math.fround(Math.fround(Math.fround(seen.data[p * 3] * LLAVA_PREPROCESSOR_CONFIG.rescale_factor) - mean) / std));
    }
  });
});

describe('preprocessImage', () => {
  it.each(Object.entries(golden.pixel_values))("matches CLIPImageProcessor's pixel_values for %s", (name, c) => {
    // Exact (atol 0): the resize is PIL's to the byte and rescale / normalize run in numpy's order and
    // precisions (f64 multiply then f32; f32 subtract; f32 divide). A 1e-6 tolerance would hide a
    // missing f32 rounding of (x - mean).
    const out = preprocessImage(readImage(fixture(c.source)), LLAVA_PREPROCESSOR_CONFIG, { aspect: c.aspect });
    expect(out.shape).toEqual(c.shape);
    expect(out.dtype).toBe('f32');
    expectClose(out, readF32(`${name}.f32.bin.gz`), { atol: 0 });
  });

  it('normalises white to f32(f32(1 - mean) / std) per channel', () => {
    // rescale: f32(255 * (1/255)) = 1. Channel 0: f32(1 - f32(0.48145466)) = 0.5185453,
    // / f32(0.26862954) = 1.9303361 (f32). Channels 1, 2 likewise: 2.0748837, 2.145897.
    // numpy: (np.float32(1) - np.float32(m)) / np.float32(s) gives the same three numbers.
    const white = createRgbImage(2, 2, [255, 255, 255]);
    const out = preprocessImage(white, NO_RESIZE_OR_CROP);
    expect(out.shape).toEqual([3, 2, 2]);
    expectClose(out, [1.9303361, 1.9303361, 1.9303361, 1.9303361, 2.0748837, 2.0748837, 2.0748837, 2.0748837,
      2.145897, 2.145897, 2.145897, 2.145897], { atol: 1e-7 });
  });

  it('puts channels first: pixel (x=1, y=0) of channel c is at c * H * W + 1', () => {
    // Black is (0 - mean) / std: -1.7922626, -1.7520971, -1.4802198; white as above.
    const img = image([[[0, 0, 0], [255, 255, 255]]]);
    const out = preprocessImage(img, NO_RESIZE_OR_CROP);
    expect(out.shape).toEqual([3, 1, 2]);
    expectClose(out, [-1.7922626, 1.9303361, -1.7520971, 2.0748837, -1.4802198, 2.145897], { atol: 1e-7 });
  });

  it('gives [3, 336, 336] for a tiny input with the llava-hf config', () => {
    const out = preprocessImage(readImage(fixture('tiny-7x5.png')));
    expect(out.shape).toEqual([3, 336, 336]);
  });

  it('gives the same values in pad and crop mode for a square image', () => {
    const square = resizeBicubic(readImage(fixture('tiny-7x5.png')), 9, 9);
    expectClose(preprocessImage(square, LLAVA_PREPROCESSOR_CONFIG, { aspect: 'pad' }), preprocessImage(square), { atol: 0 });
  });

  it('rejects an unknown aspect option, naming it', () => {
    const img = createRgbImage(2, 2);
    expect(() => preprocessImage(img, LLAVA_PREPROCESSOR_CONFIG, { aspect: 'stretch' as 'pad' })).toThrow(
      `preprocessImage: aspect must be 'crop' or 'pad', got "stretch"`,
    );
  });
});

describe('readPreprocessorConfig', () => {
  const dirWith = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'adsc-preproc-'));
    writeFileSync(join(dir, 'preprocessor_config.json'), text);
    return dir;
  };

  it('returns the llava-hf defaults when the directory has no preprocessor_config.json', () => {
    expect(readPreprocessorConfig(mkdtempSync(join(tmpdir(), 'adsc-preproc-')))).toEqual(LLAVA_PREPROCESSOR_CONFIG);
  });

  it('reads the llava-hf file, ignoring fields it does not use', () => {
    const file = {
      crop_size: { height: 336, width: 336 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true,
      do_rescale: true, do_resize: true, image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_processor_type: 'CLIPImageProcessor', image_std: [0.26862954, 0.26130258, 0.27577711],
      processor_class: 'LlavaProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 336 },
    };
    expect(readPreprocessorConfig(dirWith(JSON.stringify(file)))).toEqual(LLAVA_PREPROCESSOR_CONFIG);
  });

  it('accepts the older integer forms of size and crop_size and fills missing fields', () => {
    const config = readPreprocessorConfig(dirWith('{"size": 224, "crop_size": 224}'), 224);
    expect(config.size).toEqual({ shortest_edge: 224 });
    expect(config.crop_size).toEqual({ height: 224, width: 224 });
    expect(config.image_std).toEqual(LLAVA_PREPROCESSOR_CONFIG.image_std);
  });

  it('names the file when it is not valid JSON', () => {
    const dir = dirWith('{"size": ');
    expect(() => readPreprocessorConfig(dir)).toThrow(`${join(dir, 'preprocessor_config.json')}: not valid JSON`);
  });

  it('names the file and the field when a field has the wrong type', () => {
    const dir = dirWith('{"image_mean": [0.5, 0.5]}');
    expect(() => readPreprocessorConfig(dir)).toThrow(
      `${join(dir, 'preprocessor_config.json')}: image_mean must be a number or a list of 3 numbers, got [0.5,0.5]`,
    );
  });

  it('rejects a resampling filter other than bicubic, naming the field', () => {
    const dir = dirWith('{"resample": 2}');
    expect(() => readPreprocessorConfig(dir)).toThrow('resample is not supported (only 3, PIL bicubic), got 2');
  });
});
