import { describe, expect, it } from 'vitest';
import { learningRate } from '../src/index.js';

const options = { base: 1e-3, warmupSteps: 2, totalSteps: 6 };

describe('learningRate', () => {
  it('warms up linearly from 0, so the first step runs at lr 0 as in Hugging Face', () => {
    expect(learningRate('cosine', 0, options)).toBe(0);
    expect(learningRate('cosine', 1, options)).toBeCloseTo(0.5e-3, 15); // 1/2 of base
    expect(learningRate('constant', 1, options)).toBeCloseTo(0.5e-3, 15);
  });

  it('holds the base rate after warmup on the constant schedule', () => {
    expect(learningRate('constant', 2, options)).toBe(1e-3);
    expect(learningRate('constant', 6, options)).toBe(1e-3);
  });

  it('follows half a cosine from base to 0 after warmup', () => {
    // progress = (step - 2) / 4: 0 -> 1, 1/4 -> (1 + cos(pi/4)) / 2 = 0.853553..., 1/2 -> 1/2, 1 -> 0
    expect(learningRate('cosine', 2, options)).toBeCloseTo(1e-3, 15);
    expect(learningRate('cosine', 3, options)).toBeCloseTo(0.8535533905932737e-3, 15);
    expect(learningRate('cosine', 4, options)).toBeCloseTo(0.5e-3, 15);
    expect(learningRate('cosine', 6, options)).toBeCloseTo(0, 15);
  });

  it('starts the cosine at base when there is no warmup', () => {
    expect(learningRate('cosine', 0, { base: 2, warmupSteps: 0, totalSteps: 4 })).toBe(2);
    expect(learningRate('cosine', 2, { base: 2, warmupSteps: 0, totalSteps: 4 })).toBeCloseTo(1, 15);
  });

  it('refuses a step past the end of the run', () => {
    expect(() => learningRate('cosine', 7, options)).toThrow('step must be an integer in [0, totalSteps = 6], not 7');
  });

  it('refuses an unknown schedule name', () => {
    expect(() => learningRate('linear' as 'constant', 3, options)).toThrow('unknown schedule "linear"');
  });
});
