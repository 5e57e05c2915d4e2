/**
 * matmul (batched, NumPy broadcasting of batch axes) and linear (PyTorch's [out, in] weights).
 *
 * Both describe their operands as strided matrices (kernels/gemm.ts `MatrixRef`) and never copy a
 * weight: f16 / bf16 stay in storage and are decoded block by block inside the kernel. Large
 * products are split over threads by columns (or rows when C is tall and narrow).
 */
import { record } from '../autograd/tape.js';
import { sumToShape } from '../autograd/broadcast.js';
import { getNumThreads, runOnThreads } from '../threads/pool.js';
import { GEMM_TASK, MR, NR, gemm, usesDotPath, type GemmDType, type GemmTask, type MatrixRef } from '../kernels/gemm.js';
import { getKernel } from '../kernels/select.js';
import { arenaOf } from '../wasm/arena.js';
import { ZERO_EXPONENT_MAX_K, zeroExponentIndex } from '../kernels/f16-zero-exponent.js';
import { ShapeError, broadcastShapes, formatShape } from '../shape.js';
import { allocate, isShared } from '../dtype.js';
import { Tensor, f32Output, f32Values, gather } from '../tensor.js';

/**
 * Products smaller than this many multiply-adds (about 1 ms on one core) stay on one thread:
 * handing a part to a worker costs ~0.1-0.2 ms (measured: a 602 x 64 x 64 product, 2.5M
 * multiply-adds, gained only 1.13x from a second thread).
 */
const PARALLEL_MIN_MACS = 1 << 22;

/**
 * `t` in a dtype the kernel reads, on a SharedArrayBuffer when kernels may run on worker threads
 * (copied only when it is not).
 */
function kernelReady(t: Tensor): Tensor {
  if (t.dtype !== 'f32' && t.dtype !== 'f16' && t.dtype !== 'bf16') return t.to('f32');
  if (getNumThreads() === 1 || isShared(t.data.buffer)) return t;
  const data = allocate(t.dtype, t.size, true);
  gather(t, data);
  return new Tensor(t.dtype, data, t.shape);
}

/** Matrix (r, c) of a rank-2 (or batch-indexed) tensor, as the kernel sees it. */
function matrixRef(t: Tensor, offset: number, rowAxis: number, colAxis: number): MatrixRef {
  return {
    data: t.data as Float32Array | Uint16Array,
    dtype: t.dtype as GemmDType,
    offset,
    rowStride: t.stride[rowAxis],
    colStride: t.stride[colAxis],
  };
}

/**
 * C = A B for strided matrices, straight into `c` (row-major [m, n] at `cOffset`; f32, or f64 to keep
 * the sums unrounded): the kernel-level entry point for code that holds raw arrays, such as the
 * attention kernels. Split over threads when large enough and when every array sits on a
 * SharedArrayBuffer (workers get copies of anything else, so it stays on the calling thread).
 */
export function matmulInto(a: MatrixRef, b: MatrixRef, c: Float32Array | Float64Array, cOffset: number, m: number, n: number, k: number): void {
  const kernel = getKernel();
  const dot = usesDotPath(a, b, m);
  const arena = kernel === 'wasm' && dot ? arenaOf(b.data) : undefined;
  // f16 weights on the wasm dot path (f32 outputs): the list of their zeros and subnormals, which those kernels correct.
  const f16Dot = kernel === 'wasm' && dot && b.dtype === 'f16' && c instanceof Float32Array && k <= ZERO_EXPONENT_MAX_K;
  const zeroExponents = f16Dot ? zeroExponentIndex(b, n, k) : undefined;
  const whole: GemmTask = { a, b, c, cOffset, ldc: n, k, m0: 0, m1: m, n0: 0, n1: n, kernel, arena, part: 0, zeroExponents };
  const shared = [a.data, b.data, c].every((x) => isShared(x.buffer));
  const threads = !shared || m * n * k < PARALLEL_MIN_MACS ? 1 : getNumThreads();
  const byColumns = n >= m || dot;
  const step = byColumns ? NR : MR;
  const extent = byColumns ? n : m;
  const parts = Math.min(threads, Math.ceil(extent / step));
  if (parts <= 1) {
    gemm(whole);
    return;
  }
  const chunk = Math.ceil(extent / parts / step) * step;
  const tasks: GemmTask[] = [];
  for (let lo = 0; lo < extent; lo += chunk) {
    const hi = Math.min(extent, lo + chunk);
    const part = tasks.length;
    tasks.push(byColumns ? { ...whole, n0: lo, n1: hi, part } : { ...whole, m0: lo, m1: hi, part });
  }
  runOnThreads(GEMM_TASK, tasks);
}

