/**
 * Optimizers: AdamW and SGD as torch.optim implements them, and global-norm gradient clipping.
 *
 * A `Parameter` is a trainable f32 tensor that the optimizer updates in place, with the gradient
 * the backward pass left beside it. The optimizers keep their per-parameter state (moments,
 * momentum buffers, step counts) by parameter name, so that `state()` can be saved next to a
 * checkpoint and `loadState()` resumes training exactly where it stopped. As in PyTorch, each
 * parameter counts its own steps: one that had no gradient in some step does not advance, and its
 * bias correction stays where it was.
 *
 * Arithmetic is in doubles on f32 storage (moments are stored f32, as torch keeps them), so results
 * match PyTorch's f32 kernels to a few ulps, not bit for bit.
 */
import { formatShape, Tensor, f32Values, tensor as makeTensor } from '@adsc/core';

export interface Parameter {
  /** Unique within one optimizer: the state is kept under this name. */
  name: string;
  /** f32, contiguous; updated in place. */
  value: Tensor;
  /** f32, the shape of `value`; a parameter without one is skipped by `step`. */
  grad?: Tensor;
  /** Whether weight decay applies (see `defaultDecay`). */
  decay: boolean;
  /**
   * Multiplies the step's learning rate for this parameter (default 1): a part trained at its own
   * rate, as LLaVA-NeXT's mm_vision_tower_lr trains the vision tower.
   */
  lrScale?: number;
}

/**
 * Weight decay on matrices (linear weights, embeddings), not on vectors (norm scales, biases): the
 * common convention (GPT-2, nanoGPT, Hugging Face's Trainer) since decaying a norm's scale toward 0
 * fights the normalisation. The name is there for callers that override it for named tensors.
 */
export function defaultDecay(name: string, shape: readonly number[]): boolean {
  void name;
  return shape.length >= 2;
}

/**
 * What `state()` returns and `loadState()` takes: the step count of each parameter, the
 * hyperparameters the state was built with, and the buffers as tensors named
 * `<parameter>.<buffer>` with torch's buffer names (exp_avg, exp_avg_sq, momentum_buffer).
 */
export interface OptimizerState {
  kind: 'adamw' | 'sgd';
  hyper: Record<string, number>;
  steps: Record<string, number>;
  tensors: Record<string, Tensor>;
}

export interface AdamWOptions {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01 as torch.optim.AdamW (LLaVA's recipe passes 0). */
  weightDecay?: number;
}

/** torch.optim.AdamW (amsgrad off). */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly slots = new Map<string, { step: number; expAvg: Float32Array; expAvgSq: Float32Array }>();

  constructor({ beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 }: AdamWOptions = {}) {
    checkHyper('AdamW', { beta1, beta2 }, (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkHyper('AdamW', { eps, weightDecay }, (v) => v >= 0, '>= 0');
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /**
   * One update of every parameter that has a gradient, at learning rate `lr`:
   *   w <- w - lr*wd*w                               (decoupled decay, only where `decay`)
   * (lr times the parameter's `lrScale` throughout)
   *   m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
   *   w <- w - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
   */
  step(params: readonly Parameter[], lr: number): void {
    checkHyper('AdamW.step', { lr }, (v) => v >= 0, '>= 0');
    for (const { p, w, g } of withGradients('AdamW', params)) {
      let slot = this.slots.get(p.name);
      if (slot === undefined) {
        slot = { step: 0, expAvg: new Float32Array(w.length), expAvgSq: new Float32Array(w.length) };
        this.slots.set(p.name, slot);
      }
      checkSlot('AdamW', p, slot.expAvg.length);
      const t = ++slot.step;
      const rate = lr * (p.lrScale ?? 1);
      const shrink = p.decay ? 1 - rate * this.weightDecay : 1;
      const stepSize = rate / (1 - this.beta1 ** t);
      const sqrtCorrection2 = Math.sqrt(1 - this.beta2 ** t);
      const { expAvg: m, expAvgSq: v } = slot;
      for (let i = 0; i < w.length; i++) {
        w[i] *= shrink;
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        w[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtCorrection2 + this.eps);
      }
    }
  }

  state(): OptimizerState {
    const steps: Record<string, number> = {};
    const tensors: Record<string, Tensor> = {};
    for (const [name, slot] of this.slots) {
      steps[name] = slot.step;
      tensors[`${name}.exp_avg`] = makeTensor(slot.expAvg, [slot.expAvg.length]);
      tensors[`${name}.exp_avg_sq`] = makeTensor(slot.expAvgSq, [slot.expAvgSq.length]);
    }
    return { kind: 'adamw', hyper: this.hyper(), steps, tensors };
  }

  /** Replaces all state with `state` (from `state()` of an AdamW with the same hyperparameters). */
  loadState(state: OptimizerState): void {
    checkStateHeader('AdamW', 'adamw', this.hyper(), state);
    this.slots.clear();
    for (const [name, step] of Object.entries(state.steps)) {
      this.slots.set(name, {
        step,
        expAvg: stateBuffer('AdamW', state, `${name}.exp_avg`),
        expAvgSq: stateBuffer('AdamW', state, `${name}.exp_avg_sq`),
      });
    }
    checkNoStrayTensors('AdamW', state, 2);
  }

  private hyper(): Record<string, number> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weight_decay: this.weightDecay };
  }
}

export interface SgdOptions {
  /** Default 0 (plain SGD, no buffers). */
  momentum?: number;
  /** L2 decay added to the gradient (torch's SGD weight_decay); default 0. */
  weightDecay?: number;
}

/** torch.optim.SGD with dampening 0, no Nesterov. */
export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly slots = new Map<string, { step: number; buffer: Float32Array | undefined }>();

