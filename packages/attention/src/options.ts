/**
 * The options every attention entry point takes, and their validation.
 *
 * `resolveProblem` turns (q, k, v, options) into one plain description of the work, an
 * `AttentionProblem`, after checking everything a kernel would otherwise trip over: ranks, head
 * counts (grouped-query attention needs Hq to be a multiple of Hkv), matching head dims and
 * lengths, and option types. Errors name the function, the tensor or option and its shape or value.
 */
import { formatShape, isFloat, type Tensor } from '@adsc/core';
import { defaultQueryOffset } from './mask.js';

export type AttentionImpl = 'reference' | 'tiled';

/** Tile sizes of the tiled kernels: query rows per tile (Br) and keys per tile (Bc). */
export interface TileSizes {
  queries?: number;
  keys?: number;
}

export interface AttentionOptions {
  /** Query i sees key j only if j <= queryOffset + i (default false). */
  causal?: boolean;
  /** Absolute position of query row 0 among the keys (default Tk - Tq). */
  queryOffset?: number;
  /** Multiplies q k^T before the softmax (default 1 / sqrt(D)). */
  scale?: number;
  /** 'tiled' (default, FlashAttention-2 on the CPU) or 'reference' (forms the Tq x Tk matrix). */
  impl?: AttentionImpl;
  /** Tile sizes of the tiled kernels (ignored by the reference). */
  tile?: TileSizes;
}

/** Everything a kernel needs to know about one call, validated. */
export interface AttentionProblem {
  /** Leading (batch) axes of q, k and v: [] or [B]. */
  lead: number[];
  /** Query heads over all batch entries: B * Hq. */
  heads: number;
  queryHeads: number;
  kvHeads: number;
  /** Query heads that share one key/value head: Hq / Hkv. */
  group: number;
  /** Tq */
  queries: number;
  /** Tk */
  keys: number;
  /** D */
  headDim: number;
  scale: number;
  causal: boolean;
  queryOffset: number;
}

export const DEFAULT_TILE: Required<TileSizes> = { queries: 64, keys: 64 };

const IMPLS: readonly AttentionImpl[] = ['reference', 'tiled'];
const KNOWN_OPTIONS = new Set(['causal', 'queryOffset', 'scale', 'impl', 'tile']);

function checkTensor(fn: string, name: string, t: unknown, layout: string): Tensor {
  const tensor = t as Tensor;
  if (!tensor || typeof tensor !== 'object' || !Array.isArray(tensor.shape)) {
    throw new TypeError(`${fn}: ${name} must be a Tensor ${layout}`);
  }
  if (tensor.rank !== 3 && tensor.rank !== 4) {
    throw new RangeError(`${fn}: ${name} must be ${layout} or with a leading batch axis, got shape ${formatShape(tensor.shape)}`);
  }
  if (!isFloat(tensor.dtype)) {
    throw new TypeError(`${fn}: ${name} must have a float dtype (f32, f16, bf16 or f64), got ${tensor.dtype}`);
  }
  return tensor;
}

