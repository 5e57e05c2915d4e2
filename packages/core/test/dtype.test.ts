import { afterEach, describe, expect, it } from 'vitest';
import { readGolden, expectClose } from '../src/testing.js';
import {
  allocate, bf16BitsToNumber, f16BitsToNumber, getNumThreads, numberToBf16Bits, numberToF16Bits, setNumThreads, tensor,
} from '../src/index.js';

const golden = readGolden(new URL('./fixtures/ops.json', import.meta.url));

describe('f16', () => {
  it('encodes 1 as 0x3c00 (exponent 15, mantissa 0)', () => {
    expect(numberToF16Bits(1)).toBe(0x3c00);
    expect(f16BitsToNumber(0x3c00)).toBe(1);
  });

  it('encodes the largest finite half 65504 as 0x7bff and overflows 65520 to infinity', () => {
    expect(numberToF16Bits(65504)).toBe(0x7bff);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // halfway to 2^16 rounds to even: infinity
  });

  it('decodes the smallest subnormal 0x0001 as 2^-24', () => {
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(numberToF16Bits(2 ** -24)).toBe(0x0001);
  });

  it('rounds a tie to the even mantissa: 1 + 2^-11 -> 1, 1 + 3 * 2^-11 -> 1 + 2^-9', () => {
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('keeps infinities and NaN', () => {
    expect(f16BitsToNumber(numberToF16Bits(-Infinity))).toBe(-Infinity);
    expect(f16BitsToNumber(numberToF16Bits(NaN))).toBeNaN();
  });

  it('rounds like PyTorch on ties, subnormals and overflow', () => {
    const x = golden['half.x'];
    expectClose(x.to('f16').toFloat32Array(), golden['half.f16'], { atol: 0 });
  });
});

describe('bf16', () => {
  it('is the top half of the f32 bits: 1 -> 0x3f80', () => {
    expect(numberToBf16Bits(1)).toBe(0x3f80);
    expect(bf16BitsToNumber(0x3f80)).toBe(1);
  });

  it('rounds a tie to even: 1 + 2^-8 -> 1, 1 + 3 * 2^-8 -> 1 + 2^-6', () => {
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('keeps NaN a NaN even when only low mantissa bits are set', () => {
    const f = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0];
    expect(bf16BitsToNumber(numberToBf16Bits(f))).toBeNaN();
  });

  it('rounds like PyTorch on the same values', () => {
    expectClose(golden['half.x'].to('bf16').toFloat32Array(), golden['half.bf16'], { atol: 0 });
  });
});

describe('storage', () => {
  it('stores f16 tensors as 16-bit patterns', () => {
    const t = tensor([1, -2], [2], 'f16');
    expect(t.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3c00, 0xc000]);
  });
});

describe('allocate', () => {
  const initial = getNumThreads();
  afterEach(() => setNumThreads(initial));

  it('puts storage on a plain ArrayBuffer when kernels run on one thread', () => {
    setNumThreads(1);
    expect(allocate('f32', 4).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('puts storage on a SharedArrayBuffer when kernels may run on worker threads', () => {
    setNumThreads(2);
    expect(allocate('f32', 4).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('shares or not as asked, whatever the thread count', () => {
    setNumThreads(1);
    expect(allocate('f16', 4, true).buffer).toBeInstanceOf(SharedArrayBuffer);
    setNumThreads(2);
    expect(allocate('f16', 4, false).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('zeroes the storage', () => {
    expect(Array.from(allocate('f32', 3, false) as Float32Array)).toEqual([0, 0, 0]);
  });
});
