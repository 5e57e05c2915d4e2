/**
 * The training loop end to end on a toy LLaVA (test/tiny-model.ts): it learns, LoRA adapters come
 * out in PEFT's layout and load back, an interrupted run resumes to the same weights, and bad
 * requests are refused before anything is written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectClose } from '@adsc/core/testing';
import { Llava } from '@adsc/model';
import { openCheckpoint } from '@adsc/safetensors';
import { applyAdapter, loadAdapter, readTrainerState, train, type TrainOptions } from '../src/index.js';
import { meanLoss, tinySetup } from './tiny-model.js';

const options = (model: string, data: string, out: string, more: Partial<TrainOptions> = {}): TrainOptions => ({
  model, data, out, train: ['projector', 'llm'], schedule: 'none', optimizer: 'adamw', lr: 3e-3, weightDecay: 0, maxGradNorm: 1,
  lrSchedule: 'constant', warmupSteps: 0, steps: 60, batchSize: 4, gradAccum: 1, seed: 0, saveEvery: 0, checkpointing: false, ...more,
});

describe('full fine-tuning', () => {
  it('overfits four Shapes VQA records: the loss falls from above 3 to below 0.1 in 60 steps', { timeout: 120_000 }, () => {
    const { root, model, data } = tinySetup();
    const report = train(options(model, data, join(root, 'out')));
    expect(report.losses).toHaveLength(60);
    expect(report.losses[0]).toBeGreaterThan(3);
    expect(report.losses[59]).toBeLessThan(0.1);
  });

  it('writes a complete model directory that loads and holds the trained weights', () => {
    const { root, model, data } = tinySetup();
    const out = join(root, 'out');
    train(options(model, data, out, { steps: 3 }));
    for (const f of ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'model.safetensors', 'trainer_state.json', 'optimizer.safetensors']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const name = 'multi_modal_projector.linear_1.weight';
    const before = openCheckpoint(model).tensor(name).toFloat32Array();
    const after = Llava.load(out).projector.linear1.weight.toFloat32Array();
    expect(after.some((v, i) => v !== before[i])).toBe(true);
  });
});

describe('resuming', () => {
  it('continues an interrupted run to exactly the weights of an uninterrupted one', () => {
    const { root, model, data } = tinySetup();
    const straight = join(root, 'straight');
    train(options(model, data, straight, { steps: 4 }));
    const broken = join(root, 'broken');
    expect(() =>
      train(options(model, data, broken, { steps: 4, saveEvery: 2 }), (s) => {
        if (s.step === 3) throw new Error('simulated crash after step 3');
      }),
    ).toThrow('simulated crash');
    expect(readTrainerState(broken).step).toBe(2); // the last complete checkpoint is intact
    const resumed = join(root, 'resumed');
    const report = train(options(model, data, resumed, { steps: 4, resume: broken }));
    expect(report.losses).toHaveLength(4);
    const a = openCheckpoint(join(straight, 'model.safetensors'));
    const b = openCheckpoint(join(resumed, 'model.safetensors'));
    for (const name of a.names()) expectClose(b.tensor(name), a.tensor(name), { atol: 0 });
  });
});

describe('stopping early (--stop-after)', () => {
  it('ends after the given step with a checkpoint there, from which a resume reaches the uninterrupted weights', () => {
    const { root, model, data } = tinySetup();
    const straight = join(root, 'straight');
    train(options(model, data, straight, { steps: 4, lrSchedule: 'cosine' }));
    const first = join(root, 'first');
    const report = train(options(model, data, first, { steps: 4, lrSchedule: 'cosine', stopAfter: 2 }));
    expect(report.losses).toHaveLength(2);
    expect([report.stoppedAt, report.steps]).toEqual([2, 4]);
    expect(readTrainerState(first).step).toBe(2);
    const rest = join(root, 'rest');
    train(options(model, data, rest, { steps: 4, lrSchedule: 'cosine', resume: first }));
    const a = openCheckpoint(join(straight, 'model.safetensors'));
    const b = openCheckpoint(join(rest, 'model.safetensors'));
    for (const name of a.names()) expectClose(b.tensor(name), a.tensor(name), { atol: 0 });
  });

  it('refuses a step past the run or one a resumed checkpoint has already passed', () => {
    const { root, model, data } = tinySetup();
    expect(() => train(options(model, data, join(root, 'a'), { steps: 3, stopAfter: 4 }))).toThrow('--stop-after 4 is past the 3 steps of the run');
    const first = join(root, 'first');
    train(options(model, data, first, { steps: 3, stopAfter: 2 }));
    expect(() => train(options(model, data, join(root, 'b'), { steps: 3, stopAfter: 2, resume: first }))).toThrow(`--stop-after 2: ${first} is already at step 2`);
  });
});

describe('LoRA with dropout', () => {
  const lora = { r: 2, alpha: 4, targets: ['q_proj', 'v_proj'], dropout: 0.5 };
  const adapterOf = (dir: string) => openCheckpoint(join(dir, 'adapter_model.safetensors'));

  it('draws the same masks with and without checkpointing, so both train to the same adapter', () => {
    const { root, model, data } = tinySetup();
    train(options(model, data, join(root, 'plain'), { lora, steps: 2, lr: 1e-2 }));
    train(options(model, data, join(root, 'recomputed'), { lora, steps: 2, lr: 1e-2, checkpointing: true }));
    const a = adapterOf(join(root, 'plain'));
    const b = adapterOf(join(root, 'recomputed'));
    for (const name of a.names()) expectClose(b.tensor(name), a.tensor(name), { atol: 1e-6 });
  });

  it('resumes to the adapter of an uninterrupted run (the masks are seeded per step)', () => {
    const { root, model, data } = tinySetup();
    train(options(model, data, join(root, 'straight'), { lora, steps: 3, lr: 1e-2 }));
    expect(() => train(options(model, data, join(root, 'broken'), { lora, steps: 3, lr: 1e-2, saveEvery: 1 }), (s) => {
      if (s.step === 2) throw new Error('crash');
    })).toThrow('crash');
    train(options(model, data, join(root, 'resumed'), { lora, steps: 3, lr: 1e-2, resume: join(root, 'broken') }));
    const a = adapterOf(join(root, 'straight'));
    const b = adapterOf(join(root, 'resumed'));
    for (const name of a.names()) expectClose(b.tensor(name), a.tensor(name), { atol: 0 });
  });
});

describe('text-only records', () => {
  it('train alongside image records when only the projector trains (their loss reaches no trainable tensor)', () => {
    const { root, model, data } = tinySetup(2);
    const records = JSON.parse(readFileSync(data, 'utf8')) as object[];
    records.push({ id: 'text', conversations: [{ from: 'human', value: 'Is there a red square?' }, { from: 'gpt', value: 'no' }] });
    const file = join(root, 'data', 'mixed.json');
    writeFileSync(file, JSON.stringify(records));
    const report = train(options(model, file, join(root, 'out'), { train: ['projector'], steps: 1, batchSize: 3 }));
    expect(report.losses).toHaveLength(1);
  });
});

describe('patch-word records', () => {
  it('train the decoder on images given as words, and leave the projector they bypass as it was', { timeout: 120_000 }, () => {
    const { root, model, data } = tinySetup(4);
    // The tiny tower has 16 vision tokens: the answer's words on every fourth patch, nothing elsewhere.
    const records = (JSON.parse(readFileSync(data, 'utf8')) as { image?: string; conversations: { value: string }[] }[]).map(({ image: _, ...r }) => ({
      ...r, patch_words: Array.from({ length: 16 }, (_, p) => (p % 4 === 0 ? r.conversations[1].value : '')),
    }));
    const file = join(root, 'data', 'words.json');
    writeFileSync(file, JSON.stringify(records));
    const out = join(root, 'out');
    const report = train(options(model, file, out, { steps: 30 }));
    expect(report.losses[29]).toBeLessThan(report.losses[0] / 3);
    const name = 'multi_modal_projector.linear_1.weight';
    expectClose(openCheckpoint(out).tensor(name), openCheckpoint(model).tensor(name), { atol: 0 });
  });
});

describe('independent turns', () => {
  /** The tiny set with 3 turns per image, and the same questions as one single-turn record each. */
  function turnSets() {
    const { root, model, data: multi } = tinySetup(4, 3, 3);
    type Record = { id: string; image: string; conversations: { from: string; value: string }[] };
    const records = JSON.parse(readFileSync(multi, 'utf8')) as Record[];
    const singles = records.flatMap((r) =>
      Array.from({ length: r.conversations.length / 2 }, (_, k) => ({
        id: `${r.id}-${k}`, image: r.image,
        conversations: [
          { from: 'human', value: k === 0 ? r.conversations[0].value : `<image>\n${r.conversations[2 * k].value}` },
          r.conversations[2 * k + 1],
        ],
      })),
    );
    const single = join(root, 'data', 'single.json');
    writeFileSync(single, JSON.stringify(singles));
    return { root, model, multi, single, turns: singles.length };
  }

  it('train each turn as its own single-turn record would: the same loss and, after a step, the same weights', { timeout: 60_000 }, () => {
    const { root, model, multi, single, turns } = turnSets();
    expect(turns).toBe(12);
    const a = train(options(model, multi, join(root, 'branched'), { steps: 1, batchSize: 4, independentTurns: true }));
    const b = train(options(model, single, join(root, 'single'), { steps: 1, batchSize: 12 }));
    expect(Math.abs(a.losses[0] - b.losses[0])).toBeLessThan(1e-5 * b.losses[0]);
    const wa = openCheckpoint(join(root, 'branched', 'model.safetensors'));
    const wb = openCheckpoint(join(root, 'single', 'model.safetensors'));
    for (const name of wb.names()) expectClose(wa.tensor(name), wb.tensor(name), { atol: 1e-5 });
  });

  it('differ from chained turns, where later turns read the earlier ones', { timeout: 60_000 }, () => {
    const { root, model, multi } = turnSets();
    const branched = train(options(model, multi, join(root, 'branched'), { steps: 1, batchSize: 4, independentTurns: true }));
    const chained = train(options(model, multi, join(root, 'chained'), { steps: 1, batchSize: 4 }));
    expect(Math.abs(branched.losses[0] - chained.losses[0])).toBeGreaterThan(1e-3);
  });

  it('are refused for pre-tokenized JSONL, whose records fix their own ids', () => {
    const { root, model } = tinySetup();
    const jsonl = join(root, 'data.jsonl');
    writeFileSync(jsonl, '');
    expect(() => train(options(model, jsonl, join(root, 'out'), { independentTurns: true }))).toThrow('independent turns are laid out from conversation JSON');
  });

  it('leave a checkpoint written without the option resumable with it off', () => {
    const { root, model, data } = tinySetup();
    const first = join(root, 'first');
    train(options(model, data, first, { steps: 1 }));
    expect(readTrainerState(first).options.independentTurns).toBeUndefined();
    expect(train(options(model, data, join(root, 'second'), { steps: 2, resume: first, independentTurns: false })).losses).toHaveLength(2);
    expect(() => train(options(model, data, join(root, 'third'), { steps: 2, resume: first, independentTurns: true }))).toThrow('independentTurns false -> true');
  });
});

