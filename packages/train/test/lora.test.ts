/**
 * Adapters put on and taken off a loaded model.
 */
import { describe, expect, it } from 'vitest';
import { randn } from '@adsc/core';
import { Llava } from '@adsc/model';
import { attachNewLora, removeAdapters } from '../src/index.js';
import { meanLoss, tinySetup } from './tiny-model.js';

describe('removeAdapters', () => {
  it('gives back exactly the base model\'s loss after an adapter changed it', () => {
    const { model: dir, data } = tinySetup();
    const model = Llava.load(dir);
    const base = meanLoss(model, data);
    const adapter = attachNewLora(model, { r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj', 'down_proj'], baseModelNameOrPath: null }, 1);
    let seed = 10;
    for (const [, m] of adapter.modules) (m.b.data as Float32Array).set(randn(m.b.shape, seed++).toFloat32Array()); // a B that is not zero
    expect(meanLoss(model, data)).not.toBe(base);
    removeAdapters(model);
    expect(meanLoss(model, data)).toBe(base);
  });
});