  constructor({ momentum = 0, weightDecay = 0 }: SgdOptions = {}) {
    checkHyper('Sgd', { momentum }, (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkHyper('Sgd', { weightDecay }, (v) => v >= 0, '>= 0');
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  /**
   * One update of every parameter that has a gradient:
   *   d <- g + wd*w   (only where `decay`)
   *   b <- d on the first step, else momentum*b + d;  d <- b   (only with momentum)
   *   w <- w - lr*d   (lr times the parameter's `lrScale`)
   */
  step(params: readonly Parameter[], lr: number): void {
    checkHyper('Sgd.step', { lr }, (v) => v >= 0, '>= 0');
    for (const { p, w, g } of withGradients('Sgd', params)) {
      let slot = this.slots.get(p.name);
      if (slot === undefined) {
        slot = { step: 0, buffer: undefined };
        this.slots.set(p.name, slot);
      }
      if (slot.buffer !== undefined) checkSlot('Sgd', p, slot.buffer.length);
      const wd = p.decay ? this.weightDecay : 0;
      const first = slot.buffer === undefined;
      if (this.momentum !== 0 && first) slot.buffer = new Float32Array(w.length);
      const b = slot.buffer;
      const rate = lr * (p.lrScale ?? 1);
      for (let i = 0; i < w.length; i++) {
        let d = g[i] + wd * w[i];
        if (b !== undefined) {
          b[i] = first ? d : this.momentum * b[i] + d;
          d = b[i];
        }
        w[i] -= rate * d;
      }
      slot.step++;
    }
  }

  state(): OptimizerState {
    const steps: Record<string, number> = {};
    const tensors: Record<string, Tensor> = {};
    for (const [name, slot] of this.slots) {
      steps[name] = slot.step;
      if (slot.buffer !== undefined) tensors[`${name}.momentum_buffer`] = makeTensor(slot.buffer, [slot.buffer.length]);
    }
    return { kind: 'sgd', hyper: this.hyper(), steps, tensors };
  }

  /** Replaces all state with `state` (from `state()` of an Sgd with the same hyperparameters). */
  loadState(state: OptimizerState): void {
    checkStateHeader('Sgd', 'sgd', this.hyper(), state);
    this.slots.clear();
    for (const [name, step] of Object.entries(state.steps)) {
      const buffer = this.momentum === 0 ? undefined : stateBuffer('Sgd', state, `${name}.momentum_buffer`);
      this.slots.set(name, { step, buffer });
    }
    checkNoStrayTensors('Sgd', state, this.momentum === 0 ? 0 : 1);
  }

  private hyper(): Record<string, number> {
    return { momentum: this.momentum, weight_decay: this.weightDecay };
  }
}

/**
 * Scales all gradients together so that their global L2 norm is at most `maxNorm`, as torch's
 * clip_grad_norm_: with total = sqrt(sum of every g^2), every g *= min(1, maxNorm / (total + 1e-6)).
 * (So a total a hair under maxNorm, within 1e-6, is scaled too, as in torch.) Returns the total
 * before clipping. A non-finite total leaves the gradients as they are: the caller should stop on it.
 */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new RangeError(`clipGradNorm: maxNorm must be a positive number, not ${maxNorm}`);
  const total = gradNorm(params);
  const coefficient = maxNorm / (total + 1e-6);
  if (Number.isFinite(total) && coefficient < 1) {
    for (const g of gradArrays('clipGradNorm', params)) for (let i = 0; i < g.length; i++) g[i] *= coefficient;
  }
  return total;
}

/** The global L2 norm of every gradient: sqrt(sum of all g^2), what clipping compares with its bound. */
export function gradNorm(params: readonly Parameter[]): number {
  let sumSquares = 0;
  for (const g of gradArrays('gradNorm', params)) for (let i = 0; i < g.length; i++) sumSquares += g[i] * g[i];
  return Math.sqrt(sumSquares);
}

function gradArrays(who: string, params: readonly Parameter[]): Float32Array[] {
  return [...withGradients(who, params)].map(({ p }) => writableF32(who, p, p.grad as Tensor, 'grad'));
}

/** The parameters with a gradient, their value storage (written in place) and gradient values. */
function* withGradients(who: string, params: readonly Parameter[]): Generator<{ p: Parameter; w: Float32Array; g: Float32Array }> {
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) throw new Error(`${who}: parameter "${p.name}" is listed twice`);
    seen.add(p.name);
    if (p.grad === undefined) continue;
    if (formatShape(p.grad.shape) !== formatShape(p.value.shape)) {
      throw new Error(`${who}: parameter "${p.name}": grad shape ${formatShape(p.grad.shape)} != value shape ${formatShape(p.value.shape)}`);
    }
    if (p.grad.dtype !== 'f32') throw new Error(`${who}: parameter "${p.name}": grad is ${p.grad.dtype}, must be f32`);
    yield { p, w: writableF32(who, p, p.value, 'value'), g: f32Values(p.grad) };
  }
}

