/**
 * conv2dPatches: a 2-D convolution whose stride equals its kernel, i.e. the ViT patch embedding.
 * Each non-overlapping k x k patch is flattened (channel-major, like the weight) into one row,
 * and all rows go through a single `linear` with the [O, C*k*k] view of the weight.
 */
import { record } from '../autograd/tape.js';
import { ShapeError, formatShape } from '../shape.js';
import { Tensor, f32Output, f32Values } from '../tensor.js';
import { linear } from './matmul.js';

/**
 * x [C, H, W] or [B, C, H, W], weight [O, C, k, k] (bias [O] optional) -> [O, H/k, W/k] or
 * [B, O, H/k, W/k], exactly PyTorch's conv2d(x, weight, bias, stride=k). H and W must be multiples of k.
 */
export function conv2dPatches(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (x.rank === 3) return conv2dPatches(x.unsqueeze(0), weight, bias).squeeze(0);
  if (x.rank !== 4 || weight.rank !== 4) {
    throw new ShapeError(`conv2dPatches: expected x [B, C, H, W] and weight [O, C, k, k], got ${formatShape(x.shape)} and ${formatShape(weight.shape)}`);
  }
  const [batch, channels, height, width] = x.shape;
  const [outC, inC, kh, kw] = weight.shape;
  if (inC !== channels || kh !== kw || height % kh !== 0 || width % kw !== 0) {
    throw new ShapeError(`conv2dPatches: input ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} (stride = kernel)`);
  }
  const k = kh;
  const gh = height / k; // patches per column
  const gw = width / k; // patches per row
  const patches = im2col(x, k); // [B * gh * gw, C * k * k]
  // The weight's gradient flows through linear and the reshape; the pixels' through im2col.
  const tokens = linear(patches, weight.reshape([outC, channels * k * k]), bias); // [B * gh * gw, O]
  return tokens.reshape([batch, gh, gw, outC]).permute([0, 3, 1, 2]).contiguous(); // [B, O, gh, gw]
}

/**
 * x [B, C, H, W] -> patches [B * gh * gw, C * k * k]: row p = patch (py, px), column = (c, dy, dx).
 * The patches do not overlap, so the backward (col2im) puts every gradient back where its pixel
 * came from: the same loop with the copy reversed.
 */
function im2col(x: Tensor, k: number): Tensor {
  const [batch, channels, height, width] = x.shape;
  const gh = height / k;
  const gw = width / k;
  const walk = (visit: (pixel: number, patch: number) => void): void => {
    let o = 0;
    for (let b = 0; b < batch; b++) {
      for (let py = 0; py < gh; py++) {
        for (let px = 0; px < gw; px++) {
          for (let c = 0; c < channels; c++) {
            for (let dy = 0; dy < k; dy++) {
              const row = ((b * channels + c) * height + py * k + dy) * width + px * k;
              for (let dx = 0; dx < k; dx++) visit(row + dx, o++);
            }
          }
        }
      }
    }
  };
  const src = f32Values(x);
  const [patches, p] = f32Output([batch * gh * gw, channels * k * k]);
  walk((pixel, patch) => (p[patch] = src[pixel]));
  return record('im2col', [x], patches, (g) => {
    const gv = g.toFloat32Array();
    const [dx, d] = f32Output(x.shape);
    walk((pixel, patch) => (d[pixel] = gv[patch]));
    return [dx];
  });
}
