import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randn, tensor, zeros } from '@adsc/core';
import { save, SafetensorsBytes, SafetensorsFile } from '@adsc/safetensors';
import { initLoraA, loadAdapter, parseAdapter, saveAdapter, type LoraAdapterFile } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'adsc-peft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `adapter-${dirs++}`);

const Q = 'language_model.model.layers.0.self_attn.q_proj';
const V = 'language_model.model.layers.0.self_attn.v_proj';

/** r 2 on q_proj (in 4, out 4) and v_proj (in 4, out 3). */
function sampleAdapter(): LoraAdapterFile {
  return {
    config: { r: 2, loraAlpha: 4, loraDropout: 0.05, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'llava-hf/llava-1.5-7b-hf', adscSchedule: 'adsc:2:0.5' },
    modules: new Map([
      [Q, { a: randn([2, 4], 1), b: randn([4, 2], 2) }],
      [V, { a: randn([2, 4], 3), b: randn([3, 2], 4) }],
    ]),
  };
}

/** Writes an adapter directory by hand: `config` as JSON, `tensors` as the safetensors file. */
function handWritten(config: Record<string, unknown>, tensors: Record<string, ReturnType<typeof zeros>>): string {
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  save(join(dir, 'adapter_model.safetensors'), tensors);
  return dir;
}

const peftConfig = { peft_type: 'LORA', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj'], bias: 'none', base_model_name_or_path: null };

describe('saveAdapter and loadAdapter', () => {
  it('round-trips the tensors and the config', () => {
    const dir = freshDir();
    const adapter = sampleAdapter();
    saveAdapter(dir, adapter);
    const loaded = loadAdapter(dir);
    expect(loaded.config).toEqual(adapter.config);
    expect([...loaded.modules.keys()].sort()).toEqual([Q, V]);
    for (const [path, { a, b }] of adapter.modules) {
      const got = loaded.modules.get(path);
      expect(got?.a.shape).toEqual(a.shape);
      expect(got?.a.toArray()).toEqual(a.toArray());
      expect(got?.b.shape).toEqual(b.shape);
      expect(got?.b.toArray()).toEqual(b.toArray());
    }
  });

  it('names the tensors exactly as PEFT writes them, in f32', () => {
    const dir = freshDir();
    saveAdapter(dir, sampleAdapter());
    const file = SafetensorsFile.open(join(dir, 'adapter_model.safetensors'));
    try {
      expect(file.names().sort()).toEqual([
        `base_model.model.${Q}.lora_A.weight`, `base_model.model.${Q}.lora_B.weight`,
        `base_model.model.${V}.lora_A.weight`, `base_model.model.${V}.lora_B.weight`,
      ]);
      expect(file.info(`base_model.model.${V}.lora_B.weight`)).toMatchObject({ dtype: 'F32', shape: [3, 2] });
      expect(file.metadata.format).toBe('pt');
    } finally {
      file.close();
    }
  });

  it('writes the adapter_config.json fields PEFT reads', () => {
    const dir = freshDir();
    saveAdapter(dir, sampleAdapter());
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'))).toEqual({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj'], bias: 'none', fan_in_fan_out: false, inference_mode: true,
      base_model_name_or_path: 'llava-hf/llava-1.5-7b-hf', adsc_schedule: 'adsc:2:0.5',
    });
  });

  it('replaces an earlier adapter and leaves no temporary file', () => {
    const dir = freshDir();
    saveAdapter(dir, sampleAdapter());
    const second = sampleAdapter();
    second.modules.get(Q)!.b = zeros([4, 2]);
    saveAdapter(dir, second);
    expect(loadAdapter(dir).modules.get(Q)?.b.toArray()).toEqual(new Array(8).fill(0));
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });

  it('loads an adapter PEFT wrote without our extra keys', () => {
    const dir = handWritten(peftConfig, { [`base_model.model.${Q}.lora_A.weight`]: zeros([2, 4]), [`base_model.model.${Q}.lora_B.weight`]: zeros([4, 2], 'f16') });
    const loaded = loadAdapter(dir);
    expect(loaded.config).toEqual({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'], baseModelNameOrPath: null });
    expect(loaded.modules.get(Q)?.b.dtype).toBe('f32');
  });
});

