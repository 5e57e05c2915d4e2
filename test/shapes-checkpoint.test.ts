/**
 * The committed intermediate checkpoints of the shapes-llava curriculum (docs/shapes.md, section
 * 3c), each on scenes of its stage made fresh by the test with seeds nothing was trained or tuned on:
 * a floor on the accuracy says it reads the image, a blind control that the floor is not reached
 * from the question alone.
 *
 * - checkpoints/s3 (recipe.sh): names the colour of the object a question asks about; it does not
 *   read shapes, so only colour questions are scored.
 * - checkpoints/one-object (shape-stages.sh, the first base of docs/results.md): answers every
 *   question type about a single object; with the a78-reverse LoRA adapter (adsc-adapters.sh) it
 *   does so from 16 of the 144 vision tokens after layer 0.
 * - checkpoints/shape-focus (shape-stages.sh's second round, docs/shapes.md 3d; an earlier base of
 *   docs/results.md): the same questions, shapes included (circles and squares, which one-object
 *   confuses), and the same with its own a78-reverse adapter.
 * - checkpoints/binding (docs/shapes.md 3g; the base of docs/results.md): the same, and it also
 *   counts the objects of a named shape, which needs the shape word of the question matched against
 *   the image (shape-focus answers those at chance); with its a50-none-1200 adapter, and its
 *   a85-none-2400 and a85-reverse-2400 adapters, it answers with half and with 85 % of the decoder's
 *   vision-token work removed better than the same schedules do untuned.
 * - checkpoints/multi (multi-base.sh, docs/shapes.md 3v): colour, shape, count and exists on scenes
 *   of one to three objects of 42 or 56 px, two and three objects included; with its a85-none
 *   adapter, from 4 vision tokens after layer 0 better than that schedule does untuned.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llava, LlavaTokenizer, parseSchedule, type Schedule } from '@adsc/model';
import { applyAdapter, loadAdapter } from '@adsc/train';
import { evaluate, readDataset, type EvalRecord } from '@adsc/eval';
import { isShape, writeShapes, type ShapesOptions, type ShapesRecord } from '@adsc/shapes';

interface Scored {
  model: Llava;
  tokenizer: LlavaTokenizer;
  records: EvalRecord[];
  imageFolder: string;
  /** Every record as generated, scene included, before any was left out. */
  generated: ShapesRecord[];
}

const example = (path: string) => new URL(`../examples/shapes-llava/${path}`, import.meta.url).pathname;

/** Writes a fresh question set for checkpoint NAME and reads back the records `keep` accepts. */
function freshSet(name: string, set: ShapesOptions, keep: (r: ShapesRecord) => boolean = () => true): Pick<Scored, 'records' | 'imageFolder' | 'generated'> {
  const imageFolder = join(mkdtempSync(join(tmpdir(), `adsc-shapes-${name}-`)), 'set');
  const generated = writeShapes(imageFolder, set);
  const kept = new Set(generated.filter(keep).map((r) => r.id));
  return { imageFolder, generated, records: readDataset(join(imageFolder, 'questions.json')).filter((r) => kept.has(r.id)) };
}

/** Loads examples/shapes-llava/checkpoints/NAME and writes a fresh question set for it. */
function load(name: string, set: ShapesOptions, type?: string): Scored {
  const dir = example(`checkpoints/${name}`);
  const model = Llava.load(dir);
  const tokenizer = LlavaTokenizer.load(dir, model.config.imageTokenIndex, model.config.bosTokenId);
  return { model, tokenizer, ...freshSet(name, set, (r) => type === undefined || r.type === type) };
}

function accuracy({ model, tokenizer, records, imageFolder }: Scored, blind = false, schedule?: Schedule): number {
  const tally = evaluate(model, tokenizer, records, { imageFolder, blind, schedule });
  return tally.correct / tally.count;
}

/** Whether each record is answered right, by id: one run that tests can split by what they need. */
function correctById({ model, tokenizer, records, imageFolder }: Scored): Map<string, boolean> {
  const correct = new Map<string, boolean>();
  evaluate(model, tokenizer, records, { imageFolder, onScored: (record, result) => correct.set(record.id, result.correct) });
  return correct;
}

/** Checkpoint NAME with its adapters/ADAPTER applied, and the schedule its adapter_config names (checked). */
function tuned(name: string, adapterName: string, expectedSchedule: string): { model: Llava; schedule: Schedule } {
  const adapterDir = example(`checkpoints/${name}/adapters/${adapterName}`);
  const adapter = loadAdapter(adapterDir);
  expect(adapter.config.adscSchedule).toBe(expectedSchedule);
  const model = Llava.load(example(`checkpoints/${name}`));
  applyAdapter(model, adapter, adapterDir);
  return { model, schedule: parseSchedule(expectedSchedule, { numLayers: model.config.text.numLayers }) };
}

