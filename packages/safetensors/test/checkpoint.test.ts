/**
 * openCheckpoint and saveSharded: a model directory (index + shards, or one model.safetensors, or
 * a path to a single file) read as one name -> tensor map, and the errors for broken ones.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, allocate, arange, type DType } from '@adsc/core';
import { expectClose } from '@adsc/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEX_FILE, openCheckpoint, save, saveSharded } from '../src/index.js';
import { errorOf, temporaryDirectory } from './hand-built.js';

const scratch = temporaryDirectory();
afterAll(scratch.remove);

let dirs = 0;
/** A fresh empty directory inside the scratch directory. */
function freshDir(): string {
  const dir = join(scratch.dir, `case-${dirs++}`);
  mkdirSync(dir);
  return dir;
}

function writeIndex(dir: string, weightMap: Record<string, string>, metadata: Record<string, unknown> = { total_size: 0 }): string {
  const path = join(dir, INDEX_FILE);
  writeFileSync(path, JSON.stringify({ metadata, weight_map: weightMap }));
  return path;
}

/** arange(n) stored in `dtype`. */
function ramp(n: number, dtype: DType): Tensor {
  return arange(n).to(dtype);
}

describe('a directory with an index and two shards', () => {
  const dir = freshDir();
  save(join(dir, 'first.safetensors'), { 'embed.weight': ramp(4, 'f16'), 'norm.weight': ramp(2, 'f32') });
  save(join(dir, 'second.safetensors'), { 'head.weight': ramp(3, 'bf16') });
  // total_size: 4 * 2 + 2 * 4 + 3 * 2 = 22 bytes.
  writeIndex(dir, { 'embed.weight': 'first.safetensors', 'norm.weight': 'first.safetensors', 'head.weight': 'second.safetensors' }, { total_size: 22 });

  it('lists the names of the weight_map', () => {
    const checkpoint = openCheckpoint(dir);
    expect(checkpoint.names()).toEqual(['embed.weight', 'norm.weight', 'head.weight']);
    expect([checkpoint.has('head.weight'), checkpoint.has('missing')]).toEqual([true, false]);
    checkpoint.close();
  });

  it('reads each tensor from its shard in its stored dtype', () => {
    const checkpoint = openCheckpoint(dir);
    const embed = checkpoint.tensor('embed.weight');
    const head = checkpoint.tensor('head.weight');
    checkpoint.close();
    expect([embed.dtype, head.dtype]).toEqual(['f16', 'bf16']);
    expectClose(embed, [0, 1, 2, 3], { atol: 0 });
    expectClose(head, [0, 1, 2], { atol: 0 });
  });

  it('gives dtype, shape, offsets and shard file in info', () => {
    const checkpoint = openCheckpoint(dir);
    const info = checkpoint.info('head.weight');
    checkpoint.close();
    expect(info).toEqual({ name: 'head.weight', dtype: 'BF16', shape: [3], dataOffsets: [0, 6], file: join(dir, 'second.safetensors') });
  });

  it('gives the index metadata with values as text', () => {
    const checkpoint = openCheckpoint(dir);
    expect(checkpoint.metadata).toEqual({ total_size: '22' });
    checkpoint.close();
  });

  it('accepts a path to the index file itself', () => {
    const checkpoint = openCheckpoint(join(dir, INDEX_FILE));
    const norm = checkpoint.tensor('norm.weight');
    checkpoint.close();
    expectClose(norm, [0, 1], { atol: 0 });
  });

  it('refuses a name outside the weight_map as TensorNotFound, naming the index', () => {
    const checkpoint = openCheckpoint(dir);
    const error = errorOf(() => checkpoint.tensor('lm_head.weight'));
    checkpoint.close();
    expect([error.code, error.tensor]).toEqual(['TensorNotFound', 'lm_head.weight']);
    expect(error.message).toContain(INDEX_FILE);
  });

  it('refuses reads after close', () => {
    const checkpoint = openCheckpoint(dir);
    checkpoint.close();
    expect(errorOf(() => checkpoint.tensor('embed.weight')).code).toBe('IoError');
  });
});