describe('loadAdapter refuses', () => {
  it('a directory without adapter_config.json, naming the file', () => {
    const dir = freshDir();
    mkdirSync(dir);
    expect(() => loadAdapter(dir)).toThrow(`${join(dir, 'adapter_config.json')}: not found`);
  });

  it('a directory without adapter_model.safetensors, naming the file', () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(peftConfig));
    expect(() => loadAdapter(dir)).toThrow(`${join(dir, 'adapter_model.safetensors')}: not found`);
  });

  it('a peft_type other than LORA', () => {
    const dir = handWritten({ ...peftConfig, peft_type: 'IA3' }, {});
    expect(() => loadAdapter(dir)).toThrow('field "peft_type" is "IA3", only "LORA" is supported');
  });

  it('a lora_A without its lora_B, naming the tensor', () => {
    const name = `base_model.model.${Q}.lora_A.weight`;
    const dir = handWritten(peftConfig, { [name]: zeros([2, 4]) });
    expect(() => loadAdapter(dir)).toThrow(`tensor "${name}": module "${Q}" has lora_A but no lora_B`);
  });

  it('a lora_A whose rank is not the config r, naming file and tensor', () => {
    const dir = handWritten(peftConfig, { [`base_model.model.${Q}.lora_A.weight`]: zeros([3, 4]), [`base_model.model.${Q}.lora_B.weight`]: zeros([4, 3]) });
    expect(() => loadAdapter(dir)).toThrow(`adapter_model.safetensors, tensor "base_model.model.${Q}.lora_A.weight": shape [3, 4], expected [r = 2, in]`);
  });

  it('a lora_B that is not [out, r]', () => {
    const dir = handWritten(peftConfig, { [`base_model.model.${Q}.lora_A.weight`]: zeros([2, 4]), [`base_model.model.${Q}.lora_B.weight`]: zeros([2, 4]) });
    expect(() => loadAdapter(dir)).toThrow(`tensor "base_model.model.${Q}.lora_B.weight": shape [2, 4], expected [out, r = 2]`);
  });

  it('a tensor that is not a LoRA weight', () => {
    const dir = handWritten(peftConfig, { 'base_model.model.lm_head.weight': zeros([2, 2]) });
    expect(() => loadAdapter(dir)).toThrow('tensor "base_model.model.lm_head.weight": not a LoRA weight');
  });

  it('a module outside target_modules', () => {
    const k = 'language_model.model.layers.0.self_attn.k_proj';
    const dir = handWritten(peftConfig, { [`base_model.model.${k}.lora_A.weight`]: zeros([2, 4]), [`base_model.model.${k}.lora_B.weight`]: zeros([4, 2]) });
    expect(() => loadAdapter(dir)).toThrow(`module "${k}" matches none of target_modules ["q_proj"]`);
  });

  it('a tensors file written with another config than the one beside it', () => {
    const dir = freshDir();
    saveAdapter(dir, sampleAdapter());
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, lora_alpha: 8 }));
    expect(() => loadAdapter(dir)).toThrow('written with another adapter_config.json than the one beside it');
  });
});

describe('parseAdapter (an adapter held in memory, as a browser fetches it)', () => {
  it('reads the same config and tensors from the two files\' bytes as loadAdapter reads from the directory', () => {
    const dir = freshDir();
    saveAdapter(dir, sampleAdapter());
    const weights = new SafetensorsBytes(readFileSync(join(dir, 'adapter_model.safetensors')), 'web/adapter_model.safetensors');
    const parsed = parseAdapter(readFileSync(join(dir, 'adapter_config.json'), 'utf8'), weights);
    const loaded = loadAdapter(dir);
    expect(parsed.config).toEqual(loaded.config);
    expect([...parsed.modules.keys()]).toEqual([...loaded.modules.keys()]);
    for (const [path, { a, b }] of loaded.modules) {
      expect(parsed.modules.get(path)?.a.toArray()).toEqual(a.toArray());
      expect(parsed.modules.get(path)?.b.toArray()).toEqual(b.toArray());
    }
  });

  it('names the paths it is given when a tensor is wrong', () => {
    const name = `base_model.model.${Q}.lora_A.weight`;
    const dir = handWritten(peftConfig, { [name]: zeros([2, 4]) });
    const weights = new SafetensorsBytes(readFileSync(join(dir, 'adapter_model.safetensors')));
    expect(() => parseAdapter(JSON.stringify(peftConfig), weights, 'a/adapter_config.json', 'a/adapter_model.safetensors')).toThrow(
      `a/adapter_model.safetensors, tensor "${name}": module "${Q}" has lora_A but no lora_B`,
    );
  });
});

describe('initLoraA', () => {
  it('draws A [r, in] uniformly within +-1/sqrt(in), as kaiming_uniform_ with a = sqrt(5)', () => {
    // gain = sqrt(2 / (1 + 5)) = sqrt(1/3); bound = sqrt(3) * gain / sqrt(in) = 1 / sqrt(16) = 0.25
    const a = initLoraA(16, 8, 0);
    expect(a.shape).toEqual([8, 16]);
    const values = a.toArray();
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.25);
    // 128 uniform draws on [-0.25, 0.25] reach past 0.2 on both sides (probability ~1 - 2 * 0.9^128).
    expect(Math.max(...values)).toBeGreaterThan(0.2);
    expect(Math.min(...values)).toBeLessThan(-0.2);
  });

  it('gives the same A for the same seed and another for another seed', () => {
    expect(initLoraA(4, 2, 5).toArray()).toEqual(initLoraA(4, 2, 5).toArray());
    expect(initLoraA(4, 2, 5).toArray()).not.toEqual(initLoraA(4, 2, 6).toArray());
  });
});
