/**
 * The strided tensor.
 *
 * A `Tensor` is a typed array plus `shape`, `stride` and `offset`: element (i0, i1, ...) lives at
 * `data[offset + i0 * stride[0] + i1 * stride[1] + ...]`. The field names are scijs-ndarray's, so
 * `fromNdarray` / `toNdarray` wrap the same memory. Views (reshape of a contiguous tensor, permute,
 * transpose, narrow, slice, expand, squeeze, unsqueeze) share the storage and only change those
 * three fields; `contiguous()` copies when a view is not row-major.
 *
 * Ops never mutate their inputs; they allocate f32 outputs (see ops/).
 */
import {
  allocate, bf16BitsToNumber, bytesPerElement, f16BitsToNumber, halfTable, isFloat, numberToBf16Bits,
  numberToF16Bits, storageMatches, type DType, type Storage,
} from './dtype.js';
import { ShapeError, checkShape, contiguousStrides, formatShape, normalizeAxis, numel } from './shape.js';
import { record, setTensorFactory, type GradNode } from './autograd/tape.js';
import { sumToShape } from './autograd/broadcast.js';

export class Tensor {
  readonly dtype: DType;
  readonly data: Storage;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
  /** Whether gradients flow to this tensor (parameters set it; ops set it on what they record). */
  requiresGrad = false;
  /** The summed gradient of a leaf after `backward` (autograd/tape.ts). */
  grad: Tensor | undefined = undefined;
  /** How an op made this tensor, while a backward pass may still need it. */
  gradNode: GradNode | undefined = undefined;

  constructor(dtype: DType, data: Storage, shape: readonly number[], stride?: readonly number[], offset = 0) {
    checkShape('Tensor', shape);
    if (!storageMatches(dtype, data)) {
      throw new TypeError(`Tensor: a ${data.constructor.name} cannot hold dtype ${dtype}`);
    }
    const strides = stride ?? contiguousStrides(shape);
    if (strides.length !== shape.length) {
      throw new ShapeError(`Tensor: stride ${formatShape(strides)} does not match shape ${formatShape(shape)}`);
    }
    if (numel(shape) > 0) {
      let lo = offset;
      let hi = offset;
      shape.forEach((d, i) => {
        const span = (d - 1) * strides[i];
        if (span < 0) lo += span;
        else hi += span;
      });
      if (lo < 0 || hi >= data.length) {
        throw new ShapeError(
          `Tensor: shape ${formatShape(shape)} with stride ${formatShape(strides)} and offset ${offset} ` +
            `reads outside a storage of ${data.length} elements`,
        );
      }
    }
    this.dtype = dtype;
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.stride = Object.freeze([...strides]);
    this.offset = offset;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** Bytes the elements occupy in their stored dtype (not counting views' shared storage twice). */
  get byteLength(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  /** Row-major with no gaps (axes of size 1 may have any stride). */
  isContiguous(): boolean {
    let step = 1;
    for (let i = this.rank - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.stride[i] !== step) return false;
      step *= this.shape[i];
    }
    return true;
  }

  // -- views ------------------------------------------------------------------------------------

  /** Same elements in a new shape (one entry may be -1). A view when contiguous, else a copy. */
  reshape(shape: readonly number[]): Tensor {
    const target = [...shape];
    const unknown = target.indexOf(-1);
    if (unknown !== -1) {
      const known = numel(target.filter((_, i) => i !== unknown));
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(`reshape: cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}`);
      }
      target[unknown] = this.size / known;
    }
    checkShape('reshape', target);
    if (numel(target) !== this.size) {
      throw new ShapeError(`reshape: cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}`);
    }
    const source = this.isContiguous() ? this : this.contiguous();
    const out = new Tensor(source.dtype, source.data, target, undefined, source.offset);
    return record('reshape', [this], out, (g) => [g.reshape(this.shape)]);
  }

  /** Reorders the axes: result axis i is input axis dims[i]. */
  permute(dims: readonly number[]): Tensor {
    const axes = dims.map((d) => normalizeAxis('permute', d, this.rank));
    if (axes.length !== this.rank || new Set(axes).size !== this.rank) {
      throw new ShapeError(`permute: ${formatShape(dims)} is not a permutation of the axes of ${formatShape(this.shape)}`);
    }
    const out = new Tensor(this.dtype, this.data, axes.map((a) => this.shape[a]), axes.map((a) => this.stride[a]), this.offset);
    const inverse = axes.map((_, i) => axes.indexOf(i));
    return record('permute', [this], out, (g) => [g.permute(inverse)]);
  }

  /** Swaps two axes (by default the last two). */
  transpose(a = -2, b = -1): Tensor {
    const dims = [...this.shape.keys()];
    const i = normalizeAxis('transpose', a, this.rank);
    const j = normalizeAxis('transpose', b, this.rank);
    [dims[i], dims[j]] = [dims[j], dims[i]];
    return this.permute(dims);
  }

  /** `length` entries of `axis` starting at `start`. */
  narrow(axis: number, start: number, length: number): Tensor {
    const a = normalizeAxis('narrow', axis, this.rank);
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > this.shape[a]) {
      throw new ShapeError(`narrow: range [${start}, ${start + length}) is outside axis ${axis} of ${formatShape(this.shape)}`);
    }
    const shape = [...this.shape];
    shape[a] = length;
    const out = new Tensor(this.dtype, this.data, shape, this.stride, this.offset + start * this.stride[a]);
    return record('narrow', [this], out, (g) => {
      const full = zeros(this.shape);
      scatter(full.narrow(a, start, length), g.toFloat32Array());
      return [full];
    });
  }

