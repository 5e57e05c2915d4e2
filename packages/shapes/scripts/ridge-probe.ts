/** The linear probe of linear-probe.ts, layer-probe.ts and position-probe.ts, and which patches they read as an object's. */
import type { RgbImage } from '@adsc/model';
import { BACKGROUND } from '../src/index.js';

/** Whether the centre pixel of patch t (row-major on a grid of `patch`-px patches) is not background. */
export function centreOnObject(image: RgbImage, t: number, grid: number, patch: number): boolean {
  const y = Math.floor(t / grid) * patch + patch / 2;
  const x = (t % grid) * patch + patch / 2;
  const at = (Math.floor(y) * image.width + Math.floor(x)) * 3;
  return BACKGROUND.some((c, k) => image.data[at + k] !== c);
}

/** Ridge regression of one-hot answers on standardised features (plus a bias), scored by argmax. */
export function probe(rows: number[][], labels: string[], classes: string[], split: number, ridge: number): number {
  const d = rows[0].length;
  const mean = Array.from({ length: d }, (_, j) => rows.slice(0, split).reduce((s, r) => s + r[j], 0) / split);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(rows.slice(0, split).reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / split) + 1e-8);
  const z = rows.map((r) => [...r.map((v, j) => (v - mean[j]) / std[j]), 1]);
  const n = d + 1;
  // Normal equations: (Z^T Z + ridge I) W = Z^T Y, solved by Gaussian elimination with partial pivoting.
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n + classes.length }, (_, j) => {
    if (j < n) return z.slice(0, split).reduce((s, r) => s + r[i] * r[j], 0) + (i === j ? ridge : 0);
    return z.slice(0, split).reduce((s, r, k) => s + (labels[k] === classes[j - n] ? r[i] : 0), 0);
  }));
  for (let c = 0; c < n; c++) {
    const p = a.reduce((best, row, i) => (i >= c && Math.abs(row[c]) > Math.abs(a[best][c]) ? i : best), c);
    [a[c], a[p]] = [a[p], a[c]];
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = a[i][c] / a[c][c];
      for (let j = c; j < n + classes.length; j++) a[i][j] -= f * a[c][j];
    }
  }
  const w = (i: number, k: number) => a[i][n + k] / a[i][i];
  let correct = 0;
  for (let r = split; r < rows.length; r++) {
    const scores = classes.map((_, k) => z[r].reduce((s, v, i) => s + v * w(i, k), 0));
    if (classes[scores.indexOf(Math.max(...scores))] === labels[r]) correct++;
  }
  return correct / (rows.length - split);
}
