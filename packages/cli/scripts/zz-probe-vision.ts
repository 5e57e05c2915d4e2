// Are circle and square separable in the projected vision features? A logistic-regression probe
// on pooled features of one-object scenes (circle or square, 42-84 px), trained on 300, tested on 100.
import { noGrad } from '@adsc/core';
import { Llava } from '@adsc/model';
import { generateShapes, renderScene } from '@adsc/shapes';
const model = Llava.load(process.argv[2]);
const recs = generateShapes({ seed: 77, count: 1200, layout: { minObjects: 1, maxObjects: 1, sizes: [42, 56, 70, 84] } })
  .filter((r) => r.scene.objects[0].shape !== 'triangle').slice(0, 400);
const X: number[][] = [];
const y: number[] = [];
noGrad(() => {
  for (const r of recs) {
    const f = model.encodeImage(model.pixels(renderScene(r.scene))).toFloat32Array(); // [144, d]
    const d = f.length / 144;
    const mean = new Array(d).fill(0), max = new Array(d).fill(-Infinity);
    for (let t = 0; t < 144; t++) for (let i = 0; i < d; i++) { mean[i] += f[t * d + i] / 144; max[i] = Math.max(max[i], f[t * d + i]); }
    X.push([...mean, ...max, 1]);
    y.push(r.scene.objects[0].shape === 'circle' ? 1 : 0);
  }
});
// standardise
const D = X[0].length;
for (let i = 0; i < D - 1; i++) {
  const m = X.slice(0, 300).reduce((s, x) => s + x[i], 0) / 300;
  const sd = Math.sqrt(X.slice(0, 300).reduce((s, x) => s + (x[i] - m) ** 2, 0) / 300) || 1;
  for (const x of X) x[i] = (x[i] - m) / sd;
}
const w = new Array(D).fill(0);
for (let it = 0; it < 3000; it++) {
  const g = new Array(D).fill(0);
  for (let n = 0; n < 300; n++) {
    const z = X[n].reduce((s, v, i) => s + v * w[i], 0);
    const p = 1 / (1 + Math.exp(-z));
    for (let i = 0; i < D; i++) g[i] += (p - y[n]) * X[n][i] / 300;
  }
  for (let i = 0; i < D; i++) w[i] -= 0.1 * (g[i] + 1e-3 * w[i]);
}
const acc = (a: number, b: number) => { let c = 0; for (let n = a; n < b; n++) { const z = X[n].reduce((s, v, i) => s + v * w[i], 0); c += (z > 0 ? 1 : 0) === y[n] ? 1 : 0; } return c / (b - a); };
console.log(process.argv[2], 'train', acc(0, 300), 'test', acc(300, 400), 'circles', y.filter(Boolean).length);
