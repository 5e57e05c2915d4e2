/**
 * softmax, RMSNorm (Llama) and LayerNorm (CLIP), each over the last axis of a contiguous f32 copy.
 * Weights may be stored in f16 / bf16; they are read as f32.
 */
import { record } from '../autograd/tape.js';
import { ShapeError, formatShape, normalizeAxis } from '../shape.js';
import { Tensor, f32Output, f32Values, fromValues } from '../tensor.js';

/**
 * Numerically stable softmax along `axis`: exp(x - max) / sum exp(x - max). Like PyTorch, a slice
 * that is entirely -Infinity gives NaN.
 */
export function softmax(t: Tensor, axis = -1): Tensor {
  const a = normalizeAxis('softmax', axis, t.rank);
  const n = t.shape[a];
  const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = t.size / Math.max(1, n * inner);
  const x = f32Values(t);
  const [out, o] = f32Output(t.shape);
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const base = i * n * inner + j;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]);
      let s = 0;
      for (let k = 0; k < n; k++) {
        const e = Math.exp(x[base + k * inner] - m);
        o[base + k * inner] = e;
        s += e;
      }
      for (let k = 0; k < n; k++) o[base + k * inner] /= s;
    }
  }
  // dx = y * (g - sum(g * y)) along the axis.
  return record('softmax', [t], out, (g) => {
    const gv = g.toFloat32Array();
    const [dx, d] = f32Output(t.shape);
    for (let i = 0; i < outer; i++) {
      for (let j = 0; j < inner; j++) {
        const base = i * n * inner + j;
        let dot = 0;
        for (let k = 0; k < n; k++) dot += gv[base + k * inner] * o[base + k * inner];
        for (let k = 0; k < n; k++) d[base + k * inner] = o[base + k * inner] * (gv[base + k * inner] - dot);
      }
    }
    return [dx];
  });
}

function checkWeight(op: string, x: Tensor, w: Tensor | undefined, name: string): void {
  const d = x.shape[x.rank - 1];
  if (w && (w.rank !== 1 || w.shape[0] !== d)) {
    throw new ShapeError(`${op}: ${name} of shape ${formatShape(w.shape)} does not match input ${formatShape(x.shape)}`);
  }
}

/**
 * y = w * x / sqrt(mean(x^2) + eps), over the last axis.
 *
 * Backward, per row with r = 1 / sqrt(mean(x^2) + eps) and u = g * w:
 *   dx = r u - x r^3 (u . x) / d        dw = sum over rows of g x r
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  checkWeight('rmsNorm', x, weight, 'weight');
  const d = x.shape[x.rank - 1];
  const v = f32Values(x);
  const w = f32Values(weight);
  const [out, o] = f32Output(x.shape);
  const rows = v.length / Math.max(1, d);
  const invRms = new Float32Array(rows);
  for (let row = 0, r = 0; row < v.length; row += d, r++) {
    let ss = 0;
    for (let k = 0; k < d; k++) ss += v[row + k] * v[row + k];
    const inv = 1 / Math.sqrt(ss / d + eps);
    invRms[r] = inv;
    for (let k = 0; k < d; k++) o[row + k] = w[k] * (v[row + k] * inv);
  }
  return record('rmsNorm', [x, weight], out, (g) => {
    const gv = g.toFloat32Array();
    const [dx, dxv] = f32Output(x.shape);
    const dw = new Float64Array(d);
    for (let row = 0, r = 0; row < v.length; row += d, r++) {
      const inv = invRms[r];
      let dot = 0; // u . x
      for (let k = 0; k < d; k++) dot += gv[row + k] * w[k] * v[row + k];
      const c = (inv * inv * inv * dot) / d;
      for (let k = 0; k < d; k++) {
        dxv[row + k] = inv * gv[row + k] * w[k] - v[row + k] * c;
        dw[k] += gv[row + k] * v[row + k] * inv;
      }
    }
    return [x.requiresGrad ? dx : undefined, weight.requiresGrad ? fromValues(dw, weight.shape) : undefined];
  });
}

/** y = (x - mean) / sqrt(var + eps) * w + b over the last axis (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  checkWeight('layerNorm', x, weight, 'weight');
  checkWeight('layerNorm', x, bias, 'bias');
  const d = x.shape[x.rank - 1];
  const v = f32Values(x);
  const w = weight ? f32Values(weight) : undefined;
  const b = bias ? f32Values(bias) : undefined;
  const [out, o] = f32Output(x.shape);
  const rows = v.length / Math.max(1, d);
  const means = new Float32Array(rows);
  const invStd = new Float32Array(rows);
  for (let row = 0, r = 0; row < v.length; row += d, r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += v[row + k];
    const mu = s / d;
    let ss = 0;
    for (let k = 0; k < d; k++) ss += (v[row + k] - mu) ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    means[r] = mu;
    invStd[r] = inv;
    for (let k = 0; k < d; k++) o[row + k] = (v[row + k] - mu) * inv * (w ? w[k] : 1) + (b ? b[k] : 0);
  }
  // Backward, per row with xhat = (x - mean) r and e = g * w:
  //   dx = r (e - mean(e) - xhat mean(e xhat))    dw = sum of g xhat    db = sum of g
  return record('layerNorm', [x, weight, bias], out, (g) => {
    const gv = g.toFloat32Array();
    const [dx, dxv] = f32Output(x.shape);
    const dw = new Float64Array(d);
    const db = new Float64Array(d);
    for (let row = 0, r = 0; row < v.length; row += d, r++) {
      const mu = means[r];
      const inv = invStd[r];
      let sumE = 0;
      let sumEX = 0;
      for (let k = 0; k < d; k++) {
        const xhat = (v[row + k] - mu) * inv;
        const e = gv[row + k] * (w ? w[k] : 1);
        sumE += e;
        sumEX += e * xhat;
        dw[k] += gv[row + k] * xhat;
        db[k] += gv[row + k];
      }
      for (let k = 0; k < d; k++) {
        const xhat = (v[row + k] - mu) * inv;
        const e = gv[row + k] * (w ? w[k] : 1);
        dxv[row + k] = inv * (e - sumE / d - (xhat * sumEX) / d);
      }
    }
    return [
      x.requiresGrad ? dx : undefined,
      weight?.requiresGrad ? fromValues(dw, weight.shape) : undefined,
      bias?.requiresGrad ? fromValues(db, bias.shape) : undefined,
    ];
  });
}
