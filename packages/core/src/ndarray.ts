/**
 * Zero-copy interop with scijs ndarray: both sides describe memory with the same four fields
 * (data, shape, stride, offset), so conversion just hands them over.
 */
import type { DType, Storage } from './dtype.js';
import { Tensor } from './tensor.js';

/** The fields of a scijs ndarray that a tensor needs. */
export interface NdArrayLike {
  data: Storage;
  shape: number[];
  stride: number[];
  offset: number;
}

const NDARRAY_DTYPES: Record<string, DType> = {
  Float64Array: 'f64', Float32Array: 'f32', Int32Array: 'i32', Int16Array: 'i16', Int8Array: 'i8',
  Uint32Array: 'u32', Uint16Array: 'u16', Uint8Array: 'u8', BigInt64Array: 'i64', BigUint64Array: 'u64',
};

/**
 * Wraps an ndarray's memory as a Tensor (no copy). A Uint16Array is read as u16 unless `dtype`
 * says 'f16' or 'bf16'.
 */
export function fromNdarray(array: NdArrayLike, dtype?: DType): Tensor {
  const inferred = NDARRAY_DTYPES[array.data.constructor.name];
  if (!inferred) throw new TypeError(`fromNdarray: unsupported data type ${array.data.constructor.name}`);
  return new Tensor(dtype ?? inferred, array.data, array.shape, array.stride, array.offset);
}

/**
 * The four ndarray fields of a tensor (same memory). Pass them to `ndarray(data, shape, stride,
 * offset)`, or pass the `ndarray` constructor itself to get the ndarray object. f16 / bf16 data are
 * raw 16-bit patterns: convert with `t.to('f32')` first if you want values.
 */
export function toNdarray<T>(
  t: Tensor,
  // `any` on purpose: ndarray's typings want an ArrayBuffer-backed array; ours may sit on a SharedArrayBuffer.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ndarray?: (data: any, shape: number[], stride: number[], offset: number) => T,
): T | NdArrayLike {
  const fields = { data: t.data, shape: [...t.shape], stride: [...t.stride], offset: t.offset };
  return ndarray ? ndarray(fields.data, fields.shape, fields.stride, fields.offset) : fields;
}
