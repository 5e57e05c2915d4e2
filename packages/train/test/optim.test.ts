import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Tensor, tensor, zeros } from '@adsc/core';
import { expectClose, readGolden } from '@adsc/core/testing';
import { save } from '@adsc/safetensors';
import { AdamW, Sgd, clipGradNorm, defaultDecay, gradNorm, readOptimizerState, saveOptimizerState, type Parameter } from '../src/index.js';

const golden = readGolden(new URL('./fixtures/optim.json', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'adsc-optim-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function clone(t: Tensor): Tensor {
  return tensor(t.toFloat32Array(), t.shape);
}

/** The golden fixture's two parameters: "w" [2, 3] decays, "b" [3] does not. */
function goldenParams(): Parameter[] {
  return [
    { name: 'w', value: clone(golden.w0), decay: true },
    { name: 'b', value: clone(golden.b0), decay: false },
  ];
}

/** Runs the fixture's three steps; in step `skipB` "b" has no gradient. Checks every step. */
function replay(opt: AdamW | Sgd, run: string, lr: number, skipB?: number): void {
  const [w, b] = goldenParams();
  for (let k = 1; k <= 3; k++) {
    w.grad = golden[`grad${k}.w`];
    b.grad = k === skipB ? undefined : golden[`grad${k}.b`];
    opt.step([w, b], lr);
    expectClose(w.value, golden[`${run}.step${k}.w`], { atol: 1e-6, rtol: 1e-5 });
    expectClose(b.value, golden[`${run}.step${k}.b`], { atol: 1e-6, rtol: 1e-5 });
  }
}

describe('AdamW', () => {
  it('moves each weight by lr times the sign of its gradient on step 1, after decoupled decay', () => {
    // t = 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) ~ lr * sign(g).
    // w = [1, -2], lr 0.1, wd 0.5: w * (1 - 0.05) - 0.1 * sign(g) = [0.95 - 0.1, -1.9 + 0.1]
    const p: Parameter = { name: 'w', value: tensor([1, -2], [1, 2]), grad: tensor([2, -0.5], [1, 2]), decay: true };
    new AdamW({ weightDecay: 0.5 }).step([p], 0.1);
    expectClose(p.value, tensor([0.85, -1.8], [1, 2]), { atol: 1e-7 });
  });

  it('scales decay and step by a parameter\'s lrScale', () => {
    // lr 0.1 x lrScale 3 = 0.3: w * (1 - 0.3 * 0.5) - 0.3 * sign(g) = [0.85 - 0.3, -1.7 + 0.3]
    const p: Parameter = { name: 'w', value: tensor([1, -2], [1, 2]), grad: tensor([2, -0.5], [1, 2]), decay: true, lrScale: 3 };
    new AdamW({ weightDecay: 0.5 }).step([p], 0.1);
    expectClose(p.value, tensor([0.55, -1.4], [1, 2]), { atol: 2e-7 });
  });

  it('does not decay a parameter whose decay flag is off', () => {
    const p: Parameter = { name: 'b', value: tensor([1], [1]), grad: tensor([2], [1]), decay: false };
    new AdamW({ weightDecay: 0.5 }).step([p], 0.1);
    expectClose(p.value, tensor([0.9], [1]), { atol: 1e-7 }); // 1 - 0.1 * sign(2)
  });

  it('matches torch.optim.AdamW over three steps with weight decay and a skipped gradient', () => {
    replay(new AdamW({ weightDecay: 0.1 }), 'adamw', 0.01, 2);
  });

  it('matches torch.optim.AdamW over three steps without weight decay', () => {
    replay(new AdamW({ weightDecay: 0 }), 'adamw_nodecay', 0.01, 2);
  });

  it('leaves a parameter without a gradient untouched', () => {
    const p: Parameter = { name: 'b', value: tensor([1, 2], [2]), decay: true };
    new AdamW().step([p], 0.1);
    expect(p.value.toArray()).toEqual([1, 2]);
  });

  it('resumes exactly from a saved and reloaded state', () => {
    const first = new AdamW({ weightDecay: 0.1 });
    const [w, b] = goldenParams();
    w.grad = golden['grad1.w'];
    b.grad = golden['grad1.b'];
    first.step([w, b], 0.01);
    const path = join(tmp, 'adamw.safetensors');
    saveOptimizerState(path, first.state());

    const resumed = new AdamW({ weightDecay: 0.1 });
    resumed.loadState(readOptimizerState(path));
    w.grad = golden['grad2.w'];
    b.grad = undefined;
    resumed.step([w, b], 0.01);
    expectClose(w.value, golden['adamw.step2.w'], { atol: 1e-6, rtol: 1e-5 });
    expectClose(b.value, golden['adamw.step2.b'], { atol: 1e-6, rtol: 1e-5 });
  });

  it('refuses a state built with other hyperparameters', () => {
    expect(() => new AdamW({ beta1: 0.8 }).loadState(new AdamW().state())).toThrow('built with beta1 0.9, this optimizer has 0.8');
  });

  it('refuses a state of the other optimizer', () => {
    expect(() => new AdamW().loadState(new Sgd().state())).toThrow('the state is of optimizer "sgd", not "adamw"');
  });

  it('names the missing tensor of an incomplete state', () => {
    const state = new AdamW().state();
    state.steps.w = 1;
    state.tensors['w.exp_avg'] = zeros([2]);
    expect(() => new AdamW().loadState(state)).toThrow('AdamW.loadState: tensor "w.exp_avg_sq" is missing');
  });

  it('refuses a negative learning rate', () => {
    expect(() => new AdamW().step([], -1)).toThrow('AdamW.step: lr must be >= 0, not -1');
  });

  it('names the parameter whose gradient has the wrong shape', () => {
    const p: Parameter = { name: 'layers.0.q', value: zeros([2, 2]), grad: zeros([4]), decay: true };
    expect(() => new AdamW().step([p], 0.1)).toThrow('parameter "layers.0.q": grad shape [4] != value shape [2, 2]');
  });

  it('refuses a value it cannot update in place', () => {
    const p: Parameter = { name: 'w', value: zeros([2, 2], 'f16'), grad: zeros([2, 2]), decay: true };
    expect(() => new AdamW().step([p], 0.1)).toThrow('parameter "w": value must be a contiguous f32 tensor');
  });
});

describe('Sgd', () => {
  it('subtracts lr times the gradient', () => {
    const p: Parameter = { name: 'w', value: tensor([1, 1], [1, 2]), grad: tensor([2, -1], [1, 2]), decay: true };
    new Sgd().step([p], 0.1);
    expectClose(p.value, tensor([0.8, 1.1], [1, 2]), { atol: 1e-7 });
  });

  it('subtracts lr times lrScale times the gradient', () => {
    const p: Parameter = { name: 'w', value: tensor([1, 1], [1, 2]), grad: tensor([2, -1], [1, 2]), decay: true, lrScale: 0.5 };
    new Sgd().step([p], 0.1);
    expectClose(p.value, tensor([0.9, 1.05], [1, 2]), { atol: 1e-7 });
  });

  it('accumulates momentum from the first gradient on', () => {
    // b1 = g1 = 1: w = 1 - 0.1 = 0.9; b2 = 0.9 * 1 + 2 = 2.9: w = 0.9 - 0.29 = 0.61
    const p: Parameter = { name: 'w', value: tensor([1], [1]), grad: tensor([1], [1]), decay: false };
    const sgd = new Sgd({ momentum: 0.9 });
    sgd.step([p], 0.1);
    p.grad = tensor([2], [1]);
    sgd.step([p], 0.1);
    expectClose(p.value, tensor([0.61], [1]), { atol: 1e-7 });
  });

  it('matches torch.optim.SGD over three steps', () => {
    replay(new Sgd(), 'sgd', 0.1);
  });

  it('matches torch.optim.SGD over three steps with momentum and weight decay', () => {
    replay(new Sgd({ momentum: 0.9, weightDecay: 0.05 }), 'sgd_momentum_decay', 0.1);
  });

  it('resumes its momentum exactly from a saved and reloaded state', () => {
    const first = new Sgd({ momentum: 0.9, weightDecay: 0.05 });
    const [w, b] = goldenParams();
    w.grad = golden['grad1.w'];
    b.grad = golden['grad1.b'];
    first.step([w, b], 0.1);
    const path = join(tmp, 'sgd.safetensors');
    saveOptimizerState(path, first.state());

    const resumed = new Sgd({ momentum: 0.9, weightDecay: 0.05 });
    resumed.loadState(readOptimizerState(path));
    w.grad = golden['grad2.w'];
    b.grad = golden['grad2.b'];
    resumed.step([w, b], 0.1);
    expectClose(w.value, golden['sgd_momentum_decay.step2.w'], { atol: 1e-6, rtol: 1e-5 });
    expectClose(b.value, golden['sgd_momentum_decay.step2.b'], { atol: 1e-6, rtol: 1e-5 });
  });
});

describe('readOptimizerState', () => {
  it('refuses a safetensors file that holds no optimizer state', () => {
    const path = join(tmp, 'weights.safetensors');
    save(path, { w: zeros([2]) });
    expect(() => readOptimizerState(path)).toThrow(`${path}: not an optimizer state (no "adsc_optimizer" metadata)`);
  });
});

describe('gradNorm', () => {
  it('is the L2 norm over every gradient and leaves them as they are: |(3, 4)| + |(12)| -> 13', () => {
    const a: Parameter = { name: 'a', value: zeros([2]), grad: tensor([3, 4], [2]), decay: false };
    const b: Parameter = { name: 'b', value: zeros([1]), grad: tensor([12], [1]), decay: false };
    expect(gradNorm([a, b])).toBe(13);
    expect(a.grad!.toArray()).toEqual([3, 4]);
  });
});

describe('clipGradNorm', () => {
  it('scales gradients of global norm 5 down to norm 1 and returns 5', () => {
    // sqrt(3^2 + 4^2) = 5; every g *= 1 / (5 + 1e-6)
    const a: Parameter = { name: 'a', value: zeros([1]), grad: tensor([3], [1]), decay: false };
    const b: Parameter = { name: 'b', value: zeros([1]), grad: tensor([4], [1]), decay: false };
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    expectClose((a.grad as Tensor).toArray(), [0.6], { atol: 1e-6 });
    expectClose((b.grad as Tensor).toArray(), [0.8], { atol: 1e-6 });
  });

  it('leaves gradients under the limit untouched', () => {
    const a: Parameter = { name: 'a', value: zeros([2]), grad: tensor([3, 4], [2]), decay: false };
    expect(clipGradNorm([a], 10)).toBeCloseTo(5, 6);
    expect((a.grad as Tensor).toArray()).toEqual([3, 4]);
  });

  for (const [name, maxNorm] of [['clip_small', 0.5], ['clip_large', 100]] as const) {
    it(`matches torch's clip_grad_norm_ with max norm ${maxNorm}`, () => {
      const [w, b] = goldenParams();
      w.grad = clone(golden['grad1.w']);
      b.grad = clone(golden['grad1.b']);
      expectClose([clipGradNorm([w, b], maxNorm)], golden[`${name}.total`], { rtol: 1e-6 });
      expectClose(w.grad, golden[`${name}.w`], { atol: 1e-7, rtol: 1e-6 });
      expectClose(b.grad, golden[`${name}.b`], { atol: 1e-7, rtol: 1e-6 });
    });
  }
});

describe('defaultDecay', () => {
  it('decays matrices and not vectors', () => {
    expect(defaultDecay('model.layers.0.self_attn.q_proj.weight', [64, 64])).toBe(true);
    expect(defaultDecay('model.norm.weight', [64])).toBe(false);
  });
});
