import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, readGolden } from '../src/testing.js';
import {
  Tensor, allocate, getKernel, getNumThreads, linear, matmul, matmulInto, randn, setKernel, setNumThreads, tensor, type KernelName,
} from '../src/index.js';
import { wasmSupported } from '../src/kernels/gemm-wasm.js';

const golden = readGolden(new URL('./fixtures/ops.json', import.meta.url));

/** Plain triple loop in doubles: the definition the kernel must agree with. */
function naive(a: Tensor, b: Tensor): number[] {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
      out.push(s);
    }
  }
  return out;
}

// Every table below runs over both kernels: the wasm SIMD one and the JS one it must agree with.
describe.each(['wasm', 'js'] as KernelName[])('%s kernel', (kernel) => {
  const initialKernel = getKernel();
  beforeAll(() => setKernel(kernel));
  afterAll(() => setKernel(initialKernel));

  describe.skipIf(kernel === 'wasm' && !wasmSupported())('matmul', () => {
    it('multiplies 2x2 matrices', () => {
      // [[1 2] [3 4]] @ [[5 6] [7 8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]]
      expect(matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([5, 6, 7, 8], [2, 2])).toArray()).toEqual([19, 22, 43, 50]);
    });

    it('treats a 1-D left operand as a row vector and drops that axis', () => {
      const r = matmul(tensor([1, 1], [2]), tensor([1, 2, 3, 4], [2, 2]));
      expect(r.shape).toEqual([2]);
      expect(r.toArray()).toEqual([4, 6]);
    });

    it('treats a 1-D right operand as a column vector and drops that axis', () => {
      const r = matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 1], [2]));
      expect(r.shape).toEqual([2]);
      expect(r.toArray()).toEqual([3, 7]);
    });

    it('broadcasts batch axes and matches PyTorch on sizes off the 4 x 8 tile', () => {
      const y = matmul(golden['matmul.a'], golden['matmul.b']); // [2, 1, 13, 37] @ [3, 37, 19]
      expect(y.shape).toEqual([2, 3, 13, 19]);
      expectClose(y, golden['matmul.y'], { atol: 1e-4 });
    });

    it('reads transposed (non-contiguous) operands without copying them first', () => {
      const a = randn([9, 21], 1);
      const b = randn([30, 21], 2).transpose(); // [21, 30], column-major view
      expectClose(matmul(a, b), naive(a, b), { atol: 1e-4 });
    });

    it('covers every block edge: sizes just past KC, MC and NC', () => {
      const a = randn([67, 259], 3);
      const b = randn([259, 1027], 4);
      const y = matmul(a, b).toFloat32Array();
      const expected = naive(a.narrow(0, 60, 7), b);
      expectClose(y.subarray(60 * 1027), expected, { atol: 1e-3 });
    });

    it('covers more rows than one C strip of the wasm kernel (1024) and a depth off its 4-step', () => {
      const a = randn([1030, 6], 9);
      const b = randn([6, 9], 10);
      const y = matmul(a, b).toFloat32Array();
      expectClose(y.subarray(1020 * 9), naive(a.narrow(0, 1020, 10), b), { atol: 1e-5 });
    });

    it('keeps f64 sums unrounded when the output is a Float64Array', () => {
      // 2^24 + 1 is not an f32: summed in f32 it would round to 2^24.
      const a = { data: new Float32Array([2 ** 24, 1]), dtype: 'f32' as const, offset: 0, rowStride: 2, colStride: 1 };
      const b = { data: new Float32Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), dtype: 'f32' as const, offset: 0, rowStride: 5, colStride: 1 };
      const c = new Float64Array(5);
      matmulInto(a, b, c, 0, 1, 5, 2);
      expect(Array.from(c)).toEqual([2 ** 24 + 1, 2 ** 24 + 1, 2 ** 24 + 1, 2 ** 24 + 1, 2 ** 24 + 1]);
    });

    it('names both shapes when the inner sizes differ', () => {
      expect(() => matmul(tensor([1, 2], [1, 2]), tensor([1, 2, 3], [3, 1]))).toThrow('matmul: shapes [1, 2] and [3, 1] do not align (2 != 3)');
    });

    it('returns zeros for an empty inner dimension', () => {
      expect(matmul(tensor([], [2, 0]), tensor([], [0, 3])).toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    });
  });

  describe.skipIf(kernel === 'wasm' && !wasmSupported())('linear', () => {
    it('computes x W^T + b with W as [out, in]', () => {
      // W rows are e0, e1 and [1 1]: outputs x0, x1 and x0 + x1, plus bias [0 0 10]
      const y = linear(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 0, 0, 1, 1, 1], [3, 2]), tensor([0, 0, 10], [3]));
      expect(y.toArray()).toEqual([1, 2, 13, 3, 4, 17]);
    });

    it('matches PyTorch linear', () => {
      expectClose(linear(golden['linear.x'], golden['linear.w'], golden['linear.b']), golden['linear.y'], { atol: 1e-5 });
    });

    it('gives the same result from f16 and bf16 weights as from their f32 values', () => {
      const x = randn([3, 40], 5);
      for (const dtype of ['f16', 'bf16'] as const) {
        const w = randn([11, 40], 6).to(dtype);
        expectClose(linear(x, w), linear(x, w.to('f32')), { atol: 1e-5 });
      }
    });

    it('reads a weight deeper than two KC blocks (k = 599, off the 4-step) in every dtype', () => {
      const x = randn([9, 599], 19);
      for (const dtype of ['f32', 'f16', 'bf16'] as const) {
        const w = randn([37, 599], 20).to(dtype);
        expectClose(linear(x, w), naive(x, w.to('f32').transpose()), { atol: 1e-4 });
      }
    });

    it('carries inf, NaN and subnormals of f16 weights through the decode (dot) path', () => {
      // Rows of W (f16 bits): fifteen 1s and one +inf -> +inf; fifteen 1s and one NaN -> NaN;
      // sixteen 2^-24 (the smallest subnormal) -> 16 * 2^-24 = 2^-20. x is all ones.
      const bits = allocate('f16', 3 * 16) as Uint16Array;
      bits.fill(0x3c00, 0, 32).fill(0x0001, 32);
      bits[5] = 0x7c00;
      bits[16 + 9] = 0x7e00;
      const y = linear(tensor(new Array(16).fill(1), [1, 16]), new Tensor('f16', bits, [3, 16]));
      expectClose(y, [Infinity, NaN, 2 ** -20], { atol: 0 });
    });

    it('agrees between the thin (dot) path and the blocked path', () => {
      const w = randn([50, 70], 7, 'f16');
      const x = randn([12, 70], 8); // 12 rows: blocked path; its first 3 rows alone: dot path (<= DOT_MAX_ROWS)
      const all = linear(x, w).toFloat32Array();
      const thin = linear(x.narrow(0, 0, 3), w).toFloat32Array();
      expectClose(thin, all.subarray(0, 3 * 50), { atol: 1e-5 });
    });

    it('keeps leading axes of the input', () => {
      expect(linear(randn([2, 3, 4], 1), randn([5, 4], 2)).shape).toEqual([2, 3, 5]);
    });

    it('names the input and weight shapes when they do not match', () => {
      expect(() => linear(tensor([1, 2, 3], [1, 3]), tensor([1, 2], [1, 2]))).toThrow('linear: input [1, 3] does not match weight [1, 2]');
    });
  });

  describe.skipIf(kernel === 'wasm' && !wasmSupported())('threads', () => {
    const initial = getNumThreads();
    afterAll(() => setNumThreads(initial));

    // Products of at least 4.2M multiply-adds (PARALLEL_MIN_MACS) are split over the threads.
    it('gives the same wide product on two threads (split by columns) as on one', () => {
      const a = randn([64, 300], 11);
      const b = randn([300, 260], 12); // 64 * 300 * 260 = 5.0M multiply-adds, n >= m
      setNumThreads(1);
      const one = matmul(a, b).toFloat32Array();
      setNumThreads(2);
      expectClose(matmul(a, b), one, { atol: 0 });
    });

    it('gives the same tall product on two threads (split by rows) as on one', () => {
      const w = randn([40, 256], 13, 'bf16');
      const x = randn([600, 256], 14); // 600 * 256 * 40 = 6.1M multiply-adds, m > n
      setNumThreads(1);
      const one = linear(x, w).toFloat32Array();
      setNumThreads(2);
      expectClose(linear(x, w), one, { atol: 0 });
    });

    it('gives the same thin product on two threads (dot path split by columns) as on one', () => {
      const w = randn([4096, 1100], 15, 'f16');
      const x = randn([1, 1100], 16); // 1 * 1100 * 4096 = 4.5M multiply-adds
      setNumThreads(1);
      const one = linear(x, w).toFloat32Array();
      setNumThreads(2);
      expectClose(linear(x, w), one, { atol: 0 });
    });

    it('fills an output that is not on a SharedArrayBuffer completely (it stays on one thread)', () => {
      setNumThreads(2);
      const a = randn([64, 300], 17);
      const b = randn([300, 256], 18);
      const c = new Float32Array(64 * 256); // plain ArrayBuffer: workers would write into copies
      const ref = (t: typeof a) => ({ data: t.data as Float32Array, dtype: 'f32' as const, offset: 0, rowStride: t.stride[0], colStride: 1 });
      matmulInto(ref(a), ref(b), c, 0, 64, 256, 300);
      expectClose(c, matmul(a, b), { atol: 1e-4 });
    });

    it('refuses a thread count below one', () => {
      expect(() => setNumThreads(0)).toThrow('setNumThreads: expected an integer >= 1, got 0');
    });
  });
});
