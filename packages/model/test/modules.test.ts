import { describe, expect, it } from 'vitest';
import { rmsNorm } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { KVCache, Llava, rope, ropeTables, tokenPositions } from '../src/index.js';
import { checkpointDir, modules as g } from './golden.js';

// All module fixtures use tiny-gqa's weights (text d 96, 6 heads of 16, 2 KV heads; vision d 48).
const model = Llava.load(checkpointDir('tiny-gqa'));
const layer0 = model.decoder.layers[0];

describe('modules against the PyTorch reference', () => {
  it('RMSNorm of layer 0 matches', () => {
    expectClose(rmsNorm(g['rmsnorm.x'], layer0.w.inputNorm, 1e-5), g['rmsnorm.y'], { atol: 1e-5 });
  });

  it('RoPE rotates each head by its position, including non-contiguous positions', () => {
    const y = rope(g['rope.x'], 6, ropeTables(g['rope.positions'].toArray(), 16, 10000));
    expectClose(y, g['rope.y'], { atol: 1e-5 });
  });

  it('a CLIP encoder layer matches', () => {
    expectClose(model.vision.layers[0].forward(g['clip_layer.x']), g['clip_layer.y'], { atol: 1e-4 });
  });

  it('the vision tower yields hidden_states[-2] without CLS', () => {
    const hidden = model.vision.forward(g['vision.pixels'], -2); // [65, 48]
    expectClose(hidden.narrow(0, 1, 64), g['vision.features'], { atol: 1e-4 });
  });

  it('the projector maps vision features into the text width', () => {
    expectClose(model.projector.forward(g['vision.features']), g['projector.y'], { atol: 1e-4 });
  });

  it('a decoder layer matches on a prefill and on the decode step after it', () => {
    const cache = new KVCache(1, 2, 16);
    const prefill = layer0.forward(g['decoder_layer.x'], tokenPositions(Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 16, 10000), cache.layers[0]);
    expectClose(prefill.out, g['decoder_layer.y'], { atol: 1e-4 });
    const step = layer0.forward(g['decoder_layer.decode_x'], tokenPositions(Int32Array.of(7), 16, 10000), cache.layers[0]);
    expectClose(step.out, g['decoder_layer.decode_y'], { atol: 1e-4 });
    expect(cache.layers[0].length).toBe(8);
  });
});
