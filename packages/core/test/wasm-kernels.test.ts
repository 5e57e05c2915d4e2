import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { bf16BitsToNumber, f16BitsToNumber, getKernel, setKernel } from '../src/index.js';
import { halfToF32Wasm, threadWasm, wasmSupported } from '../src/kernels/gemm-wasm.js';

const every16Bits = Uint16Array.from({ length: 65536 }, (_, i) => i);

/** Bit patterns whose SIMD conversion differs from the scalar decoder (NaN matches any NaN). */
function mismatches(dtype: 'f16' | 'bf16', decode: (bits: number) => number): string[] {
  const out = halfToF32Wasm(dtype, every16Bits);
  const bad: string[] = [];
  for (let bits = 0; bits < 65536; bits++) {
    const want = Math.fround(decode(bits));
    const ok = Number.isNaN(want) ? Number.isNaN(out[bits]) : Object.is(out[bits], want);
    if (!ok) bad.push(`0x${bits.toString(16)}: ${out[bits]} != ${want}`);
  }
  return bad;
}

describe.skipIf(!wasmSupported())('wasm half-precision conversion (skipped where the engine has no WebAssembly SIMD)', () => {
  it('converts all 65,536 f16 patterns exactly: subnormals, signed zeros, infinities and NaN', () => {
    expect(mismatches('f16', f16BitsToNumber)).toEqual([]);
  });

  it('converts all 65,536 bf16 patterns exactly', () => {
    expect(mismatches('bf16', bf16BitsToNumber)).toEqual([]);
  });

  it('maps the f16 edge patterns to their values: 2^-24, 65504, -inf', () => {
    const out = halfToF32Wasm('f16', Uint16Array.of(0x0001, 0x7bff, 0xfc00, 0x8000));
    expect(Array.from(out)).toEqual([2 ** -24, 65504, -Infinity, -0]);
  });
});

describe.skipIf(!wasmSupported())('wasm GEMM with relaxed SIMD (skipped where the engine has no WebAssembly SIMD)', () => {
  it('uses f32x4.relaxed_madd where the engine has it, and agrees with the JS kernel', () => {
    // Node 20 validates relaxed SIMD only behind a V8 flag: run the check in a child process with it.
    const script = fileURLToPath(new URL('./fixtures/relaxed-simd-matmul.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', script], { encoding: 'utf8' });
    const { relaxed, maxDiff } = JSON.parse(out) as { relaxed: boolean; maxDiff: number };
    expect(relaxed).toBe(true);
    expect(maxDiff).toBeLessThan(1e-4);
  }, 60_000);
});

describe('kernel selection', () => {
  it('defaults to wasm where the engine validates the SIMD module', () => {
    if (process.env.ADSC_KERNEL) expect(getKernel()).toBe(process.env.ADSC_KERNEL);
    else expect(getKernel()).toBe(wasmSupported() ? 'wasm' : 'js');
  });

  it('names the environment variable when ADSC_KERNEL holds an unknown kernel', async () => {
    const saved = process.env.ADSC_KERNEL;
    process.env.ADSC_KERNEL = 'gpu';
    try {
      vi.resetModules(); // a fresh select.ts reads the variable anew
      const fresh = await import('../src/kernels/select.js');
      expect(() => fresh.getKernel()).toThrow("ADSC_KERNEL: expected 'wasm' or 'js', got 'gpu'");
    } finally {
      if (saved === undefined) delete process.env.ADSC_KERNEL;
      else process.env.ADSC_KERNEL = saved;
    }
  });

  it('refuses a kernel name it does not know, naming it', () => {
    expect(() => setKernel('gpu' as 'js')).toThrow("setKernel: expected 'wasm' or 'js', got 'gpu'");
  });
});

