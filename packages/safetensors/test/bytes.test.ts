/**
 * SafetensorsBytes: a file held in memory reads exactly as SafetensorsFile reads it from disk, with
 * the same checks and errors that name the source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, allocate, arange } from '@adsc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsBytes, SafetensorsFile, save } from '../src/index.js';
import { temporaryDirectory } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

/** f16 bits 1.0, -2.0, 65504 and an f32 ramp, saved with metadata; returns the path. */
function written(): string {
  const half = allocate('f16', 3);
  (half as Uint16Array).set([0x3c00, 0xc000, 0x7bff]);
  const path = join(scratch.dir, 'model.safetensors');
  save(path, { 'a.weight': arange(6).reshape([2, 3]), 'b.half': new Tensor('f16', half, [3]) }, { note: 'in memory' });
  return path;
}

describe('SafetensorsBytes', () => {
  it('gives the same names, metadata, dtypes, shapes and bytes as SafetensorsFile', () => {
    const path = written();
    const file = SafetensorsFile.open(path);
    const bytes = new SafetensorsBytes(readFileSync(path), path);
    try {
      expect(bytes.names()).toEqual(file.names());
      expect(bytes.metadata).toEqual({ note: 'in memory' });
      for (const name of file.names()) {
        const [a, b] = [bytes.tensor(name), file.tensor(name)];
        expect([a.dtype, a.shape]).toEqual([b.dtype, b.shape]);
        expect(Array.from(a.data as ArrayLike<number>)).toEqual(Array.from(b.data as ArrayLike<number>));
      }
      expect(Array.from(bytes.tensor('b.half').data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7bff]);
    } finally {
      file.close();
    }
  });

  it('copies a tensor out, so writing to it leaves the buffer as it was', () => {
    const source = readFileSync(written());
    const before = Buffer.from(source);
    const bytes = new SafetensorsBytes(source, 'model.safetensors');
    (bytes.tensor('a.weight').data as Float32Array).fill(7);
    expect(Buffer.compare(source, before)).toBe(0);
    expect(Array.from(bytes.tensor('a.weight').data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses a truncated buffer with the header check that fails, naming the source', () => {
    const source = readFileSync(written());
    expect(() => new SafetensorsBytes(source.subarray(0, source.length - 2), 'models/x.safetensors')).toThrow(
      /^MetadataIncompleteBuffer: models\/x\.safetensors: /,
    );
    expect(() => new SafetensorsBytes(new Uint8Array(5), 'tiny.safetensors')).toThrow(/^HeaderTooSmall: tiny\.safetensors/);
  });

  it('names the source and the tensor when a name is not in the file', () => {
    const bytes = new SafetensorsBytes(readFileSync(written()), 'models/x.safetensors');
    expect(bytes.has('c')).toBe(false);
    expect(() => bytes.tensor('c')).toThrow('TensorNotFound: models/x.safetensors, tensor "c": no such tensor among the file\'s 2');
  });
});
