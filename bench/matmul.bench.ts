/**
 * Matmul speed: @adsc/core on 1 and 2 threads against tfjs-backend-cpu (pure JS) on the same
 * inputs, plus the two shapes LLaVA-1.5-7B's decoder runs (f16 weights, prefill and decode).
 * Targets (issue #2): f32 1024^3 >= 3.5 GFLOP/s on one thread and >= 5x tfjs; two threads >= 1.8x one.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { getNumThreads, linear, matmul, randn, setNumThreads } from '@adsc/core';
import type { SuiteOptions } from './run.js';
import { measure, printTable, speedup, type Case } from './report.js';

export default async function matmulSuite({ quick }: SuiteOptions): Promise<void> {
  await tf.setBackend('cpu');
  const threads = getNumThreads();
  const cases: Case[] = [];
  for (const n of [512, 1024]) {
    const a = randn([n, n], 1);
    const b = randn([n, n], 2);
    const ta = tf.tensor2d(a.toFloat32Array(), [n, n]);
    const tb = tf.tensor2d(b.toFloat32Array(), [n, n]);
    const flops = 2 * n ** 3;
    cases.push(
      { name: `f32 ${n}^3 tfjs-backend-cpu`, flops, fn: () => tf.tidy(() => tf.matMul(ta, tb).dataSync()) },
      { name: `f32 ${n}^3 adsc 1 thread`, flops, setup: () => setNumThreads(1), fn: () => matmul(a, b) },
      { name: `f32 ${n}^3 adsc 2 threads`, flops, setup: () => setNumThreads(2), fn: () => matmul(a, b) },
    );
  }
  // LLaVA-1.5-7B q_proj shapes with f16 weights [4096, 4096]: a 640-token prefill and a decode step.
  const w = randn([4096, 4096], 3, 'f16');
  const decode = randn([1, 4096], 4);
  const prefill = randn(quick ? [64, 4096] : [640, 4096], 5);
  const rows = prefill.shape[0];
  cases.push(
    { name: `f16 linear ${rows}x4096x4096 1 thread`, flops: 2 * rows * 4096 * 4096, setup: () => setNumThreads(1), fn: () => linear(prefill, w) },
    { name: `f16 linear ${rows}x4096x4096 2 threads`, flops: 2 * rows * 4096 * 4096, setup: () => setNumThreads(2), fn: () => linear(prefill, w) },
    { name: 'f16 decode 1x4096x4096 1 thread', flops: 2 * 4096 * 4096, setup: () => setNumThreads(1), fn: () => linear(decode, w) },
    { name: 'f16 decode 1x4096x4096 2 threads', flops: 2 * 4096 * 4096, setup: () => setNumThreads(2), fn: () => linear(decode, w) },
  );
  const results = await measure(cases, quick);
  setNumThreads(threads);
  const byName = new Map(results.map((r) => [r.name, r]));
  const size = (r: { name: string }) => r.name.split(' ').slice(0, 2).join(' ');
  printTable(results, {
    'vs tfjs': (r) => (r.name.includes('adsc') ? speedup(r, byName.get(`${size(r)} tfjs-backend-cpu`)) : '-'),
    'vs 1 thread': (r) => (r.name.includes('2 threads') ? speedup(r, byName.get(r.name.replace('2 threads', '1 thread'))) : '-'),
  });
}