/** Validates the inputs and options of `fn` and describes the work. */
export function resolveProblem(fn: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionProblem {
  checkTensor(fn, 'q', q, '[Hq, Tq, D]');
  checkTensor(fn, 'k', k, '[Hkv, Tk, D]');
  checkTensor(fn, 'v', v, '[Hkv, Tk, D]');
  const shapes = `q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`;
  if (k.rank !== q.rank || v.rank !== q.rank) throw new RangeError(`${fn}: q, k and v must have the same rank (${shapes})`);
  const lead = q.shape.slice(0, -3);
  if (formatShape(k.shape.slice(0, -3)) !== formatShape(lead) || formatShape(v.shape.slice(0, -3)) !== formatShape(lead)) {
    throw new RangeError(`${fn}: the batch axis of q, k and v must match (${shapes})`);
  }
  if (formatShape(k.shape) !== formatShape(v.shape)) throw new RangeError(`${fn}: k and v must have the same shape (${shapes})`);
  const [queryHeads, queries, headDim] = q.shape.slice(-3);
  const [kvHeads, keys, kvDim] = k.shape.slice(-3);
  if (kvDim !== headDim) throw new RangeError(`${fn}: head dim D of q (${headDim}) and k, v (${kvDim}) differ (${shapes})`);
  if (kvHeads === 0 || queryHeads % kvHeads !== 0) {
    throw new RangeError(`${fn}: query heads Hq = ${queryHeads} must be a multiple of key/value heads Hkv = ${kvHeads} (${shapes})`);
  }

  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object`);
  for (const key of Object.keys(opts)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`${fn}: unknown option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const causal = opts.causal ?? false;
  if (typeof causal !== 'boolean') throw new TypeError(`${fn}: option causal must be a boolean, got ${String(causal)}`);
  const queryOffset = opts.queryOffset ?? defaultQueryOffset(queries, keys);
  if (!Number.isInteger(queryOffset)) throw new TypeError(`${fn}: option queryOffset must be an integer, got ${String(queryOffset)}`);
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new TypeError(`${fn}: option scale must be a finite number, got ${String(scale)}`);
  if (opts.impl !== undefined && !IMPLS.includes(opts.impl)) {
    throw new TypeError(`${fn}: option impl must be one of ${IMPLS.map((i) => `'${i}'`).join(', ')}, got ${JSON.stringify(opts.impl)}`);
  }
  resolveTile(fn, opts.tile, DEFAULT_TILE); // checked here so every entry point rejects a bad tile alike
  const batch = lead.reduce((p, d) => p * d, 1);
  return {
    lead, heads: batch * queryHeads, queryHeads, kvHeads, group: queryHeads / kvHeads,
    queries, keys, headDim, scale, causal, queryOffset,
  };
}

/** The tile sizes to use: the given ones (positive integers) over the defaults. */
export function resolveTile(fn: string, tile: TileSizes | undefined, defaults: Required<TileSizes>): Required<TileSizes> {
  if (tile === undefined) return defaults;
  if (tile === null || typeof tile !== 'object') throw new TypeError(`${fn}: option tile must be { queries?, keys? }`);
  const out = { ...defaults };
  for (const [key, value] of Object.entries(tile)) {
    if (key !== 'queries' && key !== 'keys') throw new TypeError(`${fn}: unknown tile size "${key}" (known: queries, keys)`);
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${fn}: option tile.${key} must be a positive integer, got ${String(value)}`);
    out[key] = value;
  }
  return out;
}

/**
 * Validates the inputs of a backward pass: q, k, v and the options as `resolveProblem` does, and
 * the saved tensors against them: out and dOut shaped like q, lse like q without its D axis.
 */
export function resolveBackwardProblem(
  fn: string, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor, opts: AttentionOptions = {},
): AttentionProblem {
  const p = resolveProblem(fn, q, k, v, opts);
  const checkSaved = (name: string, t: unknown, shape: readonly number[]) => {
    const tensor = t as Tensor;
    if (!tensor || typeof tensor !== 'object' || !Array.isArray(tensor.shape)) {
      throw new TypeError(`${fn}: ${name} must be a Tensor ${formatShape(shape)}`);
    }
    if (formatShape(tensor.shape) !== formatShape(shape)) {
      throw new RangeError(`${fn}: ${name} must have shape ${formatShape(shape)} (from q ${formatShape(q.shape)}), got ${formatShape(tensor.shape)}`);
    }
    if (!isFloat(tensor.dtype)) throw new TypeError(`${fn}: ${name} must have a float dtype (f32, f16, bf16 or f64), got ${tensor.dtype}`);
  };
  checkSaved('out', out, q.shape);
  checkSaved('lse', lse, q.shape.slice(0, -1));
  checkSaved('dOut', dOut, q.shape);
  return p;
}