describe.skipIf(!wasmSupported())('wasm attention backward block kernels (skipped where the engine has no WebAssembly SIMD)', () => {
  const D = 32;

  it('scoreBlock gives every row-by-key dot product and leaves the rest of each output row alone', () => {
    // A rows a0 = 1, a1 = c; B rows b0 = 1, b1 = 2, b2 = c mod 2; s rows 4 floats apart.
    const { memory, fns } = threadWasm(4 * (5 * D + 8));
    const f32 = new Float32Array(memory.buffer, 0, 5 * D + 8);
    for (let c = 0; c < D; c++) [1, c, 1, 2, c % 2].forEach((x, row) => (f32[row * D + c] = x));
    const sAt = 5 * D;
    f32.fill(-7, sAt);
    fns.scoreBlock(0, 4 * D, 4 * 2 * D, 4 * D, 4 * sAt, 16, 2, 3, D);
    // a0: 32, 64, 16; a1: sum c = 496, 992, the odd c = 256
    expect(Array.from(f32.subarray(sAt))).toEqual([32, 64, 16, -7, 496, 992, 256, -7]);
  });

  /** P = [[1, 2], [3, 4]] (row-major, 2 floats a row) at 0; X rows x0 = c, x1 = 100 + c; o = 1. */
  function accumulateSetup() {
    const { memory, fns } = threadWasm(4 * (4 + 4 * D));
    const f32 = new Float32Array(memory.buffer, 0, 4 + 4 * D);
    f32.set([1, 2, 3, 4]);
    for (let c = 0; c < D; c++) {
      f32[4 + c] = c;
      f32[4 + D + c] = 100 + c;
    }
    const oAt = 4 + 2 * D;
    f32.fill(1, oAt);
    return { fns, f32, oAt };
  }

  it('accumulateBlock adds P X to o, reading P by rows', () => {
    const { fns, f32, oAt } = accumulateSetup();
    fns.accumulateBlock(0, 8, 4, 4 * 4, 4 * D, 4 * oAt, 4 * D, 2, 2, D);
    // o0 = 1 + 1 x0 + 2 x1 = 201 + 3c, o1 = 1 + 3 x0 + 4 x1 = 401 + 7c
    const want = [...Array.from({ length: D }, (_, c) => 201 + 3 * c), ...Array.from({ length: D }, (_, c) => 401 + 7 * c)];
    expect(Array.from(f32.subarray(oAt))).toEqual(want);
  });

  it('accumulateBlock adds P^T X to o when pRow and pCol are swapped', () => {
    const { fns, f32, oAt } = accumulateSetup();
    fns.accumulateBlock(0, 4, 8, 4 * 4, 4 * D, 4 * oAt, 4 * D, 2, 2, D);
    // o0 = 1 + 1 x0 + 3 x1 = 301 + 4c, o1 = 1 + 2 x0 + 4 x1 = 401 + 6c
    const want = [...Array.from({ length: D }, (_, c) => 301 + 4 * c), ...Array.from({ length: D }, (_, c) => 401 + 6 * c)];
    expect(Array.from(f32.subarray(oAt))).toEqual(want);
  });

  /**
   * Runs softmaxGradBlock on rows of `ld` floats: s and dp row-major, one seen / lse / delta per
   * row; returns P and dS as plain arrays.
   */
  function softmaxGrad(s: number[], dp: number[], ld: number, cols: number, seen: number[], lse: number[], delta: number[], scale = 1) {
    const rows = seen.length;
    const n = rows * ld;
    const { memory, fns } = threadWasm(4 * (2 * n + 3 * rows));
    const f32 = new Float32Array(memory.buffer, 0, 2 * n + 3 * rows);
    f32.set(s);
    f32.set(dp, n);
    new Int32Array(memory.buffer, 4 * 2 * n, rows).set(seen);
    f32.set(lse, 2 * n + rows);
    f32.set(delta, 2 * n + 2 * rows);
    fns.softmaxGradBlock(0, 4 * n, 4 * ld, rows, cols, 4 * 2 * n, 4 * (2 * n + rows), 4 * (2 * n + 2 * rows), scale);
    return { p: Array.from(f32.subarray(0, n)), ds: Array.from(f32.subarray(n, 2 * n)) };
  }

  it('rebuilds P = exp(s - L) within 3e-7 of Math.exp over [-87, 88]', () => {
    const xs = Array.from({ length: 4001 }, (_, i) => -87 + (175 * i) / 4000);
    const ld = 4004;
    const { p } = softmaxGrad([...xs, 0, 0, 0], new Array(ld).fill(0), ld, 4001, [4001], [0], [0]);
    const worst = Math.max(...xs.map((x, i) => Math.abs(p[i] - Math.exp(Math.fround(x))) / Math.exp(Math.fround(x))));
    expect(worst).toBeLessThan(3e-7);
  });

  it('computes exp(scale * s - L): scale 0.5 and L 2 on s = 4 give exactly 1', () => {
    const { p } = softmaxGrad([4, 2, 0, 0], [0, 0, 0, 0], 4, 3, [3], [2], [0], 0.5);
    expect(p[0]).toBe(1);
    expect(p[1]).toBeCloseTo(Math.exp(-1), 7);
    expect(p[2]).toBeCloseTo(Math.exp(-2), 7);
  });

  it('gives P exactly 0 for s = -Infinity and below -88, and NaN for NaN', () => {
    const { p } = softmaxGrad([-Infinity, -100, -88, NaN], [0, 0, 0, 0], 4, 4, [4], [0], [0]);
    expect(p.slice(0, 3)).toEqual([0, 0, 0]);
    expect(p[3]).toBeNaN();
  });

  it('gives dS = P (dP - delta) with each row its own L and delta', () => {
    // Row 0: s = ln 2, ln 4 (P 2, 4), dP 3, 1, delta 1; row 1: s = 0, L ln 2 (P 1/2), dP 5, delta 3.
    const { p, ds } = softmaxGrad([Math.LN2, 2 * Math.LN2, 0, 0, 0, 0, 0, 0], [3, 1, 0, 0, 5, 5, 0, 0], 4, 2, [2, 2], [0, Math.LN2], [1, 3]);
    expect(p.slice(0, 2).map((x) => +x.toFixed(5))).toEqual([2, 4]);
    expect(ds.slice(0, 2).map((x) => +x.toFixed(5))).toEqual([4, 0]);
    expect(p.slice(4, 6).map((x) => +x.toFixed(5))).toEqual([0.5, 0.5]);
    expect(ds.slice(4, 6).map((x) => +x.toFixed(5))).toEqual([1, 1]);
  });

  it('zeroes P and dS past each row\'s seen keys and past cols, even where they held NaN', () => {
    // Row 0 sees 1 key, row 1 none, row 2 all 3 (cols 3 of ld 4: lane 3 is past cols).
    const nan = new Array(12).fill(NaN);
    const s = [0, NaN, NaN, NaN, 0, 0, 0, NaN, 0, 0, 0, NaN];
    const { p, ds } = softmaxGrad(s, nan.map((_, i) => (i % 4 === 3 ? NaN : 1)), 4, 3, [1, 0, 3], [0, 0, 0], [0, 0, 0]);
    expect(p).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0]);
    expect(ds).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0]);
  });
});
