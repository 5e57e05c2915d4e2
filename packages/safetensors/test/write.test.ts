/**
 * save(): round trips in every dtype (bits preserved), views saved in row-major order, and the
 * byte layout of the file it writes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, allocate, arange, type DType, type Storage } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, save } from '../src/index.js';
import { temporaryDirectory } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

/** A tensor of `dtype` whose storage holds exactly `raw` (bit patterns for f16 / bf16). */
function rawTensor(dtype: DType, raw: ReadonlyArray<number | bigint>, shape: readonly number[] = [raw.length]): Tensor {
  const data = allocate(dtype, raw.length);
  (data as unknown as { set(values: ArrayLike<number | bigint>): void }).set(raw);
  return new Tensor(dtype, data, shape);
}

function bytesOf(data: Storage): number[] {
  return Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Saves `tensors`, opens the file, returns it (closed by the caller). */
function roundTrip(name: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): SafetensorsFile {
  const path = join(scratch.dir, `${name}.safetensors`);
  save(path, tensors, metadata);
  return SafetensorsFile.open(path);
}

describe('round trips', () => {
  // Extremes of each type, and for floats -0, subnormals, infinities and NaN with a payload.
  const cases: Array<{ dtype: DType; stored: string; raw: Array<number | bigint> }> = [
    { dtype: 'f64', stored: 'F64', raw: [0, -0, 1.5, -1e300, 5e-324, Infinity, NaN] },
    { dtype: 'f32', stored: 'F32', raw: [0, -0, 1.5, -3.4028234663852886e38, 1.401298464324817e-45, -Infinity, NaN] },
    // f16 bits: 0, -0, smallest subnormal, 1.0, largest finite (65504), +inf, NaN with payload 0x201.
    { dtype: 'f16', stored: 'F16', raw: [0x0000, 0x8000, 0x0001, 0x3c00, 0x7bff, 0x7c00, 0x7e01] },
    // bf16 bits: 0, -0, smallest subnormal, 1.0, -2.0, +inf, NaN with payload 0x41.
    { dtype: 'bf16', stored: 'BF16', raw: [0x0000, 0x8000, 0x0001, 0x3f80, 0xc000, 0x7f80, 0x7fc1] },
    { dtype: 'i64', stored: 'I64', raw: [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -1n, 0n] },
    { dtype: 'u64', stored: 'U64', raw: [0n, 2n ** 64n - 1n, 2n ** 53n + 1n] },
    { dtype: 'i32', stored: 'I32', raw: [-2147483648, 2147483647, -1, 0] },
    { dtype: 'u32', stored: 'U32', raw: [0, 4294967295, 1] },
    { dtype: 'i16', stored: 'I16', raw: [-32768, 32767, -1] },
    { dtype: 'u16', stored: 'U16', raw: [0, 65535, 1] },
    { dtype: 'i8', stored: 'I8', raw: [-128, 127, -1] },
    { dtype: 'u8', stored: 'U8', raw: [0, 255, 1] },
    { dtype: 'bool', stored: 'BOOL', raw: [0, 1, 1, 0] },
  ];

  it.each(cases)('saves and reads back $dtype as $stored with every bit preserved', ({ dtype, stored, raw }) => {
    const original = rawTensor(dtype, raw);
    const file = roundTrip(`dtype-${dtype}`, { t: original });
    const read = file.tensor('t');
    const info = file.info('t');
    file.close();
    expect(info.dtype).toBe(stored);
    expect(read.dtype).toBe(dtype);
    expect(read.shape).toEqual([raw.length]);
    expect(bytesOf(read.data)).toEqual(bytesOf(original.data));
  });

  it('reads f32 values back equal to the ones saved', () => {
    const original = arange(-3, 3, 0.5); // -3, -2.5, ..., 2.5
    const file = roundTrip('f32-values', { w: original });
    const read = file.tensor('w');
    file.close();
    expectClose(read, original, { atol: 0 });
  });

  it('reads bf16 back as the same values (1.0 and -2.0 from bits 0x3f80, 0xc000)', () => {
    const file = roundTrip('bf16-values', { w: rawTensor('bf16', [0x3f80, 0xc000]) });
    const read = file.tensor('w');
    file.close();
    expectClose(read, [1, -2], { atol: 0 });
  });

  it('returns storage on a SharedArrayBuffer', () => {
    const file = roundTrip('shared', { w: arange(4) });
    const read = file.tensor('w');
    file.close();
    expect(read.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('saves and reads back a rank-0 tensor', () => {
    const file = roundTrip('rank0', { s: rawTensor('f32', [7.5], []) });
    const read = file.tensor('s');
    const info = file.info('s');
    file.close();
    expect(read.shape).toEqual([]);
    expect(info.dataOffsets).toEqual([0, 4]); // one element: the empty product
    expectClose([read.get()], [7.5], { atol: 0 });
  });

  it('saves and reads back an empty tensor with BEGIN equal to END', () => {
    const file = roundTrip('empty', { e: new Tensor('f16', allocate('f16', 0), [2, 0, 3]), x: arange(1) });
    const read = file.tensor('e');
    const info = file.info('e');
    file.close();
    expect(read.shape).toEqual([2, 0, 3]);
    expect(read.size).toBe(0);
    expect(info.dataOffsets[0]).toBe(info.dataOffsets[1]);
  });

  it('keeps the metadata', () => {
    const file = roundTrip('metadata', { w: arange(2) }, { format: 'pt', note: 'é "quoted"' });
    const { metadata } = file;
    file.close();
    expect(metadata).toEqual({ format: 'pt', note: 'é "quoted"' });
  });
});

describe('views', () => {
  it('saves a transposed view in row-major order of its own shape', () => {
    // arange(6) as [2, 3] = [[0, 1, 2], [3, 4, 5]]; transposed [3, 2] = [[0, 3], [1, 4], [2, 5]].
    const view = arange(6).reshape([2, 3]).transpose();
    const file = roundTrip('transposed', { t: view });
    const read = file.tensor('t');
    file.close();
    expect(read.shape).toEqual([3, 2]);
    expectClose(read.data as Float32Array, [0, 3, 1, 4, 2, 5], { atol: 0 });
  });

  it('saves a narrowed view starting inside its storage', () => {
    // Rows 1..2 of [[0, 1], [2, 3], [4, 5]]: storage offset 2.
    const view = arange(6).reshape([3, 2]).narrow(0, 1, 2);
    const file = roundTrip('narrowed', { t: view });
    const read = file.tensor('t');
    file.close();
    expectClose(read.data as Float32Array, [2, 3, 4, 5], { atol: 0 });
  });

  it('saves an expanded view with its repeated values', () => {
    // [1, 2] expanded to [3, 2] (stride 0 on axis 0) = [[1, 2], [1, 2], [1, 2]].
    const view = arange(1, 3).reshape([1, 2]).expand([3, 2]);
    const file = roundTrip('expanded', { t: view });
    const read = file.tensor('t');
    file.close();
    expectClose(read.data as Float32Array, [1, 2, 1, 2, 1, 2], { atol: 0 });
  });
});

describe('layout', () => {
  it('writes "__metadata__" first, then entries by element size descending and name, padded with spaces to 8 bytes', () => {
    const path = join(scratch.dir, 'layout.safetensors');
    save(path, {
      b: rawTensor('f32', [1, 2]),
      a: rawTensor('f32', [3]),
      c: rawTensor('f64', [4]),
      e: rawTensor('bf16', [0x3f80]),
      d: rawTensor('u8', [5, 6, 7]),
    }, { format: 'pt' });
    // c (8-byte elements), then a, b (4), e (2), d (1); offsets follow: 8, +4, +8, +2, +3 bytes.
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},' +
      '"e":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]},' +
      '"d":{"dtype":"U8","shape":[3],"data_offsets":[22,25]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);

    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(n).toBe(padded.length);
    expect(bytes.subarray(8, 8 + n).toString('utf8')).toBe(padded);
    expect(bytes.length).toBe(8 + n + 25);
    // d's three bytes are the file's last three.
    expect([...bytes.subarray(bytes.length - 3)]).toEqual([5, 6, 7]);
  });

  it('orders names as UTF-8 bytes, as the reference writer does, not as UTF-16 code units', () => {
    // U+FF21 (fullwidth A) is EF BC A1 in UTF-8, U+1F600 is F0 9F 98 80: U+FF21 first by bytes.
    // In UTF-16, U+1F600 starts with the surrogate 0xD83D < 0xFF21, so JS's < would order them the other way.
    const path = join(scratch.dir, 'names.safetensors');
    save(path, { '\u{1F600}': arange(1), '\uFF21': arange(1), a: arange(1) });
    const file = SafetensorsFile.open(path);
    const names = file.names();
    file.close();
    expect(names).toEqual(['a', '\uFF21', '\u{1F600}']);
  });

  it('leaves no temporary file next to the one it wrote', () => {
    const { dir, remove } = temporaryDirectory();
    save(join(dir, 'only.safetensors'), { w: arange(3) });
    const files = readdirSync(dir);
    remove();
    expect(files).toEqual(['only.safetensors']);
  });

  it('refuses "__metadata__" as a tensor name and writes nothing', () => {
    const { dir, remove } = temporaryDirectory();
    expect(() => save(join(dir, 'bad.safetensors'), { __metadata__: arange(1) })).toThrow(/__metadata__/);
    const files = readdirSync(dir);
    remove();
    expect(files).toEqual([]);
  });
});
