/**
 * The matmul on WebAssembly SIMD: the same blocking as gemm.ts (its JS kernel stays the readable
 * reference and the fallback), with the arithmetic in the kernels of wasm/kernels.ts.
 *
 * A wasm instance can only address its own linear memory, while tensors live on SharedArrayBuffers
 * of their own. So packing, which copies anyway, is where operands cross over: the rows of a block
 * are copied into the instance's memory (`TypedArray.set`, memcpy speed) and packed there by a SIMD
 * kernel (which also converts f16 / bf16 weights); operands in other layouts (a transposed A, a
 * strided B) are packed by the JS packer. C is accumulated in an f32 strip of the instance's memory
 * that is copied out once per column block. The decode path reads a weight in place where it lies
 * in a shared arena (wasm/arena.ts: large loaded weights); otherwise it copies a chunk of weight
 * rows and runs the dot kernel on it.
 *
 * Every thread has its own instance (a module-level singleton: each worker imports this module
 * anew), so no memory is shared between kernels. Nothing here uses Node APIs: the kernels load the
 * same way in a browser worker.
 */
import { DOT_STEP, KERNEL_SUFFIX, PACK_STEP, kernelModule, relaxedSimdSupported } from '../wasm/kernels.js';
import { webAssembly, type WasmMemory, type WasmModule } from '../wasm/webassembly.js';
import { KC, MC, MR, NC, NR, packA, packB, type GemmTask, type MatrixRef } from './gemm.js';
import { ARENA_SLOTS, SLOT_X_BYTES, arenaKernels, slotAt, type ArenaHandle } from '../wasm/arena.js';
import { correctZeroExponents } from './f16-zero-exponent.js';

/** Rows of C accumulated in the instance at once (a strip of MS x NC f32 = 4 MiB). */
const MS = 1024;
/** Bytes of weight rows copied per call of a dot kernel: fits L2 with room for x. */
const DOT_CHUNK_BYTES = 128 * 1024;

type KernelFn = (...args: number[]) => void;

interface Instance {
  memory: WasmMemory;
  fns: Record<string, KernelFn>;
}

let compiled: WasmModule | null | undefined;
let instance: Instance | undefined;

/**
 * The compiled kernel module, or null where the engine rejects 128-bit SIMD. Relaxed SIMD's FMA is
 * used where the engine validates it (Node 20 does not by default).
 */
function compiledModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = webAssembly ? kernelModule(relaxedSimdSupported()) : undefined;
    compiled = bytes && webAssembly?.validate(bytes) ? new webAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** Whether the wasm kernels can run here (WebAssembly with fixed-width SIMD). */
export function wasmSupported(): boolean {
  return compiledModule() !== null;
}

/** This thread's instance with at least `bytes` of linear memory. */
function reserve(bytes: number): Instance {
  if (!instance) {
    const module = compiledModule();
    if (!module || !webAssembly) throw new Error('wasm kernels: this engine does not support WebAssembly SIMD');
    const exports = new webAssembly.Instance(module).exports;
    instance = { memory: exports.memory as WasmMemory, fns: exports as Record<string, KernelFn> };
  }
  const have = instance.memory.buffer.byteLength;
  if (bytes > have) instance.memory.grow(Math.ceil((bytes - have) / 65536));
  return instance;
}

/**
 * This thread's kernel instance with at least `bytes` of linear memory, for kernels called from
 * other packages (the attention's block products, attention/src/wasm-blocks.ts). Its memory is
 * scratch for the duration of one synchronous call: the GEMM overwrites it from address 0, and a
 * grow detaches earlier views of it, so callers take their views after this returns.
 */
