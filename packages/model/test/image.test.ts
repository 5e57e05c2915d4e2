/**
 * Decoding: PNG of every colour type against PIL's convert('RGB'), JPEG against PIL's libjpeg-turbo
 * decoding, bad input. Fixtures come from scripts/preprocess_golden.py (PIL 9.4, libjpeg-turbo).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectClose } from '@adsc/core/testing';
import { describe, expect, it } from 'vitest';
import { decodeImage, readImage, type RgbImage } from '../src/image.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/preprocess/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

interface FormatCase {
  pil_mode: string;
  note: string;
  width: number;
  height: number;
  rgb: number[];
}
const formats = JSON.parse(readFileSync(fixture('formats.json'), 'utf8')) as Record<string, FormatCase>;

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

describe('decodeImage: PNG', () => {
  it.each(Object.entries(formats))("decodes %s to the pixels PIL's convert('RGB') gives", (file, expected) => {
    // expected.note says which rule applies, e.g. 16-bit grayscale clips to 255 as PIL's mode I does.
    const img = readImage(fixture(`formats/${file}`));
    expect([img.width, img.height]).toEqual([expected.width, expected.height]);
    expectClose(img.data, expected.rgb, { atol: 0 });
  });
});

describe('decodeImage: JPEG', () => {
  // Measured against PIL 9.4 / libjpeg-turbo 2.1 on photo-200x150.jpg (4:2:0, quality 90, with
  // patches of noise): max 3 levels, mean 0.136, 89 % of bytes equal. jpeg-js's own output (chroma
  // repeated, float conversion) was max 97, mean 3.17 on the same file.
  it('decodes a 4:2:0 JPEG to within 3 levels of PIL', () => {
    const ours = readImage(fixture('photo-200x150.jpg'));
    const pil = readImage(fixture('photo-200x150.pil.png'));
    expect([ours.width, ours.height]).toEqual([200, 150]);
    expectClose(ours.data, pil.data, { atol: 3 });
  });

  it("upsamples chroma as libjpeg-turbo does: mean difference from PIL under 0.2 levels", () => {
    const ours = readImage(fixture('photo-200x150.jpg'));
    const pil = readImage(fixture('photo-200x150.pil.png'));
    expect(meanAbsDiff(ours, pil)).toBeLessThan(0.2);
  });

  it('decodes a grayscale JPEG into equal R, G and B within 1 level of PIL', () => {
    // Measured: max 1, mean 0.065.
    const ours = readImage(fixture('gray-64x48.jpg'));
    const pil = readImage(fixture('gray-64x48.pil.png'));
    const r = ours.data.filter((_, i) => i % 3 === 0);
    expectClose(ours.data.filter((_, i) => i % 3 === 1), r, { atol: 0 });
    expectClose(ours.data.filter((_, i) => i % 3 === 2), r, { atol: 0 });
    expectClose(ours.data, pil.data, { atol: 1 });
  });
});

describe('decodeImage: input handling', () => {
  it('tells PNG from JPEG by the signature, not the file name', () => {
    const png = readFileSync(fixture('tiny-7x5.png'));
    const img = decodeImage(png, 'misnamed.jpg');
    expect([img.width, img.height]).toEqual([7, 5]);
  });

  it('rejects bytes that are neither PNG nor JPEG, naming the file', () => {
    const bmp = new Uint8Array([0x42, 0x4d, 0x36, 0x00, 0x0c, 0x00]);
    expect(() => decodeImage(bmp, 'image.bmp')).toThrow('image.bmp: not a PNG or JPEG file (starts with bytes 42 4d 36 00)');
  });

  it('rejects an empty file, naming the file', () => {
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow('empty.png: not a PNG or JPEG file (empty)');
  });

  it('rejects a truncated PNG, naming the file and the decoder', () => {
    const png = readFileSync(fixture('scene-500x375.png'));
    expect(() => decodeImage(png.subarray(0, 200), 'cut.png')).toThrow(/^cut\.png: cannot decode PNG: /);
  });

  it('rejects a JPEG with a corrupt header, naming the file and the decoder', () => {
    const jpg = new Uint8Array(readFileSync(fixture('photo-200x150.jpg')));
    expect(() => decodeImage(jpg.subarray(0, 40), 'cut.jpg')).toThrow(/^cut\.jpg: cannot decode JPEG: /);
  });

  it('names the missing file when readImage cannot open it', () => {
    expect(() => readImage(fixture('no-such-image.png'))).toThrow('no-such-image.png');
  });
});
