/** PNG encoding of RGB pixels (8-bit RGB, no alpha), through pngjs. */
import { PNG } from 'pngjs';
import type { RgbPixels } from './render.js';

export function encodePng(img: RgbPixels): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let p = 0, q = 0; p < img.data.length; p += 3, q += 4) {
    png.data[q] = img.data[p];
    png.data[q + 1] = img.data[p + 1];
    png.data[q + 2] = img.data[p + 2];
    png.data[q + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 2 });
}