  /** Entries [start, end) of `axis`; negative bounds count from the end, as in Python. */
  slice(axis: number, start: number, end?: number): Tensor {
    const n = this.shape[normalizeAxis('slice', axis, this.rank)];
    const lo = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const hi = Math.min(Math.max(end === undefined ? n : end < 0 ? end + n : end, lo), n);
    return this.narrow(axis, lo, hi - lo);
  }

  /** Broadcasts axes of size 1 (and new leading axes) to `shape` with stride 0. No copy. */
  expand(shape: readonly number[]): Tensor {
    if (shape.length < this.rank) {
      throw new ShapeError(`expand: cannot expand ${formatShape(this.shape)} to ${formatShape(shape)}`);
    }
    const lead = shape.length - this.rank;
    const stride = shape.map((d, i) => {
      if (i < lead) return 0;
      const own = this.shape[i - lead];
      if (own === d) return this.stride[i - lead];
      if (own === 1) return 0;
      throw new ShapeError(`expand: cannot expand ${formatShape(this.shape)} to ${formatShape(shape)}`);
    });
    const out = new Tensor(this.dtype, this.data, shape, stride, this.offset);
    return record('expand', [this], out, (g) => [sumToShape(g, this.shape)]);
  }

  /** Inserts an axis of size 1 at `axis`. */
  unsqueeze(axis: number): Tensor {
    const a = normalizeAxis('unsqueeze', axis, this.rank + 1);
    const shape = [...this.shape];
    const stride = [...this.stride];
    shape.splice(a, 0, 1);
    stride.splice(a, 0, a < this.rank ? this.stride[a] * this.shape[a] : 1);
    const out = new Tensor(this.dtype, this.data, shape, stride, this.offset);
    return record('unsqueeze', [this], out, (g) => [g.reshape(this.shape)]);
  }

