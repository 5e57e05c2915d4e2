/**
 * The training loss and every parameter's gradient of a whole tiny LLaVA (vision tower, projector
 * and LLM all trainable) against the independent PyTorch reference (scripts/grad_golden.py, float64),
 * without a schedule and under ADSC.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, backward, randn, tensor } from '@adsc/core';
import { expectClose, finiteDifferences, tapeGradients } from '@adsc/core/testing';
import { openCheckpoint } from '@adsc/safetensors';
import { Llava, PromptError, lmLoss, parseSchedule, readConfig, rope, ropeTables, tensorMap } from '../src/index.js';
import { checkpointDir, pixels } from './golden.js';

interface GradCase {
  loss: number;
  summaries: Record<string, [number, number, number]>;
  full: Record<string, { shape: number[]; data: number[] }>;
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/golden/grads.json', import.meta.url), 'utf8')) as {
  input_ids: number[];
  labels: number[];
  cases: Record<string, GradCase>;
};

/** tiny-gqa with every tensor as an f32 master copy that requires a gradient. */
function trainableModel(): { model: Llava; params: Map<string, Tensor> } {
  const dir = checkpointDir('tiny-gqa');
  const source = openCheckpoint(dir);
  const params = new Map(source.names().map((name) => [name, source.tensor(name).to('f32').requireGrad()]));
  return { model: Llava.fromWeights(tensorMap(Object.fromEntries(params)), readConfig(dir)), params };
}

/** sum, sum of |g| and sum of g_i cos(0.1 i): the fixture's summaries of one gradient. */
function summaries(g: Tensor): [number, number, number] {
  const v = g.toFloat32Array();
  let s = 0;
  let a = 0;
  let c = 0;
  v.forEach((x, i) => {
    s += x;
    a += Math.abs(x);
    c += x * Math.cos(0.1 * i);
  });
  return [s, a, c];
}

for (const [spec, expected] of Object.entries(golden.cases)) {
  describe(`the LLaVA training loss with schedule ${spec}`, () => {
    const { model, params } = trainableModel();
    const schedule = spec === 'none' ? undefined : parseSchedule(spec, { numLayers: 6 });
    const { loss } = lmLoss(model, { inputIds: golden.input_ids, labels: golden.labels, pixels: pixels('pixels-a.bin') }, { schedule, reduction: 'mean' });
    backward(loss);

    it('equals PyTorch\'s mean cross-entropy', () => {
      expect(Math.abs(loss.toFloat32Array()[0] - expected.loss)).toBeLessThan(1e-5 * expected.loss);
    });

    it('gives exactly the tensors PyTorch differentiates a gradient (the unused last CLIP layer gets none)', () => {
      const withGrad = [...params].filter(([, t]) => t.grad !== undefined).map(([n]) => n).sort();
      expect(withGrad).toEqual(Object.keys(expected.summaries).sort());
    });

    it('matches every parameter gradient\'s summaries within 1e-4 of its size', () => {
      for (const [name, [sum, abs, cos]] of Object.entries(expected.summaries)) {
        const [s, a, c] = summaries(params.get(name)!.grad!);
        // 1e-7: f32 rounding noise, for the gradients that are exactly zero (the key biases, below).
        const tol = 1e-4 * abs + 1e-7;
        expect(Math.abs(s - sum), `${name} sum`).toBeLessThan(tol);
        expect(Math.abs(a - abs), `${name} |sum|`).toBeLessThan(tol);
        expect(Math.abs(c - cos), `${name} cos`).toBeLessThan(tol);
      }
    });

    it('gives the attention key biases a zero gradient (softmax ignores a shift shared by a row)', () => {
      const [, abs] = summaries(params.get('vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.bias')!.grad!);
      expect(abs).toBeLessThan(1e-7);
      expect(expected.summaries['vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.bias'][1]).toBeLessThan(1e-15);
    });

    it('matches six whole gradients elementwise within 1e-4 relative to their largest entry', () => {
      for (const [name, { shape, data }] of Object.entries(expected.full)) {
        const largest = data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expectClose(params.get(name)!.grad!, tensor(data, shape), { atol: 1e-4 * largest });
      }
    });
  });
}

describe('gradient checkpointing', () => {
  it('gives the same parameter gradients as keeping every activation', () => {
    const example = { inputIds: golden.input_ids, labels: golden.labels, pixels: pixels('pixels-a.bin') };
    const schedule = parseSchedule('adsc:1=0.5,3=0.5');
    const plain = trainableModel();
    backward(lmLoss(plain.model, example, { schedule }).loss);
    const recomputed = trainableModel();
    backward(lmLoss(recomputed.model, example, { schedule, checkpoint: true }).loss);
    for (const [name, t] of plain.params) {
      if (t.grad) expectClose(recomputed.params.get(name)!.grad!, t.grad, { atol: 1e-6 });
    }
  });
});

describe('lmLoss refuses what it cannot compute', () => {
  const { model } = trainableModel();
  const image = pixels('pixels-a.bin');

  it('refuses a schedule that drops the token before a labelled token', () => {
    // Label the token right after the image: its predecessor is the last vision token, which
    // adsc:0=0.5 drops (it keeps the even ones of 64).
    const ids = golden.input_ids;
    const labels = ids.map((id, t) => (t === 5 ? id : -100));
    expect(() => lmLoss(model, { inputIds: ids, labels, pixels: image }, { schedule: parseSchedule('adsc:0=0.5') })).toThrow(PromptError);
    expect(() => lmLoss(model, { inputIds: ids, labels, pixels: image }, { schedule: parseSchedule('adsc:0=0.5') })).toThrow(
      'drops the token before labelled position 68',
    );
  });

  it('refuses a label on the image token', () => {
    const labels = golden.labels.map((l, t) => (t === 4 ? 300 : l));
    expect(() => lmLoss(model, { inputIds: golden.input_ids, labels, pixels: image })).toThrow('the image token at position 4 has label 300');
  });

  it('refuses labels of the wrong length', () => {
    expect(() => lmLoss(model, { inputIds: golden.input_ids, labels: [-100], pixels: image })).toThrow('labels has 1 entries for 17 input ids');
  });
});

describe('rope', () => {
  it('has the gradient of central finite differences (the rotation by the opposite angle)', () => {
    const tables = ropeTables([0, 3, 7], 4, 10000);
    const f = (x: Tensor) => rope(x, 2, tables);
    const g = randn([3, 8], 2);
    const [grad] = tapeGradients(f, [randn([3, 8], 1)], g);
    expectClose(grad!, finiteDifferences(f, [randn([3, 8], 1)], 0, g), { atol: 2e-3 });
  });
});
