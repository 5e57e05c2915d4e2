/**
 * Reverse-mode automatic differentiation, define-by-run (PyTorch's autograd idea, in ~150 lines).
 *
 * There is no separate "training forward": every differentiable op runs its ordinary forward and,
 * only when one of its inputs requires a gradient and grad mode is on, calls `record` with its
 * backward rule written right beside it:
 *
 *   const out = ...forward...;
 *   return record('mul', [a, b], out, (g) => [mul(g, b), mul(g, a)]);
 *
 * `record` hangs a `GradNode` on the output (the op name, its inputs, the rule). The nodes form a
 * graph from the loss back to the leaves (parameters: tensors with `requiresGrad` and no node).
 * `backward(loss)` sorts that graph topologically, walks it from the loss, hands each node the
 * gradient of its output, and sums what the rule returns into its inputs' gradients; leaves keep
 * theirs in `.grad`. A node is dropped once it has run, so the activations its rule captured are
 * freed as the walk proceeds (PyTorch's retain_graph=false).
 *
 * The rule's type has one slot per input (`Grads<I>`), so the compiler demands a gradient, or an
 * explicit `undefined` (no gradient, e.g. for indices), for every input of every op. At inference
 * nothing requires a gradient, so `record` returns at its first check: no node, no saved tensor.
 * `noGrad(fn)` turns recording off inside `fn` even for parameters (evaluation during training).
 */
import type { Tensor } from '../tensor.js';

/** One gradient (or none) per input of an op, in input order. */
export type Grads<I extends readonly (Tensor | undefined)[]> = { [K in keyof I]: Tensor | undefined };

export interface GradNode {
  /** The op that made the tensor (for error messages and tests). */
  readonly op: string;
  readonly inputs: readonly (Tensor | undefined)[];
  /** Gradient of the output -> gradients of the inputs. */
  readonly backward: (grad: Tensor) => readonly (Tensor | undefined)[];
}

let gradMode = true;

/** Whether ops record at all (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradMode;
}

/** Runs `fn` with recording off: no node is made, whatever requires a gradient. */
export function noGrad<T>(fn: () => T): T {
  const before = gradMode;
  gradMode = false;
  try {
    return fn();
  } finally {
    gradMode = before;
  }
}

/** Runs `fn` with recording on (used to recompute a checkpointed segment inside a backward pass). */
export function withGrad<T>(fn: () => T): T {
  const before = gradMode;
  gradMode = true;
  try {
    return fn();
  } finally {
    gradMode = before;
  }
}

/** True when an op with these inputs must record its backward rule. */
export function needsGrad(inputs: readonly (Tensor | undefined)[]): boolean {
  if (!gradMode) return false;
  for (const t of inputs) if (t !== undefined && t.requiresGrad) return true;
  return false;
}

/**
 * Attaches `rule` to `out` when any input requires a gradient (and returns `out` either way).
 * The rule receives the gradient of `out` (f32, out's shape, possibly a strided view) and returns
 * the gradient of each input in its shape, or undefined for an input that gets none.
 */
export function record<I extends readonly (Tensor | undefined)[]>(
  op: string,
  inputs: I,
  out: Tensor,
  rule: (grad: Tensor) => Grads<I>,
): Tensor {
  if (!needsGrad(inputs)) return out;
  out.requiresGrad = true;
  out.gradNode = { op, inputs, backward: rule as (grad: Tensor) => readonly (Tensor | undefined)[] };
  return out;
}

export class AutogradError extends Error {
  override name = 'AutogradError';
}