describe('epochs', () => {
  it('visits every example once per epoch: 5 examples in batches of 2 make 3 steps an epoch', () => {
    const { root, model, data } = tinySetup(5);
    const report = train(options(model, data, join(root, 'out'), { steps: undefined, epochs: 2, batchSize: 2, lr: 1e-3 }));
    expect(report.steps).toBe(6);
  });

  it('cuts the last step short when gradient accumulation does not divide an epoch\'s batches', () => {
    const { root, model, data } = tinySetup(5);
    const report = train(options(model, data, join(root, 'out'), { steps: undefined, epochs: 1, batchSize: 2, gradAccum: 2, lr: 1e-3 }));
    expect(report.steps).toBe(2); // micro-batches of 2, 2 | 1
  });
});

describe('LoRA', () => {
  // On an untrained base (random lm_head and embeddings) a rank-4 update can only do so much; the
  // test asks for learning, the PEFT layout, and the saved adapter reproducing it on a fresh load.
  it('trains adapters under an ADSC schedule and saves them as a PEFT adapter that loads back', { timeout: 60_000 }, () => {
    const { root, model, data } = tinySetup();
    const out = join(root, 'adapter');
    const report = train(options(model, data, out, {
      lora: { r: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'], dropout: 0 }, schedule: 'adsc:1=0.5', steps: 30, lr: 3e-2,
    }));
    expect(report.losses[29]).toBeLessThan(0.9 * report.losses[0]);
    expect(report.trainable_parameters).toBe(2 * (4 * (32 + 32) + 4 * (32 + 32) + 4 * (64 + 32)));
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, adsc_schedule: 'adsc:1=0.5' });
    const names = openCheckpoint(join(out, 'adapter_model.safetensors')).names();
    expect(names).toContain('base_model.model.language_model.model.layers.1.mlp.down_proj.lora_B.weight');
    expect(names).toHaveLength(2 * 2 * 3);

    // The base model with the adapter applied scores the training data as well as training ended.
    const base = Llava.load(model);
    const untouched = meanLoss(base, data, 'adsc:1=0.5');
    applyAdapter(base, loadAdapter(out));
    const adapted = meanLoss(base, data, 'adsc:1=0.5');
    expect(adapted).toBeLessThan(0.9 * untouched);
  });
});