describe('single-file checkpoints', () => {
  it('opens a directory holding one model.safetensors', () => {
    const dir = freshDir();
    save(join(dir, 'model.safetensors'), { w: ramp(3, 'f32') }, { format: 'pt' });
    const checkpoint = openCheckpoint(dir);
    const w = checkpoint.tensor('w');
    const { metadata } = checkpoint;
    const info = checkpoint.info('w');
    checkpoint.close();
    expectClose(w, [0, 1, 2], { atol: 0 });
    expect(metadata).toEqual({ format: 'pt' });
    expect(info.file).toBe(join(dir, 'model.safetensors'));
  });

  it('opens a path to any .safetensors file', () => {
    const path = join(freshDir(), 'weights.safetensors');
    save(path, { a: ramp(2, 'i32'), b: ramp(1, 'u8') });
    const checkpoint = openCheckpoint(path);
    const names = checkpoint.names();
    const a = checkpoint.tensor('a');
    checkpoint.close();
    expect(names).toEqual(['a', 'b']);
    expectClose(a, [0, 1], { atol: 0 });
  });

  it('prefers the index when a directory has both', () => {
    const dir = freshDir();
    save(join(dir, 'model.safetensors'), { old: ramp(1, 'f32') });
    save(join(dir, 'shard.safetensors'), { new: ramp(1, 'f32') });
    writeIndex(dir, { new: 'shard.safetensors' });
    const checkpoint = openCheckpoint(dir);
    expect(checkpoint.names()).toEqual(['new']);
    checkpoint.close();
  });
});

