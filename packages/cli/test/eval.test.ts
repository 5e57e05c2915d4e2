import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { zeros } from '@adsc/core';
import { writeShapes, writeShapesLlava } from '@adsc/shapes';
import { initLoraA, saveAdapter } from '@adsc/train';
import { main } from '../src/main.js';
import { SMALL, writeAlwaysYesModel } from '../../eval/test/always-yes.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const temp = (name: string) => mkdtempSync(join(tmpdir(), `adsc-eval-${name}-`));
let yes: string; // a model that answers "yes" to everything (eval/test/always-yes.ts)
let random: string; // an untrained shapes-llava at the fixture's small size
let set: string; // 4 generated questions: set/questions.json, set/images
let yesSet: string; // 4 hand-written questions on set's images: 2 of them answered "yes"

beforeAll(() => {
  yes = temp('yes');
  writeAlwaysYesModel(yes);
  random = temp('random');
  writeShapesLlava(random, 0, SMALL);
  set = join(temp('set'), 'set');
  writeShapes(set, { seed: 11, count: 4 });
  const q = (id: string, type: string, question: string, answer: string) => ({
    id, image: 'images/000000.png', type, conversations: [{ from: 'human', value: `<image>\n${question}` }, { from: 'gpt', value: answer }],
  });
  yesSet = join(set, 'yes.json');
  writeFileSync(yesSet, JSON.stringify([
    q('a', 'exists', 'Is there a red circle?', 'yes'),
    q('b', 'exists', 'Is there a blue square?', 'no'),
    q('c', 'exists', 'Is there a green triangle?', 'yes'),
    q('d', 'color', 'What color is the circle?', 'red'),
  ]));
}, 120_000);