/**
 * Checkpoint NAME's questions answered with adapters/ADAPTER under its schedule SPEC: at FLOOR at
 * least, and better than the same schedule does untuned.
 */
function expectAdapterBeatsUntuned(set: Scored, name: string, adapterName: string, spec: string, floor: number): void {
  const { model, schedule } = tuned(name, adapterName, spec);
  const tunedAccuracy = accuracy({ ...set, model }, false, schedule);
  expect(tunedAccuracy).toBeGreaterThanOrEqual(floor);
  expect(tunedAccuracy).toBeGreaterThan(accuracy(set, false, schedule));
}

describe('the committed stage-3 shapes-llava checkpoint', { timeout: 120_000 }, () => {
  /** 84.0 % of 50 colour questions on the validation seed (31), less a margin for 30 questions. */
  const FLOOR = 0.6;
  /** Without the image a colour question is a guess among six: 1/6, and a few lucky ones. */
  const BLIND_CEILING = 0.4;
  let s3: Scored;
  beforeAll(() => {
    s3 = load('s3', { seed: 4242, count: 180, layout: { minObjects: 1, maxObjects: 2, sizes: [42, 56] } }, 'color');
  }, 120_000);

  it('names the colour of the object a question asks about in fresh one- and two-object scenes', () => {
    expect(s3.records).toHaveLength(30);
    expect(accuracy(s3)).toBeGreaterThanOrEqual(FLOOR);
  });

  it('falls to a guess without the image (blind control)', () => {
    expect(accuracy(s3, true)).toBeLessThan(BLIND_CEILING);
  });
});

interface BaseFloors {
  /** Fresh one-object questions of every type (seed 4243 or 4244, 120 questions). */
  all: number;
  /** The same questions with the a78-reverse adapter under its schedule (16 tokens after layer 0). */
  adapter: number;
  /** The shape questions among them, for a base that reads shape. */
  shape?: number;
  /** "How many <shape>s are there?" (fresh count questions of the same seed), for a base that binds. */
  shapeCount?: number;
  /**
   * Adapters that must answer the same questions under their own schedule at a floor and better
   * than that schedule untuned (`how` says what the schedule keeps, for the test's name).
   */
  beatsUntuned?: { adapter: string; schedule: string; how: string; floor: number }[];
}

/** Blind, a one-object model can only learn the answer priors: 1/6 to 1/2 per type, about 37 %. */
const BLIND_CEILING = 0.5;
const ONE_OBJECT = { minObjects: 1, maxObjects: 1, sizes: [42, 56, 70, 84] };

/** A base of docs/results.md and its a78-reverse adapter (checkpoints/NAME/adapters). */
function describeBase(name: string, seed: number, floors: BaseFloors): void {
  // Each test evaluates 120 questions twice: 58 s in .ci/run's first kernel pass and 132 s in its
  // second beside two trainings on the 2-core VM (session 13). The limit is headroom, not a speed check.
  describe(`the committed ${name} checkpoint and its ADSC adapter`, { timeout: 300_000 }, () => {
    let base: Scored;
    beforeAll(() => {
      base = load(name, { seed, count: 120, layout: ONE_OBJECT });
    }, 120_000);

    it('answers fresh one-object questions of every type', () => {
      expect(base.records).toHaveLength(120);
      expect(accuracy(base)).toBeGreaterThanOrEqual(floors.all);
    });

    if (floors.shape !== undefined) {
      const shapeFloor = floors.shape;
      it('names the shape of the object, circles and squares included', () => {
        const shapes = { ...base, records: base.records.filter((r) => r.type === 'shape') };
        expect(shapes.records.length).toBeGreaterThanOrEqual(20);
        expect(accuracy(shapes)).toBeGreaterThanOrEqual(shapeFloor);
      });
    }

    if (floors.shapeCount !== undefined) {
      const shapeCountFloor = floors.shapeCount;
      it('counts the objects of a named shape, matching the shape word against the image', () => {
        const shapeCounts = { ...base, ...freshSet(name, { seed, count: 60, layout: ONE_OBJECT, types: ['count'] }, (r) => r.question.type === 'count' && isShape(r.question.of)) };
        expect(shapeCounts.records.length).toBeGreaterThanOrEqual(20);
        expect(accuracy(shapeCounts)).toBeGreaterThanOrEqual(shapeCountFloor);
      });
    }

    it('falls to the answer priors without the image (blind control)', () => {
      expect(accuracy(base, true)).toBeLessThan(BLIND_CEILING);
    });

    it('answers them from 16 of the 144 vision tokens after layer 0 with the a78-reverse adapter under its own schedule', () => {
      const { model, schedule } = tuned(name, 'a78-reverse', 'adsc:1=1/9');
      expect(accuracy({ ...base, model }, false, schedule)).toBeGreaterThanOrEqual(floors.adapter);
    });

    for (const { adapter, schedule: spec, how, floor } of floors.beatsUntuned ?? []) {
      it(`answers them ${how}, better with the ${adapter} adapter than without it`, () => {
        expectAdapterBeatsUntuned(base, name, adapter, spec, floor);
      });
    }
  });
}

