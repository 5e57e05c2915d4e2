import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

const root = new URL('../../../', import.meta.url).pathname;
const demo = join(root, 'examples/tiny-llava');
const image = join(root, 'examples/images/demo.png');
const gqa = join(root, 'packages/model/test/fixtures/tiny/tiny-gqa');
const golden = (await import('../../model/test/fixtures/golden/runs.json', { with: { type: 'json' } })).default as {
  name: string; input_ids: number[]; output_ids: number[]; prefill_logits: number[]; tokens_per_layer: number[]; kv_cache_elements: number;
}[];

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('adsc run', () => {
  it('prints the JSON fields of a text-only run that match the PyTorch reference', async () => {
    const ref = golden.find((g) => g.name === 'tiny-mha text-only')!;
    const mha = join(root, 'packages/model/test/fixtures/tiny/tiny-mha');
    const { code, out } = await run('run', '--model', mha, '--input-ids', ref.input_ids.join(','), '--max-new-tokens', '6', '--json');
    expect(code).toBe(0);
    const r = JSON.parse(out[0]);
    expect(r.output_ids).toEqual(ref.output_ids);
    expect(r.tokens_per_layer).toEqual(ref.tokens_per_layer);
    expect(r.kv_cache_elements).toBe(ref.kv_cache_elements);
    expect(r.prefill_logits).toHaveLength(320);
    expect(r.kv_cache_dtype).toBe('f32');
    expect(r.timings.decode).toHaveLength(5); // 6 tokens: the first comes from prefill
    expect(r.text).toBeNull(); // the fixture has no tokenizer.json
  });

  it('runs the bundled demo from an image and a prompt, and says the weights are random', async () => {
    const { code, out } = await run('run', '--model', demo, '--image', image, '--prompt', 'What is in the image?', '--max-new-tokens', '2');
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^note: .*random weights/);
    expect(out).toContain('decoder input: 602 tokens (576 vision)'); // 27 prompt ids - 1 image token + 576 features
    expect(out).toContain('tokens per layer: 602 x32');
  });

  it('fails with one line when --image is given but the ids have no image token', async () => {
    const { code, err } = await run('run', '--model', gqa, '--image', image, '--input-ids', '1,2,3');
    expect(code).toBe(2);
    expect(err).toEqual(['error: PromptError: an image was given but the prompt has no image token (id 300)']);
  });

  it('fails with one line naming the tensor whose shape disagrees with the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adsc-run-'));
    cpSync(gqa, dir, { recursive: true });
    const cfg = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'config.json'), 'utf8'));
    cfg.text_config.intermediate_size = 200; // the checkpoint's MLP is 160 wide
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const { code, err } = await run('run', '--model', dir, '--input-ids', '1,2');
    expect(code).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: WeightError: .* tensor language_model\.model\.layers\.0\.mlp\.gate_proj\.weight has shape \[160, 96\], but the config implies \[200, 96\]$/);
  });

  it('fails with one line for an image that is not PNG or JPEG', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'adsc-img-')), 'x.bmp');
    writeFileSync(bad, 'BM not an image');
    const { code, err } = await run('run', '--model', gqa, '--image', bad, '--input-ids', '1,300,2');
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^error: .*x\.bmp/);
  });

  it('names the image path when it is a directory or missing', async () => {
    const dir = await run('run', '--model', gqa, '--image', join(root, 'examples/images'), '--input-ids', '1,300,2');
    expect(dir.err).toEqual([`error: NotRegularFile: ${join(root, 'examples/images')}: is a directory, not a regular file`]);
    const missing = await run('run', '--model', gqa, '--image', '/nonexistent.png', '--input-ids', '1,300,2');
    expect(missing.err).toEqual(['error: FileNotFound: /nonexistent.png: no such file or directory']);
  });

  it('names the flag when a sampling option or an id is out of range', async () => {
    expect((await run('run', '--model', gqa, '--input-ids', '1', '--top-p', '0')).err).toEqual(['error: Usage: --top-p must be a decimal number in (0, 1], got "0"']);
    expect((await run('run', '--model', gqa, '--input-ids', '1,99999')).err).toEqual([
      `error: Usage: --input-ids: id 99999 is outside the vocabulary [0, 320) of ${gqa} (image token: 300)`,
    ]);
  });

  it('needs exactly one of --prompt and --input-ids', async () => {
    const { code, err } = await run('run', '--model', gqa);
    expect(code).toBe(2);
    expect(err).toEqual(['error: Usage: adsc run needs exactly one of --prompt and --input-ids']);
  });

  it('refuses malformed ids and counts', async () => {
    expect((await run('run', '--model', gqa, '--input-ids', '1,x')).err).toEqual(['error: Usage: --input-ids must be comma-separated integers, got "1,x"']);
    expect((await run('run', '--model', gqa, '--input-ids', '1', '--max-new-tokens=-1')).err).toEqual(['error: Usage: --max-new-tokens must be an integer >= 1, got "-1"']);
  });

  it('adds the schedule, reference attention layers and counted FLOPs to the JSON', async () => {
    const ref = golden.find((g) => g.name === 'tiny-gqa fastv:K=2,R=0.5 original')!;
    const { code, out } = await run('run', '--model', gqa, '--input-ids', ref.input_ids.join(','), '--image', join(root, 'examples/images/demo.png'), '--schedule', 'fastv:K=2,R=0.5', '--max-new-tokens', '1', '--json');
    expect(code).toBe(0);
    const r = JSON.parse(out[0]);
    expect(r.schedule).toBe('fastv:K=2,R=0.5');
    expect(r.reference_attention_layers).toEqual([1]);
    expect(r.vision_tokens_per_layer).toEqual([64, 64, 32, 32, 32, 32]);
    expect(r.tokens_per_layer).toEqual(ref.tokens_per_layer);
    expect(r.flops.total).toBe(r.flops.vision_tower + r.flops.projector + r.flops.ranking + r.flops.decoder + r.flops.lm_head);
    expect(r.flops.vision_tower).toBeGreaterThan(0);
  });

  it('lists which image features each layer kept in the JSON', async () => {
    const ref = golden.find((g) => g.name === 'tiny-mha adsc:2=0.5 renumber')!;
    const mha = join(root, 'packages/model/test/fixtures/tiny/tiny-mha');
    const { out } = await run('run', '--model', mha, '--input-ids', ref.input_ids.join(','), '--image', image, '--schedule', 'adsc:2=0.5', '--max-new-tokens', '1', '--json');
    const r = JSON.parse(out[0]) as { vision_tokens_per_layer: number[]; vision_indices_per_layer: number[][] };
    const all = Array.from({ length: r.vision_tokens_per_layer[0] }, (_, i) => i);
    // Uniform downsampling by 1/2 before layer 2 keeps every other feature: floor(j * n / k) = 2j.
    expect(r.vision_indices_per_layer[0]).toEqual(all);
    expect(r.vision_indices_per_layer[1]).toEqual(all);
    expect(r.vision_indices_per_layer[2]).toEqual(all.filter((i) => i % 2 === 0));
    expect(r.vision_indices_per_layer.map((kept) => kept.length)).toEqual(r.vision_tokens_per_layer);
  });

  it('renumbered positions keep the tokens per layer but change the logits', async () => {
    const ref = golden.find((g) => g.name === 'tiny-mha adsc:2=0.5 renumber')!;
    const mha = join(root, 'packages/model/test/fixtures/tiny/tiny-mha');
    const args = ['run', '--model', mha, '--input-ids', ref.input_ids.join(','), '--image', image, '--schedule', 'adsc:2=0.5', '--max-new-tokens', '1', '--json'];
    const original = JSON.parse((await run(...args)).out[0]);
    const renumbered = JSON.parse((await run(...args, '--positions', 'renumber')).out[0]);
    expect(renumbered.tokens_per_layer).toEqual(ref.tokens_per_layer);
    expect(renumbered.tokens_per_layer).toEqual(original.tokens_per_layer);
    expect(renumbered.prefill_logits).not.toEqual(original.prefill_logits);
  });

  it('refuses a model larger than the memory budget with one line, and loads it with --force', async () => {
    const before = process.env.ADSC_MEMORY_LIMIT;
    process.env.ADSC_MEMORY_LIMIT = '1048576'; // 1 MiB: the tiny model's weights alone take 1.1 MiB
    try {
      const refused = await run('run', '--model', gqa, '--input-ids', '1,2', '--max-new-tokens', '1');
      expect(refused.code).toBe(2);
      expect(refused.err).toEqual([expect.stringMatching(/^error: InsufficientMemory: .*tiny-gqa: needs about .* but ADSC_MEMORY_LIMIT allows 1\.00 MiB; --force loads it anyway$/)]);
      expect((await run('run', '--model', gqa, '--input-ids', '1,2', '--max-new-tokens', '1', '--force')).code).toBe(0);
    } finally {
      if (before === undefined) delete process.env.ADSC_MEMORY_LIMIT;
      else process.env.ADSC_MEMORY_LIMIT = before;
    }
  });

  it('refuses an unknown schedule', async () => {
    const { code, err } = await run('run', '--model', gqa, '--input-ids', '1', '--schedule', 'magic');
    expect(code).toBe(2);
    expect(err).toEqual(['error: ScheduleError: schedule "magic": unknown method "magic" (known: none, adsc, fastv, pdrop)']);
  });
});
