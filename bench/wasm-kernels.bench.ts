/**
 * The WebAssembly kernels alone, on operands already in the instance's memory and in cache: what
 * the arithmetic reaches before packing, copies and threads (`pnpm bench matmul` measures those).
 * - gemmBlock: one MC x KC panel of A (64 x 256) times a KC x NC panel of B (256 x 1024), 4 x 8 tile.
 * - dot{F16,Bf16,F32}x1: one row against 16 weight rows of 4096 (128 KiB of f16, in L2), the
 *   decode kernel; "G weights/s" is what it would stream if memory kept up.
 * - scoreBlock and accumulateBlock: the attention backward's block products at shapes-llava's size
 *   (64 query rows, a tile of 64 keys, D 32): S = Q K^T, and O += P X with P read by rows (dQ +=
 *   dS K) and by columns (dV += P^T dO); gemmBlock's GFLOP/s is what SIMD reaches with a 4 x 8
 *   register tile, which these row kernels do not have.
 * - softmaxGradBlock: the attention backward's softmax step on one 64 x 64 block in place,
 *   p = exp(s - L) and ds = p (dp - delta) with a lane mask per row, against its peer, the same two
 *   lines as a JavaScript loop with Math.exp (what the JS blocks run); "G exp/s" counts entries
 *   (one exponential each), "vs Math.exp" is the ratio of their times.
 */
import { kernelModule, webAssembly, type WasmMemory } from '@adsc/core';
import type { SuiteOptions } from './run.js';
import { measure, printTable, type Case } from './report.js';

type Kernel = (...args: number[]) => void;

export default async function wasmKernelsSuite({ quick }: SuiteOptions): Promise<void> {
  if (!webAssembly) throw new Error('bench wasm-kernels: this engine has no WebAssembly');
  const exports = new webAssembly.Instance(new webAssembly.Module(kernelModule(false))).exports;
  const memory = exports.memory as WasmMemory;
  memory.grow(100); // 6.4 MiB
  const f32 = new Float32Array(memory.buffer);
  const u16 = new Uint16Array(memory.buffer);
  for (let i = 0; i < f32.length; i++) f32[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const [mc, kc, nc] = [64, 256, 1024];
  const aAt = 0;
  const bAt = aAt + mc * kc * 4;
  const cAt = bAt + kc * nc * 4;
  const gemm = exports.gemmBlock as Kernel;
  const cases: Case[] = [
    { name: `gemmBlock ${mc}x${kc}x${nc} (4 x 8 tile)`, flops: 2 * mc * kc * nc, fn: () => gemm(aAt, bAt, cAt, nc * 4, mc, nc, kc) },
  ];
  const [k, rows] = [4096, 16];
  const xAt = 0;
  const wAt = 65536;
  const outAt = wAt + rows * k * 4;
  for (let i = 0; i < rows * k; i++) u16[wAt / 2 + i] = 0x3000 + (i % 1000); // f16 / bf16 patterns of moderate size
  for (const dtype of ['F16', 'Bf16', 'F32']) {
    const dot = exports[`dot${dtype}x1`] as Kernel;
    cases.push({ name: `dot${dtype}x1 1 x ${k} x ${rows} in L2`, flops: 2 * k * rows, fn: () => dot(xAt, wAt, outAt, k, rows) });
  }
  // The backward's block products on 64 x 64 blocks of D 32, operands 1 MiB in.
  const [side, d] = [64, 32];
  const [qAt, kAt, blockAt, oAt] = [1 << 20, (1 << 20) + 4 * side * d, (1 << 20) + 8 * side * d, (1 << 20) + 8 * side * d + 4 * side * side];
  const scoreBlock = exports.scoreBlock as Kernel;
  const accumulateBlock = exports.accumulateBlock as Kernel;
  const blockFlops = 2 * side * side * d;
  cases.push(
    { name: `scoreBlock ${side} x ${side}, D ${d}`, flops: blockFlops, fn: () => scoreBlock(qAt, 4 * d, kAt, 4 * d, blockAt, 4 * side, side, side, d) },
    { name: `accumulateBlock P X ${side} x ${side}, D ${d}`, flops: blockFlops, fn: () => accumulateBlock(blockAt, 4 * side, 4, kAt, 4 * d, oAt, 4 * d, side, side, d) },
    { name: `accumulateBlock P^T X ${side} x ${side}, D ${d}`, flops: blockFlops, fn: () => accumulateBlock(blockAt, 4, 4 * side, qAt, 4 * d, oAt, 4 * d, side, side, d) },
  );
  // Scores of a few units below 0, as S - L are; the block is rewritten each call, so it is
  // refilled from copies first in both cases (the same copies cost both).
  const n = side * side;
  const [sAt, dsAt, seenAt, lseAt, deltaAt] = [0, 4 * n, 8 * n, 8 * n + 4 * side, 8 * n + 8 * side];
  const scores = Float32Array.from({ length: n }, (_, i) => -((i * 7919) % 1000) / 100);
  const dp = Float32Array.from({ length: n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const p = new Float32Array(memory.buffer, sAt, n);
  const ds = new Float32Array(memory.buffer, dsAt, n);
  new Int32Array(memory.buffer, seenAt, side).fill(side);
  new Float32Array(memory.buffer, lseAt, side).fill(0.5);
  new Float32Array(memory.buffer, deltaAt, side).fill(0.1);
  const jsP = new Float64Array(n);
  const jsDs = new Float64Array(n);
  const grad = exports.softmaxGradBlock as Kernel;
  cases.push(
    { name: `softmaxGradBlock ${side} x ${side}`, flops: n, fn: () => { p.set(scores); ds.set(dp); grad(sAt, dsAt, 4 * side, side, side, seenAt, lseAt, deltaAt, 1); } },
    {
      name: `Math.exp loop ${side} x ${side} (peer)`, flops: n, fn: () => {
        jsP.set(scores);
        jsDs.set(dp);
        for (let j = 0; j < n; j++) {
          jsP[j] = Math.exp(jsP[j] - 0.5);
          jsDs[j] = jsP[j] * (jsDs[j] - 0.1);
        }
      },
    },
  );
  const results = await measure(cases, quick);
  const peer = results.find((r) => r.name.startsWith('Math.exp'));
  printTable(results, {
    'G weights/s': (r) => (r.name.startsWith('dot') ? (r.gflops / 2).toFixed(2) : '-'),
    'G exp/s': (r) => (r.name.includes('exp') || r.name.includes('Grad') ? r.gflops.toFixed(2) : '-'),
    'vs Math.exp': (r) => (r.name.startsWith('softmaxGradBlock') && peer ? `${(peer.ms / r.ms).toFixed(1)}x` : '-'),
  });
}
