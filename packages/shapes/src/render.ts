/**
 * Scene -> RGB pixels. Each pixel is sampled 4 x 4 times and blends the object's colour with the
 * background by the fraction of samples inside the shape, so a small triangle still reads as a
 * triangle rather than a jagged blob. Only pixels in an object's bounding box are visited.
 */
import { BACKGROUND, COLORS, reach, type Scene, type SceneObject } from './scene.js';

/** 8-bit RGB, row-major, 3 bytes a pixel (the layout of @adsc/model's RgbImage). */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

const SAMPLES = 4;

/** Whether the point (dx, dy) from the object's centre lies inside its shape. */
export function inside(o: Pick<SceneObject, 'shape' | 'size'>, dx: number, dy: number): boolean {
  const half = o.size / 2;
  switch (o.shape) {
    case 'circle':
      return dx * dx + dy * dy <= half * half;
    case 'square':
      return Math.abs(dx) <= half && Math.abs(dy) <= half;
    case 'triangle':
      // Apex up at (0, -half), base from (-half, half) to (half, half): width grows linearly downwards.
      return dy <= half && dy >= -half && Math.abs(dx) <= (dy + half) / 2;
  }
}

export function renderScene(scene: Scene): RgbPixels {
  const n = scene.imageSize;
  const data = new Uint8Array(n * n * 3);
  for (let i = 0; i < data.length; i += 3) data.set(BACKGROUND, i);
  for (const o of scene.objects) {
    const r = Math.ceil(reach(o)) + 1;
    const color = COLORS[o.color];
    for (let py = Math.max(0, Math.floor(o.y - r)); py < Math.min(n, Math.ceil(o.y + r)); py++) {
      for (let px = Math.max(0, Math.floor(o.x - r)); px < Math.min(n, Math.ceil(o.x + r)); px++) {
        let hits = 0;
        for (let sy = 0; sy < SAMPLES; sy++) {
          for (let sx = 0; sx < SAMPLES; sx++) {
            if (inside(o, px + (sx + 0.5) / SAMPLES - o.x, py + (sy + 0.5) / SAMPLES - o.y)) hits++;
          }
        }
        if (hits === 0) continue;
        const a = hits / (SAMPLES * SAMPLES);
        const at = (py * n + px) * 3;
        for (let c = 0; c < 3; c++) data[at + c] = Math.round(data[at + c] * (1 - a) + color[c] * a);
      }
    }
  }
  return { width: n, height: n, data };
}
