/**
 * The SIMD block products (wasm-blocks.ts) against blocks.ts's, on rows staged from strided heads:
 * the same signatures must give the same numbers (within f32 sums of D products), whatever the
 * strides of P. The kernels as a whole run on them in the case table (every D that is a multiple
 * of 32, when the wasm kernel is selected).
 */
import { describe, expect, it } from 'vitest';
import { mulberry32, wasmSupported } from '@adsc/core';
import { accumulateBlock, scoreBlock } from '../src/blocks.js';
import type { HeadRows } from '../src/head-rows.js';
import { wasmStage } from '../src/wasm-blocks.js';

const random = (n: number, seed: number) => {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * rng() - 1);
};

/** Two heads of T rows of D, interleaved as a model's projection lays them out (row stride 2 D). */
function interleaved(t: number, d: number, seed: number): HeadRows {
  return { data: random(2 * t * d, seed), bases: [0, d], rowStride: 2 * d };
}

const close = (actual: Float64Array, expected: Float64Array) => {
  const worst = actual.reduce((m, x, i) => Math.max(m, Math.abs(x - expected[i])), 0);
  expect(worst).toBeLessThan(1e-5);
};

describe.runIf(wasmSupported())('wasmStage', () => {
  const d = 32;
  const [rows, cols] = [7, 13]; // neither a multiple of 4: every edge of blocks.ts's register blocks

  it('scores staged rows as blocks.ts scores them in place', () => {
    const q = interleaved(rows, d, 1);
    const k = interleaved(cols, d, 2);
    const wasm = wasmStage(rows + cols, d, 16);
    const sq = wasm.stage(q, 1, rows);
    const sk = wasm.stage(k, 1, cols);
    const [expected, actual] = [new Float64Array(rows * 16), new Float64Array(rows * 16)];
    scoreBlock(q.data, q.bases[1], q.rowStride, k.data, k.bases[1], k.rowStride, rows, cols, d, 0.25, expected, 16);
    wasm.blocks.score(sq.data, sq.bases[1], sq.rowStride, sk.data, sk.bases[1], sk.rowStride, rows, cols, d, 0.25, actual, 16);
    close(actual, expected);
  });

  it('adds P X and P^T X to the output rows as blocks.ts does, P read through its strides', () => {
    const x = interleaved(cols, d, 3);
    const p = Float64Array.from(random(rows * 16, 4));
    const wasm = wasmStage(cols, d, 16);
    const sx = wasm.stage(x, 0, cols);
    const start = Float64Array.from(random(cols * d, 5)); // accumulators already hold something
    for (const [pRow, pCol, outRows, n] of [[16, 1, rows, cols], [1, 16, cols, rows]] as const) {
      const expected = start.slice(0, outRows * d);
      const actual = start.slice(0, outRows * d);
      accumulateBlock(expected, d, p, pRow, pCol, outRows, n, x.data, x.bases[0], x.rowStride);
      wasm.blocks.accumulate(actual, d, p, pRow, pCol, outRows, n, sx.data, sx.bases[0], sx.rowStride);
      close(actual, expected);
    }
  });

  it('refuses to stage more rows than it reserved, naming the counts', () => {
    const wasm = wasmStage(10, d, 8);
    const q = interleaved(10, d, 6);
    wasm.stage(q, 0, 6);
    expect(() => wasm.stage(q, 1, 5)).toThrow('wasmStage: 5 more rows overflow the 10 reserved');
    wasm.reset();
    expect(wasm.stage(q, 1, 10).bases[1]).toBe(0);
  });
});