describe('a vision learning rate of its own', () => {
  it('moves the vision tower by its own rate and every other part as without it', { timeout: 120_000 }, () => {
    const { root, model, data } = tinySetup();
    const run = (name: string, more: Partial<TrainOptions>) => {
      train(options(model, data, join(root, name), { train: ['vision', 'projector', 'llm'], steps: 1, maxGradNorm: 0, ...more }));
      return openCheckpoint(join(root, name));
    };
    const plain = run('plain', {});
    const doubled = run('doubled', { visionLr: 6e-3 }); // 2 x lr
    const start = openCheckpoint(model);
    for (const name of ['vision_tower.vision_model.embeddings.patch_embedding.weight', 'multi_modal_projector.linear_1.weight', 'language_model.model.layers.0.mlp.up_proj.weight']) {
      const w0 = start.tensor(name).toFloat32Array();
      const [a, b] = [plain.tensor(name).toFloat32Array(), doubled.tensor(name).toFloat32Array()];
      // AdamW's first step moves each weight by lr * g / (|g| + eps): twice as far at twice the rate.
      const factor = name.startsWith('vision_tower') ? 2 : 1;
      expectClose(Float32Array.from(b, (v, i) => v - w0[i]), Float32Array.from(a, (v, i) => factor * (v - w0[i])), { atol: 2e-6 });
    }
  });

  it('is refused when the vision tower is not trained', () => {
    const { root, model, data } = tinySetup();
    expect(() => train(options(model, data, join(root, 'out'), { visionLr: 1e-3 }))).toThrow(
      'a vision learning rate (0.001) needs the vision tower among the trained parts (--train vision,...), without --lora',
    );
  });
});