  /** Removes an axis of size 1. */
  squeeze(axis: number): Tensor {
    const a = normalizeAxis('squeeze', axis, this.rank);
    if (this.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${formatShape(this.shape)} is not 1`);
    const out = new Tensor(this.dtype, this.data, this.shape.filter((_, i) => i !== a), this.stride.filter((_, i) => i !== a), this.offset);
    return record('squeeze', [this], out, (g) => [g.reshape(this.shape)]);
  }

  /** This tensor if row-major already, else a row-major copy in the same dtype. */
  contiguous(): Tensor {
    if (this.isContiguous()) return this;
    const out = allocate(this.dtype, this.size);
    gather(this, out);
    return record('contiguous', [this], new Tensor(this.dtype, out, this.shape), (g) => [g]);
  }

  /** Marks this tensor as a leaf that collects a gradient in `.grad` (a parameter); returns it. */
  requireGrad(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** The same storage as a new tensor with no gradient history. */
  detach(): Tensor {
    return new Tensor(this.dtype, this.data, this.shape, this.stride, this.offset);
  }

  // -- reading values ---------------------------------------------------------------------------

  /** One element as a number. */
  get(...index: number[]): number {
    if (index.length !== this.rank) {
      throw new ShapeError(`get: ${index.length} indices for a tensor of shape ${formatShape(this.shape)}`);
    }
    let at = this.offset;
    index.forEach((i, axis) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[axis]) {
        throw new ShapeError(`get: index ${formatShape(index)} is outside ${formatShape(this.shape)}`);
      }
      at += i * this.stride[axis];
    });
    return decodeScalar(this.dtype, this.data[at]);
  }

  /** Contiguous row-major copy of the values as f32. */
  toFloat32Array(): Float32Array {
    const out = new Float32Array(this.size);
    if (this.dtype === 'f16' || this.dtype === 'bf16') {
      const bits = new Uint16Array(this.size);
      gather(this, bits);
      const table = halfTable(this.dtype);
      for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
    } else if (this.dtype === 'i64' || this.dtype === 'u64') {
      this.toArray().forEach((v, i) => (out[i] = v));
    } else {
      gather(this, out);
    }
    return out;
  }

  /** Flat row-major values as numbers (bool as 0/1). 64-bit integers must be exactly representable. */
  toArray(): number[] {
    const raw: (number | bigint)[] = new Array(this.size);
    gather(this, raw);
    return raw.map((v) => decodeScalar(this.dtype, v));
  }

  /** Converts to another dtype (a copy; floats to integers truncate toward zero). */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this.contiguous();
    const values = this.dtype === 'f32' ? this.toFloat32Array() : this.toArray();
    const out = fromValues(values, this.shape, dtype);
    // Only a float result carries a gradient (back to the input's shape, read as f32).
    return isFloat(dtype) ? record('to', [this], out, (g) => [g.to('f32')]) : out;
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)})`;
  }
}

function decodeScalar(dtype: DType, raw: number | bigint): number {
  switch (dtype) {
    case 'f16':
      return f16BitsToNumber(raw as number);
    case 'bf16':
      return bf16BitsToNumber(raw as number);
    case 'i64':
    case 'u64': {
      const value = Number(raw);
      if (!Number.isSafeInteger(value)) throw new RangeError(`${dtype} value ${raw} is not exactly representable as a number`);
      return value;
    }
    default:
      return raw as number;
  }
}

function encodeScalar(dtype: DType, value: number): number | bigint {
  switch (dtype) {
    case 'f16':
      return numberToF16Bits(value);
    case 'bf16':
      return numberToBf16Bits(value);
    case 'i64':
    case 'u64':
      return BigInt(Math.trunc(value));
    case 'bool':
      return value ? 1 : 0;
    default:
      return isIntegerDType(dtype) ? Math.trunc(value) : value;
  }
}

function isIntegerDType(dtype: DType): boolean {
  return dtype[0] === 'i' || dtype[0] === 'u';
}

/**
 * Walks the elements of `t` in row-major order, one run of the innermost axis at a time:
 * `run(o, at, length, step)` covers row-major positions o.. and storage indices at, at + step, ...
 * The outer axes advance an index counter.
 */
function forEachRun(t: Tensor, run: (o: number, at: number, length: number, step: number) => void): void {
  const n = t.size;
  if (n === 0) return;
  if (t.isContiguous()) return run(0, t.offset, n, 1);
  const rank = t.rank;
  const inner = t.shape[rank - 1];
  const counter = new Array<number>(rank).fill(0);
  let base = t.offset;
  for (let o = 0; o < n; o += inner) {
    run(o, base, inner, t.stride[rank - 1]);
    for (let axis = rank - 2; axis >= 0; axis--) {
      counter[axis]++;
      base += t.stride[axis];
      if (counter[axis] < t.shape[axis]) break;
      base -= counter[axis] * t.stride[axis];
      counter[axis] = 0;
    }
  }
}

/** Copies the elements of `t` in row-major order into `out` (same element kind as `t.data`). */
export function gather(t: Tensor, out: { [i: number]: number | bigint; length: number }): void {
  const src = t.data as unknown as { [i: number]: number | bigint };
  forEachRun(t, (o, at, length, step) => {
    for (let j = 0; j < length; j++, at += step) out[o + j] = src[at];
  });
}

/** Writes `values` (row-major over t's shape) into the elements of `t`, whatever its strides. */
export function scatter(t: Tensor, values: ArrayLike<number>): void {
  const dst = t.data as unknown as { [i: number]: number };
  forEachRun(t, (o, at, length, step) => {
    for (let j = 0; j < length; j++, at += step) dst[at] = values[o + j];
  });
}

// -- creation -------------------------------------------------------------------------------------

/** A new tensor holding `values` (copied) in `shape`, encoded to `dtype` (default f32). */
export function fromValues(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  checkShape('tensor', shape);
  if (values.length !== numel(shape)) {
    throw new ShapeError(`tensor: ${values.length} values do not fill shape ${formatShape(shape)}`);
  }
  const data = allocate(dtype, values.length);
  if (dtype === 'f32' || dtype === 'f64') {
    (data as Float32Array | Float64Array).set(values);
  } else {
    const out = data as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < values.length; i++) out[i] = encodeScalar(dtype, values[i]);
  }
  return new Tensor(dtype, data, shape);
}

