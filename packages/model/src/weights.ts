/**
 * Named weights with shape checks: what every module's `load(weights, prefix, cfg)` reads from.
 *
 * A `Weights` is a view of a checkpoint under a name prefix (candle's VarBuilder idea):
 * `w.scope('model.layers.3').get('self_attn.q_proj.weight', [4096, 4096])` reads
 * `model.layers.3.self_attn.q_proj.weight` and checks its shape against the one the config implies,
 * so a mismatched checkpoint fails at load with the tensor's full name and both shapes.
 * Tensors stay in their stored dtype (f16 / bf16 / f32); nothing is converted here.
 */
import { Tensor, formatShape } from '@adsc/core';

/** What a checkpoint must offer (satisfied by @adsc/safetensors' openCheckpoint and by plain maps). */
export interface TensorSource {
  has(name: string): boolean;
  tensor(name: string): Tensor;
  names(): string[];
}

export class WeightError extends Error {
  override name = 'WeightError';
}

export class Weights {
  constructor(
    readonly source: TensorSource,
    readonly prefix = '',
    /** Named in errors, e.g. the model directory. */
    readonly origin = 'checkpoint',
  ) {}

  /** A view whose names are relative to `prefix` (joined with a dot). */
  scope(prefix: string): Weights {
    return new Weights(this.source, this.full(prefix), this.origin);
  }

  full(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  has(name: string): boolean {
    return this.source.has(this.full(name));
  }

  /** The tensor `name`, which must exist and have `shape` (when given). */
  get(name: string, shape?: readonly number[]): Tensor {
    const full = this.full(name);
    if (!this.source.has(full)) throw new WeightError(`${this.origin}: missing tensor ${full}`);
    const t = this.source.tensor(full);
    if (shape && formatShape(t.shape) !== formatShape(shape)) {
      throw new WeightError(`${this.origin}: tensor ${full} has shape ${formatShape(t.shape)}, but the config implies ${formatShape(shape)}`);
    }
    return t;
  }

  /** Like `get`, but undefined when absent (optional biases). */
  maybe(name: string, shape?: readonly number[]): Tensor | undefined {
    return this.has(name) ? this.get(name, shape) : undefined;
  }

  /** The first of `prefixes` under which `probe` exists (layouts differ between checkpoints). */
  findScope(prefixes: readonly string[], probe: string): Weights {
    for (const p of prefixes) if (this.source.has(`${p}.${probe}`)) return new Weights(this.source, p, this.origin);
    throw new WeightError(`${this.origin}: missing tensor ${probe} under any of ${prefixes.map((p) => `${p}.`).join(', ')}`);
  }
}

/** A TensorSource over an in-memory record (tests, and models built in code). */
export function tensorMap(tensors: Record<string, Tensor>): TensorSource {
  return {
    has: (name) => Object.prototype.hasOwnProperty.call(tensors, name),
    tensor: (name) => tensors[name],
    names: () => Object.keys(tensors),
  };
}

/**
 * `source` with each tensor read once: later calls return the same Tensor object. Models are built
 * from such a source, so the checkpoint name of any tensor a module holds can be found again by
 * identity (LoRA adapters name modules that way) and no weight is ever read twice.
 */
export function memoized(source: TensorSource): TensorSource {
  const cache = new Map<string, Tensor>();
  return {
    has: (name) => source.has(name),
    names: () => source.names(),
    tensor: (name) => {
      let t = cache.get(name);
      if (t === undefined) cache.set(name, (t = source.tensor(name)));
      return t;
    },
  };
}
