import { describe, expect, it } from 'vitest';
import { expectClose, readGolden } from '../src/testing.js';
import { layerNorm, rmsNorm, softmax, tensor } from '../src/index.js';

const golden = readGolden(new URL('./fixtures/ops.json', import.meta.url));

describe('softmax', () => {
  it('turns log-weights into their normalised weights', () => {
    // exp(log 1, log 2, log 5) = 1, 2, 5 -> divided by 8
    expectClose(softmax(tensor([0, Math.LN2, Math.log(5)], [3])), [1 / 8, 2 / 8, 5 / 8], { atol: 1e-7 });
  });

  it('does not overflow on logits near 1000', () => {
    expectClose(softmax(tensor([1000, 1000], [2])), [0.5, 0.5], { atol: 0 });
  });

  it('matches PyTorch along the last axis and along a middle axis', () => {
    expectClose(softmax(golden['softmax.x']), golden['softmax.y'], { atol: 1e-6 });
    expectClose(softmax(golden['softmax.x'], 1), golden['softmax.y_axis1'], { atol: 1e-6 });
  });
});

describe('rmsNorm', () => {
  it('scales a row to unit root-mean-square, then by the weight', () => {
    // x = [3, 4]: mean(x^2) = 12.5, so y = w * x / sqrt(12.5) (eps 0)
    const y = rmsNorm(tensor([3, 4], [2]), tensor([1, 2], [2]), 0);
    expectClose(y, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], { atol: 1e-6 });
  });

  it('matches the Llama formula computed in PyTorch', () => {
    expectClose(rmsNorm(golden['softmax.x'], golden['norm.w'], 1e-5), golden['rmsnorm.y'], { atol: 1e-5 });
  });

  it('reads f16 weights', () => {
    const y = rmsNorm(tensor([3, 4], [2]), tensor([1, 2], [2], 'f16'), 0);
    expectClose(y, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], { atol: 1e-6 });
  });

  it('names the weight shape that does not match the input', () => {
    expect(() => rmsNorm(tensor([1, 2, 3], [3]), tensor([1, 2], [2]))).toThrow('rmsNorm: weight of shape [2] does not match input [3]');
  });
});

describe('layerNorm', () => {
  it('centres and scales a row to unit variance', () => {
    // x = [1, 3]: mean 2, biased variance 1, so y = [-1, 1] (eps 0)
    expectClose(layerNorm(tensor([1, 3], [2]), undefined, undefined, 0), [-1, 1], { atol: 1e-7 });
  });

  it('matches PyTorch layer_norm with weight and bias', () => {
    expectClose(layerNorm(golden['softmax.x'], golden['norm.w'], golden['norm.b'], 1e-5), golden['layernorm.y'], { atol: 1e-5 });
  });
});
