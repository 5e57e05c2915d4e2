import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import { save, saveSharded } from '@adsc/safetensors';
import { main } from '../src/main.js';

/** Runs the CLI in-process; returns exit code and captured stdout / stderr lines. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'adsc-cli-'));
const file = join(dir, 'small.safetensors');
save(file, { w: tensor([1, 2, 3, 4], [2, 2], 'f16'), flags: tensor([1, 0, 1], [3], 'bool') }, { note: 'hello' });

describe('adsc inspect', () => {
  it('lists metadata and header entries as JSON, larger dtypes first', async () => {
    const { code, out } = await run('inspect', file, '--json');
    expect(code).toBe(0);
    // Layout of save(): F16 (2 bytes) before BOOL (1 byte); w takes bytes [0, 8), flags [8, 11).
    expect(JSON.parse(out[0])).toEqual({
      metadata: { note: 'hello' },
      tensors: [
        { name: 'w', dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
        { name: 'flags', dtype: 'BOOL', shape: [3], data_offsets: [8, 11] },
      ],
    });
  });

  it('prints metadata null when the file has none', async () => {
    const bare = join(dir, 'bare.safetensors');
    save(bare, { x: tensor([0], [1]) });
    expect(JSON.parse((await run('inspect', bare, '--json')).out[0]).metadata).toBeNull();
  });

  it('prints one tensor with its values decoded, f16 as numbers', async () => {
    const { out } = await run('inspect', file, '--tensor', 'w', '--json');
    expect(JSON.parse(out[0])).toEqual({ name: 'w', dtype: 'F16', shape: [2, 2], values: [1, 2, 3, 4] });
  });

  it('prints BOOL values as 0 and 1', async () => {
    const { out } = await run('inspect', file, '--tensor', 'flags', '--json');
    expect(JSON.parse(out[0]).values).toEqual([1, 0, 1]);
  });

  it('summarises a tensor in text mode: values, min, max, mean', async () => {
    const { out } = await run('inspect', file, '--tensor', 'w');
    expect(out).toEqual(['w: F16 [2, 2], 4 values (16 bits each)', '  values: 1 2 3 4', '  min 1  max 4  mean 2.50000']);
  });

  it('names the shard of each tensor in a sharded directory', async () => {
    const sharded = join(dir, 'sharded');
    saveSharded(sharded, { a: tensor([1, 2], [2]), b: tensor([3, 4], [2]) }, { maxShardBytes: 8 });
    const { out } = await run('inspect', sharded, '--json');
    const files = JSON.parse(out[0]).tensors.map((t: { file: string }) => t.file);
    expect(files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  });

  it('prints a readable table with totals by default', async () => {
    const { code, out } = await run('inspect', file);
    expect(code).toBe(0);
    expect(out[0]).toBe('small.safetensors: 2 tensors, 7 parameters, 11 B (F16, BOOL)');
    expect(out).toContain('  metadata note: hello');
  });

  it('prints the memory plan of a model directory', async () => {
    const model = new URL('../../model/test/fixtures/tiny/tiny-gqa', import.meta.url).pathname;
    const { code, out } = await run('inspect', model);
    expect(code).toBe(0);
    expect(out.at(-2)).toMatch(/^memory plan at 4096 positions: weights 1\.13 MiB \+ KV cache \d.* \+ activations .* = .*$/);
    expect(out.at(-1)).toMatch(/^memory available: .* \((os\.totalmem\(\)|the cgroup limit .*|ADSC_MEMORY_LIMIT)\); fits$/);
  });

  it('lists a valid file of 150,000 tensors (a spread into Math.max once overflowed the stack)', async () => {
    const n = 150_000;
    const entries = Array.from({ length: n }, (_, i) => `"t${i}":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
    const header = Buffer.from(`{${entries.join(',')}}`);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    const many = join(dir, 'many.safetensors');
    writeFileSync(many, Buffer.concat([length, header, Buffer.alloc(4 * n)]));
    const { code, out, err } = await run('inspect', many);
    expect([code, err]).toEqual([0, []]);
    // 150,000 * 4 bytes = 600,000 B = 585.9 KiB; the table has a blank line and a header row.
    expect(out[0]).toBe('many.safetensors: 150000 tensors, 150,000 parameters, 585.9 KiB (F32)');
    expect(out).toHaveLength(3 + n);
  }, 30_000);

  it('fails with one line naming the code and the file for a malformed file', async () => {
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, new Uint8Array([1, 2, 3])); // 3 bytes: shorter than the 8-byte length prefix
    const { code, out, err } = await run('inspect', bad);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: HeaderTooSmall: .*bad\.safetensors/);
  });

  it('fails with one line for a tensor name that does not exist', async () => {
    const { code, err } = await run('inspect', file, '--tensor', 'nope');
    expect(code).toBe(2);
    expect(err).toEqual(['error: Usage: no tensor named "nope" (adsc inspect PATH lists them)']);
  });

  it('fails with one line for an unknown command or option', async () => {
    expect((await run('frobnicate')).err).toEqual(['error: Usage: unknown command "frobnicate" (adsc help lists the commands)']);
    const bad = await run('inspect', file, '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/^error: ERR_PARSE_ARGS_UNKNOWN_OPTION: Unknown option '--bogus'/);
  });

  it('exits 2 from the real executable with no stack trace', () => {
    const bin = new URL('../bin/adsc.mjs', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'inspect', join(dir, 'missing.safetensors')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: CheckpointNotFound: .*missing\.safetensors: no such file or directory$/)]);
  });
});