export function threadWasm(bytes: number): { memory: WasmMemory; fns: Record<string, KernelFn> } {
  return reserve(bytes);
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** One thread's share of C = A B by the blocked algorithm (gemm.ts's), into f32 `t.c`. */
export function blockedWasm(t: GemmTask): void {
  const { a, b, k } = t;
  const c = t.c as Float32Array;
  const strip = Math.min(MS, roundUp(t.m1 - t.m0, MR));
  // Where B's panels come from: a k-contiguous B (a weight W [N, K] read as W^T) and an
  // n-contiguous f32 B are copied in and packed by a kernel; any other layout by the JS packer.
  const bFrom = b.rowStride === 1 ? 'k-rows' : b.dtype === 'f32' && b.colStride === 1 ? 'n-rows' : 'js';
  const aInWasm = a.dtype === 'f32' && a.colStride === 1;
  const kp = roundUp(k, PACK_STEP);
  const size = b.dtype === 'f32' ? 4 : 2;
  // Byte layout of the instance memory: packed A, packed B, C strip, A's rows (one MC x KC block,
  // 64 KiB: staging the strip's whole KC-deep block, up to 1 MiB, competes with packed B for L2;
  // f32 1024^3 on one thread went from 35 to 44 GFLOP/s with the smaller block), then B's source:
  // for k-rows the column block's rows, all k of them (staged once per column block, packed KC at a
  // time), for n-rows one KC x NC block.
  const aAt = 0;
  const bAt = aAt + MC * KC * 4;
  const cAt = bAt + KC * NC * 4;
  const aRowsAt = cAt + strip * NC * 4;
  const bRowsAt = aRowsAt + (aInWasm ? MC * KC * 4 : 0);
  const bRowsBytes = { 'k-rows': NC * kp * size, 'n-rows': KC * NC * 4, js: 0 }[bFrom];
  const { memory, fns } = reserve(bRowsAt + bRowsBytes);
  const f32 = new Float32Array(memory.buffer);
  const bRows = b.dtype === 'f32' ? f32 : new Uint16Array(memory.buffer); // B's source, in its own dtype
  const pack = fns[`pack${KERNEL_SUFFIX[b.dtype]}`];
  for (let ms = t.m0; ms < t.m1; ms += MS) {
    const msEnd = Math.min(t.m1, ms + MS);
    const msp = roundUp(msEnd - ms, MR);
    for (let jc = t.n0; jc < t.n1; jc += NC) {
      const nc = Math.min(NC, t.n1 - jc);
      const ncp = roundUp(nc, NR);
      // k-rows: columns jc..jc+nc of B are rows of W, copied as ncp rows of kp elements.
      if (bFrom === 'k-rows') copyRows(b.data, b.offset + jc * b.colStride, b.colStride, nc, k, bRows, bRowsAt / size, kp, ncp);
      f32.fill(0, cAt / 4, cAt / 4 + msp * ncp);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        const kcp = roundUp(kc, PACK_STEP);
        if (bFrom === 'k-rows') {
          pack(bRowsAt + pc * size, kp * size, bAt, kcp, ncp);
        } else if (bFrom === 'n-rows') {
          copyRows(b.data, b.offset + pc * b.rowStride + jc, b.rowStride, kc, nc, f32, bRowsAt / 4, ncp, kcp);
          fns.packRowMajorF32(bRowsAt, ncp * 4, bAt, kcp, ncp);
        } else {
          packB(b, pc, kc, kcp, jc, nc, f32, bAt / 4);
        }
        for (let ic = ms; ic < msEnd; ic += MC) {
          const mc = Math.min(MC, msEnd - ic);
          const mcp = roundUp(mc, MR);
          if (aInWasm) {
            copyRows(a.data, a.offset + ic * a.rowStride + pc, a.rowStride, mc, kc, f32, aRowsAt / 4, kcp, mcp);
            fns.packAF32(aRowsAt, kcp * 4, aAt, kcp, mcp);
          } else {
            packA(a, ic, mc, pc, kc, kcp, f32, aAt / 4);
          }
          fns.gemmBlock(aAt, bAt, cAt + (ic - ms) * ncp * 4, ncp * 4, mcp, ncp, kcp);
        }
      }
      for (let i = ms; i < msEnd; i++) {
        const from = cAt / 4 + (i - ms) * ncp;
        c.set(f32.subarray(from, from + nc), t.cOffset + i * t.ldc + jc);
      }
    }
  }
}

/**
 * Copies `rows` rows of `cols` contiguous elements, the first at data[from] and `rowStride` apart,
 * into out[at...] as rows of `stride` elements, zero-filling each row past `cols` and the rows up
 * to `paddedRows`, so that the kernels read zeros (not stale memory) in the padding. Rows that lie
 * back to back go over in one copy. `data` and `out` hold the same element type.
 */
