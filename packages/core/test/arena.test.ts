import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose } from '../src/testing.js';
import {
  Tensor, allocate, allocateWeight, arenaFreeBytes, arenasSupported, f16BitsToNumber, getKernel, getNumThreads, linear, placeFreeable, placeWeight, randn, releaseFreeable,
  setKernel, setNumThreads, tensor,
} from '../src/index.js';
import { ARENA_MIN_BYTES, arenaOf } from '../src/wasm/arena.js';

/** `t`'s values in a weight arena (a copy). */
function inArena(t: Tensor): Tensor {
  const data = placeWeight(t.dtype, t.size)!;
  data.set(t.data as Float32Array & Uint16Array);
  return new Tensor(t.dtype, data, t.shape);
}

/** A full garbage collection (V8's gc, exposed for this test file), then a turn of the event loop for finalizers. */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/** x W^T in doubles, from the weight's decoded values. */
function reference(x: Tensor, w: Tensor): number[] {
  const [rows, k] = x.shape;
  const n = w.shape[0];
  const out: number[] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += x.get(i, p) * w.get(j, p);
    out.push(s);
  }
  return out;
}

describe.skipIf(!arenasSupported())('weight arenas and the in-place decode (skipped without WebAssembly SIMD or SharedArrayBuffer)', () => {
  const [kernel, threads] = [getKernel(), getNumThreads()];
  beforeAll(() => setKernel('wasm'));
  afterAll(() => {
    setKernel(kernel);
    setNumThreads(threads);
  });

  it('places a weight in an arena: a view on a shared wasm memory, 64-byte aligned, zeroed', () => {
    const data = placeWeight('f16', 1000)!;
    expect(arenaOf(data)).toBeDefined();
    expect(data.byteOffset % 64).toBe(0);
    expect(data.length).toBe(1000);
    expect(data.every((v) => v === 0)).toBe(true);
  });

  it('keeps tensors under ARENA_MIN_BYTES out of arenas and puts larger ones in (allocateWeight)', () => {
    expect(arenaOf(allocateWeight('f16', 1024))).toBeUndefined();
    expect(arenaOf(allocateWeight('f16', ARENA_MIN_BYTES / 2))).toBeDefined();
  });

  it('places freeable arrays one after another in one arena, zeroed (placeFreeable)', () => {
    const [k, v] = placeFreeable(1000, 2)!;
    expect(arenaOf(k)!.id).toBe(arenaOf(v)!.id);
    expect(v.byteOffset).toBe(k.byteOffset + 4032); // 4000 bytes rounded up to 64
    expect([...k, ...v].every((x) => x === 0)).toBe(true);
  });

  it('returns a freeable block to its arena once its arrays are collected, and hands its bytes out again zeroed', async () => {
    const bytes = 2 * 2 ** 20;
    await collectGarbage(); // earlier tests' blocks first
    const offset = (() => {
      const [k, v] = placeFreeable(2 ** 18, 2)!; // 1 MiB each
      k.fill(1);
      v.fill(2);
      return k.byteOffset;
    })();
    const before = arenaFreeBytes();
    for (let i = 0; i < 20 && arenaFreeBytes() === before; i++) await collectGarbage();
    expect(arenaFreeBytes()).toBe(before + bytes);
    const [k, v] = placeFreeable(2 ** 18, 2)!;
    expect(k.byteOffset).toBe(offset);
    expect([...k, ...v].every((x) => x === 0)).toBe(true);
  });

  it('gives a freeable block back at once when its owner releases it, and only once (releaseFreeable)', () => {
    const [k, v] = placeFreeable(2 ** 16, 2)!;
    const before = arenaFreeBytes();
    expect(releaseFreeable(v)).toBe(true);
    expect(arenaFreeBytes()).toBe(before + 2 * 2 ** 18);
    expect(releaseFreeable(k)).toBe(false);
    expect(releaseFreeable(new Float32Array(4))).toBe(false);
    expect(placeFreeable(2 ** 16, 1)![0].byteOffset).toBe(k.byteOffset);
  });

  it('reuses a freed block that lies before other blocks for the next block that fits', async () => {
    await collectGarbage();
    const offset = (() => placeFreeable(2 ** 16, 2)![0].byteOffset)(); // 512 KiB, dropped at once
    const after = placeWeight('f32', 16)!; // a block after it, held
    expect(after.byteOffset).toBeGreaterThan(offset);
    const before = arenaFreeBytes();
    for (let i = 0; i < 20 && arenaFreeBytes() === before; i++) await collectGarbage();
    expect(placeFreeable(2 ** 15, 1)![0].byteOffset).toBe(offset);
  });

  it('refuses dtypes the kernels do not read (placeWeight gives undefined)', () => {
    expect(placeWeight('i32', 16)).toBeUndefined();
  });

  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`gives the decode product of 1 to 4 rows from a ${dtype} weight in an arena, on 1 and 2 threads, as from its own buffer`, () => {
      const own = randn([4096, 1088], 3).to(dtype); // 1088 * 4096 = 4.5M multiply-adds per row: split over threads
      const placed = inArena(own);
      for (const n of [1, 2]) {
        setNumThreads(n);
        for (const rows of [1, 2, 3, 4]) {
          const x = randn([rows, 1088], 10 + rows);
          const want = linear(x, own).toFloat32Array();
          const got = linear(x, placed).toFloat32Array();
          expect(got).toEqual(want); // the same kernel, reading the weight where it lies
          if (rows === 1 && n === 1) expectClose(got, reference(x, own), { atol: 1e-3 });
        }
      }
    });
  }

  it('takes an x row deeper than 4,096 four weight rows at a time (the last n % 4 one by one), in place and copied, inf and NaN included', () => {
    setNumThreads(1);
    const k = 4112; // 4096 + 16: x no longer stays in L1, so the four-row kernel runs
    const own = randn([7, k], 7).to('f16');
    const bits = own.data as Uint16Array;
    bits[1 * k + 5] = 0x7c00; // +inf in row 1 (four-row kernel)
    bits[2 * k + 9] = 0x7e00; // NaN in row 2 (four-row kernel)
    bits[6 * k + 3] = 0xfc00; // -inf in row 6 (the tail, one row at a time)
    const x = randn([1, k], 8);
    (x.data as Float32Array)[5] = 1;
    (x.data as Float32Array)[3] = 1;
    const want = reference(x, own);
    expect([want[1], want[2], want[6]]).toEqual([Infinity, NaN, -Infinity]);
    const copied = linear(x, own).toFloat32Array();
    expectClose(copied, want, { atol: 1e-2 });
    expect(linear(x, inArena(own)).toFloat32Array()).toEqual(copied);
  });

  it('reads every f16 pattern exactly in the in-place decode: subnormals, zeros, infinities, NaN', () => {
    // Row i holds pattern i and fifteen zeros; x = e0, so output i is pattern i's value.
    const bits = allocate('f16', 65536 * 16) as Uint16Array;
    for (let i = 0; i < 65536; i++) bits[i * 16] = i;
    const w = inArena(new Tensor('f16', bits, [65536, 16]));
    const x = tensor([1, ...new Array(15).fill(0)], [1, 16]);
    const y = linear(x, w).toFloat32Array();
    const bad: string[] = [];
    for (let i = 0; i < 65536; i++) {
      const want = Math.fround(f16BitsToNumber(i));
      if (!(y[i] === want || (Number.isNaN(want) && Number.isNaN(y[i])))) bad.push(`0x${i.toString(16)}: ${y[i]} != ${want}`);
    }
    expect(bad).toEqual([]);
  });

  it('gives f16 products exactly while every partial sum stays below 2^16 (the kernels sum w * 2^112)', () => {
    const w = inArena(new Tensor('f16', Uint16Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x3c00 : 0x0400)), [1, 16])); // [1, 2^-14 x 15]
    const y = linear(tensor([65504, ...new Array(15).fill(2 ** 15)], [1, 16]), w);
    expectClose(y, [65504 + 15 * 2], { atol: 0 }); // 2^15 * 2^-14 = 2 each; every partial sum an integer < 2^24
  });

  it('gives f16 products right when a partial sum reaches 2^16 (inf in the kernel: the JS kernel redoes it)', () => {
    const w = inArena(new Tensor('f16', Uint16Array.from({ length: 16 }, (_, i) => (i < 8 ? 0x3c00 : 0xbc00)), [1, 16])); // [1 x 8, -1 x 8]
    const y = linear(tensor(new Array(16).fill(2 ** 16), [1, 16]), w);
    expectClose(y, [0], { atol: 0 }); // 2^16 * 2^112 overflows: inf - inf = NaN in the kernel
  });

  it('gives a subnormal f16 times a large x right (2^20 * 2^-24, beside fifteen zeros)', () => {
    const w = inArena(new Tensor('f16', Uint16Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x0001 : 0)), [1, 16])); // [2^-24, 0 ...]
    const y = linear(tensor([2 ** 20, ...new Array(15).fill(1)], [1, 16]), w);
    expectClose(y, [2 ** -4], { atol: 0 }); // every weight has exponent field 0: all sixteen corrected
  });
});
