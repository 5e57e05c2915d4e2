/**
 * Ops that move elements without arithmetic: concat, indexSelect, and the embedding row gather.
 * concat and indexSelect keep the stored dtype; embedding decodes rows to f32.
 */
import { record } from '../autograd/tape.js';
import { halfTable } from '../dtype.js';
import { ShapeError, formatShape, normalizeAxis } from '../shape.js';
import { Tensor, f32Output, zeros } from '../tensor.js';

type Indices = readonly number[] | Int32Array | Tensor;

function indexList(op: string, indices: Indices, limit: number): number[] {
  const list = indices instanceof Tensor ? indices.toArray() : Array.from(indices);
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= limit) throw new RangeError(`${op}: index ${i} is outside [0, ${limit})`);
  }
  return list;
}

/** Sizes of the axes before and after `axis`, as products. */
function outerInner(shape: readonly number[], axis: number): [number, number] {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return [outer, inner];
}

/** Joins tensors of one dtype along `axis`; every other axis must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = tensors[0];
  const a = normalizeAxis('concat', axis, first.rank);
  for (const t of tensors) {
    if (t.dtype !== first.dtype) throw new TypeError(`concat: dtypes ${first.dtype} and ${t.dtype} differ`);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside axis ${axis}`);
    }
  }
  const total = tensors.reduce((s, t) => s + t.shape[a], 0);
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  const out = zeros(shape, first.dtype);
  const [outer, inner] = outerInner(shape, a);
  const dst = out.data as Float32Array; // any typed array: only .set / .subarray are used
  let done = 0;
  for (const t of tensors) {
    const c = t.contiguous();
    const block = t.shape[a] * inner;
    const src = (c.data as Float32Array).subarray(c.offset, c.offset + c.size);
    for (let i = 0; i < outer; i++) dst.set(src.subarray(i * block, (i + 1) * block), i * total * inner + done * inner);
    done += t.shape[a];
  }
  // Each input gets its own slice of the gradient.
  return record('concat', tensors, out, (g) => {
    let start = 0;
    return tensors.map((t) => {
      const part = t.requiresGrad ? g.narrow(a, start, t.shape[a]) : undefined;
      start += t.shape[a];
      return part;
    });
  });
}

/** The entries `indices` of `axis`, in that order (repeats allowed), as a new tensor. */
export function indexSelect(t: Tensor, axis: number, indices: Indices): Tensor {
  const a = normalizeAxis('indexSelect', axis, t.rank);
  const list = indexList('indexSelect', indices, t.shape[a]);
  const shape = t.shape.map((d, i) => (i === a ? list.length : d));
  const out = zeros(shape, t.dtype);
  const [outer, inner] = outerInner(t.shape, a);
  const c = t.contiguous();
  const src = (c.data as Float32Array).subarray(c.offset, c.offset + c.size);
  const dst = out.data as Float32Array;
  const n = t.shape[a];
  for (let i = 0; i < outer; i++) {
    list.forEach((index, j) => {
      const from = (i * n + index) * inner;
      dst.set(src.subarray(from, from + inner), (i * list.length + j) * inner);
    });
  }
  // Scatter-add: each selected entry's gradient goes back to where it came from (repeats add up);
  // entries never selected (tokens a schedule dropped) get zero.
  return record('indexSelect', [t], out, (g) => {
    const gv = g.toFloat32Array();
    const [dt, d] = f32Output(t.shape);
    for (let i = 0; i < outer; i++) {
      list.forEach((index, j) => {
        const to = (i * n + index) * inner;
        const from = (i * list.length + j) * inner;
        for (let e = 0; e < inner; e++) d[to + e] += gv[from + e];
      });
    }
    return [dt];
  });
}

/** Rows `ids` of a [vocab, dim] table as f32 [...ids.shape, dim]; f16 / bf16 rows are decoded. */
export function embedding(weight: Tensor, ids: Indices): Tensor {
  if (weight.rank !== 2) throw new ShapeError(`embedding: weight must be 2-D, got ${formatShape(weight.shape)}`);
  const [vocab, dim] = weight.shape;
  const list = indexList('embedding', ids, vocab);
  const idShape = ids instanceof Tensor ? ids.shape : [list.length];
  const [out, o] = f32Output([...idShape, dim]);
  const table = weight.dtype === 'f16' || weight.dtype === 'bf16' ? halfTable(weight.dtype) : undefined;
  const [rowStride, colStride] = weight.stride;
  list.forEach((id, r) => {
    const base = weight.offset + id * rowStride;
    for (let k = 0; k < dim; k++) {
      const raw = weight.data[base + k * colStride] as number;
      o[r * dim + k] = table ? table[raw] : raw;
    }
  });
  // Scatter-add of each position's gradient into its id's row; rows not used get zero.
  return record('embedding', [weight], out, (g) => {
    const gv = g.toFloat32Array();
    const [dw, d] = f32Output(weight.shape);
    list.forEach((id, r) => {
      for (let k = 0; k < dim; k++) d[id * dim + k] += gv[r * dim + k];
    });
    return [dw];
  });
}
