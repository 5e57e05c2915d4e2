/**
 * The safetensors dtype strings, their sizes in bits, and how they map to @adsc/core dtypes.
 *
 * Validation needs the bit size of every dtype the format knows, including the sub-byte float
 * formats (F4, F6_*) whose tensors must still cover whole bytes. Decoding needs a core dtype to
 * hold the values; the 8-bit floats, the sub-byte floats and C64 have none, so they parse and
 * validate but cannot be read as tensors.
 *
 * Byte order: safetensors stores every element little-endian, and this package copies file bytes
 * straight into typed arrays, which use the machine's byte order. That is only correct on a
 * little-endian machine (x86-64 and arm64 as Node runs them); `assertLittleEndian` refuses the rest.
 */
import type { DType } from '@adsc/core';

/** Size in bits of one element of each dtype the format defines. */
const BITS = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
} as const;

export type SafetensorsDType = keyof typeof BITS;

/** The core dtype that holds each decodable safetensors dtype (bool is stored as one byte, 0 or 1). */
const TO_CORE: Partial<Record<SafetensorsDType, DType>> = {
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  I64: 'i64',
  I32: 'i32',
  I16: 'i16',
  I8: 'i8',
  U64: 'u64',
  U32: 'u32',
  U16: 'u16',
  U8: 'u8',
  BOOL: 'bool',
};

const FROM_CORE: Record<DType, SafetensorsDType> = {
  f64: 'F64',
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  i64: 'I64',
  i32: 'I32',
  i16: 'I16',
  i8: 'I8',
  u64: 'U64',
  u32: 'U32',
  u16: 'U16',
  u8: 'U8',
  bool: 'BOOL',
};

export function isSafetensorsDType(name: string): name is SafetensorsDType {
  return Object.prototype.hasOwnProperty.call(BITS, name);
}

export function dtypeBits(dtype: SafetensorsDType): number {
  return BITS[dtype];
}

/** The core dtype for `dtype`, or undefined when @adsc/core has none (F8_*, F6_*, F4, C64). */
export function toCoreDType(dtype: SafetensorsDType): DType | undefined {
  return TO_CORE[dtype];
}

export function fromCoreDType(dtype: DType): SafetensorsDType {
  return FROM_CORE[dtype];
}

/** Throws on a big-endian machine, where file bytes are not typed-array elements (see above). */
export function assertLittleEndian(): void {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
    throw new Error('@adsc/safetensors copies little-endian file bytes into typed arrays and needs a little-endian machine');
  }
}
