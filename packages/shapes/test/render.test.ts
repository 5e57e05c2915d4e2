import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { BACKGROUND, COLORS, encodePng, generateShapes, llavaRecord, renderScene, writeShapes, type Scene } from '../src/index.js';

const pixel = (img: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('renderScene', () => {
  // A 10 px square centred on (20, 20) covers pixels 15..24 in both directions exactly.
  const square: Scene = { imageSize: 168, objects: [{ shape: 'square', color: 'red', size: 10, x: 20, y: 20 }] };
  const img = renderScene(square);

  it('fills the pixels a square covers with its colour', () => {
    expect(pixel(img, 15, 15)).toEqual(COLORS.red);
    expect(pixel(img, 24, 24)).toEqual(COLORS.red);
  });

  it('leaves the pixels just outside the square as background', () => {
    expect(pixel(img, 14, 20)).toEqual(BACKGROUND);
    expect(pixel(img, 25, 20)).toEqual(BACKGROUND);
  });

  it('blends a circle edge pixel between the colour and the background', () => {
    // The pixel at the right end of a 16 px circle centred on (50, 50) is partly covered.
    const img2 = renderScene({ imageSize: 168, objects: [{ shape: 'circle', color: 'blue', size: 16, x: 50, y: 50 }] });
    const [r] = pixel(img2, 57, 53);
    expect(r).toBeLessThan(BACKGROUND[0]);
    expect(r).toBeGreaterThan(COLORS.blue[0]);
  });
});

describe('encodePng', () => {
  it('writes a PNG that decodes back to the same pixels', () => {
    const [record] = generateShapes({ seed: 3, count: 1 });
    const img = renderScene(record.scene);
    const png = PNG.sync.read(encodePng(img));
    expect([png.width, png.height]).toEqual([168, 168]);
    const rgb = new Uint8Array(168 * 168 * 3);
    for (let p = 0; p < 168 * 168; p++) rgb.set(png.data.subarray(p * 4, p * 4 + 3), p * 3);
    expect(Buffer.from(rgb).equals(Buffer.from(img.data))).toBe(true);
  });
});

describe('writeShapes', () => {
  it('writes questions.json in LLaVA conversation format and one PNG per record', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'shapes-')), 'data');
    const records = writeShapes(out, { seed: 5, count: 4 });
    const json = JSON.parse(readFileSync(join(out, 'questions.json'), 'utf8'));
    expect(json).toEqual(records.map(llavaRecord));
    expect(json[0]).toEqual({
      id: 'shapes-5-000000',
      image: 'images/000000.png',
      type: records[0].type,
      conversations: [
        { from: 'human', value: `<image>\n${records[0].text}` },
        { from: 'gpt', value: records[0].answer },
      ],
    });
    expect(readdirSync(join(out, 'images')).sort()).toEqual(['000000.png', '000001.png', '000002.png', '000003.png']);
  });

  it('refuses a directory that already holds files, and leaves it as it was', () => {
    const out = mkdtempSync(join(tmpdir(), 'shapes-'));
    writeFileSync(join(out, 'keep.txt'), 'x');
    expect(() => writeShapes(out, { seed: 5, count: 2 })).toThrow(`${out}: exists and is not empty`);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('writes into an existing empty directory', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'shapes-')), 'empty');
    mkdirSync(out);
    writeShapes(out, { seed: 5, count: 1 });
    expect(readdirSync(out).sort()).toEqual(['images', 'questions.json']);
  });
});
