/**
 * `adsc train` and `adsc run --adapter` through the CLI's entry point, on the toy LLaVA of
 * packages/train/test/tiny-model.ts.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '@adsc/cli';
import { readTrainerState } from '@adsc/train';
import { tinySetup } from '../packages/train/test/tiny-model.js';

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('adsc train', () => {
  it('trains for --steps and reports every step\'s loss as JSON', { timeout: 60_000 }, async () => {
    const { root, model, data } = tinySetup();
    const out = join(root, 'out');
    const r = await cli(['train', '--model', model, '--data', data, '--out', out, '--steps', '3', '--batch-size', '2', '--lr', '3e-3', '--json']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out[0]) as { losses: number[]; steps: number; out: string };
    expect(report.steps).toBe(3);
    expect(report.losses).toHaveLength(3);
    expect(report.out).toBe(out);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('writes a LoRA adapter that adsc run applies, with the adapter\'s ADSC schedule by default', { timeout: 60_000 }, async () => {
    const { root, model, data } = tinySetup();
    const out = join(root, 'adapter');
    const t = await cli(['train', '--model', model, '--data', data, '--out', out, '--steps', '2', '--lora', 'r=2,alpha=4,targets=q_proj,v_proj', '--schedule', 'adsc:1=0.5', '--json']);
    expect(t.code).toBe(0);
    const image = join(root, 'data', 'images', readdirSync(join(root, 'data', 'images'))[0]);
    const r = await cli(['run', '--model', model, '--adapter', out, '--image', image, '--prompt', 'What color is the circle?', '--max-new-tokens', '2', '--json']);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out[0]) as { schedule: string; vision_tokens_per_layer: number[] };
    expect(run.schedule).toBe('adsc:1=0.5');
    expect(run.vision_tokens_per_layer).toEqual([16, 8]);
  });

  it('refuses an unknown LoRA target module with one line and exit code 2', async () => {
    const { root, model, data } = tinySetup();
    const r = await cli(['train', '--model', model, '--data', data, '--out', join(root, 'o'), '--lora', 'r=2,targets=q_proj,fc9']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: Usage: --lora: unknown target module "fc9" (known: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)']);
    expect(existsSync(join(root, 'o'))).toBe(false);
  });

  it('trains with --independent-turns and records the option in the checkpoint', { timeout: 60_000 }, async () => {
    const { root, model, data } = tinySetup();
    const out = join(root, 'out');
    const r = await cli(['train', '--model', model, '--data', data, '--out', out, '--steps', '1', '--independent-turns', '--json']);
    expect(r.code).toBe(0);
    expect(readTrainerState(out).options.independentTurns).toBe(true);
  });

  it('stops after --stop-after, says so, and goes on from there with --resume', { timeout: 60_000 }, async () => {
    const { root, model, data } = tinySetup();
    const first = join(root, 'first');
    const flags = ['--model', model, '--data', data, '--steps', '3', '--batch-size', '2', '--lr-schedule', 'cosine'];
    const a = await cli(['train', ...flags, '--out', first, '--stop-after', '2']);
    expect(a.code).toBe(0);
    expect(a.out.at(-1)).toMatch(new RegExp(`^stopped after step 2 of 3 on .*; wrote ${first} \\(--resume it to go on\\)$`));
    expect(readTrainerState(first).step).toBe(2);
    const b = await cli(['train', ...flags, '--out', join(root, 'rest'), '--resume', first, '--json']);
    expect(b.code).toBe(0);
    expect((JSON.parse(b.out[0]) as { losses: number[] }).losses).toHaveLength(3);
  });

  it('refuses --independent-turns on pre-tokenized JSONL with one line and exit code 2', async () => {
    const { root, model } = tinySetup();
    const jsonl = join(root, 'data.jsonl');
    writeFileSync(jsonl, '');
    const r = await cli(['train', '--model', model, '--data', jsonl, '--out', join(root, 'o'), '--independent-turns']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: TrainError: ${jsonl}: independent turns are laid out from conversation JSON; pre-tokenized JSONL records fix their own ids`]);
    expect(existsSync(join(root, 'o'))).toBe(false);
  });

  it('refuses a learning rate written in hex', async () => {
    const { root, model, data } = tinySetup();
    const r = await cli(['train', '--model', model, '--data', data, '--out', join(root, 'o'), '--lr', '0x10']);
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe('error: Usage: --lr must be a number in (0, 10] such as 2e-5 or 0.001, got "0x10"');
  });
});
