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

describe('independent turns (a stem and branches)', () => {
  // The golden prompt's stem runs through the image token (id 300 at position 4); two turns follow.
  const stem = golden.input_ids.slice(0, 5);
  const M = -100;
  const turnA = { ids: [51, 8, 260, 140, 3, 99], labels: [M, M, M, 140, 3, 99] };
  const turnB = { ids: [211, 36, 174, 12, 58, 2, 77], labels: [M, M, 174, 12, M, 2, 77] };
  const image = pixels('pixels-a.bin');
  const single = (t: typeof turnA) => ({ inputIds: [...stem, ...t.ids], labels: [...stem.map(() => M), ...t.labels], pixels: image });
  const branched = {
    inputIds: [...stem, ...turnA.ids, ...turnB.ids],
    labels: [...stem.map(() => M), ...turnA.labels, ...turnB.labels],
    pixels: image,
    branches: [turnA.ids.length, turnB.ids.length],
  };

  /** Loss and every gradient of the two turns as two single-turn records, summed, and as one branched record. */
  function compare(schedule?: ReturnType<typeof parseSchedule>, checkpoint = false) {
    const apart = trainableModel();
    let lossApart = 0;
    for (const t of [turnA, turnB]) {
      const { loss } = lmLoss(apart.model, single(t), { schedule, checkpoint });
      lossApart += loss.toFloat32Array()[0];
      backward(loss);
    }
    const together = trainableModel();
    const { loss, count } = lmLoss(together.model, branched, { schedule, checkpoint });
    backward(loss);
    return { lossApart, lossTogether: loss.toFloat32Array()[0], count, apart: apart.params, together: together.params };
  }

  for (const [name, spec, positions] of [
    ['without a schedule', undefined, undefined],
    ['under ADSC, original positions', 'adsc:1=0.5,3=0.5', 'original'],
    ['under ADSC, renumbered positions', 'adsc:1=0.5,3=0.5', 'renumber'],
  ] as const) {
    it(`give the loss and gradients of each turn trained alone, ${name}`, () => {
      const schedule = spec === undefined ? undefined : parseSchedule(spec, { numLayers: 6, positions });
      const r = compare(schedule);
      expect(r.count).toBe(3 + 4);
      expect(Math.abs(r.lossTogether - r.lossApart)).toBeLessThan(1e-5 * r.lossApart);
      for (const [param, t] of r.apart) {
        // The key biases' gradients are zero up to rounding (~1e-8): the floor of 1e-6 covers them.
        if (t.grad) expectClose(r.together.get(param)!.grad!, t.grad, { atol: 1e-5 * Math.max(0.1, maxAbs(t.grad)) });
        else expect(r.together.get(param)!.grad).toBeUndefined();
      }
    });
  }

  it('give the same gradients with gradient checkpointing', () => {
    const r = compare(parseSchedule('adsc:1=0.5'), true);
    for (const [param, t] of r.apart) if (t.grad) expectClose(r.together.get(param)!.grad!, t.grad, { atol: 1e-5 * Math.max(0.1, maxAbs(t.grad)) });
  });

  it('differ from the chained record, where turn B sees turn A', () => {
    const { model } = trainableModel();
    const chained = lmLoss(model, { ...branched, branches: undefined }).loss.toFloat32Array()[0];
    const apart = lmLoss(model, branched).loss.toFloat32Array()[0];
    expect(Math.abs(chained - apart)).toBeGreaterThan(1e-3);
  });

  it('refuse a label on a branch\'s first token (another branch would predict it)', () => {
    const { model } = trainableModel();
    const labels = branched.labels.map((l, t) => (t === 11 ? 211 : l));
    expect(() => lmLoss(model, { ...branched, labels })).toThrow('position 11 starts a branch and has label 211; it must be -100');
  });

  it('refuse a schedule that ranks tokens by attention', () => {
    const { model } = trainableModel();
    expect(() => lmLoss(model, branched, { schedule: parseSchedule('fastv:K=2,R=0.5') })).toThrow(/independent branches runs in training only.*fastv/);
  });
});

function maxAbs(t: Tensor): number {
  return t.toFloat32Array().reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

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
