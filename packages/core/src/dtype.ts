/**
 * Storage dtypes and the half-precision conversions.
 *
 * A tensor stores its elements in a typed array; arithmetic always happens in f32 (or in the
 * doubles V8 computes with). f16 and bf16 have no typed array in Node 20, so they are stored as
 * their raw 16-bit patterns in a Uint16Array and decoded through a 65,536-entry lookup table when an
 * op reads them. That is how LLaVA's f16 weights stay f16 in memory (14 GB for 7B instead of 28 GB).
 */

import { getNumThreads } from './threads/pool.js';

export type DType =
  | 'f64' | 'f32' | 'f16' | 'bf16'
  | 'i64' | 'i32' | 'i16' | 'i8'
  | 'u64' | 'u32' | 'u16' | 'u8'
  | 'bool';

export type Storage =
  | Float64Array | Float32Array | Uint16Array
  | BigInt64Array | BigUint64Array
  | Int32Array | Int16Array | Int8Array
  | Uint32Array | Uint8Array;

interface DTypeInfo {
  bytes: number;
  array: { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): Storage; BYTES_PER_ELEMENT: number };
}

const INFO: Record<DType, DTypeInfo> = {
  f64: { bytes: 8, array: Float64Array },
  f32: { bytes: 4, array: Float32Array },
  f16: { bytes: 2, array: Uint16Array },
  bf16: { bytes: 2, array: Uint16Array },
  i64: { bytes: 8, array: BigInt64Array },
  i32: { bytes: 4, array: Int32Array },
  i16: { bytes: 2, array: Int16Array },
  i8: { bytes: 1, array: Int8Array },
  u64: { bytes: 8, array: BigUint64Array },
  u32: { bytes: 4, array: Uint32Array },
  u16: { bytes: 2, array: Uint16Array },
  u8: { bytes: 1, array: Uint8Array },
  bool: { bytes: 1, array: Uint8Array },
};

export const DTYPES = Object.keys(INFO) as DType[];

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(INFO, name);
}

export function bytesPerElement(dtype: DType): number {
  return INFO[dtype].bytes;
}

/**
 * A zeroed storage array of `length` elements. `shared` puts it on a SharedArrayBuffer, which the
 * kernels' worker threads read and write without copies; the default is to share exactly when
 * kernels may run on workers (`getNumThreads() > 1`). A plain ArrayBuffer is several times
 * cheaper to make (measured here: 34 us against 298 us for 317 KB, 1.1 ms against 4.3 ms for
 * 4 MB), which matters for the thousands of short-lived tensors of a training step. Where the
 * engine has no SharedArrayBuffer (`canShare`, below) every storage is a plain ArrayBuffer.
 */
export function allocate(dtype: DType, length: number, shared = getNumThreads() > 1): Storage {
  const { array, bytes } = INFO[dtype];
  return new array(shared && canShare ? new SharedArrayBuffer(length * bytes) : new ArrayBuffer(length * bytes), 0, length);
}

/**
 * A browser page that is not cross-origin isolated has no SharedArrayBuffer. It has no worker
 * threads either (threads/pool.ts runs on Node's), so plain buffers serve every kernel there.
 */
const canShare = typeof SharedArrayBuffer === 'function';

/** Whether `buffer` is a SharedArrayBuffer (false wherever the engine has none). */
export function isShared(buffer: ArrayBufferLike): boolean {
  return canShare && buffer instanceof SharedArrayBuffer;
}

/** Views `length` elements of `dtype` over existing bytes (no copy). */
export function storageView(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): Storage {
  return new INFO[dtype].array(buffer, byteOffset, length);
}

/** Checks that a typed array can hold `dtype` (f16 and bf16 live in a Uint16Array). */
export function storageMatches(dtype: DType, data: Storage): boolean {
  return data instanceof INFO[dtype].array;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f64' || dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

// ---------------------------------------------------------------------------------------------
// Half precision. Layouts: f16 = 1 sign, 5 exponent (bias 15), 10 mantissa bits;
// bf16 = the high 16 bits of an f32 (1 sign, 8 exponent, 7 mantissa).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f16 bits -> number, subnormals, infinities and NaN included. */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal: m / 2^10 * 2^-14
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** number -> f16 bits, rounding to nearest even; overflow gives infinity. */
export function numberToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // inf / NaN
  const e = exponent - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Subnormal or zero in f16: shift the implicit-one mantissa right and round.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++; // may carry into the exponent: correct
  return sign | result;
}

/** bf16 bits -> number: the bits are the top half of an f32. */
export function bf16BitsToNumber(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0];
}

/** number -> bf16 bits, rounding to nearest even (NaN stays NaN). */
export function numberToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | undefined;
let bf16Table: Float32Array | undefined;

/** Lookup table: f16 bits -> f32 value (256 KiB, built on first use). */
export function f16Table32(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToNumber(bits);
  }
  return f16Table;
}

/** Lookup table: bf16 bits -> f32 value. */
export function bf16Table32(): Float32Array {
  if (!bf16Table) {
    bf16Table = new Float32Array(65536);
    const words = new Uint32Array(bf16Table.buffer);
    for (let bits = 0; bits < 65536; bits++) words[bits] = bits << 16;
  }
  return bf16Table;
}

/** The decode table of a half dtype. */
export function halfTable(dtype: 'f16' | 'bf16'): Float32Array {
  return dtype === 'f16' ? f16Table32() : bf16Table32();
}