/**
 * Back-propagates from `root` (a scalar loss, or any tensor with `grad` given, e.g. the output
 * of a recomputed segment), summing into `.grad` of every leaf that requires a gradient.
 * `grad` defaults to 1 for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new AutogradError(`backward: the ${root.toString()} does not require a gradient (nothing recorded it)`);
  if (grad === undefined) {
    if (root.size !== 1) throw new AutogradError(`backward: ${root.toString()} is not a scalar; pass the gradient of its elements`);
    grad = fill(root.shape, 1);
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new AutogradError(`backward: gradient shape [${grad.shape.join(', ')}] does not match ${root.toString()}`);
  }

  // Topological order by an iterative depth-first walk (a 32-layer model has thousands of nodes).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradNode?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next !== undefined && next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }

  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    grads.delete(t);
    const node = t.gradNode;
    if (node === undefined) {
      // A leaf: keep its gradient.
      if (g !== undefined) t.grad = t.grad === undefined ? contiguousCopy(g) : accumulate(t.grad, g);
      continue;
    }
    t.gradNode = undefined; // frees what the rule captured once it has run
    if (g === undefined) continue; // nothing flowed into this branch
    const inputGrads = noGrad(() => node.backward(g)); // rules compute plain tensors
    node.inputs.forEach((input, j) => {
      const gi = inputGrads[j];
      if (input === undefined || !input.requiresGrad || gi === undefined) return;
      if (!sameShape(gi.shape, input.shape)) {
        throw new AutogradError(`backward of ${node.op}: gradient [${gi.shape.join(', ')}] for input ${j} of shape [${input.shape.join(', ')}]`);
      }
      const before = grads.get(input);
      grads.set(input, before === undefined ? gi : accumulate(owned(before) ? before : contiguousCopy(before), gi));
    });
  }
}

/**
 * Bytes of activation storage the recorded graph behind `root` keeps alive: the distinct buffers
 * of every tensor an op made on the way (its rule may read them), not counting leaves (parameters
 * and inputs). Small per-row statistics a rule keeps (a norm's 1/rms, attention's logsumexp) are
 * not included. What the backward needs, and what checkpointing saves.
 */
export function graphBytes(root: Tensor): number {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<Tensor>();
  const stack: Tensor[] = [root];
  let bytes = 0;
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || t.gradNode === undefined) continue;
    seen.add(t);
    if (!buffers.has(t.data.buffer)) {
      buffers.add(t.data.buffer);
      bytes += t.data.buffer.byteLength;
    }
    for (const input of t.gradNode.inputs) if (input !== undefined) stack.push(input);
  }
  return bytes;
}

// -- small helpers that must not depend on the ops (the ops depend on this file) -------------------

let makeF32: (shape: readonly number[]) => Tensor;

/** tensor.ts hands over its zeros-constructor here (breaking the import cycle). */
export function setTensorFactory(factory: (shape: readonly number[]) => Tensor): void {
  makeF32 = factory;
}

const ownedTensors = new WeakSet<Tensor>();

/** True for gradient buffers this file allocated (safe to add into in place). */
function owned(t: Tensor): boolean {
  return ownedTensors.has(t);
}

function fill(shape: readonly number[], value: number): Tensor {
  const t = makeF32(shape);
  (t.data as Float32Array).fill(value);
  return t;
}

/** A fresh contiguous f32 copy of any (possibly strided) f32 tensor. */
function contiguousCopy(g: Tensor): Tensor {
  const out = makeF32(g.shape);
  addInto(out.data as Float32Array, g);
  ownedTensors.add(out);
  return out;
}

/** acc += g, where acc is an owned contiguous f32 buffer; returns acc. */
function accumulate(acc: Tensor, g: Tensor): Tensor {
  addInto(acc.data as Float32Array, g);
  return acc;
}

/** dst (contiguous, row-major over g's shape) += g (any strides, any float dtype read as f32). */
function addInto(dst: Float32Array, g: Tensor): void {
  if (g.dtype === 'f32' && g.isContiguous()) {
    const src = g.data as Float32Array;
    for (let i = 0, o = g.offset; i < dst.length; i++, o++) dst[i] += src[o];
    return;
  }
  const values = g.toFloat32Array();
  for (let i = 0; i < dst.length; i++) dst[i] += values[i];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