/**
 * Matrix product with NumPy semantics: a [..., M, K] @ b [..., K, N] -> [..., M, N], batch axes
 * broadcast; a 1-D `a` is a row vector and a 1-D `b` a column vector (that axis is dropped).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul: scalars ${formatShape(a.shape)} and ${formatShape(b.shape)} have no matrix product`);
  const av = kernelReady(a.rank === 1 ? a.unsqueeze(0) : a);
  const bv = kernelReady(b.rank === 1 ? b.unsqueeze(1) : b);
  const [m, k] = av.shape.slice(-2);
  const [k2, n] = bv.shape.slice(-2);
  if (k !== k2) throw new ShapeError(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not align (${k} != ${k2})`);
  const batch = broadcastShapes('matmul', av.shape.slice(0, -2), bv.shape.slice(0, -2));
  const ae = av.expand([...batch, m, k]);
  const be = bv.expand([...batch, k, n]);
  const [out, c] = f32Output([...batch, m, n]);
  const batches = batch.reduce((p, d) => p * d, 1);
  const r = batch.length;
  for (let bi = 0; bi < batches; bi++) {
    // Offsets of batch element bi in each operand (expanded axes have stride 0).
    let aOff = ae.offset;
    let bOff = be.offset;
    for (let axis = r - 1, rest = bi; axis >= 0; axis--) {
      const i = rest % batch[axis];
      rest = Math.floor(rest / batch[axis]);
      aOff += i * ae.stride[axis];
      bOff += i * be.stride[axis];
    }
    matmulInto(matrixRef(ae, aOff, r, r + 1), matrixRef(be, bOff, r, r + 1), c, bi * m * n, m, n, k);
  }
  let result = out;
  if (b.rank === 1) result = result.squeeze(-1);
  if (a.rank === 1) result = result.squeeze(-2);
  // dA = dC B^T and dB = A^T dC on the matrix forms, summed over broadcast batch axes.
  return record('matmul', [a, b], result, (g) => {
    const a2 = a.rank === 1 ? a.unsqueeze(0) : a;
    const b2 = b.rank === 1 ? b.unsqueeze(1) : b;
    const g2 = g.reshape([...batch, m, n]);
    return [
      a.requiresGrad ? sumToShape(matmul(g2, b2.transpose()), a2.shape).reshape(a.shape) : undefined,
      b.requiresGrad ? sumToShape(matmul(a2.transpose(), g2), b2.shape).reshape(b.shape) : undefined,
    ];
  });
}

/**
 * y = x W^T + b, with W in PyTorch's [out, in] layout (any dtype the kernel reads, never copied):
 * x [..., in] -> [..., out].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) throw new ShapeError(`linear: weight must be [out, in], got ${formatShape(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`linear: input ${formatShape(x.shape)} does not match weight ${formatShape(weight.shape)}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError(`linear: bias ${formatShape(bias.shape)} does not match weight ${formatShape(weight.shape)}`);
  }
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((p, d) => p * d, 1);
  const x2 = kernelReady(x.reshape([rows, inF]).contiguous());
  const w = kernelReady(weight);
  const [out, c] = f32Output([...lead, outF]);
  // B = W^T: B's row (k) axis is W's axis 1, its column (n) axis is W's axis 0.
  matmulInto(matrixRef(x2, x2.offset, 0, 1), matrixRef(w, w.offset, 1, 0), c, 0, rows, outF, inF);
  if (bias) {
    const bv = f32Values(bias);
    for (let i = 0; i < c.length; i += outF) for (let j = 0; j < outF; j++) c[i + j] += bv[j];
  }
  return record('linear', [x, weight, bias], out, (g) => {
    const gm = kernelReady(g.reshape([rows, outF]).contiguous()); // dY [rows, out]
    let dx: Tensor | undefined;
    let dw: Tensor | undefined;
    let db: Tensor | undefined;
    if (x.requiresGrad) {
      // dX = dY W: W read in its stored dtype as the [out, in] matrix it is (never converted whole).
      const [t, d] = f32Output([rows, inF]);
      matmulInto(matrixRef(gm, gm.offset, 0, 1), matrixRef(w, w.offset, 0, 1), d, 0, rows, inF, outF);
      dx = t.reshape(x.shape);
    }
    if (weight.requiresGrad) {
      // dW = dY^T X: A is dY read transposed (row axis = its columns).
      const [t, d] = f32Output([outF, inF]);
      matmulInto(matrixRef(gm, gm.offset, 1, 0), matrixRef(x2, x2.offset, 0, 1), d, 0, outF, inF, rows);
      dw = t;
    }
    if (bias?.requiresGrad) {
      const gv = gm.data as Float32Array;
      const sums = new Float64Array(outF);
      for (let i = 0; i < rows; i++) for (let j = 0; j < outF; j++) sums[j] += gv[gm.offset + i * outF + j];
      const [t, d] = f32Output([outF]);
      d.set(sums);
      db = t;
    }
    return [dx, dw, db];
  });
}