// Floors: the accuracy on the validation seed (40, 300 questions of the same layout) less a margin
// for 120 questions (about 4 standard errors).
// one-object: 75.3 % on validation; a78-reverse 71.7 %.
describeBase('one-object', 4243, { all: 0.6, adapter: 0.55 });
// shape-focus: 86.7 % on validation, shape 92.0 % of 75; a78-reverse 75.7 %.
describeBase('shape-focus', 4244, { all: 0.75, shape: 0.75, adapter: 0.6 });
// binding: 92.7 % on validation, shape 98.0 % of 150, shape counts 64 of 66; a78-reverse 78.7 %;
// Under their schedules (600 questions): a50-none-1200 93.2 % against 81.2 % for the same schedule
// without it; a85-none-2400 86.0 % against 67.0 %; a85-reverse-2400 89.3 %.
describeBase('binding', 4245, {
  all: 0.8,
  shape: 0.85,
  shapeCount: 0.75,
  adapter: 0.6,
  beatsUntuned: [
    { adapter: 'a50-none-1200', schedule: 'adsc:2=1/2,4=1/2', how: 'with half the vision-token work removed', floor: 0.8 },
    { adapter: 'a85-none-2400', schedule: 'adsc:1=1/36', how: 'from 4 of the 144 vision tokens after layer 0', floor: 0.7 },
    { adapter: 'a85-reverse-2400', schedule: 'adsc:1=1/36', how: 'from 4 of the 144 vision tokens after layer 0 (reverse curriculum)', floor: 0.75 },
  ],
});

describe('the committed multi checkpoint (1-3 objects)', { timeout: 300_000 }, () => {
  // 90.3 % on the 400 real-image questions of validation seed 148 (two and three objects: 204 of 243);
  // the floors leave about 4 standard errors for 120 questions (and for the ~75 on several objects).
  // On this set (seed 4246): 102 of 120, 56 of 72 on two and three objects, blind 39 of 120.
  const FLOOR = 0.8;
  const SEVERAL_FLOOR = 0.7;
  const ADAPTER_FLOOR = 0.75;
  /** Blind, the answer priors: 1/6 colour, 1/3 shape, 1/4 count, 1/2 exists, about 31 % overall. */
  const BLIND_CEILING = 0.5;
  let multi: Scored;
  let correct: Map<string, boolean>;
  beforeAll(() => {
    multi = load('multi', { seed: 4246, count: 120, layout: { minObjects: 1, maxObjects: 3, sizes: [42, 56] }, types: ['color', 'shape', 'count', 'exists'] });
    correct = correctById(multi);
  }, 300_000);
  const shareRight = (ids: string[]) => ids.filter((id) => correct.get(id)).length / ids.length;

  it('answers fresh colour, shape, count and exists questions about scenes of one to three objects', () => {
    expect(multi.records).toHaveLength(120);
    expect(shareRight(multi.records.map((r) => r.id))).toBeGreaterThanOrEqual(FLOOR);
  });

  it('answers them about scenes of two and three objects, not only one', () => {
    const several = multi.generated.filter((r) => r.scene.objects.length >= 2).map((r) => r.id);
    expect(several.length).toBeGreaterThanOrEqual(50);
    expect(shareRight(several)).toBeGreaterThanOrEqual(SEVERAL_FLOOR);
  });

  it('falls to the answer priors without the image (blind control)', () => {
    expect(accuracy(multi, true)).toBeLessThan(BLIND_CEILING);
  });

  // a85-none on validation: 86.3 % of the 400 questions against 79.0 % for its schedule untuned;
  // on this set 103 of 120 against 94.
  it('answers them from 4 of the 144 vision tokens after layer 0, better with its a85-none adapter than without it', () => {
    expectAdapterBeatsUntuned(multi, 'multi', 'a85-none', 'adsc:1=1/36', ADAPTER_FLOOR);
  });
});