// A shared 2-core machine under load can make even the small fixture slow: generous timeouts.
describe('adsc eval', { timeout: 120_000 }, () => {
  it('prints the JSON report of a model whose answers are known: 2 of 4 right, nothing saved without a schedule', async () => {
    const r = await run('eval', '--model', yes, '--data', yesSet, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out[0]);
    expect(report).toMatchObject({
      accuracy: 0.5,
      per_type: { color: 0, exists: 2 / 3 },
      count: 4,
      flops_reduction: 0,
      kv_reduction: 0,
      per_type_count: { color: 1, exists: 3 },
      chance: { color: 1, exists: 2 / 3 },
      schedule: 'none',
      blind: false,
      shards: null,
    });
    expect(report.seconds).toBeGreaterThan(0);
  });

  it('prints accuracy per type next to the chance level, and the cost per question', async () => {
    const r = await run('eval', '--model', yes, '--data', yesSet, '--blind');
    expect(r.out).toContain('schedule: none   blind: every image replaced by zero pixel values (the mean colour)');
    expect(r.out).toContain('color              1        0     0.0 %   100.0 %');
    expect(r.out).toContain('exists             3        2    66.7 %    66.7 %');
    expect(r.out).toContain('all                4        2    50.0 %');
    expect(r.out.some((l) => /^prefill FLOPs per question \(counted\): [\d.]+ MFLOP, 0\.0 % fewer than without a schedule$/.test(l))).toBe(true);
  });

  it('writes each question with its answer and the prediction as JSON lines with --predictions', async () => {
    const file = join(temp('predictions'), 'p.jsonl');
    expect((await run('eval', '--model', yes, '--data', yesSet, '--predictions', file)).code).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { id: 'a', type: 'exists', question: 'Is there a red circle?', answer: 'yes', prediction: 'yes', correct: true },
      { id: 'b', type: 'exists', question: 'Is there a blue square?', answer: 'no', prediction: 'yes', correct: false },
      { id: 'c', type: 'exists', question: 'Is there a green triangle?', answer: 'yes', prediction: 'yes', correct: true },
      { id: 'd', type: 'color', question: 'What color is the circle?', answer: 'red', prediction: 'yes', correct: false },
    ]);
  });

  it('refuses, before evaluating, a predictions file whose folder does not exist', async () => {
    const folder = join(temp('predictions'), 'no-such-dir');
    const r = await run('eval', '--model', yes, '--data', yesSet, '--predictions', join(folder, 'p.jsonl'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: Usage: --predictions ${join(folder, 'p.jsonl')}: its folder ${folder} does not exist`]);
  });

  it('evaluates only the first N records with --limit', async () => {
    const report = JSON.parse((await run('eval', '--model', yes, '--data', yesSet, '--limit', '2', '--json')).out[0]);
    expect([report.count, report.records, report.limit, report.accuracy]).toEqual([2, 2, 2, 0.5]);
  });

  it('reads the images from --image-folder when the data file lives elsewhere', async () => {
    const elsewhere = join(temp('elsewhere'), 'q.json');
    writeFileSync(elsewhere, JSON.stringify([{ id: 'x', image: 'images/000001.png', conversations: [{ from: 'human', value: '<image>\nIs there a red circle?' }, { from: 'gpt', value: 'yes' }] }]));
    const r = await run('eval', '--model', yes, '--data', elsewhere, '--image-folder', set, '--json');
    expect(JSON.parse(r.out[0]).per_type).toEqual({ all: 1 });
  });

  it('gives, from shards 0/2 and 1/2 merged, exactly the unsharded report of a scheduled run', async () => {
    const dir = temp('shards');
    const report = async (...extra: string[]) => {
      const r = await run('eval', '--model', random, '--data', join(set, 'questions.json'), '--schedule', 'adsc:2=1/4,5=1/9', '--json', ...extra);
      expect(r.err).toEqual([]);
      return r.out[0];
    };
    const whole = JSON.parse(await report());
    const files = await Promise.all(['0/2', '1/2'].map(async (s, i) => {
      const file = join(dir, `shard${i}.json`);
      writeFileSync(file, await report('--shard', s));
      return file;
    }));
    const merged = JSON.parse((await run('eval', '--merge', ...files, '--json')).out[0]);
    expect(whole.flops_reduction).toBeGreaterThan(0);
    expect({ ...merged, seconds: 0 }).toEqual({ ...whole, seconds: 0 });
  });

  it('applies an adapter and takes its adsc_schedule as the default schedule', async () => {
    // A LoRA on every q_proj with B = 0 changes nothing, so the run equals the base model's under that schedule.
    const adapter = join(temp('adapter'), 'lora');
    const { hidden, layers } = SMALL.text;
    const modules = new Map(Array.from({ length: layers }, (_, l) => [
      `language_model.model.layers.${l}.self_attn.q_proj`, { a: initLoraA(hidden, 2, l), b: zeros([hidden, 2]) },
    ]));
    saveAdapter(adapter, { config: { r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'], baseModelNameOrPath: null, adscSchedule: 'adsc:2=1/4' }, modules });
    const tuned = JSON.parse((await run('eval', '--model', yes, '--adapter', adapter, '--data', yesSet, '--json')).out[0]);
    const base = JSON.parse((await run('eval', '--model', yes, '--data', yesSet, '--schedule', 'adsc:2=1/4', '--json')).out[0]);
    expect([tuned.schedule, tuned.adapter]).toEqual(['adsc:2=1/4', adapter]);
    expect({ ...tuned, seconds: 0, adapter: null }).toEqual({ ...base, seconds: 0 });
    const explicit = JSON.parse((await run('eval', '--model', yes, '--adapter', adapter, '--data', yesSet, '--limit', '1', '--schedule', 'none', '--json')).out[0]);
    expect(explicit.schedule).toBe('none');
  });

  it('names an adapter directory that holds no adapter', async () => {
    const r = await run('eval', '--model', yes, '--adapter', '/no/such/adapter', '--data', yesSet);
    expect(r.err).toEqual(['error: AdapterError: /no/such/adapter/adapter_config.json: not found (is /no/such/adapter a PEFT adapter directory?)']);
  });

  it('refuses to merge a shard with itself, in one line', async () => {
    const file = join(temp('dup'), 's.json');
    writeFileSync(file, (await run('eval', '--model', yes, '--data', yesSet, '--limit', '1', '--shard', '0/2', '--json')).out[0]);
    expect((await run('eval', '--merge', file, file)).err).toEqual([`error: ReportError: ${file}: shard 0/2 is also in ${file}`]);
  });

  it.each([
    [['--data', 'q.json'], 'error: Usage: adsc eval needs --model DIR'],
    [['--model', '.'], 'error: Usage: adsc eval needs --data FILE'],
    [['--model', '/no/such/model', '--data', 'q.json'], 'error: Usage: --model /no/such/model: no such directory'],
    [['--model', '.', '--data', 'q.json', '--limit', '0'], 'error: Usage: --limit must be an integer >= 1, got "0"'],
    [['--model', '.', '--data', 'q.json', '--shard', '2/2'], 'error: Usage: --shard must be I/N with 0 <= I < N (shard I of N, 0-based), got "2/2"'],
    [['--model', '.', '--data', 'q.json', '--shard', 'half'], 'error: Usage: --shard must be I/N with 0 <= I < N (shard I of N, 0-based), got "half"'],
    [['--model', '.', '--data', 'q.json', '--threads', '0'], 'error: Usage: --threads must be an integer from 1 to 1024, got "0"'],
    [['--merge'], 'error: Usage: adsc eval --merge needs the report files of the shards (A.json B.json ...)'],
    [['--merge', 'a.json', '--model', '.'], 'error: Usage: adsc eval --merge only reads reports; --model does not apply'],
    [['--merge', 'a.json', '--schedule', 'none'], 'error: Usage: adsc eval --merge only reads reports; --schedule does not apply'],
    [['--model', '.', '--data', 'q.json', 'extra'], 'error: Usage: adsc eval takes no positional arguments (report files go with --merge), got "extra"'],
    [['--merge', '/no/such/report.json'], 'error: ReportError: /no/such/report.json: no such file'],
  ])('rejects %j with one line and exit code 2', async (flags, line) => {
    expect(await run('eval', ...flags)).toEqual({ code: 2, out: [], err: [line] });
  });

  it('names the data file that does not exist', async () => {
    expect((await run('eval', '--model', yes, '--data', '/no/such/q.json')).err).toEqual(['error: DatasetError: /no/such/q.json: no such file']);
  });

  it('rejects a schedule the model cannot run, in one line', async () => {
    const r = await run('eval', '--model', yes, '--data', yesSet, '--schedule', 'adsc:9=1/2');
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^error: \w+: .*9/);
  });
});
