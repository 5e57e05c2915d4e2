import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import { Weights, tensorMap } from '../src/index.js';

const w = new Weights(tensorMap({ 'model.layers.0.w': tensor([1, 2, 3, 4], [2, 2]) }), '', 'ckpt');

describe('Weights', () => {
  it('joins scopes with dots', () => {
    expect(w.scope('model').scope('layers.0').get('w', [2, 2]).toArray()).toEqual([1, 2, 3, 4]);
  });

  it('names the full tensor name when it is missing', () => {
    expect(() => w.scope('model.layers.1').get('w')).toThrow('ckpt: missing tensor model.layers.1.w');
  });

  it('names both shapes when the checkpoint disagrees with the config', () => {
    expect(() => w.get('model.layers.0.w', [4])).toThrow('ckpt: tensor model.layers.0.w has shape [2, 2], but the config implies [4]');
  });

  it('finds the first prefix under which a probe exists', () => {
    expect(w.findScope(['lm', 'model.layers.0'], 'w').prefix).toBe('model.layers.0');
    expect(() => w.findScope(['a', 'b'], 'w')).toThrow('ckpt: missing tensor w under any of a., b.');
  });
});