describe('broken checkpoints', () => {
  it('refuses an index naming a shard that does not exist as MissingShard, naming the index and the shard', () => {
    const dir = freshDir();
    save(join(dir, 'a.safetensors'), { x: ramp(1, 'f32') });
    writeIndex(dir, { x: 'a.safetensors', y: 'model-00002-of-00002.safetensors' });
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.tensor]).toEqual(['MissingShard', 'y']);
    expect(error.message).toContain(INDEX_FILE);
    expect(error.message).toContain('model-00002-of-00002.safetensors');
  });

  it('refuses a shard that lacks a tensor the index promised as IndexMismatch', () => {
    const dir = freshDir();
    save(join(dir, 'a.safetensors'), { x: ramp(1, 'f32') });
    writeIndex(dir, { x: 'a.safetensors', y: 'a.safetensors' });
    const checkpoint = openCheckpoint(dir);
    const error = errorOf(() => checkpoint.tensor('y'));
    checkpoint.close();
    expect([error.code, error.tensor]).toEqual(['IndexMismatch', 'y']);
    expect(error.message).toContain('a.safetensors');
  });

  it('opens a shard only when one of its tensors is asked for', () => {
    // b.safetensors is 3 bytes of junk: the checkpoint opens and reads x; only y reaches the junk.
    const dir = freshDir();
    save(join(dir, 'a.safetensors'), { x: ramp(2, 'f32') });
    writeFileSync(join(dir, 'b.safetensors'), Uint8Array.from([1, 2, 3]));
    writeIndex(dir, { x: 'a.safetensors', y: 'b.safetensors' });
    const checkpoint = openCheckpoint(dir);
    const x = checkpoint.tensor('x');
    const error = errorOf(() => checkpoint.tensor('y'));
    checkpoint.close();
    expectClose(x, [0, 1], { atol: 0 });
    expect(error.code).toBe('HeaderTooSmall');
    expect(error.message).toContain('b.safetensors');
  });

  it('refuses an index without a weight_map as InvalidIndex', () => {
    const dir = freshDir();
    writeFileSync(join(dir, INDEX_FILE), '{"metadata":{}}');
    expect(errorOf(() => openCheckpoint(dir)).code).toBe('InvalidIndex');
  });

  it('refuses an index that is not JSON as InvalidIndex', () => {
    const dir = freshDir();
    writeFileSync(join(dir, INDEX_FILE), '{"weight_map":');
    expect(errorOf(() => openCheckpoint(dir)).code).toBe('InvalidIndex');
  });

  it('refuses a shard path that leaves the directory as InvalidIndex', () => {
    const dir = freshDir();
    save(join(scratch.dir, 'outside.safetensors'), { x: ramp(1, 'f32') });
    writeIndex(dir, { x: '../outside.safetensors' });
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.message.includes('../outside.safetensors')]).toEqual(['InvalidIndex', true]);
  });

  it('refuses a shard symlinked to a file outside the directory as InvalidIndex', () => {
    const dir = freshDir();
    save(join(scratch.dir, 'elsewhere.safetensors'), { x: ramp(1, 'f32') });
    symlinkSync(join(scratch.dir, 'elsewhere.safetensors'), join(dir, 'a.safetensors'));
    writeIndex(dir, { x: 'a.safetensors' });
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.tensor]).toEqual(['InvalidIndex', 'x']);
    expect(error.message).toContain(`resolves to ${join(realpathSync(scratch.dir), 'elsewhere.safetensors')}, outside the model directory`);
  });

  it('refuses an index that lists a tensor twice as InvalidIndex, naming it', () => {
    // JSON.parse would keep the second entry without a word.
    const dir = freshDir();
    save(join(dir, 'a.safetensors'), { x: ramp(1, 'f32') });
    save(join(dir, 'b.safetensors'), { y: ramp(1, 'f32') });
    writeFileSync(join(dir, INDEX_FILE), '{"weight_map":{"x":"a.safetensors","y":"b.safetensors","x":"b.safetensors"}}');
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.tensor, error.message.endsWith('the weight_map lists this tensor twice')]).toEqual(['InvalidIndex', 'x', true]);
  });

  it('refuses a NUL byte in a shard name as InvalidIndex, naming the tensor', () => {
    const dir = freshDir();
    writeFileSync(join(dir, INDEX_FILE), '{"weight_map":{"x":"a\\u0000.safetensors"}}');
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.tensor]).toEqual(['InvalidIndex', 'x']);
  });

  it('refuses a shard that is a FIFO as NotRegularFile without opening it', () => {
    const dir = freshDir();
    expect(spawnSync('mkfifo', [join(dir, 'a.safetensors')]).status).toBe(0);
    writeIndex(dir, { x: 'a.safetensors' });
    const error = errorOf(() => openCheckpoint(dir));
    expect([error.code, error.file]).toEqual(['NotRegularFile', join(dir, 'a.safetensors')]);
  });

  it('refuses an index larger than 64 MiB before reading it', () => {
    const dir = freshDir();
    const fd = openSync(join(dir, INDEX_FILE), 'w');
    ftruncateSync(fd, 64 * 2 ** 20 + 1); // sparse: no blocks on disk
    closeSync(fd);
    const error = errorOf(() => openCheckpoint(dir));
    expect(error.code).toBe('InvalidIndex');
    expect(error.message).toContain('holds 67108865 bytes, more than the 67108864');
  });

  it('refuses a directory with neither an index nor model.safetensors as CheckpointNotFound', () => {
    const dir = freshDir();
    save(join(dir, 'other.safetensors'), { x: ramp(1, 'f32') });
    const error = errorOf(() => openCheckpoint(dir));
    expect(error.code).toBe('CheckpointNotFound');
    expect(error.message).toContain(dir);
  });

  it('refuses a path that does not exist as CheckpointNotFound', () => {
    expect(errorOf(() => openCheckpoint(join(scratch.dir, 'no-such-model'))).code).toBe('CheckpointNotFound');
  });
});