describe('curriculum', () => {
  it('runs each stage for its steps, then the target schedule', () => {
    const { root, model, data } = tinySetup();
    const seen: string[] = [];
    train(options(model, data, join(root, 'out'), {
      steps: 5, batchSize: 1, schedule: 'adsc:1=0.5', curriculum: [{ schedule: 'adsc:1=1/4', steps: 2 }, { schedule: 'none', steps: 1 }],
    }), (s) => seen.push(s.schedule));
    expect(seen).toEqual(['adsc:1=1/4', 'adsc:1=1/4', 'none', 'adsc:1=0.5', 'adsc:1=0.5']);
  });

  it('refuses a curriculum that leaves no step for the target schedule', () => {
    const { root, model, data } = tinySetup();
    expect(() => train(options(model, data, join(root, 'out'), { steps: 2, curriculum: [{ schedule: 'adsc:1=0.25', steps: 2 }] }))).toThrow(
      "the curriculum's 2 steps leave none of the 2 for the target schedule none",
    );
  });
});

describe('refusals', () => {
  it('refuses a schedule that drops the predecessor of a labelled token, naming the record, and writes nothing', () => {
    const { root, model } = tinySetup();
    // Pre-tokenized: BOS, <image>, then three labelled ids right after the image.
    const file = join(root, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ input_ids: [1, 4, 7, 8, 2], labels: [-100, -100, 7, 8, 2], image: 'data/images/000000.png' })}\n`);
    const out = join(root, 'out');
    expect(() => train(options(model, file, out, { schedule: 'adsc:1=0.5', imageFolder: root }))).toThrow(
      /bad\.jsonl: record 1 .*"labels": position 2 right after the image is labelled, but schedule adsc:1=0\.5 drops vision tokens/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an --out that holds something other than a checkpoint, and leaves it alone', () => {
    const { root, model, data } = tinySetup();
    const precious = join(root, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'thesis.txt'), 'keep me');
    expect(() => train(options(model, data, precious, { steps: 1 }))).toThrow('is a non-empty directory that is not an adsc train checkpoint');
    expect(readFileSync(join(precious, 'thesis.txt'), 'utf8')).toBe('keep me');
    expect(() => train(options(model, data, model, { steps: 1 }))).toThrow('is the model directory or inside it');
  });

  it('refuses score-based schedules, which would rank vision tokens with the answer\'s last token', () => {
    const { root, model, data } = tinySetup();
    expect(() => train(options(model, data, join(root, 'out'), { schedule: 'fastv:K=1,R=0.5' }))).toThrow('training supports ADSC (uniform) schedules and none');
  });

  it('refuses to resume with other options than the checkpoint was trained with', () => {
    const { root, model, data } = tinySetup();
    const first = join(root, 'first');
    train(options(model, data, first, { steps: 1, lora: { r: 2, alpha: 4, targets: ['q_proj'], dropout: 0 } }));
    expect(() => train(options(model, data, join(root, 'second'), { steps: 2, resume: first, lora: { r: 2, alpha: 64, targets: ['q_proj'], dropout: 0 } }))).toThrow(
      /trained with other options \(lora .*"alpha":4.*"alpha":64/,
    );
  });

  it('refuses to start with nothing to train', () => {
    const { root, model, data } = tinySetup();
    expect(() => train(options(model, data, join(root, 'out'), { train: [] }))).toThrow('nothing to train');
  });
});
