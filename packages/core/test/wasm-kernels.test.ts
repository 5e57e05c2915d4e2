import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { EXP_STEP, bf16BitsToNumber, f16BitsToNumber, getKernel, setKernel } from '../src/index.js';
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

describe.skipIf(!wasmSupported())('wasm expRow (skipped where the engine has no WebAssembly SIMD)', () => {
  /** Runs expRow on `values` (rounded up to whole v128s with 0s) and returns the first values.length results. */
  function expRowOf(values: number[], scale: number, shift: number): Float32Array {
    const padded = Math.ceil(values.length / EXP_STEP) * EXP_STEP;
    const { memory, fns } = threadWasm(4 * padded);
    const f32 = new Float32Array(memory.buffer, 0, padded);
    f32.fill(0);
    f32.set(values);
    fns.expRow(0, values.length, scale, shift);
    return f32.slice(0, values.length);
  }

  it('agrees with Math.exp to 3e-7 relative over [-87, 88]', () => {
    const xs = Array.from({ length: 4001 }, (_, i) => -87 + (175 * i) / 4000);
    const got = expRowOf(xs, 1, 0);
    const worst = Math.max(...xs.map((x, i) => Math.abs(got[i] - Math.exp(Math.fround(x))) / Math.exp(Math.fround(x))));
    expect(worst).toBeLessThan(3e-7);
  });

  it('computes exp(scale * s - shift): scale 0.5 and shift 2 on s = 4 give exactly 1', () => {
    const got = expRowOf([4, 2, 0], 0.5, 2);
    expect(got[0]).toBe(1);
    expect(got[1]).toBeCloseTo(Math.exp(-1), 7);
    expect(got[2]).toBeCloseTo(Math.exp(-2), 7);
  });

  it('gives exactly 0 for -Infinity and below -88, and NaN for NaN', () => {
    const got = expRowOf([-Infinity, -100, -88, NaN], 1, 0);
    expect(Array.from(got.slice(0, 3))).toEqual([0, 0, 0]);
    expect(got[3]).toBeNaN();
  });

  it('treats a count that is not a multiple of 4 by rewriting the rest of the last v128 only', () => {
    const { memory, fns } = threadWasm(4 * 8);
    const f32 = new Float32Array(memory.buffer, 0, 8);
    f32.set([0, 0, 0, 0, 0, 0, 0, 0]);
    fns.expRow(0, 5, 1, 0); // rows 0-4 asked, 0-7 rewritten (whole v128s)
    expect(Array.from(f32)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    f32.set([0, 0, 0, 0, 0, 0, 0, 0]);
    fns.expRow(0, 4, 1, 0);
    expect(Array.from(f32)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });
});
