/**
 * A save that fails mid-write (disk full, a crash) must leave the previous adapter whole. node:fs's
 * writeSync is wrapped so that a test can make it fail after the first chunk of bytes.
 */
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { randn, zeros } from '@adsc/core';
import { loadAdapter, saveAdapter, type LoraAdapterFile } from '../src/index.js';

const failure = vi.hoisted(() => ({ afterWrites: Infinity }));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>();
  return {
    ...actual,
    writeSync: (...args: Parameters<typeof actual.writeSync>) => {
      if (failure.afterWrites-- <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (actual.writeSync as (...a: unknown[]) => number)(...args);
    },
  };
});

const tmp = mkdtempSync(join(tmpdir(), 'adsc-peft-crash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const Q = 'language_model.model.layers.0.self_attn.q_proj';

function adapter(r: number, seed: number): LoraAdapterFile {
  return {
    config: { r, loraAlpha: 2 * r, loraDropout: 0, targetModules: ['q_proj'], baseModelNameOrPath: null },
    modules: new Map([[Q, { a: randn([r, 8], seed), b: zeros([8, r]) }]]),
  };
}

describe('an interrupted saveAdapter', () => {
  it('leaves the previous adapter intact and no temporary file behind when the tensor bytes fail', () => {
    const dir = join(tmp, 'adapter');
    const old = adapter(2, 1);
    saveAdapter(dir, old);

    failure.afterWrites = 1; // the header goes out, the tensor bytes fail
    expect(() => saveAdapter(dir, adapter(4, 2))).toThrow('ENOSPC');
    failure.afterWrites = Infinity;

    const loaded = loadAdapter(dir);
    expect(loaded.config).toEqual(old.config);
    expect(loaded.modules.get(Q)?.a.toArray()).toEqual(old.modules.get(Q)?.a.toArray());
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });

  it('leaves the previous adapter intact when writing the config fails after the tensors', () => {
    const dir = join(tmp, 'adapter-config-fails');
    const old = adapter(2, 1);
    saveAdapter(dir, old);

    failure.afterWrites = 3; // header, lora_A and lora_B go out; the config write fails
    expect(() => saveAdapter(dir, adapter(4, 2))).toThrow('ENOSPC');
    failure.afterWrites = Infinity;

    const loaded = loadAdapter(dir);
    expect(loaded.config).toEqual(old.config);
    expect(loaded.modules.get(Q)?.a.toArray()).toEqual(old.modules.get(Q)?.a.toArray());
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });
});
