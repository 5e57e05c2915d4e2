import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const json = async (...argv: string[]) => JSON.parse((await run('flops', ...argv, '--json')).out[0]);

describe('adsc flops', () => {
  it('prints baseline, scheduled, reductions and per-layer counts as JSON', async () => {
    const r = await json('--config', 'llava-1.5-7b', '--schedule', 'adsc');
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['baseline', 'scheduled', 'reduction', 'layers']));
    expect(r.layers).toHaveLength(32);
    expect(r.layers[6]).toMatchObject({ layer: 6, tokens: 352, vision_tokens: 288 }); // 64 text + 576 / 2
    expect(r.reduction.kv).toBeCloseTo(0.555, 3);
    expect(r.baseline.kv_cache_elements).toBe(32 * 2 * 640 * 4096); // 32 layers, K and V, 640 tokens, 32 heads x 128
  });

  it('counts text tokens from --text-tokens', async () => {
    const r = await json('--config', 'llava-1.5-7b', '--schedule', 'none', '--text-tokens', '10');
    expect(r.layers[0].tokens).toBe(586);
    expect(r.reduction).toEqual({ flops: 0, kv: 0 });
  });

  it('reports the FastV paper formula as is', async () => {
    const r = await json('--config', 'llava-1.5-7b', '--schedule', 'fastv', '--formula', 'fastv');
    const n = 640;
    const d = 4096;
    expect(r.layers[0].flops).toBe(4 * n * d * d + 2 * n * n * d + 2 * n * d * 11008);
    expect(r.reference_attention_layers).toEqual([1]);
  });

  it('reads a model directory config', async () => {
    const dir = new URL('../../../examples/tiny-llava', import.meta.url).pathname;
    const r = await json('--config', dir, '--schedule', 'pdrop');
    expect(r.layers.map((l: { vision_tokens: number }) => l.vision_tokens).filter((v: number, i: number, a: number[]) => a.indexOf(v) === i)).toEqual([576, 288, 144, 72]);
  });

  it('draws a bar per layer with --plot', async () => {
    const { out } = await run('flops', '--config', 'llava-1.5-7b', '--schedule', 'adsc', '--plot');
    const bars = out.filter((l) => /^\s*\d+ [█░]+ \d+$/.test(l));
    expect(bars).toHaveLength(32);
    expect(bars[0].endsWith(' 640')).toBe(true);
    expect(bars[31].endsWith(' 136')).toBe(true);
  });

  it('names a schedule layer the model does not have', async () => {
    const { code, err } = await run('flops', '--config', 'llava-1.5-7b', '--schedule', 'adsc:32=0.5');
    expect(code).toBe(2);
    expect(err).toEqual(['error: ScheduleError: schedule "adsc:32=0.5": layer 32 does not exist in a model of 32 layers']);
  });

  it('refuses text tokens that with the image pass max_position_embeddings', async () => {
    // llava-1.5-7b: 576 image features + 3521 text tokens = 4097 > 4096.
    expect((await run('flops', '--config', 'llava-1.5-7b', '--text-tokens', '3520')).code).toBe(0);
    expect((await run('flops', '--config', 'llava-1.5-7b', '--text-tokens', '3521')).err).toEqual([
      "error: ContextTooLong: llava-1.5-7b: 4097 prompt positions + 0 new tokens = 4097, past the model's max_position_embeddings 4096",
    ]);
  });

  it('refuses an unknown formula and a missing config', async () => {
    expect((await run('flops', '--config', 'llava-1.5-7b', '--formula', 'magic')).err).toEqual(['error: Usage: --formula must be exact or fastv, got "magic"']);
    expect((await run('flops')).code).toBe(2);
  });
});
