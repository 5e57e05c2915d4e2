/**
 * A whole safetensors file held in memory (a browser's fetch, a test's buffer): the same header
 * checks and the same tensor API as `SafetensorsFile`, without a file descriptor. Nothing here uses
 * Node APIs.
 */
import { Tensor, allocateWeight, bytesPerElement } from '@adsc/core';
import { assertLittleEndian, toCoreDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { HEADER_LENGTH_BYTES, parseHeader, type SafetensorsHeader, type TensorInfo } from './header.js';

/**
 * One file's header entries by name, and the tensor API both readers share; `tensor` reads the
 * bytes, from a file descriptor or from memory.
 */
export abstract class SafetensorsEntries {
  /** The "__metadata__" map ({} when the header has none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The header entries in the order of their data in the file. */
  readonly tensors: readonly TensorInfo[];
  private readonly byName: ReadonlyMap<string, TensorInfo>;

  protected constructor(
    /** The file (or name of the buffer) every error names. */
    readonly source: string,
    header: Pick<SafetensorsHeader, 'metadata' | 'tensors'>,
  ) {
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.byName = new Map(header.tensors.map((info) => [info.name, info]));
  }

  /** Tensor names in file order. */
  names(): string[] {
    return this.tensors.map((info) => info.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The header entry of `name`; TensorNotFound when there is none. */
  info(name: string): TensorInfo {
    const info = this.byName.get(name);
    if (info === undefined) {
      throw new SafetensorsError('TensorNotFound', { file: this.source, tensor: name }, `no such tensor among the file's ${this.tensors.length}`);
    }
    return info;
  }

  /** Reads tensor `name` in its stored dtype as a new contiguous Tensor. */
  abstract tensor(name: string): Tensor;

  abstract close(): void;
}

export class SafetensorsBytes extends SafetensorsEntries {
  private readonly dataStart: number;

  /** Validates the header of `bytes` (checks 1-7 of header.ts); `file` names the source in errors. */
  constructor(
    private readonly bytes: Uint8Array,
    readonly file = '<bytes>',
  ) {
    const header = parseHeader(bytes, file);
    super(file, header);
    this.dataStart = HEADER_LENGTH_BYTES + header.headerLength;
  }

  /** A copy of tensor `name` in its stored dtype, as a new contiguous Tensor. */
  tensor(name: string): Tensor {
    const info = this.info(name);
    const t = emptyTensor(info, this.source);
    const [begin, end] = info.dataOffsets;
    tensorBytes(t).set(this.bytes.subarray(this.dataStart + begin, this.dataStart + end));
    return t;
  }

  /** Nothing to release (the bytes belong to the caller); here so both readers share one API. */
  close(): void {}
}

/**
 * A zeroed contiguous Tensor for the header entry `info`, in its stored dtype, on shared memory
 * (weights: whatever the thread count; large ones in a wasm arena, where the decode kernels read
 * them in place); its bytes are then copied in from the file or buffer.
 * UnsupportedDType for the dtypes @adsc/core cannot hold (F8_*, F6_*, F4, C64).
 */
export function emptyTensor(info: TensorInfo, file: string): Tensor {
  const dtype = toCoreDType(info.dtype);
  if (dtype === undefined) {
    throw new SafetensorsError('UnsupportedDType', { file, tensor: info.name }, `dtype ${info.dtype} cannot be decoded (no @adsc/core dtype holds it)`);
  }
  assertLittleEndian();
  const [begin, end] = info.dataOffsets;
  return new Tensor(dtype, allocateWeight(dtype, (end - begin) / bytesPerElement(dtype)), info.shape);
}

/** The bytes of a contiguous tensor's storage. */
export function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

