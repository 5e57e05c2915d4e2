/**
 * How the CPU kernels read q, k and v: one flat Float32Array plus, per query head, the offset of
 * that head's row 0 and the distance between rows.
 *
 * The model hands attention views, not copies: q is typically a projection [T, H*D] reshaped to
 * [T, H, D] and permuted to [H, T, D], so rows of one head sit H*D elements apart. As long as the
 * D axis itself is contiguous (stride 1) and the storage is f32, the kernels read the caller's
 * memory directly. Anything else (f16/bf16/f64 storage, a strided D axis, or a non-shared buffer
 * when worker threads must see it) is copied once into a contiguous f32 array: O(H * T * D), never
 * O(Tq * Tk).
 *
 * Grouped-query attention is resolved here too: k and v get one base per *query* head (query head
 * h of batch b reads key/value head b * Hkv + floor(h / group)), so the kernels never see groups.
 */
import { Tensor, allocate, f32Values, isShared } from '@adsc/core';
import type { AttentionProblem } from './options.js';

export interface HeadRows {
  data: Float32Array;
  /** bases[h]: element offset of row 0 for query head h (h over B * Hq, batch-major). */
  bases: number[];
  /** Elements between consecutive rows (tokens) of a head. */
  rowStride: number;
}

/**
 * Reads `t` ([..., H, T, D], H = Hq for q or Hkv for k and v) for the kernels. `shared`: the data
 * must sit on a SharedArrayBuffer (worker threads read it).
 */
export function headRows(t: Tensor, p: AttentionProblem, shared: boolean): HeadRows {
  const direct =
    t.dtype === 'f32' &&
    (t.stride[t.rank - 1] === 1 || t.shape[t.rank - 1] <= 1) &&
    (!shared || isShared(t.data.buffer));
  let view = t;
  if (!direct) {
    const data = allocate('f32', t.size) as Float32Array;
    data.set(t.toFloat32Array());
    view = new Tensor('f32', data, t.shape);
  }
  const rank = view.rank;
  const headsHere = view.shape[rank - 3];
  const group = p.queryHeads / headsHere; // 1 for q, Hq / Hkv for k and v
  const batchStride = rank === 4 ? view.stride[0] : 0;
  const headStride = view.stride[rank - 3];
  const bases = new Array<number>(p.heads);
  for (let h = 0; h < p.heads; h++) {
    const b = Math.floor(h / p.queryHeads);
    const own = Math.floor((h % p.queryHeads) / group);
    bases[h] = view.offset + b * batchStride + own * headStride;
  }
  return { data: view.data as Float32Array, bases, rowStride: view.stride[rank - 2] };
}

/**
 * The values of a small per-row tensor (the logsumexp [..., Hq, Tq]) as one contiguous f32 array:
 * the storage itself when it already is one (on a SharedArrayBuffer if `shared`), else a copy.
 */
export function rowValues(t: Tensor, shared: boolean): Float32Array {
  const values = f32Values(t);
  if (!shared || isShared(values.buffer)) return values;
  const copy = allocate('f32', values.length) as Float32Array;
  copy.set(values);
  return copy;
}

/**
 * Copies `count` rows of head h of `rows` into `out` from element `at`, D floats each, one after
 * another (how the SIMD kernels stage a head in their own memory).
 */
export function copyHeadRows(out: Float32Array, at: number, rows: HeadRows, h: number, count: number, d: number): void {
  const base = rows.bases[h];
  if (rows.rowStride === d) {
    out.set(rows.data.subarray(base, base + count * d), at);
    return;
  }
  for (let t = 0; t < count; t++) {
    const from = base + t * rows.rowStride;
    out.set(rows.data.subarray(from, from + d), at + t * d);
  }
}