function copyRows(
  data: Float32Array | Uint16Array, from: number, rowStride: number, rows: number, cols: number,
  out: Float32Array | Uint16Array, at: number, stride: number, paddedRows: number,
): void {
  const src = data as Float32Array; // same element type as out: a plain element copy
  if (stride === cols && rowStride === cols) {
    out.set(src.subarray(from, from + rows * cols), at);
  } else {
    for (let r = 0; r < rows; r++) {
      out.set(src.subarray(from + r * rowStride, from + r * rowStride + cols), at + r * stride);
      out.fill(0, at + r * stride + cols, at + (r + 1) * stride);
    }
  }
  out.fill(0, at + rows * stride, at + paddedRows * stride);
}

/**
 * Few rows of A (a decode step) against a k-contiguous B: C[i, n] = dot(A[i, :], W[n, :]). A weight
 * in an arena is read in place (`dotRowsInArena`); any other is copied into this thread's instance
 * in chunks of DOT_CHUNK_BYTES, each run through the dot kernel while it sits in L2. f16 outputs
 * get their zero-exponent correction (f16-zero-exponent.ts; the task carries the index). Returns
 * false where the f16 kernels cannot give the product: no index (k > ZERO_EXPONENT_MAX_K), or an
 * output that came out inf or NaN (a partial sum reached 2^16, the kernels' limit, or an inf / NaN
 * in x or W); the caller then runs the JS kernel, which writes every output again.
 */
export function dotRowsWasm(t: GemmTask): boolean {
  const { arena, b, k } = t;
  if (b.dtype === 'f16' && !t.zeroExponents) return false;
  // In place: W's rows back to back, k a multiple of the kernel's step, a slot for this part, and
  // x rows that fit in it.
  const part = t.part ?? 0;
  const inPlace = arena && b.colStride === k && k % DOT_STEP === 0 && part < ARENA_SLOTS && (t.m1 - t.m0) * k * 4 <= SLOT_X_BYTES;
  return inPlace ? dotRowsInArena(t, arena, part) : dotRowsCopied(t);
}

/** The decode product with chunks of W's rows copied into the instance (W outside arenas, or not readable in place). */
function dotRowsCopied(t: GemmTask): boolean {
  const { b, k } = t;
  const rows = t.m1 - t.m0;
  const kp = roundUp(k, DOT_STEP);
  const size = b.dtype === 'f32' ? 4 : 2;
  // Weight rows per copy: a multiple of 4, so that the same rows go through the 4-row kernel as in
  // dotRowsInArena (parts start at multiples of NR) and both paths agree bit for bit.
  const chunk = Math.max(4, Math.floor(DOT_CHUNK_BYTES / (kp * size) / 4) * 4);
  const xAt = 0;
  const wAt = roundUp(rows * kp * 4, 16);
  const outAt = wAt + roundUp(chunk * kp * size, 16);
  const { memory, fns } = reserve(outAt + rows * chunk * 4);
  const f32 = new Float32Array(memory.buffer);
  for (let i = 0; i < rows; i++) {
    putRow(t, i, f32, xAt / 4 + i * kp);
    f32.fill(0, xAt / 4 + i * kp + k, xAt / 4 + (i + 1) * kp);
  }
  const w = b.dtype === 'f32' ? f32 : new Uint16Array(memory.buffer);
  const wStart = wAt / size;
  for (let n = t.n0; n < t.n1; n += chunk) {
    const count = Math.min(chunk, t.n1 - n);
    copyRows(b.data, b.offset + n * b.colStride, b.colStride, count, k, w, wStart, kp, count);
    runDot(fns, b.dtype, rows, xAt, wAt, outAt, kp, count);
    if (!storeOutputs(t, f32, outAt, n, count)) return false;
  }
  return true;
}

/**
 * x bytes that still sit in L1 (32 KiB here) beside the weights streaming through it: up to this,
 * a single x row runs dot*x1 (13-14 GB/s of f16 weights on one thread at k = 4096, where dot*x1w4
 * measured 8.5); past it, dot*x1w4 (10.4 GB/s at k = 11008, where dot*x1 fell to 8.2).
 */
const DOT_X_IN_L1_BYTES = 16 * 1024;

/**
 * out = x W^T for `count` weight rows of k elements from `wAt` (rows back to back): for a single x
 * row deeper than DOT_X_IN_L1_BYTES, four weight rows per step (dot*x1w4) and the last count % 4
 * one by one; otherwise the kernel for that many x rows.
 */
