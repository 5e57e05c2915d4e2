/**
 * The image the vision tower sees, drawn at an integer scale with its patch grid, and the patches
 * whose vision tokens a decoder layer no longer holds darkened. A kept patch's inside is the
 * image's own pixels, so the browser test can read which tokens the overlay shows as kept straight
 * off the canvas.
 */
import type { RgbImage } from '@adsc/model';

/** How dropped patches are shaded: this colour at this opacity over the image. */
export const DROPPED_SHADE = { rgb: [18, 20, 28] as const, alpha: 0.78 };
const GRID = 'rgba(255, 255, 255, 0.55)';
const KEPT_EDGE = '#f5a623';

/** Draws `image` (side S) scaled by `scale` on `canvas`, with the grid of `patch`-pixel patches and `kept` highlighted. */
export function drawOverlay(canvas: HTMLCanvasElement, image: RgbImage, patch: number, kept: readonly number[], scale: number): void {
  const { width, height } = image;
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('overlay: this browser gives no 2D canvas');

  const rgba = new ImageData(width, height);
  for (let p = 0; p < width * height; p++) rgba.data.set([image.data[3 * p], image.data[3 * p + 1], image.data[3 * p + 2], 255], 4 * p);
  const source = document.createElement('canvas');
  [source.width, source.height] = [width, height];
  source.getContext('2d')!.putImageData(rgba, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, width * scale, height * scale);

  const cols = Math.floor(width / patch);
  const rows = Math.floor(height / patch);
  const cell = patch * scale;
  const keep = new Set(kept);
  const [r, g, b] = DROPPED_SHADE.rgb;
  ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${DROPPED_SHADE.alpha})`;
  for (let i = 0; i < rows * cols; i++) {
    if (!keep.has(i)) ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell, cell);
  }
  // Grid lines on the patch borders, and an edge around each kept patch (its inside stays untouched).
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let c = 0; c <= cols; c++) [ctx.moveTo(c * cell + 0.5, 0), ctx.lineTo(c * cell + 0.5, rows * cell)];
  for (let row = 0; row <= rows; row++) [ctx.moveTo(0, row * cell + 0.5), ctx.lineTo(cols * cell, row * cell + 0.5)];
  ctx.stroke();
  ctx.strokeStyle = KEPT_EDGE;
  ctx.lineWidth = 2;
  for (const i of keep) ctx.strokeRect((i % cols) * cell + 1, Math.floor(i / cols) * cell + 1, cell - 2, cell - 2);
}
