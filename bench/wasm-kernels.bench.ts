/**
 * The WebAssembly kernels alone, on operands already in the instance's memory and in cache: what
 * the arithmetic reaches before packing, copies and threads (`pnpm bench matmul` measures those).
 * - gemmBlock: one MC x KC panel of A (64 x 256) times a KC x NC panel of B (256 x 1024), 4 x 8 tile.
 * - dot{F16,Bf16,F32}x1: one row against 16 weight rows of 4096 (128 KiB of f16, in L2), the
 *   decode kernel; "G weights/s" is what it would stream if memory kept up.
 * - expRow: exp(scale s - shift) over a row of 4096 scores in place, the attention backward's
 *   probabilities, against its peer, a JavaScript loop of Math.exp over the same row (what the
 *   JS blocks run); "G exp/s" counts exponentials, "vs Math.exp" is the ratio of their times.
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
  // Scores of a few units below 0, as S - L are; the row is rewritten each call, so it is refilled
  // from a copy first in both cases (the same copy costs both).
  const n = 4096;
  const sAt = 0;
  const scores = Float32Array.from({ length: n }, (_, i) => -((i * 7919) % 1000) / 100);
  const row = new Float32Array(memory.buffer, sAt, n);
  const js = new Float64Array(n);
  const expRow = exports.expRow as Kernel;
  cases.push(
    { name: `expRow ${n} scores`, flops: n, fn: () => { row.set(scores); expRow(sAt, n, 1, 0.5); } },
    { name: `Math.exp loop ${n} scores (peer)`, flops: n, fn: () => { for (let j = 0; j < n; j++) js[j] = Math.exp(scores[j] - 0.5); } },
  );
  const results = await measure(cases, quick);
  const peer = results.find((r) => r.name.startsWith('Math.exp'));
  printTable(results, {
    'G weights/s': (r) => (r.name.startsWith('dot') ? (r.gflops / 2).toFixed(2) : '-'),
    'G exp/s': (r) => (r.name.includes('exp') ? r.gflops.toFixed(2) : '-'),
    'vs Math.exp': (r) => (r.name.startsWith('expRow') && peer ? `${(peer.ms / r.ms).toFixed(1)}x` : '-'),
  });
}