describe('saveSharded', () => {
  // Bytes: w1 f32 [4] = 16, w2 f16 [4] = 8, w3 i64 [2] = 16, w4 u8 [4] = 4; total 44.
  // With at most 24 bytes a shard: w1 + w2 = 24 fits; w3 would make 40, so a second shard: w3 + w4 = 20.
  const tensors = { w1: ramp(4, 'f32'), w2: ramp(4, 'f16'), w3: ramp(2, 'i64'), w4: ramp(4, 'u8') };

  it('splits tensors into shards in order and writes the index', () => {
    const dir = freshDir();
    const index = saveSharded(dir, tensors, { maxShardBytes: 24 });
    const first = 'model-00001-of-00002.safetensors';
    const second = 'model-00002-of-00002.safetensors';
    const expected = { metadata: { total_size: 44 }, weight_map: { w1: first, w2: first, w3: second, w4: second } };
    expect(index).toEqual(expected);
    expect(JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8'))).toEqual(expected);
    expect([existsSync(join(dir, first)), existsSync(join(dir, second))]).toEqual([true, true]);
  });

  it('writes a checkpoint that openCheckpoint reads back with every dtype kept', () => {
    const dir = freshDir();
    saveSharded(dir, tensors, { maxShardBytes: 24, metadata: { format: 'pt' } });
    const checkpoint = openCheckpoint(dir);
    const read = Object.fromEntries(checkpoint.names().map((name) => [name, checkpoint.tensor(name)]));
    const w3File = checkpoint.info('w3').file;
    checkpoint.close();
    expect(Object.values(read).map((t) => t.dtype)).toEqual(['f32', 'f16', 'i64', 'u8']);
    expectClose(read.w1, [0, 1, 2, 3], { atol: 0 });
    expectClose(read.w2, [0, 1, 2, 3], { atol: 0 });
    expectClose(read.w3, [0, 1], { atol: 0 });
    expectClose(read.w4, [0, 1, 2, 3], { atol: 0 });
    expect(w3File).toBe(join(dir, 'model-00002-of-00002.safetensors'));
  });

  it('copies the metadata into every shard and into the index, where the checkpoint reads it', () => {
    const dir = freshDir();
    const index = saveSharded(dir, tensors, { maxShardBytes: 24, metadata: { note: 'random' } });
    expect(index.metadata).toEqual({ note: 'random', total_size: 44 });
    const checkpoint = openCheckpoint(dir);
    expect(checkpoint.metadata).toEqual({ note: 'random', total_size: '44' });
    checkpoint.close();
    const shard = openCheckpoint(join(dir, 'model-00002-of-00002.safetensors'));
    expect(shard.metadata).toEqual({ note: 'random' });
    shard.close();
  });

  it('gives a tensor larger than maxShardBytes a shard of its own', () => {
    // 2 + 8 + 2 bytes with a limit of 4: [small] [big] [small2].
    const dir = freshDir();
    const index = saveSharded(dir, { small: ramp(1, 'f16'), big: ramp(2, 'f32'), small2: ramp(1, 'f16') }, { maxShardBytes: 4 });
    expect(Object.values(index.weight_map)).toEqual([
      'model-00002-of-00003.safetensors', 'model-00001-of-00003.safetensors', 'model-00003-of-00003.safetensors',
    ]); // weight_map is sorted by name: big, small, small2
  });

  it('writes one shard and an index when everything fits', () => {
    const dir = freshDir();
    const index = saveSharded(dir, { e: new Tensor('f32', allocate('f32', 0), [0]), x: ramp(2, 'u8') }, { maxShardBytes: 1 << 20 });
    expect(index).toEqual({ metadata: { total_size: 2 }, weight_map: { e: 'model-00001-of-00001.safetensors', x: 'model-00001-of-00001.safetensors' } });
  });

  it('refuses a maxShardBytes that is not a positive integer', () => {
    expect(() => saveSharded(freshDir(), tensors, { maxShardBytes: 0 })).toThrow(/maxShardBytes/);
  });
});
