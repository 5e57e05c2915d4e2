/**
 * File positions beyond 2^31 and 2^32 (real shards are ~5 GB). The file is sparse: its header
 * declares two 2 GiB U8 filler tensors that are never written (holes read as zeros and take no
 * disk space), and the two small F32 tensors after them are written at their positions.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expectClose } from '@adsc/core/testing';
import { afterAll, expect, it } from 'vitest';
import { SafetensorsFile } from '../src/index.js';
import { fileBytes, temporaryDirectory } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

const GiB2 = 2 ** 31;

it('reads tensors that start past the 2 GiB and 4 GiB marks of a sparse file', () => {
  // Buffer offsets: filler1 [0, 2^31), near [2^31, 2^31 + 16), filler2 [2^31 + 16, 2^32 + 16),
  // far [2^32 + 16, 2^32 + 24). File positions add 8 + N, so near starts past 2^31 and far past 2^32.
  const nearBegin = GiB2;
  const farBegin = nearBegin + 16 + GiB2;
  const header =
    `{"filler1":{"dtype":"U8","shape":[${GiB2}],"data_offsets":[0,${GiB2}]},` +
    `"near":{"dtype":"F32","shape":[4],"data_offsets":[${nearBegin},${nearBegin + 16}]},` +
    `"filler2":{"dtype":"U8","shape":[${GiB2}],"data_offsets":[${nearBegin + 16},${farBegin}]},` +
    `"far":{"dtype":"F32","shape":[2],"data_offsets":[${farBegin},${farBegin + 8}]}}`;
  const head = fileBytes(header);
  const dataStart = head.length; // 8 + N
  const near = Float32Array.of(1.5, -2, 3.25, 0.125);
  const far = Float32Array.of(42, -0.5);

  const path = join(scratch.dir, 'sparse.safetensors');
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, dataStart + farBegin + 8); // ~4.3 GB of holes
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, new Uint8Array(near.buffer), 0, 16, dataStart + nearBegin);
    writeSync(fd, new Uint8Array(far.buffer), 0, 8, dataStart + farBegin);
  } finally {
    closeSync(fd);
  }

  const file = SafetensorsFile.open(path);
  try {
    expect(file.dataStart + file.info('near').dataOffsets[0]).toBeGreaterThan(2 ** 31);
    expect(file.dataStart + file.info('far').dataOffsets[0]).toBeGreaterThan(2 ** 32);
    expectClose(file.tensor('near'), near, { atol: 0 });
    expectClose(file.tensor('far'), far, { atol: 0 });
  } finally {
    file.close();
    scratch.remove();
  }
});