function runDot(fns: Record<string, KernelFn>, dtype: GemmTask['b']['dtype'], rows: number, xAt: number, wAt: number, outAt: number, k: number, count: number): void {
  const name = `dot${KERNEL_SUFFIX[dtype]}x${rows}`;
  if (rows > 1 || k * 4 <= DOT_X_IN_L1_BYTES) {
    fns[name](xAt, wAt, outAt, k, count);
    return;
  }
  const four = count - (count % 4);
  if (four > 0) fns[`${name}w4`](xAt, wAt, outAt, k, four);
  if (four < count) fns[name](xAt, wAt + four * k * (dtype === 'f32' ? 4 : 2), outAt + four * 4, k, count - four);
}

/**
 * Copies the kernel's outputs for columns n .. n + count of every row (at `outAt`, row after row)
 * into C; for f16 weights, corrects them (f16-zero-exponent.ts) and returns false if one is not
 * finite.
 */
function storeOutputs(t: GemmTask, f32: Float32Array, outAt: number, n: number, count: number): boolean {
  const { a, b } = t;
  const c = t.c as Float32Array;
  const rows = t.m1 - t.m0;
  const cAt = t.cOffset + t.m0 * t.ldc + n;
  for (let i = 0; i < rows; i++) {
    const from = outAt / 4 + i * count;
    c.set(f32.subarray(from, from + count), cAt + i * t.ldc);
  }
  if (b.dtype !== 'f16') return true;
  const x = a.data as Float32Array;
  correctZeroExponents(t.zeroExponents!, n, count, rows, x, a.offset + t.m0 * a.rowStride, a.rowStride, c, cAt, t.ldc);
  for (let i = 0; i < rows; i++) {
    for (let j = cAt + i * t.ldc; j < cAt + i * t.ldc + count; j++) if (!Number.isFinite(c[j])) return false;
  }
  return true;
}

/** Copies row `i` of the task's x (row t.m0 + i of A) to f32[at ...]. */
function putRow(t: GemmTask, i: number, f32: Float32Array, at: number): void {
  const { a, k } = t;
  const x = a.data as Float32Array; // f32 with unit column stride on the dot path
  const from = a.offset + (t.m0 + i) * a.rowStride;
  f32.set(x.subarray(from, from + k), at);
}

/**
 * The decode product with W inside an arena: x goes into this part's scratch slot there, the kernel
 * streams W's rows from where they lie, and outputs come back a slot's worth at a time.
 */
function dotRowsInArena(t: GemmTask, arena: ArenaHandle, part: number): boolean {
  const { b, k } = t;
  const rows = t.m1 - t.m0;
  const fns = arenaKernels(arena);
  const size = b.dtype === 'f32' ? 4 : 2;
  const xAt = slotAt(part);
  const outAt = xAt + SLOT_X_BYTES;
  const f32 = new Float32Array(b.data.buffer);
  for (let i = 0; i < rows; i++) putRow(t, i, f32, xAt / 4 + i * k);
  const chunk = Math.floor(SLOT_X_BYTES / (rows * 4)); // output columns per call (a multiple of 4)
  for (let n = t.n0; n < t.n1; n += chunk) {
    const count = Math.min(chunk, t.n1 - n);
    runDot(fns, b.dtype, rows, xAt, b.data.byteOffset + (b.offset + n * k) * size, outAt, k, count);
    if (!storeOutputs(t, f32, outAt, n, count)) return false;
  }
  return true;
}

/** Exposed for tests: f16 / bf16 bit patterns converted by the SIMD kernel (through packing). */
export function halfToF32Wasm(dtype: 'f16' | 'bf16', bits: Uint16Array): Float32Array {
  // Pack one panel column at a time: bits become B[p, 0] of an 8-row, len-deep block.
  const kcp = roundUp(bits.length, PACK_STEP);
  const stageAt = 0;
  const outAt = roundUp(NR * kcp * 2, 16);
  const { memory, fns } = reserve(outAt + NR * kcp * 4);
  const stage = new Uint16Array(memory.buffer, stageAt, NR * kcp);
  stage.fill(0);
  stage.set(bits);
  fns[`pack${KERNEL_SUFFIX[dtype]}`](stageAt, kcp * 2, outAt, kcp, NR);
  const panel = new Float32Array(memory.buffer, outAt, NR * kcp);
  const out = new Float32Array(bits.length);
  for (let p = 0; p < bits.length; p++) out[p] = panel[p * NR];
  return out;
}