/** The storage of `t` itself (no copy), which must be contiguous f32 to be updated in place. */
function writableF32(who: string, p: Parameter, t: Tensor, field: 'value' | 'grad'): Float32Array {
  if (t.dtype !== 'f32' || !t.isContiguous()) {
    throw new Error(`${who}: parameter "${p.name}": ${field} must be a contiguous f32 tensor (it is updated in place), not ${t.isContiguous() ? '' : 'a strided '}${t.dtype}`);
  }
  return (t.data as Float32Array).subarray(t.offset, t.offset + t.size);
}

function checkSlot(who: string, p: Parameter, length: number): void {
  if (length !== p.value.size) {
    throw new Error(`${who}: parameter "${p.name}" has ${p.value.size} elements but its optimizer state has ${length}`);
  }
}

function checkHyper(who: string, values: Record<string, number>, ok: (v: number) => boolean, rule: string): void {
  for (const [key, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${who}: ${key} must be ${rule}, not ${v}`);
  }
}

function checkStateHeader(who: string, kind: OptimizerState['kind'], hyper: Record<string, number>, state: OptimizerState): void {
  if (state.kind !== kind) throw new Error(`${who}.loadState: the state is of optimizer "${state.kind}", not "${kind}"`);
  for (const [key, value] of Object.entries(hyper)) {
    if (state.hyper[key] !== value) {
      throw new Error(`${who}.loadState: the state was built with ${key} ${state.hyper[key]}, this optimizer has ${value}`);
    }
  }
  for (const [name, step] of Object.entries(state.steps)) {
    if (!Number.isSafeInteger(step) || step < 0) throw new Error(`${who}.loadState: parameter "${name}": step count ${step} is not a count`);
  }
}

/** A copy of state tensor `name` (1-D f32), so that the optimizer never shares storage with its input. */
function stateBuffer(who: string, state: OptimizerState, name: string): Float32Array {
  const t = state.tensors[name];
  if (t === undefined) throw new Error(`${who}.loadState: tensor "${name}" is missing`);
  if (t.dtype !== 'f32' || t.rank !== 1) throw new Error(`${who}.loadState: tensor "${name}" must be 1-D f32, not ${t.dtype} ${formatShape(t.shape)}`);
  return Float32Array.from(f32Values(t));
}

function checkNoStrayTensors(who: string, state: OptimizerState, perParameter: number): void {
  const expected = Object.keys(state.steps).length * perParameter;
  const found = Object.keys(state.tensors).length;
  if (found !== expected) throw new Error(`${who}.loadState: ${found} tensors for ${Object.keys(state.steps).length} parameters (expected ${expected})`);
}
