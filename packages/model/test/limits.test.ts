/**
 * The limits on sizes a user controls (limits.ts), and where the model applies them: image files,
 * preprocessor configs, prompts, thread counts, the memory plan, layer counts and config numbers.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { grayPng } from './gray-png.js';
import {
  LLAVA_PREPROCESSOR_CONFIG, Llava, PIL_MAX_IMAGE_PIXELS, PRESETS, availableMemory, cappedThreads, checkContext, checkImageDimensions,
  checkMemoryPlan, checkPreprocessorSizes, createRgbImage, decodeImage, parseConfig, planMemory, preprocessImage, promptPositions,
  readImage, readPreprocessorConfig,
} from '../src/index.js';

const gqa = new URL('./fixtures/tiny/tiny-gqa', import.meta.url).pathname; // 6 decoder layers, 3 vision layers, image 112
const scratch = mkdtempSync(join(tmpdir(), 'adsc-limits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const saved = { ...process.env };
afterEach(() => {
  for (const key of ['ADSC_MAX_IMAGE_PIXELS', 'ADSC_MEMORY_LIMIT']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

/** The LimitError (or other coded error) `fn` throws, as [code, message]. */
function failure(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (error) {
    return [(error as { code: string }).code, (error as Error).message];
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** A PNG signature and an IHDR chunk claiming width x height, then junk: only the header is valid. */
function pngClaiming(width: number, height: number): Uint8Array {
  const bytes = Buffer.alloc(8 + 25 + 12);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  bytes.writeUInt32BE(13, 8);
  bytes.write('IHDR', 12, 'latin1');
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes[24] = 8; // bit depth; colour type 0 (grayscale)
  return bytes;
}

describe('image dimensions', () => {
  it("accepts 9459 x 9459 (89,472,681 pixels) and refuses 9460 x 9460 (89,491,600), PIL's limit being 89,478,485", () => {
    expect(PIL_MAX_IMAGE_PIXELS).toBe(Math.floor((1024 * 1024 * 1024) / 4 / 3));
    expect(() => checkImageDimensions(9459, 9459, 'a.png')).not.toThrow();
    expect(failure(() => checkImageDimensions(9460, 9460, 'a.png'))).toEqual([
      'ImageTooLarge',
      "a.png: 9460 x 9460 = 89491600 pixels, more than the limit of 89478485 (PIL's decompression-bomb limit; set ADSC_MAX_IMAGE_PIXELS to raise it)",
    ]);
  });

  it('takes its limit from ADSC_MAX_IMAGE_PIXELS when set', () => {
    process.env.ADSC_MAX_IMAGE_PIXELS = '100';
    expect(failure(() => checkImageDimensions(11, 10, 'a.png'))[0]).toBe('ImageTooLarge');
    process.env.ADSC_MAX_IMAGE_PIXELS = '1e9';
    expect(failure(() => checkImageDimensions(1, 1, 'a.png'))).toEqual(['InvalidLimit', 'ADSC_MAX_IMAGE_PIXELS must be a positive decimal integer, got "1e9"']);
  });

  it('refuses a PNG whose header claims 20000 x 20000 before decoding anything', () => {
    const t0 = performance.now();
    expect(failure(() => decodeImage(pngClaiming(20000, 20000), 'claims.png'))[1]).toMatch(/^claims\.png: 20000 x 20000 = 400000000 pixels/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('refuses a JPEG whose frame header claims 10000 x 10000', () => {
    // SOI, then an SOF0 segment: length 11, precision 8, height 10000 (0x2710), width 10000, 1 component.
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x27, 0x10, 0x27, 0x10, 0x01, 0x01, 0x11, 0x00]);
    expect(failure(() => decodeImage(jpeg, 'claims.jpg'))[1]).toMatch(/^claims\.jpg: 10000 x 10000 = 100000000 pixels/);
  });

  it('refuses to resize a 20000 x 1 image to a 336-pixel short edge (6,720,000 x 336)', () => {
    const strip = createRgbImage(20000, 1);
    expect(failure(() => preprocessImage(strip, LLAVA_PREPROCESSOR_CONFIG, { name: 'strip.png' }))).toEqual([
      'ImageTooLarge',
      "strip.png, resized: 6720000 x 336 = 2257920000 pixels, more than the limit of 89478485 (PIL's decompression-bomb limit; set ADSC_MAX_IMAGE_PIXELS to raise it)",
    ]);
  });

  it('refuses to pad a 20000 x 1 image to a 20000 x 20000 square', () => {
    const strip = createRgbImage(20000, 1);
    expect(failure(() => preprocessImage(strip, LLAVA_PREPROCESSOR_CONFIG, { aspect: 'pad', name: 'strip.png' }))[1]).toMatch(/^strip\.png, padded to a square: 20000 x 20000/);
  });

  it('names the record when given a name, for a missing file and for an image over the limit', () => {
    expect(failure(() => readImage(join(scratch, 'missing.png'), 'train.jsonl, record 17: missing.png'))).toEqual([
      'FileNotFound', 'train.jsonl, record 17: missing.png: no such file or directory',
    ]);
    const big = join(scratch, 'big.png');
    writeFileSync(big, pngClaiming(20000, 20000));
    expect(failure(() => readImage(big, 'train.jsonl, record 18: big.png'))[1]).toMatch(/^train\.jsonl, record 18: big\.png: 20000 x 20000 = 400000000 pixels/);
  });

  it('still decodes a small real PNG', () => {
    const rows = Buffer.from([0, 10, 20, 0, 30, 40]); // 2 x 2 grayscale, filter 0 per row
    expect(Array.from(decodeImage(grayPng(2, 2, rows)).data)).toEqual([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
  });
});

describe('preprocessor sizes against the vision tower', () => {
  it("accepts llava-hf's own config for a 336-pixel tower", () => {
    expect(() => checkPreprocessorSizes(LLAVA_PREPROCESSOR_CONFIG, 336, 'p.json')).not.toThrow();
  });

  it('refuses a crop that is not the tower image size, naming the file', () => {
    const config = { ...LLAVA_PREPROCESSOR_CONFIG, crop_size: { height: 20000, width: 20000 } };
    expect(failure(() => checkPreprocessorSizes(config, 336, 'p.json'))).toEqual([
      'PreprocessorMismatch', "p.json: crop_size 20000 x 20000 does not match the vision tower's image_size 336",
    ]);
  });

  it('refuses a resize to more than twice the tower image size', () => {
    const config = { ...LLAVA_PREPROCESSOR_CONFIG, size: { shortest_edge: 673 } };
    expect(failure(() => checkPreprocessorSizes(config, 336, 'p.json'))[1]).toBe("p.json: size 673 is more than 2 x the vision tower's image_size 336");
  });

  it('refuses a config without a crop whose size is not the tower image size', () => {
    const config = { ...LLAVA_PREPROCESSOR_CONFIG, do_center_crop: false };
    expect(failure(() => checkPreprocessorSizes(config, 336, 'p.json'))[1]).toMatch(/without do_center_crop, size must be \{height: 336, width: 336\}/);
  });

  it('is applied when preprocessor_config.json is read', () => {
    const dir = mkdtempSync(join(scratch, 'pre-'));
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ crop_size: 20000 }));
    expect(failure(() => readPreprocessorConfig(dir, 336))[0]).toBe('PreprocessorMismatch');
  });
});

describe('context', () => {
  const cfg = PRESETS['llava-1.5-7b']; // 4096 positions, 576 image features, image token 32000

  it('counts an image token as the 576 features that replace it', () => {
    expect(promptPositions([1, 32000, 5, 6], cfg, true)).toBe(3 + 576);
    expect(promptPositions([1, 5, 6], cfg, false)).toBe(3);
  });

  it('accepts 4000 prompt positions + 96 new tokens (4096) and refuses 97', () => {
    expect(() => checkContext(4000, 96, cfg, 'm')).not.toThrow();
    expect(failure(() => checkContext(4000, 97, cfg, 'm'))).toEqual([
      'ContextTooLong', "m: 4000 prompt positions + 97 new tokens = 4097, past the model's max_position_embeddings 4096",
    ]);
  });
});

describe('threads', () => {
  it('caps 1000 threads at 2 cores, with a note', () => {
    expect(cappedThreads(1000, 2)).toEqual({ threads: 2, note: '--threads 1000 is more than the 2 cores this process may use; using 2' });
  });

  it('keeps a request within the cores as it is', () => {
    expect(cappedThreads(2, 2)).toEqual({ threads: 2 });
  });
});

describe('memory plan', () => {
  it('adds weights, KV cache and the widest layer for llava-1.5-7b at 1000 positions', () => {
    // KV: 1.5 * 2 (K, V) * 32 layers * 32 heads * 128 dims * 1000 positions * 4 bytes = 1,572,864,000.
    // Decoder layer: (4 * 1000 * 4096 + 2 * 1000 * 4096 + max(32 * 1000^2, 3 * 1000 * 11008)) * 4
    //   = (16,384,000 + 8,192,000 + 33,024,000) * 4 = 230,400,000; the vision layer over 577 tokens is
    //   (6 * 577 * 1024 + 16 * 577^2) * 4 = 35,487,808, smaller; logits 32064 * 4 = 128,256.
    const plan = planMemory(PRESETS['llava-1.5-7b'], 14e9, 1000);
    expect(plan).toEqual({ weights: 14e9, kvCache: 1_572_864_000, activations: 230_528_256, total: 14e9 + 1_572_864_000 + 230_528_256, contextTokens: 1000 });
  });

  it('refuses a plan larger than the budget, giving both numbers and --force', () => {
    const plan = planMemory(PRESETS['llava-1.5-7b'], 59 * 2 ** 30, 1000);
    expect(failure(() => checkMemoryPlan(plan, { bytes: 16 * 2 ** 30, source: 'os.totalmem()' }, 'big/'))).toEqual([
      'InsufficientMemory',
      'big/: needs about 60.7 GiB (weights 59.0 GiB, KV cache 1.46 GiB for 1000 positions, activations 219.8 MiB) but os.totalmem() allows 16.0 GiB; --force loads it anyway',
    ]);
  });

  it('budgets at most the machine memory, and ADSC_MEMORY_LIMIT when lower', () => {
    expect(availableMemory().bytes).toBeLessThanOrEqual(totalmem());
    process.env.ADSC_MEMORY_LIMIT = '1048576';
    expect(availableMemory()).toEqual({ bytes: 1048576, source: 'ADSC_MEMORY_LIMIT' });
  });

  it('is checked by Llava.load before any weight is read, unless forced', () => {
    process.env.ADSC_MEMORY_LIMIT = '1048576'; // 1 MiB; the tiny model's weights alone take 1.1 MiB
    expect(failure(() => Llava.load(gqa, { contextTokens: 16 }))[0]).toBe('InsufficientMemory');
    expect(Llava.load(gqa, { contextTokens: 16, force: true }).config.text.numLayers).toBe(6);
  });
});

describe('config numbers', () => {
  it('refuses a checkpoint with more decoder layers than the config says', () => {
    const dir = mkdtempSync(join(scratch, 'layers-'));
    cpSync(gqa, dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.text_config.num_hidden_layers = 4;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    expect(failure(() => Llava.load(dir))).toEqual([
      'LayerCountMismatch',
      `${dir}: num_hidden_layers is 4, but the checkpoint has 6 layers (language_model.model.layers.0 to language_model.model.layers.5)`,
    ]);
  });

  it('says a hidden_size of 1e400 is beyond a double, not "null"', () => {
    const json = JSON.parse('{"model_type":"llava","text_config":{"hidden_size":1e400}}');
    expect(failure(() => parseConfig(json, 'c.json'))).toEqual([
      'InvalidConfig', 'c.json text_config: field "hidden_size" has an invalid value beyond the range of a double (the file\'s number reads as Infinity)',
    ]);
  });
});