/** `tensor([1, 2, 3, 4], [2, 2])`: an f32 tensor (the values are copied). */
export function tensor(data: Float32Array | readonly number[], shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return fromValues(data as ArrayLike<number>, shape, dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  checkShape('zeros', shape);
  return new Tensor(dtype, allocate(dtype, numel(shape)), shape);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
  const t = zeros(shape, dtype);
  const raw = encodeScalar(dtype, value);
  (t.data as unknown as { fill(v: number | bigint): void }).fill(raw);
  return t;
}

export function ones(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return full(shape, 1, dtype);
}

/** `arange(n)` = 0..n-1; `arange(start, end, step)` as in PyTorch (end excluded). */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'f32'): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  return fromValues(Array.from({ length: n }, (_, i) => lo + i * step), [n], dtype);
}

/**
 * Standard normal samples from a seeded generator: the same seed gives the same tensor on every
 * machine (mulberry32 uniforms, Box-Muller transform). Not PyTorch's stream.
 */
export function randn(shape: readonly number[], seed = 0, dtype: DType = 'f32'): Tensor {
  checkShape('randn', shape);
  const next = mulberry32(seed);
  const n = numel(shape);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    values[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) values[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return fromValues(values, shape, dtype);
}

/** A small, fast, seedable uniform generator on [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The values of `t` as a contiguous f32 array: the storage itself (a subarray, no copy) when `t` is
 * already contiguous f32, else a converted copy. Callers must not write to the result.
 */
export function f32Values(t: Tensor): Float32Array {
  if (t.dtype === 'f32' && t.isContiguous()) return (t.data as Float32Array).subarray(t.offset, t.offset + t.size);
  return t.toFloat32Array();
}

/** A fresh f32 tensor of `shape` and its storage, for ops to fill. */
export function f32Output(shape: readonly number[]): [Tensor, Float32Array] {
  const t = zeros(shape, 'f32');
  return [t, t.data as Float32Array];
}

setTensorFactory((shape) => zeros(shape, 'f32'));
